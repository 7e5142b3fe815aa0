"""Reference implementations for chapter 04, learning-rate schedules and callbacks.

Every schedule is a pure function of a 0-based ``step`` (or ``epoch``) that returns a
float. ``exponential_decay`` and ``cosine_decay`` follow Keras 3's
``keras.optimizers.schedules.ExponentialDecay`` and ``CosineDecay``;
``EarlyStopping`` and ``ReduceLROnPlateau`` follow ``keras.callbacks.EarlyStopping``
(mode "min") and ``keras.callbacks.ReduceLROnPlateau`` (mode "min", cooldown 0).

Polyak momentum is not a schedule (ERRATA 19): it is an optimizer (chapter 03).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "step_decay",
    "exponential_decay",
    "linear_decay",
    "cosine_decay",
    "warmup_cosine",
    "triangular_cyclic_lr",
    "EarlyStopping",
    "ReduceLROnPlateau",
]


# --------------------------------------------------------------------------- helpers
def _real(value, name, minimum=None, strict=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        raise ValueError(f"{name} must be {'>' if strict else '>='} {minimum}, got {value!r}")
    return value


def _count(value, name, minimum=0):
    """A step or epoch counter: an integer (or integral float) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif math.isfinite(value) and float(value).is_integer():
        value = int(value)
    else:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return value


# --------------------------------------------------------------------------- schedules
def step_decay(lr0, epoch, drop=0.5, epochs_per_drop=10):
    """Step decay: lr0 * drop ** floor(epoch / epochs_per_drop).

    lr0 >= 0; epoch: 0-based integer >= 0 (epochs 0 .. epochs_per_drop - 1 use lr0);
    drop in (0, 1]; epochs_per_drop: integer >= 1. Returns a float.
    """
    lr0 = _real(lr0, "lr0", 0.0)
    epoch = _count(epoch, "epoch")
    drop = _real(drop, "drop", 0.0, strict=True)
    if drop > 1.0:
        raise ValueError(f"drop must be in (0, 1], got {drop!r}")
    epochs_per_drop = _count(epochs_per_drop, "epochs_per_drop", 1)
    return lr0 * drop ** (epoch // epochs_per_drop)


def exponential_decay(lr0, step, decay_rate, decay_steps, staircase=False):
    """Exponential decay as Keras's ``ExponentialDecay``.

    lr0 * decay_rate ** (step / decay_steps); with staircase=True the exponent is
    floored, floor(step / decay_steps), so the rate drops in steps.
    lr0 >= 0; step >= 0 (0-based); decay_rate > 0; decay_steps > 0. Returns a float.
    """
    lr0 = _real(lr0, "lr0", 0.0)
    step = _real(step, "step", 0.0)
    decay_rate = _real(decay_rate, "decay_rate", 0.0, strict=True)
    decay_steps = _real(decay_steps, "decay_steps", 0.0, strict=True)
    p = step / decay_steps
    if staircase:
        p = math.floor(p)
    return lr0 * decay_rate**p


def linear_decay(lr0, step, total_steps, lr_end=0.0):
    """Linear decay from lr0 at step 0 to lr_end at total_steps, constant after.

    lr = lr0 + (lr_end - lr0) * min(step, total_steps) / total_steps.
    lr0, lr_end >= 0; step >= 0; total_steps > 0. Returns a float.
    """
    lr0 = _real(lr0, "lr0", 0.0)
    step = _real(step, "step", 0.0)
    total_steps = _real(total_steps, "total_steps", 0.0, strict=True)
    lr_end = _real(lr_end, "lr_end", 0.0)
    frac = min(step, total_steps) / total_steps
    return lr0 + (lr_end - lr0) * frac


def cosine_decay(lr0, step, total_steps, alpha=0.0):
    """Cosine decay as Keras's ``CosineDecay`` without warmup.

    s = min(step, total_steps);  c = 0.5 (1 + cos(pi s / total_steps));
    lr = lr0 ((1 - alpha) c + alpha), so lr0 at step 0 and alpha * lr0 from
    total_steps on (alpha is a fraction of lr0, not a rate).
    lr0 >= 0; step >= 0; total_steps > 0; alpha in [0, 1]. Returns a float.
    """
    lr0 = _real(lr0, "lr0", 0.0)
    step = _real(step, "step", 0.0)
    total_steps = _real(total_steps, "total_steps", 0.0, strict=True)
    alpha = _real(alpha, "alpha", 0.0)
    if alpha > 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
    s = min(step, total_steps)
    c = 0.5 * (1.0 + math.cos(math.pi * s / total_steps))
    return lr0 * ((1.0 - alpha) * c + alpha)


def warmup_cosine(lr_peak, step, warmup_steps, total_steps, lr_min=0.0):
    """Linear warmup from 0 to lr_peak, then cosine decay to lr_min.

    step < warmup_steps:  lr = lr_peak step / warmup_steps;
    otherwise, with s = min(step, total_steps) - warmup_steps and
    D = total_steps - warmup_steps:
        lr = lr_min + (lr_peak - lr_min) 0.5 (1 + cos(pi s / D))
    (lr_peak at step warmup_steps, lr_min at total_steps and after). This equals
    Keras's CosineDecay(0, decay_steps=D, alpha=lr_min / lr_peak,
    warmup_target=lr_peak, warmup_steps=warmup_steps).
    lr_peak >= lr_min >= 0; step >= 0; integers 0 <= warmup_steps < total_steps.
    Returns a float.
    """
    lr_peak = _real(lr_peak, "lr_peak", 0.0)
    step = _real(step, "step", 0.0)
    warmup_steps = _count(warmup_steps, "warmup_steps")
    total_steps = _count(total_steps, "total_steps", 1)
    lr_min = _real(lr_min, "lr_min", 0.0)
    if warmup_steps >= total_steps:
        raise ValueError(
            f"warmup_steps ({warmup_steps}) must be smaller than total_steps ({total_steps})"
        )
    if lr_min > lr_peak:
        raise ValueError(f"lr_min ({lr_min}) must not exceed lr_peak ({lr_peak})")
    if step < warmup_steps:
        return lr_peak * step / warmup_steps
    s = min(step, total_steps) - warmup_steps
    c = 0.5 * (1.0 + math.cos(math.pi * s / (total_steps - warmup_steps)))
    return lr_min + (lr_peak - lr_min) * c


def triangular_cyclic_lr(step, base_lr, max_lr, step_size):
    """Smith's (2017) triangular cyclical learning rate.

    The rate climbs linearly from base_lr (step 0) to max_lr (step step_size) and
    back to base_lr (step 2 step_size), then repeats:
        cycle = floor(1 + step / (2 step_size))
        x     = |step / step_size - 2 cycle + 1|
        lr    = base_lr + (max_lr - base_lr) max(0, 1 - x)
    step >= 0; 0 <= base_lr <= max_lr; step_size > 0 (half a cycle). Returns a float.
    """
    step = _real(step, "step", 0.0)
    base_lr = _real(base_lr, "base_lr", 0.0)
    max_lr = _real(max_lr, "max_lr", 0.0)
    step_size = _real(step_size, "step_size", 0.0, strict=True)
    if max_lr < base_lr:
        raise ValueError(f"max_lr ({max_lr}) must be >= base_lr ({base_lr})")
    cycle = math.floor(1.0 + step / (2.0 * step_size))
    x = abs(step / step_size - 2.0 * cycle + 1.0)
    return base_lr + (max_lr - base_lr) * max(0.0, 1.0 - x)


# --------------------------------------------------------------------------- callbacks
def _monitored(value):
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise ValueError(f"val_loss must be a real scalar, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"val_loss must be a real scalar, got {value!r}") from None


class EarlyStopping:
    """Early stopping on a loss (lower is better), as ``keras.callbacks.EarlyStopping``.

    EarlyStopping(patience=5, min_delta=0.0); call ``update(val_loss)`` once per epoch.
    The first value is always an improvement; later a value is an improvement when
    val_loss < best - min_delta. An improvement sets best, best_epoch and resets the
    counter ``wait`` to 0; any other epoch adds 1 to ``wait``, and ``update`` returns
    True (stop now) once wait >= patience. So with patience p training stops p epochs
    after the last improvement (patience 0: at the first epoch without improvement).

    Attributes: best (None before the first update, then a float), best_epoch (0-based
    index of the update that set best), wait, epoch (number of updates so far),
    stopped_epoch (index of the first update that returned True, else None).
    A NaN loss is never an improvement (unless it is the very first value, as in Keras).
    min_delta must be >= 0 (Keras silently uses abs(min_delta)).
    """

    def __init__(self, patience=5, min_delta=0.0):
        self.patience = _count(patience, "patience")
        self.min_delta = _real(min_delta, "min_delta", 0.0)
        self.best = None
        self.best_epoch = 0
        self.wait = 0
        self.epoch = 0
        self.stopped_epoch = None

    def _is_improvement(self, value):
        return self.best is None or value < self.best - self.min_delta

    def update(self, val_loss):
        """Record this epoch's val_loss (a float); return True when training should stop."""
        value = _monitored(val_loss)
        epoch = self.epoch
        self.epoch += 1
        if self._is_improvement(value):
            self.best = value
            self.best_epoch = epoch
            self.wait = 0
            return False
        self.wait += 1
        if self.wait >= self.patience:
            if self.stopped_epoch is None:
                self.stopped_epoch = epoch
            return True
        return False


class ReduceLROnPlateau:
    """Cut the learning rate when a loss stops improving, as Keras's callback
    (mode "min", cooldown 0).

    ReduceLROnPlateau(lr, factor=0.1, patience=10, min_delta=1e-4, min_lr=0.0);
    call ``update(val_loss)`` once per epoch; it returns the rate to use next.
    The first value is always an improvement; later one needs val_loss < best -
    min_delta. An improvement sets best and resets ``wait`` to 0. Otherwise wait += 1,
    and when wait >= patience the rate is cut, provided it is still above min_lr:
        lr <- max(lr * factor, min_lr),  wait <- 0.
    Once lr has reached min_lr nothing is cut and wait is not reset (as in Keras).
    "Above min_lr" is decided exactly as Keras does, lr > float32(min_lr): a rate that
    float64 rounding left a hair above min_lr (0.1 * 0.1 * 0.1 > 0.001) is at the floor.

    Attributes: lr, best (None before the first update), wait, epoch (updates so far).
    lr, min_lr >= 0 (a rate already at or below min_lr is never cut); 0 < factor < 1;
    patience: integer >= 0; min_delta >= 0.
    """

    def __init__(self, lr, factor=0.1, patience=10, min_delta=1e-4, min_lr=0.0):
        self.lr = _real(lr, "lr", 0.0)
        self.factor = _real(factor, "factor", 0.0, strict=True)
        if self.factor >= 1.0:
            raise ValueError(f"factor must be < 1 (it cuts the rate), got {factor!r}")
        self.patience = _count(patience, "patience")
        self.min_delta = _real(min_delta, "min_delta", 0.0)
        self.min_lr = _real(min_lr, "min_lr", 0.0)
        self.best = None
        self.wait = 0
        self.epoch = 0

    def _is_improvement(self, value):
        return self.best is None or value < self.best - self.min_delta

    def _above_floor(self):
        # Keras: `if old_lr > np.float32(self.min_lr)`.
        return self.lr > float(np.float32(self.min_lr))

    def update(self, val_loss):
        """Record this epoch's val_loss (a float); return the learning rate to use next."""
        value = _monitored(val_loss)
        self.epoch += 1
        if self._is_improvement(value):
            self.best = value
            self.wait = 0
            return self.lr
        self.wait += 1
        if self.wait >= self.patience and self._above_floor():
            self.lr = max(self.lr * self.factor, self.min_lr)
            self.wait = 0
        return self.lr
