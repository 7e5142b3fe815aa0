"""Chapter 06 (backpropagation and initialization): what the notebook and its checks claim.

- the stored numbers of the property checks agree with the reference and its mistakes;
- a backward pass is graded with the cache of the learner's own forward pass: any cache
  layout works, and with the suggested layout a wrong forward pass costs the backward pass
  nothing;
- the checks accept other correct implementations (another use of the generator, a loop)
  and reject naive ones (a sigmoid that warns);
- the figures' claims hold when the notebook's demo cells run on the reference functions.
"""

import copy
import json
import re
import warnings

import numpy as np
import pytest

from autograder.chapters.ch06_backprop_initialization import reference as ref
from autograder.chapters.ch06_backprop_initialization.mistakes import MISTAKES
from autograder.hidden import check_hidden
from autograder.hidden_backward import check_hidden_backward
from dlcourse.checks import CheckFailure, check, stored_cases
from dlcourse.checks.backward import check_backward, forward_inputs_readers
from dlcourse.checks.compare import agree
from dlcourse.checks.properties import backprop as props
from tests.submissions import load_solution

CHAPTER = "06_backprop_initialization"


# --------------------------------------------------------------------------- stored numbers

def test_stored_dense_forward_numbers_match_the_reference_and_its_mistakes():
    for case in props.stored_numbers()["dense_forward"]:
        inputs = copy.deepcopy(case["inputs"])
        assert agree(ref.dense_forward(**inputs)[0], case["expected"], rtol=1e-12, atol=1e-12), case["name"]
        for desc, stored in case["mistakes"].items():
            assert agree(MISTAKES["dense_forward"][desc](**copy.deepcopy(inputs))[0], stored, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal"])
def test_stored_initializer_statistics_match_the_formulas_and_the_mistakes(name):
    case = props.stored_numbers()["initializers"][name]
    fan_in, fan_out, spec = case["fan_in"], case["fan_out"], case["spec"]
    if name == "glorot_uniform":
        assert spec["bound"] == pytest.approx(np.sqrt(6.0 / (fan_in + fan_out)), rel=1e-12)
        assert spec["std"] == pytest.approx(np.sqrt(2.0 / (fan_in + fan_out)), rel=1e-12)
    else:
        assert spec["std"] == pytest.approx(np.sqrt(2.0 / fan_in), rel=1e-12)
    assert set(case["mistakes"]) == set(MISTAKES[name])
    for desc, stored in case["mistakes"].items():
        draw = MISTAKES[name][desc](fan_in, fan_out, np.random.default_rng(99))
        fresh = props.signature(draw, spec)
        assert fresh["std"] == pytest.approx(stored["std"], rel=2 * spec["std_rtol"]), desc
        assert fresh["tail"] == pytest.approx(stored["tail"], abs=4 * props.normal_spec(1.0, draw.size)["tail_tol"])


@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal"])
def test_visible_initializer_checks_name_every_mistake(name):
    for desc, wrong in MISTAKES[name].items():
        with pytest.raises(CheckFailure, match="Your output matches"):
            check(wrong, name)
        try:
            check(wrong, name)
        except CheckFailure as failure:
            assert desc in str(failure)


def test_visible_dense_backward_cases_can_be_replayed_from_their_caches():
    reader = forward_inputs_readers()["dense_backward"]
    for case in stored_cases()["dense_backward"]:
        cache = case["inputs"]["cache"]
        assert agree(ref.dense_forward(**reader(cache))[1], cache, rtol=0, atol=0)


# --------------------------------------------------------------------------- backward pass with the learner's cache

def _dict_forward(x, W, b):
    x, W, b = np.asarray(x, float), np.asarray(W, float), np.asarray(b, float)
    return x @ W + b, {"weights": W, "inputs": x}


def _dict_backward(dout, cache):
    return dout @ cache["weights"].T, cache["inputs"].T @ dout, dout.sum(axis=0)


def test_a_backward_pass_with_its_own_cache_layout_passes(capsys):
    check_backward(_dict_backward, _dict_forward, "dense_backward")
    check_hidden_backward(_dict_backward, _dict_forward, "dense_backward")
    assert "visible checks passed" in capsys.readouterr().out


def test_the_hidden_check_finds_the_forward_pass_beside_the_backward_pass():
    namespace = {"np": np}
    exec("def dense_forward(x, W, b):\n    return x @ W + b, {'W': W, 'x': x}\n"
         "def dense_backward(dout, cache):\n    return dout @ cache['W'].T, cache['x'].T @ dout, dout.sum(axis=0)\n",
         namespace)
    check_hidden(namespace["dense_backward"])  # passes only with the forward pass's own dict cache
    del namespace["dense_forward"]
    with pytest.raises(CheckFailure, match="name 'dense_forward' is not defined, so its cache could not be used"):
        check_hidden(namespace["dense_backward"])


@pytest.mark.parametrize("broken_forward", [
    lambda x, W, b: (_ for _ in ()).throw(NotImplementedError()),  # still a stub
    lambda x, W, b: (x @ W, (2 * x, W)),                             # wrong output and wrong cache
    lambda x, W, b: x @ W + b,                                       # forgets the cache
])
def test_with_the_suggested_layout_a_wrong_forward_pass_costs_the_backward_pass_nothing(broken_forward, capsys):
    check_backward(ref.dense_backward, broken_forward, "dense_backward")
    check_hidden_backward(ref.dense_backward, broken_forward, "dense_backward")


def test_own_layout_and_a_wrong_forward_pass_fail_with_an_explanation():
    def wrong_forward(x, W, b):
        return x @ W + b, {"weights": W, "inputs": 2 * np.asarray(x)}

    with pytest.raises(CheckFailure, match="only be checked with the caches your forward pass makes"):
        check_backward(_dict_backward, wrong_forward, "dense_backward")


@pytest.mark.parametrize("desc", sorted(MISTAKES["dense_backward"]))
def test_backward_mistakes_fail_and_are_named_with_the_learners_forward_pass(desc):
    with pytest.raises(CheckFailure, match=re.escape(f"Your output matches {desc}")):
        check_backward(MISTAKES["dense_backward"][desc], ref.dense_forward, "dense_backward")
    with pytest.raises(CheckFailure):
        check_hidden_backward(MISTAKES["dense_backward"][desc], ref.dense_forward, "dense_backward")


def test_an_unimplemented_backward_pass_is_reported_as_such():
    def dense_backward(dout, cache):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        check_backward(dense_backward, ref.dense_forward)


# --------------------------------------------------------------------------- other implementations, naive ones

def test_other_correct_initializers_pass():
    def glorot_uniform(fan_in, fan_out, rng):
        if int(fan_in) != fan_in or int(fan_out) != fan_out or min(fan_in, fan_out) < 1:
            raise ValueError("bad fans")
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return (2.0 * rng.random((fan_in, fan_out)) - 1.0) * limit

    def he_normal(fan_in, fan_out, rng):
        if int(fan_in) != fan_in or int(fan_out) != fan_out or min(fan_in, fan_out) < 1:
            raise ValueError("bad fans")
        return rng.standard_normal((fan_out, fan_in)).T * np.sqrt(2.0 / fan_in)

    for fn in (glorot_uniform, he_normal):
        check(fn)
        check_hidden(fn)


def test_an_initializer_that_ignores_rng_fails():
    def he_normal(fan_in, fan_out, rng):
        if min(fan_in, fan_out) < 1 or int(fan_in) != fan_in:
            raise ValueError("bad fans")
        return np.random.default_rng(0).normal(0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))

    with pytest.raises(CheckFailure, match="from the `rng` argument"):
        check(he_normal)


# the hidden check runs the naive sigmoids on large |z| on purpose: their warnings are the point
@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning",
                            "ignore:invalid value encountered in divide:RuntimeWarning")
@pytest.mark.parametrize("naive", [
    lambda z: 1.0 / (1.0 + np.exp(-np.asarray(z, float))),
    lambda z: np.where(np.asarray(z) >= 0, 1 / (1 + np.exp(-np.asarray(z, float))),
                       np.exp(np.asarray(z, float)) / (1 + np.exp(np.asarray(z, float)))),
])
def test_a_sigmoid_that_warns_fails_although_its_values_are_right(naive):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert agree(naive(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])
    with pytest.raises(CheckFailure, match="warnings turned into errors"):
        check(naive, "sigmoid")
    with pytest.raises(CheckFailure, match="np.where"):
        check_hidden(naive, "sigmoid")


def test_a_loop_implementation_of_the_network_passes():
    def mlp_loss_and_grads(params, X, y):
        ref.mlp_loss_and_grads(params, X, y)  # same validation
        X = np.asarray(X, float)
        n = len(X)
        loss, grads = 0.0, {k: np.zeros_like(np.asarray(v, float)) for k, v in params.items()}
        for i in range(n):  # one sample at a time, summed
            z1 = X[i] @ params["W1"] + params["b1"]
            h1 = np.maximum(z1, 0)
            s = h1 @ params["W2"] + params["b2"]
            log_p = s - s.max() - np.log(np.sum(np.exp(s - s.max())))
            p = np.exp(log_p)
            loss += -log_p[y[i]] / n
            ds = p.copy()
            ds[y[i]] -= 1
            ds /= n
            grads["W2"] += np.outer(h1, ds)
            grads["b2"] += ds
            dz1 = (ds @ params["W2"].T) * (z1 > 0)
            grads["W1"] += np.outer(X[i], dz1)
            grads["b1"] += dz1
        return loss, grads

    check(mlp_loss_and_grads)
    check_hidden(mlp_loss_and_grads)


# --------------------------------------------------------------------------- the notebook's figures

def _demo_cells():
    nb = load_solution(CHAPTER)
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
            and not c["metadata"].get("nbgrader", {}).get("solution") and not c["metadata"].get("nbgrader", {}).get("grade")]


def _run_cells(markers, namespace):
    for marker in markers:
        found = [src for src in _demo_cells() if marker in src]
        assert len(found) == 1, f"expected one demo cell containing {marker!r}, found {len(found)}"
        exec(found[0], namespace)
    return namespace


@pytest.fixture(scope="module")
def deep_runs():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dlcourse import plotting
    namespace = {"np": np, "plt": plt, "plotting": plotting, "warnings": warnings,
                 **{name: getattr(ref, name) for name in ("sigmoid", "sigmoid_grad", "tanh_grad", "relu", "relu_grad",
                                                          "dense_forward", "dense_backward", "glorot_uniform",
                                                          "he_normal", "mlp_loss_and_grads")}}
    return _run_cells(["def deep_stack(", "layer_ids = np.arange", "def clip(W"], namespace)


def _stds(values):
    return np.array([v.std() for v in values])


def test_he_keeps_a_relu_stack_steady_and_glorot_halves_its_variance(deep_runs):
    he = _stds(deep_runs["runs"]["ReLU", "He normal"][0])
    glorot = _stds(deep_runs["runs"]["ReLU", "Glorot uniform"][0])
    assert 0.5 < he[-1] / he[0] < 2.0
    # nine halvings of the variance between layer 1 and layer 10: std ratio 2**-4.5 = 0.044
    assert 0.02 < glorot[-1] / glorot[0] < 0.1
    he_grads = _stds(deep_runs["runs"]["ReLU", "He normal"][1])
    assert 0.5 < he_grads[0] / he_grads[-1] < 2.0


def test_too_small_vanishes_too_large_explodes_or_saturates_zeros_stay_zero(deep_runs):
    runs = deep_runs["runs"]
    for act in ("tanh", "ReLU"):
        small = _stds(runs[act, "N(0, 0.01^2)"][0])
        assert small[-1] < 1e-6 * small[0]
        acts, grads = runs[act, "zeros"]
        assert all(not np.any(a) for a in acts) and all(not np.any(g) for g in grads)
    relu_large = _stds(runs["ReLU", "N(0, 1)"][0])
    assert relu_large[-1] / relu_large[0] > 1e8
    saturated = runs["tanh", "N(0, 1)"][0][-1]
    assert np.mean(np.abs(saturated) > 0.9) > 0.9
    tanh_large_grads = _stds(runs["tanh", "N(0, 1)"][1])
    assert tanh_large_grads[0] > 100 * tanh_large_grads[-1]  # the gradients grow on their way down


def test_clipping_or_pruning_at_the_start_destroys_the_scale(deep_runs):
    curves = deep_runs["curves"]
    he = curves["He normal"][-1]
    assert curves["He, then clipped to +-0.02"][-1] < 1e-3 * he
    assert curves["He, then 90% pruned"][-1] < 0.1 * he


def test_zero_and_constant_starts_as_the_notebook_says():
    rng = np.random.default_rng(6)
    d, h, k = 8, 12, 4
    X, y = rng.normal(size=(16, d)), rng.integers(0, k, size=16)
    zero = {"W1": np.zeros((d, h)), "b1": np.zeros(h), "W2": np.zeros((h, k)), "b2": np.zeros(k)}
    _, grads = ref.mlp_loss_and_grads(zero, X, y)
    assert not grads["W1"].any() and not grads["b1"].any() and not grads["W2"].any() and grads["b2"].any()
    constant = {"W1": np.full((d, h), 0.1), "b1": np.zeros(h), "W2": np.full((h, k), 0.1), "b2": np.zeros(k)}
    _, grads = ref.mlp_loss_and_grads(constant, X, y)
    assert np.ptp(grads["W1"], axis=1).max() == 0.0


def test_keras_style_truncation_keeps_the_std_and_cuts_the_tails():
    fan_in, fan_out = 400, 600
    std = np.sqrt(2.0 / fan_in)
    w = MISTAKES["he_normal"][
        "a normal truncated at 2 standard deviations like Keras's HeNormal (here the untruncated normal is asked for)"
    ](fan_in, fan_out, np.random.default_rng(2))
    assert w.std() == pytest.approx(std, rel=0.01)
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978
    assert np.abs(ref.he_normal(fan_in, fan_out, np.random.default_rng(1))).max() > 2.3 * std


def test_the_notebook_never_imports_tensorflow_or_the_instructor_package_outside_hidden_tests():
    for src in _demo_cells():
        assert "tensorflow" not in src and "keras." not in src and "autograder" not in src
    solution = json.dumps(load_solution(CHAPTER))
    assert "import tensorflow" not in solution


def _markdown(cell_id):
    return "".join(next(c["source"] for c in load_solution(CHAPTER)["cells"] if c.get("id") == cell_id))


def test_glorot_tanh_stack_loses_std_from_layer_1_to_layer_10_as_stated(deep_runs):
    """'its std falls from 0.63 at layer 1 to 0.23 at layer 10' (Glorot, tanh)."""
    stds = _stds(deep_runs["runs"]["tanh", "Glorot uniform"][0])
    assert len(stds) == 10 and np.all(np.diff(stds) < 0)
    assert f"its std falls from {stds[0]:.2f} at layer 1 to {stds[-1]:.2f} at\n  layer 10" in _markdown("c043")


def test_backward_pass_needs_about_twice_the_forward_multiplications():
    """A dense layer: one (n, d) @ (d, h) product forward; two backward (dW = x^T dout, dx = dout W^T)."""
    n, widths = 32, [64, 128, 128, 128, 10]
    forward = sum(n * a * b for a, b in zip(widths[:-1], widths[1:]))
    backward = sum(2 * n * a * b for a, b in zip(widths[:-1], widths[1:])) - n * widths[0] * widths[1]  # no dX
    assert 1.7 < backward / forward <= 2.0
    assert "about twice the forward pass's multiplications" in _markdown("c025")


# --------------------------------------------------------------------------- exploding gradients and clipping

def test_the_clipping_demo_numbers_hold(monkeypatch):
    """Section 6's cell run on the reference: the numbers its markdown states."""
    import matplotlib

    matplotlib.use("Agg")
    from dlcourse import plotting

    monkeypatch.setattr(plotting, "show", lambda fig: None)
    nb = load_solution(CHAPTER)
    cells = nb["cells"]
    heading = next(i for i, c in enumerate(cells) if "".join(c["source"]).startswith("### Exploding gradients, shown and tamed"))
    text, demo = "".join(cells[heading]["source"]), "".join(cells[heading + 1]["source"])
    for claim in ("1.6 times He's standard deviation", "about\n2450", r"about $2.9\times10^{4}$",
                  "from the third step on the loss is not even finite", "the loss ends below 10 after 150 steps",
                  "falls by more than a factor of 10"):
        assert claim in text, claim
    namespace = {"np": np, "plotting": plotting, "dense_forward": ref.dense_forward,
                 "dense_backward": ref.dense_backward, "clip_by_global_norm": ref.clip_by_global_norm}
    exec(compile(demo, "clipping demo", "exec"), namespace)  # noqa: S102 -- the notebook's own cell
    loss_free, loss_clip, norm_clip = namespace["loss_free"], namespace["loss_clip"], namespace["norm_clip"]
    assert loss_clip[0] == pytest.approx(2450, rel=0.01) and norm_clip[0] == pytest.approx(2.9e4, rel=0.02)
    assert np.all(np.isfinite(loss_free[:2])) and not np.any(np.isfinite(loss_free[2:]))
    assert len(loss_clip) == 150 and loss_clip[-1] < 10
    assert norm_clip[-1] < norm_clip[0] / 10
    assert namespace["GAIN"] == 1.6 and namespace["DEPTH"] == 10 and namespace["WIDTH"] == 32
