"""Chapter 10_gpu_keras_lab.

``FUNCTIONS``: its graded functions in notebook order (the grade ids of its answer cells that
have a test cell). Its instructor code is beside this file: ``reference.py``, ``mistakes.py``,
``cases.py`` (see :mod:`autograder.chapters`).
"""

FUNCTIONS = ("make_dataset", "build_cnn", "enable_mixed_precision", "measure_throughput")
