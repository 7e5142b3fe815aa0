"""Known wrong versions of chapter 07's graded functions (see ``autograder.chapters.ch07_batchnorm_dropout.reference``).

``MISTAKES[function_name][description]`` is a function with the reference's signature;
the description completes the sentence "your output matches ...". The dropout descriptions are
the ones the visible property checks print (``dlcourse.checks.properties.batchnorm_dropout``).

How each is told apart from the reference on generic inputs:

* ``batchnorm_forward``: compare ``out`` *and* the running statistics left in
  ``bn_param``, in train mode (from non-default running statistics) and in test
  mode; the momentum mistakes change only the running statistics.
* backward mistakes take the reference's cache.
* ``dropout_forward`` draws random numbers: compare distribution properties
  (fraction dropped, the value survivors are scaled by, output when not training).
"""

import numpy as np

from autograder.chapters.ch07_batchnorm_dropout import reference as R
from autograder.chapters.ch07_batchnorm_dropout.reference import batchnorm_backward, layernorm_backward
from dlcourse.checks.properties import batchnorm_dropout as props


def _f(x):
    return np.asarray(x, dtype=np.float64)


# --------------------------------------------------------------------------- batch norm forward
# Each wrong forward pass is the reference's with one step (a private method) overridden.

def _forward(kind, step, replacement):
    """The reference forward pass ``kind`` (R._BatchNorm or R._LayerNorm) with method ``step`` replaced."""
    variant = type(f"{kind.__name__}{step}", (kind,), {step: replacement})()
    if kind is R._LayerNorm:
        def layernorm_forward(x, gamma, beta, eps=1e-3):
            return R._layernorm_forward(x, gamma, beta, eps, variant)

        return layernorm_forward

    def batchnorm_forward(x, gamma, beta, bn_param):
        return R._batchnorm_forward(x, gamma, beta, bn_param, variant)

    return batchnorm_forward


def _unbiased(self, x, axis, keepdims=False):
    return x.var(axis=axis, keepdims=keepdims, ddof=1)


def _eps_outside(self, var, eps):
    return 1.0 / (np.sqrt(var) + eps)


_bn_unbiased = _forward(R._BatchNorm, "variance", _unbiased)
_bn_eps_outside = _forward(R._BatchNorm, "inv_std", _eps_outside)
_bn_swapped_momentum = _forward(R._BatchNorm, "running_average",
                                lambda self, running, batch, momentum: (1.0 - momentum) * running + momentum * batch)
_bn_test_batch_stats = _forward(R._BatchNorm, "test_statistics",
                                lambda self, x, axes, running_mean, running_var: self.batch_statistics(x, axes))
_bn_no_update = _forward(R._BatchNorm, "running_average", lambda self, running, batch, momentum: running)
_bn_running_unbiased = _forward(R._BatchNorm, "running_variance", lambda self, x, axes, var: x.var(axis=axes, ddof=1))


# --------------------------------------------------------------------------- batch norm backward

def _bn_bwd_constant_stats(dout, cache):
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    return _f(dout) * cache["gamma"] * cache["inv_std"], dgamma, dbeta


def _bn_bwd_mean_only(dout, cache):
    _, dgamma, dbeta = batchnorm_backward(dout, cache)
    g = _f(dout) * cache["gamma"]
    return cache["inv_std"] * (g - g.mean(axis=cache["axes"])), dgamma, dbeta


def _bn_bwd_dgamma_x(dout, cache):
    dx, _, dbeta = batchnorm_backward(dout, cache)
    return dx, (_f(dout) * cache["x"]).sum(axis=cache["axes"]), dbeta


def _bn_bwd_param_mean(dout, cache):
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    m = cache["x"].size // cache["x"].shape[-1]
    return dx, dgamma / m, dbeta / m


# --------------------------------------------------------------------------- layer norm

_ln_batch_axis = _forward(R._LayerNorm, "axis", 0)
_ln_unbiased = _forward(R._LayerNorm, "variance", _unbiased)
_ln_eps_outside = _forward(R._LayerNorm, "inv_std", _eps_outside)


def _ln_bwd_constant_stats(dout, cache):
    _, dgamma, dbeta = layernorm_backward(dout, cache)
    return _f(dout) * cache["gamma"] * cache["inv_std"], dgamma, dbeta


def _ln_bwd_batch_sums(dout, cache):
    _, dgamma, dbeta = layernorm_backward(dout, cache)
    x_hat, inv_std = cache["x_hat"], cache["inv_std"]
    g = _f(dout) * cache["gamma"]
    n = g.shape[0]
    dx = inv_std / n * (n * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------- dropout

def _dropout_variant(step, replacement):
    """The reference dropout_forward with decision ``step`` (a method of R._Dropout) replaced."""
    variant = type(f"_Dropout{step}", (R._Dropout,), {step: replacement})()

    def dropout_forward(x, rate, training, rng):
        return R._dropout_forward(x, rate, training, rng, variant)

    return dropout_forward


_dropout_no_scale = _dropout_variant("survivor_scale", lambda self, rate: 1.0)
_dropout_rate_is_keep = _dropout_variant("drop_probability", lambda self, rate: 1.0 - rate)
_dropout_multiply = _dropout_variant("survivor_scale", lambda self, rate: 1.0 - rate)
_dropout_at_inference = _dropout_variant("active", lambda self, training: True)


def _dropout_no_copy(x, rate, training, rng):
    out, mask = R.dropout_forward(x, rate, training, rng)
    return (_f(x), None) if not training else (out, mask)


def _dropout_bwd_no_copy(dout, mask):
    return _f(dout) if mask is None else _f(dout) * _f(mask)


def _dropout_bwd_unscaled(dout, mask):
    dout = _f(dout)
    return dout.copy() if mask is None else dout * (_f(mask) != 0)


def _dropout_bwd_identity(dout, mask):
    return _f(dout).copy()


MISTAKES = {
    "batchnorm_forward": {
        "batch norm with the unbiased variance": _bn_unbiased,
        "epsilon outside the square root": _bn_eps_outside,
        "running statistics updated with momentum and 1-momentum swapped": _bn_swapped_momentum,
        "test mode using batch statistics": _bn_test_batch_stats,
        "running statistics never updated in train mode": _bn_no_update,
        "a running variance updated with the unbiased batch variance (PyTorch's convention, not Keras's)":
            _bn_running_unbiased,
    },
    "batchnorm_backward": {
        "dx treating the batch mean and variance as constants": _bn_bwd_constant_stats,
        "dx ignoring the variance's dependence on x (only the mean term)": _bn_bwd_mean_only,
        "dgamma = sum(dout * x) instead of sum(dout * x_hat)": _bn_bwd_dgamma_x,
        "dgamma and dbeta averaged over the batch instead of summed": _bn_bwd_param_mean,
    },
    "layernorm_forward": {
        "layer norm over the batch axis": _ln_batch_axis,
        "layer norm with the unbiased variance": _ln_unbiased,
        "epsilon outside the square root": _ln_eps_outside,
    },
    "layernorm_backward": {
        "dx treating each sample's mean and variance as constants": _ln_bwd_constant_stats,
        "dx with sums over the batch axis (the batch-norm formula)": _ln_bwd_batch_sums,
    },
    "dropout_forward": {
        props.MISTAKE_NO_SCALE: _dropout_no_scale,
        props.MISTAKE_KEEP: _dropout_rate_is_keep,
        props.MISTAKE_MULTIPLY: _dropout_multiply,
        props.MISTAKE_AT_INFERENCE: _dropout_at_inference,
        props.MISTAKE_NO_COPY: _dropout_no_copy,
    },
    "dropout_backward": {
        "a backward pass without the 1/(1-rate) scaling": _dropout_bwd_unscaled,
        "dout passed through unchanged (the mask ignored)": _dropout_bwd_identity,
        props.MISTAKE_BACKWARD_NO_COPY: _dropout_bwd_no_copy,
    },
}
