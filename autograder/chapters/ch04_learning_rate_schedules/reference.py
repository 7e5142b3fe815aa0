"""Reference implementations for chapter 04, learning-rate schedules and callbacks.

Every schedule is a pure function of a 0-based ``step`` (or ``epoch``) that returns a
float. ``exponential_decay`` and ``cosine_decay`` follow Keras 3's
``keras.optimizers.schedules.ExponentialDecay`` and ``CosineDecay``;
``EarlyStopping`` and ``ReduceLROnPlateau`` follow ``keras.callbacks.EarlyStopping``
(mode "min") and ``keras.callbacks.ReduceLROnPlateau`` (mode "min", cooldown 0).

Polyak momentum is not a schedule (article 003 §3.6 lists it as one): it is an optimizer (chapter 03).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from dlcourse.validate import real

__all__ = [
    "step_decay",
    "exponential_decay",
    "linear_decay",
    "cosine_decay",
    "warmup_cosine",
    "triangular_cyclic_lr",
    "one_cycle_lr",
    "EarlyStopping",
    "ReduceLROnPlateau",
]


# --------------------------------------------------------------------------- helpers
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
    lr0 = real(lr0, "lr0", 0.0)
    epoch = _count(epoch, "epoch")
    drop = real(drop, "drop", 0.0, strict=True)
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
    lr0 = real(lr0, "lr0", 0.0)
    step = real(step, "step", 0.0)
    decay_rate = real(decay_rate, "decay_rate", 0.0, strict=True)
    decay_steps = real(decay_steps, "decay_steps", 0.0, strict=True)
    p = step / decay_steps
    if staircase:
        p = math.floor(p)
    return lr0 * decay_rate**p


def linear_decay(lr0, step, total_steps, lr_end=0.0):
    """Linear decay from lr0 at step 0 to lr_end at total_steps, constant after.

    lr = lr0 + (lr_end - lr0) * min(step, total_steps) / total_steps.
    lr0, lr_end >= 0; step >= 0; total_steps > 0. Returns a float.
    """
    lr0 = real(lr0, "lr0", 0.0)
    step = real(step, "step", 0.0)
    total_steps = real(total_steps, "total_steps", 0.0, strict=True)
    lr_end = real(lr_end, "lr_end", 0.0)
    frac = min(step, total_steps) / total_steps
    return lr0 + (lr_end - lr0) * frac


def cosine_decay(lr0, step, total_steps, alpha=0.0):
    """Cosine decay as Keras's ``CosineDecay`` without warmup.

    s = min(step, total_steps);  c = 0.5 (1 + cos(pi s / total_steps));
    lr = lr0 ((1 - alpha) c + alpha), so lr0 at step 0 and alpha * lr0 from
    total_steps on (alpha is a fraction of lr0, not a rate).
    lr0 >= 0; step >= 0; total_steps > 0; alpha in [0, 1]. Returns a float.
    """
    lr0 = real(lr0, "lr0", 0.0)
    step = real(step, "step", 0.0)
    total_steps = real(total_steps, "total_steps", 0.0, strict=True)
    alpha = real(alpha, "alpha", 0.0)
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
    lr_peak = real(lr_peak, "lr_peak", 0.0)
    step = real(step, "step", 0.0)
    warmup_steps = _count(warmup_steps, "warmup_steps")
    total_steps = _count(total_steps, "total_steps", 1)
    lr_min = real(lr_min, "lr_min", 0.0)
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
    step = real(step, "step", 0.0)
    base_lr = real(base_lr, "base_lr", 0.0)
    max_lr = real(max_lr, "max_lr", 0.0)
    step_size = real(step_size, "step_size", 0.0, strict=True)
    if max_lr < base_lr:
        raise ValueError(f"max_lr ({max_lr}) must be >= base_lr ({base_lr})")
    cycle = math.floor(1.0 + step / (2.0 * step_size))
    x = abs(step / step_size - 2.0 * cycle + 1.0)
    return base_lr + (max_lr - base_lr) * max(0.0, 1.0 - x)


def _cosine_anneal(start, end, p):
    """From start (p = 0) to end (p = 1) along half a cosine, as PyTorch's ``_annealing_cos``."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * p) + 1.0)


def one_cycle_lr(step, total_steps, max_lr, div_factor=25.0, final_div_factor=1e4, pct_start=0.3):
    """The one-cycle policy with cosine annealing, as PyTorch's ``OneCycleLR`` (two phases, the rate only).

    initial = max_lr / div_factor and final = initial / final_div_factor (= max_lr / (div_factor
    final_div_factor), not max_lr / final_div_factor). The phases end at PyTorch's ``end_step``s, the
    real numbers e1 = pct_start * total_steps - 1 and e2 = total_steps - 1: a cosine from initial
    (step 0) up to max_lr (step e1), then from max_lr down to final (step e2); within a phase from
    rate a at step s0 to rate b at step s1,
        lr = b + (a - b) (1 + cos(pi p)) / 2,   p = (step - s0) / (s1 - s0).
    step is PyTorch's step count: 0 is the first update (the rate the scheduler sets when built,
    before the first ``scheduler.step()``); integers 0 <= step <= total_steps - 1 (PyTorch computes
    step total_steps too, past the end of the cosine, and raises after it). max_lr >= 0;
    div_factor, final_div_factor > 0; 0 < pct_start < 1 with pct_start * total_steps > 1 (the
    warm-up ends after step 0, so neither phase is empty). Returns a float.
    """
    total_steps = _count(total_steps, "total_steps")
    step = _count(step, "step")
    if step > total_steps - 1:
        raise ValueError(f"step must be <= total_steps - 1 = {total_steps - 1}, got {step}")
    max_lr = real(max_lr, "max_lr", 0.0)
    div_factor = real(div_factor, "div_factor", 0.0, strict=True)
    final_div_factor = real(final_div_factor, "final_div_factor", 0.0, strict=True)
    pct_start = real(pct_start, "pct_start", 0.0, strict=True)
    if pct_start >= 1.0 or pct_start * total_steps <= 1.0:
        raise ValueError(f"need pct_start < 1 and pct_start * total_steps > 1, got pct_start={pct_start}, "
                         f"total_steps={total_steps}")
    initial = max_lr / div_factor
    final = initial / final_div_factor
    end_up = float(pct_start * total_steps) - 1.0
    end_down = float(total_steps - 1)
    if step <= end_up:
        return _cosine_anneal(initial, max_lr, step / end_up)
    return _cosine_anneal(max_lr, final, (step - end_up) / (end_down - end_up))


# --------------------------------------------------------------------------- callbacks
def _monitored(value):
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise ValueError(f"val_loss must be a real scalar, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"val_loss must be a real scalar, got {value!r}") from None


class _Patience:
    """What the two callbacks share: when a value improves on the best, when patience has run out.

    Each private method is one decision, so a variant (autograder's catalogue of known mistakes)
    changes one method; none of them is part of the graded contract.
    """

    def _is_improvement(self, value):
        return self.best is None or value < self.best - self.min_delta

    def _patience_exhausted(self):
        return self.wait >= self.patience


class EarlyStopping(_Patience):
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
        self.min_delta = real(min_delta, "min_delta", 0.0)
        self.best = None
        self.best_epoch = 0
        self.wait = 0
        self.epoch = 0
        self.stopped_epoch = None

    def _improved(self, value, epoch):
        self.best = value
        self.best_epoch = epoch
        self.wait = 0

    def update(self, val_loss):
        """Record this epoch's val_loss (a float); return True when training should stop."""
        value = _monitored(val_loss)
        epoch = self.epoch
        self.epoch += 1
        if self._is_improvement(value):
            self._improved(value, epoch)
            return False
        self.wait += 1
        if self._patience_exhausted():
            if self.stopped_epoch is None:
                self.stopped_epoch = epoch
            return True
        return False


class ReduceLROnPlateau(_Patience):
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
        self.lr = real(lr, "lr", 0.0)
        self.factor = real(factor, "factor", 0.0, strict=True)
        if self.factor >= 1.0:
            raise ValueError(f"factor must be < 1 (it cuts the rate), got {factor!r}")
        self.patience = _count(patience, "patience")
        self.min_delta = real(min_delta, "min_delta", 0.0)
        self.min_lr = real(min_lr, "min_lr", 0.0)
        self.best = None
        self.wait = 0
        self.epoch = 0

    def _above_floor(self):
        # Keras: `if old_lr > np.float32(self.min_lr)`.
        return self.lr > float(np.float32(self.min_lr))

    def _cut_rate(self):
        return max(self.lr * self.factor, self.min_lr)

    def _after_cut(self):
        self.wait = 0

    def update(self, val_loss):
        """Record this epoch's val_loss (a float); return the learning rate to use next."""
        value = _monitored(val_loss)
        self.epoch += 1
        if self._is_improvement(value):
            self.best = value
            self.wait = 0
            return self.lr
        self.wait += 1
        if self._patience_exhausted() and self._above_floor():
            self.lr = self._cut_rate()
            self._after_cut()
        return self.lr
