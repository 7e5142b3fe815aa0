"""Comparing a learner's output with an expected one, and saying how they differ.

Outputs are floats, arrays, or tuples/lists/dicts of them. Two outputs agree when
they have the same structure and shapes and every number agrees within
``rtol``/``atol`` (NaN agrees only with NaN, inf only with the same inf). The
default tolerances accept every correct float64 implementation (loops, other
vectorizations, another summation order) and reject every formula mistake the
course names.
"""

import numpy as np

RTOL = 1e-6
ATOL = 1e-9


def _is_sequence(x):
    return isinstance(x, (tuple, list))


def agree(got, expected, rtol=RTOL, atol=ATOL):
    """True when ``got`` matches ``expected`` in structure, shape and value."""
    return mismatch(got, expected, rtol, atol) is None


def mismatch(got, expected, rtol=RTOL, atol=ATOL, where="output"):
    """None when they agree, else a one-line reason ("output[1] has shape (3,), expected (2, 3)")."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where} is a {type(got).__name__}, expected a dict with keys {sorted(expected)}"
        if set(got) != set(expected):
            return f"{where} has keys {sorted(got)}, expected {sorted(expected)}"
        for key in expected:
            reason = mismatch(got[key], expected[key], rtol, atol, f"{where}[{key!r}]")
            if reason:
                return reason
        return None
    if _is_sequence(expected):
        if not _is_sequence(got) and not isinstance(got, np.ndarray):
            return f"{where} is a {type(got).__name__}, expected a tuple of {len(expected)} items"
        if isinstance(got, np.ndarray) and got.dtype == object:
            got = list(got)
        if _is_sequence(got) and len(got) != len(expected):
            return f"{where} has {len(got)} items, expected {len(expected)}"
        if _is_sequence(got):
            for i, (g, e) in enumerate(zip(got, expected)):
                reason = mismatch(g, e, rtol, atol, f"{where}[{i}]")
                if reason:
                    return reason
            return None
    if got is None and expected is not None:
        return f"{where} is None (did the function forget to return?)"
    if expected is None:
        return None if got is None else f"{where} should be None, got {describe(got)}"
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return f"{where} is a {type(got).__name__}, not a number or array"
    e = np.asarray(expected, dtype=np.float64)
    if g.shape != e.shape:
        if g.size == 1 and e.size == 1:
            g = g.reshape(e.shape)
        else:
            return f"{where} has shape {g.shape}, expected {e.shape}"
    same_nan = np.isnan(g) == np.isnan(e)
    if not np.all(same_nan):
        if np.isnan(g).any():
            return f"{where} has NaN where a number was expected"
        return f"{where} is a number where NaN was expected"
    finite = np.isfinite(e) & np.isfinite(g)
    both_inf = np.isinf(e) & (g == e)
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(g - e) <= atol + rtol * np.abs(e)
    ok = np.isnan(e) | both_inf | (finite & close)
    if np.all(ok):
        return None
    if np.any(np.isinf(g) & ~np.isinf(e)):
        return f"{where} has inf where a finite number was expected (overflow?)"
    if g.ndim == 0:
        return f"{where} differs"
    bad = int(np.size(ok) - np.count_nonzero(ok))
    return f"{where} differs in {bad} of {g.size} entries"


def describe(x, max_chars=300):
    """A short, readable rendering of a value for failure messages."""
    if isinstance(x, dict):
        text = "{" + ", ".join(f"{k!r}: {describe(v, max_chars // 2)}" for k, v in x.items()) + "}"
    elif _is_sequence(x):
        text = "(" + ", ".join(describe(v, max_chars // 2) for v in x) + ")"
    elif isinstance(x, np.ndarray) or np.isscalar(x):
        with np.printoptions(precision=6, threshold=12, edgeitems=2, linewidth=120):
            if np.ndim(x):
                text = np.array2string(np.asarray(x), separator=", ")
            else:
                text = repr(float(x)) if isinstance(x, (float, np.floating)) else repr(x)
    else:
        text = repr(x)
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."


def matching_mistake(got, mistake_outputs, rtol=RTOL, atol=ATOL):
    """The name of the first known mistake whose output ``got`` matches, else None.

    mistake_outputs: dict name -> output of that mistake on the same inputs.
    """
    for name, output in mistake_outputs.items():
        if agree(got, output, rtol, atol):
            return name
    return None
