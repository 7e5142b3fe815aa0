"""What chapter 02 (gradient descent) claims, checked with the reference implementations; and
the chapter's checks accept other correct implementations (other uses of the rng, other loops)
while rejecting plausible wrong ones that are not in the mistakes catalogue."""

import numpy as np
import pytest

from autograder.chapters.ch02_gradient_descent.reference import (gradient_descent, linear_regression_grad,
                                                                  linear_regression_loss, minibatch_indices,
                                                                  numerical_gradient, sgd_linear_regression)
from autograder.hidden import check_hidden
from dlcourse.checks import CheckFailure, check

A = np.array([[3.0, 0.5], [0.5, 1.0]])
LAM = np.linalg.eigvalsh(A)


# ----------------------------------------------------------------------------- numerical gradient
def test_centred_error_is_second_order_and_one_sided_first_order():
    """The h-figure: in the truncation regime the error slopes are 2 (centred) and 1 (one-sided)."""
    hs = np.array([1e-2, 1e-3])
    centred = [abs(numerical_gradient(lambda z: float(np.sin(z[0])), np.array([1.0]), h=h)[0] - np.cos(1.0)) for h in hs]
    one_sided = [abs((np.sin(1.0 + h) - np.sin(1.0)) / h - np.cos(1.0)) for h in hs]
    assert np.log10(centred[0] / centred[1]) == pytest.approx(2.0, abs=0.05)
    assert np.log10(one_sided[0] / one_sided[1]) == pytest.approx(1.0, abs=0.05)
    grid = np.logspace(-13, -1, 49)
    errors = [abs(numerical_gradient(lambda z: float(np.sin(z[0])), np.array([1.0]), h=h)[0] - np.cos(1.0)) for h in grid]
    assert 1e-7 <= grid[int(np.argmin(errors))] <= 1e-4, "the best centred step is near eps^(1/3) ~ 1e-5"


def test_a_missing_factor_2_is_caught_by_the_relative_error():
    rng = np.random.default_rng(0)
    X, y, w, b = rng.normal(size=(20, 3)), rng.normal(size=20), rng.normal(size=3), 0.5
    numeric = numerical_gradient(lambda t: linear_regression_loss(X, y, t[:-1], t[-1]), np.append(w, b))
    analytic = np.append(*linear_regression_grad(X, y, w, b))
    rel = lambda a, c: np.linalg.norm(a - c) / (np.linalg.norm(a) + np.linalg.norm(c))
    assert rel(analytic, numeric) < 1e-9
    assert rel(analytic / 2, numeric) == pytest.approx(1 / 3, rel=1e-6)


# ----------------------------------------------------------------------------- learning rate
@pytest.mark.parametrize("lr, behaviour", [(0.1, "monotone"), (0.5, "oscillating"), (0.62, "oscillating"),
                                           (0.66, "diverging")])
def test_the_four_learning_rates_of_the_contour_figure(lr, behaviour):
    path = gradient_descent(lambda w: A @ w, np.array([-2.5, 2.0]), lr, 25)
    factors = 1 - lr * LAM
    if behaviour == "diverging":
        assert np.max(np.abs(factors)) > 1 and np.linalg.norm(path[-1]) > 2 * np.linalg.norm(path[0])
    else:
        assert np.max(np.abs(factors)) < 1 and np.linalg.norm(path[-1]) < np.linalg.norm(path[0])
        assert (np.min(factors) < 0) == (behaviour == "oscillating")


def test_divergence_starts_exactly_at_two_over_lambda_max():
    limit = 2 / LAM[-1]
    assert limit == pytest.approx(0.6414, abs=1e-4)
    assert 2 / LAM.sum() == pytest.approx(0.5)
    start = np.array([-2.5, 2.0])
    for lr in (0.99 * limit, 1.01 * limit):
        grew = np.linalg.norm(gradient_descent(lambda w: A @ w, start, lr, 2000)[-1]) > np.linalg.norm(start)
        assert grew == (lr > limit)


def test_numerical_hessian_of_the_regression_and_its_limit():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3)) * np.array([1.0, 2.0, 0.5]) + np.array([0.0, 1.0, 0.0])
    y = X @ np.array([1.0, -1.0, 2.0]) + 0.5 + 0.3 * rng.normal(size=200)
    grad = lambda t: np.append(*linear_regression_grad(X, y, t[:-1], t[-1]))
    H = np.array([numerical_gradient(lambda t, j=j: grad(t)[j], np.zeros(4)) for j in range(4)])
    X_tilde = np.column_stack([X, np.ones(200)])
    np.testing.assert_allclose(H, 2 / 200 * X_tilde.T @ X_tilde, atol=1e-6)
    limit = 2 / np.linalg.eigvalsh((H + H.T) / 2)[-1]
    loss = lambda t: linear_regression_loss(X, y, t[:-1], t[-1])
    start = loss(np.zeros(4))
    assert loss(gradient_descent(grad, np.zeros(4), 0.95 * limit, 60)[-1]) < 0.1 * start
    assert loss(gradient_descent(grad, np.zeros(4), 1.05 * limit, 60)[-1]) > 1e3 * start


# ----------------------------------------------------------------------------- the articles' code
def test_article_002_gradient_descent_code_fails_and_the_fix_is_least_squares():
    rng = np.random.default_rng(0)
    x = np.linspace(-1, 1, 100)
    y = 2 * x + rng.normal(size=100)
    with pytest.raises(ValueError, match="not aligned"):
        np.dot(x, np.zeros(2))
    X_tilde = np.column_stack([x, np.ones_like(x)])
    with pytest.raises(ValueError):  # article 002 §4.2's "gradient" has the data's shape
        theta = np.zeros(2)
        theta -= 0.01 * (2 * np.random.default_rng(1).random(100) * (X_tilde @ theta - y))
    grad = lambda t: np.append(*linear_regression_grad(x[:, None], y, t[:-1], t[-1]))
    path = gradient_descent(grad, np.zeros(2), 0.5, 200)
    np.testing.assert_allclose(path[-1], np.linalg.lstsq(X_tilde, y, rcond=None)[0], atol=1e-8)


def test_article_004_code_converges_to_mean_ratio_not_to_the_line():
    rng = np.random.default_rng(4)
    X = rng.random((100, 1))
    y = 3 * X + 2 + rng.random((100, 1))
    theta = rng.random((1, 1))
    for _ in range(1000):
        theta = theta - 0.01 * (X @ theta - y).mean(axis=0)
    assert theta[0, 0] == pytest.approx(y.mean() / X.mean(), rel=0.01)
    grad = lambda t: np.append(*linear_regression_grad(X, y[:, 0], t[:-1], t[-1]))
    w, b = gradient_descent(grad, np.zeros(2), 0.5, 2000)[-1]
    assert w == pytest.approx(3.0, abs=0.2) and b == pytest.approx(2.5, abs=0.15)


# ----------------------------------------------------------------------------- batch sizes
def _big_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1024, 8))
    y = X @ rng.normal(size=8) + 1.0 + 0.5 * rng.normal(size=1024)
    theta = np.linalg.lstsq(np.column_stack([X, np.ones(1024)]), y, rcond=None)[0]
    return X, y, linear_regression_loss(X, y, theta[:-1], theta[-1])


def test_batch_size_figure_ordering():
    """Same lr 0.02, 20 epochs: the noise floor falls with B, full batch at that lr is the slowest, and full
    batch with lr 0.5 reaches the minimum."""
    X, y, best = _big_problem()
    excess = {}
    for batch_size, lr in [(1, 0.02), (8, 0.02), (64, 0.02), (1024, 0.02), (1024, 0.5)]:
        excess[(batch_size, lr)] = sgd_linear_regression(X, y, lr, batch_size, 20, np.random.default_rng(1))[2][-1] - best
    assert excess[(1, 0.02)] > excess[(8, 0.02)] > excess[(64, 0.02)]
    assert excess[(1024, 0.02)] > excess[(1, 0.02)]
    assert excess[(1024, 0.5)] < 1e-12


def test_minibatch_gradient_noise_follows_the_sampling_formula():
    X, y, _ = _big_problem()
    n, w, b = 1024, np.zeros(8), 0.0
    full = np.append(*linear_regression_grad(X, y, w, b))
    per_sample = np.array([np.append(*linear_regression_grad(X[i:i + 1], y[i:i + 1], w, b)) for i in range(n)])
    sigma2 = np.mean(np.sum((per_sample - full) ** 2, axis=1))
    rng = np.random.default_rng(2)
    for batch_size in (1, 16, 512):
        draws = [np.sum((np.append(*linear_regression_grad(X[idx], y[idx], w, b)) - full) ** 2)
                 for idx in (minibatch_indices(n, batch_size, rng)[0] for _ in range(400))]
        expected = sigma2 / batch_size * (n - batch_size) / (n - 1)
        assert np.mean(draws) == pytest.approx(expected, rel=0.2)


# ----------------------------------------------------------------------------- other correct implementations
def _mb_shuffle(n, batch_size, rng):
    if not isinstance(rng, np.random.Generator) or n < 1 or batch_size < 1:
        raise ValueError("bad input")
    idx = np.arange(n)
    rng.shuffle(idx)
    return [idx[s:s + batch_size] for s in range(0, n, batch_size)]


def _mb_choice_sorted_batches(n, batch_size, rng):
    if not isinstance(rng, np.random.Generator) or n < 1 or batch_size < 1:
        raise ValueError("bad input")
    idx = rng.choice(n, size=n, replace=False)
    return [np.sort(idx[s:s + batch_size]) for s in range(0, n, batch_size)]


def _mb_argsort(n, batch_size, rng):
    if not isinstance(rng, np.random.Generator) or n < 1 or batch_size < 1:
        raise ValueError("bad input")
    idx = np.argsort(rng.random(n))
    return list(np.split(idx, np.arange(batch_size, n, batch_size)))


def _mb_rotation(n, batch_size, rng):
    """Wrong: a random rotation of range(n) is not a uniform shuffle."""
    if not isinstance(rng, np.random.Generator) or n < 1 or batch_size < 1:
        raise ValueError("bad input")
    idx = np.roll(np.arange(n), int(rng.integers(n)))
    return [idx[s:s + batch_size] for s in range(0, n, batch_size)]


@pytest.mark.parametrize("impl", [_mb_shuffle, _mb_choice_sorted_batches, _mb_argsort])
def test_other_valid_shuffles_pass_visible_and_hidden_checks(impl):
    check(impl, "minibatch_indices")
    check_hidden(impl, "minibatch_indices")


def test_a_rotation_is_not_a_shuffle():
    with pytest.raises(CheckFailure, match="possible splits"):
        check_hidden(_mb_rotation, "minibatch_indices")


def _sgd_design_matrix(X, y, lr, batch_size, epochs, rng):
    """Correct, written differently: a column of ones, its own permutations, reversed batch order."""
    if not isinstance(rng, np.random.Generator) or batch_size < 1 or epochs < 1:
        raise ValueError("bad input")
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    Xt = np.column_stack([X, np.ones(len(y))])
    theta, losses = np.zeros(Xt.shape[1]), []
    for _ in range(epochs):
        perm = rng.permutation(len(y))[::-1]
        for s in range(0, len(y), batch_size):
            idx = perm[s:s + batch_size]
            theta = theta - lr * 2 * Xt[idx].T @ (Xt[idx] @ theta - y[idx]) / len(idx)
        losses.append(np.mean((Xt @ theta - y) ** 2))
    return theta[:-1], theta[-1], np.array(losses)


def _sgd_loop(X, y, lr, batch_size, epochs, rng, batches, batch_grad):
    """An SGD loop over batches(n, batch_size, rng) with batch_grad(X_batch, y_batch, w, b) -> (dw, db)."""
    if not isinstance(rng, np.random.Generator) or batch_size < 1 or epochs < 1:
        raise ValueError("bad input")
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    w, b, losses = np.zeros(X.shape[1]), 0.0, np.empty(epochs)
    for e in range(epochs):
        for idx in batches(len(y), batch_size, rng):
            dw, db = batch_grad(X[idx], y[idx], w, b)
            w, b = w - lr * dw, b - lr * db
        losses[e] = linear_regression_loss(X, y, w, b)
    return w, b, losses


def _mean_of_sample_gradients(Xb, yb, w, b):
    grads = [linear_regression_grad(Xb[i:i + 1], yb[i:i + 1], w, b) for i in range(len(yb))]
    return np.mean([g[0] for g in grads], axis=0), np.mean([g[1] for g in grads])


def _sgd_mean_of_sample_gradients(X, y, lr, batch_size, epochs, rng):
    """Correct: the batch gradient as the mean of per-sample gradients, batches from rng.shuffle."""
    return _sgd_loop(X, y, lr, batch_size, epochs, rng, _mb_shuffle, _mean_of_sample_gradients)


def _batches_with_replacement(n, batch_size, rng):
    return [rng.integers(0, n, size=min(batch_size, n)) for _ in range(-(-n // batch_size))]


def _sgd_with_replacement(X, y, lr, batch_size, epochs, rng):
    """Wrong: batches drawn with replacement."""
    return _sgd_loop(X, y, lr, batch_size, epochs, rng, _batches_with_replacement, linear_regression_grad)


@pytest.mark.parametrize("impl", [_sgd_design_matrix, _sgd_mean_of_sample_gradients])
def test_other_valid_sgd_implementations_pass(impl):
    check(impl, "sgd_linear_regression")
    check_hidden(impl, "sgd_linear_regression")


def test_sgd_with_replacement_is_rejected():
    with pytest.raises(CheckFailure):
        check_hidden(_sgd_with_replacement, "sgd_linear_regression")


def _numgrad_fresh_copies(f, x, h=1e-5):
    if not callable(f) or not h > 0:
        raise ValueError("bad input")
    x = np.asarray(x, dtype=np.float64)
    grad = np.empty_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        grad[i] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def _gd_list(grad_fn, w0, lr, n_steps):
    if not lr >= 0 or n_steps < 0 or int(n_steps) != n_steps:
        raise ValueError("bad input")
    w = np.array(w0, dtype=np.float64)
    rows = [w]
    for _ in range(n_steps):
        w = w - lr * grad_fn(w)
        rows.append(w)
    return np.array(rows)


@pytest.mark.parametrize("name, impl", [("numerical_gradient", _numgrad_fresh_copies), ("gradient_descent", _gd_list)])
def test_other_valid_loops_pass(name, impl):
    check(impl, name)
    check_hidden(impl, name)
