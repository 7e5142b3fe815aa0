"""Test helpers: centred-difference gradients and tolerant comparison of nested outputs.

Tolerances used with ``numerical_gradient`` (float64, h = 1e-6, functions of size O(1)):
the centred difference has truncation error ~ h**2 |f'''| ~ 1e-12 and rounding error
~ eps_machine |f| / h ~ 1e-10, so an analytic gradient that is right agrees to about
1e-9 relative; the tests use rtol = 1e-6 with atol = 1e-8, far above that noise and
far below any real mistake (a missing factor or term changes the gradient by O(1)).
Inputs are kept more than h away from kinks (ReLU at 0, |w| at 0).
"""

import numpy as np

RTOL = 1e-6
ATOL = 1e-8


def numerical_gradient(f, x, h=1e-6):
    """Centred-difference gradient of the scalar function f at x (any shape).

    Returns an array shaped like x: (f(x + h e_i) - f(x - h e_i)) / (2 h) for every
    entry i. x itself is never modified (f sees a perturbed copy).
    """
    x = np.array(x, dtype=np.float64)  # a private copy
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = float(f(x.copy()))
        flat[i] = old - h
        f_minus = float(f(x.copy()))
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2.0 * h)
    return grad


def assert_grad_close(analytic, numeric, name, rtol=RTOL, atol=ATOL):
    """Assert an analytic gradient equals a numerical one, naming it in the message."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    assert analytic.shape == numeric.shape, f"{name}: shape {analytic.shape}, numerical gradient has {numeric.shape}"
    err = np.max(np.abs(analytic - numeric) / (atol + rtol * np.abs(numeric))) if numeric.size else 0.0
    assert np.allclose(analytic, numeric, rtol=rtol, atol=atol), (
        f"{name}: analytic and numerical gradients differ (max |diff| = {np.max(np.abs(analytic - numeric)):.3g}, "
        f"{err:.3g} x the tolerance)"
    )


def outputs_close(a, b, rtol=1e-7, atol=1e-10):
    """True when two outputs (floats, arrays, None, or tuples/lists/dicts of them) agree."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(
            outputs_close(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)) and len(a) == len(b)
                and all(outputs_close(x, y, rtol, atol) for x, y in zip(a, b, strict=True)))
    if a is None or b is None:
        return a is None and b is None
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and np.allclose(a, b, rtol=rtol, atol=atol)
