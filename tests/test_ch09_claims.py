"""Numbers chapter 09 (Keras training) states in its text, computed (no TensorFlow needed)."""

import numpy as np

from autograder.chapters.ch01_losses.reference import softmax_cross_entropy
from tests.submissions import load_solution

CHAPTER = "09_keras_training"


def _markdown(cell_id):
    return "".join(next(c["source"] for c in load_solution(CHAPTER)["cells"] if c.get("id") == cell_id))


def test_double_softmax_loss_floor_for_ten_classes():
    """A perfect model's probabilities fed to a from_logits loss: the loss cannot go below log(K - 1 + e) - 1."""
    k = 10
    perfect_probabilities = np.eye(k)                      # every example predicted with probability 1
    floor = softmax_cross_entropy(perfect_probabilities, np.arange(k))
    assert abs(floor - (np.log(k - 1 + np.e) - 1)) < 1e-12
    assert f"\\log(K - 1 + e) - 1 \\approx {floor:.2f}$\nfor $K = {k}$" in _markdown("c018")
    assert round(floor, 2) == 1.46


def test_memorizing_noise_lowers_the_training_loss_below_the_variance():
    """y ~ U(0, 1) noise: predicting the mean gives Var(y) = 1/12; memorizing can only lower the training loss."""
    y = np.random.default_rng(0).random(100_000)
    assert abs(np.mean((y - y.mean()) ** 2) - 1 / 12) < 1e-3
    assert "(predicting the mean) minus what the network memorizes" in _markdown("c032")
