"""Known wrong versions of chapter 07's graded functions (see ``autograder.chapters.ch07_batchnorm_dropout.reference``).

``MISTAKES[function_name][description]`` is a function with the reference's signature;
the description completes the sentence "your output matches ...".

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


def _f(x):
    return np.asarray(x, dtype=np.float64)


# --------------------------------------------------------------------------- batch norm forward

def _bn_forward(x, gamma, beta, bn_param, *, ddof=0, eps_outside=False, swap_momentum=False,
                test_uses_batch=False, update=True, running_ddof=None):
    x, gamma, beta = _f(x), _f(gamma), _f(beta)
    d = x.shape[-1]
    mode = bn_param["mode"]
    eps = float(bn_param.get("eps", 1e-3))
    momentum = float(bn_param.get("momentum", 0.99))
    rm = _f(bn_param.get("running_mean", np.zeros(d)))
    rv = _f(bn_param.get("running_var", np.ones(d)))
    axes = tuple(range(x.ndim - 1))
    if mode == "train" or test_uses_batch:
        mu, var = x.mean(axis=axes), x.var(axis=axes, ddof=ddof)
    else:
        mu, var = rm, rv
    if mode == "train" and update:
        keep, new = (1.0 - momentum, momentum) if swap_momentum else (momentum, 1.0 - momentum)
        run_var = var if running_ddof is None else x.var(axis=axes, ddof=running_ddof)
        bn_param["running_mean"] = keep * rm + new * mu
        bn_param["running_var"] = keep * rv + new * run_var
    else:
        bn_param.setdefault("running_mean", rm.copy())
        bn_param.setdefault("running_var", rv.copy())
    inv_std = 1.0 / (np.sqrt(var) + eps) if eps_outside else 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    cache = {"mode": mode, "x": x, "x_hat": x_hat, "mu": mu, "var": var, "eps": eps,
             "inv_std": inv_std, "gamma": gamma, "axes": axes}
    return gamma * x_hat + beta, cache


def _bn_unbiased(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, ddof=1)


def _bn_eps_outside(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, eps_outside=True)


def _bn_swapped_momentum(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, swap_momentum=True)


def _bn_test_batch_stats(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, test_uses_batch=True)


def _bn_no_update(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, update=False)


def _bn_running_unbiased(x, gamma, beta, bn_param):
    return _bn_forward(x, gamma, beta, bn_param, running_ddof=1)


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

def _ln_forward(x, gamma, beta, eps=1e-3, *, axis=-1, ddof=0, eps_outside=False):
    x, gamma, beta = _f(x), _f(gamma), _f(beta)
    mu = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True, ddof=ddof)
    inv_std = 1.0 / (np.sqrt(var) + eps) if eps_outside else 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    return gamma * x_hat + beta, {"x": x, "x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}


def _ln_batch_axis(x, gamma, beta, eps=1e-3):
    return _ln_forward(x, gamma, beta, eps, axis=0)


def _ln_unbiased(x, gamma, beta, eps=1e-3):
    return _ln_forward(x, gamma, beta, eps, ddof=1)


def _ln_eps_outside(x, gamma, beta, eps=1e-3):
    return _ln_forward(x, gamma, beta, eps, eps_outside=True)


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

def _dropout(x, rate, training, rng, *, scale=True, keep_prob=None, multiply=False, always=False):
    x = _f(x)
    if not training and not always:
        return x.copy(), None
    p_keep = 1.0 - rate if keep_prob is None else keep_prob
    keep = rng.random(x.shape) < p_keep
    if not scale:
        factor = 1.0
    elif multiply:
        factor = 1.0 - rate
    else:
        factor = 1.0 / p_keep
    mask = np.where(keep, factor, 0.0)
    return x * mask, mask


def _dropout_no_scale(x, rate, training, rng):
    return _dropout(x, rate, training, rng, scale=False)


def _dropout_rate_is_keep(x, rate, training, rng):
    return _dropout(x, rate, training, rng, keep_prob=rate)


def _dropout_multiply(x, rate, training, rng):
    return _dropout(x, rate, training, rng, multiply=True)


def _dropout_at_inference(x, rate, training, rng):
    return _dropout(x, rate, training, rng, always=True)


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
        "dropout without the 1/(1-rate) scaling": _dropout_no_scale,
        "rate used as keep probability": _dropout_rate_is_keep,
        "survivors multiplied by (1 - rate) instead of divided by it": _dropout_multiply,
        "dropout applied even when training is False": _dropout_at_inference,
        "x itself returned when training is False, not a copy (writing to out changes x)": _dropout_no_copy,
    },
    "dropout_backward": {
        "a backward pass without the 1/(1-rate) scaling": _dropout_bwd_unscaled,
        "dout passed through unchanged (the mask ignored)": _dropout_bwd_identity,
        "dout itself returned when mask is None, not a copy (writing to dx changes dout)": _dropout_bwd_no_copy,
    },
}

# Mistakes that only the hidden tests catch (they check that a result documented as a copy shares
# no memory with its input; the visible checks compare values only).
HIDDEN_ONLY = {
    "dropout_forward": tuple(m for m in MISTAKES["dropout_forward"] if "not a copy" in m),
    "dropout_backward": tuple(m for m in MISTAKES["dropout_backward"] if "not a copy" in m),
}
