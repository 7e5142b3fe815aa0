"""Reference implementations for chapter 02, gradient descent.

Conventions (the chapter notebook's): float64 NumPy arrays, batch dimension
first, ``rng`` is a :class:`numpy.random.Generator`. No function modifies its
inputs in place; bad input raises a :class:`ValueError` that says what is wrong.

The linear-regression model is ``y_hat = X @ w + b`` with the mean squared error

    L(w, b) = (1/n) sum_i (x_i . w + b - y_i)^2,

whose gradient is ``dL/dw = (2/n) X^T r`` and ``dL/db = (2/n) sum_i r_i`` with the
residual ``r = X @ w + b - y`` (the factor ``X^T`` and the intercept are not
optional; articles 002 §4.1-4.4 and 004 §4 drop them).
"""

from __future__ import annotations

import numbers

import numpy as np

from dlcourse.validate import as_float_array, generator, real

__all__ = [
    "numerical_gradient",
    "linear_regression_loss",
    "linear_regression_grad",
    "gradient_descent",
    "minibatch_indices",
    "sgd_linear_regression",
]


# --------------------------------------------------------------------------- helpers
def _check_int(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def _check_regression_inputs(X, y, w, b):
    X = as_float_array(X, "X")
    y = as_float_array(y, "y")
    w = as_float_array(w, "w")
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got shape {X.shape}")
    n, d = X.shape
    if n == 0:
        raise ValueError("X must contain at least one sample (n >= 1)")
    if y.shape != (n,):
        raise ValueError(f"y must have shape (n,) = ({n},), got shape {y.shape}")
    if w.shape != (d,):
        raise ValueError(f"w must have shape (d,) = ({d},), got shape {w.shape}")
    if np.ndim(b) != 0:
        raise ValueError(f"b must be a scalar, got an array of shape {np.shape(b)}")
    b = float(b)
    return X, y, w, b


# ------------------------------------------------------------------ numerical gradient
def numerical_gradient(f, x, h=1e-5):
    """Centred-difference estimate of the gradient of a scalar function.

    For every entry i of x:  grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2 h),
    whose error is O(h^2) (a one-sided difference would be O(h)).

    f: callable taking an array shaped like x and returning a scalar.
    x: array of any shape (a 0-d array or a Python float is allowed); it is not
       modified: the perturbations are made on a private float64 copy, and f is
       always called with that copy.
    h: step, > 0.
    Returns a float64 array shaped like x.
    """
    if not callable(f):
        raise ValueError("f must be callable")
    h = real(h, "h", minimum=0.0, strict=True)
    return _difference_quotients(f, as_float_array(x, "x"), h)


def _difference_quotients(f, x, h, *, back=1.0, span=None):
    """The loop of :func:`numerical_gradient` on checked arguments, with the seams its
    named mistakes change (they call it unchecked, as a learner's loop would run).

    For every entry i of x:  grad[i] = (f(x + h e_i) - f(x - back h e_i)) / (span h),
    where span (the distance between the two points, in steps of h) defaults to
    1 + back. back = 1 is the centred difference, back = 0 the one-sided one.
    f is called with a private float64 copy of x.
    """
    span = 1.0 + back if span is None else span
    xp = np.array(x, dtype=np.float64)
    grad = np.zeros_like(xp)
    for idx in np.ndindex(xp.shape):
        old = xp[idx]
        xp[idx] = old + h
        f_plus = f(xp)
        xp[idx] = old - back * h
        f_minus = f(xp)
        xp[idx] = old
        if np.ndim(f_plus) != 0 or np.ndim(f_minus) != 0:
            raise ValueError(
                "f must return a scalar, got an array of shape "
                f"{np.shape(f_plus)}"
            )
        grad[idx] = (float(f_plus) - float(f_minus)) / (span * h)
    return grad


# ------------------------------------------------------------------ linear regression
def linear_regression_loss(X, y, w, b):
    """Mean squared error of the linear model X @ w + b.

    X: (n, d) inputs; y: (n,) targets; w: (d,) weights; b: float intercept.
    Returns the float mean((X @ w + b - y)^2).
    """
    X, y, w, b = _check_regression_inputs(X, y, w, b)
    r = X @ w + b - y
    return float(np.mean(r * r))


def linear_regression_grad(X, y, w, b):
    """Gradient of :func:`linear_regression_loss` with respect to (w, b).

    X: (n, d); y: (n,); w: (d,); b: float.
    With the residual r = X @ w + b - y (shape (n,)):
        dw = 2 X^T r / n   shape (d,)
        db = 2 mean(r)     float
    Returns (dw, db).
    """
    X, y, w, b = _check_regression_inputs(X, y, w, b)
    n = X.shape[0]
    r = X @ w + b - y
    dw = (2.0 / n) * (X.T @ r)
    db = 2.0 * float(np.mean(r))
    return dw, db


# ------------------------------------------------------------------ gradient descent
def gradient_descent(grad_fn, w0, lr, n_steps):
    """Plain gradient descent  w_{k+1} = w_k - lr * grad_fn(w_k).

    grad_fn: callable taking an array shaped like w0 and returning its gradient
             (same shape). It receives a copy, so it cannot corrupt the history.
    w0: starting point, any shape (not modified).
    lr: learning rate, >= 0.
    n_steps: number of updates, an integer >= 0.
    Returns the float64 array of iterates, shape (n_steps + 1, *w0.shape), whose
    row 0 is w0 and row k the point after k updates.
    """
    if not callable(grad_fn):
        raise ValueError("grad_fn must be callable")
    w0 = as_float_array(w0, "w0")
    lr = real(lr, "lr", minimum=0.0)
    n_steps = _check_int(n_steps, "n_steps", 0)
    return _descent_path(grad_fn, w0, lr, n_steps)


def _descent_path(grad_fn, w0, lr, n_steps, *, sign=-1.0, gradient_once=False):
    """The loop of :func:`gradient_descent` on checked arguments, with the seams its named
    mistakes change (they call it unchecked, as a learner's loop would run).

    Row 0 is w0 and row k + 1 is  w_k + sign lr g  with g = grad_fn(w_k) (sign = -1:
    descent), or g = grad_fn(w0) at every step when gradient_once is true.
    """
    rows = [np.array(w0, dtype=np.float64)]
    for k in range(n_steps):
        if k == 0 or not gradient_once:
            g = as_float_array(grad_fn(rows[k].copy()), "grad_fn(w)")
        if g.shape != rows[0].shape:
            raise ValueError(
                f"grad_fn returned shape {g.shape}, expected w0's shape {rows[0].shape}"
            )
        rows.append(rows[k] + (sign * lr) * g)
    return np.array(rows)


def minibatch_indices(n, batch_size, rng):
    """Indices of one shuffled epoch split into mini-batches.

    n: number of samples (integer >= 1); batch_size: integer >= 1 (it may exceed n,
    giving a single batch); rng: numpy.random.Generator, used exactly once, for
    ``rng.permutation(n)``.
    Returns a list of ceil(n / batch_size) integer arrays: consecutive slices of one
    permutation of range(n), each of length batch_size except possibly a smaller
    last one. Every index appears exactly once.
    """
    n = _check_int(n, "n", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    generator(rng)
    perm = rng.permutation(n)
    return [perm[start:start + batch_size] for start in range(0, n, batch_size)]


def sgd_linear_regression(X, y, lr, batch_size, epochs, rng):
    """Mini-batch SGD on the mean-squared-error linear regression.

    Starts from w = 0, b = 0. Each epoch draws ``minibatch_indices(n, batch_size,
    rng)`` and, for each mini-batch B in turn, steps
        (w, b) <- (w, b) - lr * linear_regression_grad(X[B], y[B], w, b)
    (the gradient of the mean loss over the batch only, which articles 004 §3.4.2 and
    002 §4.2 get wrong).
    With batch_size = n every step uses all the data: full-batch gradient descent.

    X: (n, d); y: (n,); lr >= 0; batch_size, epochs: integers >= 1;
    rng: numpy.random.Generator.
    Returns (w, b, losses): w (d,), b float, and losses a float64 array of shape
    (epochs,) holding the full-data loss after each epoch.
    """
    X, y, w, b = _check_regression_inputs(X, y, np.zeros(np.shape(X)[1:2]), 0.0)
    lr = real(lr, "lr", minimum=0.0)
    batch_size = _check_int(batch_size, "batch_size", 1)
    epochs = _check_int(epochs, "epochs", 1)
    generator(rng)
    n = X.shape[0]
    losses = np.empty(epochs, dtype=np.float64)
    for epoch in range(epochs):
        for idx in minibatch_indices(n, batch_size, rng):
            dw, db = linear_regression_grad(X[idx], y[idx], w, b)
            w = w - lr * dw
            b = b - lr * db
        losses[epoch] = linear_regression_loss(X, y, w, b)
    return w, b, losses
