"""Plausible wrong versions of the chapter 01 losses, named by the mistake they make."""

import numpy as np

from autograder.chapters.ch01_losses import reference as ref


def _f(x):
    return np.asarray(x, dtype=np.float64)


def _mse_sum(y_true, y_pred):
    return float(np.sum((_f(y_pred) - _f(y_true)) ** 2))


def _mse_rows_only(y_true, y_pred):
    d = _f(y_pred) - _f(y_true)
    return float(np.sum(d**2) / d.shape[0])


def _mse_half(y_true, y_pred):
    return 0.5 * ref.mse(y_true, y_pred)


def _mse_grad_no_two(y_true, y_pred):
    return (_f(y_pred) - _f(y_true)) / _f(y_pred).size


def _mse_grad_no_mean(y_true, y_pred):
    return 2.0 * (_f(y_pred) - _f(y_true))


def _mse_grad_sign_flipped(y_true, y_pred):
    return -ref.mse_grad(y_true, y_pred)


def _mse_grad_rows_only(y_true, y_pred):
    d = _f(y_pred) - _f(y_true)
    return 2.0 * d / d.shape[0]


def _bce_unclipped(y_true, p, eps=1e-7):
    y, p = _f(y_true), _f(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _bce_sum(y_true, p, eps=1e-7):
    return ref.binary_cross_entropy(y_true, p, eps) * _f(p).size


def _bce_only_positive_term(y_true, p, eps=1e-7):
    y, p = _f(y_true), np.clip(_f(p), eps, 1 - eps)
    return float(np.mean(-y * np.log(p)))


def _bce_grad_no_mean(y_true, p, eps=1e-7):
    return ref.binary_cross_entropy_grad(y_true, p, eps) * _f(p).size


def _bce_grad_p_minus_y(y_true, p, eps=1e-7):
    return (_f(p) - _f(y_true)) / _f(p).size


def _bce_grad_clipped_formula(y_true, p, eps=1e-7):
    y, pc = _f(y_true), np.clip(_f(p), eps, 1 - eps)
    return (pc - y) / (pc * (1 - pc)) / pc.size


def _logits_naive(y_true, z):
    y, z = _f(y_true), _f(z)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        s = 1.0 / (1.0 + np.exp(-z))
        return float(np.mean(-(y * np.log(s) + (1 - y) * np.log(1 - s))))


def _logits_via_clipped_sigmoid(y_true, z):
    with np.errstate(over="ignore"):
        s = 1.0 / (1.0 + np.exp(-_f(z)))
    return ref.binary_cross_entropy(y_true, s)


def _logits_softplus_overflow(y_true, z):
    y, z = _f(y_true), _f(z)
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.mean(np.log(1 + np.exp(z)) - z * y))


def _softmax_no_shift(z):
    z = _f(z)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_axis0(z):
    z = _f(z)
    e = np.exp(z - np.max(z, axis=0, keepdims=True))
    return e / np.sum(e, axis=0, keepdims=True)


def _softmax_global_sum(z):
    z = _f(z)
    e = np.exp(z - np.max(z))
    return e / np.sum(e)


def _log_softmax_of_softmax(z):
    with np.errstate(divide="ignore"):
        return np.log(ref.softmax(z))


def _log_softmax_no_shift(z):
    z = _f(z)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def _sce_log_of_softmax(logits, labels):
    n = _f(logits).shape[0]
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(ref.softmax(logits))[np.arange(n), np.asarray(labels)]))


def _sce_sum(logits, labels):
    return ref.softmax_cross_entropy(logits, labels) * _f(logits).shape[0]


def _sce_all_classes(logits, labels):
    return float(-np.mean(ref.log_softmax(logits)))


def _sce_grad_no_mean(logits, labels):
    return ref.softmax_cross_entropy_grad(logits, labels) * _f(logits).shape[0]


def _sce_grad_sign_flipped(logits, labels):
    return -ref.softmax_cross_entropy_grad(logits, labels)


def _sce_grad_softmax_only(logits, labels):
    return ref.softmax(logits) / _f(logits).shape[0]


def _huber_no_half(y_true, y_pred, delta=1.0):
    e = np.abs(_f(y_pred) - _f(y_true))
    return float(np.mean(np.where(e <= delta, e**2, delta * (e - 0.5 * delta))))


def _huber_linear_no_offset(y_true, y_pred, delta=1.0):
    e = np.abs(_f(y_pred) - _f(y_true))
    return float(np.mean(np.where(e <= delta, 0.5 * e**2, delta * e)))


def _huber_sum(y_true, y_pred, delta=1.0):
    return ref.huber(y_true, y_pred, delta) * _f(y_pred).size


def _smoothed_ce(logits, labels, on_label, off_label):
    """Mean cross-entropy against targets on_label at the label and off_label elsewhere."""
    logp = ref.log_softmax(logits)
    labels = np.asarray(labels)
    n = logp.shape[0]
    targets = np.full(logp.shape, float(off_label))
    targets[np.arange(n), labels] = on_label
    return float(-np.mean(np.sum(targets * logp, axis=-1)))


def _ls_over_k_minus_1(logits, labels, smoothing=0.1):
    k = _f(logits).shape[1]
    return _smoothed_ce(logits, labels, 1.0 - smoothing, smoothing / (k - 1)) if k > 1 else float("nan")


def _ls_label_without_its_share(logits, labels, smoothing=0.1):
    return _smoothed_ce(logits, labels, 1.0 - smoothing, smoothing / _f(logits).shape[1])


def _ls_on_logits(logits, labels, smoothing=0.1):
    z = _f(logits)
    return ref.softmax_cross_entropy((1.0 - smoothing) * z + smoothing / z.shape[1], labels)


def _ls_ignored(logits, labels, smoothing=0.1):
    return ref.softmax_cross_entropy(logits, labels)


def _ls_sum(logits, labels, smoothing=0.1):
    return ref.label_smoothing_cross_entropy(logits, labels, smoothing) * _f(logits).shape[0]


MISTAKES = {
    "mse": {
        "summing instead of averaging": _mse_sum,
        "dividing by the number of rows instead of the number of elements": _mse_rows_only,
        "a factor 1/2 (that is the 'half MSE' some books use, not Keras's MSE)": _mse_half,
    },
    "mse_grad": {
        "a gradient missing the factor 2": _mse_grad_no_two,
        "the gradient of the summed loss (no division by N)": _mse_grad_no_mean,
        "the gradient with its sign flipped (y_true - y_pred)": _mse_grad_sign_flipped,
        "dividing by the number of rows instead of N = y_pred.size": _mse_grad_rows_only,
    },
    "binary_cross_entropy": {
        "no clipping of p (log(0) gives inf or nan)": _bce_unclipped,
        "summing instead of averaging": _bce_sum,
        "only the y log p term (the (1 - y) log(1 - p) term is missing)": _bce_only_positive_term,
    },
    "binary_cross_entropy_grad": {
        "the gradient of the summed loss (no division by N)": _bce_grad_no_mean,
        "(p - y) / N, which is the gradient with respect to the logit z, not p": _bce_grad_p_minus_y,
        "the formula evaluated at the clipped p without zeroing the clipped entries": _bce_grad_clipped_formula,
    },
    "sigmoid_bce_with_logits": {
        "sigmoid then log (overflow and log(0) for large |z|)": _logits_naive,
        "sigmoid then the clipped BCE (finite but wrong for large |z|)": _logits_via_clipped_sigmoid,
        "log(1 + exp(z)) computed directly (overflows for large z)": _logits_softplus_overflow,
    },
    "softmax": {
        "exp without subtracting the row maximum (overflow for large logits)": _softmax_no_shift,
        "normalizing over axis 0 (columns) instead of the last axis": _softmax_axis0,
        "dividing by the sum over the whole array instead of per row": _softmax_global_sum,
    },
    "log_softmax": {
        "np.log(softmax(z)): the softmax underflows to 0 and its log is -inf": _log_softmax_of_softmax,
        "z - log(sum(exp(z))) without subtracting the maximum (overflow)": _log_softmax_no_shift,
    },
    "softmax_cross_entropy": {
        "the log of a softmax that underflowed (-log 0 = inf)": _sce_log_of_softmax,
        "summing over rows instead of averaging": _sce_sum,
        "averaging -log softmax over every class instead of picking the label's": _sce_all_classes,
    },
    "softmax_cross_entropy_grad": {
        "the gradient of the summed loss (no division by n)": _sce_grad_no_mean,
        "onehot - softmax (sign flipped)": _sce_grad_sign_flipped,
        "softmax / n with the one-hot term forgotten": _sce_grad_softmax_only,
    },
    "huber": {
        "e**2 instead of 0.5 e**2 in the quadratic zone": _huber_no_half,
        "delta |e| in the linear zone (the - 0.5 delta offset that joins the pieces is missing)": _huber_linear_no_offset,
        "summing instead of averaging": _huber_sum,
    },
    "label_smoothing_cross_entropy": {
        "smoothing spread over the K - 1 other classes (Keras spreads smoothing / K over all K, the label included)":
            _ls_over_k_minus_1,
        "the label's target is 1 - smoothing without its own share smoothing / K (targets no longer sum to 1)":
            _ls_label_without_its_share,
        "smoothing applied to the logits instead of to the one-hot targets": _ls_on_logits,
        "smoothing ignored (plain softmax cross-entropy)": _ls_ignored,
        "summing over rows instead of averaging": _ls_sum,
    },
}
