"""Running one check case against a learner's function and explaining a failure."""

import copy

import numpy as np

from dlcourse.checks.compare import describe, matching_mistake, mismatch
from dlcourse.checks.failure import CheckFailure

__all__ = ["CheckFailure", "call_learner", "judge", "run_case"]


def _inputs_text(inputs):
    return ", ".join(f"{k}={describe(v, 160)}" for k, v in inputs.items())


def _unchanged(before, after):
    if isinstance(before, np.ndarray):
        return isinstance(after, np.ndarray) and before.shape == after.shape and np.array_equal(before, after, equal_nan=True)
    if isinstance(before, dict):
        return isinstance(after, dict) and before.keys() == after.keys() and all(_unchanged(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)):
        return len(before) == len(after) and all(_unchanged(b, a) for b, a in zip(before, after))
    return True


def call_learner(fn, fn_name, case_name, inputs):
    """Call ``fn(**inputs)``; a NotImplementedError becomes a friendly CheckFailure."""
    __tracebackhide__ = True  # noqa: F841 - IPython and pytest leave this frame out of tracebacks
    try:
        return fn(**inputs)
    except NotImplementedError:
        raise CheckFailure(
            f"{fn_name} is not implemented yet: replace `raise NotImplementedError()` in its cell with your code."
        ) from None


def run_case(fn, fn_name, case_name, inputs, expected=None, mistakes=None, raises=None, mutable=()):
    """Check ``fn(**inputs)`` against ``expected`` (or that it raises ``raises``).

    inputs are deep-copied before the call, and afterwards compared with the originals
    (except the names in ``mutable``): graded functions must not modify their inputs.
    mistakes: dict mistake-name -> output of that mistake on these inputs.
    Raises CheckFailure with a diagnostic message; returns the learner's output otherwise.
    """
    __tracebackhide__ = True  # noqa: F841
    given = copy.deepcopy(inputs)
    try:
        got, error = call_learner(fn, fn_name, case_name, given), None
    except CheckFailure:
        raise
    except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
        got, error = None, err
    error_info = None if error is None else ([c.__name__ for c in type(error).__mro__], str(error))
    try:
        judge(fn_name, case_name, inputs, got, error_info, given, expected, mistakes, raises, mutable)
    except CheckFailure as failure:
        failure.learner_error = error  # its frames are shown below the diagnosis
        raise
    return got


def judge(fn_name, case_name, inputs, got, error, inputs_after, expected=None, mistakes=None, raises=None, mutable=()):
    """Decide one case from what the learner's function did; raise CheckFailure to explain a failure.

    got: its return value (when it returned); error: None, or (exception class names along its
    MRO, message) when it raised; inputs_after: the inputs as they were after the call.
    Used in-process by :func:`run_case` and, at grading time, outside the learner's kernel.
    """
    __tracebackhide__ = True  # noqa: F841
    header = f"{fn_name}, case '{case_name}'"
    if raises is not None:
        wanted = raises if isinstance(raises, str) else raises.__name__
        if error is None:
            raise CheckFailure(
                f"{header}: expected a {wanted} for this bad input ({_inputs_text(inputs)}), "
                f"but it returned {describe(got)}"
            )
        if wanted not in error[0]:
            raise CheckFailure(f"{header}: expected {wanted}, but it raised {error[0][0]}: {error[1]}")
        return
    if error is not None:
        if "NotImplementedError" in error[0]:
            raise CheckFailure(
                f"{fn_name} is not implemented yet: replace `raise NotImplementedError()` in its cell with your code."
            )
        raise CheckFailure(f"{header}: raised {error[0][0]}: {error[1]}\n  inputs: {_inputs_text(inputs)}")
    for name in inputs:
        if name not in mutable and not _unchanged(inputs[name], inputs_after.get(name)):
            raise CheckFailure(f"{header}: the function modified its input `{name}` in place; work on a copy instead.")
    reason = mismatch(got, expected)
    if reason is None:
        return
    lines = [
        f"{header}: {reason}",
        f"  inputs:   {_inputs_text(inputs)}",
        f"  expected: {describe(expected)}",
        f"  got:      {describe(got)}",
    ]
    mistake = matching_mistake(got, mistakes or {})
    if mistake:
        lines.append(f"  Your output matches {mistake}.")
    raise CheckFailure("\n".join(lines))
