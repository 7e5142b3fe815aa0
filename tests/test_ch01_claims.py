"""Chapter 01 (losses): the numbers the label-smoothing section states hold for the reference."""

import numpy as np
import pytest

from autograder.chapters.ch01_losses import reference as ref
from tests.submissions import load_solution

CHAPTER = "01_losses"


def _markdown(heading):
    nb = load_solution(CHAPTER)
    return next("".join(c["source"]) for c in nb["cells"]
                if c["cell_type"] == "markdown" and "".join(c["source"]).startswith(heading))


def test_the_stated_optimal_logit_gap_is_where_the_smoothed_loss_is_smallest():
    text = _markdown("### What smoothing does to the optimum")
    assert r"$\log 91 \approx 4.51$ for $K = 10$ and $s = 0.1$" in text
    k, s = 10, 0.1
    assert 1 + k * (1 - s) / s == pytest.approx(91) and np.log(91) == pytest.approx(4.51, abs=5e-3)
    z_true = np.linspace(0, 15, 3001)
    losses = [ref.label_smoothing_cross_entropy(np.r_[c, np.zeros(k - 1)][None, :], np.zeros(1, dtype=int), s)
              for c in z_true]
    assert z_true[int(np.argmin(losses))] == pytest.approx(4.51, abs=5e-3)
    assert losses[-1] > min(losses) + 0.5  # it rises after the optimum
    plain = [ref.label_smoothing_cross_entropy(np.r_[c, np.zeros(k - 1)][None, :], np.zeros(1, dtype=int), 0.0)
             for c in z_true]
    assert np.all(np.diff(plain) < 0)  # without smoothing it keeps falling


def test_the_first_loss_with_small_logits_is_about_log_k():
    text = _markdown("### What smoothing does to the optimum")
    assert r"$\log 10 \approx 2.303$" in text and np.log(10) == pytest.approx(2.303, abs=5e-4)
    rng = np.random.default_rng(1)
    for k in (2, 5, 10, 100, 1000):  # the figure's classes and its logits ~ 0.01 N(0, 1)
        for s in (0.0, 0.1):
            loss = ref.label_smoothing_cross_entropy(0.01 * rng.normal(size=(256, k)), rng.integers(0, k, size=256), s)
            assert loss == pytest.approx(np.log(k), abs=0.01)
