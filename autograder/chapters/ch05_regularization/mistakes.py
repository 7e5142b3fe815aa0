"""Known wrong versions of chapter 05's graded functions (see ``autograder.chapters.ch05_regularization.reference``).

``MISTAKES[function_name][description]`` is a function with the reference's signature;
the description completes the sentence "your output matches ...". Every entry gives an
output different from the reference on generic inputs (nonzero weights, lam > 0).
"""

import numpy as np


def _arrays(weights):
    if isinstance(weights, (list, tuple)):
        return [np.asarray(w, dtype=np.float64) for w in weights]
    return [np.asarray(weights, dtype=np.float64)]


def _l2_half(weights, lam):
    return float(0.5 * lam * sum(np.sum(w**2) for w in _arrays(weights)))


def _l2_norm_not_squared(weights, lam):
    return float(lam * np.sqrt(sum(np.sum(w**2) for w in _arrays(weights))))


def _l2_mean(weights, lam):
    return float(lam * sum(np.mean(w**2) for w in _arrays(weights)))


def _l2_grad_no_two(w, lam):
    return lam * np.asarray(w, dtype=np.float64)


def _l2_grad_no_lam(w, lam):
    return 2.0 * np.asarray(w, dtype=np.float64)


def _l2_grad_sign(w, lam):
    return lam * np.sign(np.asarray(w, dtype=np.float64))


def _l1_no_abs(weights, lam):
    return float(lam * sum(np.sum(w) for w in _arrays(weights)))


def _l1_squares(weights, lam):
    return float(lam * sum(np.sum(w**2) for w in _arrays(weights)))


def _l1_grad_no_lam(w, lam):
    return np.sign(np.asarray(w, dtype=np.float64))


def _l1_grad_l2(w, lam):
    return 2.0 * lam * np.asarray(w, dtype=np.float64)


def _enet_swapped(weights, l1, l2):
    ws = _arrays(weights)
    return float(l2 * sum(np.sum(np.abs(w)) for w in ws) + l1 * sum(np.sum(w**2) for w in ws))


def _enet_half_l2(weights, l1, l2):
    ws = _arrays(weights)
    return float(l1 * sum(np.sum(np.abs(w)) for w in ws) + 0.5 * l2 * sum(np.sum(w**2) for w in ws))


def _ridge_residual(X, y, w, b):
    X, y, w = (np.asarray(a, dtype=np.float64) for a in (X, y, w))
    return X, X @ w + float(b) - y


def _ridge_grad_bias_penalized(X, y, w, b, lam):
    X, r = _ridge_residual(X, y, w, b)
    n = X.shape[0]
    dw = 2.0 / n * (X.T @ r) + 2.0 * lam * np.asarray(w, dtype=np.float64)
    return dw, 2.0 / n * float(r.sum()) + 2.0 * lam * float(b)


def _ridge_grad_no_two_penalty(X, y, w, b, lam):
    X, r = _ridge_residual(X, y, w, b)
    n = X.shape[0]
    return 2.0 / n * (X.T @ r) + lam * np.asarray(w, dtype=np.float64), 2.0 / n * float(r.sum())


def _ridge_grad_sum(X, y, w, b, lam):
    X, r = _ridge_residual(X, y, w, b)
    return 2.0 * (X.T @ r) + 2.0 * lam * np.asarray(w, dtype=np.float64), 2.0 * float(r.sum())


def _ridge_grad_no_two_data(X, y, w, b, lam):
    X, r = _ridge_residual(X, y, w, b)
    n = X.shape[0]
    return (X.T @ r) / n + 2.0 * lam * np.asarray(w, dtype=np.float64), float(r.sum()) / n


def _ridge_cf_no_bias(X, y, lam):
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, d = X.shape
    return np.linalg.solve(X.T @ X + n * lam * np.eye(d), X.T @ y), 0.0


def _ridge_cf_lam_not_n(X, y, lam):
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    xm, ym = X.mean(axis=0), y.mean()
    Xc = X - xm
    w = np.linalg.solve(Xc.T @ Xc + lam * np.eye(X.shape[1]), Xc.T @ (y - ym))
    return w, float(ym - xm @ w)


def _ridge_cf_bias_penalized(X, y, lam):
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n, d = X.shape
    Xa = np.hstack([X, np.ones((n, 1))])
    theta = np.linalg.solve(Xa.T @ Xa + n * lam * np.eye(d + 1), Xa.T @ y)
    return theta[:d], float(theta[d])


MISTAKES = {
    "l2_penalty": {
        "an L2 penalty with a factor 1/2 (the Keras convention has none)": _l2_half,
        "lam times the norm ||w|| instead of its square": _l2_norm_not_squared,
        "a mean of the squared weights instead of their sum": _l2_mean,
    },
    "l2_penalty_grad": {
        "an L2 gradient missing the factor 2": _l2_grad_no_two,
        "an L2 gradient 2 w without lam": _l2_grad_no_lam,
        "lam sign(w), the L1 gradient instead of the L2 one": _l2_grad_sign,
    },
    "l1_penalty": {
        "an L1 penalty without the absolute value (sum of w)": _l1_no_abs,
        "an L1 penalty of squared weights (the L2 penalty)": _l1_squares,
    },
    "l1_penalty_grad": {
        "L1 gradient sign(w) without lam": _l1_grad_no_lam,
        "2 lam w, the L2 gradient instead of the L1 one": _l1_grad_l2,
    },
    "elastic_net_penalty": {
        "an elastic net with l1 and l2 swapped": _enet_swapped,
        "an elastic net with a factor 1/2 on the L2 part (Keras has none)": _enet_half_l2,
    },
    "ridge_regression_grad": {
        "penalizing the bias": _ridge_grad_bias_penalized,
        "a penalty gradient lam w missing the factor 2": _ridge_grad_no_two_penalty,
        "the data gradient summed over samples instead of averaged": _ridge_grad_sum,
        "the data gradient missing the factor 2": _ridge_grad_no_two_data,
    },
    "ridge_closed_form": {
        "the closed form solved without the bias column": _ridge_cf_no_bias,
        "lam added to X^T X instead of n lam (the data term is a mean, not a sum)": _ridge_cf_lam_not_n,
        "penalizing the bias": _ridge_cf_bias_penalized,
    },
}
