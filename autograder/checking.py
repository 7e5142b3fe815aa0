"""A check case and how a case's expected output and the mistakes' outputs are computed.

Shared by every chapter's ``cases.py`` (see :mod:`autograder.chapters`), ``build_checks`` (which
stores the visible cases' numbers for students) and the hidden tests (which compute them at
grading time).
"""

import copy
import functools
import hashlib
import pickle
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np

from dlcourse.checks.compare import agree


@dataclass
class Case:
    """One call of a graded function: ``fn(**inputs)``; ``raises`` names the expected error type."""

    name: str
    inputs: dict
    raises: type | None = None
    mutable: tuple = field(default_factory=tuple)


def hidden_seed(function_name):
    """A stable seed per graded function (same hidden inputs on every grading run)."""
    return zlib.crc32(f"hidden:{function_name}".encode())


_COMPUTED = {}  # key -> value computed once in this process; read through deep copies (computed_once)


def computed_once(key, compute):
    """``compute()`` the first time ``key`` is asked for in this process; a deep copy of that value every time.

    For what a hidden test compares a submission with (the reference's and the mistakes' results
    on fixed inputs): the same for every submission a grading worker grades, so it is computed for
    the first only. ``key`` fixes everything ``compute`` depends on and is made of instructor code
    and constants only (the hidden tests' keys start with the chapter id and the graded name;
    :func:`once_per_process` keys with the function). The copies keep a check (or the learner's
    code it calls) that writes into what it was given from changing what the next submission is
    judged against.
    """
    if key not in _COMPUTED:
        _COMPUTED[key] = compute()
    return copy.deepcopy(_COMPUTED[key])


def once_per_process(function):
    """Decorator: ``function(*args)`` through :func:`computed_once`, keyed by the function and its
    arguments (hashable constants: a case's index or name, shapes, seeds)."""
    @functools.wraps(function)
    def once(*args):
        return computed_once((function, *args), lambda: function(*args))

    return once


def data_key(value):
    """A short key for plain data (arrays, numbers, strings, lists, dicts) in a :func:`computed_once`
    key: the SHA-256 of its pickle."""
    return hashlib.sha256(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()


def message_no_results(name, err):
    """The failure message when the hidden tests of ``name`` got nothing usable back."""
    return f"{name}: the hidden tests got no usable results back from your code ({err}), so they count as failed."


def _quiet_call(fn, inputs):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(**copy.deepcopy(inputs))


def evaluate(case, reference, mistakes):
    """Expected output and the outputs of the mistakes that differ from it on this case."""
    if case.raises is not None:
        return {"raises": case.raises}
    expected = _quiet_call(reference, case.inputs)
    outputs = {}
    for name, wrong in mistakes.items():
        try:
            out = _quiet_call(wrong, case.inputs)
        except Exception:  # noqa: BLE001 - a mistake may crash on this input; then it cannot be matched
            continue
        if not agree(out, expected):
            outputs[name] = out
    return {"expected": expected, "mistakes": outputs}
