"""Visible and hidden check cases for chapter 05 (regularization).

Penalties take one array or a list/tuple of arrays of different shapes; hidden cases mix
both, include exact zeros (the L1 subgradient there is 0), and strengths from 1e-12 to
1e6. Ridge regression is checked on well-conditioned data by value (every correct
method agrees to many digits there) and, in HIDDEN_CUSTOM, on ill-conditioned data
(nearly collinear columns, polynomial features, columns of very different scales) by
what any correct solver achieves: the minimal loss, and a zero derivative in the bias.
That accepts np.linalg.solve, lstsq and augmented-matrix approaches alike and rejects
a penalized bias.
"""

import numpy as np

from autograder.chapters.ch05_regularization.mistakes import MISTAKES
from autograder.chapters.ch05_regularization.reference import ridge_closed_form as _reference_ridge
from autograder.checking import Case
from dlcourse.checks.compare import agree, describe
from dlcourse.checks.runner import CheckFailure, call_learner

CHAPTER = "05_regularization"

_A = np.array
_W2 = [_A([[0.5, -1.0], [2.0, 0.0]]), _A([3.0, -0.5, 0.0])]  # a (2, 2) kernel and a (3,) vector
_X = _A([[1.0, 2.0], [2.0, 0.5], [3.0, -1.0], [4.0, 1.5], [5.0, 0.0]])
_Y = _A([10.1, 11.9, 13.2, 15.8, 16.9])  # a large offset: penalizing the bias would show


def _strength_errors(fn_args):
    return [Case("a negative strength", {**fn_args, "lam": -0.1}, raises=ValueError)]


VISIBLE = {
    "l2_penalty": [
        Case("one vector [1, -2, 3], lam 0.1", {"weights": _A([1.0, -2.0, 3.0]), "lam": 0.1}),
        Case("a list of two arrays of different shapes, lam 0.01", {"weights": list(_W2), "lam": 0.01}),
        Case("a tuple of arrays, lam 2", {"weights": tuple(_W2), "lam": 2.0}),
        Case("all-zero weights", {"weights": [np.zeros((2, 3)), np.zeros(4)], "lam": 0.5}),
        *_strength_errors({"weights": _A([1.0, 2.0])}),
    ],
    "l2_penalty_grad": [
        Case("a (2, 3) array, lam 0.1", {"w": _A([[1.0, -2.0, 0.5], [0.0, 3.0, -1.5]]), "lam": 0.1}),
        Case("lam 0: no penalty, zero gradient", {"w": _A([1.0, -1.0]), "lam": 0.0}),
        *_strength_errors({"w": _A([1.0, 2.0])}),
    ],
    "l1_penalty": [
        Case("one vector [1, -2, 3], lam 0.1", {"weights": _A([1.0, -2.0, 3.0]), "lam": 0.1}),
        Case("a list of two arrays of different shapes, lam 0.01", {"weights": list(_W2), "lam": 0.01}),
        *_strength_errors({"weights": _A([1.0, 2.0])}),
    ],
    "l1_penalty_grad": [
        Case("a vector with a zero: the subgradient at 0 is 0", {"w": _A([2.0, -0.5, 0.0, 1e-8]), "lam": 0.1}),
        Case("a (2, 2) array, lam 3", {"w": _A([[0.5, -1.0], [2.0, -3.0]]), "lam": 3.0}),
        *_strength_errors({"w": _A([1.0, 2.0])}),
    ],
    "elastic_net_penalty": [
        Case("a list of two arrays, l1 0.01, l2 0.1", {"weights": list(_W2), "l1": 0.01, "l2": 0.1}),
        Case("l1 = 0 is the L2 penalty", {"weights": _A([1.0, -2.0, 3.0]), "l1": 0.0, "l2": 0.1}),
        Case("a negative l1", {"weights": _A([1.0]), "l1": -1.0, "l2": 0.1}, raises=ValueError),
    ],
    "ridge_regression_grad": [
        Case("5 samples, 2 features, b 1, lam 0.1", {"X": _X, "y": _Y, "w": _A([0.5, -1.0]), "b": 1.0, "lam": 0.1}),
        Case("lam 0 is the plain least-squares gradient", {"X": _X, "y": _Y, "w": _A([2.0, 0.5]), "b": 8.0, "lam": 0.0}),
        Case("y of the wrong length", {"X": _X, "y": _Y[:3], "w": _A([0.5, -1.0]), "b": 1.0, "lam": 0.1},
             raises=ValueError),
        Case("w of the wrong length", {"X": _X, "y": _Y, "w": _A([0.5, -1.0, 2.0]), "b": 1.0, "lam": 0.1},
             raises=ValueError),
    ],
    "ridge_closed_form": [
        Case("5 samples, 2 features, lam 0.1", {"X": _X, "y": _Y, "lam": 0.1}),
        Case("lam 0: ordinary least squares", {"X": _X, "y": _Y, "lam": 0.0}),
        Case("lam 10: strong shrinkage", {"X": _X, "y": _Y, "lam": 10.0}),
        Case("lam 0 with 3 features and 3 samples (no unique solution)",
             {"X": _X[:3] @ _A([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]]), "y": _Y[:3], "lam": 0.0}, raises=ValueError),
        Case("y of the wrong shape", {"X": _X, "y": _Y[:, None], "lam": 0.1}, raises=ValueError),
    ],
}


# ----------------------------------------------------------------------------- hidden
_STRENGTHS = (0.0, 1e-12, 1e-3, 0.5, 1e6)


def _weights(rng, scale, with_zeros):
    """A single array, or a list/tuple of arrays of different shapes."""
    kind = rng.integers(0, 3)
    shapes = [(int(rng.integers(1, 6)),)] if kind == 0 else [(5, 3), (3,), (2, 3, 4)][: int(rng.integers(1, 4))]
    arrays = [scale * rng.normal(size=s) for s in shapes]
    if with_zeros:
        for a in arrays:
            a[rng.random(a.shape) < 0.3] = 0.0
    if kind == 0:
        return arrays[0]
    return arrays if kind == 1 else tuple(arrays)


def _penalty_cases(rng, strength_names=("lam",)):
    cases = []
    for scale in (1e-3, 1.0, 1e3):
        for lam in _STRENGTHS:
            for with_zeros in (False, True):
                weights = _weights(rng, scale, with_zeros)
                kind = type(weights).__name__
                shape = weights.shape if isinstance(weights, np.ndarray) else [w.shape for w in weights]
                strengths = {name: (lam if i == 0 else float(rng.choice(_STRENGTHS))) for i, name in enumerate(strength_names)}
                cases.append(Case(f"{kind} {shape}, weights of scale {scale:g}{' with zeros' if with_zeros else ''}, "
                                  + ", ".join(f"{k} {v:g}" for k, v in strengths.items()),
                                  {"weights": weights, **strengths}))
    cases.append(Case("all-zero weights", {"weights": [np.zeros((3, 3)), np.zeros(2)], **{n: 0.7 for n in strength_names}}))
    cases.append(Case("a single 0-d weight", {"weights": np.array(-2.5), **{n: 0.3 for n in strength_names}}))
    for name in strength_names:
        for bad in (-1e-3, float("nan"), float("inf")):
            cases.append(Case(f"{name} = {bad}", {"weights": np.ones(3), **{n: 0.1 for n in strength_names}, name: bad},
                              raises=ValueError))
    return cases


def _grad_cases(rng):
    cases = []
    for shape in [(7,), (4, 3), (2, 3, 4), (1,)]:
        for scale in (1e-3, 1.0, 1e3):
            for lam in _STRENGTHS:
                w = scale * rng.normal(size=shape)
                w[rng.random(shape) < 0.3] = 0.0
                cases.append(Case(f"shape {shape}, weights of scale {scale:g} with zeros, lam {lam:g}", {"w": w, "lam": lam}))
    cases.append(Case("all zeros", {"w": np.zeros((3, 2)), "lam": 1.0}))
    cases += [Case(f"lam = {bad}", {"w": np.ones(3), "lam": bad}, raises=ValueError) for bad in (-0.5, float("nan"))]
    return cases


def _linear_data(rng, n, d, scale=1.0, offset=0.0):
    X = scale * rng.normal(size=(n, d)) + offset * rng.normal(size=d)
    w_true = rng.normal(size=d)
    y = X @ w_true + rng.uniform(-20, 20) + 0.3 * rng.normal(size=n)
    return X, y


def _ridge_grad_cases(rng):
    cases = []
    for n, d in [(1, 1), (5, 3), (50, 10), (200, 3), (3, 8)]:
        for lam in (0.0, 1e-8, 0.1, 100.0):
            X, y = _linear_data(rng, n, d, scale=float(rng.choice([0.01, 1.0, 100.0])))
            cases.append(Case(f"n={n}, d={d}, lam {lam:g}", {"X": X, "y": y, "w": rng.normal(size=d),
                                                             "b": float(rng.normal(scale=5.0)), "lam": lam}))
    X, y = _linear_data(rng, 6, 2)
    cases += [
        Case("y of shape (n, 1)", {"X": X, "y": y[:, None], "w": np.zeros(2), "b": 0.0, "lam": 0.1}, raises=ValueError),
        Case("w of the wrong length", {"X": X, "y": y, "w": np.zeros(3), "b": 0.0, "lam": 0.1}, raises=ValueError),
        Case("a 1-D X", {"X": X[:, 0], "y": y, "w": np.zeros(1), "b": 0.0, "lam": 0.1}, raises=ValueError),
        Case("a negative lam", {"X": X, "y": y, "w": np.zeros(2), "b": 0.0, "lam": -1.0}, raises=ValueError),
    ]
    return cases


def _ridge_closed_form_cases(rng):
    cases = []
    for n, d in [(20, 3), (100, 10), (5, 1), (10, 20), (2, 1)]:
        for lam in (0.0, 1e-3, 0.1, 10.0):
            if lam == 0.0 and d >= n:
                continue
            X, y = _linear_data(rng, n, d, scale=float(rng.choice([0.1, 1.0, 10.0])), offset=float(rng.choice([0.0, 3.0])))
            cases.append(Case(f"n={n}, d={d}, lam {lam:g}", {"X": X, "y": y, "lam": lam}))
    X, y = _linear_data(rng, 4, 6)
    cases += [
        Case("lam 0 with more features than samples", {"X": X, "y": y, "lam": 0.0}, raises=ValueError),
        Case("lam 0 with two identical columns", {"X": np.c_[X[:, :2], X[:, :1]], "y": y, "lam": 0.0}, raises=ValueError),
        Case("y of the wrong length", {"X": X, "y": y[:-1], "lam": 0.1}, raises=ValueError),
        Case("a negative lam", {"X": X, "y": y, "lam": -0.1}, raises=ValueError),
    ]
    return cases


HIDDEN = {
    "l2_penalty": _penalty_cases,
    "l2_penalty_grad": _grad_cases,
    "l1_penalty": _penalty_cases,
    "l1_penalty_grad": _grad_cases,
    "elastic_net_penalty": lambda rng: _penalty_cases(rng, ("l1", "l2")),
    "ridge_regression_grad": _ridge_grad_cases,
    "ridge_closed_form": _ridge_closed_form_cases,
}


# ----------------------------------------------------------------------------- hidden: ill-conditioned ridge
def ill_conditioned_problems(rng):
    """(name, X, y, lam): data on which solvers differ in the last digits but not in the loss they reach."""
    n = 40
    problems = []
    z = rng.normal(size=(n, 3))
    X = np.c_[z[:, 0], z[:, 0] + 1e-4 * z[:, 1], z[:, 2]]
    y = X @ np.array([1.0, -2.0, 0.5]) + 25.0 + 0.1 * rng.normal(size=n)
    problems.append(("two nearly collinear columns (1e-4 apart), lam 0", X, y, 0.0))
    for lam in (1e-4, 1e-2):
        X = np.c_[z[:, 0], z[:, 0] + 1e-6 * z[:, 1], z[:, 2]]
        problems.append((f"two nearly collinear columns (1e-6 apart), lam {lam:g}", X, y, lam))
    for lam in (0.0, 1e-4, 1e-2):
        x = rng.uniform(0.0, 1.0, size=n)
        X = np.vander(x, 9, increasing=True)[:, 1:]  # x, x^2, ..., x^8
        y = np.sin(2 * np.pi * x) + 30.0 + 0.1 * rng.normal(size=n)
        problems.append((f"polynomial features x .. x^8 on [0, 1], lam {lam:g}", X, y, lam))
    for lam in (0.0, 1e-3):
        X = rng.normal(size=(n, 4)) * np.array([1e-3, 1.0, 1e3, 1.0]) + np.array([0.0, 10.0, 0.0, 100.0])
        y = X @ np.array([300.0, 1.0, 2e-3, 0.01]) - 40.0 + rng.normal(size=n)
        problems.append((f"columns of scales 1e-3 .. 1e3 with offsets, lam {lam:g}", X, y, lam))
    return problems


def _ridge_loss(X, y, w, b, lam):
    r = X @ w + b - y
    return float(np.mean(r * r) + lam * w @ w)


def _hidden_ridge_ill_conditioned(fn):
    from autograder.checking import hidden_seed

    rng = np.random.default_rng(hidden_seed("ridge_closed_form:ill-conditioned"))
    for name, X, y, lam in ill_conditioned_problems(rng):
        header = f"ridge_closed_form, case 'hidden: {name}'"
        inputs = {"X": X, "y": y, "lam": lam}
        try:
            got = call_learner(fn, "ridge_closed_form", name, {k: np.copy(v) if isinstance(v, np.ndarray) else v
                                                                for k, v in inputs.items()})
        except CheckFailure:
            raise
        except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
            raise CheckFailure(f"{header}: raised {type(err).__name__}: {err}") from None
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            raise CheckFailure(f"{header}: expected a tuple (w, b), got {describe(got)}")
        w, b = np.asarray(got[0], dtype=np.float64), np.asarray(got[1], dtype=np.float64)
        if w.shape != (X.shape[1],) or b.size != 1 or not (np.all(np.isfinite(w)) and np.isfinite(b).all()):
            raise CheckFailure(f"{header}: expected w of shape ({X.shape[1]},) and a float b, all finite; "
                               f"got w {describe(w)}, b {describe(b)}")
        b = float(b.reshape(()))
        w_ref, b_ref = _reference_ridge(X, y, lam)
        best = _ridge_loss(X, y, w_ref, b_ref, lam)
        loss = _ridge_loss(X, y, w, b, lam)
        mean_residual = float(np.mean(X @ w + b - y))
        scale = float(np.mean(np.abs(y)))
        problems = []
        if loss > best * (1.0 + 1e-6) + 1e-12:
            problems.append(f"its loss mean((X w + b - y)^2) + lam ||w||^2 is {loss:.10g}, but the minimum is "
                            f"{best:.10g} (relative excess {(loss - best) / best:.2g}; a correct solver stays below 1e-6)")
        if abs(mean_residual) > 1e-6 * scale:
            problems.append(f"at the optimum the residuals average to 0 (the loss's derivative in b), "
                            f"but yours average to {mean_residual:.3g}")
        if problems:
            lines = [f"{header}: this ill-conditioned problem has many nearly equal answers, and yours is not one of them:",
                     *(f"  {p}" for p in problems),
                     f"  expected (any solver): w close to {describe(w_ref)}, b {b_ref:.10g}",
                     f"  got:                   w {describe(w)}, b {b:.10g}"]
            for mistake, wrong in MISTAKES["ridge_closed_form"].items():
                with np.errstate(all="ignore"):
                    out = wrong(X, y, lam)
                if agree((w, b), out, rtol=1e-4, atol=1e-8):
                    lines.append(f"  Your output matches {mistake}.")
                    break
            raise CheckFailure("\n".join(lines))


HIDDEN_CUSTOM = {"ridge_closed_form": _hidden_ridge_ill_conditioned}
