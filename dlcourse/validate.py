"""Input validation used by the exercise stubs, the notebooks' helpers and the reference implementations.

Every graded function turns bad input into a ``ValueError`` that says what is wrong,
instead of letting NumPy broadcast mismatched shapes into a silently wrong answer.
The validators here are the only ones: a reference implementation imports them rather than
writing its own, so the learner's stub and the reference reject the same inputs.
"""

import math
import numbers

import numpy as np

from dlcourse.i18n import tr


def as_float_array(x, name="x"):
    """``x`` as a float64 array (a new array only when a conversion is needed)."""
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(tr(f"{name} must be numeric, got {type(x).__name__}")) from err


def same_shape(a, b, name_a="a", name_b="b"):
    """Both as float64 arrays; ``ValueError`` unless their shapes are equal.

    Shapes must match exactly: (n,) against (n, 1) would broadcast to (n, n).
    """
    a, b = as_float_array(a, name_a), as_float_array(b, name_b)
    if a.shape != b.shape:
        raise ValueError(tr(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; they must match"))
    return a, b


def logits_and_labels(logits, labels):
    """Validate a classification batch: logits (n, k) float, labels (n,) integer ids in [0, k)."""
    logits = as_float_array(logits, "logits")
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(tr(f"logits must have shape (n, num_classes), got {logits.shape}"))
    if labels.shape != (logits.shape[0],):
        raise ValueError(tr(f"labels must have shape ({logits.shape[0]},) to match logits {logits.shape}, got {labels.shape}"))
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(tr(f"labels must be integer class ids, got dtype {labels.dtype}"))
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(tr(f"labels must lie in [0, {logits.shape[1] - 1}], got values in [{labels.min()}, {labels.max()}]"))
    return logits, labels


def rate(value, name="rate"):
    """A probability-like rate in [0, 1); ``ValueError`` otherwise."""
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(tr(f"{name} must lie in [0, 1), got {value}"))
    return value


def whole_number(value, name, minimum=1, integral=False):
    """``value`` as an int; ``ValueError`` unless it is an integer (``3`` or ``3.0``, not ``True``) >= ``minimum``.

    ``integral=True``: only an ``int`` or a NumPy integer passes (``3.0`` is refused too), for a count
    that only ever comes from an integer loop (an optimizer's step count, a number of trials).
    """
    if (isinstance(value, bool) or (integral and not isinstance(value, numbers.Integral))
            or int(value) != value or value < minimum):
        raise ValueError(tr(f"{name} must be an integer >= {minimum}, got {value!r}"))
    return int(value)


def real(value, name, minimum=None, strict=False):
    """``value`` as a float; ``ValueError`` unless it is a finite real number (not a bool, an array or a string),
    and, with ``minimum``, >= ``minimum`` (``strict``: > ``minimum``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(tr(f"{name} must be a real number, got {value!r}"))
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(tr(f"{name} must be finite, got {value!r}"))
    if minimum is not None and strict and value <= minimum:
        raise ValueError(tr(f"{name} must be > {minimum}, got {value!r}"))
    if minimum is not None and value < minimum:
        raise ValueError(tr(f"{name} must be >= {minimum}, got {value!r}"))
    return value


def generator(rng):
    """``rng`` itself; ``ValueError`` unless it is a ``numpy.random.Generator`` (the only source of randomness)."""
    if not isinstance(rng, np.random.Generator):
        raise ValueError(tr(f"rng must be a numpy.random.Generator, e.g. np.random.default_rng(0), got {type(rng).__name__}"))
    return rng
