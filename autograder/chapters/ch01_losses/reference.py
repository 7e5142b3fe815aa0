"""Reference losses for chapter 01 (float64, batch dimension first).

Conventions follow Keras: every loss is a mean over all samples (and over all
elements for element-wise losses); class labels are integer ids of shape (n,);
softmax and its logarithm act on the last axis.
"""

import numpy as np

from dlcourse.validate import as_float_array, logits_and_labels, rate, same_shape


def mse(y_true, y_pred):
    """Mean squared error: mean over all N elements of (y_pred - y_true)**2.

    y_true, y_pred: arrays of the same shape. Returns a Python float.
    """
    y_true, y_pred = same_shape(y_true, y_pred, "y_true", "y_pred")
    return float(np.mean((y_pred - y_true) ** 2))


def mse_grad(y_true, y_pred):
    """d mse / d y_pred = 2 (y_pred - y_true) / N with N = y_pred.size; shaped like y_pred."""
    y_true, y_pred = same_shape(y_true, y_pred, "y_true", "y_pred")
    return 2.0 * (y_pred - y_true) / y_pred.size


def binary_cross_entropy(y_true, p, eps=1e-7):
    """Mean of -[y log p + (1 - y) log(1 - p)] with p clipped to [eps, 1 - eps].

    y_true: targets in [0, 1]; p: predicted probabilities, same shape. Returns a float.
    """
    y_true, p = same_shape(y_true, p, "y_true", "p")
    p = np.clip(p, eps, 1.0 - eps)
    return float(np.mean(-(y_true * np.log(p) + (1.0 - y_true) * np.log1p(-p))))


def binary_cross_entropy_grad(y_true, p, eps=1e-7):
    """d binary_cross_entropy / d p, shaped like p.

    Inside the clip range: (p - y) / (p (1 - p)) / N. Where the clip is active the
    loss does not depend on p, so the gradient there is 0.
    """
    y_true, p = same_shape(y_true, p, "y_true", "p")
    pc = np.clip(p, eps, 1.0 - eps)
    grad = (pc - y_true) / (pc * (1.0 - pc)) / p.size
    inside = (p >= eps) & (p <= 1.0 - eps)
    return np.where(inside, grad, 0.0)


def sigmoid_bce_with_logits(y_true, z):
    """Binary cross-entropy of sigmoid(z), computed from the logits z (mean, float).

    Uses the identity  -[y log s + (1-y) log(1-s)] = max(z, 0) - z y + log(1 + exp(-|z|)),
    which never exponentiates a positive number: no overflow even for |z| ~ 1e3.
    """
    y_true, z = same_shape(y_true, z, "y_true", "z")
    return float(np.mean(np.maximum(z, 0.0) - z * y_true + np.log1p(np.exp(-np.abs(z)))))


def log_softmax(z):
    """log softmax over the last axis, stable: z - max - log(sum(exp(z - max)))."""
    z = as_float_array(z, "z")
    shifted = z - np.max(z, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def softmax(z):
    """softmax over the last axis; rows sum to 1; stable for |z| ~ 1e3 (max subtracted)."""
    z = as_float_array(z, "z")
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """Mean over rows of -log softmax(logits)[i, labels[i]].

    logits: (n, k) float; labels: (n,) integer class ids. Returns a float.
    """
    logits, labels = logits_and_labels(logits, labels)
    n = logits.shape[0]
    return float(-np.mean(log_softmax(logits)[np.arange(n), labels]))


def softmax_cross_entropy_grad(logits, labels):
    """d softmax_cross_entropy / d logits = (softmax(logits) - onehot(labels)) / n, shape (n, k)."""
    logits, labels = logits_and_labels(logits, labels)
    n = logits.shape[0]
    grad = softmax(logits)
    grad[np.arange(n), labels] -= 1.0
    return grad / n


def huber(y_true, y_pred, delta=1.0):
    """Huber loss as in Keras: mean of 0.5 e**2 where |e| <= delta, else delta (|e| - 0.5 delta)."""
    y_true, y_pred = same_shape(y_true, y_pred, "y_true", "y_pred")
    abs_err = np.abs(y_pred - y_true)
    quadratic = 0.5 * abs_err**2
    linear = delta * (abs_err - 0.5 * delta)
    return float(np.mean(np.where(abs_err <= delta, quadratic, linear)))


def label_smoothing_cross_entropy(logits, labels, smoothing=0.1):
    """Softmax cross-entropy against smoothed one-hot targets, as Keras.

    logits: (n, K) float; labels: (n,) integer class ids; smoothing in [0, 1).
    The target of row i is (1 - smoothing) onehot(labels[i]) + smoothing / K (every class,
    the label included, gets smoothing / K), as ``CategoricalCrossentropy(from_logits=True,
    label_smoothing=smoothing)`` on one-hot labels. Returns the mean over rows (a float).
    """
    logits, labels = logits_and_labels(logits, labels)
    smoothing = rate(smoothing, "smoothing")
    n, k = logits.shape
    targets = np.full((n, k), smoothing / k)
    targets[np.arange(n), labels] += 1.0 - smoothing
    return float(-np.mean(np.sum(targets * log_softmax(logits), axis=-1)))
