"""Reference implementations for chapter 06, backpropagation and initialization.

Float64, batch dimension first. Layers follow the CS231n pattern: a forward function
returns ``(out, cache)`` and the matching backward function takes ``(dout, cache)``,
where ``dout`` is the gradient of a scalar loss with respect to ``out``.

A dense layer stores its kernel as Keras does, ``W`` shaped (d_in, d_out), so that
``out = x @ W + b``.

Initializers (Keras's formulas, ``fan_in = d_in``, ``fan_out = d_out``):

* ``glorot_uniform``: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)), so
  Var = 2 / (fan_in + fan_out).
* ``he_normal``: N(0, 2 / fan_in), **untruncated**. Keras's ``HeNormal`` draws from a
  normal truncated at two standard deviations, with the pre-truncation std divided
  by 0.87962566 so that the std after truncation is again sqrt(2 / fan_in): the two
  agree in mean and variance, but Keras never returns |w| > 2 sqrt(2/fan_in)/0.8796.

Initialization chooses the distribution of the starting weights; weight clipping and
pruning (listed among initialization methods in article 003 §3.8) are neither
initialization nor normalization methods.
"""

import numpy as np

from autograder.chapters.ch01_losses.reference import softmax_cross_entropy, softmax_cross_entropy_grad
from dlcourse.validate import as_float_array, generator


# --------------------------------------------------------------------------- activations


def sigmoid(z):
    """Logistic sigmoid 1 / (1 + exp(-z)), element-wise; any shape, float64 out.

    Stable: only exp(-|z|) is ever computed, so |z| ~ 1e3 raises no overflow warning
    (sigmoid(1000) = 1, sigmoid(-1000) = exp(-1000) = 0 in float64).
    """
    z = as_float_array(z, "z")
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    """d sigmoid(z) / dz = s (1 - s) with s = sigmoid(z); element-wise, shaped like z."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh_grad(z):
    """d tanh(z) / dz = 1 - tanh(z)**2; element-wise, shaped like z."""
    t = np.tanh(as_float_array(z, "z"))
    return 1.0 - t * t


def relu(z):
    """max(z, 0) element-wise; shaped like z."""
    return np.maximum(as_float_array(z, "z"), 0.0)


def relu_grad(z):
    """d relu(z) / dz: 1.0 where z > 0, 0.0 where z <= 0 (the convention at 0 is 0)."""
    return (as_float_array(z, "z") > 0).astype(np.float64)


# --------------------------------------------------------------------------- dense layer


def dense_forward(x, W, b):
    """Affine layer ``out = x @ W + b``.

    x: (n, d_in); W: (d_in, d_out) (a Keras kernel); b: (d_out,).
    Returns (out, cache): out (n, d_out); cache = (x, W) for ``dense_backward``.
    """
    x, W, b = as_float_array(x, "x"), as_float_array(W, "W"), as_float_array(b, "b")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d_in), got {x.shape}")
    if W.ndim != 2 or W.shape[0] != x.shape[1]:
        raise ValueError(f"W must have shape (d_in, d_out) = ({x.shape[1]}, d_out) to match x {x.shape}, got {W.shape}")
    if b.shape != (W.shape[1],):
        raise ValueError(f"b must have shape ({W.shape[1]},) to match W {W.shape}, got {b.shape}")
    return x @ W + b, (x, W)


def dense_backward(dout, cache):
    """Backward pass of ``dense_forward``.

    dout: (n, d_out), gradient of the loss with respect to out; cache = (x, W).
    Returns (dx, dW, db) with shapes (n, d_in), (d_in, d_out), (d_out,):
    dx = dout @ W.T, dW = x.T @ dout, db = dout summed over the batch.
    """
    x, W = cache
    dout = as_float_array(dout, "dout")
    if dout.shape != (x.shape[0], W.shape[1]):
        raise ValueError(f"dout must have shape {(x.shape[0], W.shape[1])}, got {dout.shape}")
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


# --------------------------------------------------------------------------- initializers


def _check_fans(fan_in, fan_out, rng):
    for name, v in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    generator(rng)


def glorot_uniform(fan_in, fan_out, rng):
    """Glorot (Xavier) uniform kernel, shape (fan_in, fan_out).

    Entries i.i.d. U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)),
    i.e. variance 2 / (fan_in + fan_out). rng: numpy.random.Generator.
    """
    _check_fans(fan_in, fan_out, rng)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def he_normal(fan_in, fan_out, rng):
    """He (Kaiming) normal kernel, shape (fan_in, fan_out), for ReLU layers.

    Entries i.i.d. N(0, std**2) with std = sqrt(2 / fan_in), untruncated (Keras's
    ``HeNormal`` truncates at 2 std and rescales; see the module docstring).
    rng: numpy.random.Generator.
    """
    _check_fans(fan_in, fan_out, rng)
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


# --------------------------------------------------------------------------- two-layer MLP

_PARAM_KEYS = ("W1", "b1", "W2", "b2")


def mlp_loss_and_grads(params, X, y):
    """Loss and gradients of dense -> ReLU -> dense -> softmax cross-entropy.

    params: dict with W1 (d, h), b1 (h,), W2 (h, k), b2 (k,); X: (n, d);
    y: (n,) integer class ids in [0, k).
    Loss = mean over the n rows of -log softmax(logits)[i, y[i]] (no regularization).
    Returns (loss, grads): loss a float, grads a dict with the same keys and shapes.
    The gradient of the loss with respect to the logits is (softmax - onehot(y)) / n.
    """
    missing = [k for k in _PARAM_KEYS if k not in params]
    if missing:
        raise ValueError(f"params is missing {missing}; expected keys {list(_PARAM_KEYS)}")
    X = as_float_array(X, "X")
    y = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, d), got {X.shape}")
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be integer class ids of shape ({X.shape[0]},), got {y.dtype} {y.shape}")

    z1, cache1 = dense_forward(X, params["W1"], params["b1"])
    h1 = relu(z1)
    logits, cache2 = dense_forward(h1, params["W2"], params["b2"])
    loss = softmax_cross_entropy(logits, y)  # also validates labels against k

    dlogits = softmax_cross_entropy_grad(logits, y)
    dh1, dW2, db2 = dense_backward(dlogits, cache2)
    dz1 = dh1 * relu_grad(z1)
    _, dW1, db1 = dense_backward(dz1, cache1)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# --------------------------------------------------------------------------- gradient clipping


def clip_by_global_norm(grads, clip_norm):
    """Scale a list of gradients together so that their global norm is at most clip_norm.

    grads: a list (or tuple) of arrays of any shapes; clip_norm: a finite float > 0.
    global_norm = sqrt(sum over every array of the sum of its squared entries). If it exceeds
    clip_norm, every array is multiplied by clip_norm / global_norm (directions kept); otherwise
    the arrays are returned unchanged, as ``tf.clip_by_global_norm`` and Keras's
    ``global_clipnorm``. Returns (clipped, global_norm): a new list of float64 arrays shaped like
    grads, and the norm *before* clipping (a float). The inputs are not modified.
    """
    if isinstance(clip_norm, bool) or not np.isscalar(clip_norm) or not np.isfinite(clip_norm) or not clip_norm > 0:
        raise ValueError(f"clip_norm must be a finite number > 0, got {clip_norm!r}")
    if not isinstance(grads, (list, tuple)):
        raise ValueError(f"grads must be a list of arrays, got {type(grads).__name__}")
    grads = [as_float_array(g, "grads") for g in grads]
    global_norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads)))
    scale = clip_norm / max(global_norm, clip_norm)
    return [g * scale for g in grads], global_norm
