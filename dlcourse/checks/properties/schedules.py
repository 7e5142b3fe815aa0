"""Visible checks of chapter 04's two classes, EarlyStopping and ReduceLROnPlateau.

A class cannot be stored as "inputs -> output", so each check drives the learner's
class with a sequence of validation losses and compares what it does, epoch by epoch,
with stored numbers:

- EarlyStopping: after every ``update(val_loss)``, the returned stop decision and the
  attributes ``best`` and ``best_epoch``, until the first True;
- ReduceLROnPlateau: the rate returned by every ``update(val_loss)``, and ``best``.

The stored traces (and those of known wrong versions, to name a mistake) were computed
once from the instructor's reference; this module holds numbers, not that code.
The same drivers and comparison are used by the hidden tests on more sequences.
"""

import math

import numpy as np

from dlcourse.checks.compare import agree, describe
from dlcourse.checks.runner import CheckFailure

__all__ = ["early_stopping_trace", "plateau_trace", "compare_traces", "PROPERTY_CHECKS"]


def _call(what, fn, *args, **kwargs):
    """Call the learner's code; an untouched stub becomes a friendly CheckFailure."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailure(f"{what} is not implemented yet: replace `raise NotImplementedError()` "
                           "in its cell with your code.") from None


def early_stopping_trace(cls, patience, min_delta, losses):
    """Drive ``cls(patience=..., min_delta=...)`` with ``losses`` until update returns True.

    Returns a list with one (stop, best, best_epoch) tuple per update.
    """
    es = _call(cls.__name__, cls, patience=patience, min_delta=min_delta)
    trace = []
    for epoch, value in enumerate(losses):
        try:
            stop = _call(f"{cls.__name__}.update", es.update, value)
        except CheckFailure:
            raise
        except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
            raise CheckFailure(f"{cls.__name__}.update raised {type(err).__name__}: {err} at epoch {epoch} "
                               f"(val_loss {value!r})") from None
        trace.append((stop, getattr(es, "best", "<missing>"), getattr(es, "best_epoch", "<missing>")))
        if isinstance(stop, (bool, np.bool_)) and stop:
            break
    return trace


def plateau_trace(cls, lr, factor, patience, min_delta, min_lr, losses):
    """Drive ``cls(lr, factor=..., patience=..., min_delta=..., min_lr=...)`` with ``losses``.

    Returns a list with one (returned lr, best) tuple per update.
    """
    sched = _call(cls.__name__, cls, lr, factor=factor, patience=patience, min_delta=min_delta, min_lr=min_lr)
    trace = []
    for epoch, value in enumerate(losses):
        try:
            new_lr = _call(f"{cls.__name__}.update", sched.update, value)
        except CheckFailure:
            raise
        except Exception as err:  # noqa: BLE001
            raise CheckFailure(f"{cls.__name__}.update raised {type(err).__name__}: {err} at epoch {epoch} "
                               f"(val_loss {value!r})") from None
        trace.append((new_lr, getattr(sched, "best", "<missing>")))
    return trace


def _is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _same_float(got, expected):
    if not _is_number(got):
        return False
    if math.isnan(expected):
        return math.isnan(float(got))
    return agree(float(got), expected)


def _first_difference(got, expected, kind):
    """None when the traces agree, else a sentence about the first epoch where they differ."""
    fields = ("update returned", "best", "best_epoch") if kind == "early" else ("update returned", "best")
    for epoch, (g, e) in enumerate(zip(got, expected)):
        for i, field in enumerate(fields):
            gv, ev = g[i], e[i]
            if kind == "early" and i == 0:
                if not isinstance(gv, (bool, np.bool_)):
                    return epoch, f"update returned {gv!r}; it must return True or False"
                ok = bool(gv) == ev
            elif kind == "early" and i == 2:
                ok = _is_number(gv) and float(gv) == ev
            else:
                ok = _same_float(gv, ev)
            if not ok:
                shown = repr(gv) if isinstance(gv, str) or gv is None else describe(gv)
                return epoch, f"{field} {shown}, expected {describe(ev)}"
    if len(got) < len(expected):
        return len(got), "update returned True (stop), expected False: it stopped too early"
    if len(got) > len(expected):
        return len(expected) - 1, "update returned False, expected True: it should have stopped here"
    return None


def _agrees(got, expected, kind):
    return _first_difference(got, expected, kind) is None


def compare_traces(got, expected, mistakes, header, losses, kind):
    """Raise CheckFailure (naming the first differing epoch and a matching mistake) unless they agree.

    got, expected: traces from early_stopping_trace / plateau_trace (kind "early" / "plateau").
    mistakes: dict description -> trace of that known wrong version on the same losses.
    """
    diff = _first_difference(got, expected, kind)
    if diff is None:
        return
    epoch, reason = diff
    shown = ", ".join(f"{v:.6g}" for v in losses[: epoch + 1])
    lines = [f"{header}: at epoch {epoch} (0-based; val_loss {losses[epoch]:.6g}): {reason}.",
             f"  val_loss so far: [{shown}]"]
    if kind == "early":
        lines.append("  expected (stop, best, best_epoch) per epoch: "
                     + describe([(bool(s), b, e) for s, b, e in expected], 400))
    else:
        lines.append("  expected rate per epoch: " + describe([r for r, _ in expected], 400))
    matches = [name for name, trace in (mistakes or {}).items() if _agrees(got, trace, kind)]
    if matches:
        lines.append(f"  Your class behaves like {', or like '.join(matches)}.")
    raise CheckFailure("\n".join(lines))


def _expect_value_error(what, make):
    try:
        make()
    except ValueError:
        return
    except NotImplementedError:
        raise CheckFailure(f"{what.split('(')[0]} is not implemented yet: replace `raise NotImplementedError()` "
                           "in its cell with your code.") from None
    except Exception as err:  # noqa: BLE001
        raise CheckFailure(f"{what}: expected a ValueError, but it raised {type(err).__name__}: {err}") from None
    raise CheckFailure(f"{what}: expected a ValueError for this bad input (keep the given validation lines)")


# Stored traces (generated once from the reference and the catalogued mistakes; a test keeps them in sync).
# Early stopping: (stop, best, best_epoch) per update until the first stop. Plateau: (lr, best) per update.
EARLY_STOPPING_CASES = [
    {
        "name": "patience 2: a noisy curve that never again beats its best",
        "patience": 2,
        "min_delta": 0.0,
        "losses": [1.0, 0.7, 0.9, 0.8, 0.75, 0.72, 0.71],
        "expected": [(False, 1.0, 0), (False, 0.7, 1), (False, 0.7, 1), (True, 0.7, 1)],
        "mistakes": {
            "early stopping with patience off by one (wait > patience)":
                [(False, 1.0, 0), (False, 0.7, 1), (False, 0.7, 1), (False, 0.7, 1), (True, 0.7, 1)],
            "early stopping that compares with the previous epoch instead of the best":
                [(False, 1.0, 0), (False, 0.7, 1), (False, 0.7, 1), (False, 0.7, 1), (False, 0.7, 1), (False, 0.7, 1),
                 (False, 0.7, 1)],
            "early stopping with a 1-based best_epoch":
                [(False, 1.0, 1), (False, 0.7, 2), (False, 0.7, 2), (True, 0.7, 2)],
        },
    },
    {
        "name": "patience 2, min_delta 0: a tie is no improvement",
        "patience": 2,
        "min_delta": 0.0,
        "losses": [1.0, 0.8, 0.9, 0.7, 0.75, 0.7, 0.65],
        "expected": [(False, 1.0, 0), (False, 0.8, 1), (False, 0.8, 1), (False, 0.7, 3), (False, 0.7, 3),
                     (True, 0.7, 3)],
        "mistakes": {
            "early stopping with patience off by one (wait > patience)":
                [(False, 1.0, 0), (False, 0.8, 1), (False, 0.8, 1), (False, 0.7, 3), (False, 0.7, 3), (False, 0.7, 3),
                 (False, 0.65, 6)],
            "early stopping whose counter is not reset by an improvement":
                [(False, 1.0, 0), (False, 0.8, 1), (False, 0.8, 1), (False, 0.7, 3), (True, 0.7, 3)],
            "early stopping that compares with the previous epoch instead of the best":
                [(False, 1.0, 0), (False, 0.8, 1), (False, 0.8, 1), (False, 0.7, 3), (False, 0.7, 3), (False, 0.7, 3),
                 (False, 0.65, 6)],
            "early stopping with a 1-based best_epoch":
                [(False, 1.0, 1), (False, 0.8, 2), (False, 0.8, 2), (False, 0.7, 4), (False, 0.7, 4), (True, 0.7, 4)],
        },
    },
    {
        "name": "patience 3, min_delta 0.01: gains below min_delta do not count",
        "patience": 3,
        "min_delta": 0.01,
        "losses": [1.0, 0.995, 0.8, 0.797, 0.794, 0.7935, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85],
        "expected": [(False, 1.0, 0), (False, 1.0, 0), (False, 0.8, 2), (False, 0.8, 2), (False, 0.8, 2),
                     (True, 0.8, 2)],
        "mistakes": {
            "early stopping that counts improvements below min_delta":
                [(False, 1.0, 0), (False, 0.995, 1), (False, 0.8, 2), (False, 0.797, 3), (False, 0.794, 4),
                 (False, 0.7935, 5), (False, 0.6, 6), (False, 0.6, 6), (False, 0.6, 6),
                 (True, 0.6, 6)],
            "early stopping with patience off by one (wait > patience)":
                [(False, 1.0, 0), (False, 1.0, 0), (False, 0.8, 2), (False, 0.8, 2), (False, 0.8, 2), (False, 0.8, 2),
                 (False, 0.6, 6), (False, 0.6, 6), (False, 0.6, 6), (False, 0.6, 6), (True, 0.6, 6)],
            "early stopping whose counter is not reset by an improvement":
                [(False, 1.0, 0), (False, 1.0, 0), (False, 0.8, 2), (False, 0.8, 2), (True, 0.8, 2)],
            "early stopping that compares with the previous epoch instead of the best":
                [(False, 1.0, 0), (False, 0.995, 1), (False, 0.8, 2), (False, 0.797, 3), (False, 0.794, 4),
                 (True, 0.7935, 5)],
            "early stopping with a 1-based best_epoch":
                [(False, 1.0, 1), (False, 1.0, 1), (False, 0.8, 3), (False, 0.8, 3), (False, 0.8, 3), (True, 0.8, 3)],
        },
    },
    {
        "name": "patience 0: stop at the first epoch without improvement",
        "patience": 0,
        "min_delta": 0.0,
        "losses": [2.0, 1.5, 1.2, 1.3, 1.0],
        "expected": [(False, 2.0, 0), (False, 1.5, 1), (False, 1.2, 2), (True, 1.2, 2)],
        "mistakes": {
            "early stopping with a 1-based best_epoch":
                [(False, 2.0, 1), (False, 1.5, 2), (False, 1.2, 3), (True, 1.2, 3)],
        },
    },
    {
        "name": "patience 4: a steady decrease never stops",
        "patience": 4,
        "min_delta": 0.0,
        "losses": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
        "expected": [(False, 1.0, 0), (False, 0.9, 1), (False, 0.8, 2), (False, 0.7, 3), (False, 0.6, 4),
                     (False, 0.5, 5), (False, 0.4, 6)],
        "mistakes": {
            "early stopping with a 1-based best_epoch":
                [(False, 1.0, 1), (False, 0.9, 2), (False, 0.8, 3), (False, 0.7, 4), (False, 0.6, 5), (False, 0.5, 6),
                 (False, 0.4, 7)],
        },
    },
]

PLATEAU_CASES = [
    {
        "name": "lr 1, factor 0.5, patience 2, min_delta 0, min_lr 0.3: two cuts, then the floor",
        "lr": 1.0,
        "factor": 0.5,
        "patience": 2,
        "min_delta": 0.0,
        "min_lr": 0.3,
        "losses": [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95],
        "expected": [(1.0, 1.0), (1.0, 0.9), (1.0, 0.9), (0.5, 0.9), (0.5, 0.9), (0.3, 0.9), (0.3, 0.9), (0.3, 0.9),
                     (0.3, 0.9), (0.3, 0.9)],
        "mistakes": {
            "a plateau schedule without the min_lr floor":
                [(1.0, 1.0), (1.0, 0.9), (1.0, 0.9), (0.5, 0.9), (0.5, 0.9), (0.25, 0.9), (0.25, 0.9), (0.125, 0.9),
                 (0.125, 0.9), (0.0625, 0.9)],
            "a plateau schedule that does not reset its counter after a cut":
                [(1.0, 1.0), (1.0, 0.9), (1.0, 0.9), (0.5, 0.9), (0.3, 0.9), (0.3, 0.9), (0.3, 0.9), (0.3, 0.9),
                 (0.3, 0.9), (0.3, 0.9)],
            "a plateau schedule with patience off by one (wait > patience)":
                [(1.0, 1.0), (1.0, 0.9), (1.0, 0.9), (1.0, 0.9), (0.5, 0.9), (0.5, 0.9), (0.5, 0.9), (0.3, 0.9),
                 (0.3, 0.9), (0.3, 0.9)],
        },
    },
    {
        "name": "lr 1, factor 0.5, patience 2, min_delta 0.05, min_lr 0.2: gains below min_delta do not count",
        "lr": 1.0,
        "factor": 0.5,
        "patience": 2,
        "min_delta": 0.05,
        "min_lr": 0.2,
        "losses": [5.0, 4.9, 4.93, 4.8, 4.78, 4.85, 4.86, 4.87, 4.88, 4.89, 4.9, 4.91, 4.92, 4.93, 4.94],
        "expected": [(1.0, 5.0), (1.0, 4.9), (1.0, 4.9), (1.0, 4.8), (1.0, 4.8), (0.5, 4.8), (0.5, 4.8), (0.25, 4.8),
                     (0.25, 4.8), (0.2, 4.8), (0.2, 4.8), (0.2, 4.8), (0.2, 4.8), (0.2, 4.8),
                     (0.2, 4.8)],
        "mistakes": {
            "a plateau schedule without the min_lr floor":
                [(1.0, 5.0), (1.0, 4.9), (1.0, 4.9), (1.0, 4.8), (1.0, 4.8), (0.5, 4.8), (0.5, 4.8), (0.25, 4.8),
                 (0.25, 4.8), (0.125, 4.8), (0.125, 4.8), (0.0625, 4.8), (0.0625, 4.8),
                 (0.03125, 4.8), (0.03125, 4.8)],
            "a plateau schedule that does not reset its counter after a cut":
                [(1.0, 5.0), (1.0, 4.9), (1.0, 4.9), (1.0, 4.8), (1.0, 4.8), (0.5, 4.8), (0.25, 4.8), (0.2, 4.8),
                 (0.2, 4.8), (0.2, 4.8), (0.2, 4.8), (0.2, 4.8), (0.2, 4.8), (0.2, 4.8), (0.2, 4.8)],
            "a plateau schedule that counts improvements below min_delta":
                [(1.0, 5.0), (1.0, 4.9), (1.0, 4.9), (1.0, 4.8), (1.0, 4.78), (1.0, 4.78), (0.5, 4.78), (0.5, 4.78),
                 (0.25, 4.78), (0.25, 4.78), (0.2, 4.78), (0.2, 4.78), (0.2, 4.78), (0.2, 4.78),
                 (0.2, 4.78)],
            "a plateau schedule with patience off by one (wait > patience)":
                [(1.0, 5.0), (1.0, 4.9), (1.0, 4.9), (1.0, 4.8), (1.0, 4.8), (1.0, 4.8), (0.5, 4.8), (0.5, 4.8),
                 (0.5, 4.8), (0.25, 4.8), (0.25, 4.8), (0.25, 4.8), (0.2, 4.8), (0.2, 4.8),
                 (0.2, 4.8)],
            "a plateau schedule with a relative min_delta (best * (1 - min_delta))":
                [(1.0, 5.0), (1.0, 5.0), (0.5, 5.0), (0.5, 5.0), (0.25, 5.0), (0.25, 5.0), (0.2, 5.0), (0.2, 5.0),
                 (0.2, 5.0), (0.2, 5.0), (0.2, 5.0), (0.2, 5.0), (0.2, 5.0), (0.2, 5.0), (0.2, 5.0)],
        },
    },
    {
        "name": "lr 0.01, factor 0.2, patience 0: a cut at every epoch without improvement",
        "lr": 0.01,
        "factor": 0.2,
        "patience": 0,
        "min_delta": 0.0,
        "min_lr": 0.0,
        "losses": [1.0, 1.0, 0.9, 0.95, 0.85, 0.85],
        "expected": [(0.01, 1.0), (0.002, 1.0), (0.002, 0.9), (0.0004, 0.9), (0.0004, 0.85), (8e-05, 0.85)],
        "mistakes": {
        },
    },
]



def _check_early_stopping(cls):
    count = 0
    for case in EARLY_STOPPING_CASES:
        header = (f"EarlyStopping, case '{case['name']}' "
                  f"(EarlyStopping(patience={case['patience']}, min_delta={case['min_delta']}))")
        got = early_stopping_trace(cls, case["patience"], case["min_delta"], case["losses"])
        compare_traces(got, case["expected"], case["mistakes"], header, case["losses"], "early")
        count += 1
    for what, make in [
        ("EarlyStopping(patience=-1)", lambda: cls(patience=-1)),
        ("EarlyStopping(min_delta=-0.1)", lambda: cls(min_delta=-0.1)),
        ("EarlyStopping().update(np.ones(2)) (val_loss must be one number)", lambda: cls().update(np.ones(2))),
    ]:
        _expect_value_error(what, make)
        count += 1
    return count


def _check_plateau(cls):
    count = 0
    for case in PLATEAU_CASES:
        header = (f"ReduceLROnPlateau, case '{case['name']}' (ReduceLROnPlateau({case['lr']}, factor={case['factor']}, "
                  f"patience={case['patience']}, min_delta={case['min_delta']}, min_lr={case['min_lr']}))")
        got = plateau_trace(cls, case["lr"], case["factor"], case["patience"], case["min_delta"], case["min_lr"],
                            case["losses"])
        compare_traces(got, case["expected"], case["mistakes"], header, case["losses"], "plateau")
        count += 1
    for what, make in [
        ("ReduceLROnPlateau(0.1, factor=1.0) (factor must be < 1)", lambda: cls(0.1, factor=1.0)),
        ("ReduceLROnPlateau(-0.1) (a negative rate)", lambda: cls(-0.1)),
        ("ReduceLROnPlateau(0.1).update('high') (val_loss must be a number)", lambda: cls(0.1).update("high")),
    ]:
        _expect_value_error(what, make)
        count += 1
    return count


PROPERTY_CHECKS = {"EarlyStopping": _check_early_stopping, "ReduceLROnPlateau": _check_plateau}
