"""Hidden tests: what nbgrader runs at grading time, after the learner's code.

A hidden test cell in a source notebook reads::

    ### BEGIN HIDDEN TESTS
    from autograder.hidden import check_hidden
    check_hidden(mse)
    ### END HIDDEN TESTS

The learner's function is called on randomized inputs (fixed seed per function, so
a regrade gives the same result) of several shapes and scales, compared with the
reference computed on the same inputs, and a failure names the known mistake that
the output matches.
"""

import zlib

import numpy as np

from autograder.cases import evaluate, find_topic, reference_and_mistakes
from dlcourse.checks.runner import run_case


def hidden_seed(function_name):
    """A stable seed per graded function (same inputs on every grading run)."""
    return zlib.crc32(f"hidden:{function_name}".encode())


def check_hidden(fn, name=None):
    """Run every hidden case for the graded function ``name`` (default ``fn.__name__``)."""
    name = name or fn.__name__
    _, module = find_topic(name)
    custom = getattr(module, "HIDDEN_CUSTOM", {}).get(name)
    if custom is not None:
        custom(fn)
    make_cases = getattr(module, "HIDDEN", {}).get(name)
    if make_cases is None:
        return
    reference, mistakes = reference_and_mistakes(name)
    for case in make_cases(np.random.default_rng(hidden_seed(name))):
        result = evaluate(case, reference, mistakes)
        run_case(fn, name, f"hidden: {case.name}", case.inputs, result.get("expected"), result.get("mistakes"),
                 result.get("raises"), mutable=case.mutable)
