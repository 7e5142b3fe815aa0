"""What chapter 04's notebook claims, checked on what the notebook itself computes.

The solution notebook is executed once (with a probe cell appended that reports the numbers
behind each claim), so a change of data, seed or code that makes a sentence of the notebook
false fails here. That execution also proves that the notebook runs top to bottom without
TensorFlow (tests/test_notebooks.py leaves chapter 04 to it in the default run). The stored visible traces of the two callback classes are also checked
against the reference and the catalogued mistakes they were computed from.
"""

import json

import numpy as np
import pytest

from autograder.chapters.ch04_learning_rate_schedules.mistakes import MISTAKES
from autograder.chapters.ch04_learning_rate_schedules.reference import EarlyStopping, ReduceLROnPlateau
from autograder.execute import execute_notebook, stream_text
from dlcourse.checks.properties import schedules as props
from tests.submissions import solution_path

pytestmark = pytest.mark.xdist_group("ch04-notebook")  # one worker executes the notebook once for the module

CHAPTER = "04_learning_rate_schedules"

PROBE = r'''
import json as _json
import sys as _sys
_high = {name: [train(lambda s, fn=fn: fn(s), EPOCHS, seed=seed)["val_acc"][-1] for seed in range(2)]
         for name, fn in {"cosine": lambda s: cosine_decay(0.6, s, TOTAL),
                          "warmup": lambda s: warmup_cosine(0.6, s, 2 * STEPS_PER_EPOCH, TOTAL)}.items()}
print(_json.dumps({
    "tensorflow_loaded": "tensorflow" in _sys.modules,
    "floors": {str(lr): [floor, float(runs[lr][-100:].mean())] for lr, floor in floors.items()},
    "final_train": final_train,
    "final_acc": final_acc,
    "acc_curves": {k: np.mean([r["val_acc"] for r in v], axis=0).tolist() for k, v in decay_runs.items()},
    "dead": {k: v.tolist() for k, v in dead_units.items()},
    "high_peak_acc": _high,
    "noise_ratio": (np.array(measured) / predicted).tolist(),
    "stops": {str(k): v for k, v in stops.items()},
    "underlying_min": int(np.argmin(underlying)),
    "vs_previous_stop": vs_previous_stop,
    "plateau_lrs": [float(v) for v in plateau_lrs],
    "callbacks": {"epochs": len(history["val_loss"]), "best_epoch": stopper.best_epoch,
                  "train_loss": history["train_loss"], "val_loss": history["val_loss"], "lr": history["lr"]},
    "warmup_last": [right[-1], wrong[-1]],
    "noise_cures": [float(const_loss[-1]), float(averaged_loss[-1]), float(cosine_loss[-1])],
    "cycle_figure": [one_cycle_lr(0, 300, 0.1), one_cycle_lr(89, 300, 0.1), one_cycle_lr(299, 300, 0.1)],
    "cycle_by_epoch": [max(per_batch), max(by_epoch)],
    "range_test": {"steps": len(rates), "smoothed": smoothed.tolist(), "lr_at_min": LR_AT_MIN, "max_lr": MAX_LR},
    "cycle_runs": [[float(np.mean([r["train_loss"][-1] for r in runs])), float(np.mean([r["val_acc"][-1] for r in runs]))]
                   for runs in cycle_runs.values()],
}))
'''


@pytest.fixture(scope="module")
def claims():
    nb, _ = execute_notebook(solution_path(CHAPTER), extra_cells=[PROBE])
    return json.loads(stream_text(nb).strip().splitlines()[-1])


def test_the_executed_notebook_never_imported_tensorflow(claims):
    """The NumPy-chapter rule of tests/test_notebooks.py, checked on this execution (which stands in
    for that file's own execution of chapter 04 in the default run)."""
    assert claims["tensorflow_loaded"] is False


def test_sgd_on_the_noisy_quadratic_settles_on_the_predicted_floor(claims):
    for lr, (predicted, measured) in claims["floors"].items():
        assert measured == pytest.approx(predicted, rel=0.05), f"rate {lr}"


def test_every_decay_reaches_a_far_lower_training_loss_than_a_constant_rate(claims):
    train = claims["final_train"]
    for name, loss in train.items():
        if name != "constant":
            assert loss < train["constant"] / 3, name


def test_decayed_runs_validate_at_least_as_well_and_steadier(claims):
    acc, curves = claims["final_acc"], claims["acc_curves"]
    for name, value in acc.items():
        if name != "constant":
            assert value >= acc["constant"] - 0.005, name
    jitter = {name: np.std(np.diff(curve[-5:])) for name, curve in curves.items()}
    assert jitter["constant"] > 2 * max(jitter["cosine"], jitter["warmup 2 epochs + cosine"])


def test_warmup_leaves_far_fewer_dead_units_after_the_first_epoch_for_every_seed(claims):
    no_warmup, warmup = (np.array(v) for v in claims["dead"].values())
    assert warmup[:, 0].max() < no_warmup[:, 0].min()
    assert no_warmup[:, 0].min() >= 0.2 and warmup[:, 0].max() <= 0.12    # "a fifth or more", "about one in ten"
    assert warmup[:, 2].mean() > warmup[:, 0].mean() and no_warmup[:, 2].mean() > no_warmup[:, 0].mean()  # both grow


def test_warmup_does_not_rescue_a_peak_rate_that_is_far_too_high(claims):
    for name, accs in claims["high_peak_acc"].items():
        assert max(accs) < 0.5, name


def test_gradient_noise_follows_sigma2_over_b_with_the_finite_population_factor(claims):
    ratio = np.array(claims["noise_ratio"])
    assert np.all((ratio > 0.75) & (ratio < 1.3)), ratio


def test_early_stopping_patience_on_the_noisy_curve(claims):
    bottom = claims["underlying_min"]
    assert claims["stops"]["3"] < bottom - 10          # fooled by the noise, long before the bottom
    assert claims["stops"]["10"] > bottom              # waits until the curve has turned up
    assert claims["vs_previous_stop"] is None          # the mistake never stops


def test_plateau_schedule_cuts_down_to_its_floor(claims):
    lrs = np.array(claims["plateau_lrs"])
    assert lrs[0] == 0.1 and lrs[-1] == pytest.approx(0.005)
    assert np.all(np.diff(lrs) <= 0) and np.sum(np.diff(lrs) < 0) >= 3


def test_callbacks_end_the_real_run_after_cutting_the_rate(claims):
    run = claims["callbacks"]
    assert run["epochs"] < 150 and run["best_epoch"] < run["epochs"] - 1
    assert len(set(run["lr"])) >= 3 and np.all(np.diff(run["lr"]) <= 0)
    assert run["train_loss"][-1] < run["train_loss"][run["best_epoch"]]     # training loss keeps falling


def test_keras_decay_steps_mistake_ends_the_run_above_the_floor(claims):
    right, wrong = claims["warmup_last"]
    assert right == pytest.approx(0.001) and wrong > 10 * right


def test_polyak_averaging_and_decay_both_beat_the_constant_rate_floor(claims):
    constant, averaged, cosine = claims["noise_cures"]
    assert averaged < constant / 20 and cosine < constant / 10


def test_one_cycle_figure_starts_peaks_and_ends_where_the_text_says(claims):
    start, peak, end = claims["cycle_figure"]
    assert start == pytest.approx(0.1 / 25) and peak == pytest.approx(0.1) and end == pytest.approx(0.1 / 250_000)


def test_one_cycle_stepped_per_epoch_never_nears_max_lr(claims):
    per_batch, by_epoch = claims["cycle_by_epoch"]
    assert per_batch == pytest.approx(0.1, rel=1e-3) and by_epoch < 0.1 / 10


def test_range_test_falls_then_blows_up_and_max_lr_is_a_tenth_of_the_minimum(claims):
    run = claims["range_test"]
    smoothed = np.array(run["smoothed"])
    assert run["steps"] < 150 and smoothed[-1] > 4 * smoothed.min()      # stopped at the blow-up
    assert smoothed.min() < smoothed[0] / 2                                # the loss fell on the way
    assert run["max_lr"] == pytest.approx(run["lr_at_min"] / 10) and 0.01 < run["max_lr"] < 0.5


def test_one_cycle_from_the_range_test_matches_twelve_epochs_in_six(claims):
    (cycle_loss, cycle_acc), (const_loss, const_acc), (at_min_loss, at_min_acc) = claims["cycle_runs"]
    assert cycle_acc >= claims["final_acc"]["cosine"] - 0.01               # within one percentage point
    assert 0.5 * const_loss < cycle_loss < 0.7 * const_loss                # "little more than half"
    assert const_acc < cycle_acc - 0.01
    assert at_min_acc < 0.3 and abs(at_min_loss - np.log(10)) < 0.3      # chance level, loss near log 10


# ---------------------------------------------------------------- stored visible traces
@pytest.mark.parametrize("case", props.stored_cases("EarlyStopping"), ids=lambda c: c["name"])
def test_stored_early_stopping_traces_match_the_reference_and_mistakes(case):
    args = (case["patience"], case["min_delta"], case["losses"])
    assert props.early_stopping_trace(EarlyStopping, *args) == case["expected"]
    for name, trace in case["mistakes"].items():
        assert props.early_stopping_trace(MISTAKES["EarlyStopping"][name], *args) == trace, name


@pytest.mark.parametrize("case", props.stored_cases("ReduceLROnPlateau"), ids=lambda c: c["name"])
def test_stored_plateau_traces_match_the_reference_and_mistakes(case):
    args = (case["lr"], case["factor"], case["patience"], case["min_delta"], case["min_lr"], case["losses"])
    assert props.plateau_trace(ReduceLROnPlateau, *args) == case["expected"]
    for name, trace in case["mistakes"].items():
        assert props.plateau_trace(MISTAKES["ReduceLROnPlateau"][name], *args) == trace, name


def test_visible_class_checks_name_every_catalogued_mistake():
    """Each wrong class fails a visible check whose message names it."""
    from dlcourse.checks import CheckFailure, check

    for name in ("EarlyStopping", "ReduceLROnPlateau"):
        for mistake, wrong in MISTAKES[name].items():
            with pytest.raises(CheckFailure, match="behaves like") as info:
                check(wrong, name)
            assert mistake in str(info.value), f"{name}: {mistake} not named:\n{info.value}"
