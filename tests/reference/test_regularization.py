"""Tests for autograder.chapters.ch05_regularization.reference (chapter 05) and its known mistakes."""

import os

import numpy as np
import pytest

from autograder.chapters.ch05_regularization import reference as R
from autograder.chapters.ch05_regularization.mistakes import MISTAKES
from tests.reference._numgrad import assert_grad_close, numerical_gradient, outputs_close


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return pytest.importorskip("keras")


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(4, 3)), rng.normal(size=(3,)), rng.normal(size=(2, 2, 2))]


def _regression(seed=0, n=40, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + 0.5
    y = X @ rng.normal(size=d) + 3.0 + 0.1 * rng.normal(size=n)
    return X, y


def _ridge_loss(X, y, w, b, lam):
    return np.mean((X @ w + b - y) ** 2) + lam * np.sum(w**2)


# --------------------------------------------------------------------------- penalties

def test_l2_penalty_is_lam_times_sum_of_squares_over_all_arrays_without_half():
    ws = _weights()
    expected = 0.01 * sum(np.sum(w**2) for w in ws)
    assert R.l2_penalty(ws, 0.01) == pytest.approx(expected, rel=1e-12)
    assert isinstance(R.l2_penalty(ws, 0.01), float)


def test_penalties_accept_a_single_array():
    w = _weights()[0]
    assert R.l2_penalty(w, 0.1) == pytest.approx(0.1 * np.sum(w**2), rel=1e-12)
    assert R.l1_penalty(w, 0.1) == pytest.approx(0.1 * np.sum(np.abs(w)), rel=1e-12)


def test_l1_penalty_is_lam_times_sum_of_abs():
    ws = _weights(1)
    assert R.l1_penalty(ws, 0.3) == pytest.approx(0.3 * sum(np.sum(np.abs(w)) for w in ws), rel=1e-12)


def test_elastic_net_is_l1_plus_l2():
    ws = _weights(2)
    expected = R.l1_penalty(ws, 0.2) + R.l2_penalty(ws, 0.05)
    assert R.elastic_net_penalty(ws, 0.2, 0.05) == pytest.approx(expected, rel=1e-12)


def test_l2_penalty_grad_matches_numerical_gradient():
    w = np.random.default_rng(3).normal(size=(4, 3))
    numeric = numerical_gradient(lambda v: R.l2_penalty(v, 0.07), w)
    assert_grad_close(R.l2_penalty_grad(w, 0.07), numeric, "l2_penalty_grad")
    np.testing.assert_allclose(R.l2_penalty_grad(w, 0.07), 2 * 0.07 * w, rtol=1e-14)


def test_l1_penalty_grad_matches_numerical_gradient_away_from_zero():
    rng = np.random.default_rng(4)
    w = rng.uniform(0.1, 1.0, size=(5, 2)) * rng.choice([-1.0, 1.0], size=(5, 2))  # |w| >> h: no kink in reach
    numeric = numerical_gradient(lambda v: R.l1_penalty(v, 0.3), w)
    assert_grad_close(R.l1_penalty_grad(w, 0.3), numeric, "l1_penalty_grad")


def test_l1_penalty_grad_is_zero_at_zero():
    np.testing.assert_array_equal(R.l1_penalty_grad(np.array([-2.0, 0.0, 3.0]), 0.5), [-0.5, 0.0, 0.5])


def test_sgd_step_with_l2_is_weight_decay():
    # w - lr (g + 2 lam w) == (1 - 2 lr lam) w - lr g: under plain SGD an L2 penalty
    # is exactly weight decay with factor 2 lr lam (not so under Adam: see AdamW).
    rng = np.random.default_rng(5)
    w, g, lr, lam = rng.normal(size=6), rng.normal(size=6), 0.1, 0.01
    np.testing.assert_allclose(w - lr * (g + R.l2_penalty_grad(w, lam)), (1 - 2 * lr * lam) * w - lr * g, rtol=1e-13)


@pytest.mark.parametrize("bad", [-0.1, np.nan, np.inf, "a"])
def test_penalties_reject_a_bad_strength(bad):
    w = np.ones(3)
    for call in (lambda: R.l2_penalty(w, bad), lambda: R.l2_penalty_grad(w, bad), lambda: R.l1_penalty(w, bad),
                 lambda: R.l1_penalty_grad(w, bad), lambda: R.elastic_net_penalty(w, bad, 0.1),
                 lambda: R.elastic_net_penalty(w, 0.1, bad)):
        with pytest.raises(ValueError):
            call()


def test_penalties_do_not_modify_inputs():
    ws = _weights()
    before = [w.copy() for w in ws]
    R.l2_penalty(ws, 0.1)
    R.l1_penalty(ws, 0.1)
    R.l2_penalty_grad(ws[0], 0.1)
    R.l1_penalty_grad(ws[0], 0.1)
    for w, b in zip(ws, before, strict=True):
        np.testing.assert_array_equal(w, b)


# --------------------------------------------------------------------------- ridge regression

def test_ridge_regression_grad_matches_numerical_gradient():
    X, y = _regression()
    rng = np.random.default_rng(6)
    w, b, lam = rng.normal(size=X.shape[1]), 0.7, 0.05
    dw, db = R.ridge_regression_grad(X, y, w, b, lam)
    assert_grad_close(dw, numerical_gradient(lambda v: _ridge_loss(X, y, v, b, lam), w), "dw")
    assert_grad_close(db, numerical_gradient(lambda c: _ridge_loss(X, y, w, float(c), lam), np.array(b)), "db")
    assert isinstance(db, float)


def test_ridge_regression_grad_does_not_penalize_the_bias():
    X, y = _regression()
    w, b = np.zeros(X.shape[1]), 5.0
    _, db0 = R.ridge_regression_grad(X, y, w, b, 0.0)
    _, db1 = R.ridge_regression_grad(X, y, w, b, 10.0)
    assert db0 == pytest.approx(db1, rel=1e-14)


@pytest.mark.parametrize("lam", [0.0, 0.01, 1.0])
def test_ridge_closed_form_has_zero_gradient(lam):
    X, y = _regression()
    w, b = R.ridge_closed_form(X, y, lam)
    dw, db = R.ridge_regression_grad(X, y, w, b, lam)
    np.testing.assert_allclose(dw, 0.0, atol=1e-10)
    assert abs(db) < 1e-10


def test_ridge_closed_form_equals_the_gradient_descent_minimum():
    X, y = _regression(7)
    lam = 0.1
    w_cf, b_cf = R.ridge_closed_form(X, y, lam)
    # the loss is a quadratic whose Hessian in (w, b) is 2/n [X 1]^T [X 1] + 2 lam diag(1..1, 0);
    # lr = 1 / largest eigenvalue guarantees convergence; 5000 steps reach ~1e-12
    n = X.shape[0]
    Xa = np.hstack([X, np.ones((n, 1))])
    H = 2.0 / n * Xa.T @ Xa + 2.0 * lam * np.diag([1.0] * X.shape[1] + [0.0])
    lr = 1.0 / np.linalg.eigvalsh(H).max()
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(5000):
        dw, db = R.ridge_regression_grad(X, y, w, b, lam)
        w, b = w - lr * dw, b - lr * db
    np.testing.assert_allclose(w, w_cf, rtol=1e-8, atol=1e-10)
    assert b == pytest.approx(b_cf, rel=1e-8)
    assert _ridge_loss(X, y, w_cf, b_cf, lam) <= _ridge_loss(X, y, w, b, lam) + 1e-12


@pytest.mark.parametrize("lam", [0.0, 0.03, 2.0])
def test_ridge_closed_form_equals_sklearn_ridge_with_alpha_n_lam(lam):
    sklearn_linear = pytest.importorskip("sklearn.linear_model")
    # sklearn's Ridge minimizes ||y - X w - b||^2 + alpha ||w||^2 (a SUM, intercept not
    # penalized); ours is that divided by n with lam = alpha / n, so alpha = n * lam.
    X, y = _regression(8, n=30, d=4)
    w, b = R.ridge_closed_form(X, y, lam)
    model = sklearn_linear.Ridge(alpha=X.shape[0] * lam, fit_intercept=True, solver="cholesky").fit(X, y)
    np.testing.assert_allclose(w, model.coef_, rtol=1e-9, atol=1e-12)
    assert b == pytest.approx(model.intercept_, rel=1e-9)


def test_ridge_closed_form_with_zero_lam_is_least_squares():
    X, y = _regression(9)
    w, b = R.ridge_closed_form(X, y, 0.0)
    theta = np.linalg.lstsq(np.hstack([X, np.ones((X.shape[0], 1))]), y, rcond=None)[0]
    np.testing.assert_allclose(np.append(w, b), theta, rtol=1e-9)


def test_ridge_shrinks_weights_as_lam_grows():
    X, y = _regression(10)
    norms = [np.linalg.norm(R.ridge_closed_form(X, y, lam)[0]) for lam in (0.0, 0.1, 1.0, 10.0)]
    assert all(a > b for a, b in zip(norms, norms[1:], strict=False)), norms


def test_ridge_rejects_bad_shapes_and_singular_systems():
    X, y = _regression()
    with pytest.raises(ValueError):
        R.ridge_closed_form(X, y[:-1], 0.1)
    with pytest.raises(ValueError):
        R.ridge_closed_form(X[0], y, 0.1)
    with pytest.raises(ValueError):
        R.ridge_regression_grad(X, y, np.zeros(X.shape[1] + 1), 0.0, 0.1)
    with pytest.raises(ValueError):
        R.ridge_regression_grad(X, y, np.zeros(X.shape[1]), np.zeros(2), 0.1)
    with pytest.raises(ValueError):
        R.ridge_closed_form(X, y, -1.0)
    X_dup = np.hstack([X, X[:, :1]])  # collinear columns, lam = 0: no unique solution
    with pytest.raises(ValueError):
        R.ridge_closed_form(X_dup, y, 0.0)


def test_ridge_does_not_modify_inputs():
    X, y = _regression()
    X0, y0, w = X.copy(), y.copy(), np.ones(X.shape[1])
    R.ridge_closed_form(X, y, 0.1)
    R.ridge_regression_grad(X, y, w, 0.0, 0.1)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(w, np.ones(X.shape[1]))


# --------------------------------------------------------------------------- Keras

@pytest.mark.keras
def test_penalties_match_keras_regularizers():
    keras = _keras()
    w = _weights(11)[0]
    # Keras sums in the input's dtype (float64 here) but its strength passes through
    # float32 on the way (ops.cast of a Python float): L2(0.01) really multiplies by
    # float32(0.01) = 0.0099999998. So: 2e-8 relative against our exact 0.01, and
    # agreement to rounding (1e-12) once we use the float32-rounded strength too.
    f32 = lambda v: float(np.float32(v))  # noqa: E731
    assert R.l2_penalty(w, 0.01) == pytest.approx(float(keras.regularizers.L2(0.01)(w)), rel=1e-7)
    assert R.l2_penalty(w, f32(0.01)) == pytest.approx(float(keras.regularizers.L2(0.01)(w)), rel=1e-12)
    assert R.l1_penalty(w, f32(0.02)) == pytest.approx(float(keras.regularizers.L1(0.02)(w)), rel=1e-12)
    assert R.elastic_net_penalty(w, f32(0.02), f32(0.01)) == pytest.approx(
        float(keras.regularizers.L1L2(l1=0.02, l2=0.01)(w)), rel=1e-12)
    ws = _weights(12)  # over a list: the sum of what Keras adds for each kernel
    per_kernel = sum(float(keras.regularizers.L2(0.01)(v)) for v in ws)
    assert R.l2_penalty(ws, f32(0.01)) == pytest.approx(per_kernel, rel=1e-12)


# --------------------------------------------------------------------------- known mistakes

def _generic_inputs():
    ws = _weights(13)
    w = np.random.default_rng(14).normal(size=(3, 4))
    X, y = _regression(15)
    wr = np.random.default_rng(16).normal(size=X.shape[1])
    return {
        "l2_penalty": (ws, 0.03),
        "l2_penalty_grad": (w, 0.03),
        "l1_penalty": (ws, 0.03),
        "l1_penalty_grad": (w, 0.03),
        "elastic_net_penalty": (ws, 0.03, 0.2),
        "ridge_regression_grad": (X, y, wr, 0.8, 0.05),
        "ridge_closed_form": (X, y, 0.05),
    }


_CASES = [(fn, desc) for fn, entries in MISTAKES.items() for desc in entries]


def test_mistakes_cover_only_reference_functions():
    for fn in MISTAKES:
        assert callable(getattr(R, fn, None)), f"MISTAKES names {fn}, which the reference does not define"


@pytest.mark.parametrize("fn,desc", _CASES, ids=[f"{f}: {d}" for f, d in _CASES])
def test_each_mistake_differs_from_the_reference(fn, desc):
    args = _generic_inputs()[fn]
    expected = getattr(R, fn)(*args)
    got = MISTAKES[fn][desc](*args)
    assert not outputs_close(got, expected), f"{fn} mistake {desc!r} gives the reference output on a generic input"
