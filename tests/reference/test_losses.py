"""The chapter 01 reference losses: numerical gradients, stability, and agreement with Keras."""

import numpy as np
import pytest

from autograder.chapters.ch01_losses import reference as ref
from tests.helpers import numerical_gradient

# Centred differences with h = 1e-6 have truncation error O(h^2) ~ 1e-12 and rounding
# error ~ eps * |L| / h ~ 1e-10 for losses of order 1: 1e-6 relative is a safe bound.
GRAD_RTOL, GRAD_ATOL = 1e-6, 1e-8


@pytest.mark.parametrize("shape", [(5,), (4, 3), (2, 3, 2)])
def test_mse_grad_matches_numerical_gradient(rng, shape):
    y, y_hat = rng.normal(size=shape), rng.normal(size=shape)
    numeric = numerical_gradient(lambda p: ref.mse(y, p), y_hat)
    np.testing.assert_allclose(ref.mse_grad(y, y_hat), numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL)


@pytest.mark.parametrize("shape", [(6,), (3, 4)])
def test_bce_grad_matches_numerical_gradient_inside_the_clip_range(rng, shape):
    y = rng.integers(0, 2, size=shape).astype(float)
    p = rng.uniform(0.05, 0.95, size=shape)
    numeric = numerical_gradient(lambda q: ref.binary_cross_entropy(y, q), p)
    np.testing.assert_allclose(ref.binary_cross_entropy_grad(y, p), numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL)


def test_bce_grad_is_zero_where_the_clip_is_active():
    y = np.array([1.0, 0.0, 1.0])
    p = np.array([0.0, 1.0, 1e-12])
    np.testing.assert_array_equal(ref.binary_cross_entropy_grad(y, p), 0.0)


@pytest.mark.parametrize("n,k", [(1, 2), (5, 3), (8, 10)])
def test_softmax_cross_entropy_grad_matches_numerical_gradient(rng, n, k):
    logits, labels = rng.normal(size=(n, k)), rng.integers(0, k, size=n)
    numeric = numerical_gradient(lambda z: ref.softmax_cross_entropy(z, labels), logits)
    np.testing.assert_allclose(ref.softmax_cross_entropy_grad(logits, labels), numeric, rtol=GRAD_RTOL, atol=GRAD_ATOL)


def test_logits_form_equals_bce_of_the_sigmoid_where_both_are_accurate(rng):
    y = rng.integers(0, 2, size=50).astype(float)
    z = rng.normal(scale=3, size=50)
    p = 1 / (1 + np.exp(-z))
    assert ref.sigmoid_bce_with_logits(y, z) == pytest.approx(ref.binary_cross_entropy(y, p, eps=1e-300), rel=1e-12)


def test_stable_functions_stay_finite_for_huge_logits():
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -999.0, -1000.0]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine; overflow, log 0, nan are not
        p = ref.softmax(z)
        logp = ref.log_softmax(z)
        loss = ref.softmax_cross_entropy(z, np.array([1, 0]))
        bce = ref.sigmoid_bce_with_logits(np.array([1.0, 0.0]), np.array([-1000.0, 1000.0]))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    assert np.all(np.isfinite(logp)) and logp[0, 1] == pytest.approx(-2000.0)
    assert loss == pytest.approx((2000.0 + 1.0 + np.log1p(np.exp(-1.0)) + np.log1p(np.exp(-2.0)) * 0) / 2, rel=1e-3)
    assert bce == pytest.approx(1000.0)


def test_log_softmax_is_log_of_softmax_for_moderate_logits(rng):
    z = rng.normal(size=(4, 6))
    np.testing.assert_allclose(ref.log_softmax(z), np.log(ref.softmax(z)), rtol=1e-12, atol=1e-12)


def test_huber_is_continuous_at_delta():
    for delta in (0.5, 1.0, 3.0):
        inside = ref.huber(np.zeros(1), np.array([delta]), delta)
        outside = ref.huber(np.zeros(1), np.array([delta * (1 + 1e-9)]), delta)
        assert outside == pytest.approx(inside, rel=1e-6)


@pytest.mark.parametrize("fn", [ref.mse, ref.huber, ref.binary_cross_entropy])
def test_mismatched_shapes_raise_value_error(fn):
    with pytest.raises(ValueError, match="shape"):
        fn(np.ones(3), np.full((3, 1), 0.5))


# Agreement with Keras. Keras computes losses in its float type (float32 by default); the
# fixture switches it to float64 so agreement is to ~1e-12 rather than ~1e-7.
@pytest.fixture(scope="module")
def keras():
    keras = pytest.importorskip("keras")
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield keras
    keras.config.set_floatx(previous)


@pytest.mark.keras
def test_losses_agree_with_keras(keras, rng):
    import tensorflow as tf

    def k(loss, *args):
        return float(loss(*[tf.constant(a) for a in args]))

    y, y_hat = rng.normal(size=(6, 3)), rng.normal(scale=2, size=(6, 3))
    # Keras averages over the last axis per sample, then over samples: the same as one mean
    # over all elements for equal-length rows.
    assert ref.mse(y, y_hat) == pytest.approx(k(keras.losses.MeanSquaredError(), y, y_hat), rel=1e-12)
    for delta in (0.5, 1.0, 2.0):
        assert ref.huber(y, y_hat, delta) == pytest.approx(k(keras.losses.Huber(delta=delta), y, y_hat), rel=1e-12)

    t = rng.integers(0, 2, size=(6, 3)).astype(float)
    p = rng.uniform(0.01, 0.99, size=(6, 3))
    # Keras clips with its backend epsilon (1e-7), as we do.
    assert ref.binary_cross_entropy(t, p) == pytest.approx(k(keras.losses.BinaryCrossentropy(), t, p), rel=1e-9)
    z = rng.normal(scale=20, size=(6, 3))
    assert ref.sigmoid_bce_with_logits(t, z) == pytest.approx(
        k(keras.losses.BinaryCrossentropy(from_logits=True), t, z), rel=1e-9)

    logits, labels = rng.normal(scale=5, size=(7, 4)), rng.integers(0, 4, size=7)
    expected = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        tf.constant(labels), tf.constant(logits)))
    assert ref.softmax_cross_entropy(logits, labels) == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(ref.softmax(logits), keras.ops.convert_to_numpy(keras.ops.softmax(tf.constant(logits))),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ref.log_softmax(logits),
                               keras.ops.convert_to_numpy(keras.ops.log_softmax(tf.constant(logits))), rtol=1e-12)


@pytest.mark.keras
def test_gradients_agree_with_tensorflow_autodiff(keras, rng):
    import tensorflow as tf

    logits, labels = rng.normal(size=(5, 3)), rng.integers(0, 3, size=5)
    z = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(tf.constant(labels), z)
    np.testing.assert_allclose(ref.softmax_cross_entropy_grad(logits, labels), tape.gradient(loss, z).numpy(),
                               rtol=1e-10, atol=1e-14)


def test_label_smoothing_is_a_mix_of_cross_entropy_and_the_uniform_target(rng):
    # (1 - s) onehot + s/K as targets: L = (1 - s) CE + s * mean over rows of (-mean_k log p_k).
    logits, labels = rng.normal(scale=3, size=(9, 5)), rng.integers(0, 5, size=9)
    for s in (0.0, 0.1, 0.6):
        expected = (1 - s) * ref.softmax_cross_entropy(logits, labels) - s * np.mean(ref.log_softmax(logits))
        assert ref.label_smoothing_cross_entropy(logits, labels, s) == pytest.approx(expected, rel=1e-12)


def test_label_smoothing_optimum_is_finite_with_the_stated_logit_gap():
    # The loss is minimized where softmax(z) equals the smoothed target: the label's logit exceeds
    # the others by log(1 + K (1 - s) / s), and moving either way raises the loss.
    k, s = 10, 0.1
    gap = np.log(1 + k * (1 - s) / s)
    z = np.zeros((1, k))
    z[0, 0] = gap
    best = ref.label_smoothing_cross_entropy(z, np.array([0]), s)
    for d in (-0.5, 0.5, 5.0):
        zz = z.copy()
        zz[0, 0] += d
        assert ref.label_smoothing_cross_entropy(zz, np.array([0]), s) > best
    np.testing.assert_allclose(ref.softmax(z)[0, 0], 1 - s + s / k, rtol=1e-12)


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, 2.0])
def test_label_smoothing_rejects_a_smoothing_outside_zero_one(smoothing):
    with pytest.raises(ValueError, match="smoothing"):
        ref.label_smoothing_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), smoothing)


@pytest.mark.keras
def test_label_smoothing_agrees_with_keras(keras, rng):
    import tensorflow as tf

    for n, k, scale in [(7, 4, 5.0), (3, 2, 1e-2), (5, 30, 50.0)]:
        logits, labels = rng.normal(scale=scale, size=(n, k)), rng.integers(0, k, size=n)
        onehot = np.eye(k)[labels]
        for s in (0.0, 0.1, 0.35):
            expected = float(keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=s)(
                tf.constant(onehot), tf.constant(logits)))
            assert ref.label_smoothing_cross_entropy(logits, labels, s) == pytest.approx(expected, rel=1e-9)
