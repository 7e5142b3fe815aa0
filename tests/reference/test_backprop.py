"""Tests for autograder.chapters.ch06_backprop_initialization.reference (chapter 06) and its known mistakes."""

import os
import warnings

import numpy as np
import pytest

from autograder.chapters.ch06_backprop_initialization import reference as B
from autograder.chapters.ch06_backprop_initialization.mistakes import MISTAKES
from tests.reference._numgrad import assert_grad_close, numerical_gradient, outputs_close

# Keras's truncated normal: the pre-truncation std is sqrt(scale) / 0.8796..., the std of a
# standard normal truncated to [-2, 2] being 0.8796..., so the std after truncation is sqrt(scale).
TRUNC_STD = 0.87962566103423978


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return pytest.importorskip("keras")


def _away_from_zero(rng, shape, low=0.05, high=2.0):
    """Values with |v| in [low, high], random signs: no ReLU kink within h of any entry."""
    return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)


# --------------------------------------------------------------------------- activations

def test_sigmoid_values():
    z = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(B.sigmoid(z), 1.0 / (1.0 + np.exp(-z)), rtol=1e-14)
    assert B.sigmoid(0.0) == 0.5


def test_sigmoid_is_stable_for_large_inputs():
    z = np.array([-1000.0, -745.0, 0.0, 745.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = B.sigmoid(z)
    assert np.all(np.isfinite(s))
    np.testing.assert_array_equal(s[[0, 2, 4]], [0.0, 0.5, 1.0])


@pytest.mark.parametrize("name,fn", [("sigmoid_grad", B.sigmoid), ("tanh_grad", np.tanh), ("relu_grad", B.relu)])
def test_activation_gradients_match_numerical_gradient(name, fn):
    z = _away_from_zero(np.random.default_rng(0), (4, 5))
    # element-wise functions: the gradient of sum(f(z)) is f'(z) entry by entry
    assert_grad_close(getattr(B, name)(z), numerical_gradient(lambda v: np.sum(fn(v)), z), name)


def test_relu_and_its_gradient_at_zero():
    z = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(B.relu(z), [0.0, 0.0, 2.0])
    np.testing.assert_array_equal(B.relu_grad(z), [0.0, 0.0, 1.0])


def test_activations_keep_shape_and_do_not_modify_input():
    z = np.random.default_rng(1).normal(size=(2, 3, 4))
    z0 = z.copy()
    for fn in (B.sigmoid, B.sigmoid_grad, B.tanh_grad, B.relu, B.relu_grad):
        out = fn(z)
        assert out.shape == z.shape and out.dtype == np.float64
    np.testing.assert_array_equal(z, z0)


# --------------------------------------------------------------------------- dense layer

def _dense_case(seed=2, n=5, d_in=4, d_out=3):
    rng = np.random.default_rng(seed)
    x, W = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out))
    return x, W, rng.normal(size=d_out), rng.normal(size=(n, d_out))


def test_dense_forward_is_x_at_W_plus_b():
    x, W, b, _ = _dense_case()
    out, _ = B.dense_forward(x, W, b)
    np.testing.assert_allclose(out, x @ W + b, rtol=1e-14)


def test_dense_backward_matches_numerical_gradient():
    x, W, b, dout = _dense_case()
    _, cache = B.dense_forward(x, W, b)
    dx, dW, db = B.dense_backward(dout, cache)
    # scalar loss L = sum(out * dout), so dL/dout = dout
    assert_grad_close(dx, numerical_gradient(lambda v: np.sum(B.dense_forward(v, W, b)[0] * dout), x), "dx")
    assert_grad_close(dW, numerical_gradient(lambda v: np.sum(B.dense_forward(x, v, b)[0] * dout), W), "dW")
    assert_grad_close(db, numerical_gradient(lambda v: np.sum(B.dense_forward(x, W, v)[0] * dout), b), "db")
    assert dW.shape == W.shape and db.shape == b.shape and dx.shape == x.shape


@pytest.mark.keras
def test_dense_forward_matches_a_keras_dense_layer():
    keras = _keras()
    x, W, b, _ = _dense_case(3)
    layer = keras.layers.Dense(W.shape[1], dtype="float64")
    layer.build((None, W.shape[0]))
    layer.set_weights([W, b])  # a Keras kernel is (d_in, d_out), like ours
    np.testing.assert_allclose(np.asarray(layer(x)), B.dense_forward(x, W, b)[0], rtol=1e-12)


def test_dense_rejects_mismatched_shapes():
    x, W, b, dout = _dense_case()
    with pytest.raises(ValueError):
        B.dense_forward(x, W.T, b)
    with pytest.raises(ValueError):
        B.dense_forward(x, W, np.zeros(W.shape[1] + 1))
    with pytest.raises(ValueError):
        B.dense_forward(x[0], W, b)
    _, cache = B.dense_forward(x, W, b)
    with pytest.raises(ValueError):
        B.dense_backward(dout.T, cache)


# --------------------------------------------------------------------------- initializers

FAN_IN, FAN_OUT = 300, 500  # 150,000 draws: sample std within ~0.2% of the truth (1 sigma)


def test_glorot_uniform_statistics():
    w = B.glorot_uniform(FAN_IN, FAN_OUT, np.random.default_rng(4))
    limit = np.sqrt(6.0 / (FAN_IN + FAN_OUT))
    assert w.shape == (FAN_IN, FAN_OUT) and w.dtype == np.float64
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # the whole range is used
    assert abs(w.mean()) < 0.01 * limit
    assert w.std() == pytest.approx(np.sqrt(2.0 / (FAN_IN + FAN_OUT)), rel=0.01)  # 1% = ~5 sigma


def test_he_normal_statistics():
    w = B.he_normal(FAN_IN, FAN_OUT, np.random.default_rng(5))
    std = np.sqrt(2.0 / FAN_IN)
    assert w.shape == (FAN_IN, FAN_OUT) and w.dtype == np.float64
    assert abs(w.mean()) < 0.01 * std
    assert w.std() == pytest.approx(std, rel=0.01)
    # untruncated: about 4.6% of normal draws lie beyond 2 std (Keras's HeNormal has none)
    assert np.mean(np.abs(w) > 2 * std) == pytest.approx(0.0455, abs=0.005)


def test_initializers_are_reproducible_and_validate_input():
    a = B.he_normal(3, 4, np.random.default_rng(6))
    np.testing.assert_array_equal(a, B.he_normal(3, 4, np.random.default_rng(6)))
    for bad in ((0, 4), (3, -1), (2.5, 4)):
        with pytest.raises(ValueError):
            B.glorot_uniform(*bad, np.random.default_rng(0))
        with pytest.raises(ValueError):
            B.he_normal(*bad, np.random.default_rng(0))
    with pytest.raises(ValueError):
        B.he_normal(3, 4, np.random.RandomState(0))


@pytest.mark.keras
def test_initializers_match_keras_distributions():
    keras = _keras()
    ours_g = B.glorot_uniform(FAN_IN, FAN_OUT, np.random.default_rng(7))
    keras_g = np.asarray(keras.initializers.GlorotUniform(seed=7)((FAN_IN, FAN_OUT)), dtype=np.float64)
    assert keras_g.std() == pytest.approx(ours_g.std(), rel=0.015)
    assert np.abs(keras_g).max() == pytest.approx(np.abs(ours_g).max(), rel=1e-3)

    ours_h = B.he_normal(FAN_IN, FAN_OUT, np.random.default_rng(8))
    keras_h = np.asarray(keras.initializers.HeNormal(seed=8)((FAN_IN, FAN_OUT)), dtype=np.float64)
    std = np.sqrt(2.0 / FAN_IN)
    # Keras truncates at 2 sigma_0 with sigma_0 = std / 0.8796, so its std is std as well...
    assert keras_h.std() == pytest.approx(std, rel=0.015)
    assert keras_h.std() == pytest.approx(ours_h.std(), rel=0.015)
    # ...but it is bounded by 2 std / 0.8796 = 2.27 std, where ours is not.
    bound = 2 * std / TRUNC_STD
    assert np.abs(keras_h).max() <= bound * (1 + 1e-6)
    assert np.abs(ours_h).max() > bound


# --------------------------------------------------------------------------- two-layer MLP

def _mlp_case(seed=9, n=6, d=5, h=7, k=4):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(d, h)), "b1": rng.normal(size=h) * 0.1,
              "W2": rng.normal(size=(h, k)), "b2": rng.normal(size=k) * 0.1}
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, size=n)
    return params, X, y


def test_mlp_loss_and_grads_matches_numerical_gradient():
    params, X, y = _mlp_case()
    z1 = X @ params["W1"] + params["b1"]
    assert np.abs(z1).min() > 1e-3, "test data must keep ReLU inputs away from the kink"
    loss, grads = B.mlp_loss_and_grads(params, X, y)
    assert set(grads) == {"W1", "b1", "W2", "b2"}
    for key in params:
        def f(v, key=key):
            return B.mlp_loss_and_grads({**params, key: v}, X, y)[0]
        assert_grad_close(grads[key], numerical_gradient(f, params[key]), key)
        assert grads[key].shape == params[key].shape


def test_mlp_loss_is_the_mean_softmax_cross_entropy():
    params, X, y = _mlp_case(10)
    logits = np.maximum(X @ params["W1"] + params["b1"], 0) @ params["W2"] + params["b2"]
    logp = logits - logits.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    loss, _ = B.mlp_loss_and_grads(params, X, y)
    assert loss == pytest.approx(-logp[np.arange(len(y)), y].mean(), rel=1e-12)


def test_mlp_loss_and_grads_validates_and_does_not_modify_params():
    params, X, y = _mlp_case(11)
    before = {k: v.copy() for k, v in params.items()}
    B.mlp_loss_and_grads(params, X, y)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    with pytest.raises(ValueError):
        B.mlp_loss_and_grads({k: v for k, v in params.items() if k != "b2"}, X, y)
    with pytest.raises(ValueError):
        B.mlp_loss_and_grads(params, X, y.astype(float))
    with pytest.raises(ValueError):
        B.mlp_loss_and_grads(params, X, np.full_like(y, 99))


# --------------------------------------------------------------------------- known mistakes

def _generic_inputs():
    rng = np.random.default_rng(12)
    z = rng.normal(size=(3, 4)) * 2.0
    z_with_zero = np.append(z.ravel(), 0.0)  # relu_grad's convention at 0 needs a 0
    x, W, b, dout = _dense_case(13)
    _, cache = B.dense_forward(x, W, b)
    params, X, y = _mlp_case(14)
    return {
        "sigmoid": (z,), "sigmoid_grad": (z,), "tanh_grad": (z,), "relu": (z,), "relu_grad": (z_with_zero,),
        "dense_forward": (x, W, b), "dense_backward": (dout, cache),
        "mlp_loss_and_grads": (params, X, y),
    }


def _init_signature(fn, seed):
    """Distribution properties of a large draw: std and max |w| (relative to Glorot/He scales)."""
    w = fn(FAN_IN, FAN_OUT, np.random.default_rng(seed))
    return np.array([w.std(), np.abs(w).max()])


_CASES = [(fn, desc) for fn, entries in MISTAKES.items() for desc in entries]


def test_mistakes_cover_only_reference_functions():
    for fn in MISTAKES:
        assert callable(getattr(B, fn, None)), f"MISTAKES names {fn}, which the reference does not define"


@pytest.mark.parametrize("fn,desc", _CASES, ids=[f"{f}: {d}" for f, d in _CASES])
def test_each_mistake_differs_from_the_reference(fn, desc):
    mistake, reference = MISTAKES[fn][desc], getattr(B, fn)
    if fn in ("glorot_uniform", "he_normal"):
        # random draws: compare the std (1% sampling noise, see above) -- every mistake
        # changes it by at least 20% -- and the observed maximum |w|
        ref, got = _init_signature(reference, 15), _init_signature(mistake, 16)
        assert np.any(np.abs(got / ref - 1) > 0.1), f"{fn} mistake {desc!r}: same std and range {got} vs {ref}"
        return
    if fn == "clip_by_global_norm":
        # most mistakes show while clipping is active (clip_norm 1), one only while it is not (clip_norm 1e3)
        grads = [np.random.default_rng(17).normal(size=(3, 3)), 5.0 * np.random.default_rng(18).normal(size=4)]
        assert any(not outputs_close(mistake(grads, c), reference(grads, c)) for c in (1.0, 1e3)), desc
        return
    args = _generic_inputs()[fn]
    assert not outputs_close(mistake(*args), reference(*args)), f"{fn} mistake {desc!r} gives the reference output"


# --------------------------------------------------------------------------- clip_by_global_norm


def test_clip_by_global_norm_keeps_directions_and_caps_the_norm(rng):
    grads = [rng.normal(size=(3, 4)), rng.normal(size=5), rng.normal(size=(2, 1, 2))]
    before = [g.copy() for g in grads]
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    for clip_norm in (0.1 * norm, norm, 2.0 * norm):
        clipped, returned = B.clip_by_global_norm(grads, clip_norm)
        assert returned == pytest.approx(norm, rel=1e-14)
        new_norm = np.sqrt(sum(np.sum(c**2) for c in clipped))
        assert new_norm == pytest.approx(min(norm, clip_norm), rel=1e-12)
        factor = min(1.0, clip_norm / norm)
        for c, g in zip(clipped, grads):
            np.testing.assert_allclose(c, factor * g, rtol=1e-14)
    for g, b in zip(grads, before):
        np.testing.assert_array_equal(g, b)  # inputs untouched


@pytest.mark.parametrize("clip_norm", [0.0, -1.0, float("inf"), float("nan")])
def test_clip_by_global_norm_rejects_a_bad_clip_norm(clip_norm):
    with pytest.raises(ValueError, match="clip_norm"):
        B.clip_by_global_norm([np.ones(3)], clip_norm)


@pytest.mark.keras
def test_clip_by_global_norm_matches_tensorflow(rng):
    _keras()
    import tensorflow as tf

    grads = [rng.normal(scale=3, size=(4, 3)), rng.normal(size=3), rng.normal(scale=10, size=(2, 2, 2))]
    norm = np.sqrt(sum(np.sum(g**2) for g in grads))
    for clip_norm in (0.05 * norm, 0.999 * norm, norm, 3.0 * norm):
        ours, our_norm = B.clip_by_global_norm(grads, clip_norm)
        theirs, their_norm = tf.clip_by_global_norm([tf.constant(g) for g in grads], clip_norm)
        assert our_norm == pytest.approx(float(their_norm), rel=1e-12)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-15)
