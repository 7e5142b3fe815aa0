"""Chapter 05_regularization.

``FUNCTIONS``: its graded functions in notebook order (the grade ids of its answer cells that
have a test cell). Its instructor code is beside this file: ``reference.py``, ``mistakes.py``,
``cases.py`` (see :mod:`autograder.chapters`).
"""

FUNCTIONS = ("l2_penalty", "l2_penalty_grad", "l1_penalty", "l1_penalty_grad", "elastic_net_penalty",
             "ridge_regression_grad", "ridge_closed_form")
