"""Reference implementations for chapter 05, regularization (float64, batch first).

Conventions follow Keras's regularizers:

* ``L2(l2=lam)`` adds ``lam * sum(w**2)`` to the loss: there is **no** factor 1/2,
  so its gradient is ``2 * lam * w``.
* ``L1(l1=lam)`` adds ``lam * sum(|w|)``; its subgradient is ``lam * sign(w)``,
  taken as 0 at w = 0 (what ``np.sign`` gives).
* ``L1L2(l1, l2)`` adds both (the elastic net).

(Article 001 §3.3 calls these "dual-value regularization", which means nothing.)
L2 shrinks every weight towards 0 in proportion to its size; L1 pulls every nonzero
weight towards 0 by the same amount lam, so small weights end up exactly 0: sparsity.

Penalties accept one array or a list/tuple of arrays (e.g. the kernels of every
layer) and sum over all of them. Gradients take a single array and return an array
of the same shape. Nothing here modifies its inputs.

Ridge regression (the L2 penalty on a linear model) uses chapter 02's loss plus the
penalty on the weights only; the bias is not penalized:

    loss(w, b) = mean((X @ w + b - y)**2) + lam * ||w||**2
"""

import numpy as np

from dlcourse.validate import as_float_array


def _check_strength(lam, name="lam"):
    try:
        value = float(lam)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a real number, got {lam!r}") from exc
    if not np.isfinite(value) or value < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {lam!r}")
    return value


def _weight_list(weights):
    """One array, or a list/tuple of arrays -> list of float64 arrays."""
    if isinstance(weights, (list, tuple)):
        return [as_float_array(w, f"weights[{i}]") for i, w in enumerate(weights)]
    return [as_float_array(weights, "weights")]


def l2_penalty(weights, lam):
    """L2 penalty, Keras ``L2`` convention: ``lam * sum_k sum(W_k**2)`` (no 1/2).

    weights: one array or a list/tuple of arrays of any shapes; lam: float >= 0.
    Returns a Python float.
    """
    lam = _check_strength(lam)
    return float(lam * sum(np.sum(w * w) for w in _weight_list(weights)))


def l2_penalty_grad(w, lam):
    """Gradient of ``lam * sum(w**2)`` with respect to w: ``2 * lam * w``.

    w: array of any shape; lam: float >= 0. Returns a new array shaped like w.
    """
    lam = _check_strength(lam)
    return 2.0 * lam * as_float_array(w, "w")


def l1_penalty(weights, lam):
    """L1 penalty, Keras ``L1`` convention: ``lam * sum_k sum(|W_k|)``.

    weights: one array or a list/tuple of arrays; lam: float >= 0. Returns a float.
    """
    lam = _check_strength(lam)
    return float(lam * sum(np.sum(np.abs(w)) for w in _weight_list(weights)))


def l1_penalty_grad(w, lam):
    """Subgradient of ``lam * sum(|w|)``: ``lam * sign(w)``, with 0 where w == 0.

    w: array of any shape; lam: float >= 0. Returns a new array shaped like w.
    """
    lam = _check_strength(lam)
    return lam * np.sign(as_float_array(w, "w"))


def elastic_net_penalty(weights, l1, l2):
    """Keras ``L1L2(l1, l2)``: ``l1 * sum(|W|) + l2 * sum(W**2)`` over all arrays.

    weights: one array or a list/tuple of arrays; l1, l2: floats >= 0.
    Returns a Python float.
    """
    return l1_penalty(weights, _check_strength(l1, "l1")) + l2_penalty(weights, _check_strength(l2, "l2"))


def _check_linear(X, y):
    X = as_float_array(X, "X")
    y = as_float_array(y, "y")
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got {X.shape}")
    if X.shape[0] == 0:
        raise ValueError("X must contain at least one sample")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    return X, y


def ridge_regression_grad(X, y, w, b, lam):
    """Gradient of ``mean((X @ w + b - y)**2) + lam * ||w||**2``.

    X: (n, d); y: (n,); w: (d,); b: float; lam: float >= 0.
    Returns (dw, db): dw shape (d,) = 2/n X^T r + 2 lam w with r = X @ w + b - y,
    and db a float = 2/n sum(r) (the bias is not penalized).
    """
    X, y = _check_linear(X, y)
    w = as_float_array(w, "w")
    if w.shape != (X.shape[1],):
        raise ValueError(f"w must have shape ({X.shape[1]},) to match X {X.shape}, got {w.shape}")
    b = as_float_array(b, "b")
    if b.ndim != 0:
        raise ValueError(f"b must be a scalar, got shape {b.shape}")
    lam = _check_strength(lam)
    n = X.shape[0]
    r = X @ w + float(b) - y
    dw = 2.0 / n * (X.T @ r) + 2.0 * lam * w
    db = 2.0 / n * float(np.sum(r))
    return dw, db


def ridge_closed_form(X, y, lam):
    """Exact minimizer (w, b) of ``mean((X @ w + b - y)**2) + lam * ||w||**2``.

    X: (n, d); y: (n,); lam: float >= 0. Returns (w, b), w shape (d,), b float.

    Setting the derivative in b to zero gives b = mean(y) - mean(X, axis=0) @ w, so
    with centred data Xc = X - mean(X), yc = y - mean(y) the weights solve

        (Xc^T Xc + n lam I) w = Xc^T yc

    (the n appears because the data term is a mean, not a sum). Solved with
    ``np.linalg.solve``, never by forming an inverse. With lam = 0 and a singular
    Xc^T Xc (e.g. d >= n) there is no unique solution and a ValueError is raised.
    """
    X, y = _check_linear(X, y)
    lam = _check_strength(lam)
    n, d = X.shape
    x_mean = X.mean(axis=0)
    y_mean = y.mean()
    Xc = X - x_mean
    yc = y - y_mean
    if lam == 0.0 and np.linalg.matrix_rank(Xc) < d:
        raise ValueError("with lam = 0 the centred X must have full column rank "
                         "(no collinear columns, n > d); use lam > 0")
    A = Xc.T @ Xc + n * lam * np.eye(d)
    try:
        w = np.linalg.solve(A, Xc.T @ yc)
    except np.linalg.LinAlgError as exc:
        raise ValueError("the ridge system is singular; use lam > 0") from exc
    b = float(y_mean - x_mean @ w)
    return w, b
