"""Chapter 07_batchnorm_dropout.

``FUNCTIONS``: its graded functions in notebook order (the grade ids of its answer cells that
have a test cell). Its instructor code is beside this file: ``reference.py``, ``mistakes.py``,
``cases.py`` (see :mod:`autograder.chapters`).
"""

FUNCTIONS = ("batchnorm_forward", "batchnorm_backward", "layernorm_forward", "layernorm_backward",
             "dropout_forward", "dropout_backward")
