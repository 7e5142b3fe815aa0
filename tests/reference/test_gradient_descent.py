"""Tests of the chapter 02 reference (gradient descent) and its known mistakes.

Tolerances:
* centred differences have truncation error h^2 |f'''| / 6 (~1e-10 for h = 1e-5 and
  O(1) derivatives) plus rounding error ~ eps_machine |f| / h (~1e-11 |f|), so the
  analytic gradients are compared with rtol 1e-7 and an atol of 1e-8 times the scale.
* For the (quadratic) regression loss the truncation error is 0: only the rounding
  term is left, and we use rtol 1e-7, atol 1e-7 (1 + |L|).
* Identities that hold exactly in exact arithmetic (full-batch SGD = GD, GD on a
  quadratic = the closed form) are compared with rtol 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.chapters.ch02_gradient_descent.mistakes import MISTAKES
from autograder.chapters.ch02_gradient_descent.reference import (
    gradient_descent,
    linear_regression_grad,
    linear_regression_loss,
    minibatch_indices,
    numerical_gradient,
    sgd_linear_regression,
)


# --------------------------------------------------------------------------- helpers
def regression_data(n=40, d=3, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w_true = rng.normal(size=d)
    b_true = 1.5
    y = X @ w_true + b_true + noise * rng.normal(size=n)
    return X, y, w_true, b_true


def same_output(a, b, rtol=1e-6, atol=1e-12):
    """True when two outputs (arrays, floats, tuples or lists of them) agree."""
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        if not isinstance(a, (tuple, list)) or not isinstance(b, (tuple, list)):
            return False
        return len(a) == len(b) and all(same_output(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


# --------------------------------------------------------------------------- numerical_gradient
GRADIENT_CASES = [
    # (name, f, analytic gradient, x)
    ("cubic, 1-D", lambda x: np.sum(x**3), lambda x: 3 * x**2,
     np.array([-1.3, 0.2, 0.7, 2.0])),
    ("sin times weights, 2-D", lambda x: np.sum(np.sin(x) * np.arange(1.0, 7.0).reshape(2, 3)),
     lambda x: np.cos(x) * np.arange(1.0, 7.0).reshape(2, 3),
     np.array([[0.1, -0.4, 1.2], [2.0, -3.0, 0.5]])),
    ("quadratic form, 1-D", lambda x: x @ np.array([[2.0, 1.0, 0.0], [0.5, 3.0, -1.0],
                                                    [0.0, 0.2, 1.0]]) @ x,
     lambda x: (np.array([[2.0, 1.0, 0.0], [0.5, 3.0, -1.0], [0.0, 0.2, 1.0]])
                + np.array([[2.0, 1.0, 0.0], [0.5, 3.0, -1.0], [0.0, 0.2, 1.0]]).T) @ x,
     np.array([0.3, -1.1, 0.8])),
    ("log-sum-exp, 3-D", lambda x: np.log(np.sum(np.exp(x))),
     lambda x: np.exp(x) / np.sum(np.exp(x)),
     np.linspace(-1.0, 1.0, 12).reshape(2, 3, 2)),
    ("exp, 0-D", lambda x: float(np.exp(x)), lambda x: np.exp(x), np.array(0.7)),
]


@pytest.mark.parametrize("name, f, grad, x", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_numerical_gradient_matches_analytic(name, f, grad, x):
    x_before = x.copy()
    got = numerical_gradient(f, x)
    expected = grad(x)
    assert got.shape == x.shape, f"{name}: shape {got.shape}, expected {x.shape}"
    assert got.dtype == np.float64
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-8 * scale, err_msg=name)
    np.testing.assert_array_equal(x, x_before, err_msg=f"{name}: x was modified")


def test_numerical_gradient_leaves_x_unchanged_and_f_sees_only_one_perturbation():
    x = np.array([1.0, 2.0, 3.0])
    seen = []

    def f(z):
        seen.append(z.copy())
        return float(np.sum(z**2))

    numerical_gradient(f, x, h=0.5)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    for z in seen:  # every call differs from x in exactly one entry, by +-h
        diff = z - x
        assert np.count_nonzero(diff) == 1
        assert np.isclose(np.max(np.abs(diff)), 0.5)


def test_numerical_gradient_accepts_integer_input():
    got = numerical_gradient(lambda z: float(np.sum(z**2)), np.array([1, 2]))
    np.testing.assert_allclose(got, [2.0, 4.0], rtol=1e-8)


@pytest.mark.parametrize("h", [0.0, -1e-5, float("nan")])
def test_numerical_gradient_rejects_bad_h(h):
    with pytest.raises(ValueError, match="h"):
        numerical_gradient(lambda z: float(np.sum(z)), np.ones(2), h=h)


def test_numerical_gradient_rejects_non_scalar_f():
    with pytest.raises(ValueError, match="scalar"):
        numerical_gradient(lambda z: z * 2, np.ones(3))


# --------------------------------------------------------------------------- loss and gradient
def test_linear_regression_loss_small_example():
    X = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    y = np.array([1.0, 2.0, 0.0])
    w = np.array([0.5, -1.0])
    b = 0.25
    # predictions 0.75, -1.75, -0.25; errors -0.25, -3.75, -0.25
    expected = (0.0625 + 14.0625 + 0.0625) / 3
    assert linear_regression_loss(X, y, w, b) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("n, d, seed", [(1, 1, 0), (5, 3, 1), (50, 4, 2)])
def test_linear_regression_grad_matches_numerical_gradient(n, d, seed):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    w, b = rng.normal(size=d), float(rng.normal())
    inputs = [a.copy() for a in (X, y, w)]
    dw, db = linear_regression_grad(X, y, w, b)

    def loss_of(theta):
        return linear_regression_loss(X, y, theta[:d], theta[d])

    num = numerical_gradient(loss_of, np.append(w, b))
    tol = 1e-7 * (1.0 + linear_regression_loss(X, y, w, b))
    assert dw.shape == (d,)
    assert isinstance(db, float)
    np.testing.assert_allclose(dw, num[:d], rtol=1e-7, atol=tol)
    assert db == pytest.approx(num[d], rel=1e-7, abs=tol)
    for before, after in zip(inputs, (X, y, w), strict=True):
        np.testing.assert_array_equal(before, after)


def test_linear_regression_grad_is_zero_at_least_squares_solution():
    X, y, _, _ = regression_data()
    A = np.column_stack([X, np.ones(len(y))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    dw, db = linear_regression_grad(X, y, theta[:-1], theta[-1])
    np.testing.assert_allclose(dw, 0.0, atol=1e-12)
    assert abs(db) < 1e-12


@pytest.mark.parametrize(
    "X, y, w, b, what",
    [
        (np.arange(100.0), np.arange(100.0), np.zeros(2), 0.0, "X must have shape"),  # article 002 §4.1
        (np.ones((4, 2)), np.ones(3), np.zeros(2), 0.0, "y must have shape"),
        (np.ones((4, 2)), np.ones(4), np.zeros(3), 0.0, "w must have shape"),
        (np.ones((4, 2)), np.ones((4, 1)), np.zeros(2), 0.0, "y must have shape"),
        (np.ones((4, 2)), np.ones(4), np.zeros(2), np.zeros(2), "b must be a scalar"),
    ],
)
def test_linear_regression_rejects_bad_shapes(X, y, w, b, what):
    with pytest.raises(ValueError, match=what):
        linear_regression_loss(X, y, w, b)
    with pytest.raises(ValueError, match=what):
        linear_regression_grad(X, y, w, b)


# --------------------------------------------------------------------------- gradient_descent
def test_gradient_descent_on_quadratic_matches_closed_form_and_converges():
    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    c = np.array([1.0, -2.0])
    w0 = np.array([4.0, 3.0])
    w0_before = w0.copy()
    lr, n_steps = 0.2, 200
    hist = gradient_descent(lambda w: A @ (w - c), w0, lr, n_steps)
    assert hist.shape == (n_steps + 1, 2)
    np.testing.assert_array_equal(hist[0], w0)
    np.testing.assert_array_equal(w0, w0_before)
    # w_k - c = (I - lr A)^k (w0 - c)
    M = np.eye(2) - lr * A
    for k in (1, 2, 10, 50):
        expected = c + np.linalg.matrix_power(M, k) @ (w0 - c)
        np.testing.assert_allclose(hist[k], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hist[-1], c, atol=1e-10)
    losses = [0.5 * (w - c) @ A @ (w - c) for w in hist]
    assert np.all(np.diff(losses) <= 0), "loss must not increase"


def test_gradient_descent_keeps_parameter_shape_and_zero_steps():
    w0 = np.ones((2, 3))
    hist = gradient_descent(lambda w: 2 * w, w0, 0.25, 3)
    assert hist.shape == (4, 2, 3)
    np.testing.assert_allclose(hist[3], 0.125 * w0)
    assert gradient_descent(lambda w: 2 * w, w0, 0.25, 0).shape == (1, 2, 3)


def test_gradient_descent_history_survives_a_mutating_grad_fn():
    def rude_grad(w):
        g = 2 * w
        w[...] = 1e6  # must not corrupt the history
        return g

    hist = gradient_descent(rude_grad, np.array([1.0]), 0.25, 2)
    np.testing.assert_allclose(hist[:, 0], [1.0, 0.5, 0.25])


def test_gradient_descent_rejects_bad_input():
    with pytest.raises(ValueError, match="shape"):
        gradient_descent(lambda w: np.ones(3), np.zeros(2), 0.1, 2)
    with pytest.raises(ValueError, match="n_steps"):
        gradient_descent(lambda w: w, np.zeros(2), 0.1, -1)
    with pytest.raises(ValueError, match="lr"):
        gradient_descent(lambda w: w, np.zeros(2), -0.1, 2)


# --------------------------------------------------------------------------- minibatch_indices
@pytest.mark.parametrize("n, batch_size", [(10, 3), (10, 5), (7, 1), (5, 8), (1, 1), (100, 32)])
def test_minibatch_indices_cover_each_index_once(n, batch_size):
    batches = minibatch_indices(n, batch_size, np.random.default_rng(0))
    sizes = [len(b) for b in batches]
    assert len(batches) == -(-n // batch_size)
    assert all(s == batch_size for s in sizes[:-1])
    assert 1 <= sizes[-1] <= batch_size
    assert sizes[-1] == (n % batch_size or min(batch_size, n))
    everything = np.concatenate(batches)
    assert np.issubdtype(everything.dtype, np.integer)
    np.testing.assert_array_equal(np.sort(everything), np.arange(n))


def test_minibatch_indices_shuffle_and_are_valid_for_any_stream():
    n, batch_size = 50, 8
    orders = []
    for seed in range(5):
        batches = minibatch_indices(n, batch_size, np.random.default_rng(seed))
        everything = np.concatenate(batches)
        np.testing.assert_array_equal(np.sort(everything), np.arange(n))
        orders.append(tuple(everything))
    assert len(set(orders)) == 5, "different rng streams should give different orders"
    assert tuple(range(n)) not in orders
    again = np.concatenate(minibatch_indices(n, batch_size, np.random.default_rng(3)))
    assert tuple(again) == orders[3], "the same seed must give the same epoch"


def test_minibatch_indices_successive_epochs_differ():
    rng = np.random.default_rng(1)
    first = np.concatenate(minibatch_indices(30, 4, rng))
    second = np.concatenate(minibatch_indices(30, 4, rng))
    assert not np.array_equal(first, second)


@pytest.mark.parametrize(
    "n, batch_size, rng, what",
    [(0, 2, np.random.default_rng(0), "n"), (5, 0, np.random.default_rng(0), "batch_size"),
     (5.5, 2, np.random.default_rng(0), "n"), (5, 2, np.random.RandomState(0), "Generator"),
     (5, 2, 0, "Generator")],
)
def test_minibatch_indices_rejects_bad_input(n, batch_size, rng, what):
    with pytest.raises(ValueError, match=what):
        minibatch_indices(n, batch_size, rng)


# --------------------------------------------------------------------------- sgd_linear_regression
def test_sgd_with_full_batch_equals_gradient_descent():
    X, y, _, _ = regression_data(n=30, d=2)
    lr, epochs = 0.1, 25
    w, b, losses = sgd_linear_regression(X, y, lr, len(y), epochs, np.random.default_rng(0))

    def grad(theta):
        dw, db = linear_regression_grad(X, y, theta[:-1], theta[-1])
        return np.append(dw, db)

    hist = gradient_descent(grad, np.zeros(3), lr, epochs)
    np.testing.assert_allclose(w, hist[-1, :-1], rtol=1e-12, atol=1e-14)
    assert b == pytest.approx(hist[-1, -1], rel=1e-12, abs=1e-14)
    expected_losses = [linear_regression_loss(X, y, t[:-1], t[-1]) for t in hist[1:]]
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12)


def test_sgd_recovers_true_weights_on_synthetic_data():
    X, y, w_true, b_true = regression_data(n=400, d=3, seed=5, noise=0.05)
    X_before, y_before = X.copy(), y.copy()
    w, b, losses = sgd_linear_regression(X, y, 0.05, 16, 40, np.random.default_rng(1))
    assert w.shape == (3,) and isinstance(b, float)
    assert losses.shape == (40,) and losses.dtype == np.float64
    np.testing.assert_allclose(w, w_true, atol=0.02)
    assert b == pytest.approx(b_true, abs=0.02)
    assert losses[-1] < 0.01 and losses[-1] < losses[0]
    assert losses[-1] == pytest.approx(linear_regression_loss(X, y, w, b), rel=1e-12)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_sgd_is_reproducible_and_depends_on_the_stream():
    X, y, _, _ = regression_data(n=50)
    run = lambda seed: sgd_linear_regression(X, y, 0.05, 7, 3, np.random.default_rng(seed))
    a, b, c = run(0), run(0), run(1)
    assert same_output(a, b, rtol=0, atol=0)
    assert not same_output(a, c)


def test_sgd_rejects_bad_input():
    X, y, _, _ = regression_data(n=10)
    with pytest.raises(ValueError, match="batch_size"):
        sgd_linear_regression(X, y, 0.1, 0, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="epochs"):
        sgd_linear_regression(X, y, 0.1, 2, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="y must have shape"):
        sgd_linear_regression(X, y[:-1], 0.1, 2, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="Generator"):
        sgd_linear_regression(X, y, 0.1, 2, 2, 42)


# --------------------------------------------------------------------------- mistakes
def _generic_call(name, impl):
    """Run impl (reference or mistake) for `name` on a generic input; fresh rng each time."""
    rng = np.random.default_rng(123)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    w, b = rng.normal(size=3), 0.7
    if name == "numerical_gradient":
        # h = 0.1: large enough that a mistake about the step h changes the answer (by ~h^2)
        return impl(lambda z: float(np.sum(z**3) + z[0] * z[1]), np.array([0.5, -1.0, 2.0]), 0.1)
    if name == "linear_regression_loss":
        return impl(X, y, w, b)
    if name == "linear_regression_grad":
        return impl(X, y, w, b)
    if name == "gradient_descent":
        A = np.array([[2.0, 0.3], [0.3, 1.0]])
        return impl(lambda z: A @ z - 1.0, np.array([1.0, -1.0]), 0.1, 5)
    if name == "minibatch_indices":
        return impl(10, 3, np.random.default_rng(7))
    if name == "sgd_linear_regression":
        Xs, ys, _, _ = regression_data(n=20, d=2, seed=3)
        return impl(Xs, ys, 0.05, 6, 3, np.random.default_rng(7))
    raise KeyError(name)


REFERENCE = {
    "numerical_gradient": numerical_gradient,
    "linear_regression_loss": linear_regression_loss,
    "linear_regression_grad": linear_regression_grad,
    "gradient_descent": gradient_descent,
    "minibatch_indices": minibatch_indices,
    "sgd_linear_regression": sgd_linear_regression,
}
MISTAKE_CASES = [(name, desc) for name, table in MISTAKES.items() for desc in table]


def test_every_graded_function_has_mistakes():
    assert set(MISTAKES) == set(REFERENCE)
    for name, table in MISTAKES.items():
        assert 2 <= len(table) <= 6, name
        assert all(callable(fn) for fn in table.values())


@pytest.mark.parametrize("name, desc", MISTAKE_CASES, ids=[f"{n}: {d}" for n, d in MISTAKE_CASES])
def test_mistake_differs_from_reference(name, desc):
    expected = _generic_call(name, REFERENCE[name])
    got = _generic_call(name, MISTAKES[name][desc])
    # rtol 1e-4: a mistake must not be a near miss that a loosely toleranced check accepts
    assert not same_output(got, expected, rtol=1e-4), f"{name}: '{desc}' gives the reference output"


@pytest.mark.parametrize("mistake", ["h ignored (always the default step 1e-5)",
                                     "x +- h/2 divided by h (a centred difference with half the step h)"])
def test_hidden_tests_use_a_step_h_that_changes_the_answer(mistake):
    import re

    from autograder.hidden import check_hidden
    from autograder.chapters.ch02_gradient_descent.mistakes import MISTAKES
    from dlcourse.checks.runner import CheckFailure

    with pytest.raises(CheckFailure, match=r"(?s)h = 0\.5.*matches " + re.escape(mistake)):
        check_hidden(MISTAKES["numerical_gradient"][mistake], "numerical_gradient")
