"""Running one check case against a learner's function and explaining a failure."""

import copy

import numpy as np

from dlcourse.checks.compare import describe, matching_mistake, mismatch


class CheckFailure(AssertionError):
    """A check failed; the message says which case, expected vs got, and the likely mistake."""


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
    given = copy.deepcopy(inputs)
    header = f"{fn_name}, case '{case_name}'"
    if raises is not None:
        try:
            got = call_learner(fn, fn_name, case_name, given)
        except CheckFailure:
            raise
        except raises:
            return None
        except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
            raise CheckFailure(f"{header}: expected {raises.__name__}, but it raised {type(err).__name__}: {err}") from None
        raise CheckFailure(
            f"{header}: expected a {raises.__name__} for this bad input ({_inputs_text(inputs)}), "
            f"but it returned {describe(got)}"
        )
    try:
        got = call_learner(fn, fn_name, case_name, given)
    except CheckFailure:
        raise
    except Exception as err:  # noqa: BLE001
        raise CheckFailure(f"{header}: raised {type(err).__name__}: {err}\n  inputs: {_inputs_text(inputs)}") from None
    for name in inputs:
        if name not in mutable and not _unchanged(inputs[name], given[name]):
            raise CheckFailure(f"{header}: the function modified its input `{name}` in place; work on a copy instead.")
    reason = mismatch(got, expected)
    if reason is None:
        return got
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
