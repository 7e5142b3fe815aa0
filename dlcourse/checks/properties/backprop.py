"""Property checks for chapter 06 (backpropagation and initialization).

- ``sigmoid``: besides the stored values, no floating-point warning for |z| ~ 1e3.
- ``dense_forward`` returns ``(out, cache)``; the cache's layout is the learner's choice, so
  only ``out`` is compared with stored numbers.
- ``glorot_uniform`` and ``he_normal`` draw random numbers, so they are checked by what every
  correct implementation satisfies on a large draw: shape, range, mean, standard deviation and
  tails (within about 5 standard errors), the same weights for the same seed, different ones
  for another seed, and use of the generator they are given. Never one exact stream.
- ``FORWARD_INPUTS`` tells :func:`dlcourse.checks.backward.check_backward` how to read the
  inputs of ``dense_forward`` back from a cache in the suggested layout ``(x, W)``.

Expected numbers are stored (computed once from the course's reference); nothing here
computes a graded function's answer.
"""

import warnings
import zlib

import numpy as np

from dlcourse.checks.compare import describe
from dlcourse.checks.properties import stored
from dlcourse.checks.runner import CheckFailure, call_learner, run_case

_A = np.array


def seed_of(text):
    """A stable seed derived from a text."""
    return zlib.crc32(text.encode())


# ----------------------------------------------------------------------------- sigmoid: no warnings

_HUGE_Z = _A([-1000.0, -745.0, -710.0, 0.0, 710.0, 745.0, 1000.0])


def check_no_float_warnings(fn, name, z):
    """``fn(z)`` must run with floating-point warnings (overflow, invalid, divide) turned into errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            try:
                call_learner(fn, name, "no warnings", {"z": z.copy()})
            except CheckFailure:
                raise
            except (FloatingPointError, RuntimeWarning) as err:
                raise CheckFailure(
                    f"{name}, case 'z = {describe(z)} with floating-point warnings turned into errors': {err}.\n"
                    "  The values may be right, but NumPy warned on the way (e.g. np.exp(1000) = inf). Only ever "
                    "compute exp(-|z|), which lies in (0, 1]; note that np.where(cond, a, b) evaluates BOTH a and b "
                    "on every entry, so an overflowing branch warns even where it is not selected.") from None
            except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
                raise CheckFailure(f"{name}, case 'z = {describe(z)}': raised {type(err).__name__}: {err}") from None
    return 1


# ----------------------------------------------------------------------------- dense_forward

# The visible cases (inputs, the expected out and the outputs of the known mistakes) are stored by
# `python -m autograder.build_checks` from the reference (the chapter's stored_numbers()).
CHAPTER = "06_backprop_initialization"


def stored_numbers():
    """{"dense_forward": [case], "initializers": {name: {"fan_in", "fan_out", "spec", "mistakes"}}}."""
    return stored(CHAPTER)


def first_output(fn, name):
    """A wrapper returning only ``out`` of a forward pass ``fn(...) -> (out, cache)``."""
    def out_only(**inputs):
        result = fn(**inputs)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise CheckFailure(f"{name} must return a pair (out, cache), got {describe(result)}")
        return result[0]

    out_only.__name__ = name
    return out_only


def check_dense_forward(fn):
    cases = stored_numbers()["dense_forward"]
    for case in cases:
        run_case(first_output(fn, "dense_forward"), "dense_forward", case["name"], case["inputs"], case["expected"],
                 case["mistakes"])
    return len(cases)


# ----------------------------------------------------------------------------- initializers

_TAIL_SIGMAS = 2.5
_NORMAL_TAIL = 0.012419330651552318  # P(|Z| > 2.5) for a standard normal Z


def uniform_spec(limit, n):
    """What a U(-limit, limit) draw of n numbers must show: std limit/sqrt(3) within 5 standard errors
    (the sample std of a uniform has relative standard error sqrt(0.2 / n)), and max |w| <= limit."""
    return {"std": float(limit / np.sqrt(3.0)), "std_rtol": float(5 * np.sqrt(0.2 / n)), "bound": float(limit)}


def normal_spec(std, n):
    """What an N(0, std**2) draw of n numbers must show: the std within 5 standard errors (relative
    standard error sqrt(0.5 / n)), and a fraction 1.24% of |w| beyond 2.5 std (within 5 standard errors)."""
    return {"std": float(std), "std_rtol": float(5 * np.sqrt(0.5 / n)), "tail": _NORMAL_TAIL,
            "tail_tol": float(5 * np.sqrt(_NORMAL_TAIL * (1 - _NORMAL_TAIL) / n))}


def signature(w, spec):
    """The statistics the checks compare: mean, std, max |w| and the fraction beyond 2.5 expected stds."""
    w = np.asarray(w, dtype=np.float64)
    return {"mean": float(w.mean()), "std": float(w.std()), "max": float(np.abs(w).max()),
            "tail": float(np.mean(np.abs(w) > _TAIL_SIGMAS * spec["std"]))}


def _matches(sig, other, spec):
    if abs(sig["std"] / other["std"] - 1) > 2 * spec["std_rtol"]:
        return False
    if "bound" in spec and abs(sig["max"] / other["max"] - 1) > 0.02:
        return False
    if "tail" in spec and abs(sig["tail"] - other["tail"]) > 2 * spec["tail_tol"]:
        return False
    return True


def _draw(fn, name, case, fan_in, fan_out, rng):
    header = f"{name}, case '{case}'"
    try:
        w = call_learner(fn, name, case, {"fan_in": fan_in, "fan_out": fan_out, "rng": rng})
    except CheckFailure:
        raise
    except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
        raise CheckFailure(f"{header}: raised {type(err).__name__}: {err}") from None
    if not isinstance(w, np.ndarray):
        raise CheckFailure(f"{header}: expected a NumPy array, got {describe(w)}")
    if w.shape != (fan_in, fan_out):
        raise CheckFailure(f"{header}: the kernel has shape {w.shape}, expected (fan_in, fan_out) = {(fan_in, fan_out)} "
                           "(Keras's layout: out = x @ W)")
    if not np.issubdtype(w.dtype, np.floating) or not np.all(np.isfinite(w)):
        raise CheckFailure(f"{header}: expected finite floats, got dtype {w.dtype}")
    return w


def check_initializer(fn, name, fan_in, fan_out, spec, mistakes, seed, label=""):
    """Property checks of an initializer on a (fan_in, fan_out) draw; returns the number of checks run.

    spec: from :func:`uniform_spec` or :func:`normal_spec`; mistakes: description -> signature of
    that mistake's draws (used to name the mistake a failing draw matches).
    """
    count = 0
    for small_in, small_out in [(1, 1), (3, 7)]:
        _draw(fn, name, f"{label}shape ({small_in}, {small_out})", small_in, small_out, np.random.default_rng(seed))
        count += 1

    case = f"{label}{fan_in} x {fan_out} draws"
    w = _draw(fn, name, case, fan_in, fan_out, np.random.default_rng(seed))
    sig = signature(w, spec)
    problems = []
    mean_tol = 5 * spec["std"] / np.sqrt(w.size)
    if abs(sig["mean"]) > mean_tol:
        problems.append(f"mean {sig['mean']:.4g}, expected 0 (within {mean_tol:.2g})")
    if abs(sig["std"] / spec["std"] - 1) > spec["std_rtol"]:
        problems.append(f"standard deviation {sig['std']:.6g}, expected {spec['std']:.6g} "
                        f"(within {100 * spec['std_rtol']:.2g}%)")
    if "bound" in spec:
        if sig["max"] > spec["bound"] * (1 + 1e-9):
            problems.append(f"max |w| = {sig['max']:.6g} exceeds the limit {spec['bound']:.6g}")
        elif sig["max"] < 0.99 * spec["bound"]:
            problems.append(f"max |w| = {sig['max']:.6g}, but a uniform draw this large fills its range up to the "
                            f"limit {spec['bound']:.6g}")
    if "tail" in spec and abs(sig["tail"] - spec["tail"]) > spec["tail_tol"]:
        problems.append(f"{100 * sig['tail']:.3g}% of |w| lie beyond 2.5 expected standard deviations, expected "
                        f"{100 * spec['tail']:.3g}% for a normal distribution (within {100 * spec['tail_tol']:.2g}%)")
    if problems:
        lines = [f"{name}, case '{case}': the weights do not have the right distribution:"]
        lines += [f"  - {p}" for p in problems]
        match = next((desc for desc, other in mistakes.items() if _matches(sig, other, spec)), None)
        if match:
            lines.append(f"  Your output matches {match}.")
        raise CheckFailure("\n".join(lines))
    count += 1

    small = (20, 30)
    case = f"{label}reproducible: two calls with np.random.default_rng({seed})"
    a = _draw(fn, name, case, *small, np.random.default_rng(seed))
    b = _draw(fn, name, case, *small, np.random.default_rng(seed))
    if not np.array_equal(a, b):
        raise CheckFailure(f"{name}, case '{case}': the same seed gave different weights. Draw every random number "
                           "from the `rng` argument (rng.uniform, rng.normal), not from np.random.")
    c = _draw(fn, name, case, *small, np.random.default_rng(seed + 1))
    if np.array_equal(a, c):
        raise CheckFailure(f"{name}, case '{case}': seeds {seed} and {seed + 1} gave the same weights; "
                           "draw them from the `rng` argument.")
    shared = np.random.default_rng(seed)
    d1 = _draw(fn, name, case, *small, shared)
    d2 = _draw(fn, name, case, *small, shared)
    if np.array_equal(d1, d2):
        raise CheckFailure(f"{name}, case 'two calls with the same generator': both gave the same weights. Use the "
                           "generator you are given (it advances with every draw); do not make a new one inside.")
    count += 3
    for bad_in, bad_out in [(0, 3), (3, -2), (2.5, 3)]:
        run_case(fn, name, f"{label}fan_in={bad_in}, fan_out={bad_out}",
                 {"fan_in": bad_in, "fan_out": bad_out, "rng": np.random.default_rng(0)}, raises=ValueError)
        count += 1
    return count


# Visible draws (400 x 600 numbers) and the signatures of the catalogued mistakes on such a draw: stored.


def _initializer_property(name):
    def check(fn):
        case = stored_numbers()["initializers"][name]
        return check_initializer(fn, name, case["fan_in"], case["fan_out"], case["spec"], case["mistakes"],
                                 seed=seed_of(f"visible:{name}"))
    return check


# ----------------------------------------------------------------------------- registry

PROPERTY_CHECKS = {
    "sigmoid": lambda fn: check_no_float_warnings(fn, "sigmoid", _HUGE_Z),
    "dense_forward": check_dense_forward,
    "glorot_uniform": _initializer_property("glorot_uniform"),
    "he_normal": _initializer_property("he_normal"),
}

FORWARD_INPUTS = {
    # suggested cache layout of dense_forward: (x, W); b does not enter the backward pass
    "dense_backward": lambda cache: {"x": cache[0], "W": cache[1], "b": np.zeros(np.shape(cache[1])[1])},
}
