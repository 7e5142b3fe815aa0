"""Reference implementations for chapter 07, batch normalization, layer norm and dropout.

Float64, batch dimension first, features on the last axis (Keras's ``axis=-1``).

Batch normalization (Keras ``BatchNormalization(momentum=0.99, epsilon=1e-3)``)
normalizes every feature of a layer's pre-activations over the batch, then applies a
learned scale and shift:

    mu = mean(x, batch axes)          var = mean((x - mu)**2, batch axes)   (biased)
    x_hat = (x - mu) / sqrt(var + eps)     out = gamma * x_hat + beta

In training mode it uses the batch statistics and updates the running ones,

    running = momentum * running + (1 - momentum) * batch

(Keras also uses the *biased* batch variance here; PyTorch uses the unbiased one).
At inference ('test' mode) it uses the running statistics instead, so the output of
one sample does not depend on the rest of the batch. The running statistics are the
one thing a graded function in this course updates in place: ``bn_param`` is a dict
and its ``running_mean`` / ``running_var`` entries are replaced by the new arrays.

Layer normalization (Keras ``LayerNormalization(epsilon=1e-3)``) uses the same
formulas but normalizes each sample over its own last axis; it behaves identically
in training and at inference and keeps no running statistics.

Dropout is inverted dropout, as in Keras: ``rate`` is the probability of *dropping*
a unit; kept units are multiplied by 1 / (1 - rate) during training so that the
expected activation is unchanged and inference needs no change at all. It is applied
to hidden activations (a layer's outputs), not to the input data (as article 001 §3.4.2 has
it); batch norm is a normalization of pre-activations, not primarily a regularizer (as
article 001 §3.4.1 has it).
"""

import numpy as np

from dlcourse.validate import as_float_array, generator

_BN_DEFAULTS = {"eps": 1e-3, "momentum": 0.99}


def _check_affine(x, gamma, beta):
    x, gamma, beta = as_float_array(x, "x"), as_float_array(gamma, "gamma"), as_float_array(beta, "beta")
    if x.ndim < 2:
        raise ValueError(f"x must have shape (n, ..., d) with a batch axis first, got {x.shape}")
    d = x.shape[-1]
    if gamma.shape != (d,) or beta.shape != (d,):
        raise ValueError(f"gamma and beta must have shape ({d},) to match x {x.shape}, "
                         f"got {gamma.shape} and {beta.shape}")
    return x, gamma, beta


# --------------------------------------------------------------------------- batch norm


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization forward pass.

    x: (n, d), or (n, ..., d) with statistics over every axis but the last;
    gamma, beta: (d,).
    bn_param: dict with
        'mode'         'train' or 'test' (required);
        'eps'          added to the variance inside the square root, default 1e-3;
        'momentum'     of the running averages, default 0.99;
        'running_mean' (d,), zeros when absent; 'running_var' (d,), ones when absent.
    Train mode normalizes with the batch mean and biased batch variance and stores
    momentum * running + (1 - momentum) * batch as new arrays under 'running_mean'
    and 'running_var' in bn_param (the dict is updated in place, the old arrays are
    not written to). Test mode normalizes with the running statistics and leaves
    bn_param's statistics unchanged (missing ones are filled with zeros/ones).
    Returns (out, cache): out shaped like x; cache for the backward passes.
    """
    return _batchnorm_forward(x, gamma, beta, bn_param, _BATCH_NORM)


def _batchnorm_forward(x, gamma, beta, bn_param, norm):
    """``batchnorm_forward`` with its steps taken by ``norm``."""
    x, gamma, beta = _check_affine(x, gamma, beta)
    if not isinstance(bn_param, dict):
        raise ValueError(f"bn_param must be a dict, got {type(bn_param).__name__}")
    mode = bn_param.get("mode")
    if mode not in ("train", "test"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    eps = float(bn_param.get("eps", _BN_DEFAULTS["eps"]))
    momentum = float(bn_param.get("momentum", _BN_DEFAULTS["momentum"]))
    if not eps > 0.0:
        raise ValueError(f"bn_param['eps'] must be > 0, got {eps}")
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"bn_param['momentum'] must lie in [0, 1], got {momentum}")
    d = x.shape[-1]
    running_mean = as_float_array(bn_param.get("running_mean", np.zeros(d)), "running_mean")
    running_var = as_float_array(bn_param.get("running_var", np.ones(d)), "running_var")
    if running_mean.shape != (d,) or running_var.shape != (d,):
        raise ValueError(f"running_mean and running_var must have shape ({d},), "
                         f"got {running_mean.shape} and {running_var.shape}")

    return norm.normalize(x, gamma, beta, bn_param, mode, eps, momentum, running_mean, running_var)


class _Normalization:
    """The steps of the normalizing forward passes, one private method per decision.

    They exist so that a variant can change exactly one of them (autograder's catalogue of known
    mistakes overrides one each); none is part of the graded contract.
    """

    def variance(self, x, axis, keepdims=False):
        """The variance of x over ``axis``: biased (divided by the number of values)."""
        return x.var(axis=axis, keepdims=keepdims)

    def inv_std(self, var, eps):
        """1 / sqrt(var + eps): eps inside the square root."""
        return 1.0 / np.sqrt(var + eps)


class _BatchNorm(_Normalization):
    """``batchnorm_forward`` after its validation."""

    def batch_statistics(self, x, axes):
        """(mean, variance) over the batch axes, used to normalize in train mode."""
        return x.mean(axis=axes), self.variance(x, axes)

    def running_variance(self, x, axes, var):
        """The batch variance the running average takes in: the one used to normalize (Keras)."""
        return var

    def running_average(self, running, batch, momentum):
        """The new running statistic: momentum * running + (1 - momentum) * batch."""
        return momentum * running + (1.0 - momentum) * batch

    def test_statistics(self, x, axes, running_mean, running_var):
        """(mean, variance) used to normalize in test mode: the running statistics."""
        return running_mean, running_var

    def normalize(self, x, gamma, beta, bn_param, mode, eps, momentum, running_mean, running_var):
        axes = tuple(range(x.ndim - 1))
        if mode == "train":
            mu, var = self.batch_statistics(x, axes)
            bn_param["running_mean"] = self.running_average(running_mean, mu, momentum)
            bn_param["running_var"] = self.running_average(running_var, self.running_variance(x, axes, var), momentum)
        else:
            mu, var = self.test_statistics(x, axes, running_mean, running_var)
            bn_param.setdefault("running_mean", running_mean.copy())
            bn_param.setdefault("running_var", running_var.copy())
        inv_std = self.inv_std(var, eps)
        x_hat = (x - mu) * inv_std
        out = gamma * x_hat + beta
        cache = {"mode": mode, "x": x, "x_hat": x_hat, "mu": mu, "var": var, "eps": eps,
                 "inv_std": inv_std, "gamma": gamma, "axes": axes}
        return out, cache


_BATCH_NORM = _BatchNorm()


def _check_dout(dout, cache):
    dout = as_float_array(dout, "dout")
    if dout.shape != cache["x"].shape:
        raise ValueError(f"dout must have shape {cache['x'].shape} like the forward input, got {dout.shape}")
    return dout


def batchnorm_backward(dout, cache):
    """Batch normalization backward pass, compact form.

    dout: shaped like the forward input x; cache from ``batchnorm_forward``.
    Returns (dx, dgamma, dbeta) shaped like x, (d,), (d,):

        dbeta = sum(dout), dgamma = sum(dout * x_hat)      (over the batch axes)
        train: dx = inv_std / m * (m g - sum(g) - x_hat * sum(g * x_hat)), g = gamma dout
        test:  dx = gamma * inv_std * dout   (the running statistics are constants)

    with m the number of samples the statistics were taken over.
    """
    dout = _check_dout(dout, cache)
    axes, x_hat, inv_std = cache["axes"], cache["x_hat"], cache["inv_std"]
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    g = dout * cache["gamma"]
    if cache["mode"] == "test":
        return g * inv_std, dgamma, dbeta
    m = x_hat.size // x_hat.shape[-1]
    dx = inv_std / m * (m * g - g.sum(axis=axes) - x_hat * (g * x_hat).sum(axis=axes))
    return dx, dgamma, dbeta


def batchnorm_backward_graph(dout, cache):
    """Batch normalization backward pass, one node of the computational graph at a time.

    Same inputs and outputs as ``batchnorm_backward`` (and the same values up to
    rounding); written out step by step for the notebook. Forward graph (train mode):

        mu = mean(x)  ->  xmu = x - mu  ->  sq = xmu**2  ->  var = mean(sq)
        ->  std = sqrt(var + eps)  ->  istd = 1 / std  ->  x_hat = xmu * istd
        ->  out = gamma * x_hat + beta
    """
    dout = _check_dout(dout, cache)
    axes, x, x_hat, gamma = cache["axes"], cache["x"], cache["x_hat"], cache["gamma"]
    m = x.size // x.shape[-1]
    # out = gamma * x_hat + beta
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    dx_hat = dout * gamma
    if cache["mode"] == "test":
        return dx_hat * cache["inv_std"], dgamma, dbeta
    # recompute the forward nodes
    mu, var, eps = cache["mu"], cache["var"], cache["eps"]
    xmu = x - mu
    std = np.sqrt(var + eps)
    istd = 1.0 / std
    # x_hat = xmu * istd  (xmu feeds two branches: here and through var)
    dxmu_direct = dx_hat * istd
    distd = (dx_hat * xmu).sum(axis=axes)
    # istd = 1 / std
    dstd = -distd / std**2
    # std = sqrt(var + eps)
    dvar = dstd * 0.5 / std
    # var = mean(sq)
    dsq = np.broadcast_to(dvar / m, x.shape)
    # sq = xmu**2
    dxmu = dxmu_direct + 2.0 * xmu * dsq
    # xmu = x - mu  (x feeds two branches: here and through mu)
    dx_direct = dxmu
    dmu = -dxmu.sum(axis=axes)
    # mu = mean(x)
    dx = dx_direct + np.broadcast_to(dmu / m, x.shape)
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------- layer norm


def layernorm_forward(x, gamma, beta, eps=1e-3):
    """Layer normalization forward pass: each sample normalized over its last axis.

    x: (n, d) or (n, ..., d); gamma, beta: (d,); eps: float > 0 (Keras default 1e-3).
    x_hat = (x - mean) / sqrt(var + eps) with mean and biased var over the last axis;
    out = gamma * x_hat + beta. Same in training and at inference.
    Returns (out, cache): out shaped like x.
    """
    return _layernorm_forward(x, gamma, beta, eps, _LAYER_NORM)


def _layernorm_forward(x, gamma, beta, eps, norm):
    """``layernorm_forward`` with its steps taken by ``norm``."""
    x, gamma, beta = _check_affine(x, gamma, beta)
    eps = float(eps)
    if not eps > 0.0:
        raise ValueError(f"eps must be > 0, got {eps}")
    return norm.normalize(x, gamma, beta, eps)


class _LayerNorm(_Normalization):
    """``layernorm_forward`` after its validation."""

    axis = -1  # each sample over its own features

    def normalize(self, x, gamma, beta, eps):
        mu = x.mean(axis=self.axis, keepdims=True)
        var = self.variance(x, self.axis, keepdims=True)
        inv_std = self.inv_std(var, eps)
        x_hat = (x - mu) * inv_std
        return gamma * x_hat + beta, {"x": x, "x_hat": x_hat, "inv_std": inv_std, "gamma": gamma}


_LAYER_NORM = _LayerNorm()


def layernorm_backward(dout, cache):
    """Layer normalization backward pass.

    dout: shaped like x; cache from ``layernorm_forward``.
    Returns (dx, dgamma, dbeta) shaped like x, (d,), (d,). Per sample, over its d
    features: dx = inv_std / d * (d g - sum(g) - x_hat * sum(g * x_hat)), g = gamma dout;
    dgamma and dbeta are summed over every axis but the last.
    """
    dout = _check_dout(dout, cache)
    x_hat, inv_std = cache["x_hat"], cache["inv_std"]
    axes = tuple(range(dout.ndim - 1))
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * x_hat).sum(axis=axes)
    g = dout * cache["gamma"]
    d = x_hat.shape[-1]
    dx = inv_std / d * (d * g - g.sum(axis=-1, keepdims=True) - x_hat * (g * x_hat).sum(axis=-1, keepdims=True))
    return dx, dgamma, dbeta


# --------------------------------------------------------------------------- dropout


def dropout_forward(x, rate, training, rng):
    """Inverted dropout.

    x: array of any shape; rate: probability of dropping each unit, in [0, 1);
    training: bool; rng: numpy.random.Generator (not used when training is False).
    Training: each unit is kept independently with probability 1 - rate and
    mask = where(kept, 1 / (1 - rate), 0.0), a float64 array shaped like x;
    out = x * mask. Not training: out is a copy of x and mask is None.
    Returns (out, mask).
    """
    return _dropout_forward(x, rate, training, rng, _DROPOUT)


def _dropout_forward(x, rate, training, rng, dropout):
    """``dropout_forward`` with its decisions taken by ``dropout``."""
    x = as_float_array(x, "x")
    try:
        rate = float(rate)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"rate must be a number in [0, 1), got {rate!r}") from exc
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate is the drop probability and must lie in [0, 1), got {rate}")
    if not dropout.active(training):
        return x.copy(), None
    generator(rng)
    keep = rng.random(x.shape) >= dropout.drop_probability(rate)
    mask = np.where(keep, dropout.survivor_scale(rate), 0.0)
    return x * mask, mask


class _Dropout:
    """The decisions of ``dropout_forward``, one private method each (a variant, autograder's catalogue
    of known mistakes, overrides one); not part of the graded contract."""

    def active(self, training):
        """Whether units are dropped: only in training."""
        return training

    def drop_probability(self, rate):
        """The probability of dropping a unit: rate."""
        return rate

    def survivor_scale(self, rate):
        """What a kept unit is multiplied by: 1 / (1 - drop probability) (inverted dropout)."""
        return 1.0 / (1.0 - self.drop_probability(rate))


_DROPOUT = _Dropout()


def dropout_backward(dout, mask):
    """Backward pass of ``dropout_forward``.

    dout: gradient with respect to out; mask: the mask it returned (float64 array
    of 0 and 1 / (1 - rate), shaped like dout) or None (not training).
    Returns dx = dout * mask, or a copy of dout when mask is None.
    """
    dout = as_float_array(dout, "dout")
    if mask is None:
        return dout.copy()
    mask = as_float_array(mask, "mask")
    if mask.shape != dout.shape:
        raise ValueError(f"mask has shape {mask.shape} but dout has shape {dout.shape}")
    return dout * mask
