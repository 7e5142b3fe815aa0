"""Helpers shared by several test modules."""

import numpy as np


def numerical_gradient(f, x, h=1e-6):
    """Centred differences of scalar ``f`` at ``x`` (any shape); x is left unchanged.

    The one numerical gradient of the tests: chapter 02's reference ``numerical_gradient``
    with a finer default step. tests/reference/test_gradient_descent.py checks that
    reference against analytic gradients, independently of it.
    """
    from autograder.chapters.ch02_gradient_descent.reference import numerical_gradient as centred

    return centred(f, x, h)


def gpu_available():
    """True when nvidia-smi lists at least one GPU (the course's own detection)."""
    from dlcourse.accelerator import nvidia_gpu_present

    return nvidia_gpu_present()


def both_checks(fn, name):
    """Run the visible checks and then the hidden tests of graded function ``name`` on ``fn``."""
    from autograder.hidden import check_hidden
    from dlcourse.checks import check

    check(fn, name)
    check_hidden(fn, name)
