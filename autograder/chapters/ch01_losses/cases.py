"""Visible and hidden check cases for chapter 01 (losses)."""

import numpy as np

from autograder.checking import Case

CHAPTER = "01_losses"

_A = np.array


def _pairs(name_true, name_pred):
    """Visible cases for an element-wise regression loss."""
    return [
        Case("a vector of 4 predictions", {name_true: _A([1.0, 2.0, 3.0, 4.0]), name_pred: _A([1.5, 1.0, 3.0, 6.0])}),
        Case("a (2, 3) batch", {name_true: _A([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]),
                                name_pred: _A([[0.5, 1.0, 1.0], [3.0, 2.0, 8.0]])}),
        Case("shapes (3,) and (3, 1) must not broadcast", {name_true: _A([1.0, 2.0, 3.0]), name_pred: _A([[1.0], [2.0], [3.0]])},
             raises=ValueError),
    ]


_PROBS = {"y_true": _A([1.0, 0.0, 1.0, 0.0]), "p": _A([0.9, 0.2, 0.6, 0.4])}
_PROBS_EDGE = {"y_true": _A([1.0, 0.0, 0.0, 1.0]), "p": _A([1.0, 0.0, 1.0, 0.5])}
_LOGITS_2D = _A([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
_LOGITS_HUGE = _A([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0]])
_LABELS = _A([0, 2])

VISIBLE = {
    "mse": _pairs("y_true", "y_pred"),
    "mse_grad": _pairs("y_true", "y_pred"),
    "huber": [
        Case("errors on both sides of delta = 1", {"y_true": _A([0.0, 0.0, 0.0, 0.0]), "y_pred": _A([0.5, -0.5, 2.0, -3.0])}),
        Case("delta = 2 on a (2, 2) batch", {"y_true": _A([[1.0, 2.0], [3.0, 4.0]]), "y_pred": _A([[1.5, 5.0], [0.0, 4.1]]),
                                              "delta": 2.0}),
    ],
    "binary_cross_entropy": [
        Case("ordinary probabilities", dict(_PROBS)),
        Case("probabilities of exactly 0 and 1 (clipped to [eps, 1 - eps])", dict(_PROBS_EDGE)),
        Case("mismatched shapes", {"y_true": _A([1.0, 0.0]), "p": _A([0.5, 0.5, 0.5])}, raises=ValueError),
    ],
    "binary_cross_entropy_grad": [
        Case("ordinary probabilities", dict(_PROBS)),
        Case("clipped entries have zero gradient", dict(_PROBS_EDGE)),
    ],
    "sigmoid_bce_with_logits": [
        Case("moderate logits", {"y_true": _A([1.0, 0.0, 1.0, 0.0]), "z": _A([2.0, -1.0, -0.5, 0.3])}),
        Case("huge logits |z| = 1000 (no overflow, no NaN)", {"y_true": _A([1.0, 0.0, 1.0, 0.0]),
                                                               "z": _A([1000.0, -1000.0, -1000.0, 1000.0])}),
    ],
    "softmax": [
        Case("a single row", {"z": _A([1.0, 2.0, 3.0])}),
        Case("a (2, 3) batch, normalized per row", {"z": _LOGITS_2D}),
        Case("huge logits (subtract the row maximum)", {"z": _LOGITS_HUGE}),
    ],
    "log_softmax": [
        Case("a (2, 3) batch", {"z": _LOGITS_2D}),
        Case("huge logits (softmax underflows to 0; log_softmax must stay finite)", {"z": _LOGITS_HUGE}),
    ],
    "softmax_cross_entropy": [
        Case("two rows, labels [0, 2]", {"logits": _LOGITS_2D, "labels": _LABELS}),
        Case("huge logits, the label's probability underflows", {"logits": _LOGITS_HUGE, "labels": _A([2, 0])}),
        Case("labels of the wrong shape", {"logits": _LOGITS_2D, "labels": _A([[0], [2]])}, raises=ValueError),
    ],
    "softmax_cross_entropy_grad": [
        Case("two rows, labels [0, 2]", {"logits": _LOGITS_2D, "labels": _LABELS}),
        Case("huge logits", {"logits": _LOGITS_HUGE, "labels": _A([2, 0])}),
    ],
    "label_smoothing_cross_entropy": [
        Case("two rows, labels [0, 2], default smoothing 0.1", {"logits": _LOGITS_2D, "labels": _LABELS}),
        Case("smoothing 0.3 on huge logits (every log-probability counts now, so none may be -inf)",
             {"logits": _LOGITS_HUGE, "labels": _A([2, 0]), "smoothing": 0.3}),
        Case("smoothing 0 is plain cross-entropy", {"logits": _LOGITS_2D, "labels": _LABELS, "smoothing": 0.0}),
        Case("smoothing 1.5 is out of range", {"logits": _LOGITS_2D, "labels": _LABELS, "smoothing": 1.5},
             raises=ValueError),
    ],
}


def _shapes(rng):
    return [(7,), (5, 3), (2, 3, 4), (1,)]


def _regression_pairs(rng):
    cases = []
    for shape in _shapes(rng):
        for scale in (1e-3, 1.0, 1e3):
            cases.append(Case(f"shape {shape}, scale {scale:g}", {
                "y_true": scale * rng.normal(size=shape), "y_pred": scale * rng.normal(size=shape)}))
    cases.append(Case("shape mismatch (4,) vs (4, 1)", {"y_true": rng.normal(size=4), "y_pred": rng.normal(size=(4, 1))},
                      raises=ValueError))
    return cases


def _huber_cases(rng):
    cases = []
    for shape in _shapes(rng):
        for delta in (0.3, 1.0, 5.0):
            cases.append(Case(f"shape {shape}, delta {delta}", {
                "y_true": rng.normal(size=shape), "y_pred": 3.0 * rng.normal(size=shape), "delta": delta}))
    return cases


def _probability_cases(rng, with_edges=True):
    cases = []
    for shape in _shapes(rng):
        y = rng.integers(0, 2, size=shape).astype(float)
        cases.append(Case(f"shape {shape}", {"y_true": y, "p": rng.uniform(0.02, 0.98, size=shape)}))
        soft = rng.uniform(0, 1, size=shape)
        cases.append(Case(f"soft targets, shape {shape}", {"y_true": soft, "p": rng.uniform(0.02, 0.98, size=shape)}))
    if with_edges:
        y = rng.integers(0, 2, size=(3, 4)).astype(float)
        p = rng.choice([0.0, 1.0, 1e-12, 1 - 1e-12, 0.5], size=(3, 4))
        cases.append(Case("probabilities at and beyond the clip range", {"y_true": y, "p": p}))
        cases.append(Case("custom eps", {"y_true": y, "p": p, "eps": 1e-3}))
    return cases


def _bce_cases(rng):
    cases = _probability_cases(rng)
    cases.append(Case("shape mismatch", {"y_true": np.ones(3), "p": np.full((3, 1), 0.5)}, raises=ValueError))
    return cases


def _logit_cases(rng):
    cases = []
    for shape in _shapes(rng):
        for scale in (1.0, 30.0, 1e3):
            cases.append(Case(f"shape {shape}, logits of scale {scale:g}", {
                "y_true": rng.integers(0, 2, size=shape).astype(float), "z": scale * rng.normal(size=shape)}))
    cases.append(Case("soft targets", {"y_true": rng.uniform(size=6), "z": 5 * rng.normal(size=6)}))
    return cases


def _row_cases(rng):
    cases = []
    for shape in [(6,), (4, 5), (3, 2, 7), (1, 1)]:
        for scale in (1e-3, 1.0, 50.0, 1e3):
            cases.append(Case(f"shape {shape}, logits of scale {scale:g}", {"z": scale * rng.normal(size=shape)}))
    return cases


def _classification_cases(rng):
    cases = []
    for n, k in [(1, 2), (5, 3), (16, 10), (3, 1000)]:
        for scale in (1e-2, 1.0, 1e3):
            cases.append(Case(f"{n} rows, {k} classes, logits of scale {scale:g}", {
                "logits": scale * rng.normal(size=(n, k)), "labels": rng.integers(0, k, size=n)}))
    return cases


def _classification_with_errors(rng):
    cases = _classification_cases(rng)
    cases.append(Case("labels of shape (n, 1)", {"logits": rng.normal(size=(3, 4)), "labels": np.zeros((3, 1), dtype=int)},
                      raises=ValueError))
    cases.append(Case("a label out of range", {"logits": rng.normal(size=(3, 4)), "labels": np.array([0, 4, 1])},
                      raises=ValueError))
    return cases


def _smoothing_cases(rng):
    cases = []
    for n, k in [(1, 2), (6, 3), (16, 10), (3, 1000)]:
        for scale, smoothing in [(1e-2, 0.1), (1.0, 0.2), (1e3, 0.05), (5.0, 0.0), (5.0, 0.9)]:
            cases.append(Case(f"{n} rows, {k} classes, logits of scale {scale:g}, smoothing {smoothing}", {
                "logits": scale * rng.normal(size=(n, k)), "labels": rng.integers(0, k, size=n),
                "smoothing": smoothing}))
    cases.append(Case("the default smoothing", {"logits": rng.normal(size=(4, 5)), "labels": rng.integers(0, 5, size=4)}))
    cases.append(Case("a negative smoothing", {"logits": rng.normal(size=(3, 4)), "labels": np.array([0, 3, 1]),
                                               "smoothing": -0.1}, raises=ValueError))
    cases.append(Case("a label out of range", {"logits": rng.normal(size=(3, 4)), "labels": np.array([0, 4, 1])},
                      raises=ValueError))
    return cases


HIDDEN = {
    "mse": _regression_pairs,
    "mse_grad": _regression_pairs,
    "huber": _huber_cases,
    "binary_cross_entropy": _bce_cases,
    "binary_cross_entropy_grad": _probability_cases,
    "sigmoid_bce_with_logits": _logit_cases,
    "softmax": _row_cases,
    "log_softmax": _row_cases,
    "softmax_cross_entropy": _classification_with_errors,
    "softmax_cross_entropy_grad": _classification_cases,
    "label_smoothing_cross_entropy": _smoothing_cases,
}
