"""Chapter 06_backprop_initialization.

``FUNCTIONS``: its graded functions in notebook order (the grade ids of its answer cells that
have a test cell). Its instructor code is beside this file: ``reference.py``, ``mistakes.py``,
``cases.py`` (see :mod:`autograder.chapters`).
"""

FUNCTIONS = ("sigmoid", "sigmoid_grad", "tanh_grad", "relu", "relu_grad", "dense_forward", "dense_backward",
             "mlp_loss_and_grads", "glorot_uniform", "he_normal", "clip_by_global_norm")
