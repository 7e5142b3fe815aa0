"""Visible and hidden check cases for chapter 04 (learning-rate schedules, early stopping, plateau).

The six schedules are pure functions of one step, so a case is one call; the visible
cases sit on the boundaries a learner gets wrong (step 0, the last step before a drop,
the end of warmup, total_steps and after) and the hidden ones sweep whole schedules
for several random hyperparameter sets. The two classes are driven with sequences of
validation losses (HIDDEN_CUSTOM) and compared epoch by epoch with the reference; a
failure names the catalogued wrong class that behaves the same way.
"""

import numpy as np

from autograder.chapters.ch04_learning_rate_schedules.mistakes import MISTAKES
from autograder.chapters.ch04_learning_rate_schedules.reference import EarlyStopping, ReduceLROnPlateau
from autograder.checking import Case
from dlcourse.checks.compare import agree
from dlcourse.checks.properties.schedules import (
    agrees,
    attribute_trace,
    compare_attributes,
    compare_traces,
    early_stopping_trace,
    plateau_trace,
)
from dlcourse.checks.runner import CheckFailure

CHAPTER = "04_learning_rate_schedules"


def _steps(fixed, key, steps, what):
    return [Case(f"{what}, {key} {s}", {**fixed, key: s}) for s in steps]


VISIBLE = {
    "step_decay": [
        *_steps({"lr0": 0.1, "drop": 0.5, "epochs_per_drop": 10}, "epoch", [0, 5, 6, 9, 10, 15, 19, 20, 35],
                "lr0 0.1, drop 0.5 every 10 epochs"),
        Case("lr0 0.3, drop 0.1 every 2 epochs, epoch 4 (two drops)",
             {"lr0": 0.3, "epoch": 4, "drop": 0.1, "epochs_per_drop": 2}),
        Case("default drop and epochs_per_drop, epoch 25", {"lr0": 1.0, "epoch": 25}),
        Case("a negative epoch", {"lr0": 0.1, "epoch": -1}, raises=ValueError),
        Case("a fractional epoch", {"lr0": 0.1, "epoch": 2.5}, raises=ValueError),
        Case("drop = 0 (the rate would vanish)", {"lr0": 0.1, "epoch": 3, "drop": 0.0}, raises=ValueError),
        Case("epochs_per_drop = 0", {"lr0": 0.1, "epoch": 3, "epochs_per_drop": 0}, raises=ValueError),
    ],
    "exponential_decay": [
        *_steps({"lr0": 0.1, "decay_rate": 0.5, "decay_steps": 10}, "step", [0, 5, 10, 25],
                "lr0 0.1, halved every 10 steps, smooth"),
        *_steps({"lr0": 0.1, "decay_rate": 0.5, "decay_steps": 10, "staircase": True}, "step",
                [5, 9, 10, 25], "lr0 0.1, halved every 10 steps, staircase"),
        Case("Keras's example: 0.96 every 100 steps, step 1000", {"lr0": 0.1, "step": 1000, "decay_rate": 0.96,
                                                                  "decay_steps": 100}),
        Case("decay_steps = 0", {"lr0": 0.1, "step": 3, "decay_rate": 0.5, "decay_steps": 0}, raises=ValueError),
        Case("a negative step", {"lr0": 0.1, "step": -1, "decay_rate": 0.5, "decay_steps": 10}, raises=ValueError),
        Case("decay_rate = 0", {"lr0": 0.1, "step": 3, "decay_rate": 0.0, "decay_steps": 10}, raises=ValueError),
    ],
    "linear_decay": [
        *_steps({"lr0": 0.1, "total_steps": 10, "lr_end": 0.02}, "step", [0, 5, 9, 10, 11, 100],
                "lr0 0.1 to lr_end 0.02 over 10 steps"),
        Case("default lr_end 0, step 5 of 20", {"lr0": 0.5, "step": 5, "total_steps": 20}),
        Case("total_steps = 0", {"lr0": 0.1, "step": 3, "total_steps": 0}, raises=ValueError),
        Case("a negative step", {"lr0": 0.1, "step": -2, "total_steps": 10}, raises=ValueError),
    ],
    "cosine_decay": [
        *_steps({"lr0": 0.2, "total_steps": 100}, "step", [0, 25, 50, 100, 150],
                "lr0 0.2 over 100 steps"),
        *_steps({"lr0": 0.2, "total_steps": 100, "alpha": 0.1}, "step", [50, 100, 500],
                "lr0 0.2 over 100 steps, alpha 0.1"),
        Case("alpha = 1.5 (alpha is a fraction of lr0)", {"lr0": 0.1, "step": 3, "total_steps": 10, "alpha": 1.5},
             raises=ValueError),
        Case("total_steps = 0", {"lr0": 0.1, "step": 3, "total_steps": 0}, raises=ValueError),
    ],
    "warmup_cosine": [
        *_steps({"lr_peak": 1.0, "warmup_steps": 10, "total_steps": 110, "lr_min": 0.1}, "step",
                [0, 1, 5, 9, 10, 11, 60, 109, 110, 200], "peak 1, 10 warmup steps, total 110, lr_min 0.1"),
        Case("no warmup (warmup_steps 0): a plain cosine, step 0", {"lr_peak": 0.5, "step": 0, "warmup_steps": 0,
                                                                   "total_steps": 50}),
        Case("default lr_min 0, step 30 of 50 after 10 warmup steps", {"lr_peak": 0.5, "step": 30, "warmup_steps": 10,
                                                                       "total_steps": 50}),
        Case("warmup_steps = total_steps", {"lr_peak": 0.1, "step": 3, "warmup_steps": 10, "total_steps": 10},
             raises=ValueError),
        Case("lr_min > lr_peak", {"lr_peak": 0.1, "step": 3, "warmup_steps": 2, "total_steps": 10, "lr_min": 0.2},
             raises=ValueError),
        Case("a negative step", {"lr_peak": 0.1, "step": -1, "warmup_steps": 2, "total_steps": 10}, raises=ValueError),
    ],
    "triangular_cyclic_lr": [
        *_steps({"base_lr": 0.01, "max_lr": 0.11, "step_size": 5}, "step",
                [0, 2, 7, 5, 10, 12, 15, 20, 23], "base 0.01, max 0.11, step_size 5"),
        Case("max_lr < base_lr", {"step": 3, "base_lr": 0.1, "max_lr": 0.01, "step_size": 5}, raises=ValueError),
        Case("step_size = 0", {"step": 3, "base_lr": 0.01, "max_lr": 0.1, "step_size": 0}, raises=ValueError),
    ],    "one_cycle_lr": [
        *_steps({"total_steps": 100, "max_lr": 0.1}, "step", [0, 1, 15, 28, 29, 30, 60, 98, 99],
                "max_lr 0.1 over 100 steps, default factors and pct_start (peak at step 29)"),
        *_steps({"total_steps": 40, "max_lr": 2.0, "div_factor": 10.0, "final_div_factor": 100.0, "pct_start": 0.25},
                "step", [0, 9, 20, 39], "max_lr 2 over 40 steps, div_factor 10, final_div_factor 100, pct_start 0.25"),
        *_steps({"total_steps": 15, "max_lr": 1.0}, "step", [3, 4, 14],
                "max_lr 1 over 15 steps (the warm-up ends at step 3.5)"),
        Case("step = total_steps (the cycle has steps 0 .. total_steps - 1)", {"step": 100, "total_steps": 100,
                                                                               "max_lr": 0.1}, raises=ValueError),
        Case("a negative step", {"step": -1, "total_steps": 100, "max_lr": 0.1}, raises=ValueError),
        Case("pct_start = 1 (no annealing phase)", {"step": 3, "total_steps": 100, "max_lr": 0.1, "pct_start": 1.0},
             raises=ValueError),
        Case("pct_start * total_steps = 0.9 (the warm-up would end before step 0)",
             {"step": 0, "total_steps": 3, "max_lr": 0.1}, raises=ValueError),
    ],
}


# ----------------------------------------------------------------------------- hidden: schedules
def _log_uniform(rng, low, high):
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def _sweep(total, rng, extra=()):
    """Every step up to a little past total when it is small, else the boundaries and random steps."""
    if total <= 60:
        steps = list(range(0, total + 6))
    else:
        steps = sorted({0, 1, total - 1, total, total + 1, 2 * total, *rng.integers(0, total, 12).tolist()})
    return sorted({*steps, *extra})


def _step_decay_cases(rng):
    cases = []
    for lr0, drop, per in [(0.1, 0.5, 10), (_log_uniform(rng, 1e-4, 10), 0.1, 3), (_log_uniform(rng, 1e-2, 1), 0.9, 1),
                           (1.0, 1.0, 4), (_log_uniform(rng, 1e-3, 1), float(rng.uniform(0.2, 0.8)), int(rng.integers(5, 30)))]:
        for epoch in sorted({0, per - 1, per, per + 1, 2 * per - 1, 2 * per, 5 * per + 2, *rng.integers(0, 8 * per, 6).tolist()}):
            if epoch >= 0:
                cases.append(Case(f"lr0={lr0:.4g}, drop={drop:.3g}, epochs_per_drop={per}, epoch {epoch}",
                                  {"lr0": lr0, "epoch": int(epoch), "drop": drop, "epochs_per_drop": per}))
    cases += [Case("a negative epoch", {"lr0": 0.1, "epoch": -3}, raises=ValueError),
              Case("drop > 1 (the rate would grow)", {"lr0": 0.1, "epoch": 3, "drop": 1.5}, raises=ValueError),
              Case("epochs_per_drop = 0", {"lr0": 0.1, "epoch": 3, "epochs_per_drop": 0}, raises=ValueError)]
    return cases


def _exponential_cases(rng):
    cases = []
    for staircase in (False, True):
        for lr0, rate, steps in [(0.1, 0.96, 100), (_log_uniform(rng, 1e-4, 10), float(rng.uniform(0.1, 0.99)), 7),
                                 (_log_uniform(rng, 1e-3, 1), float(rng.uniform(0.5, 0.999)), int(rng.integers(20, 2000))),
                                 (0.5, 0.5, 1)]:
            for step in _sweep(3 * steps, rng, extra=(steps - 1, steps, steps + 1, 2 * steps - 1, 2 * steps)):
                cases.append(Case(f"lr0={lr0:.4g}, decay_rate={rate:.4g}, decay_steps={steps}, staircase={staircase}, "
                                  f"step {step}", {"lr0": lr0, "step": int(step), "decay_rate": rate, "decay_steps": steps,
                                                   "staircase": staircase}))
    cases += [Case("decay_steps = 0", {"lr0": 0.1, "step": 3, "decay_rate": 0.5, "decay_steps": 0}, raises=ValueError),
              Case("a negative step", {"lr0": 0.1, "step": -5, "decay_rate": 0.5, "decay_steps": 10}, raises=ValueError)]
    return cases


def _linear_cases(rng):
    cases = []
    for lr0, total, lr_end in [(0.1, 10, 0.02), (_log_uniform(rng, 1e-4, 10), int(rng.integers(30, 60)), 0.0),
                               (_log_uniform(rng, 1e-2, 1), int(rng.integers(500, 5000)), None), (0.3, 1, 0.1)]:
        end = 0.0 if lr_end is None else lr_end
        for step in _sweep(total, rng):
            inputs = {"lr0": lr0, "step": int(step), "total_steps": total}
            if lr_end is not None:
                inputs["lr_end"] = lr_end
            cases.append(Case(f"lr0={lr0:.4g}, total_steps={total}, lr_end={end:.4g}, step {step}", inputs))
    cases += [Case("total_steps = 0", {"lr0": 0.1, "step": 3, "total_steps": 0}, raises=ValueError),
              Case("a negative step", {"lr0": 0.1, "step": -1, "total_steps": 10}, raises=ValueError)]
    return cases


def _cosine_cases(rng):
    cases = []
    for lr0, total, alpha in [(0.2, 100, 0.0), (_log_uniform(rng, 1e-4, 10), int(rng.integers(20, 50)), 0.1),
                              (_log_uniform(rng, 1e-2, 1), int(rng.integers(500, 5000)), float(rng.uniform(0, 0.5))),
                              (1.0, 1, 0.0), (0.5, 40, 1.0)]:
        for step in _sweep(total, rng, extra=(total // 2, total // 4)):
            cases.append(Case(f"lr0={lr0:.4g}, total_steps={total}, alpha={alpha:.3g}, step {step}",
                              {"lr0": lr0, "step": int(step), "total_steps": total, "alpha": alpha}))
    cases += [Case("alpha = -0.1", {"lr0": 0.1, "step": 3, "total_steps": 10, "alpha": -0.1}, raises=ValueError),
              Case("total_steps = 0", {"lr0": 0.1, "step": 3, "total_steps": 0}, raises=ValueError)]
    return cases


def _warmup_cosine_cases(rng):
    cases = []
    for peak, warmup, total, lr_min in [(1.0, 10, 110, 0.1), (_log_uniform(rng, 1e-4, 10), 5, 40, 0.0),
                                        (0.5, 0, 30, 0.05), (0.3, 1, 12, 0.0),
                                        (_log_uniform(rng, 1e-2, 1), int(rng.integers(100, 500)), int(rng.integers(1000, 5000)),
                                         None)]:
        lo = 0.0 if lr_min is None else lr_min * peak
        extra = (warmup - 1, warmup, warmup + 1, (warmup + total) // 2, total - 1, total, total + 1)
        for step in _sweep(total, rng, extra=tuple(s for s in extra if s >= 0)):
            inputs = {"lr_peak": peak, "step": int(step), "warmup_steps": warmup, "total_steps": total}
            if lr_min is not None:
                inputs["lr_min"] = lo
            cases.append(Case(f"lr_peak={peak:.4g}, warmup_steps={warmup}, total_steps={total}, lr_min={lo:.4g}, "
                              f"step {step}", inputs))
    cases += [Case("warmup_steps > total_steps", {"lr_peak": 0.1, "step": 3, "warmup_steps": 20, "total_steps": 10},
                   raises=ValueError),
              Case("lr_min > lr_peak", {"lr_peak": 0.1, "step": 3, "warmup_steps": 2, "total_steps": 10, "lr_min": 0.5},
                   raises=ValueError)]
    return cases


def _triangular_cases(rng):
    cases = []
    for base, top, half in [(0.01, 0.11, 5), (_log_uniform(rng, 1e-5, 1e-3), _log_uniform(rng, 1e-2, 1), 1),
                            (_log_uniform(rng, 1e-4, 1e-2), _log_uniform(rng, 0.1, 3), int(rng.integers(7, 15))),
                            (0.05, 0.05, 4), (0.0, 1.0, int(rng.integers(200, 2000)))]:
        steps = range(0, 4 * half + 3) if half <= 15 else sorted({0, half, 2 * half, 3 * half, 7 * half + 1,
                                                                   *rng.integers(0, 10 * half, 10).tolist()})
        for step in steps:
            cases.append(Case(f"base_lr={base:.4g}, max_lr={top:.4g}, step_size={half}, step {step}",
                              {"step": int(step), "base_lr": base, "max_lr": top, "step_size": half}))
    cases += [Case("max_lr < base_lr", {"step": 3, "base_lr": 0.2, "max_lr": 0.1, "step_size": 5}, raises=ValueError),
              Case("step_size = 0", {"step": 3, "base_lr": 0.01, "max_lr": 0.1, "step_size": 0}, raises=ValueError),
              Case("a negative step", {"step": -1, "base_lr": 0.01, "max_lr": 0.1, "step_size": 5}, raises=ValueError)]
    return cases


def _one_cycle_cases(rng):
    cases = []
    for total, top, div, final, pct in [(100, 0.1, 25.0, 1e4, 0.3), (15, 1.0, 25.0, 1e4, 0.3),
                                        (40, 2.0, 10.0, 100.0, 0.25), (7, 0.5, 5.0, 10.0, 0.5),
                                        (int(rng.integers(20, 60)), _log_uniform(rng, 1e-3, 3), float(rng.uniform(2, 50)),
                                         _log_uniform(rng, 2, 1e5), float(rng.uniform(0.1, 0.6))),
                                        (int(rng.integers(500, 5000)), _log_uniform(rng, 1e-3, 1), 25.0, 1e4,
                                         float(rng.uniform(0.05, 0.5)))]:
        end_up = pct * total - 1
        lo, hi = int(np.floor(end_up)), int(np.ceil(end_up))
        extra = (lo - 1, lo, hi, hi + 1, total - 2, total - 1)
        steps = range(total) if total <= 60 else sorted({0, 1, *extra, *rng.integers(0, total, 12).tolist()})
        for step in sorted({*steps, *(s for s in extra if 0 <= s < total)}):
            cases.append(Case(f"total_steps={total}, max_lr={top:.4g}, div_factor={div:.4g}, "
                              f"final_div_factor={final:.4g}, pct_start={pct:.3g}, step {step}",
                              {"step": int(step), "total_steps": total, "max_lr": top, "div_factor": div,
                               "final_div_factor": final, "pct_start": pct}))
    cases.append(Case("default factors and pct_start, step 50 of 200", {"step": 50, "total_steps": 200, "max_lr": 0.3}))
    cases += [Case("step = total_steps", {"step": 20, "total_steps": 20, "max_lr": 0.1}, raises=ValueError),
              Case("a negative step", {"step": -2, "total_steps": 20, "max_lr": 0.1}, raises=ValueError),
              Case("a fractional step", {"step": 2.5, "total_steps": 20, "max_lr": 0.1}, raises=ValueError),
              Case("pct_start = 0", {"step": 2, "total_steps": 20, "max_lr": 0.1, "pct_start": 0.0}, raises=ValueError),
              Case("pct_start = 1.2", {"step": 2, "total_steps": 20, "max_lr": 0.1, "pct_start": 1.2}, raises=ValueError),
              Case("div_factor = 0", {"step": 2, "total_steps": 20, "max_lr": 0.1, "div_factor": 0.0}, raises=ValueError),
              Case("final_div_factor = -1", {"step": 2, "total_steps": 20, "max_lr": 0.1, "final_div_factor": -1.0},
                   raises=ValueError),
              Case("max_lr < 0", {"step": 2, "total_steps": 20, "max_lr": -0.1}, raises=ValueError)]
    return cases


HIDDEN = {
    "step_decay": _step_decay_cases,
    "exponential_decay": _exponential_cases,
    "linear_decay": _linear_cases,
    "cosine_decay": _cosine_cases,
    "warmup_cosine": _warmup_cosine_cases,
    "triangular_cyclic_lr": _triangular_cases,
    "one_cycle_lr": _one_cycle_cases,
}


# ----------------------------------------------------------------------------- hidden: the two classes
def _noisy_curve(rng, epochs, noise, overfit):
    """A validation-loss curve: fast decrease, a floor, optionally a slow rise (overfitting), plus noise."""
    t = np.arange(epochs, dtype=np.float64)
    floor = rng.uniform(0.05, 0.5)
    curve = floor + rng.uniform(0.5, 2.0) * np.exp(-t / rng.uniform(2.0, 10.0)) + overfit * np.maximum(0.0, t - epochs / 3)
    return [float(v) for v in np.abs(curve + noise * rng.normal(size=epochs))]


def _early_stopping_sequences(rng):
    """(patience, min_delta, losses) triples: hand-made edge cases, then noisy curves."""
    seqs = [
        (2, 0.0, [1.0, 0.8, 0.9, 0.7, 0.75, 0.7, 0.65]),            # ties are not improvements
        (1, 0.25, [2.0, 1.75, 1.5, 1.25, 1.0, 0.5]),                  # a gain of exactly min_delta is not enough
        (1, 0.25, [2.0, 1.7, 1.5, 1.2, 1.0, 0.5]),
        (0, 0.0, [3.0, 2.0, 2.0, 1.0]),                                # patience 0
        (3, 0.0, [1.0] * 8),                                           # constant: stops after `patience` epochs
        (2, 0.01, [2.0, 1.5, float("nan"), 1.6, 1.4, 1.395, 1.391, 1.0]),  # NaN is never an improvement
        (4, 0.0, list(np.linspace(1.0, 0.5, 15))),                     # never stops
        (2, 0.1, [1.0, 1.2, 0.85, 0.8, 0.76, 0.3, 0.29, 0.28, 0.27]),
        (3, 0.01, [1.0, 0.995, 0.8, 0.797, 0.794, 0.7935, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85]),
        (2, 0.0, [1.0, 0.7, 0.9, 0.8, 0.75, 0.72, 0.71]),
        (5, 0.0, [np.float64(v) for v in (0.9, 0.8, 0.85, 0.84, 0.83, 0.82, 0.81, 0.79, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9)]),
    ]
    for _ in range(14):
        seqs.append((int(rng.choice([0, 1, 2, 3, 5, 10])), float(rng.choice([0.0, 0.0, 1e-3, 1e-2, 0.05])),
                     _noisy_curve(rng, int(rng.integers(20, 70)), float(rng.choice([0.0, 0.01, 0.03, 0.1])),
                                  float(rng.choice([0.0, 0.005, 0.02])))))
    return seqs


def _plateau_sequences(rng):
    """(lr, factor, patience, min_delta, min_lr, losses): edge cases, then noisy curves."""
    seqs = [
        (1.0, 0.5, 2, 0.0, 0.3, [1.0, 0.9] + [0.95] * 8),               # cuts, then the floor
        (0.1, 0.1, 1, 1e-4, 1e-3, [1.0] * 10),                          # reaches the floor exactly
        (1.0, 0.5, 3, 0.05, 0.2, [5.0, 4.9, 4.93, 4.8, 4.78, 4.85, 4.86, 4.87, 4.88, 4.89, 4.9, 4.7, 4.69, 4.68,
                                  4.67, 4.66, 4.65, 4.64]),
        (0.01, 0.2, 0, 0.0, 0.0, [1.0, 1.0, 0.9, 0.95, 0.85, 0.85]),   # patience 0
        (0.3, 0.25, 2, 1e-4, 0.0, [float(v) for v in 1.0 + 0.1 * np.sin(np.arange(30.0))]),
        (1.0, 0.5, 1, 0.25, 0.0, [2.0, 1.75, 1.5, 1.25, 1.0, 1.0, 0.5]),  # a gain of exactly min_delta is not enough
        (0.05, 0.5, 2, 0.0, 0.05, [1.0, 1.1, 1.2, 1.3, 1.4]),           # starts at the floor: never cut
    ]
    for _ in range(12):
        lr = _log_uniform(rng, 1e-4, 1.0)
        seqs.append((lr, float(rng.choice([0.1, 0.2, 0.5, 0.8])), int(rng.choice([0, 1, 2, 3, 5])),
                     float(rng.choice([0.0, 1e-4, 1e-2])), float(rng.choice([0.0, lr / 50, lr / 5])),
                     _noisy_curve(rng, int(rng.integers(25, 70)), float(rng.choice([0.0, 0.01, 0.05])),
                                  float(rng.choice([0.0, 0.01])))))
    return seqs


def _hidden_early_stopping(cls):
    from autograder.checking import hidden_seed

    rng = np.random.default_rng(hidden_seed("EarlyStopping"))
    for i, (patience, min_delta, losses) in enumerate(_early_stopping_sequences(rng)):
        header = f"hidden: EarlyStopping, sequence {i} (EarlyStopping(patience={patience}, min_delta={min_delta}))"
        expected = early_stopping_trace(EarlyStopping, patience, min_delta, losses)
        mistakes = {name: _quiet_trace(early_stopping_trace, wrong, patience, min_delta, losses)
                    for name, wrong in MISTAKES["EarlyStopping"].items()}
        got = early_stopping_trace(cls, patience, min_delta, losses)
        compare_traces(got, expected, {k: v for k, v in mistakes.items() if v is not None}, header, losses, "early")
    _expect_errors(cls, "EarlyStopping", [((), {"patience": -1}), ((), {"min_delta": -0.5})],
                   update=((), {}, [np.ones(3), "high"]))
    check_attributes(cls, "EarlyStopping")


def _hidden_plateau(cls):
    from autograder.checking import hidden_seed

    rng = np.random.default_rng(hidden_seed("ReduceLROnPlateau"))
    for i, (lr, factor, patience, min_delta, min_lr, losses) in enumerate(_plateau_sequences(rng)):
        header = (f"hidden: ReduceLROnPlateau, sequence {i} (ReduceLROnPlateau({lr:.6g}, factor={factor}, "
                  f"patience={patience}, min_delta={min_delta}, min_lr={min_lr:.6g}))")
        args = (lr, factor, patience, min_delta, min_lr, losses)
        expected = plateau_trace(ReduceLROnPlateau, *args)
        mistakes = {name: _quiet_trace(plateau_trace, wrong, *args) for name, wrong in MISTAKES["ReduceLROnPlateau"].items()}
        got = plateau_trace(cls, *args)
        compare_traces(got, expected, {k: v for k, v in mistakes.items() if v is not None}, header, losses, "plateau")
    _expect_errors(cls, "ReduceLROnPlateau", [((0.1,), {"factor": 1.5}), ((0.1,), {"factor": 0.0}), ((-1.0,), {})],
                   update=((0.1,), {}, [np.ones(2), "high"]))
    check_attributes(cls, "ReduceLROnPlateau")


def _quiet_trace(driver, cls, *args):
    try:
        with np.errstate(all="ignore"):
            return driver(cls, *args)
    except Exception:  # noqa: BLE001 - a mistake may crash on an input; then it cannot be matched
        return None


def _expect_errors(cls, name, constructions, update):
    """Each bad construction, and update() with each bad value, must raise ValueError."""
    calls = [(f"{name}({', '.join([*map(repr, a), *(f'{k}={v!r}' for k, v in kw.items())])})",
              lambda a=a, kw=kw: cls(*a, **kw)) for a, kw in constructions]
    args, kwargs, bad_values = update
    calls += [(f"{name}(...).update({value!r})", lambda value=value: cls(*args, **kwargs).update(value))
              for value in bad_values]
    for what, call in calls:
        try:
            call()
        except ValueError:
            continue
        except NotImplementedError:
            raise CheckFailure(f"{name} is not implemented yet.") from None
        except Exception as err:  # noqa: BLE001
            raise CheckFailure(f"hidden: {what}: expected a ValueError, but it raised {type(err).__name__}: {err}") from None
        raise CheckFailure(f"hidden: {what}: expected a ValueError for this bad input (keep the given validation lines)")


# ----------------------------------------------------------------------------- hidden: the documented attributes
# The attributes the docstrings name (dlcourse.checks.properties.schedules.ATTRIBUTES), read before the
# first update and after every update, past the first stop, on other sequences than the visible ones.
ATTRIBUTE_SEQUENCES = {
    "EarlyStopping": [
        ((), {"patience": 2, "min_delta": 0.0}, [1.0, 0.8, 0.9, 0.95, 0.97, 0.7, 0.9, 0.9]),
        ((), {"patience": 0, "min_delta": 0.1}, [2.0, 1.95, 1.5, 1.6]),
    ],
    "ReduceLROnPlateau": [
        ((1.0,), {"factor": 0.5, "patience": 1, "min_delta": 0.0, "min_lr": 0.25}, [1.0] + [1.1] * 8 + [0.5, 0.6]),
        ((0.05,), {"factor": 0.5, "patience": 2, "min_delta": 0.0, "min_lr": 0.05}, [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]),
    ],
}


def check_attributes(cls, name):
    """The learner's class must hold the reference's documented attributes at every point of each sequence."""
    for args, kwargs, losses in ATTRIBUTE_SEQUENCES[name]:
        expected, mistakes = attribute_expectations(name, args, kwargs, losses)
        compare_attributes(cls, name, args, kwargs, losses, expected, mistakes, label="hidden: ")


HIDDEN_CUSTOM = {
    "EarlyStopping": _hidden_early_stopping,
    "ReduceLROnPlateau": _hidden_plateau,
}


# ----------------------------------------------------------------------------- visible: the two classes
# The visible sequences of the property checks (dlcourse.checks.properties.schedules); stored_numbers()
# gives build_checks their traces from the reference and the mistakes.
EARLY_STOPPING_VISIBLE = [  # (name, patience, min_delta, losses)
    ("patience 2: a noisy curve that never again beats its best", 2, 0.0, [1.0, 0.7, 0.9, 0.8, 0.75, 0.72, 0.71]),
    ("patience 2, min_delta 0: a tie is no improvement", 2, 0.0, [1.0, 0.8, 0.9, 0.7, 0.75, 0.7, 0.65]),
    ("patience 3, min_delta 0.01: gains below min_delta do not count", 3, 0.01,
     [1.0, 0.995, 0.8, 0.797, 0.794, 0.7935, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85]),
    ("patience 0: stop at the first epoch without improvement", 0, 0.0, [2.0, 1.5, 1.2, 1.3, 1.0]),
    ("patience 4: a steady decrease never stops", 4, 0.0, [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4]),
]
PLATEAU_VISIBLE = [  # (name, lr, factor, patience, min_delta, min_lr, losses)
    ("lr 1, factor 0.5, patience 2, min_delta 0, min_lr 0.3: two cuts, then the floor", 1.0, 0.5, 2, 0.0, 0.3,
     [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]),
    ("lr 1, factor 0.5, patience 2, min_delta 0.05, min_lr 0.2: gains below min_delta do not count", 1.0, 0.5, 2, 0.05,
     0.2, [5.0, 4.9, 4.93, 4.8, 4.78, 4.85, 4.86, 4.87, 4.88, 4.89, 4.9, 4.91, 4.92, 4.93, 4.94]),
    ("lr 0.01, factor 0.2, patience 0: a cut at every epoch without improvement", 0.01, 0.2, 0, 0.0, 0.0,
     [1.0, 1.0, 0.9, 0.95, 0.85, 0.85]),
]
ATTRIBUTE_VISIBLE = {  # (args, kwargs, losses): best before the first update; wait once lr sits at min_lr
    "EarlyStopping": [((), {"patience": 2, "min_delta": 0.0}, [1.0, 0.8, 0.9, 0.95])],
    "ReduceLROnPlateau": [((1.0,), {"factor": 0.5, "patience": 1, "min_delta": 0.0, "min_lr": 0.5},
                           [1.0, 1.1, 1.1, 1.1, 1.1])],
}
_TRACED = {
    "EarlyStopping": (EarlyStopping, early_stopping_trace, "early", ("patience", "min_delta", "losses"),
                      EARLY_STOPPING_VISIBLE),
    "ReduceLROnPlateau": (ReduceLROnPlateau, plateau_trace, "plateau",
                          ("lr", "factor", "patience", "min_delta", "min_lr", "losses"), PLATEAU_VISIBLE),
}


def _differing(traces, expected, same):
    return {name: trace for name, trace in traces.items() if trace is not None and not same(trace, expected)}


def attribute_expectations(name, args, kwargs, losses):
    """(expected attribute trace, {mistake: its attribute trace}) of class ``name`` on one sequence."""
    reference = _TRACED[name][0]
    expected = attribute_trace(reference, name, args, kwargs, losses)
    traces = {m: _quiet_trace(attribute_trace, wrong, name, args, kwargs, losses) for m, wrong in MISTAKES[name].items()}
    return expected, _differing(traces, expected, agree)


def stored_numbers():
    """The visible class checks' traces, written by build_checks to cases/properties/<CHAPTER>.json."""
    out = {}
    for name, (reference, driver, kind, fields, visible) in _TRACED.items():
        traces = []
        for case_name, *args in visible:
            expected = driver(reference, *args)
            mistakes = {m: _quiet_trace(driver, wrong, *args) for m, wrong in MISTAKES[name].items()}
            traces.append({"name": case_name, **dict(zip(fields, args)), "expected": expected,
                           "mistakes": _differing(mistakes, expected, lambda a, b: agrees(a, b, kind))})
        attributes = []
        for args, kwargs, losses in ATTRIBUTE_VISIBLE[name]:
            expected, mistakes = attribute_expectations(name, args, kwargs, losses)
            attributes.append({"args": args, "kwargs": kwargs, "losses": losses, "expected": expected,
                               "mistakes": mistakes})
        out[name] = {"traces": traces, "attributes": attributes}
    return out
