"""Chapter 02_gradient_descent.

``FUNCTIONS``: its graded functions in notebook order (the grade ids of its answer cells that
have a test cell). Its instructor code is beside this file: ``reference.py``, ``mistakes.py``,
``cases.py`` (see :mod:`autograder.chapters`).
"""

FUNCTIONS = ("numerical_gradient", "linear_regression_loss", "linear_regression_grad", "gradient_descent",
             "minibatch_indices", "sgd_linear_regression")
