"""Plausible wrong versions of the chapter 04 (schedules, callbacks) graded functions.

``MISTAKES[name][description]`` is a callable with the reference signature (for the
two callbacks, a class with the reference constructor and ``update``); each
description completes the sentence "your output matches ...". Every mistake gives a
different output from the reference on generic inputs (a test checks this).
"""

from __future__ import annotations

import math

from autograder.chapters.ch04_learning_rate_schedules.reference import EarlyStopping, ReduceLROnPlateau


# ------------------------------------------------------------------ step_decay
def _step_from_1(lr0, epoch, drop=0.5, epochs_per_drop=10):
    return lr0 * drop ** ((epoch + 1) // epochs_per_drop)


def _step_smooth(lr0, epoch, drop=0.5, epochs_per_drop=10):
    return lr0 * drop ** (epoch / epochs_per_drop)


def _step_round(lr0, epoch, drop=0.5, epochs_per_drop=10):
    return lr0 * drop ** round(epoch / epochs_per_drop)


# ------------------------------------------------------------------ exponential_decay
def _exp_staircase_ignored(lr0, step, decay_rate, decay_steps, staircase=False):
    return lr0 * decay_rate ** (step / decay_steps)


def _exp_always_staircase(lr0, step, decay_rate, decay_steps, staircase=False):
    return lr0 * decay_rate ** math.floor(step / decay_steps)


def _exp_no_decay_steps(lr0, step, decay_rate, decay_steps, staircase=False):
    return lr0 * decay_rate**step


def _exp_natural(lr0, step, decay_rate, decay_steps, staircase=False):
    p = step / decay_steps
    if staircase:
        p = math.floor(p)
    return lr0 * math.exp(-decay_rate * p)


# ------------------------------------------------------------------ linear_decay
def _lin_no_clamp(lr0, step, total_steps, lr_end=0.0):
    return lr0 + (lr_end - lr0) * step / total_steps


def _lin_to_zero(lr0, step, total_steps, lr_end=0.0):
    return lr0 * (1 - min(step, total_steps) / total_steps)


def _lin_off_by_one(lr0, step, total_steps, lr_end=0.0):
    return lr0 + (lr_end - lr0) * min(step, total_steps - 1) / (total_steps - 1)


# ------------------------------------------------------------------ cosine_decay
def _cos_period(lr0, step, total_steps, alpha=0.0):
    s = min(step, total_steps)
    c = 0.5 * (1 + math.cos(2 * math.pi * s / total_steps))
    return lr0 * ((1 - alpha) * c + alpha)


def _cos_no_clamp(lr0, step, total_steps, alpha=0.0):
    c = 0.5 * (1 + math.cos(math.pi * step / total_steps))
    return lr0 * ((1 - alpha) * c + alpha)


def _cos_alpha_absolute(lr0, step, total_steps, alpha=0.0):
    s = min(step, total_steps)
    c = 0.5 * (1 + math.cos(math.pi * s / total_steps))
    return alpha + (lr0 - alpha) * c


def _cos_alpha_unscaled(lr0, step, total_steps, alpha=0.0):
    s = min(step, total_steps)
    c = 0.5 * (1 + math.cos(math.pi * s / total_steps))
    return lr0 * (c + alpha)


# ------------------------------------------------------------------ warmup_cosine
def _wc_from_step_0(lr_peak, step, warmup_steps, total_steps, lr_min=0.0):
    if step < warmup_steps:
        return lr_peak * step / warmup_steps
    s = min(step, total_steps)
    return lr_min + (lr_peak - lr_min) * 0.5 * (1 + math.cos(math.pi * s / total_steps))


def _wc_keras_total(lr_peak, step, warmup_steps, total_steps, lr_min=0.0):
    # cosine over total_steps *after* warmup, ending at warmup + total_steps
    if step < warmup_steps:
        return lr_peak * step / warmup_steps
    s = min(step - warmup_steps, total_steps)
    return lr_min + (lr_peak - lr_min) * 0.5 * (1 + math.cos(math.pi * s / total_steps))


def _wc_no_lr_min(lr_peak, step, warmup_steps, total_steps, lr_min=0.0):
    if step < warmup_steps:
        return lr_peak * step / warmup_steps
    s = min(step, total_steps) - warmup_steps
    return lr_peak * 0.5 * (1 + math.cos(math.pi * s / (total_steps - warmup_steps)))


def _wc_warmup_plus_one(lr_peak, step, warmup_steps, total_steps, lr_min=0.0):
    if step < warmup_steps:
        return lr_peak * (step + 1) / warmup_steps
    s = min(step, total_steps) - warmup_steps
    c = 0.5 * (1 + math.cos(math.pi * s / (total_steps - warmup_steps)))
    return lr_min + (lr_peak - lr_min) * c


# ------------------------------------------------------------------ triangular_cyclic_lr
def _tri_full_cycle_step_size(step, base_lr, max_lr, step_size):
    half = step_size / 2
    cycle = math.floor(1 + step / (2 * half))
    x = abs(step / half - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)


def _tri_starts_at_max(step, base_lr, max_lr, step_size):
    step = step + step_size
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)


def _tri_sawtooth(step, base_lr, max_lr, step_size):
    return base_lr + (max_lr - base_lr) * (step % step_size) / step_size


def _tri_no_abs(step, base_lr, max_lr, step_size):
    cycle = math.floor(1 + step / (2 * step_size))
    x = step / step_size - 2 * cycle + 1
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)


# ------------------------------------------------------------------ one_cycle_lr
def _cycle(step, initial, peak, final, end_up, end_down, shape):
    """Two phases, initial -> peak at end_up -> final at end_down, each shaped by shape(p), 0 -> 1."""
    if step <= end_up:
        return initial + (peak - initial) * shape(step / end_up)
    return peak + (final - peak) * shape((step - end_up) / (end_down - end_up))


def _rise_cos(p):
    return 0.5 * (1.0 - math.cos(math.pi * p))


def _rise_linear(p):
    return p


def _oc_linear(step, total_steps, max_lr, div_factor=25.0, final_div_factor=1e4, pct_start=0.3):
    initial = max_lr / div_factor
    return _cycle(step, initial, max_lr, initial / final_div_factor, pct_start * total_steps - 1, total_steps - 1,
                  _rise_linear)


def _oc_peak_late(step, total_steps, max_lr, div_factor=25.0, final_div_factor=1e4, pct_start=0.3):
    initial = max_lr / div_factor
    return _cycle(step, initial, max_lr, initial / final_div_factor, pct_start * total_steps, total_steps - 1,
                  _rise_cos)


def _oc_ends_at_total(step, total_steps, max_lr, div_factor=25.0, final_div_factor=1e4, pct_start=0.3):
    initial = max_lr / div_factor
    return _cycle(step, initial, max_lr, initial / final_div_factor, pct_start * total_steps - 1, total_steps,
                  _rise_cos)


def _oc_final_over_final_div(step, total_steps, max_lr, div_factor=25.0, final_div_factor=1e4, pct_start=0.3):
    return _cycle(step, max_lr / div_factor, max_lr, max_lr / final_div_factor, pct_start * total_steps - 1,
                  total_steps - 1, _rise_cos)


def _oc_from_zero(step, total_steps, max_lr, div_factor=25.0, final_div_factor=1e4, pct_start=0.3):
    return _cycle(step, 0.0, max_lr, max_lr / div_factor / final_div_factor, pct_start * total_steps - 1,
                  total_steps - 1, _rise_cos)


# ------------------------------------------------------------------ EarlyStopping
# Each wrong class overrides one decision of the reference (its private methods).
class _EarlyStoppingNoMinDelta(EarlyStopping):
    def _is_improvement(self, value):
        return self.best is None or value < self.best


class _EarlyStoppingPatiencePlusOne(EarlyStopping):
    def _patience_exhausted(self):
        return self.wait > self.patience


class _EarlyStoppingNeverReset(EarlyStopping):
    def _improved(self, value, epoch):
        self.best, self.best_epoch = value, epoch


class _EarlyStoppingVsPrevious(EarlyStopping):
    """Compares with the previous epoch's loss rather than the best so far (which it still records)."""

    _previous = None

    def _is_improvement(self, value):
        previous, self._previous = self._previous, value
        if self.best is None or value < self.best:
            self.best, self.best_epoch = value, self.epoch - 1
        return previous is None or value < previous - self.min_delta

    def _improved(self, value, epoch):
        self.wait = 0


class _EarlyStoppingOneBasedEpoch(EarlyStopping):
    def _improved(self, value, epoch):
        super()._improved(value, epoch + 1)


# ------------------------------------------------------------------ ReduceLROnPlateau
class _PlateauNoFloor(ReduceLROnPlateau):
    def _above_floor(self):
        return True

    def _cut_rate(self):
        return self.lr * self.factor


class _PlateauNoResetAfterCut(ReduceLROnPlateau):
    def _after_cut(self):
        pass


class _PlateauNoMinDelta(ReduceLROnPlateau):
    def _is_improvement(self, value):
        return self.best is None or value < self.best


class _PlateauPatiencePlusOne(ReduceLROnPlateau):
    def _patience_exhausted(self):
        return self.wait > self.patience


class _PlateauRelativeDelta(ReduceLROnPlateau):
    """Improvement when val_loss < best * (1 - min_delta) (PyTorch's 'rel' mode)."""

    def _is_improvement(self, value):
        return self.best is None or value < self.best * (1 - self.min_delta)


class _EarlyStoppingBestInf(EarlyStopping):
    """best = inf before the first update (documented: None); the decisions are the same."""

    def __init__(self, patience=5, min_delta=0.0):
        super().__init__(patience, min_delta)
        self.best = float("inf")


class _PlateauWaitResetAtFloor(ReduceLROnPlateau):
    """wait reset to 0 once it reaches patience even when lr sits at min_lr and nothing is cut."""

    def update(self, val_loss):
        lr = super().update(val_loss)
        if self._patience_exhausted():  # only possible at the floor: a cut resets wait already
            self.wait = 0
        return lr


MISTAKES = {
    "step_decay": {
        "step decay with the epoch counted from 1": _step_from_1,
        "a smooth decay drop ** (epoch / epochs_per_drop) (no floor)": _step_smooth,
        "the exponent rounded instead of floored": _step_round,
    },
    "exponential_decay": {
        "exponential decay ignoring staircase": _exp_staircase_ignored,
        "exponential decay that is always a staircase": _exp_always_staircase,
        "lr0 decay_rate ** step (decay_steps ignored)": _exp_no_decay_steps,
        "lr0 exp(-decay_rate step / decay_steps) (a natural-exponential decay)":
            _exp_natural,
    },
    "linear_decay": {
        "linear decay that keeps going past total_steps": _lin_no_clamp,
        "linear decay to 0 (lr_end ignored)": _lin_to_zero,
        "linear decay reaching lr_end one step early (total_steps - 1)": _lin_off_by_one,
    },
    "cosine_decay": {
        "cosine decay with the wrong period (2 pi)": _cos_period,
        "cosine decay that rises again after total_steps (no clamp)": _cos_no_clamp,
        "alpha taken as the final rate instead of a fraction of lr0": _cos_alpha_absolute,
        "alpha added without the (1 - alpha) scaling": _cos_alpha_unscaled,
    },
    "warmup_cosine": {
        "a cosine measured from step 0 instead of from the end of warmup": _wc_from_step_0,
        "a cosine that lasts total_steps after warmup (Keras's decay_steps)":
            _wc_keras_total,
        "a cosine decaying to 0 (lr_min ignored)": _wc_no_lr_min,
        "a warmup of lr_peak (step + 1) / warmup_steps": _wc_warmup_plus_one,
    },
    "triangular_cyclic_lr": {
        "a cycle of step_size steps (step_size is half a cycle)": _tri_full_cycle_step_size,
        "a sawtooth (linear rise, then a jump back to base_lr)": _tri_sawtooth,
        "a triangle starting at max_lr (half a cycle out of phase)": _tri_starts_at_max,
        "a triangle without the absolute value": _tri_no_abs,
    },
    "one_cycle_lr": {
        "one cycle with linear instead of cosine annealing": _oc_linear,
        "one cycle whose peak comes one step late (pct_start * total_steps, without the - 1)": _oc_peak_late,
        "one cycle ending at total_steps instead of total_steps - 1 (the last step misses the final rate)":
            _oc_ends_at_total,
        "a final rate of max_lr / final_div_factor instead of max_lr / (div_factor final_div_factor)":
            _oc_final_over_final_div,
        "one cycle warming up from 0 instead of max_lr / div_factor": _oc_from_zero,
    },
    "EarlyStopping": {
        "early stopping that counts improvements below min_delta": _EarlyStoppingNoMinDelta,
        "early stopping with patience off by one (wait > patience)":
            _EarlyStoppingPatiencePlusOne,
        "early stopping whose counter is not reset by an improvement":
            _EarlyStoppingNeverReset,
        "early stopping that compares with the previous epoch instead of the best":
            _EarlyStoppingVsPrevious,
        "early stopping with a 1-based best_epoch": _EarlyStoppingOneBasedEpoch,
        "best = inf before the first update (documented: None)": _EarlyStoppingBestInf,
    },
    "ReduceLROnPlateau": {
        "a plateau schedule without the min_lr floor": _PlateauNoFloor,
        "a plateau schedule that does not reset its counter after a cut":
            _PlateauNoResetAfterCut,
        "a plateau schedule that counts improvements below min_delta": _PlateauNoMinDelta,
        "a plateau schedule with patience off by one (wait > patience)":
            _PlateauPatiencePlusOne,
        "a plateau schedule with a relative min_delta (best * (1 - min_delta))":
            _PlateauRelativeDelta,
        "wait reset to 0 at min_lr although nothing is cut (Keras keeps counting)": _PlateauWaitResetAtFloor,
    },
}
