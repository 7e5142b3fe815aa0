"""Reference implementations for chapter 03, optimizers.

Each step is a pure function: it takes the parameters ``w``, the gradient ``g`` and
the optimizer state (all float64 arrays of one shape) and returns new arrays; the
inputs are never modified. State starts at zeros (``np.zeros_like(w)``) and ``t`` is
the 1-based count of the step being taken.

Conventions (the chapter 03 notebook's) and how they relate to Keras 3:

* momentum: ``v <- beta v + g; w <- w - lr v``. Keras writes
  ``v' <- beta v' - lr g; w <- w + v'``; with a constant lr, ``v' = -lr v`` and the
  iterates are identical (see :func:`keras_momentum_step`).
* Nesterov: ``v <- beta v + g; w <- w - lr (g + beta v)``; Keras's ``nesterov=True``
  is the same with ``v' = -lr v``.
* Adagrad / RMSprop: epsilon is added *outside* the square root,
  ``g / (sqrt(a) + eps)``; Keras adds it inside, ``g / sqrt(a + eps)``, and Keras's
  Adagrad starts its accumulator at 0.1, not 0.
* Adam / AdamW: bias-corrected ``m_hat / (sqrt(v_hat) + eps)``. Keras uses the paper's
  "epsilon hat", ``lr_t m / (sqrt(v) + eps)`` with
  ``lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)``, which equals this course's form with
  ``eps = eps_keras / sqrt(1 - beta2^t)``.
* AdamW: decoupled decay ``w <- w - lr (adam_direction + weight_decay w)``; Keras
  applies ``w <- w - lr weight_decay w`` first and then the Adam step, which is the
  same update because the Adam direction does not depend on w.
"""

from __future__ import annotations

import numbers

import numpy as np

from dlcourse.validate import real

__all__ = [
    "sgd_step",
    "momentum_step",
    "keras_momentum_step",
    "nesterov_step",
    "adagrad_step",
    "rmsprop_step",
    "adam_step",
    "adamw_step",
]


# --------------------------------------------------------------------------- helpers
def _arrays(w, g, **state):
    """Convert w, g and the named state arrays to float64 and check their shapes."""
    try:
        w = np.asarray(w, dtype=np.float64)
        g = np.asarray(g, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"w and g must be numeric arrays: {exc}") from None
    if g.shape != w.shape:
        raise ValueError(f"g must have w's shape {w.shape}, got {g.shape}")
    out = [w, g]
    for name, value in state.items():
        try:
            value = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be a numeric array: {exc}") from None
        if value.shape != w.shape:
            raise ValueError(f"{name} must have w's shape {w.shape}, got {value.shape}")
        out.append(value)
    return out


def _lr(lr):
    return real(lr, "lr", minimum=0.0)


def _beta(beta, name):
    beta = real(beta, name)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
    return beta


def _eps(eps):
    """eps: a float >= 0, or an array of them broadcastable to w."""
    try:
        arr = np.asarray(eps, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"eps must be a number >= 0, got {eps!r}") from None
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"eps must be finite and >= 0, got {eps!r}")
    return float(arr) if arr.ndim == 0 else arr


def _step_count(t):
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1:
        raise ValueError(f"t must be an integer >= 1 (the 1-based step count), got {t!r}")
    return int(t)


def _decayed_sum(velocity, g, beta):
    return beta * velocity + g


def _heavy_ball_direction(g, velocity, velocity_new, beta):
    return velocity_new


def _nesterov_direction(g, velocity, velocity_new, beta):
    return g + beta * velocity_new


def _momentum_family(w, g, velocity, lr, beta, direction, new_velocity=_decayed_sum):
    """The update of :func:`momentum_step` and :func:`nesterov_step` on checked arguments,
    with the seams their named mistakes change (they call it unchecked):

        velocity_new = new_velocity(velocity, g, beta)      (default beta velocity + g)
        w_new        = w - lr direction(g, velocity, velocity_new, beta)

    Returns (w_new, velocity_new).
    """
    w, g, velocity = (np.asarray(a, dtype=np.float64) for a in (w, g, velocity))
    velocity_new = new_velocity(velocity, g, beta)
    return w - lr * direction(g, velocity, velocity_new, beta), velocity_new


# --------------------------------------------------------------------------- steps
def sgd_step(w, g, lr):
    """One plain (stochastic) gradient-descent step.

    w, g: arrays of one shape (parameters, gradient); lr >= 0.
    Returns w_new = w - lr g.
    """
    w, g = _arrays(w, g)
    return w - _lr(lr) * g


def momentum_step(w, g, velocity, lr, beta=0.9):
    """One heavy-ball (Polyak) momentum step, this course's convention.

    w, g, velocity: arrays of one shape; lr >= 0; beta in [0, 1).
        velocity_new = beta velocity + g
        w_new        = w - lr velocity_new
    Returns (w_new, velocity_new).
    """
    w, g, velocity = _arrays(w, g, velocity=velocity)
    lr, beta = _lr(lr), _beta(beta, "beta")
    return _momentum_family(w, g, velocity, lr, beta, _heavy_ball_direction)


def keras_momentum_step(w, g, velocity, lr, beta):
    """One momentum step in Keras's form (``keras.optimizers.SGD(momentum=beta)``).

    w, g, velocity: arrays of one shape; lr >= 0; beta in [0, 1).
        velocity_new = beta velocity - lr g
        w_new        = w + velocity_new
    Returns (w_new, velocity_new). With a constant lr this is :func:`momentum_step`
    with the velocity rescaled, velocity_keras = -lr velocity_course. (The EMA form
    v = beta v + (1 - beta) g, w -= lr' v is the same method with lr' = lr / (1 - beta).)
    """
    w, g, velocity = _arrays(w, g, velocity=velocity)
    lr, beta = _lr(lr), _beta(beta, "beta")
    velocity_new = beta * velocity - lr * g
    return w + velocity_new, velocity_new


def nesterov_step(w, g, velocity, lr, beta=0.9):
    """One Nesterov momentum step (the look-ahead written in terms of g).

    w, g, velocity: arrays of one shape; lr >= 0; beta in [0, 1).
        velocity_new = beta velocity + g
        w_new        = w - lr (g + beta velocity_new)
    Returns (w_new, velocity_new).
    """
    w, g, velocity = _arrays(w, g, velocity=velocity)
    lr, beta = _lr(lr), _beta(beta, "beta")
    return _momentum_family(w, g, velocity, lr, beta, _nesterov_direction)


def adagrad_step(w, g, accum, lr, eps=1e-7):
    """One Adagrad step.

    w, g, accum: arrays of one shape (accum: running sum of g**2, starting at 0);
    lr >= 0; eps >= 0 guards the division (it is outside the square root).
        accum_new = accum + g^2
        w_new     = w - lr g / (sqrt(accum_new) + eps)
    Returns (w_new, accum_new).
    """
    w, g, accum = _arrays(w, g, accum=accum)
    lr, eps = _lr(lr), _eps(eps)
    accum_new = accum + g * g
    return w - lr * g / (np.sqrt(accum_new) + eps), accum_new


def rmsprop_step(w, g, sq_avg, lr, rho=0.9, eps=1e-7):
    """One RMSprop step.

    w, g, sq_avg: arrays of one shape (sq_avg: running mean of g**2, starting at 0);
    lr >= 0; rho in [0, 1); eps >= 0 (outside the square root).
        sq_avg_new = rho sq_avg + (1 - rho) g^2
        w_new      = w - lr g / (sqrt(sq_avg_new) + eps)
    Returns (w_new, sq_avg_new).
    """
    w, g, sq_avg = _arrays(w, g, sq_avg=sq_avg)
    lr, rho, eps = _lr(lr), _beta(rho, "rho"), _eps(eps)
    sq_avg_new = rho * sq_avg + (1.0 - rho) * g * g
    return w - lr * g / (np.sqrt(sq_avg_new) + eps), sq_avg_new


def _adam_direction(g, m, v, t, beta1, beta2, eps):
    m_new = beta1 * m + (1.0 - beta1) * g
    v_new = beta2 * v + (1.0 - beta2) * g * g
    m_hat = m_new / (1.0 - beta1**t)
    v_hat = v_new / (1.0 - beta2**t)
    return m_hat / (np.sqrt(v_hat) + eps), m_new, v_new


def adam_step(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    """One Adam step with bias correction.

    w, g, m, v: arrays of one shape (m, v: first and second moment estimates,
    starting at 0); t: this step's 1-based count; lr >= 0; beta1, beta2 in [0, 1);
    eps >= 0.
        m_new = beta1 m + (1 - beta1) g          m_hat = m_new / (1 - beta1^t)
        v_new = beta2 v + (1 - beta2) g^2        v_hat = v_new / (1 - beta2^t)
        w_new = w - lr m_hat / (sqrt(v_hat) + eps)
    Returns (w_new, m_new, v_new) (the stored moments are the uncorrected ones).
    """
    w, g, m, v = _arrays(w, g, m=m, v=v)
    t = _step_count(t)
    lr, eps = _lr(lr), _eps(eps)
    beta1, beta2 = _beta(beta1, "beta1"), _beta(beta2, "beta2")
    direction, m_new, v_new = _adam_direction(g, m, v, t, beta1, beta2, eps)
    return w - lr * direction, m_new, v_new


def adamw_step(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7,
               weight_decay=0.004):
    """One AdamW step: Adam plus decoupled weight decay.

    Arguments as :func:`adam_step`, plus weight_decay >= 0. The decay acts on the
    weights directly, not through the gradient (so not through m and v):
        w_new = w - lr (m_hat / (sqrt(v_hat) + eps) + weight_decay w)
    Returns (w_new, m_new, v_new).
    """
    w, g, m, v = _arrays(w, g, m=m, v=v)
    t = _step_count(t)
    lr, eps = _lr(lr), _eps(eps)
    beta1, beta2 = _beta(beta1, "beta1"), _beta(beta2, "beta2")
    weight_decay = real(weight_decay, "weight_decay")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
    direction, m_new, v_new = _adam_direction(g, m, v, t, beta1, beta2, eps)
    return w - lr * (direction + weight_decay * w), m_new, v_new
