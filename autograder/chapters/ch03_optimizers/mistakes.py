"""Plausible wrong versions of the chapter 03 (optimizers) graded steps.

``MISTAKES[function_name][description]`` is a function with the reference signature;
each description completes the sentence "your output matches ...". Every mistake
gives a different output from the reference on generic inputs (a test checks this).
None of them modifies its inputs. Several come from the source articles (000 §3.2.3, 002 §3.3-3.4, 003 §3.5,
004 §3.4.3).
"""

from __future__ import annotations

import numpy as np

from autograder.chapters.ch03_optimizers.reference import (
    _decayed_sum,
    _heavy_ball_direction,
    _momentum_family,
    _nesterov_direction,
)


def _f(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


# ------------------------------------------------------------------ sgd_step
def _sgd_ascent(w, g, lr):
    w, g = _f(w, g)
    return w + lr * g


def _sgd_no_lr(w, g, lr):
    w, g = _f(w, g)
    return w - g


# ------------------------------------------------------------------ momentum_step, nesterov_step
def _momentum_variant(direction, new_velocity=_decayed_sum, lr_on_gradient=False):
    """A wrong momentum or Nesterov step: the reference update with one hook changed
    (direction, new_velocity: as in the reference's ``_momentum_family``; lr_on_gradient:
    the gradient multiplied by lr before it enters the update)."""
    def step(w, g, velocity, lr, beta=0.9):
        g = np.asarray(g, dtype=np.float64)
        return _momentum_family(w, lr * g if lr_on_gradient else g, velocity, lr, beta, direction, new_velocity)
    return step


_mom_lr_twice = _momentum_variant(_heavy_ball_direction, lr_on_gradient=True)
_mom_old_velocity = _momentum_variant(lambda g, velocity, velocity_new, beta: velocity)
_mom_not_decayed = _momentum_variant(_heavy_ball_direction, lambda velocity, g, beta: velocity + g)
_mom_beta_on_gradient = _momentum_variant(_heavy_ball_direction, lambda velocity, g, beta: velocity + beta * g)
_mom_ema = _momentum_variant(_heavy_ball_direction,
                             lambda velocity, g, beta: beta * velocity + (1 - beta) * g)
_nag_plain_momentum = _momentum_variant(_heavy_ball_direction)
_nag_old_velocity = _momentum_variant(lambda g, velocity, velocity_new, beta: g + beta * velocity)
_nag_no_gradient = _momentum_variant(lambda g, velocity, velocity_new, beta: beta * velocity_new)
_nag_lr_twice = _momentum_variant(_nesterov_direction, lr_on_gradient=True)


# ------------------------------------------------------------------ adagrad_step
def _adagrad_no_eps(w, g, accum, lr, eps=1e-7):
    w, g, accum = _f(w, g, accum)
    a = accum + g * g
    with np.errstate(divide="ignore", invalid="ignore"):
        return w - lr * g / np.sqrt(a), a


def _adagrad_eps_inside(w, g, accum, lr, eps=1e-7):
    w, g, accum = _f(w, g, accum)
    a = accum + g * g
    return w - lr * g / np.sqrt(a + eps), a


def _adagrad_old_accum(w, g, accum, lr, eps=1e-7):
    w, g, accum = _f(w, g, accum)
    a = accum + g * g
    return w - lr * g / (np.sqrt(accum) + eps), a


def _adagrad_no_sqrt(w, g, accum, lr, eps=1e-7):
    w, g, accum = _f(w, g, accum)
    a = accum + g * g
    return w - lr * g / (a + eps), a


# ------------------------------------------------------------------ rmsprop_step
def _rms_not_decayed(w, g, sq_avg, lr, rho=0.9, eps=1e-7):
    w, g, sq_avg = _f(w, g, sq_avg)
    s = sq_avg + (1 - rho) * g * g
    return w - lr * g / (np.sqrt(s) + eps), s


def _rms_rho_swapped(w, g, sq_avg, lr, rho=0.9, eps=1e-7):
    w, g, sq_avg = _f(w, g, sq_avg)
    s = (1 - rho) * sq_avg + rho * g * g
    return w - lr * g / (np.sqrt(s) + eps), s


def _rms_eps_inside(w, g, sq_avg, lr, rho=0.9, eps=1e-7):
    w, g, sq_avg = _f(w, g, sq_avg)
    s = rho * sq_avg + (1 - rho) * g * g
    return w - lr * g / np.sqrt(s + eps), s


def _rms_old_average(w, g, sq_avg, lr, rho=0.9, eps=1e-7):
    w, g, sq_avg = _f(w, g, sq_avg)
    s = rho * sq_avg + (1 - rho) * g * g
    return w - lr * g / (np.sqrt(sq_avg) + eps), s


# ------------------------------------------------------------------ adam_step
def _moments(g, m, v, beta1, beta2):
    return beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g


def _adam_no_bias_correction(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    w, g, m, v = _f(w, g, m, v)
    m1, v1 = _moments(g, m, v, beta1, beta2)
    return w - lr * m1 / (np.sqrt(v1) + eps), m1, v1


def _adam_correct_m_only(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    w, g, m, v = _f(w, g, m, v)
    m1, v1 = _moments(g, m, v, beta1, beta2)
    return w - lr * (m1 / (1 - beta1**t)) / (np.sqrt(v1) + eps), m1, v1


def _adam_t_from_0(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    w, g, m, v = _f(w, g, m, v)
    m1, v1 = _moments(g, m, v, beta1, beta2)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat = m1 / (1 - beta1 ** (t - 1))
        v_hat = v1 / (1 - beta2 ** (t - 1))
        return w - lr * m_hat / (np.sqrt(v_hat) + eps), m1, v1


def _adam_eps_inside(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    w, g, m, v = _f(w, g, m, v)
    m1, v1 = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m1 / (1 - beta1**t), v1 / (1 - beta2**t)
    return w - lr * m_hat / np.sqrt(v_hat + eps), m1, v1


def _adam_returns_corrected(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    w, g, m, v = _f(w, g, m, v)
    m1, v1 = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m1 / (1 - beta1**t), v1 / (1 - beta2**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat


def _adam_betas_swapped(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    w, g, m, v = _f(w, g, m, v)
    m1, v1 = _moments(g, m, v, beta2, beta1)
    m_hat, v_hat = m1 / (1 - beta2**t), v1 / (1 - beta1**t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m1, v1


# ------------------------------------------------------------------ adamw_step
def _adam_dir(g, m, v, t, beta1, beta2, eps):
    m1, v1 = _moments(g, m, v, beta1, beta2)
    m_hat, v_hat = m1 / (1 - beta1**t), v1 / (1 - beta2**t)
    return m_hat / (np.sqrt(v_hat) + eps), m1, v1


def _adamw_l2(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7,
              weight_decay=0.004):
    w, g, m, v = _f(w, g, m, v)
    d, m1, v1 = _adam_dir(g + weight_decay * w, m, v, t, beta1, beta2, eps)
    return w - lr * d, m1, v1


def _adamw_decay_without_lr(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7,
                            weight_decay=0.004):
    w, g, m, v = _f(w, g, m, v)
    d, m1, v1 = _adam_dir(g, m, v, t, beta1, beta2, eps)
    return w - lr * d - weight_decay * w, m1, v1


def _adamw_decay_with_step_size(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999,
                                eps=1e-7, weight_decay=0.004):
    w, g, m, v = _f(w, g, m, v)
    d, m1, v1 = _adam_dir(g, m, v, t, beta1, beta2, eps)
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return w - lr * d - lr_t * weight_decay * w, m1, v1


def _adamw_decay_after_step(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7,
                            weight_decay=0.004):
    w, g, m, v = _f(w, g, m, v)
    d, m1, v1 = _adam_dir(g, m, v, t, beta1, beta2, eps)
    w1 = w - lr * d
    return w1 - lr * weight_decay * w1, m1, v1


def _adamw_no_bias_correction(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7,
                              weight_decay=0.004):
    w, g, m, v = _f(w, g, m, v)
    m1, v1 = _moments(g, m, v, beta1, beta2)
    return w - lr * (m1 / (np.sqrt(v1) + eps) + weight_decay * w), m1, v1


MISTAKES = {
    "sgd_step": {
        "gradient ascent (w + lr g)": _sgd_ascent,
        "a step without the learning rate (w - g)": _sgd_no_lr,
    },
    "momentum_step": {
        "the learning rate applied to the velocity twice": _mom_lr_twice,
        "the old velocity used in the update (w - lr velocity)": _mom_old_velocity,
        "a velocity that is not decayed (velocity + g)": _mom_not_decayed,
        "beta applied to the gradient instead of the velocity": _mom_beta_on_gradient,
        "the (1 - beta)-scaled velocity with an unchanged learning rate": _mom_ema,
    },
    "nesterov_step": {
        "plain momentum (no look-ahead)": _nag_plain_momentum,
        "a look-ahead with the old velocity (g + beta velocity)": _nag_old_velocity,
        "a look-ahead without the gradient term (w - lr beta velocity_new)":
            _nag_no_gradient,
        "the learning rate applied to the velocity twice": _nag_lr_twice,
    },
    "adagrad_step": {
        "Adagrad without epsilon (article 002 §3.3)": _adagrad_no_eps,
        "epsilon inside the square root (Keras's placement, not this course's)":
            _adagrad_eps_inside,
        "the old accumulator in the denominator": _adagrad_old_accum,
        "the accumulator without its square root": _adagrad_no_sqrt,
    },
    "rmsprop_step": {
        "RMSprop with the squared average not decayed": _rms_not_decayed,
        "rho and 1 - rho swapped": _rms_rho_swapped,
        "epsilon inside the square root (Keras's placement, not this course's)":
            _rms_eps_inside,
        "the old squared average in the denominator": _rms_old_average,
    },
    "adam_step": {
        "Adam without bias correction (articles 000 §3.2.3, 002 §3.4)": _adam_no_bias_correction,
        "Adam with bias correction on m but not on v (article 004 §3.4.3)": _adam_correct_m_only,
        "t counted from 0 (bias correction with t-1)": _adam_t_from_0,
        "epsilon inside the square root": _adam_eps_inside,
        "the bias-corrected moments returned as the new state": _adam_returns_corrected,
        "beta1 and beta2 swapped": _adam_betas_swapped,
    },
    "adamw_step": {
        "weight decay added to the gradient (L2) instead of decoupled": _adamw_l2,
        "a decay not multiplied by the learning rate (w - weight_decay w)":
            _adamw_decay_without_lr,
        "AdamW decay scaled by the bias-corrected step size lr sqrt(1-beta2^t)/(1-beta1^t)"
        " instead of lr": _adamw_decay_with_step_size,
        "the decay applied to the updated weights instead of the old ones":
            _adamw_decay_after_step,
        "AdamW without bias correction": _adamw_no_bias_correction,
    },
}
