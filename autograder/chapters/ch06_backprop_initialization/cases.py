"""Visible and hidden check cases for chapter 06 (backpropagation and initialization).

How each graded function is checked:

- the activations, ``dense_backward`` and ``mlp_loss_and_grads``: same output as the
  reference on stored (visible) and randomized (hidden) inputs; ``relu_grad`` cases
  always contain exact zeros (the convention at 0 is part of the contract);
- ``sigmoid`` in addition must raise no floating-point warning for |z| ~ 1e3
  (``HIDDEN_CUSTOM``; a naive version returns the right numbers *with* an overflow warning);
- ``dense_forward`` returns ``(out, cache)`` whose cache layout is the learner's choice,
  so only ``out`` is compared (property checks with stored numbers, ``HIDDEN_CUSTOM``);
  its VISIBLE cases are the ValueError ones;
- ``dense_backward`` is checked with the cache of the learner's own ``dense_forward``
  (see :mod:`autograder.hidden_backward`); ``BACKWARD_CASES`` lists the
  forward inputs of its hidden cases;
- ``glorot_uniform`` and ``he_normal`` draw random numbers: checked by properties of
  large draws (shape, range, mean, std, tails at about 5 standard errors, determinism
  for a seed, use of the given generator), never by one exact stream.
"""

import numpy as np

from autograder.chapters import reference_and_mistakes
from autograder.chapters.ch06_backprop_initialization import reference as ref
from autograder.checking import Case, _quiet_call, evaluate, once_per_process
from dlcourse.checks.compare import agree
from dlcourse.checks.properties import backprop as props
from dlcourse.checks.runner import run_case

CHAPTER = "06_backprop_initialization"

_A = np.array

_Z = _A([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
_Z_2D = _A([[-2.0, 0.0, 1.5], [4.0, -0.25, 0.0]])
_Z_HUGE = _A([-1000.0, -745.0, -40.0, 40.0, 745.0, 1000.0])

# dense layer: x (3, 2) @ W (2, 4) + b (4,) -- d_in != d_out so a transposed dW has the wrong shape
_DX = _A([[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]])
_DW = _A([[0.5, -1.0, 2.0, 0.0], [1.5, 0.25, -0.5, 1.0]])
_DB = _A([0.1, -0.2, 0.3, 0.0])
_DOUT = _A([[1.0, 0.0, -1.0, 2.0], [0.5, -0.5, 0.0, 1.0], [-2.0, 1.0, 1.0, 0.0]])


def _mlp_params():
    return {"W1": _A([[0.2, -0.5, 0.1, 0.4], [-0.3, 0.8, -0.6, 0.2], [0.5, 0.1, 0.3, -0.7]]),
            "b1": _A([0.1, -0.1, 0.05, 0.0]),
            "W2": _A([[0.3, -0.2, 0.5], [-0.4, 0.6, 0.1], [0.2, 0.2, -0.3], [0.7, -0.5, 0.4]]),
            "b2": _A([0.0, 0.1, -0.1])}


_MLP_X = _A([[1.0, 0.5, -1.0], [-0.5, 1.5, 0.5], [2.0, -1.0, 0.0], [0.0, 0.3, 1.2]])
_MLP_Y = _A([0, 2, 1, 2])


def _suggested_dense_cache(x, W):
    return _quiet_call(ref.dense_forward, {"x": x, "W": W, "b": np.zeros(W.shape[1])})[1]


VISIBLE = {
    "sigmoid": [
        Case("a vector around 0", {"z": _Z}),
        Case("a (2, 3) batch", {"z": _Z_2D}),
        Case("|z| up to 1000 (sigmoid(-1000) = 0, sigmoid(1000) = 1, nothing overflows)", {"z": _Z_HUGE}),
    ],
    "sigmoid_grad": [
        Case("a vector around 0 (the slope is 1/4 at 0)", {"z": _Z}),
        Case("|z| up to 1000 (slopes underflow to 0, no NaN)", {"z": _Z_HUGE}),
    ],
    "tanh_grad": [
        Case("a vector around 0 (the slope is 1 at 0)", {"z": _Z}),
        Case("a (2, 3) batch", {"z": _Z_2D}),
        Case("|z| up to 1000", {"z": _Z_HUGE}),
    ],
    "relu": [
        Case("a vector around 0", {"z": _Z}),
        Case("a (2, 3) batch", {"z": _Z_2D}),
    ],
    "relu_grad": [
        Case("a vector around 0, with z = 0 exactly (the slope there is taken to be 0)", {"z": _Z}),
        Case("a (2, 3) batch with two exact zeros", {"z": _Z_2D}),
    ],
    "dense_forward": [
        Case("W in the (d_out, d_in) layout of PyTorch instead of Keras's (d_in, d_out)",
             {"x": _DX, "W": _DW.T, "b": _DB}, raises=ValueError),
        Case("b of the wrong length", {"x": _DX, "W": _DW, "b": _A([0.1, 0.2])}, raises=ValueError),
        Case("x without a batch axis", {"x": _A([1.0, 2.0]), "W": _DW, "b": _DB}, raises=ValueError),
    ],
    "dense_backward": [
        Case("x (3, 2), W (2, 4): dx (3, 2), dW (2, 4), db (4,)", {"dout": _DOUT, "cache": _suggested_dense_cache(_DX, _DW)}),
        Case("a batch of one row", {"dout": _DOUT[:1], "cache": _suggested_dense_cache(_DX[:1], _DW)}),
    ],
    "mlp_loss_and_grads": [
        Case("4 samples, 3 features, 4 hidden units, 3 classes (some ReLUs off)",
             {"params": _mlp_params(), "X": _MLP_X, "y": _MLP_Y.astype(np.int64)}),
        Case("params without b2", {"params": {k: v for k, v in _mlp_params().items() if k != "b2"}, "X": _MLP_X,
                                   "y": _MLP_Y.astype(np.int64)}, raises=ValueError),
        Case("float labels", {"params": _mlp_params(), "X": _MLP_X, "y": _MLP_Y.astype(float)}, raises=ValueError),
    ],
    "clip_by_global_norm": [
        Case("global norm sqrt(5**2 + 12**2) = 13 above clip_norm 5: both arrays scaled by 5/13",
             {"grads": [_A([3.0, -4.0]), _A([[0.0, 12.0], [0.0, 0.0]])], "clip_norm": 5.0}),
        Case("global norm 13 below clip_norm 20: the arrays come back unchanged",
             {"grads": [_A([3.0, -4.0]), _A([[0.0, 12.0], [0.0, 0.0]])], "clip_norm": 20.0}),
        Case("three arrays of different shapes, each below clip_norm but together above it",
             {"grads": [_A([[1.0, -1.0, 1.0], [0.5, 0.0, -1.0]]), _A([1.0, 1.0]), _A([[[2.0]], [[-1.0]]])],
              "clip_norm": 3.0}),
        Case("clip_norm 0", {"grads": [_A([1.0, 2.0])], "clip_norm": 0.0}, raises=ValueError),
    ],
}


# --------------------------------------------------------------------------- hidden cases

_SHAPES = [(7,), (5, 3), (2, 3, 4), (1,)]


def _activation_cases(rng, zeros=False):
    cases = []
    for shape in _SHAPES:
        for scale in (1e-3, 1.0, 30.0, 1e3):
            z = scale * rng.normal(size=shape)
            if zeros:
                z.reshape(-1)[::3] = 0.0
            cases.append(Case(f"shape {shape}, scale {scale:g}" + (", every third entry exactly 0" if zeros else ""),
                              {"z": z}))
    cases.append(Case("exact zeros only", {"z": np.zeros((2, 3))}))
    return cases


def _relu_grad_cases(rng):
    return _activation_cases(rng, zeros=True)


def _mlp_params_random(rng, d, h, k, scale=1.0):
    return {"W1": scale * rng.normal(size=(d, h)) * np.sqrt(2.0 / d), "b1": 0.1 * rng.normal(size=h),
            "W2": scale * rng.normal(size=(h, k)) * np.sqrt(1.0 / h), "b2": 0.1 * rng.normal(size=k)}


def _mlp_cases(rng):
    cases = []
    for n, d, h, k in [(1, 3, 4, 2), (6, 5, 7, 4), (32, 64, 20, 10), (5, 2, 3, 3)]:
        cases.append(Case(f"n={n}, d={d}, h={h}, k={k}", {
            "params": _mlp_params_random(rng, d, h, k), "X": rng.normal(size=(n, d)), "y": rng.integers(0, k, size=n)}))
    d, h, k, n = 4, 6, 3, 5
    zero = {"W1": np.zeros((d, h)), "b1": np.zeros(h), "W2": rng.normal(size=(h, k)), "b2": np.zeros(k)}
    cases.append(Case("a zero first layer: every ReLU input is exactly 0 (slope 0 there)", {
        "params": zero, "X": rng.normal(size=(n, d)), "y": rng.integers(0, k, size=n)}))
    cases.append(Case("large weights: logits of order 1000 (subtract the row maximum in the softmax)", {
        "params": _mlp_params_random(rng, d, h, k, scale=300.0), "X": rng.normal(size=(n, d)),
        "y": rng.integers(0, k, size=n)}))
    cases.append(Case("a label out of range", {"params": _mlp_params_random(rng, d, h, k), "X": rng.normal(size=(n, d)),
                                               "y": np.full(n, k)}, raises=ValueError))
    return cases


def _dense_forward_inputs(rng):
    out = []
    for n, d_in, d_out in [(1, 1, 1), (4, 3, 5), (16, 10, 2), (3, 7, 7)]:
        for scale in (1e-3, 1.0, 1e3):
            out.append((f"n={n}, d_in={d_in}, d_out={d_out}, scale {scale:g}",
                        {"x": scale * rng.normal(size=(n, d_in)), "W": rng.normal(size=(d_in, d_out)),
                         "b": rng.normal(size=d_out)}))
    return out


def _dense_backward_cases(rng):
    return [(name, inputs, rng.normal(size=(inputs["x"].shape[0], inputs["W"].shape[1])))
            for name, inputs in _dense_forward_inputs(rng)]


BACKWARD_CASES = {"dense_backward": ("dense_forward", _dense_backward_cases)}

def _clip_cases(rng):
    cases = []
    shapes = [[(5,)], [(3, 4), (4,)], [(2, 3, 2), (6, 1), (1,), (7,)]]
    for group in shapes:
        for scale in (1e-3, 1.0, 1e3):
            grads = [scale * rng.normal(size=shape) for shape in group]
            norm = float(np.sqrt(sum(np.sum(g * g) for g in grads)))
            for factor in (0.1, 0.9, 1.5):  # clip_norm below and above the global norm
                cases.append(Case(f"{len(group)} arrays, scale {scale:g}, clip_norm {factor} x the global norm",
                                  {"grads": [g.copy() for g in grads], "clip_norm": factor * norm}))
    cases.append(Case("the global norm exactly equal to clip_norm", {"grads": [np.array([3.0, 4.0])], "clip_norm": 5.0}))
    cases.append(Case("all-zero gradients", {"grads": [np.zeros((2, 2)), np.zeros(3)], "clip_norm": 1.0}))
    cases.append(Case("an empty list", {"grads": [], "clip_norm": 1.0}))
    cases.append(Case("a negative clip_norm", {"grads": [rng.normal(size=3)], "clip_norm": -1.0}, raises=ValueError))
    return cases


HIDDEN = {
    "sigmoid": _activation_cases,
    "sigmoid_grad": _activation_cases,
    "tanh_grad": _activation_cases,
    "relu": _relu_grad_cases,
    "relu_grad": _relu_grad_cases,
    "mlp_loss_and_grads": _mlp_cases,
    "clip_by_global_norm": _clip_cases,
}


# --------------------------------------------------------------------------- custom hidden checks

def _hidden_sigmoid_no_warnings(fn):
    props.check_no_float_warnings(fn, "sigmoid", np.concatenate([_Z_HUGE, [-1e4, 1e4, -709.0, 710.0]]))
    props.check_no_float_warnings(fn, "sigmoid", _A([[-1000.0, 1000.0], [800.0, -800.0]]))


def _hidden_dense_forward(fn):
    rng = np.random.default_rng(props.seed_of("hidden:dense_forward"))
    _, mistakes = reference_and_mistakes("dense_forward")
    for name, inputs in _dense_forward_inputs(rng):
        expected = _quiet_call(ref.dense_forward, inputs)[0]
        wrong = {}
        for desc, mistake in mistakes.items():
            out = _quiet_call(mistake, inputs)[0]
            if not agree(out, expected):
                wrong[desc] = out
        run_case(props.first_output(fn, "dense_forward"), "dense_forward", f"hidden: {name}", inputs, expected, wrong)
    for name, inputs in [
        ("W of shape (d_out, d_in)", {"x": rng.normal(size=(4, 3)), "W": rng.normal(size=(5, 3)), "b": np.zeros(5)}),
        ("b of the wrong length", {"x": rng.normal(size=(4, 3)), "W": rng.normal(size=(3, 5)), "b": np.zeros(3)}),
        ("x of shape (n, d_in, 1)", {"x": rng.normal(size=(4, 3, 1)), "W": rng.normal(size=(3, 5)), "b": np.zeros(5)}),
    ]:
        run_case(fn, "dense_forward", f"hidden: {name}", inputs, raises=ValueError)


def _mistake_signatures(name, fan_in, fan_out, spec):
    """Statistics of each catalogued mistake on a large draw, as the property check compares them."""
    _, mistakes = reference_and_mistakes(name)
    out = {}
    for desc, mistake in mistakes.items():
        w = mistake(fan_in, fan_out, np.random.default_rng(props.seed_of(f"mistake:{desc}")))
        out[desc] = props.signature(w, spec)
    return out


@once_per_process
def _hidden_signatures(name, fan_in, fan_out):
    """_mistake_signatures for a hidden draw, computed once per grading process, not once per submission."""
    return _mistake_signatures(name, fan_in, fan_out, _SPEC_OF[name](fan_in, fan_out)[2])


def _initializer_check(name, specs):
    def check(fn):
        for fan_in, fan_out, spec in specs:
            props.check_initializer(fn, name, fan_in, fan_out, spec,
                                    _hidden_signatures(name, fan_in, fan_out),
                                    seed=props.seed_of(f"hidden:{name}:{fan_in}x{fan_out}"), label="hidden: ")
    return check


def _glorot_spec(fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return fan_in, fan_out, props.uniform_spec(limit, fan_in * fan_out)


def _he_spec(fan_in, fan_out):
    return fan_in, fan_out, props.normal_spec(np.sqrt(2.0 / fan_in), fan_in * fan_out)


_SPEC_OF = {"glorot_uniform": _glorot_spec, "he_normal": _he_spec}


HIDDEN_CUSTOM = {
    "sigmoid": _hidden_sigmoid_no_warnings,
    "dense_forward": _hidden_dense_forward,
    "glorot_uniform": _initializer_check("glorot_uniform", [_glorot_spec(50, 2000), _glorot_spec(784, 256),
                                                            _glorot_spec(1000, 300)]),
    "he_normal": _initializer_check("he_normal", [_he_spec(50, 2000), _he_spec(784, 256), _he_spec(1000, 300)]),
}


# --------------------------------------------------------------------------- stored numbers (visible)
VISIBLE_DENSE_FORWARD = [
    ("x (3, 2) @ W (2, 4) + b (4,)", {"x": _A([[1.0, -2.0], [0.5, 0.0], [-1.0, 3.0]]),
                                      "W": _A([[0.5, -1.0, 2.0, 0.0], [1.5, 0.25, -0.5, 1.0]]),
                                      "b": _A([0.1, -0.2, 0.3, 0.0])}),
    ("a batch of one row, d_in = 2, d_out = 1", {"x": _A([[2.0, -1.0]]), "W": _A([[0.5], [3.0]]), "b": _A([-0.5])}),
]
VISIBLE_FANS = (400, 600)  # 240,000 numbers a draw


def stored_numbers():
    """The visible dense_forward cases and initializer signatures, from the reference and the mistakes
    (written by build_checks to dlcourse/checks/cases/properties/<CHAPTER>.json)."""
    reference, mistakes = reference_and_mistakes("dense_forward")
    out = lambda f: props.first_output(f, "dense_forward")  # noqa: E731
    forward = []
    for name, inputs in VISIBLE_DENSE_FORWARD:
        result = evaluate(Case(name, inputs), out(reference), {desc: out(m) for desc, m in mistakes.items()})
        forward.append({"name": name, "inputs": inputs, "expected": result["expected"], "mistakes": result["mistakes"]})
    initializers = {}
    for name, spec_of in _SPEC_OF.items():
        fan_in, fan_out, spec = spec_of(*VISIBLE_FANS)
        initializers[name] = {"fan_in": fan_in, "fan_out": fan_out, "spec": spec,
                              "mistakes": _mistake_signatures(name, fan_in, fan_out, spec)}
    return {"dense_forward": forward, "initializers": initializers}
