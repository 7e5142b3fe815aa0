"""Property checks for chapter 07 (batch norm, layer norm, dropout).

- ``batchnorm_forward`` and ``layernorm_forward`` return ``(out, cache)``; the cache's layout is
  the learner's choice, so what is compared is ``out`` and, for batch norm, the running
  statistics left in ``bn_param`` (stored numbers, with the outputs of the known mistakes).
- ``dropout_forward`` draws a random mask, so it is checked by what every correct inverted
  dropout satisfies on a large draw: the identity when not training, survivors scaled by
  1 / (1 - rate) and the rest exactly 0, a dropped fraction within 5 standard errors of
  ``rate``, units dropped independently, the same mask for the same seed. Never one exact stream.
- ``FORWARD_INPUTS`` tells :func:`dlcourse.checks.backward.check_backward` how to read the
  inputs of the forward passes back from caches in the suggested layouts.

Expected numbers are stored (computed once from the course's reference); nothing here
computes a graded function's answer.
"""

import copy
import zlib

import numpy as np

from dlcourse.checks.compare import agree, describe
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

# Expected outputs (and those of the catalogued mistakes that differ), computed from the reference.
BATCHNORM_FORWARD_EXPECTED = [
    {
        "expected": {
            'out': _A([[-0.999875023433, -3.13778455932, 0.000249812656113],
                [-0.999875023433, -2.06889227966, 0.999750187344],
                [0.999875023433, -1.0, 0.000249812656113],
                [0.999875023433, 2.20667683897, 0.999750187344]]),
            'running_mean': _A([0.02, 0.03, 0.0]),
            'running_var': _A([1.03, 1.025, 1.0]),
        },
        "mistakes": {
            'batch norm with the unbiased variance':
                {
                    'out': _A([[-0.865944225318, -2.8514418414, 0.0671495865894],
                        [-0.865944225318, -1.9257209207, 0.932850413411],
                        [0.865944225318, -1.0, 0.0671495865894],
                        [0.865944225318, 1.7771627621, 0.932850413411]]),
                    'running_mean': _A([0.02, 0.03, 0.0]),
                    'running_var': _A([1.04333333333, 1.03666666667, 1.00333333333]),
                },
            'epsilon outside the square root':
                {
                    'out': _A([[-0.999500249875, -3.13694768871, 0.0004995004995],
                        [-0.999500249875, -2.06847384436, 0.9995004995],
                        [0.999500249875, -1.0, 0.0004995004995],
                        [0.999500249875, 2.20542153307, 0.9995004995]]),
                    'running_mean': _A([0.02, 0.03, 0.0]),
                    'running_var': _A([1.03, 1.025, 1.0]),
                },
            'running statistics updated with momentum and 1-momentum swapped':
                {
                    'out': _A([[-0.999875023433, -3.13778455932, 0.000249812656113],
                        [-0.999875023433, -2.06889227966, 0.999750187344],
                        [0.999875023433, -1.0, 0.000249812656113],
                        [0.999875023433, 2.20667683897, 0.999750187344]]),
                    'running_mean': _A([1.98, 2.97, 0.0]),
                    'running_var': _A([3.97, 3.475, 1.0]),
                },
            'running statistics never updated in train mode':
                {
                    'out': _A([[-0.999875023433, -3.13778455932, 0.000249812656113],
                        [-0.999875023433, -2.06889227966, 0.999750187344],
                        [0.999875023433, -1.0, 0.000249812656113],
                        [0.999875023433, 2.20667683897, 0.999750187344]]),
                    'running_mean': _A([0.0, 0.0, 0.0]),
                    'running_var': _A([1.0, 1.0, 1.0]),
                },
            "a running variance updated with the unbiased batch variance (PyTorch's convention, not Keras's)":
                {
                    'out': _A([[-0.999875023433, -3.13778455932, 0.000249812656113],
                        [-0.999875023433, -2.06889227966, 0.999750187344],
                        [0.999875023433, -1.0, 0.000249812656113],
                        [0.999875023433, 2.20667683897, 0.999750187344]]),
                    'running_mean': _A([0.02, 0.03, 0.0]),
                    'running_var': _A([1.04333333333, 1.03666666667, 1.00333333333]),
                },
        },
    },
    {
        "expected": {
            'out': _A([[-0.999998750002, -3.13808688089, 2.49998125013e-06],
                [-0.999998750002, -2.06904344045, 0.999997500019],
                [0.999998750002, -1.0, 2.49998125013e-06],
                [0.999998750002, 2.20713032134, 0.999997500019]]),
            'running_mean': _A([1.1, 2.1, 0.0]),
            'running_var': _A([2.2, 1.25, 0.55]),
        },
        "mistakes": {
            'batch norm with the unbiased variance':
                {
                    'out': _A([[-0.866024591887, -2.85163821565, 0.0669889218963],
                        [-0.866024591887, -1.92581910782, 0.933011078104],
                        [0.866024591887, -1.0, 0.0669889218963],
                        [0.866024591887, 1.77745732347, 0.933011078104]]),
                    'running_mean': _A([1.1, 2.1, 0.0]),
                    'running_var': _A([2.33333333333, 1.36666666667, 0.583333333333]),
                },
            'epsilon outside the square root':
                {
                    'out': _A([[-0.999995000025, -3.13807850679, 4.99995000053e-06],
                        [-0.999995000025, -2.06903925339, 0.99999500005],
                        [0.999995000025, -1.0, 4.99995000053e-06],
                        [0.999995000025, 2.20711776018, 0.99999500005]]),
                    'running_mean': _A([1.1, 2.1, 0.0]),
                    'running_var': _A([2.2, 1.25, 0.55]),
                },
            'running statistics updated with momentum and 1-momentum swapped':
                {
                    'out': _A([[-0.999998750002, -3.13808688089, 2.49998125013e-06],
                        [-0.999998750002, -2.06904344045, 0.999997500019],
                        [0.999998750002, -1.0, 2.49998125013e-06],
                        [0.999998750002, 2.20713032134, 0.999997500019]]),
                    'running_mean': _A([1.9, 2.9, 0.0]),
                    'running_var': _A([3.8, 3.25, 0.95]),
                },
            'running statistics never updated in train mode':
                {
                    'out': _A([[-0.999998750002, -3.13808688089, 2.49998125013e-06],
                        [-0.999998750002, -2.06904344045, 0.999997500019],
                        [0.999998750002, -1.0, 2.49998125013e-06],
                        [0.999998750002, 2.20713032134, 0.999997500019]]),
                    'running_mean': _A([1.0, 2.0, 0.0]),
                    'running_var': _A([2.0, 1.0, 0.5]),
                },
            "a running variance updated with the unbiased batch variance (PyTorch's convention, not Keras's)":
                {
                    'out': _A([[-0.999998750002, -3.13808688089, 2.49998125013e-06],
                        [-0.999998750002, -2.06904344045, 0.999997500019],
                        [0.999998750002, -1.0, 2.49998125013e-06],
                        [0.999998750002, 2.20713032134, 0.999997500019]]),
                    'running_mean': _A([1.1, 2.1, 0.0]),
                    'running_var': _A([2.33333333333, 1.36666666667, 0.583333333333]),
                },
        },
    },
    {
        "expected": {
            'out': _A([[-0.706930070755, -2.15450813639, -0.559601099951],
                [-0.706930070755, -1.0, 0.85320036665],
                [2.12079021226, 0.154508136389, -0.559601099951],
                [2.12079021226, 3.61803254555, 0.85320036665]]),
            'running_mean': _A([1.0, 2.0, 0.5]),
            'running_var': _A([2.0, 3.0, 0.5]),
        },
        "mistakes": {
            'epsilon outside the square root':
                {
                    'out': _A([[-0.70660713449, -2.15403425639, -0.559162290104],
                        [-0.70660713449, -1.0, 0.853054096701],
                        [2.11982140347, 0.154034256391, -0.559162290104],
                        [2.11982140347, 3.61613702556, 0.853054096701]]),
                    'running_mean': _A([1.0, 2.0, 0.5]),
                    'running_var': _A([2.0, 3.0, 0.5]),
                },
            'test mode using batch statistics':
                {
                    'out': _A([[-0.999875023433, -3.13778455932, 0.000249812656113],
                        [-0.999875023433, -2.06889227966, 0.999750187344],
                        [0.999875023433, -1.0, 0.000249812656113],
                        [0.999875023433, 2.20667683897, 0.999750187344]]),
                    'running_mean': _A([1.0, 2.0, 0.5]),
                    'running_var': _A([2.0, 3.0, 0.5]),
                },
        },
    },
    {
        "expected": {
            'out': _A([[[-0.999875023433, -3.13778455932, 0.000249812656113],
                 [-0.999875023433, -2.06889227966, 0.999750187344]],
                [[0.999875023433, -1.0, 0.000249812656113],
                 [0.999875023433, 2.20667683897, 0.999750187344]]]),
            'running_mean': _A([0.02, 0.03, 0.0]),
            'running_var': _A([1.03, 1.025, 1.0]),
        },
        "mistakes": {
            'batch norm with the unbiased variance':
                {
                    'out': _A([[[-0.865944225318, -2.8514418414, 0.0671495865894],
                         [-0.865944225318, -1.9257209207, 0.932850413411]],
                        [[0.865944225318, -1.0, 0.0671495865894],
                         [0.865944225318, 1.7771627621, 0.932850413411]]]),
                    'running_mean': _A([0.02, 0.03, 0.0]),
                    'running_var': _A([1.04333333333, 1.03666666667, 1.00333333333]),
                },
            'epsilon outside the square root':
                {
                    'out': _A([[[-0.999500249875, -3.13694768871, 0.0004995004995],
                         [-0.999500249875, -2.06847384436, 0.9995004995]],
                        [[0.999500249875, -1.0, 0.0004995004995],
                         [0.999500249875, 2.20542153307, 0.9995004995]]]),
                    'running_mean': _A([0.02, 0.03, 0.0]),
                    'running_var': _A([1.03, 1.025, 1.0]),
                },
            'running statistics updated with momentum and 1-momentum swapped':
                {
                    'out': _A([[[-0.999875023433, -3.13778455932, 0.000249812656113],
                         [-0.999875023433, -2.06889227966, 0.999750187344]],
                        [[0.999875023433, -1.0, 0.000249812656113],
                         [0.999875023433, 2.20667683897, 0.999750187344]]]),
                    'running_mean': _A([1.98, 2.97, 0.0]),
                    'running_var': _A([3.97, 3.475, 1.0]),
                },
            'running statistics never updated in train mode':
                {
                    'out': _A([[[-0.999875023433, -3.13778455932, 0.000249812656113],
                         [-0.999875023433, -2.06889227966, 0.999750187344]],
                        [[0.999875023433, -1.0, 0.000249812656113],
                         [0.999875023433, 2.20667683897, 0.999750187344]]]),
                    'running_mean': _A([0.0, 0.0, 0.0]),
                    'running_var': _A([1.0, 1.0, 1.0]),
                },
            "a running variance updated with the unbiased batch variance (PyTorch's convention, not Keras's)":
                {
                    'out': _A([[[-0.999875023433, -3.13778455932, 0.000249812656113],
                         [-0.999875023433, -2.06889227966, 0.999750187344]],
                        [[0.999875023433, -1.0, 0.000249812656113],
                         [0.999875023433, 2.20667683897, 0.999750187344]]]),
                    'running_mean': _A([0.02, 0.03, 0.0]),
                    'running_var': _A([1.04333333333, 1.03666666667, 1.00333333333]),
                },
        },
    },
]
LAYERNORM_FORWARD_EXPECTED = [
    {
        "expected": _A([[-1.06889227966, -0.167223069915, 0.0, -1.70333841949],
            [-1.4128014666, 0.1, 0.0, -1.5128014666]]),
        "mistakes": {
            'layer norm over the batch axis':
                _A([[0.999500374688, 0.599750187344, 1.99955570365, -1.0999200096],
                    [-0.999500374688, -0.399750187344, -1.99955570365, 0.899920009599]]),
            'layer norm with the unbiased variance':
                _A([[-0.925720920701, -0.131430230175, 0.0, -1.48858138105],
                    [-1.22382734483, 0.1, 0.0, -1.32382734483]]),
            'epsilon outside the square root':
                _A([[-1.06847384436, -0.167118461089, 0.0, -1.70271076653],
                    [-1.41221638681, 0.1, 0.0, -1.51221638681]]),
        },
    },
    {
        "expected": _A([[-1.06904344045, -0.167260860111, 0.0, -1.70356516067],
            [-1.41419942045, 0.1, 0.0, -1.51419942045]]),
        "mistakes": {
            'layer norm over the batch axis':
                _A([[0.999995000037, 0.599997500019, 1.99999555557, -1.0999992],
                    [-0.999995000037, -0.399997500019, -1.99999555557, 0.899999200001]]),
            'layer norm with the unbiased variance':
                _A([[-0.925819107824, -0.131454776956, 0.0, -1.48872866174],
                    [-1.22473568591, 0.1, 0.0, -1.32473568591]]),
            'epsilon outside the square root':
                _A([[-1.06903925339, -0.167259813349, 0.0, -1.70355888009],
                    [-1.41419356266, 0.1, 0.0, -1.51419356266]]),
        },
    },
    {
        "expected": _A([[[-1.06889227966, -0.167223069915, 0.0, -1.70333841949],
             [-0.816224551408, -0.308112275704, 0.0, -1.73244910282]],
            [[-1.4128014666, 0.1, 0.0, -1.5128014666],
             [-0.577254068194, -0.188627034097, -1.15450813639, -1.83176220458]]]),
        "mistakes": {
            'layer norm over the batch axis':
                _A([[[0.999500374688, 0.599750187344, 1.99955570365, -1.0999200096],
                     [-0.999500374688, -0.399750187344, -1.99601196014, 0.899777851824]],
                    [[-0.999500374688, -0.399750187344, -1.99955570365, 0.899920009599],
                     [0.999500374688, 0.599750187344, 1.99601196014, -1.09977785182]]]),
            'layer norm with the unbiased variance':
                _A([[[-0.925720920701, -0.131430230175, 0.0, -1.48858138105],
                     [-0.706930070755, -0.253465035377, 0.0, -1.51386014151]],
                    [[-1.22382734483, 0.1, 0.0, -1.32382734483],
                     [-0.499937511716, -0.149968755858, -0.999875023433, -1.59981253515]]]),
            'epsilon outside the square root':
                _A([[[-1.06847384436, -0.167118461089, 0.0, -1.70271076653],
                     [-0.815830458148, -0.307915229074, 0.0, -1.7316609163]],
                    [[-1.41221638681, 0.1, 0.0, -1.51221638681],
                     [-0.577017128195, -0.188508564098, -1.15403425639, -1.83105138459]]]),
        },
    },
]


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
    count = _check_stored(bn_observed(fn), "batchnorm_forward", BATCHNORM_FORWARD_INPUTS, BATCHNORM_FORWARD_EXPECTED,
                          mutable=("bn_param",))
    return count + _check_bad(fn, "batchnorm_forward", BATCHNORM_FORWARD_BAD, mutable=("bn_param",))


def check_layernorm_forward(fn):
    count = _check_stored(ln_observed(fn), "layernorm_forward", LAYERNORM_FORWARD_INPUTS, LAYERNORM_FORWARD_EXPECTED)
    return count + _check_bad(fn, "layernorm_forward", LAYERNORM_FORWARD_BAD)


# ----------------------------------------------------------------------------- dropout_forward

NAME = "dropout_forward"
MISTAKE_NO_SCALE = "dropout without the 1/(1-rate) scaling"
MISTAKE_KEEP = "rate used as keep probability"
MISTAKE_MULTIPLY = "survivors multiplied by (1 - rate) instead of divided by it"
MISTAKE_AT_INFERENCE = "dropout applied even when training is False"


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
    count += 1

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


# ----------------------------------------------------------------------------- registry

PROPERTY_CHECKS = {
    "batchnorm_forward": check_batchnorm_forward,
    "layernorm_forward": check_layernorm_forward,
    "dropout_forward": check_dropout_forward,
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
