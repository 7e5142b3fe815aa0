"""Visible checks of chapter 04's two classes, EarlyStopping and ReduceLROnPlateau.

A class cannot be stored as "inputs -> output", so each check drives the learner's
class with a sequence of validation losses and compares what it does, epoch by epoch,
with stored numbers:

- EarlyStopping: after every ``update(val_loss)``, the returned stop decision and the
  attributes ``best`` and ``best_epoch``, until the first True;
- ReduceLROnPlateau: the rate returned by every ``update(val_loss)``, and ``best``;
- both: the documented attributes before the first update and after every update
  (EarlyStopping's best, best_epoch, wait; ReduceLROnPlateau's lr, best, wait).

The stored traces (and those of known wrong versions, to name a mistake) are computed from
the instructor's reference by ``python -m autograder.build_checks``; this module holds the
drivers, not that code. The same drivers and comparisons are used by the hidden tests on
more sequences.
"""

import math

import numpy as np

from dlcourse.checks.compare import agree, describe, mismatch
from dlcourse.checks.properties import stored
from dlcourse.checks.runner import CheckFailure

__all__ = ["early_stopping_trace", "plateau_trace", "compare_traces", "attribute_trace", "compare_attributes",
           "PROPERTY_CHECKS"]


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


def agrees(got, expected, kind):
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
    matches = [name for name, trace in (mistakes or {}).items() if agrees(got, trace, kind)]
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


# ----------------------------------------------------------------------------- the documented attributes
# The docstrings name attributes beyond what update returns: EarlyStopping's best (None before the
# first update), best_epoch and wait; ReduceLROnPlateau's lr, best (None before the first update) and
# wait (Keras semantics: once lr sits at min_lr nothing is cut and wait keeps counting). They are read
# before the first update and after every update, past the first stop.
ATTRIBUTES = {"EarlyStopping": ("best", "best_epoch", "wait"), "ReduceLROnPlateau": ("lr", "best", "wait")}


def attribute_trace(cls, name, args, kwargs, losses):
    """[{attribute: value}]: the documented attributes before any update, then after each update."""
    def read(obj):
        values = {}
        for attr in ATTRIBUTES[name]:
            try:
                values[attr] = getattr(obj, attr)
            except AttributeError:
                values[attr] = "<missing>"
        return values

    obj = _call(name, cls, *args, **kwargs)
    trace = [read(obj)]
    for value in losses:
        _call(f"{name}.update", obj.update, value)
        trace.append(read(obj))
    return trace


def compare_attributes(cls, name, args, kwargs, losses, expected, mistakes, label=""):
    """Raise CheckFailure at the first point where the learner's attributes differ from ``expected``.

    expected: attribute_trace of a correct class; mistakes: dict description -> attribute_trace of
    that known wrong class (a failure names the first one the learner's trace matches).
    """
    call = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
    header = f"{label}{name}({call}), val_loss {list(losses)}"
    try:
        got = attribute_trace(cls, name, args, kwargs, losses)
    except CheckFailure:
        raise
    except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
        raise CheckFailure(f"{header}: raised {type(err).__name__}: {err}") from None
    for i, (got_values, want) in enumerate(zip(got, expected)):
        reason = mismatch(got_values, want, where="attributes")
        if reason is None:
            continue
        what = "before the first update" if i == 0 else f"after update {i - 1} (val_loss {losses[i - 1]:g})"
        lines = [f"{header}: {what}: {reason}", f"  expected: {describe(want)}", f"  got:      {describe(got_values)}"]
        named = [n for n, trace in (mistakes or {}).items() if trace is not None and agree(trace, got)]
        if named:
            lines.append(f"  Your class behaves like {named[0]}.")
        raise CheckFailure("\n".join(lines))


# ----------------------------------------------------------------------------- stored cases
# Built by `python -m autograder.build_checks` from the reference and the catalogued mistakes:
# per class, the decision traces ("traces": early stopping's (stop, best, best_epoch) per update
# until the first stop, the plateau's (lr, best) per update) and the attribute traces
# ("attributes"), each with the traces of the known mistakes that differ.
CHAPTER = "04_learning_rate_schedules"


def stored_cases(name, kind="traces"):
    """The stored visible cases of class ``name`` ("EarlyStopping" or "ReduceLROnPlateau")."""
    return stored(CHAPTER)[name][kind]


def _check_attributes(cls, name):
    for case in stored_cases(name, "attributes"):
        compare_attributes(cls, name, case["args"], case["kwargs"], case["losses"], case["expected"],
                           case["mistakes"])
    return len(stored_cases(name, "attributes"))


def _check_early_stopping(cls):
    count = 0
    for case in stored_cases("EarlyStopping"):
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
    return count + _check_attributes(cls, "EarlyStopping")


def _check_plateau(cls):
    count = 0
    for case in stored_cases("ReduceLROnPlateau"):
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
    return count + _check_attributes(cls, "ReduceLROnPlateau")


PROPERTY_CHECKS = {"EarlyStopping": _check_early_stopping, "ReduceLROnPlateau": _check_plateau}
