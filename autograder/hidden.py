"""Hidden tests: what grading runs after the learner's code.

A hidden test cell in a source notebook reads::

    ### BEGIN HIDDEN TESTS
    from autograder.hidden import check_hidden
    check_hidden(mse)
    ### END HIDDEN TESTS

The learner's function is called on randomized inputs (fixed seed per function, so a
regrade gives the same result) of several shapes and scales, compared with the reference
computed on the same inputs, and a failure names the known mistake the output matches.

Two ways to run them:

- :func:`check_hidden` runs everything in the current process. That is what happens when an
  author executes a solution notebook.
- At grading time the course's executor (:mod:`autograder.trusted_execute`) does not let the
  learner's kernel see this package. For case-based tests it sends only the *inputs* into the
  kernel, gets the learner's outputs back as plain data, and judges them here, outside the
  learner's reach, with :func:`judge_hidden`. Only the checks in ``HIDDEN_CUSTOM`` (classes,
  RNG properties, Keras models) still run inside the kernel (:func:`check_hidden` with
  ``only_custom=True``).
"""

import zlib

import numpy as np

from autograder.cases import evaluate, find_topic, reference_and_mistakes
from dlcourse.checks.compare import describe
from dlcourse.checks.runner import CheckFailure, judge, run_case


def hidden_seed(function_name):
    """A stable seed per graded function (same inputs on every grading run)."""
    return zlib.crc32(f"hidden:{function_name}".encode())


def hidden_cases(name):
    """The hidden Case list of graded function ``name`` (empty when it has only custom checks)."""
    _, module = find_topic(name)
    make_cases = getattr(module, "HIDDEN", {}).get(name)
    return [] if make_cases is None else make_cases(np.random.default_rng(hidden_seed(name)))


def has_custom_check(name):
    """True when ``name`` has a check that must run next to the learner's objects."""
    _, module = find_topic(name)
    return name in getattr(module, "HIDDEN_CUSTOM", {})


def check_hidden(fn, name=None, only_custom=False):
    """Run the hidden tests of graded function ``name`` (default ``fn.__name__``) in-process."""
    name = name or fn.__name__
    _, module = find_topic(name)
    custom = getattr(module, "HIDDEN_CUSTOM", {}).get(name)
    if custom is not None:
        custom(fn)
    if only_custom:
        return
    reference, mistakes = reference_and_mistakes(name)
    for case in hidden_cases(name):
        result = evaluate(case, reference, mistakes)
        run_case(fn, name, f"hidden: {case.name}", case.inputs, result.get("expected"), result.get("mistakes"),
                 result.get("raises"), mutable=case.mutable)


def judge_hidden(name, run_in_kernel):
    """Judge the case-based hidden tests of ``name`` from outputs computed elsewhere.

    run_in_kernel(list of input dicts) -> list of results, one per input, each a dict with
    either ``returned`` (the output) and ``after`` (the inputs after the call), or ``raised``
    ((exception class names along its MRO, message)). Raises CheckFailure on the first failure.
    """
    cases = hidden_cases(name)
    if not cases:
        return
    results = run_in_kernel([case.inputs for case in cases])
    if not isinstance(results, list) or len(results) != len(cases) or not all(isinstance(r, dict) for r in results):
        raise CheckFailure(f"{name}: the hidden tests could not collect the function's outputs (got {describe(results)})")
    reference, mistakes = reference_and_mistakes(name)
    for case, result in zip(cases, results):
        expected = evaluate(case, reference, mistakes)
        judge(name, f"hidden: {case.name}", case.inputs, result.get("returned"), result.get("raised"),
              result.get("after", {}), expected.get("expected"), expected.get("mistakes"), expected.get("raises"),
              case.mutable)
