"""Visible and hidden check cases for chapter 07 (batch norm, layer norm, dropout).

How each graded function is checked:

- ``batchnorm_forward`` and ``layernorm_forward`` return ``(out, cache)`` whose cache layout
  is the learner's choice, so what is compared is ``out`` and, for batch norm, the running
  statistics left in ``bn_param`` (which the function updates in place: ``mutable``).
  Visible: property checks with stored numbers and ValueError cases; hidden:
  ``HIDDEN_CUSTOM`` against the reference, in train and test mode, from default and given
  running statistics, 2-D and 3-D inputs, tiny and huge scales.
- ``batchnorm_backward`` and ``layernorm_backward`` are checked with the caches of the
  learner's own forward passes (see :mod:`autograder.hidden_backward`);
  ``BACKWARD_CASES`` lists the forward inputs of their hidden cases. The visible layer-norm cases use the default eps, so that
  the forward inputs can be read back from a cache (``FORWARD_INPUTS``).
- ``dropout_forward`` draws a random mask: property checks only (fraction dropped, scaling,
  independence, determinism for a seed), never one exact stream.
- ``dropout_backward``: same output as the reference, on masks in the documented format.
"""

import copy

import numpy as np

from autograder.chapters import reference_and_mistakes
from autograder.chapters.ch07_batchnorm_dropout import reference as ref
from autograder.checking import Case, _quiet_call, computed_once, data_key, evaluate
from dlcourse.checks.properties import batchnorm_dropout as props
from dlcourse.checks.runner import run_case

CHAPTER = "07_batchnorm_dropout"

_A = np.array

_X = _A([[0.0, 1.0, -1.0], [0.0, 2.0, 1.0], [4.0, 3.0, -1.0], [4.0, 6.0, 1.0]])
_GAMMA, _BETA = _A([1.0, 2.0, 0.5]), _A([0.0, -1.0, 0.5])
_DOUT = _A([[1.0, -0.5, 0.0], [0.5, 1.0, -1.0], [-1.0, 0.0, 2.0], [0.25, -0.25, 1.0]])
_XL = _A([[1.0, 2.0, 3.0, 6.0], [-1.0, 0.0, 0.0, 1.0]])
_GL = _A([1.0, 0.5, 2.0, -1.0])
_DOUT_L = _A([[1.0, -1.0, 0.5, 0.0], [0.0, 2.0, -1.0, 1.0]])


def _bn_cache(x, gamma, bn_param):
    return _quiet_call(ref.batchnorm_forward, {"x": x, "gamma": gamma, "beta": np.zeros_like(gamma),
                                               "bn_param": bn_param})[1]


def _ln_cache(x, gamma):
    return _quiet_call(ref.layernorm_forward, {"x": x, "gamma": gamma, "beta": np.zeros_like(gamma)})[1]


_MASK = np.where(_A([[1, 0, 1], [1, 1, 0], [0, 1, 1], [1, 1, 1]]) == 1, 1 / 0.75, 0.0)

VISIBLE = {
    "batchnorm_backward": [
        Case("train mode, x (4, 3)", {"dout": _DOUT, "cache": _bn_cache(_X, _GAMMA, {"mode": "train"})}),
        Case("test mode: the running statistics are constants",
             {"dout": _DOUT, "cache": _bn_cache(_X, _GAMMA, {"mode": "test", "running_mean": _A([1.0, 2.0, 0.5]),
                                                             "running_var": _A([2.0, 3.0, 0.5])})}),
        Case("train mode, x (2, 2, 3): sums over the first two axes",
             {"dout": _DOUT.reshape(2, 2, 3), "cache": _bn_cache(_X.reshape(2, 2, 3), _GAMMA, {"mode": "train"})}),
    ],
    "layernorm_backward": [
        Case("two samples of 4 features", {"dout": _DOUT_L, "cache": _ln_cache(_XL, _GL)}),
        Case("x (2, 2, 4)", {"dout": np.concatenate([_DOUT_L, _DOUT_L[::-1]]).reshape(2, 2, 4),
                             "cache": _ln_cache(np.concatenate([_XL, 2 * _XL[::-1]]).reshape(2, 2, 4), _GL)}),
    ],
    "dropout_backward": [
        Case("a mask of rate 0.25: entries 0 and 1/(1 - 0.25)", {"dout": _DOUT, "mask": _MASK}),
        Case("mask None (not training): the gradient passes unchanged", {"dout": _DOUT, "mask": None}),
    ],
}


# --------------------------------------------------------------------------- hidden cases

def _bn_forward_inputs(rng):
    cases = []
    for shape in [(8, 5), (2, 3), (32, 10), (4, 3, 6), (64, 1)]:
        d = shape[-1]
        for scale, shift in [(1e-3, 0.0), (1.0, 0.0), (1e3, 100.0)]:
            x = shift + scale * rng.normal(loc=rng.normal(size=d), scale=rng.uniform(0.5, 2.0, size=d), size=shape)
            gamma, beta = rng.uniform(0.5, 2.0, size=d), rng.normal(size=d)
            stats = {"running_mean": rng.normal(size=d), "running_var": rng.uniform(0.5, 2.0, size=d)}
            label = f"x {shape}, scale {scale:g}"
            cases.append((f"{label}, train, default running statistics",
                          {"x": x, "gamma": gamma, "beta": beta, "bn_param": {"mode": "train"}}))
            cases.append((f"{label}, train from given statistics, momentum 0.9, eps 1e-5",
                          {"x": x, "gamma": gamma, "beta": beta,
                           "bn_param": {"mode": "train", "momentum": 0.9, "eps": 1e-5, **stats}}))
            cases.append((f"{label}, test mode",
                          {"x": x, "gamma": gamma, "beta": beta, "bn_param": {"mode": "test", **copy.deepcopy(stats)}}))
    return cases


def _ln_forward_inputs(rng, eps_values=(1e-3, 1e-5, 0.1)):
    cases = []
    for shape in [(4, 6), (1, 3), (16, 32), (3, 2, 5), (5, 2)]:
        d = shape[-1]
        for scale, shift in [(1e-3, 0.0), (1.0, 0.0), (1e3, 100.0)]:
            x = shift + scale * rng.normal(size=shape) * rng.uniform(0.5, 2.0, size=shape[:-1] + (1,))
            eps = eps_values[len(cases) % len(eps_values)]
            cases.append((f"x {shape}, scale {scale:g}, eps {eps:g}",
                          {"x": x, "gamma": rng.uniform(0.5, 2.0, size=d), "beta": rng.normal(size=d), "eps": eps}))
    return cases


def _bn_backward_cases(rng):
    return [(name, inputs, rng.normal(size=inputs["x"].shape)) for name, inputs in _bn_forward_inputs(rng)]


def _ln_backward_cases(rng):
    return [(name, inputs, rng.normal(size=inputs["x"].shape)) for name, inputs in _ln_forward_inputs(rng)]


def _dropout_backward_cases(rng):
    cases = []
    for shape in [(6,), (4, 5), (2, 3, 4), (64, 32)]:
        for rate in (0.0, 0.1, 0.35, 0.8):
            mask = np.where(rng.random(shape) >= rate, 1.0 / (1.0 - rate), 0.0)
            cases.append(Case(f"shape {shape}, rate {rate}", {"dout": rng.normal(size=shape), "mask": mask}))
        cases.append(Case(f"shape {shape}, mask None", {"dout": rng.normal(size=shape), "mask": None}))
    return cases


BACKWARD_CASES = {
    "batchnorm_backward": ("batchnorm_forward", _bn_backward_cases),
    "layernorm_backward": ("layernorm_forward", _ln_backward_cases),
}

HIDDEN = {
    "dropout_backward": _dropout_backward_cases,
}


# --------------------------------------------------------------------------- custom hidden checks

def _compare_observed(fn, name, observe, inputs_list, bad_inputs, mutable=()):
    """Compare what ``observe(fn)`` returns with the reference's, naming matching mistakes."""
    reference, mistakes = reference_and_mistakes(name)
    key = (CHAPTER, name, "observed", observe, reference, tuple(mistakes.items()), data_key(inputs_list))
    expectations = computed_once(key, lambda: [_observed_expectation(observe, reference, mistakes, inputs)
                                               for _, inputs in inputs_list])
    for (case_name, inputs), stored in zip(inputs_list, expectations):
        run_case(observe(fn), name, f"hidden: {case_name}", inputs, stored["expected"], stored["mistakes"],
                 mutable=mutable)
    for case_name, inputs in bad_inputs:
        run_case(fn, name, f"hidden: {case_name}", inputs, raises=ValueError, mutable=mutable)


def _hidden_batchnorm_forward(fn):
    rng = np.random.default_rng(props.seed_of("hidden:batchnorm_forward"))
    x = rng.normal(size=(4, 3))
    bad = [("mode missing", {"x": x, "gamma": np.ones(3), "beta": np.zeros(3), "bn_param": {}}),
           ("mode 'eval'", {"x": x, "gamma": np.ones(3), "beta": np.zeros(3), "bn_param": {"mode": "eval"}}),
           ("beta of the wrong length", {"x": x, "gamma": np.ones(3), "beta": np.zeros(4),
                                         "bn_param": {"mode": "train"}}),
           ("x without a batch axis", {"x": x[0], "gamma": np.ones(3), "beta": np.zeros(3),
                                       "bn_param": {"mode": "train"}})]
    _compare_observed(fn, "batchnorm_forward", props.bn_observed, _bn_forward_inputs(rng), bad, mutable=("bn_param",))


def _hidden_layernorm_forward(fn):
    rng = np.random.default_rng(props.seed_of("hidden:layernorm_forward"))
    x = rng.normal(size=(4, 3))
    bad = [("gamma of the wrong length", {"x": x, "gamma": np.ones(4), "beta": np.zeros(3)}),
           ("eps negative", {"x": x, "gamma": np.ones(3), "beta": np.zeros(3), "eps": -1e-3})]
    _compare_observed(fn, "layernorm_forward", props.ln_observed, _ln_forward_inputs(rng), bad)


def _hidden_dropout_forward(fn):
    seed = props.seed_of("hidden:dropout_forward")
    # (200, 100) is the smallest draw the per-row independence check runs on; every array of these draws
    # travels to the grading process and back, so larger ones cost grading time without more power.
    props.check_dropout_forward(fn, shape=(200, 100), rates=(0.1, 0.35, 0.8), seed=seed, label="hidden: ")
    props.check_dropout_forward(fn, shape=(20, 10, 25), rates=(0.25, 0.6), seed=seed + 1, label="hidden: 3-D, ")
    rng = np.random.default_rng(seed + 2)
    for shape, rate in [((1,), 0.3), ((5,), 0.9), ((2, 1), 0.05)]:
        x = rng.uniform(0.5, 1.5, size=shape)
        props.check_dropout_structure(fn, x, rate, np.random.default_rng(seed), f"hidden: shape {shape}, rate {rate}")


def _hidden_dropout_backward(fn):
    props.check_dropout_backward_copy(fn, seed=props.seed_of("hidden:dropout_backward"), label="hidden: ")


HIDDEN_CUSTOM = {
    "dropout_backward": _hidden_dropout_backward,
    "batchnorm_forward": _hidden_batchnorm_forward,
    "layernorm_forward": _hidden_layernorm_forward,
    "dropout_forward": _hidden_dropout_forward,
}


# --------------------------------------------------------------------------- stored numbers

def _observed_expectation(observe, reference, mistakes, inputs):
    """{"expected": what observe(reference) gives on inputs, "mistakes": the differing outputs of the mistakes}."""
    result = evaluate(Case("", inputs), observe(reference), {desc: observe(m) for desc, m in mistakes.items()})
    return {"expected": result["expected"], "mistakes": result["mistakes"]}


def stored_numbers():
    """The visible forward checks' expected outputs and the mistakes', written by build_checks."""
    out = {}
    for name, observe, inputs_list in (("batchnorm_forward", props.bn_observed, props.BATCHNORM_FORWARD_INPUTS),
                                       ("layernorm_forward", props.ln_observed, props.LAYERNORM_FORWARD_INPUTS)):
        reference, mistakes = reference_and_mistakes(name)
        out[name] = [_observed_expectation(observe, reference, mistakes, inputs) for _, inputs in inputs_list]
    return out
