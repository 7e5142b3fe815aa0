"""Chapter 04_learning_rate_schedules.

``FUNCTIONS``: its graded functions in notebook order (the grade ids of its answer cells that
have a test cell). Its instructor code is beside this file: ``reference.py``, ``mistakes.py``,
``cases.py`` (see :mod:`autograder.chapters`).
"""

FUNCTIONS = ("step_decay", "exponential_decay", "linear_decay", "cosine_decay", "warmup_cosine",
             "triangular_cyclic_lr", "one_cycle_lr", "EarlyStopping", "ReduceLROnPlateau")
