"""Values as data between the grading process and the interpreter (see :mod:`.interpreter`).

- :func:`encode` turns an argument into its wire form (plain JSON); the session supplies the
  forms of objects it tracks (generators, the learner's objects, earlier results).
- :func:`decode_results` reads the interpreter's answer *defensively*: it comes from the
  learner's kernel, so anything malformed (wrong types, deep nesting, huge numbers, unknown
  dtypes, oversized text) raises :class:`ProtocolError` and never crashes the grader.
"""

import base64
import copy
import json
import math

import numpy as np

from dlcourse.checks.functions import FUNCTIONS

_NAMES = {fn: name for name, fn in FUNCTIONS.items()}
FUNCTION_NAMES = _NAMES  # named test function -> its name
MAX_DEPTH = 40
MAX_NODES = 2_000_000
MAX_ARRAY_BYTES = 256 * 1024 * 1024
_DTYPE_KINDS = "biufc"
_DTYPES = {}  # dtype text -> np.dtype, for texts already checked by _checked_dtype


class ProtocolError(Exception):
    """The kernel's results are missing, malformed or too large."""


class NotData(BaseException):
    """A value that cannot be sent to the interpreter: a flaw of the check, not of the learner's code.

    A BaseException, so that a check's ``except Exception`` around a call cannot swallow it."""


def encode(value, special=None, depth=0):
    """The wire form of ``value``; ``special(value)`` may return a wire form for values it tracks."""
    if depth > MAX_DEPTH:
        raise NotData("nested too deeply")
    if special is not None:
        form = special(value)
        if form is not None:
            return form
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.ndarray) and value.dtype.kind in _DTYPE_KINDS:
        data = np.array(value, order="C", copy=True)
        return {"__nd__": [data.dtype.str, list(data.shape), base64.b64encode(data.tobytes()).decode()]}
    if isinstance(value, np.generic) and value.dtype.kind in _DTYPE_KINDS:
        return {"__scalar__": [value.dtype.str, base64.b64encode(np.asarray(value).tobytes()).decode()]}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, special, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, special, depth + 1) for v in value]
    if isinstance(value, dict) and all(type(k) in (str, int) for k in value):
        return {"__dict__": [[k, encode(v, special, depth + 1)] for k, v in value.items()]}
    if callable(value) and value in _NAMES:
        return {"__callable__": _NAMES[value]}
    raise NotData(f"cannot send a {type(value).__name__} as data")


def fresh_copy(value):
    """A copy of a decoded value (what :func:`decode_results` builds) that shares nothing mutable with it.

    The same result as ``copy.deepcopy`` for these values (lists, tuples, dicts, arrays, scalars, handles,
    which copy to themselves), without its bookkeeping: a check replays thousands of them."""
    kind = type(value)
    if kind is np.ndarray:
        return value.copy()
    if kind is list:
        return [fresh_copy(v) for v in value]
    if kind is tuple:
        return tuple(fresh_copy(v) for v in value)
    if kind is dict:
        return {k: fresh_copy(v) for k, v in value.items()}
    if value is None or kind in (bool, int, float, str) or isinstance(value, np.generic):
        return value
    return copy.deepcopy(value)


def key(form):
    """A canonical text of a wire form (to compare steps and find earlier results)."""
    return json.dumps(form, sort_keys=True, allow_nan=True)


class _Reader:
    """Decodes one answer, counting nodes; ``make_object(slot, type names, attrs)`` builds remote handles."""

    def __init__(self, make_object):
        self.make_object = make_object
        self.nodes = 0

    def value(self, form, depth=0):
        self.nodes += 1
        if depth > MAX_DEPTH or self.nodes > MAX_NODES:
            raise ProtocolError("the results are nested too deeply or too large")
        if form is None or isinstance(form, (bool, str)):
            return form
        if isinstance(form, int):
            if abs(form) >= 2 ** 63:
                raise ProtocolError("an integer in the results is too large")
            return form
        if isinstance(form, float):
            return form
        if isinstance(form, list):
            return [self.value(v, depth + 1) for v in form]
        if not isinstance(form, dict) or len(form) not in (1, 3):
            raise ProtocolError(f"unexpected value in the results: {type(form).__name__}")
        if "__nd__" in form:
            return self.array(form["__nd__"])
        if "__scalar__" in form:
            dtype, data = self.pair(form["__scalar__"])
            array = self.buffer(dtype, data, ())
            return array[()]
        if "__tuple__" in form:
            return tuple(self.value(v, depth + 1) for v in self.items(form["__tuple__"]))
        if "__dict__" in form:
            out = {}
            for pair in self.items(form["__dict__"]):
                k, v = self.pair(pair)
                if type(k) not in (str, int):
                    raise ProtocolError("a dict key in the results is not a string or an integer")
                out[k] = self.value(v, depth + 1)
            return out
        if "__obj__" in form:
            slot, names, attrs = form.get("__obj__"), form.get("type"), form.get("attrs")
            if not isinstance(slot, str) or not self.strings(names) or not isinstance(attrs, list) or not all(
                    isinstance(a, list) and len(a) == 2 and isinstance(a[0], str) and isinstance(a[1], bool)
                    for a in attrs):
                raise ProtocolError("a malformed object handle in the results")
            return self.make_object(slot, names[:50], {a[0]: a[1] for a in attrs[:300]})
        if "__float__" in form and isinstance(form["__float__"], str) and form["__float__"] in ("nan", "inf", "-inf"):
            return float(form["__float__"])
        raise ProtocolError(f"unexpected value in the results: keys {sorted(form)[:5]}")

    @staticmethod
    def items(form):
        if not isinstance(form, list):
            raise ProtocolError("a malformed container in the results")
        return form

    @staticmethod
    def pair(form):
        if not isinstance(form, list) or len(form) != 2:
            raise ProtocolError("a malformed pair in the results")
        return form

    @staticmethod
    def strings(form):
        return isinstance(form, list) and all(isinstance(s, str) and len(s) < 200 for s in form)

    def array(self, form):
        if not isinstance(form, list) or len(form) != 3:
            raise ProtocolError("a malformed array in the results")
        dtype, shape, data = form
        if not isinstance(shape, list) or len(shape) > 32 or not all(type(n) is int and 0 <= n < 2 ** 40 for n in shape):
            raise ProtocolError("an array in the results has a malformed shape")
        return self.buffer(dtype, data, tuple(shape))

    @staticmethod
    def buffer(dtype, data, shape):
        if not isinstance(dtype, str) or not isinstance(data, str) or len(data) > MAX_ARRAY_BYTES:
            raise ProtocolError("a malformed array in the results")
        dt = _DTYPES.get(dtype) or _checked_dtype(dtype)
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise ProtocolError("an array in the results is not valid base64") from None
        if len(raw) != dt.itemsize * math.prod(shape):
            raise ProtocolError("an array in the results does not match its shape")
        return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def _checked_dtype(text):
    """The dtype named ``text`` if it is a plain numeric one (remembered: a result holds thousands of arrays)."""
    try:
        dt = np.dtype(text)
    except TypeError:
        raise ProtocolError(f"unknown dtype {text[:30]!r} in the results") from None
    if dt.kind not in _DTYPE_KINDS or dt.hasobject or dt.fields is not None:
        raise ProtocolError(f"unsupported dtype {text[:30]!r} in the results")
    if len(_DTYPES) < 64:
        _DTYPES[text] = dt
    return dt


def _names(form):
    return isinstance(form, list) and 0 < len(form) <= 50 and all(isinstance(s, str) and len(s) < 200 for s in form)


def decode_results(text, n_steps, make_object, max_chars):
    """[outcome per step] from the interpreter's JSON text; each outcome is a dict with

    ``ok`` (the returned value) or ``raised`` ((class names along the MRO, message)), and
    ``after`` ({argument position or name: value}), ``shares`` ([(returned item or "", argument position or
    name)]: returned arrays that may share memory with an array argument), ``callbacks`` ({tag: [(args, kwargs)]}), ``warnings`` ([(category names, message)]),
    ``seconds`` (float or None). Raises :class:`ProtocolError` on anything malformed.
    """
    if not isinstance(text, str) or len(text) > max_chars:
        raise ProtocolError("the results are missing or larger than allowed")
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ProtocolError(f"the results are not valid JSON ({type(err).__name__})") from None
    if not isinstance(raw, list) or not 0 < len(raw) <= n_steps:
        raise ProtocolError("the results do not match the steps sent")
    reader = _Reader(make_object)
    out = []
    try:
        for item in raw:
            if not isinstance(item, dict):
                raise ProtocolError("a step's outcome is not a record")
            outcome = {"seconds": item.get("seconds") if isinstance(item.get("seconds"), float) else None}
            if "raised" in item:
                names, message = reader.pair(item["raised"])
                if not _names(names) or not isinstance(message, str):
                    raise ProtocolError("a malformed exception in the results")
                outcome["raised"] = (names, message[:2000])
            elif "ok" in item:
                outcome["ok"] = reader.value(item["ok"])
                after = item.get("after", {})
                if not isinstance(after, dict):
                    raise ProtocolError("malformed changed arguments in the results")
                outcome["after"] = {k: reader.value(v) for k, v in after.items()}
                shares = item.get("shares", [])
                if not (isinstance(shares, list) and len(shares) <= 10_000
                        and all(isinstance(pair, list) and len(pair) == 2
                                and all(isinstance(p, str) and len(p) <= 200 for p in pair) for pair in shares)):
                    raise ProtocolError("malformed memory sharing in the results")
                outcome["shares"] = [tuple(pair) for pair in shares]
            else:
                raise ProtocolError("a step's outcome has neither a value nor an exception")
            callbacks = item.get("callbacks", {})
            if not isinstance(callbacks, dict) or not all(isinstance(v, list) and len(v) <= 100_000
                                                          for v in callbacks.values()):
                raise ProtocolError("malformed callbacks in the results")
            outcome["callbacks"] = {tag: [tuple(reader.value(c)) for c in calls] for tag, calls in callbacks.items()}
            if not all(len(c) == 2 and isinstance(c[0], list) and isinstance(c[1], dict)
                       for calls in outcome["callbacks"].values() for c in calls):
                raise ProtocolError("malformed callbacks in the results")
            caught = item.get("warnings", [])
            if not isinstance(caught, list) or not all(isinstance(w, list) and len(w) == 2 and _names(w[0])
                                                      and isinstance(w[1], str) for w in caught):
                raise ProtocolError("malformed warnings in the results")
            outcome["warnings"] = [(w[0], w[1][:300]) for w in caught[:20]]
            out.append(outcome)
    except RecursionError:
        raise ProtocolError("the results are nested too deeply") from None
    except (TypeError, ValueError, OverflowError, MemoryError) as err:
        raise ProtocolError(f"the results could not be read ({type(err).__name__})") from None
    return out
