"""Named test functions that check cases can pass to graded functions taking callables
(``numerical_gradient(f, x)``, ``gradient_descent(grad_fn, ...)``, ``random_search(objective, ...)``).

Stored cases refer to them by name (``{"__callable__": "quadratic"}``), so a case file
stays plain data. Each is a pure function of NumPy arrays.
"""

import numpy as np

_A = np.array([[3.0, 0.5], [0.5, 1.0]])


def quadratic(x):
    """f(x) = 0.5 x^T A x for 2-vectors, A = [[3, .5], [.5, 1]] (minimum 0 at the origin)."""
    x = np.asarray(x, dtype=np.float64)
    return float(0.5 * x @ _A @ x)


def quadratic_grad(x):
    """Gradient of :func:`quadratic`: A x."""
    return _A @ np.asarray(x, dtype=np.float64)


def sum_of_cubes(x):
    """f(x) = sum(x**3) for any shape; gradient 3 x**2."""
    return float(np.sum(np.asarray(x, dtype=np.float64) ** 3))


def sin_product(x):
    """f(x) = sum(sin(x) * x**2) for any shape; gradient cos(x) x**2 + 2 x sin(x)."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum(np.sin(x) * x**2))


def rosenbrock(x):
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2, minimum 0 at (1, 1)."""
    x = np.asarray(x, dtype=np.float64)
    return float((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)


def rosenbrock_grad(x):
    x = np.asarray(x, dtype=np.float64)
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)])


def bowl_objective(params):
    """A deterministic random-search objective (higher is better), peaked at lr = 1e-2, batch 32."""
    return -((np.log10(params["lr"]) + 2.0) ** 2) - (np.log2(params.get("batch_size", 32)) - 5.0) ** 2 / 10


def bowl_objective_nan_small_batches(params):
    """:func:`bowl_objective`, but NaN (a diverged trial) for batch_size < 32."""
    return float("nan") if params["batch_size"] < 32 else bowl_objective(params)


FUNCTIONS = {f.__name__: f for f in (quadratic, quadratic_grad, sum_of_cubes, sin_product, rosenbrock, rosenbrock_grad,
                                     bowl_objective, bowl_objective_nan_small_batches)}


def log_cosh(x):
    """f(x) = sum(log(cosh(x))) for any shape: a bowl, quadratic near 0 and linear far out; minimum 0 at 0."""
    x = np.asarray(x, dtype=np.float64)
    return float(np.sum(np.logaddexp(x, -x) - np.log(2.0)))


def log_cosh_grad(x):
    """Gradient of :func:`log_cosh`: tanh(x), shaped like x."""
    return np.tanh(np.asarray(x, dtype=np.float64))


def log_sum_exp(x):
    """f(x) = log(sum(exp(x))) over all entries, computed stably; gradient softmax(x)."""
    x = np.asarray(x, dtype=np.float64)
    top = np.max(x)
    return float(top + np.log(np.sum(np.exp(x - top))))


def _weights(size):
    return np.linspace(-1.0, 2.0, max(size, 2))[:size]


def coupled_quartic(x):
    """f(x) = (c . x)^2 + sum(x^4) with c = linspace(-1, 2, x.size): the entries interact."""
    x = np.asarray(x, dtype=np.float64)
    s = float(np.sum(_weights(x.size) * x.ravel()))
    return s * s + float(np.sum(x**4))


def scaled_bowl_grad(x):
    """Gradient of f(x) = 0.5 sum(c_i x_i^2) with curvatures c = 1, 4, 16, 1, 4, 16, ... (any shape)."""
    x = np.asarray(x, dtype=np.float64)
    c = (4.0 ** (np.arange(x.size) % 3)).reshape(x.shape)
    return c * x


def quartic_bowl_grad(x):
    """Gradient of f(x) = sum(x^4 / 4 + x^2 / 2): x^3 + x (any shape)."""
    x = np.asarray(x, dtype=np.float64)
    return x**3 + x


FUNCTIONS.update({f.__name__: f for f in (log_cosh, log_cosh_grad, log_sum_exp, coupled_quartic, scaled_bowl_grad,
                                          quartic_bowl_grad)})
