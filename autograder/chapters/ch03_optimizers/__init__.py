"""Chapter 03_optimizers.

``FUNCTIONS``: its graded functions in notebook order (the grade ids of its answer cells that
have a test cell). Its instructor code is beside this file: ``reference.py``, ``mistakes.py``,
``cases.py`` (see :mod:`autograder.chapters`).
"""

FUNCTIONS = ("sgd_step", "momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step", "adam_step",
             "adamw_step")
