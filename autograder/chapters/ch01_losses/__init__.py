"""Chapter 01_losses.

``FUNCTIONS``: its graded functions in notebook order (the grade ids of its answer cells that
have a test cell). Its instructor code is beside this file: ``reference.py``, ``mistakes.py``,
``cases.py`` (see :mod:`autograder.chapters`).
"""

FUNCTIONS = ("mse", "mse_grad", "huber", "binary_cross_entropy", "binary_cross_entropy_grad",
             "sigmoid_bce_with_logits", "softmax", "log_softmax", "softmax_cross_entropy",
             "softmax_cross_entropy_grad", "label_smoothing_cross_entropy")
