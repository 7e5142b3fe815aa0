"""Property checks for chapter 07 (batch norm, layer norm, dropout).

- ``batchnorm_forward`` and ``layernorm_forward`` return ``(out, cache)``; the cache's layout is
  the learner's choice, so what is compared is ``out`` and, for batch norm, the running
  statistics left in ``bn_param`` (stored numbers, with the outputs of the known mistakes).
- ``dropout_forward`` draws a random mask, so it is checked by what every correct inverted
  dropout satisfies on a large draw: the identity when not training, survivors scaled by
  1 / (1 - rate) and the rest exactly 0, a dropped fraction within 5 standard errors of
  ``rate``, units dropped independently, the same mask for the same seed. Never one exact stream.
- results documented as a copy (dropout's ``out`` when not training, ``dx`` when the mask is None)
  must share no memory with the input they copy.
- ``FORWARD_INPUTS`` tells :func:`dlcourse.checks.backward.check_backward` how to read the
  inputs of the forward passes back from caches in the suggested layouts.

Expected numbers are stored (computed from the course's reference by
``python -m autograder.build_checks``); nothing here computes a graded function's answer.
"""

import copy
import zlib

import numpy as np

from dlcourse.checks.compare import agree, describe
from dlcourse.checks.properties import stored
from dlcourse.checks.runner import CheckFailure, call_learner, run_case

_A = np.array


def seed_of(text):
    """A stable seed derived from a text."""
    return zlib.crc32(text.encode())


def _pair(result, name):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFailure(f"{name} must return a pair (out, cache), got {describe(result)}")
    return result


# ----------------------------------------------------------------------------- normalization forwards

def bn_observed(fn):
    """``batchnorm_forward`` seen from outside: its ``out`` and the running statistics it leaves in bn_param."""
    def observed(x, gamma, beta, bn_param):
        out, _ = _pair(fn(x=x, gamma=gamma, beta=beta, bn_param=bn_param), "batchnorm_forward")
        for key in ("running_mean", "running_var"):
            if key not in bn_param:
                raise CheckFailure(f"batchnorm_forward left no {key!r} in bn_param: store the updated running "
                                   f"statistics in bn_param[{key!r}] (the dict is updated in place)")
        return {"out": out, "running_mean": bn_param["running_mean"], "running_var": bn_param["running_var"]}

    observed.__name__ = "batchnorm_forward"
    return observed


def ln_observed(fn):
    """``layernorm_forward`` seen from outside: its ``out``."""
    def observed(**inputs):
        return _pair(fn(**inputs), "layernorm_forward")[0]

    observed.__name__ = "layernorm_forward"
    return observed


_X = _A([[0.0, 1.0, -1.0], [0.0, 2.0, 1.0], [4.0, 3.0, -1.0], [4.0, 6.0, 1.0]])
_GAMMA, _BETA = _A([1.0, 2.0, 0.5]), _A([0.0, -1.0, 0.5])

BATCHNORM_FORWARD_INPUTS = [
    ("train mode, running statistics absent (zeros and ones), momentum 0.99, eps 1e-3",
     {"x": _X, "gamma": _GAMMA, "beta": _BETA, "bn_param": {"mode": "train"}}),
    ("train mode from given running statistics, momentum 0.9, eps 1e-5",
     {"x": _X, "gamma": _GAMMA, "beta": _BETA,
      "bn_param": {"mode": "train", "momentum": 0.9, "eps": 1e-5, "running_mean": _A([1.0, 2.0, 0.0]),
                   "running_var": _A([2.0, 1.0, 0.5])}}),
    ("test mode: normalize with the running statistics, leave them unchanged",
     {"x": _X, "gamma": _GAMMA, "beta": _BETA,
      "bn_param": {"mode": "test", "running_mean": _A([1.0, 2.0, 0.5]), "running_var": _A([2.0, 3.0, 0.5])}}),
    ("x of shape (2, 2, 3): statistics over the first two axes",
     {"x": _X.reshape(2, 2, 3), "gamma": _GAMMA, "beta": _BETA, "bn_param": {"mode": "train"}}),
]

_XL = _A([[1.0, 2.0, 3.0, 6.0], [-1.0, 0.0, 0.0, 1.0]])
_GL, _BL = _A([1.0, 0.5, 2.0, -1.0]), _A([0.0, 0.1, 0.0, -0.1])

LAYERNORM_FORWARD_INPUTS = [
    ("two samples of 4 features, each normalized over its own features",
     {"x": _XL, "gamma": _GL, "beta": _BL}),
    ("eps = 1e-5", {"x": _XL, "gamma": _GL, "beta": _BL, "eps": 1e-5}),
    ("x of shape (2, 2, 4): each of the 4 vectors normalized over the last axis",
     {"x": _A([[[1.0, 2.0, 3.0, 6.0], [0.0, 0.0, 1.0, 3.0]], [[-1.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 6.0]]]),
      "gamma": _GL, "beta": _BL}),
]

# Expected outputs of the inputs above (and those of the catalogued mistakes that differ): computed
# from the reference by `python -m autograder.build_checks`, one {"expected", "mistakes"} per input.
CHAPTER = "07_batchnorm_dropout"


def stored_expectations(name):
    """The stored {"expected": ..., "mistakes": {...}} of each of ``name``'s inputs, in order."""
    return stored(CHAPTER)[name]


def _check_stored(fn_observed, name, inputs_list, expected_list, mutable=()):
    for (case_name, inputs), stored in zip(inputs_list, expected_list):
        run_case(fn_observed, name, case_name, copy.deepcopy(inputs), stored["expected"], stored["mistakes"],
                 mutable=mutable)
    return len(inputs_list)


BATCHNORM_FORWARD_BAD = [
    ("bn_param['mode'] = 'training' (must be 'train' or 'test')",
     {"x": _X, "gamma": _GAMMA, "beta": _BETA, "bn_param": {"mode": "training"}}),
    ("gamma of the wrong length", {"x": _X, "gamma": _A([1.0, 1.0]), "beta": _BETA, "bn_param": {"mode": "train"}}),
]

LAYERNORM_FORWARD_BAD = [
    ("gamma of the wrong length", {"x": _XL, "gamma": _A([1.0, 1.0, 1.0]), "beta": np.zeros(4)}),
    ("eps = 0", {"x": _XL, "gamma": _GL, "beta": np.zeros(4), "eps": 0.0}),
]


def _check_bad(fn, name, bad_inputs, mutable=()):
    for case_name, inputs in bad_inputs:
        run_case(fn, name, case_name, copy.deepcopy(inputs), raises=ValueError, mutable=mutable)
    return len(bad_inputs)


def check_batchnorm_forward(fn):
    count = _check_stored(bn_observed(fn), "batchnorm_forward", BATCHNORM_FORWARD_INPUTS,
                          stored_expectations("batchnorm_forward"), mutable=("bn_param",))
    return count + _check_bad(fn, "batchnorm_forward", BATCHNORM_FORWARD_BAD, mutable=("bn_param",))


def check_layernorm_forward(fn):
    count = _check_stored(ln_observed(fn), "layernorm_forward", LAYERNORM_FORWARD_INPUTS,
                          stored_expectations("layernorm_forward"))
    return count + _check_bad(fn, "layernorm_forward", LAYERNORM_FORWARD_BAD)


# ----------------------------------------------------------------------------- dropout_forward

NAME = "dropout_forward"
# The names of the dropout mistakes these checks recognize (the catalogue,
# autograder's chapter-07 mistakes, takes them from here).
MISTAKE_NO_SCALE = "dropout without the 1/(1-rate) scaling"
MISTAKE_KEEP = "rate used as keep probability"
MISTAKE_MULTIPLY = "survivors multiplied by (1 - rate) instead of divided by it"
MISTAKE_AT_INFERENCE = "dropout applied even when training is False"
MISTAKE_NO_COPY = "x itself returned when training is False, not a copy (writing to out changes x)"
MISTAKE_BACKWARD_NO_COPY = "dout itself returned when mask is None, not a copy (writing to dx changes dout)"


def _dropout(fn, case, x, rate, training, rng):
    """(out, mask) of the learner's dropout_forward, with the structure checked; x is left unchanged."""
    before = x.copy()
    header = f"{NAME}, case '{case}'"
    try:
        result = call_learner(fn, NAME, case, {"x": x, "rate": rate, "training": training, "rng": rng})
    except CheckFailure:
        raise
    except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
        raise CheckFailure(f"{header}: raised {type(err).__name__}: {err}") from None
    out, mask = _pair(result, NAME)
    if not np.array_equal(x, before):
        raise CheckFailure(f"{header}: the function modified its input `x` in place; work on a copy instead.")
    if not isinstance(out, np.ndarray) or out.shape != x.shape:
        raise CheckFailure(f"{header}: out must be an array shaped like x {x.shape}, got {describe(out)}")
    return out, mask


def _mistake(text):
    return f"\n  Your output matches {text}."


def check_dropout_structure(fn, x, rate, rng, case):
    """One training-mode call: mask shaped like x, entries 0 or 1/(1-rate), out = x * mask. Returns (out, mask)."""
    header = f"{NAME}, case '{case}'"
    out, mask = _dropout(fn, case, x, rate, True, rng)
    if not isinstance(mask, np.ndarray) or mask.shape != x.shape:
        raise CheckFailure(f"{header}: in training the mask must be an array shaped like x {x.shape} "
                           f"(0 for dropped units, 1/(1-rate) for kept ones), got {describe(mask)}")
    scale = 1.0 / (1.0 - rate)
    kept = mask != 0
    if not agree(mask[kept], np.full(int(kept.sum()), scale)):
        survivors = np.median(mask[kept]) if kept.any() else float("nan")
        hint = ""
        if np.isclose(survivors, 1.0):
            hint = _mistake(MISTAKE_NO_SCALE)
        elif np.isclose(survivors, 1.0 - rate):
            hint = _mistake(MISTAKE_MULTIPLY)
        elif rate > 0 and np.isclose(survivors, 1.0 / rate):
            hint = _mistake(MISTAKE_KEEP)
        raise CheckFailure(f"{header}: kept units must be scaled by 1/(1-rate) = {scale:.6g} (inverted dropout), but "
                           f"the mask's non-zero entries are e.g. {describe(np.unique(mask[kept])[:4])}{hint}")
    if not agree(out, x * mask):
        raise CheckFailure(f"{header}: out must equal x * mask (dropped units exactly 0, kept ones x / (1-rate))")
    return out, mask


def check_dropout_forward(fn, shape=(400, 500), rates=(0.2, 0.7), seed=1, label=""):
    """Property checks of inverted dropout; returns the number of checks run."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, size=shape)  # no zeros: a dropped unit is exactly where out == 0
    count = 0

    case = f"{label}training=False is the identity"
    out, mask = _dropout(fn, case, x, 0.3, False, np.random.default_rng(seed))
    if not agree(out, x) or mask is not None:
        hint = _mistake(MISTAKE_AT_INFERENCE) if not agree(out, x) else ""
        raise CheckFailure(f"{NAME}, case '{case}': with training=False, out must equal x and the mask must be None "
                           f"(inverted dropout needs no change at inference), got out={describe(out)}, "
                           f"mask={describe(mask)}{hint}")
    returns_a_copy(fn, NAME, f"{label}training False: out is a copy of x",
                   {"x": x[:3, :4] if x.ndim > 1 else x[:4], "rate": 0.5, "training": False,
                    "rng": np.random.default_rng(seed)}, "x", "0", MISTAKE_NO_COPY)
    count += 2

    for rate in rates:
        case = f"{label}rate = {rate}, {x.size} units"
        out, mask = check_dropout_structure(fn, x, rate, np.random.default_rng(seed + 1), case)
        dropped = float(np.mean(mask == 0))
        tol = 5 * np.sqrt(rate * (1 - rate) / x.size)
        if abs(dropped - rate) > tol:
            hint = _mistake(MISTAKE_KEEP) if abs(dropped - (1 - rate)) <= tol else ""
            raise CheckFailure(f"{NAME}, case '{case}': {100 * dropped:.2f}% of the units were dropped, expected "
                               f"rate = {100 * rate:.0f}% (within {100 * tol:.2f}%). In Keras, `rate` is the "
                               f"probability of DROPPING a unit.{hint}")
        if x.ndim == 2 and x.shape[0] >= 200 and x.shape[1] >= 100:
            per_row = np.mean(mask == 0, axis=1)
            expected_sd = np.sqrt(rate * (1 - rate) / x.shape[1])
            if not 0.75 * expected_sd <= per_row.std() <= 1.25 * expected_sd:
                raise CheckFailure(f"{NAME}, case '{case}': the fraction dropped per row varies with std "
                                   f"{per_row.std():.4f}, expected about {expected_sd:.4f} for units dropped "
                                   "independently of each other: draw one random number per unit (a mask shaped "
                                   "like x), not one per row or per column.")
        count += 1

    case = f"{label}rate = 0 keeps everything"
    out, mask = check_dropout_structure(fn, x, 0.0, np.random.default_rng(seed), case)
    if not agree(out, x):
        raise CheckFailure(f"{NAME}, case '{case}': rate 0 must drop nothing, but out differs from x")
    count += 1

    case = f"{label}reproducible: the same seed, the same mask"
    small = x[:20] if x.ndim > 1 else x
    _, a = check_dropout_structure(fn, small, 0.4, np.random.default_rng(seed), case)
    _, b = check_dropout_structure(fn, small, 0.4, np.random.default_rng(seed), case)
    _, c = check_dropout_structure(fn, small, 0.4, np.random.default_rng(seed + 7), case)
    if not np.array_equal(a, b):
        raise CheckFailure(f"{NAME}, case '{case}': the same seed gave different masks. Draw the mask from the "
                           "`rng` argument (e.g. rng.random(x.shape)), not from np.random.")
    if np.array_equal(a, c):
        raise CheckFailure(f"{NAME}, case '{case}': two different seeds gave the same mask; draw it from `rng`.")
    shared = np.random.default_rng(seed)
    _, d1 = check_dropout_structure(fn, small, 0.4, shared, case)
    _, d2 = check_dropout_structure(fn, small, 0.4, shared, case)
    if np.array_equal(d1, d2):
        raise CheckFailure(f"{NAME}, case 'two calls with the same generator': both gave the same mask. Use the "
                           "generator you are given (it advances with every draw); do not make a new one inside.")
    count += 1
    for bad in (1.0, -0.1, 1.5):
        run_case(fn, NAME, f"{label}rate = {bad}", {"x": x[:2, :3] if x.ndim > 1 else x[:3], "rate": bad,
                                                   "training": True, "rng": np.random.default_rng(0)},
                 raises=ValueError)
        count += 1
    return count


# ----------------------------------------------------------------------------- copies

def returns_a_copy(fn, name, case, inputs, argument, item, mistake):
    """``fn(**inputs)`` (whose result, or its ``item``-th element, is documented as a copy of input ``argument``)
    must not share memory with that input; the failure names ``mistake``.

    Through the hidden-test protocol the interpreter reports which returned arrays may share memory
    with which arguments (``fn.last_call_shares``); a function called directly is looked at here.
    """
    given = copy.deepcopy(inputs)
    try:
        got = call_learner(fn, name, case, given)
    except CheckFailure:
        raise
    except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
        raise CheckFailure(f"{name}, case '{case}': raised {type(err).__name__}: {err}") from None
    shares = getattr(fn, "last_call_shares", None)
    if shares is None:
        part = got if item == "" else _pair(got, name)[int(item)]
        shares = [[item, argument]] if np.may_share_memory(part, given[argument]) else []
    if [item, argument] in [list(s) for s in shares]:
        what = "result" if item == "" else f"output {item}"
        raise CheckFailure(f"{name}, case '{case}': the returned {what} shares memory with the input "
                           f"`{argument}` (documented as a copy): writing to one changes the other; return "
                           f"{argument}.copy(). Your output matches {mistake}.")


def check_dropout_backward_copy(fn, seed=0, label=""):
    """With mask None, dropout_backward's dx is a copy of dout (the stored cases check its values)."""
    dout = np.random.default_rng(seed).normal(size=(3, 4))
    returns_a_copy(fn, "dropout_backward", f"{label}mask None: dx is a copy of dout", {"dout": dout, "mask": None},
                   "dout", "", MISTAKE_BACKWARD_NO_COPY)
    return 1


# ----------------------------------------------------------------------------- registry

PROPERTY_CHECKS = {
    "batchnorm_forward": check_batchnorm_forward,
    "layernorm_forward": check_layernorm_forward,
    "dropout_forward": check_dropout_forward,
    "dropout_backward": check_dropout_backward_copy,
}


def _bn_inputs(cache):
    bn_param = {"mode": cache["mode"], "eps": cache["eps"]}
    if cache["mode"] == "test":  # the cache's mu and var are then the running statistics
        bn_param.update(running_mean=cache["mu"], running_var=cache["var"])
    return {"x": cache["x"], "gamma": cache["gamma"], "beta": np.zeros_like(cache["gamma"]), "bn_param": bn_param}


FORWARD_INPUTS = {
    # suggested layouts: the dicts described in the notebook; beta does not enter the backward pass,
    # and the visible layer-norm cases use the default eps
    "batchnorm_backward": _bn_inputs,
    "layernorm_backward": lambda cache: {"x": cache["x"], "gamma": cache["gamma"],
                                         "beta": np.zeros_like(cache["gamma"])},
}
