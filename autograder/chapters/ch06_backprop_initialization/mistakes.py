"""Known wrong versions of chapter 06's graded functions (see ``autograder.chapters.ch06_backprop_initialization.reference``).

``MISTAKES[function_name][description]`` is a function with the reference's signature;
the description completes the sentence "your output matches ...". Every entry differs
from the reference on generic inputs; the exception worth knowing is
"relu_grad equal to 1 at z = 0", which differs only where z == 0 exactly, so a check
for it must include z = 0 (ReLU inputs that are exactly 0 do occur, e.g. after a
zero-initialized layer). The initializers draw random numbers, so their mistakes are
told apart by distribution properties (std, range), not by equal draws.
"""

import numpy as np

from autograder.chapters.ch01_losses.reference import softmax_cross_entropy, softmax_cross_entropy_grad
from autograder.chapters.ch06_backprop_initialization import reference as ref
from autograder.chapters.ch06_backprop_initialization.reference import dense_backward, dense_forward, relu, relu_grad, sigmoid


def _f(x):
    return np.asarray(x, dtype=np.float64)


# --------------------------------------------------------------------------- activations

def _sigmoid_flipped(z):
    return sigmoid(-_f(z))


def _sigmoid_grad_is_sigmoid(z):
    return sigmoid(z)


def _sigmoid_grad_on_z(z):
    z = _f(z)
    return z * (1.0 - z)


def _tanh_grad_on_z(z):
    z = _f(z)
    return 1.0 - z * z


def _tanh_grad_no_square(z):
    return 1.0 - np.tanh(_f(z))


def _relu_is_step(z):
    return relu_grad(z)


def _relu_abs(z):
    return np.abs(_f(z))


def _relu_grad_one_at_zero(z):
    return (_f(z) >= 0).astype(np.float64)


def _relu_grad_is_relu(z):
    return relu(z)


# --------------------------------------------------------------------------- dense

def _dense_no_bias(x, W, b):
    out, cache = dense_forward(x, W, b)
    return out - _f(b), cache


def _dense_with_relu(x, W, b):
    out, cache = dense_forward(x, W, b)
    return relu(out), cache


def _dense_dW_transposed(dout, cache):
    dx, dW, db = dense_backward(dout, cache)
    return dx, dW.T, db


def _dense_db_not_summed(dout, cache):
    dx, dW, _ = dense_backward(dout, cache)
    return dx, dW, _f(dout).copy()


def _dense_db_mean(dout, cache):
    dx, dW, _ = dense_backward(dout, cache)
    return dx, dW, _f(dout).mean(axis=0)


# --------------------------------------------------------------------------- initializers

def _glorot_limit_two(fan_in, fan_out, rng):
    limit = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def _glorot_fan_in_only(fan_in, fan_out, rng):
    limit = np.sqrt(6.0 / fan_in)
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def _glorot_unit_uniform(fan_in, fan_out, rng):
    return rng.uniform(-1.0, 1.0, size=(fan_in, fan_out))


def _he_std_one(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(1.0 / fan_in), size=(fan_in, fan_out))


def _he_fan_out(fan_in, fan_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / fan_out), size=(fan_in, fan_out))


def _he_variance_as_std(fan_in, fan_out, rng):
    return rng.normal(0.0, 2.0 / fan_in, size=(fan_in, fan_out))


def _he_truncated_like_keras(fan_in, fan_out, rng):
    # Keras's HeNormal: a normal truncated at 2 sigma0 (values beyond are redrawn), with
    # sigma0 = std / 0.8796 so that the std after truncation is std again
    sigma0 = np.sqrt(2.0 / fan_in) / 0.87962566103423978
    w = rng.normal(0.0, sigma0, size=(fan_in, fan_out))
    outside = np.abs(w) > 2 * sigma0
    while outside.any():
        w[outside] = rng.normal(0.0, sigma0, size=int(outside.sum()))
        outside = np.abs(w) > 2 * sigma0
    return w


# --------------------------------------------------------------------------- two-layer MLP

def _mlp(params, X, y, *, relu_backward=True, sum_loss=False, db_summed=True):
    X, y = _f(X), np.asarray(y)
    z1, c1 = dense_forward(X, params["W1"], params["b1"])
    h1 = relu(z1)
    logits, c2 = dense_forward(h1, params["W2"], params["b2"])
    n = X.shape[0]
    scale = n if sum_loss else 1.0
    loss = softmax_cross_entropy(logits, y) * scale
    dlogits = softmax_cross_entropy_grad(logits, y) * scale
    dh1, dW2, db2 = dense_backward(dlogits, c2)
    dz1 = dh1 * relu_grad(z1) if relu_backward else dh1
    _, dW1, db1 = dense_backward(dz1, c1)
    if not db_summed:
        db1, db2 = dz1.mean(axis=0), dlogits.mean(axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _mlp_no_relu_backward(params, X, y):
    return _mlp(params, X, y, relu_backward=False)


def _mlp_sum_loss(params, X, y):
    return _mlp(params, X, y, sum_loss=True)


def _mlp_db_mean(params, X, y):
    return _mlp(params, X, y, db_summed=False)


def _clip_each_by_its_own_norm(grads, clip_norm):
    gs = [np.asarray(g, dtype=np.float64) for g in grads]
    norms = [float(np.sqrt(np.sum(g * g))) for g in gs]
    return [g * (clip_norm / max(n, clip_norm)) for g, n in zip(gs, norms)], ref.clip_by_global_norm(grads, clip_norm)[1]


def _clip_norm_after_clipping(grads, clip_norm):
    clipped, norm = ref.clip_by_global_norm(grads, clip_norm)
    return clipped, min(norm, float(clip_norm))


def _clip_always_rescaled(grads, clip_norm):
    _, norm = ref.clip_by_global_norm(grads, clip_norm)
    return [np.asarray(g, dtype=np.float64) * (clip_norm / norm) for g in grads], norm


def _clip_by_value(grads, clip_norm):
    return [np.clip(np.asarray(g, dtype=np.float64), -clip_norm, clip_norm) for g in grads], \
        ref.clip_by_global_norm(grads, clip_norm)[1]


def _clip_no_square_root(grads, clip_norm):
    squares = sum(float(np.sum(np.asarray(g, dtype=np.float64) ** 2)) for g in grads)
    return [np.asarray(g, dtype=np.float64) * (clip_norm / max(squares, clip_norm)) for g in grads], squares


MISTAKES = {
    "sigmoid": {
        "1 / (1 + exp(z)), the sign of the exponent flipped": _sigmoid_flipped,
    },
    "sigmoid_grad": {
        "sigmoid_grad written as sigmoid(z) instead of s(1-s)": _sigmoid_grad_is_sigmoid,
        "z(1 - z), the formula applied to z instead of s = sigmoid(z)": _sigmoid_grad_on_z,
    },
    "tanh_grad": {
        "1 - z^2, the formula applied to z instead of tanh(z)": _tanh_grad_on_z,
        "1 - tanh(z) without the square": _tanh_grad_no_square,
    },
    "relu": {
        "the ReLU's 0/1 derivative instead of max(z, 0)": _relu_is_step,
        "|z| instead of max(z, 0)": _relu_abs,
    },
    "relu_grad": {
        "relu_grad equal to 1 at z = 0": _relu_grad_one_at_zero,
        "relu(z) (the activation) instead of its 0/1 slope": _relu_grad_is_relu,
    },
    "dense_forward": {
        "a dense layer without the bias": _dense_no_bias,
        "a dense layer with a ReLU applied to its output (the activation is a separate step)": _dense_with_relu,
    },
    "dense_backward": {
        "dW = dout.T @ x, the transposed orientation (d_out, d_in)": _dense_dW_transposed,
        "db not summed over the batch": _dense_db_not_summed,
        "db averaged over the batch instead of summed": _dense_db_mean,
    },
    "glorot_uniform": {
        "Glorot limit sqrt(2/(fan_in+fan_out))": _glorot_limit_two,
        "Glorot limit sqrt(6/fan_in) (fan_out ignored)": _glorot_fan_in_only,
        "U(-1, 1), no scaling with the fans": _glorot_unit_uniform,
    },
    "he_normal": {
        "He std sqrt(1/fan_in)": _he_std_one,
        "He std sqrt(2/fan_out) (fan_out instead of fan_in)": _he_fan_out,
        "He with std 2/fan_in (the variance used as the standard deviation)": _he_variance_as_std,
        "a normal truncated at 2 standard deviations like Keras's HeNormal (here the untruncated normal is asked for)":
            _he_truncated_like_keras,
    },
    "mlp_loss_and_grads": {
        "backprop that skips the ReLU derivative": _mlp_no_relu_backward,
        "a loss summed over rows instead of averaged": _mlp_sum_loss,
        "bias gradients averaged over the batch instead of summed": _mlp_db_mean,
    },
    "clip_by_global_norm": {
        "each array clipped by its own norm (tf.clip_by_norm per array) instead of all by the global norm":
            _clip_each_by_its_own_norm,
        "the norm returned after clipping instead of before": _clip_norm_after_clipping,
        "every array scaled by clip_norm / global_norm even when the norm is below clip_norm": _clip_always_rescaled,
        "entries clipped element-wise to [-clip_norm, clip_norm] (clipping by value, not by norm)": _clip_by_value,
        "the global norm without the square root (the sum of squares)": _clip_no_square_root,
    },
}
