"""Tests of the chapter 04 reference (learning-rate schedules, early stopping, plateau
schedule) and its known mistakes.

Keras comparisons (marked ``keras``):
* ExponentialDecay and CosineDecay compute in the dtype of initial_learning_rate. A
  Python float becomes a float32 tensor (agreement only to ~1e-7); passing
  np.float64 makes Keras compute in float64, and the schedules then agree to rtol 1e-12
  (only the order of operations differs).
* keras.callbacks.EarlyStopping / ReduceLROnPlateau are driven by hand: a stub model
  (stop_training, and an optimizer with a learning_rate attribute), on_train_begin(),
  then on_epoch_end(epoch, {"val_loss": v}). The losses are passed as np.float64:
  Keras compares them with keras.ops.less, which would turn Python floats into float32
  tensors first (so 1 - 1e-9 < 1 would be False). With a plain Python float as the stub
  optimizer's learning_rate everything is float64 and the rates agree to rtol 1e-12;
  with a real Keras optimizer the rate lives in a float32 variable, so each rate agrees
  to float32 precision only (rtol 1e-6).
"""

from __future__ import annotations

import math
import os
from types import SimpleNamespace

import numpy as np
import pytest

from autograder.chapters.ch04_learning_rate_schedules.cases import ATTRIBUTE_SEQUENCES, attribute_trace
from autograder.chapters.ch04_learning_rate_schedules.mistakes import MISTAKES
from autograder.chapters.ch04_learning_rate_schedules.reference import (
    EarlyStopping,
    ReduceLROnPlateau,
    cosine_decay,
    exponential_decay,
    linear_decay,
    one_cycle_lr,
    step_decay,
    triangular_cyclic_lr,
    warmup_cosine,
)


# --------------------------------------------------------------------------- schedules
def test_step_decay_values():
    got = [step_decay(0.1, e, drop=0.5, epochs_per_drop=10) for e in (0, 9, 10, 19, 20, 35)]
    np.testing.assert_allclose(got, [0.1, 0.1, 0.05, 0.05, 0.025, 0.0125], rtol=1e-15)
    assert step_decay(0.3, 4, drop=0.1, epochs_per_drop=2) == pytest.approx(0.003, rel=1e-14)


def test_exponential_decay_values():
    assert exponential_decay(0.1, 0, 0.5, 10) == 0.1
    assert exponential_decay(0.1, 5, 0.5, 10) == pytest.approx(0.1 * 0.5**0.5, rel=1e-14)
    assert exponential_decay(0.1, 5, 0.5, 10, staircase=True) == 0.1
    assert exponential_decay(0.1, 25, 0.5, 10, staircase=True) == pytest.approx(0.025)


def test_linear_decay_values():
    got = [linear_decay(0.1, s, 10, lr_end=0.02) for s in (0, 5, 10, 11, 100)]
    np.testing.assert_allclose(got, [0.1, 0.06, 0.02, 0.02, 0.02], rtol=1e-14)


def test_cosine_decay_values():
    assert cosine_decay(0.2, 0, 100) == pytest.approx(0.2, rel=1e-15)
    assert cosine_decay(0.2, 50, 100) == pytest.approx(0.1, rel=1e-14)
    assert cosine_decay(0.2, 100, 100, alpha=0.1) == pytest.approx(0.02, rel=1e-14)
    assert cosine_decay(0.2, 500, 100, alpha=0.1) == pytest.approx(0.02, rel=1e-14)


def test_warmup_cosine_shape():
    lrs = np.array([warmup_cosine(1.0, s, 10, 110, lr_min=0.1) for s in range(130)])
    np.testing.assert_allclose(lrs[:11], np.arange(11) / 10, rtol=1e-14)  # linear warmup
    assert lrs[10] == pytest.approx(1.0)  # the peak, continuous at the end of warmup
    assert lrs[60] == pytest.approx(0.55)  # half way down the cosine
    np.testing.assert_allclose(lrs[110:], 0.1, rtol=1e-14)
    assert np.all(np.diff(lrs[10:111]) <= 0) and np.all(np.diff(lrs[:11]) > 0)


def test_warmup_cosine_without_warmup_is_cosine_decay():
    for s in range(0, 60, 7):
        assert warmup_cosine(0.3, s, 0, 50, 0.03) == pytest.approx(
            cosine_decay(0.3, s, 50, alpha=0.1), rel=1e-12)


def test_triangular_cyclic_lr_values():
    base, top, half = 0.01, 0.11, 5
    got = [triangular_cyclic_lr(s, base, top, half) for s in (0, 2, 5, 7, 10, 12.5, 15, 20)]
    np.testing.assert_allclose(got, [0.01, 0.05, 0.11, 0.07, 0.01, 0.06, 0.11, 0.01],
                               rtol=1e-12)
    lrs = np.array([triangular_cyclic_lr(s, base, top, half) for s in range(40)])
    np.testing.assert_allclose(lrs[:10], lrs[10:20], rtol=1e-12)  # period 2 * step_size
    assert lrs.min() >= base and lrs.max() <= top


@pytest.mark.parametrize(
    "call, what",
    [
        (lambda: step_decay(0.1, -1), "epoch"),
        (lambda: step_decay(0.1, 1.5), "epoch"),
        (lambda: step_decay(0.1, 3, drop=0.0), "drop"),
        (lambda: step_decay(0.1, 3, epochs_per_drop=0), "epochs_per_drop"),
        (lambda: exponential_decay(0.1, 3, 0.5, 0), "decay_steps"),
        (lambda: exponential_decay(-0.1, 3, 0.5, 10), "lr0"),
        (lambda: linear_decay(0.1, 3, 0), "total_steps"),
        (lambda: cosine_decay(0.1, -3, 10), "step"),
        (lambda: cosine_decay(0.1, 3, 10, alpha=1.5), "alpha"),
        (lambda: warmup_cosine(0.1, 3, 10, 10), "warmup_steps"),
        (lambda: warmup_cosine(0.1, 3, 2, 10, lr_min=0.2), "lr_min"),
        (lambda: triangular_cyclic_lr(3, 0.1, 0.01, 5), "max_lr"),
        (lambda: triangular_cyclic_lr(3, 0.01, 0.1, 0), "step_size"),
        (lambda: EarlyStopping(patience=-1), "patience"),
        (lambda: EarlyStopping(min_delta=-0.1), "min_delta"),
        (lambda: ReduceLROnPlateau(0.1, factor=1.0), "factor"),
        (lambda: ReduceLROnPlateau(0.1, factor=0.0), "factor"),
        (lambda: ReduceLROnPlateau(-0.1), "lr"),
        (lambda: EarlyStopping().update(np.ones(2)), "val_loss"),
        (lambda: ReduceLROnPlateau(0.1).update("high"), "val_loss"),
    ],
)
def test_bad_input_raises_value_error(call, what):
    with pytest.raises(ValueError, match=what):
        call()


# --------------------------------------------------------------------------- callbacks
def run_early_stopping(es, losses):
    """Feed losses until update returns True; returns (stop_epoch or None, best, best_epoch)."""
    for epoch, v in enumerate(losses):
        if es.update(v):
            return epoch, es.best, es.best_epoch
    return None, es.best, es.best_epoch


def test_early_stopping_counts_epochs_since_best():
    es = EarlyStopping(patience=2, min_delta=0.0)
    assert es.best is None and es.best_epoch == 0
    decisions = [es.update(v) for v in (1.0, 0.8, 0.9, 0.7, 0.75, 0.7)]  # a tie is no gain
    assert decisions == [False, False, False, False, False, True]
    assert es.best == 0.7 and es.best_epoch == 3 and es.wait == 2 and es.stopped_epoch == 5


def test_early_stopping_min_delta_and_patience_zero():
    es = EarlyStopping(patience=0, min_delta=0.05)
    assert run_early_stopping(es, [1.0, 0.9, 0.88, 0.5]) == (2, 0.9, 1)


def test_reduce_lr_on_plateau_cuts_and_floors():
    sched = ReduceLROnPlateau(1.0, factor=0.5, patience=2, min_delta=0.0, min_lr=0.3)
    lrs = [sched.update(v) for v in [1.0, 0.9] + [0.95] * 8]
    # cut after 2 epochs without improvement each time; floor 0.3 after 0.5
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3]
    assert sched.best == 0.9 and sched.wait == 4  # at the floor the counter is not reset


def test_reduce_lr_on_plateau_floor_uses_kerass_float32_comparison():
    sched = ReduceLROnPlateau(0.1, factor=0.1, patience=1, min_delta=0.0, min_lr=1e-3)
    lrs = [sched.update(1.0) for _ in range(5)]
    assert lrs[2] == 0.1 * 0.1 * 0.1 > 1e-3  # float64 rounding leaves it a hair above
    assert lrs[3] == lrs[4] == lrs[2] and sched.wait == 2  # but it counts as at the floor


# --------------------------------------------------------------------------- Keras
@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return pytest.importorskip("keras")


def keras_lrs(schedule, steps):
    return np.array([float(np.asarray(schedule(s))) for s in steps])


@pytest.mark.keras
@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_matches_keras(keras, staircase):
    # Keras casts decay_rate through float32 (ops.cast of a Python float): use a
    # float32-representable rate so both sides use the same number.
    lr0, rate, decay_steps = 0.1, float(np.float32(0.96)), 7
    steps = list(range(0, 60)) + [100, 1000]
    ks = keras.optimizers.schedules.ExponentialDecay(
        np.float64(lr0), decay_steps, rate, staircase=staircase)
    ours = [exponential_decay(lr0, s, rate, decay_steps, staircase=staircase) for s in steps]
    np.testing.assert_allclose(ours, keras_lrs(ks, steps), rtol=1e-12)


@pytest.mark.keras
@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_cosine_decay_matches_keras(keras, alpha):
    lr0, total = 0.5, 40
    steps = list(range(0, 60))
    ks = keras.optimizers.schedules.CosineDecay(np.float64(lr0), total, alpha=alpha)
    ours = [cosine_decay(lr0, s, total, alpha=alpha) for s in steps]
    np.testing.assert_allclose(ours, keras_lrs(ks, steps), rtol=1e-12, atol=1e-15)


@pytest.mark.keras
def test_warmup_cosine_matches_keras_cosine_decay_with_warmup(keras):
    """Keras counts decay_steps *after* warmup and alpha as a fraction of the target."""
    peak, warmup, total, lr_min = 0.4, 8, 50, 0.04
    ks = keras.optimizers.schedules.CosineDecay(
        np.float64(0.0), total - warmup, alpha=lr_min / peak,
        warmup_target=np.float64(peak), warmup_steps=warmup)
    steps = list(range(0, 70))
    ours = [warmup_cosine(peak, s, warmup, total, lr_min) for s in steps]
    np.testing.assert_allclose(ours, keras_lrs(ks, steps), rtol=1e-12, atol=1e-15)


EARLY_STOPPING_CASES = [
    # (patience, min_delta, losses)
    (0, 0.0, [1.0, 0.9, 0.95, 0.8]),
    (1, 0.0, [1.0, 0.9, 0.9, 0.85, 0.86, 0.87, 0.5]),  # a tie is not an improvement
    (3, 0.0, [1.0, 0.9, 0.95, 0.96, 0.7, 0.8, 0.8, 0.8, 0.8, 0.1]),
    (3, 0.05, [1.0, 0.97, 0.96, 0.9, 0.86, 0.84, 0.83, 0.5]),  # steps below min_delta
    (2, 0.01, [2.0, 1.5, float("nan"), 1.6, 1.4, 1.395, 1.391, 1.0]),
    (5, 0.0, list(np.linspace(1.0, 0.5, 12))),  # never stops
    (2, 0.1, [1.0, 1.2, 0.85, 0.8, 0.76, 0.3]),
]


@pytest.mark.keras
@pytest.mark.parametrize("patience, min_delta, losses", EARLY_STOPPING_CASES)
def test_early_stopping_matches_keras(keras, patience, min_delta, losses):
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                       min_delta=min_delta, mode="min")
    model = SimpleNamespace(stop_training=False)
    cb.set_model(model)
    cb.on_train_begin()
    ours = EarlyStopping(patience=patience, min_delta=min_delta)
    stopped = None
    for epoch, v in enumerate(losses):
        cb.on_epoch_end(epoch, {"val_loss": np.float64(v)})
        stop = ours.update(v)
        assert stop == model.stop_training, f"epoch {epoch}: stop {stop}, Keras {model.stop_training}"
        assert ours.wait == cb.wait, f"epoch {epoch}: wait {ours.wait}, Keras {cb.wait}"
        assert ours.best_epoch == cb.best_epoch, f"epoch {epoch}"
        assert ours.best == pytest.approx(float(cb.best), rel=1e-15, nan_ok=True), f"epoch {epoch}"
        if stop:
            stopped = epoch
            break
    assert stopped == (cb.stopped_epoch if model.stop_training else None)
    assert ours.stopped_epoch == stopped


PLATEAU_CASES = [
    # (lr, factor, patience, min_delta, min_lr, losses)
    (0.1, 0.5, 2, 1e-4, 0.0, [1.0, 0.9, 0.95, 0.96, 0.97, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7]),
    (0.1, 0.1, 1, 1e-4, 1e-3, [1.0] * 10),  # reaches the floor, then wait keeps growing
    (1.0, 0.5, 3, 0.05, 0.2, [5.0, 4.9, 4.93, 4.8, 4.78, 4.85, 4.86, 4.87, 4.88, 4.89,
                              4.9, 4.7, 4.69, 4.68, 4.67, 4.66, 4.65, 4.64]),
    (0.01, 0.2, 0, 0.0, 0.0, [1.0, 1.0, 0.9, 0.95, 0.85, 0.85]),  # patience 0
    (0.3, 0.25, 2, 1e-4, 0.0, list(1.0 + 0.1 * np.sin(np.arange(30.0)))),
]


def drive_plateau(keras, case, optimizer):
    lr, factor, patience, min_delta, min_lr, losses = case
    cb = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=factor, patience=patience,
                                           min_delta=min_delta, min_lr=min_lr, mode="min")
    model = SimpleNamespace(stop_training=False, optimizer=optimizer)
    cb.set_model(model)
    cb.on_train_begin()
    ours = ReduceLROnPlateau(lr, factor=factor, patience=patience, min_delta=min_delta,
                             min_lr=min_lr)
    got, expected = [], []
    for epoch, v in enumerate(losses):
        cb.on_epoch_end(epoch, {"val_loss": np.float64(v)})
        got.append(ours.update(v))
        expected.append(float(np.asarray(model.optimizer.learning_rate)))
        assert ours.wait == cb.wait, f"epoch {epoch}: wait {ours.wait}, Keras {cb.wait}"
        assert ours.best == pytest.approx(float(cb.best), rel=1e-15), f"epoch {epoch}"
    return np.array(got), np.array(expected)


@pytest.mark.keras
@pytest.mark.parametrize("case", PLATEAU_CASES)
def test_reduce_lr_on_plateau_matches_keras_exactly_with_float64_rate(keras, case):
    got, expected = drive_plateau(keras, case, SimpleNamespace(learning_rate=case[0]))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


@pytest.mark.keras
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # np.array(tf variable) in Keras
@pytest.mark.parametrize("case", PLATEAU_CASES[:3])
def test_reduce_lr_on_plateau_matches_keras_optimizer(keras, case):
    """With a real optimizer Keras keeps the rate in a float32 variable."""
    got, expected = drive_plateau(keras, case, keras.optimizers.SGD(learning_rate=case[0]))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0)


# --------------------------------------------------------------------------- one_cycle_lr
def _pytorch_one_cycle_rates(total_steps, max_lr, div_factor=25.0, final_div_factor=1e4, pct_start=0.3):
    """The rates of PyTorch's OneCycleLR (anneal_strategy "cos", three_phase False) for steps
    0 .. total_steps - 1, from the arithmetic of torch/optim/lr_scheduler.py: two phases whose
    end_step are float(pct_start * total_steps) - 1 and total_steps - 1; a step belongs to the
    first phase whose end_step it does not pass (else to the last one); pct = (step - start_step)
    / (end_step - start_step), start_step the previous phase's end_step (0 for the first); the
    rate is end + (start - end) / 2 * (cos(pi pct) + 1)."""
    initial = max_lr / div_factor
    phases = [(float(pct_start * total_steps) - 1, initial, max_lr),
              (total_steps - 1, max_lr, initial / final_div_factor)]
    rates = []
    for step in range(total_steps):
        start_step = 0.0
        for i, (end_step, start, end) in enumerate(phases):
            if step <= end_step or i == len(phases) - 1:
                pct = (step - start_step) / (end_step - start_step)
                rates.append(end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1))
                break
            start_step = end_step
    return rates


ONE_CYCLE_SETTINGS = [
    (100, 0.1, 25.0, 1e4, 0.3),     # the defaults; the peak at step 29 exactly
    (15, 1.0, 25.0, 1e4, 0.3),      # e1 = 3.5: the peak falls between two steps
    (40, 2.0, 10.0, 100.0, 0.25),
    (7, 0.5, 5.0, 10.0, 0.5),
    (1000, 0.03, 30.0, 3e3, 0.1),
]


@pytest.mark.parametrize("setting", ONE_CYCLE_SETTINGS, ids=str)
def test_one_cycle_lr_is_pytorchs_formula(setting):
    total, top, div, final, pct = setting
    got = [one_cycle_lr(s, total, top, div, final, pct) for s in range(total)]
    np.testing.assert_allclose(got, _pytorch_one_cycle_rates(total, top, div, final, pct), rtol=1e-12, atol=0)


def test_one_cycle_lr_values():
    assert one_cycle_lr(0, 100, 0.1) == pytest.approx(0.1 / 25, rel=1e-14)
    assert one_cycle_lr(29, 100, 0.1) == pytest.approx(0.1, rel=1e-14)                 # e1 = 0.3 * 100 - 1
    assert one_cycle_lr(99, 100, 0.1) == pytest.approx(0.1 / 25 / 1e4, rel=1e-12)      # max_lr / (div final_div)
    midway_up = 0.004 + (0.1 - 0.004) * 0.5                                             # half-way: cos(pi/2) = 0
    assert one_cycle_lr(1, 5, 0.1, pct_start=0.6) == pytest.approx(midway_up, rel=1e-14)   # e1 = 2


@pytest.mark.parametrize("setting", ONE_CYCLE_SETTINGS, ids=str)
def test_one_cycle_lr_matches_torch(setting):
    torch = pytest.importorskip("torch")
    total, top, div, final, pct = setting
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=top)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=top, total_steps=total, pct_start=pct,
                                                    div_factor=div, final_div_factor=final, cycle_momentum=False)
    rates = []
    for _ in range(total):
        rates.append(optimizer.param_groups[0]["lr"])     # the rate of this update
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose([one_cycle_lr(s, total, top, div, final, pct) for s in range(total)], rates,
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("call, word", [
    (lambda: one_cycle_lr(100, 100, 0.1), "step"),
    (lambda: one_cycle_lr(-1, 100, 0.1), "step"),
    (lambda: one_cycle_lr(2.5, 100, 0.1), "step"),
    (lambda: one_cycle_lr(0, 3, 0.1), "pct_start"),
    (lambda: one_cycle_lr(0, 100, 0.1, pct_start=1.0), "pct_start"),
    (lambda: one_cycle_lr(0, 100, 0.1, div_factor=0.0), "div_factor"),
    (lambda: one_cycle_lr(0, 100, -0.1), "max_lr"),
])
def test_one_cycle_lr_rejects_bad_input(call, word):
    with pytest.raises(ValueError, match=word):
        call()


# --------------------------------------------------------------------------- mistakes
ES_LOSSES = [1.0, 0.995, 0.8, 0.797, 0.794, 0.7935, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85]
PLATEAU_LOSSES = [5.0, 4.9, 4.93, 4.8, 4.78, 4.85, 4.86, 4.87, 4.88, 4.89, 4.9, 4.91,
                  4.92, 4.93, 4.94]


def _generic_call(name, impl):
    """Output of impl (reference or mistake) for `name` on a generic input."""
    if name == "step_decay":
        return [impl(0.1, e, 0.5, 10) for e in range(41)]
    if name == "exponential_decay":
        return [impl(0.1, s, 0.5, 7, st) for st in (False, True) for s in range(31)]
    if name == "linear_decay":
        return [impl(0.1, s, 20, 0.01) for s in range(31)]
    if name == "cosine_decay":
        return [impl(0.5, s, 20, 0.1) for s in range(31)]
    if name == "warmup_cosine":
        return [impl(0.5, s, 5, 30, 0.05) for s in range(41)]
    if name == "triangular_cyclic_lr":
        return [impl(s, 0.01, 0.1, 5) for s in range(41)]
    if name == "one_cycle_lr":
        return [impl(s, 30, 0.5, 10.0, 50.0, 0.25) for s in range(30)]
    if name == "EarlyStopping":
        stop, best, best_epoch = run_early_stopping(impl(patience=3, min_delta=0.01), ES_LOSSES)
        return [-1 if stop is None else stop, best, best_epoch]
    if name == "ReduceLROnPlateau":
        sched = impl(1.0, factor=0.5, patience=2, min_delta=0.05, min_lr=0.2)
        return [sched.update(v) for v in PLATEAU_LOSSES]
    raise KeyError(name)


REFERENCE = {
    "step_decay": step_decay,
    "exponential_decay": exponential_decay,
    "linear_decay": linear_decay,
    "cosine_decay": cosine_decay,
    "warmup_cosine": warmup_cosine,
    "triangular_cyclic_lr": triangular_cyclic_lr,
    "one_cycle_lr": one_cycle_lr,
    "EarlyStopping": EarlyStopping,
    "ReduceLROnPlateau": ReduceLROnPlateau,
}
MISTAKE_CASES = [(name, desc) for name, table in MISTAKES.items() for desc in table]


def test_every_graded_schedule_has_mistakes():
    assert set(MISTAKES) == set(REFERENCE)
    for name, table in MISTAKES.items():
        assert 3 <= len(table) <= 6, name


@pytest.mark.parametrize("name, desc", MISTAKE_CASES, ids=[f"{n}: {d}" for n, d in MISTAKE_CASES])
def test_mistake_differs_from_reference(name, desc):
    expected = np.array(_generic_call(name, REFERENCE[name]), dtype=np.float64)
    got = np.array(_generic_call(name, MISTAKES[name][desc]), dtype=np.float64)
    assert got.shape == expected.shape
    if name in ATTRIBUTE_SEQUENCES and np.allclose(got, expected, rtol=1e-4, atol=0):
        # a mistake in a documented attribute only (its decisions are right): the attribute trace shows it
        assert any(attribute_trace(MISTAKES[name][desc], name, *seq) != attribute_trace(REFERENCE[name], name, *seq)
                   for seq in ATTRIBUTE_SEQUENCES[name]), f"{name}: '{desc}' has the reference's attributes"
        return
    assert not np.allclose(got, expected, rtol=1e-4, atol=0), (
        f"{name}: '{desc}' gives the reference output")


def test_generic_reference_outputs_are_as_designed():
    """The mistake inputs are only useful if the reference behaves as intended on them."""
    assert _generic_call("EarlyStopping", EarlyStopping) == [5, 0.8, 2]
    lrs = _generic_call("ReduceLROnPlateau", ReduceLROnPlateau)
    assert lrs[:5] == [1.0] * 5 and lrs[5] == 0.5 and lrs[7] == 0.25 and lrs[9] == 0.2
    assert math.isclose(min(lrs), 0.2)


@pytest.mark.parametrize("name,desc", [("EarlyStopping", "best = inf before the first update (documented: None)"),
                                       ("ReduceLROnPlateau",
                                        "wait reset to 0 at min_lr although nothing is cut (Keras keeps counting)")])
def test_hidden_tests_trace_the_documented_attributes(name, desc):
    import re

    from autograder.hidden import check_hidden
    from dlcourse.checks.runner import CheckFailure

    with pytest.raises(CheckFailure, match="behaves like " + re.escape(desc)):
        check_hidden(MISTAKES[name][desc], name)
