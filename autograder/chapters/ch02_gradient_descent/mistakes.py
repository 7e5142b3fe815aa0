"""Plausible wrong versions of the chapter 02 (gradient descent) graded functions.

``MISTAKES[function_name][description]`` is a function with the reference signature,
a small change of the reference (an argument of its private seam, or its output);
each description completes the sentence "your output matches ...". Every mistake
gives a different output from the reference on generic inputs (a test checks this).
None of them modifies its inputs.
"""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch02_gradient_descent.reference import (
    _descent_path,
    _difference_quotients,
    linear_regression_grad,
    linear_regression_loss,
    minibatch_indices,
    numerical_gradient,
)


# ------------------------------------------------------------------ numerical_gradient
def _numgrad_one_sided(f, x, h=1e-5):
    return _difference_quotients(f, x, h, back=0.0)


def _numgrad_divided_by_h(f, x, h=1e-5):
    return _difference_quotients(f, x, h, span=1.0)


def _numgrad_minus_from_plus(f, x, h=1e-5):
    # x[i] += h; f(x); x[i] -= h; f(x): the second point is x itself, not x - h,
    # yet the difference is divided by 2h.
    return _difference_quotients(f, x, h, back=0.0, span=2.0)


def _numgrad_all_at_once(f, x, h=1e-5):
    xp = np.array(x, dtype=np.float64)
    d = (f(xp + h) - f(xp - h)) / (2 * h)
    return np.full_like(xp, d)


def _numgrad_h_ignored(f, x, h=1e-5):
    return numerical_gradient(f, x)


def _numgrad_half_steps(f, x, h=1e-5):
    return numerical_gradient(f, x, h / 2.0)


# ------------------------------------------------------------------ loss and gradient
def _residual(X, y, w, b):
    X = np.asarray(X, dtype=np.float64)
    return X, np.asarray(X @ np.asarray(w, dtype=np.float64) + b - np.asarray(y, dtype=np.float64))


def _loss_sum(X, y, w, b):
    _, r = _residual(X, y, w, b)
    return float(np.sum(r * r))


def _loss_no_intercept(X, y, w, b):
    _, r = _residual(X, y, w, 0.0)
    return float(np.mean(r * r))


def _loss_half(X, y, w, b):
    _, r = _residual(X, y, w, b)
    return float(0.5 * np.mean(r * r))


def _loss_rmse(X, y, w, b):
    _, r = _residual(X, y, w, b)
    return float(np.sqrt(np.mean(r * r)))


def _grad_no_factor_2(X, y, w, b):
    X, r = _residual(X, y, w, b)
    return X.T @ r / len(r), float(np.mean(r))


def _grad_sum(X, y, w, b):
    X, r = _residual(X, y, w, b)
    return 2 * X.T @ r, float(2 * np.sum(r))


def _grad_no_intercept(X, y, w, b):
    X, r = _residual(X, y, w, b)
    return 2 * X.T @ r / len(r), 0.0


def _grad_no_X(X, y, w, b):
    # article 004 §4: gradient = (y_pred - y).mean(axis=0), broadcast to every weight.
    X, r = _residual(X, y, w, b)
    return np.full(X.shape[1], np.mean(r)), float(np.mean(r))


def _grad_wrong_sign(X, y, w, b):
    X, r = _residual(X, y, w, b)
    return -2 * X.T @ r / len(r), float(-2 * np.mean(r))


# ------------------------------------------------------------------ gradient_descent
def _gd_without_w0(grad_fn, w0, lr, n_steps):
    return _descent_path(grad_fn, w0, lr, n_steps)[1:]


def _gd_ascent(grad_fn, w0, lr, n_steps):
    return _descent_path(grad_fn, w0, lr, n_steps, sign=1.0)


def _gd_gradient_at_w0(grad_fn, w0, lr, n_steps):
    return _descent_path(grad_fn, w0, lr, n_steps, gradient_once=True)


def _gd_aliased_history(grad_fn, w0, lr, n_steps):
    # history.append(w) followed by an in-place w -= ...: every row is the same array,
    # the final iterate.
    path = _descent_path(grad_fn, w0, lr, n_steps)
    return np.repeat(path[-1:], len(path), axis=0)


# ------------------------------------------------------------------ minibatch_indices
def _mb_in_order(n, batch_size, rng):
    idx = np.arange(n)
    return [idx[s:s + batch_size] for s in range(0, n, batch_size)]


def _mb_drop_last(n, batch_size, rng):
    perm = rng.permutation(n)
    return [perm[s:s + batch_size] for s in range(0, n - batch_size + 1, batch_size)]


def _mb_with_replacement(n, batch_size, rng):
    idx = rng.integers(0, n, size=n)
    return [idx[s:s + batch_size] for s in range(0, n, batch_size)]


# ------------------------------------------------------------------ sgd_linear_regression
def _sgd_template(X, y, lr, batch_size, epochs, rng, *, full_grad=False,
                  batch_loss=False, shuffle_once=False, loss_before=False):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    losses = []
    batches = minibatch_indices(n, batch_size, rng) if shuffle_once else None
    for _ in range(epochs):
        if loss_before:
            losses.append(linear_regression_loss(X, y, w, b))
        epoch_batches = batches if shuffle_once else minibatch_indices(n, batch_size, rng)
        last = None
        for idx in epoch_batches:
            Xb, yb = (X, y) if full_grad else (X[idx], y[idx])
            dw, db = linear_regression_grad(Xb, yb, w, b)
            w, b = w - lr * dw, b - lr * db
            last = idx
        if batch_loss:
            losses.append(linear_regression_loss(X[last], y[last], w, b))
        elif not loss_before:
            losses.append(linear_regression_loss(X, y, w, b))
    return w, b, np.array(losses)


def _sgd_full_gradient(X, y, lr, batch_size, epochs, rng):
    return _sgd_template(X, y, lr, batch_size, epochs, rng, full_grad=True)


def _sgd_batch_loss(X, y, lr, batch_size, epochs, rng):
    return _sgd_template(X, y, lr, batch_size, epochs, rng, batch_loss=True)


def _sgd_shuffle_once(X, y, lr, batch_size, epochs, rng):
    return _sgd_template(X, y, lr, batch_size, epochs, rng, shuffle_once=True)


def _sgd_loss_before(X, y, lr, batch_size, epochs, rng):
    return _sgd_template(X, y, lr, batch_size, epochs, rng, loss_before=True)


MISTAKES = {
    "numerical_gradient": {
        "one-sided differences instead of centred ones": _numgrad_one_sided,
        "centred differences divided by h instead of 2h": _numgrad_divided_by_h,
        "half a one-sided difference (x[i] -= h only undoes the +h: use x - h)":
            _numgrad_minus_from_plus,
        "all entries perturbed at once (one directional derivative copied everywhere)":
            _numgrad_all_at_once,
        "h ignored (always the default step 1e-5)": _numgrad_h_ignored,
        "x +- h/2 divided by h (a centred difference with half the step h)": _numgrad_half_steps,
    },
    "linear_regression_loss": {
        "the sum of squared errors instead of the mean": _loss_sum,
        "a loss without the intercept b": _loss_no_intercept,
        "half the mean squared error (the 1/2 convention)": _loss_half,
        "the root mean squared error": _loss_rmse,
    },
    "linear_regression_grad": {
        "a gradient missing the factor 2": _grad_no_factor_2,
        "a gradient that sums instead of averaging": _grad_sum,
        "no intercept gradient": _grad_no_intercept,
        "the mean residual for every weight (the factors X and 2 dropped)": _grad_no_X,
        "a gradient with the wrong sign (residual y - y_pred)": _grad_wrong_sign,
    },
    "gradient_descent": {
        "iterates without w0 as the first row": _gd_without_w0,
        "gradient ascent (the step added instead of subtracted)": _gd_ascent,
        "the gradient at w0 reused for every step": _gd_gradient_at_w0,
        "a history whose rows all alias the final iterate (in-place update)":
            _gd_aliased_history,
    },
    "minibatch_indices": {
        "batches in the original order (no shuffling)": _mb_in_order,
        "the last, smaller batch dropped": _mb_drop_last,
        "indices sampled with replacement": _mb_with_replacement,
    },
    "sgd_linear_regression": {
        "full-data gradients at every step (no mini-batch, as in article 004 §3.4.2)": _sgd_full_gradient,
        "the last mini-batch's loss recorded instead of the full-data loss":
            _sgd_batch_loss,
        "one shuffle reused for every epoch": _sgd_shuffle_once,
        "the loss recorded before each epoch instead of after": _sgd_loss_before,
    },
}
