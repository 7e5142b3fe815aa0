"""JSON encoding of check cases: arrays, tuples, NaN and inf survive the round trip."""

import json

import numpy as np

from dlcourse.checks.functions import FUNCTIONS

_NAMES = {fn: name for name, fn in FUNCTIONS.items()}


def encode(value):
    """A JSON-ready form of floats, ints, arrays, tuples, lists, dicts, None, strings and the
    named test functions of :mod:`dlcourse.checks.functions`."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)) and not isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if callable(value) and value in _NAMES:
        return {"__callable__": _NAMES[value]}
    raise TypeError(f"cannot encode {type(value).__name__} in a check case")


class Unencodable:
    """Stands for a value that could not be sent as data (shown by its repr in messages)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def encode_lenient(value):
    """Like :func:`encode`, but anything unencodable becomes its (shortened) repr."""
    try:
        return encode(value)
    except (TypeError, ValueError):
        text = repr(value)
        return {"__repr__": f"<{type(value).__name__}: {text[:200]}>"}


def decode(value):
    """Inverse of :func:`encode`."""
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.array(value["__ndarray__"], dtype=value["dtype"])
        if "__repr__" in value:
            return Unencodable(str(value["__repr__"]))
        if "__callable__" in value:
            return FUNCTIONS[value["__callable__"]]
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def dumps(obj):
    """Stable, diffable JSON text (sorted keys, one case per line group)."""
    return json.dumps(encode(obj), indent=1, sort_keys=True, allow_nan=True) + "\n"


def loads(text):
    return decode(json.loads(text))
