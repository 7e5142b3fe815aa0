"""Visible and hidden check cases for chapter 02 (gradient descent).

``minibatch_indices`` and ``sgd_linear_regression`` depend on how the learner uses the random
generator, so they have no stored cases: their visible checks are the property checks of
:mod:`dlcourse.checks.properties.gradient_descent`, and their hidden tests (``HIDDEN_CUSTOM``)
add statistics over many seeds and, for SGD, a comparison with every possible visiting order,
which accepts any valid use of the rng and nothing else.
"""

import itertools

import numpy as np

from autograder.chapters.ch02_gradient_descent.reference import linear_regression_grad, linear_regression_loss, sgd_linear_regression
from autograder.checking import Case
from dlcourse.checks.compare import agree, describe
from dlcourse.checks.functions import (
    coupled_quartic,
    log_cosh,
    log_cosh_grad,
    log_sum_exp,
    quadratic,
    quadratic_grad,
    quartic_bowl_grad,
    rosenbrock,
    rosenbrock_grad,
    scaled_bowl_grad,
    sin_product,
    sum_of_cubes,
)
from dlcourse.checks.properties.gradient_descent import (
    FULL_BATCH_RUN,
    X_A,
    Y_A,
    check_epoch_structure,
    check_minibatch_indices,
    check_sgd_linear_regression,
    epoch,
    run_sgd,
)
from dlcourse.checks.runner import CheckFailure

CHAPTER = "02_gradient_descent"

_A = np.array

_X3 = _A([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
_SMALL = {"X": _X3, "y": _A([1.0, 2.0, 0.0]), "w": _A([0.5, -1.0]), "b": 0.25}
_INTERCEPT = {"X": _A([[0.0], [1.0], [2.0], [3.0]]), "y": _A([2.0, 5.0, 8.0, 11.0]), "w": _A([2.0]), "b": 1.0}
_WIDE = {"X": _A([[1.0, 2.0, -1.0], [0.5, -1.0, 3.0], [2.0, 0.0, 1.0], [-1.0, 1.0, 0.5], [0.0, 0.5, -2.0]]),
         "y": _A([1.0, -2.0, 0.5, 3.0, 1.5]), "w": _A([0.3, -0.7, 1.1]), "b": -0.4}
_ONE_D_X = {"X": np.linspace(-1.0, 1.0, 5), "y": np.linspace(-2.0, 2.0, 5), "w": np.zeros(2), "b": 0.0}
_COLUMN_Y = {"X": _X3, "y": _A([[1.0], [2.0], [0.0]]), "w": _A([0.5, -1.0]), "b": 0.25}


def _regression_visible():
    return [
        Case("3 samples, 2 features (the worked example)", dict(_SMALL)),
        Case("one feature, intercept b = 1 (y = 3x + 2)", dict(_INTERCEPT)),
        Case("5 samples, 3 features", dict(_WIDE)),
        Case("article 002 §4.1: a 1-D x of 5 values with 2 weights (no column of features)", dict(_ONE_D_X),
             raises=ValueError),
        Case("y of shape (n, 1) must not broadcast against predictions of shape (n,)", dict(_COLUMN_Y),
             raises=ValueError),
    ]


VISIBLE = {
    "numerical_gradient": [
        Case("f = 0.5 x^T A x at x = [1, -2] (gradient A x)", {"f": quadratic, "x": _A([1.0, -2.0])}),
        Case("f = sum(x^3) on a (2, 3) array", {"f": sum_of_cubes, "x": _A([[0.5, -1.0, 2.0], [1.5, 0.0, -0.3]])}),
        Case("f = sum(sin(x) x^2) at a 0-d array, h = 1e-4", {"f": sin_product, "x": _A(1.3), "h": 1e-4}),
        Case("Rosenbrock at (-1, 1)", {"f": rosenbrock, "x": _A([-1.0, 1.0])}),
        Case("h = 0 is rejected", {"f": quadratic, "x": _A([1.0, 2.0]), "h": 0.0}, raises=ValueError),
    ],
    "linear_regression_loss": _regression_visible(),
    "linear_regression_grad": _regression_visible(),
    "gradient_descent": [
        Case("f = 0.5 x^T A x from [2, -1], lr 0.3, 6 steps", {"grad_fn": quadratic_grad, "w0": _A([2.0, -1.0]),
                                                               "lr": 0.3, "n_steps": 6}),
        Case("log-cosh bowl, w0 of shape (2, 3), lr 0.5, 4 steps",
             {"grad_fn": log_cosh_grad, "w0": _A([[2.0, -1.0, 0.5], [0.0, 3.0, -4.0]]), "lr": 0.5, "n_steps": 4}),
        Case("Rosenbrock from (-1, 1), lr 1e-3, 5 steps", {"grad_fn": rosenbrock_grad, "w0": _A([-1.0, 1.0]),
                                                           "lr": 1e-3, "n_steps": 5}),
        Case("lr = 0 leaves w0 in place", {"grad_fn": quadratic_grad, "w0": _A([1.0, 1.0]), "lr": 0.0, "n_steps": 3}),
        Case("n_steps = 0 returns just w0, shape (1, 2)", {"grad_fn": quadratic_grad, "w0": _A([1.0, 1.0]), "lr": 0.1,
                                                            "n_steps": 0}),
        Case("n_steps = -1 is rejected", {"grad_fn": quadratic_grad, "w0": _A([1.0, 1.0]), "lr": 0.1, "n_steps": -1},
             raises=ValueError),
    ],
}


# ----------------------------------------------------------------------------- hidden: numerical_gradient
# Hidden inputs travel to the learner's kernel as data, so every function passed to a graded function is one
# of the named test functions of dlcourse.checks.functions (plain functions of NumPy arrays).
def _numgrad_cases(rng):
    cases = []
    for shape in [(), (4,), (3, 2), (2, 2, 3)]:
        for scale in (0.1, 1.0, 5.0):
            for name, f in [("sum(x^3)", sum_of_cubes), ("sum(sin(x) x^2)", sin_product),
                            ("log-sum-exp", log_sum_exp), ("(c . x)^2 + sum(x^4)", coupled_quartic)]:
                cases.append(Case(f"{name}, shape {shape}, scale {scale:g}", {"f": f, "x": scale * rng.normal(size=shape)}))
    for h in (1e-3, 1e-6):
        cases.append(Case(f"log-cosh, h = {h:g}", {"f": log_cosh, "x": rng.normal(size=5), "h": h}))
    # a large step changes the answer: for sum(x^3) the centred difference is 3 x^2 + h^2
    for h in (0.5, 0.1):
        cases.append(Case(f"sum(x^3), h = {h:g} (the estimate is 3 x^2 + h^2)", {"f": sum_of_cubes,
                                                                                 "x": rng.normal(size=3), "h": h}))
    cases.append(Case("sum(sin(x) x^2), shape (2, 2), h = 0.3", {"f": sin_product, "x": rng.normal(size=(2, 2)),
                                                                  "h": 0.3}))
    cases.append(Case("quadratic form, 2-vector", {"f": quadratic, "x": rng.normal(size=2)}))
    cases.append(Case("Rosenbrock near (1, 1)", {"f": rosenbrock, "x": 1.0 + 0.1 * rng.normal(size=2)}))
    cases.append(Case("integer input x = [1, 2, 3]", {"f": sum_of_cubes, "x": _A([1, 2, 3])}))
    cases.append(Case("h = 0", {"f": quadratic, "x": rng.normal(size=2), "h": 0.0}, raises=ValueError))
    cases.append(Case("h < 0", {"f": quadratic, "x": rng.normal(size=2), "h": -1e-5}, raises=ValueError))
    return cases


# ----------------------------------------------------------------------------- hidden: regression
def _regression_cases(rng):
    cases = []
    for n, d in [(1, 1), (6, 3), (40, 5), (200, 2)]:
        for x_scale in (1e-3, 1.0, 1e3):
            X = x_scale * rng.normal(size=(n, d))
            w = rng.normal(size=d)
            b = float(3 * rng.normal())
            y = X @ rng.normal(size=d) + rng.normal() + 0.5 * rng.normal(size=n)
            cases.append(Case(f"n={n}, d={d}, X of scale {x_scale:g}", {"X": X, "y": y, "w": w, "b": b}))
    X = rng.normal(size=(10, 2))
    cases.append(Case("b given as a 0-d array", {"X": X, "y": rng.normal(size=10), "w": rng.normal(size=2),
                                                 "b": _A(0.7)}))
    cases.append(Case("at the least-squares solution (gradient 0)", _at_least_squares(rng)))
    cases.append(Case("article 002 §4.1: 1-D X", {"X": rng.normal(size=8), "y": rng.normal(size=8), "w": np.zeros(2), "b": 0.0},
                      raises=ValueError))
    cases.append(Case("w of the wrong length", {"X": X, "y": rng.normal(size=10), "w": np.zeros(3), "b": 0.0},
                      raises=ValueError))
    cases.append(Case("y of shape (n, 1)", {"X": X, "y": rng.normal(size=(10, 1)), "w": np.zeros(2), "b": 0.0},
                      raises=ValueError))
    return cases


def _at_least_squares(rng):
    X = rng.normal(size=(30, 3))
    y = X @ _A([1.0, -2.0, 0.5]) + 1.0 + 0.3 * rng.normal(size=30)
    theta = np.linalg.lstsq(np.column_stack([X, np.ones(30)]), y, rcond=None)[0]
    return {"X": X, "y": y, "w": theta[:3], "b": float(theta[3])}


# ----------------------------------------------------------------------------- hidden: gradient_descent
_A_LAMBDA_MAX = float(np.linalg.eigvalsh(_A([[3.0, 0.5], [0.5, 1.0]]))[-1])  # the Hessian of `quadratic`


def _gd_cases(rng):
    cases = []
    for frac, steps in ((0.3, 10), (0.9, 50)):
        cases.append(Case(f"quadratic, lr = {frac} * 2/L, {steps} steps",
                          {"grad_fn": quadratic_grad, "w0": 3 * rng.normal(size=2), "lr": frac * 2 / _A_LAMBDA_MAX,
                           "n_steps": steps}))
    cases.append(Case("quadratic, lr = 1.05 * 2/L (diverging), 30 steps",
                      {"grad_fn": quadratic_grad, "w0": rng.normal(size=2), "lr": 1.05 * 2 / _A_LAMBDA_MAX, "n_steps": 30}))
    for shape in [(), (4,), (2, 3), (2, 2, 2)]:
        cases.append(Case(f"log-cosh bowl, w0 of shape {shape}", {"grad_fn": log_cosh_grad, "w0": 3 * rng.normal(size=shape),
                                                                  "lr": 0.7, "n_steps": 7}))
        cases.append(Case(f"bowl with curvatures 1, 4, 16, w0 of shape {shape}",
                          {"grad_fn": scaled_bowl_grad, "w0": rng.normal(size=shape), "lr": float(rng.uniform(0.02, 0.12)),
                           "n_steps": 12}))
        cases.append(Case(f"x^3 + x, w0 of shape {shape}", {"grad_fn": quartic_bowl_grad, "w0": rng.normal(size=shape),
                                                            "lr": 0.05, "n_steps": 9}))
    cases.append(Case("Rosenbrock, lr 1e-3, 20 steps", {"grad_fn": rosenbrock_grad, "w0": _A([-1.2, 1.0]), "lr": 1e-3,
                                                        "n_steps": 20}))
    cases.append(Case("lr = 0", {"grad_fn": log_cosh_grad, "w0": rng.normal(size=3), "lr": 0.0, "n_steps": 4}))
    cases.append(Case("n_steps = 0", {"grad_fn": log_cosh_grad, "w0": rng.normal(size=(2, 2)), "lr": 0.1, "n_steps": 0}))
    cases.append(Case("w0 given as a list", {"grad_fn": quadratic_grad, "w0": [1.0, -1.0], "lr": 0.2, "n_steps": 3}))
    cases.append(Case("n_steps = -2", {"grad_fn": quadratic_grad, "w0": np.ones(2), "lr": 0.1, "n_steps": -2},
                      raises=ValueError))
    cases.append(Case("lr < 0", {"grad_fn": quadratic_grad, "w0": np.ones(2), "lr": -0.1, "n_steps": 2},
                      raises=ValueError))
    return cases


# ----------------------------------------------------------------------------- hidden: minibatch_indices
def _chi_square(counts):
    counts = np.asarray(counts, dtype=np.float64)
    expected = counts.sum() / counts.size
    return float(np.sum((counts - expected) ** 2 / expected))


def _hidden_minibatch_indices(fn):
    """More sizes and seeds than the visible checks, then: is every split of the epoch equally likely?"""
    name = "minibatch_indices"
    check_minibatch_indices(fn, sizes=[(1, 5), (2, 1), (9, 2), (64, 64), (65, 64), (120, 1), (1000, 7), (300, 1000)],
                            seeds=range(10, 16))
    for seed in range(20):
        case = f"hidden: n=23, batch_size=5, seed {seed}"
        check_epoch_structure(epoch(fn, 23, 5, np.random.default_rng(100 + seed), case), 23, 5, case)
    # n = 5, batch_size = 2: the epoch splits into ({a, b}, {c, d}, {e}): 5! / (2! 2!) = 30 outcomes, each with
    # probability 1/30 under a uniform shuffle (the order inside a batch does not matter). The epochs are drawn
    # one after another from one generator, as training draws them.
    draws, outcomes, rng = 900, {}, np.random.default_rng(2026)
    case = f"hidden: n=5, batch_size=2, {draws} epochs from one generator: every split equally likely"
    for _ in range(draws):
        batches = epoch(fn, 5, 2, rng, case)
        key = tuple(frozenset(b.tolist()) for b in batches)
        outcomes[key] = outcomes.get(key, 0) + 1
    # chi-square with 29 degrees of freedom (30 expected per split, plenty for the approximation): P(chi2 > 80)
    # ~ 1e-6, so a uniform shuffle fails by chance essentially never (and misses a split with probability
    # 30 * (29/30)^900 ~ 2e-12), while e.g. a random rotation of range(n) reaches only 5 of the 30 splits and
    # shuffling the order of fixed batches only 6. Every draw is a call of the learner's function that travels
    # to the grading process and back, so the count is kept to what the test needs.
    if len(outcomes) < 30 or _chi_square(list(outcomes.values())) > 80:
        raise CheckFailure(f"{name}, case '{case}': {len(outcomes)} of the 30 possible splits appeared, with "
                           f"counts {sorted(outcomes.values())} (about {draws // 30} each expected). Shuffle with a "
                           "uniformly random permutation, e.g. rng.permutation(n).")


# ----------------------------------------------------------------------------- hidden: sgd_linear_regression
def _epoch_outcomes(X, y, w, b, lr, splits):
    """(w, b, full loss) after one epoch for each possible split (tuple of index tuples)."""
    out = []
    for split in splits:
        w1, b1 = w.copy(), b
        for batch in split:
            dw, db = linear_regression_grad(X[list(batch)], y[list(batch)], w1, b1)
            w1, b1 = w1 - lr * dw, b1 - lr * db
        out.append((w1, b1, linear_regression_loss(X, y, w1, b1)))
    return out


def _splits(n, batch_size):
    """Every way to split one epoch of range(n) into consecutive batches (order inside a batch ignored)."""
    seen = []
    for perm in itertools.permutations(range(n)):
        split = tuple(tuple(sorted(perm[s:s + batch_size])) for s in range(0, n, batch_size))
        if split not in seen:
            seen.append(split)
    return seen


def _hidden_sgd_linear_regression(fn):
    name = "sgd_linear_regression"
    check_sgd_linear_regression(fn)
    rng = np.random.default_rng(2024)

    # 1. batch_size >= n is full-batch gradient descent (the shuffle only reorders a sum).
    for n, d, scale, lr in [(20, 3, 1.0, 0.1), (50, 1, 0.1, 0.5), (15, 4, 3.0, 0.01)]:
        X = scale * rng.normal(size=(n, d))
        y = X @ rng.normal(size=d) + 2.0 + 0.5 * rng.normal(size=n)
        for batch_size in (n, n + 5):
            case = f"hidden: batch_size={batch_size} >= n={n}, d={d}, lr {lr}: full-batch gradient descent"
            got = run_sgd(fn, case, X=X, y=y, lr=lr, batch_size=batch_size, epochs=6, rng=np.random.default_rng(1))
            expected = sgd_linear_regression(X, y, lr, n, 6, np.random.default_rng(1))
            if not agree(got, expected):
                raise CheckFailure(f"{name}, case '{case}': (w, b, losses) differ\n  expected: {describe(expected)}\n"
                                   f"  got:      {describe(got)}")

    # 2. Every run must be one of the possible visiting orders; and across seeds, the two epochs must be able
    #    to use different splits (a fresh shuffle per epoch).
    X = rng.normal(size=(3, 2))
    y = rng.normal(size=3) + 1.0
    lr = 0.3
    splits = _splits(3, 2)  # 3 splits: which sample is alone in the second batch
    first = _epoch_outcomes(X, y, np.zeros(2), 0.0, lr, splits)
    candidates = {}
    for i, (w1, b1, loss1) in enumerate(first):
        for j, (w2, b2, loss2) in enumerate(_epoch_outcomes(X, y, w1, b1, lr, splits)):
            candidates[(i, j)] = (w2, b2, np.array([loss1, loss2]))
    case = "hidden: 3 samples, batch_size 2, 2 epochs, 40 seeds: each run is one of the 9 possible orders"
    hits = set()
    for seed in range(40):
        got = run_sgd(fn, case, X=X, y=y, lr=lr, batch_size=2, epochs=2, rng=np.random.default_rng(seed))
        match = [key for key, cand in candidates.items() if agree(got, cand)]
        if not match:
            losses_match = [key for key, cand in candidates.items() if agree(got[:2], cand[:2])]
            hint = ("  (w, b) are right but the losses are not the full-data loss after each epoch.\n"
                    if losses_match else "")
            raise CheckFailure(f"{name}, case '{case}' (seed {seed}): the result matches none of the 9 ways to visit "
                               f"the samples in 2 shuffled epochs.\n{hint}  got:      {describe(got)}\n"
                               f"  e.g. expected: {describe(candidates[(0, 0)])}")
        hits.add(match[0])
    if all(i == j for i, j in hits):
        raise CheckFailure(f"{name}, case '{case}': in all 40 runs both epochs used the same split {sorted(hits)}.\n"
                           "  Your output matches one shuffle reused for every epoch.")

    # 3. Convergence: exactly linear data (to the solution) and noisy data (to the least-squares loss).
    X = rng.normal(size=(64, 3))
    w_true, b_true = _A([2.0, -1.0, 0.5]), -3.0
    # (the reference gets within 1e-7 of the solution after 4-5, 9-10 and 38 epochs over ten seeds: the epochs
    # below leave a margin of 2.5-4x)
    for batch_size, lr, epochs in ((1, 0.05, 20), (5, 0.1, 40), (64, 0.3, 100)):
        case = f"hidden: exactly linear data, batch_size {batch_size}, converges to the true w, b"
        w, b, losses = run_sgd(fn, case, X=X, y=X @ w_true + b_true, lr=lr, batch_size=batch_size, epochs=epochs,
                               rng=np.random.default_rng(batch_size))
        if not agree((w, b), (w_true, b_true), rtol=1e-6, atol=1e-6):
            raise CheckFailure(f"{name}, case '{case}': expected {describe((w_true, b_true))}, got {describe((w, b))}")
    y = X @ w_true + b_true + rng.normal(size=64)
    A = np.column_stack([X, np.ones(64)])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    best = float(np.mean((A @ theta - y) ** 2))
    case = "hidden: noisy data, batch_size 8, lr 0.01, 100 epochs: loss within 2% of the least-squares loss"
    w, b, losses = run_sgd(fn, case, X=X, y=y, lr=0.01, batch_size=8, epochs=100, rng=np.random.default_rng(5))
    if not (losses[-1] < 1.02 * best and agree(losses[-1], linear_regression_loss(X, y, w, b))):
        raise CheckFailure(f"{name}, case '{case}': least-squares loss {best:.6f}; final loss {losses[-1]:.6f}, "
                           f"loss at the returned (w, b) {linear_regression_loss(X, y, w, b):.6f}")


HIDDEN = {
    "numerical_gradient": _numgrad_cases,
    "linear_regression_loss": _regression_cases,
    "linear_regression_grad": _regression_cases,
    "gradient_descent": _gd_cases,
}

HIDDEN_CUSTOM = {
    "minibatch_indices": _hidden_minibatch_indices,
    "sgd_linear_regression": _hidden_sgd_linear_regression,
}


def stored_numbers():
    """The visible sgd_linear_regression check's numbers, from the reference (written by build_checks)."""
    w, b, losses = sgd_linear_regression(X=X_A, y=Y_A, **FULL_BATCH_RUN, rng=np.random.default_rng(0))
    return {"sgd_linear_regression": {"full_batch": {"w": w, "b": b, "losses": losses},
                                      "zero_model_loss": linear_regression_loss(X_A, Y_A, np.zeros(2), 0.0)}}
