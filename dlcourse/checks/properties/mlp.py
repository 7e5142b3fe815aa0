"""Property checks for chapter 08 (the NumPy MLP capstone).

All three graded functions draw random numbers, so they are checked by what every
correct implementation satisfies, never by one exact stream of draws:

- ``sample_log_uniform``: bounds, sizes, reproducibility from the ``rng`` argument, and the
  distribution of log(x), which must be uniform (mean, variance and a Kolmogorov-Smirnov
  distance, each allowed 5 standard errors, so a correct sampler fails about once in a
  million runs);
- ``random_search``: n_trials (params, score) pairs, best first, parameters inside the space
  and distributed as specified, scores equal to the objective, more trials never worse;
- ``train_mlp``: the history's format, the schedule's rates (stored numbers), early stopping
  and the restored best weights, reproducibility, and that it learns a simple problem;
- then, for all three, small exact cases whose outputs build_checks stores (the docstrings fix
  every draw): size-1 shapes, each kind of the search space and the order of ties, and
  ``train_mlp`` step by step on a tiny problem against the reference's history and weights.

Each check raises :class:`~dlcourse.checks.runner.CheckFailure` with a message naming the
check and, where it is recognizable, the mistake; it returns the number of checks run.
The hidden tests call the same functions with other seeds and more cases.
"""

import math

import numpy as np

from dlcourse.checks.compare import agree, describe, matching_mistake, mismatch
from dlcourse.checks.functions import bowl_objective, bowl_objective_nan_small_batches
from dlcourse.checks.properties import stored
from dlcourse.checks.runner import CheckFailure, call_learner, run_case

SIGMAS = 5.0  # allowed deviation of a statistic, in standard errors


def _call(fn, name, case, **inputs):
    """fn(**inputs); any exception but NotImplementedError becomes a CheckFailure naming the case."""
    try:
        return call_learner(fn, name, case, inputs)
    except CheckFailure:
        raise
    except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
        raise CheckFailure(f"{name}, case '{case}': raised {type(err).__name__}: {err}") from None


def _expect_value_error(fn, name, case, hint="", **inputs):
    try:
        got = call_learner(fn, name, case, inputs)
    except CheckFailure:
        raise
    except ValueError:
        return
    except Exception as err:  # noqa: BLE001
        raise CheckFailure(f"{name}, case '{case}': expected a ValueError, but it raised "
                           f"{type(err).__name__}: {err}") from None
    raise CheckFailure(f"{name}, case '{case}': expected a ValueError, but it returned {describe(got)}.{hint}")


def _fail(name, case, message):
    raise CheckFailure(f"{name}, case '{case}': {message}")


def _ks_distance(u):
    """Kolmogorov-Smirnov distance between the sample ``u`` and U(0, 1)."""
    u = np.sort(np.asarray(u, dtype=np.float64))
    n = u.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))


def _ks_limit(n):
    """KS distance exceeded with probability ~1e-6 by a correct sampler of n draws (asymptotic)."""
    return math.sqrt(-0.5 * math.log(0.5e-6) / n)


# --------------------------------------------------------------------------- sample_log_uniform

SAMPLE_RANGES = ((1e-4, 1e-1), (2.0, 3.0))


def _as_draws(got, name, case, shape):
    if not isinstance(got, np.ndarray):
        _fail(name, case, f"returned a {type(got).__name__}, expected a float64 array of shape {shape}"
                          + ("\n  Your output matches ignoring size (always one number)." if np.ndim(got) == 0 else ""))
    if got.shape != shape:
        _fail(name, case, f"returned shape {got.shape}, expected {shape}")
    return got.astype(np.float64)


def sample_log_uniform_properties(fn, seed=0, ranges=SAMPLE_RANGES, n=20_000):
    """Check a learner's sample_log_uniform(low, high, rng, size=None); returns the number of checks."""
    name = "sample_log_uniform"
    count = 0
    rng_of = lambda k: np.random.default_rng(seed + k)  # noqa: E731

    # a single draw: a number inside the bounds
    one = _call(fn, name, "size=None", low=1e-3, high=1.0, rng=rng_of(0))
    if np.ndim(one) != 0 or isinstance(one, (str, bytes)):
        _fail(name, "size=None", f"returned {describe(one)}; with size=None return one number (a float)")
    if not 1e-3 <= float(one) <= 1.0:
        hint = " Your output matches returning log(x), the uniform draw, instead of exp of it." \
            if math.log(1e-3) <= float(one) <= 0.0 else ""
        _fail(name, "size=None", f"returned {float(one)!r}, outside [1e-3, 1].{hint}")
    count += 1

    # sizes
    for size, shape in ((5, (5,)), ((2, 3), (2, 3))):
        got = _call(fn, name, f"size={size}", low=1e-3, high=1.0, rng=rng_of(1), size=size)
        _as_draws(got, name, f"size={size}", shape)
        count += 1

    for low, high in ranges:
        case = f"{n} draws from [{low:g}, {high:g}]"
        x = _as_draws(_call(fn, name, case, low=low, high=high, rng=rng_of(2), size=n), name, case, (n,))
        a, b = math.log(low), math.log(high)
        tol = 1e-12 * max(abs(low), abs(high))
        if np.any(~np.isfinite(x)):
            _fail(name, case, "some draws are NaN or infinite")
        if x.min() < low - tol or x.max() > high + tol:
            hint = ""
            if x.min() >= min(a, b) - 1e-12 and x.max() <= max(a, b) + 1e-12:
                hint = " Your output matches returning log(x), the uniform draw, instead of exp of it."
            elif np.all((x >= 10 ** a - tol) & (x <= 10 ** b + tol)):
                hint = " Your output matches 10 ** U(ln low, ln high) (natural logs, base-10 power)."
            _fail(name, case, f"draws range over [{x.min():.6g}, {x.max():.6g}], outside [{low:g}, {high:g}].{hint}")
        count += 1
        logs = np.log(x)
        mean_se = (b - a) / math.sqrt(12 * n)
        var_se = (b - a) ** 2 * math.sqrt(1 / 180 / n)
        ks, ks_max = _ks_distance((logs - a) / (b - a)), _ks_limit(n)
        uniform_like = abs(x.mean() - (low + high) / 2) <= SIGMAS * (high - low) / math.sqrt(12 * n)
        hint = " Your output matches uniform sampling on [low, high] instead of log-uniform." if uniform_like else ""
        if abs(logs.mean() - (a + b) / 2) > SIGMAS * mean_se:
            _fail(name, case, f"the mean of log(x) is {logs.mean():.5f}; a log-uniform sampler gives (log low + log high)/2 "
                              f"= {(a + b) / 2:.5f} within {SIGMAS * mean_se:.5f} (5 standard errors).{hint}")
        if abs(logs.var() - (b - a) ** 2 / 12) > SIGMAS * var_se:
            _fail(name, case, f"the variance of log(x) is {logs.var():.5f}; a log-uniform sampler gives "
                              f"(log high - log low)^2 / 12 = {(b - a) ** 2 / 12:.5f} within {SIGMAS * var_se:.5f}.{hint}")
        if ks > ks_max:
            _fail(name, case, f"log(x) is not uniform on [log low, log high]: Kolmogorov-Smirnov distance {ks:.4f} > "
                              f"{ks_max:.4f}.{hint}")
        count += 3

    # the rng argument is the only source of randomness
    first = _call(fn, name, "the same seed twice", low=1e-4, high=1.0, rng=rng_of(3), size=50)
    second = _call(fn, name, "the same seed twice", low=1e-4, high=1.0, rng=rng_of(3), size=50)
    if not np.array_equal(np.asarray(first), np.asarray(second)):
        _fail(name, "the same seed twice", "two generators with the same seed gave different draws: draw only from "
                                           "`rng` (rng.uniform, ...), never from np.random. Your output matches "
                                           "drawing from np.random instead of the rng argument.")
    other = _call(fn, name, "another seed", low=1e-4, high=1.0, rng=rng_of(4), size=50)
    if np.array_equal(np.asarray(first), np.asarray(other)):
        _fail(name, "another seed", "generators with different seeds gave the same draws")
    count += 2

    # a degenerate interval and bad bounds
    same = _call(fn, name, "low == high", low=0.5, high=0.5, rng=rng_of(5), size=4)
    if not np.allclose(np.asarray(same, dtype=np.float64), 0.5, rtol=1e-12, atol=0):
        _fail(name, "low == high", f"returned {describe(same)}, expected every draw to be 0.5")
    count += 1
    for low, high, why in ((0.0, 1.0, "low = 0"), (-1.0, 1.0, "low < 0"), (1.0, 0.1, "high < low")):
        hint = " Your output matches no ValueError for low <= 0." if low <= 0 else ""
        _expect_value_error(fn, name, f"{why} (low={low}, high={high})", hint=hint, low=low, high=high, rng=rng_of(6))
        count += 1
    return count


# --------------------------------------------------------------------------- random_search

SEARCH_SPACE = {
    "lr": ("log_uniform", 1e-4, 1e-1),
    "batch_size": ("int_log_uniform", 8, 512),
    "momentum": ("uniform", 0.8, 0.99),
    "hidden": ("choice", [(64,), (128, 64)]),
}


class _Counting:
    """bowl_objective that records how it was called."""

    def __init__(self, fn=bowl_objective):
        self.fn = fn
        self.calls = []

    def __call__(self, params):
        self.calls.append(dict(params))
        return self.fn(params)


def _results(got, name, case, n_trials, space):
    if not isinstance(got, (list, tuple)):
        _fail(name, case, f"returned a {type(got).__name__}; expected a list of (params, score) pairs")
    if len(got) != n_trials:
        extra = " Your output matches only the best trial returned." if len(got) == 1 else ""
        _fail(name, case, f"returned {len(got)} results for n_trials={n_trials}; return every trial.{extra}")
    for i, item in enumerate(got):
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], dict)):
            _fail(name, case, f"result {i} is {describe(item)}; each result must be a (params dict, score) pair")
        if set(item[0]) != set(space):
            _fail(name, case, f"result {i} has parameters {sorted(item[0])}, expected {sorted(space)}")
    return [(dict(p), float(s)) for p, s in got]


def _inside(params, space):
    """None if params lie in the space, else a reason."""
    for key, spec in space.items():
        value = params[key]
        kind = spec[0]
        if kind == "choice":
            if not any(value == option for option in spec[1]):
                return f"{key}={value!r} is not one of {spec[1]}"
        elif kind == "int_log_uniform":
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                return f"{key}={value!r} should be an int ({kind})"
            if not spec[1] <= value <= spec[2]:
                return f"{key}={value} is outside [{spec[1]}, {spec[2]}]"
        else:
            tol = 1e-12 * abs(spec[2])
            if not spec[1] - tol <= float(value) <= spec[2] + tol:
                return f"{key}={value!r} is outside [{spec[1]}, {spec[2]}]"
    return None


def _ranked_best_first(scores):
    """True when the scores are sorted best first with NaN last."""
    finite = [s for s in scores if not math.isnan(s)]
    k = len(finite)
    return all(math.isnan(s) for s in scores[k:]) and scores[:k] == finite and \
        all(a >= b for a, b in zip(finite, finite[1:]))


def random_search_properties(fn, seed=0, n_trials=25, n_many=400):
    """Check a learner's random_search(objective, space, n_trials, rng); returns the number of checks."""
    name = "random_search"
    count = 0
    space = SEARCH_SPACE

    # one search: format, count, bounds, scores, order
    case = f"{n_trials} trials of bowl_objective"
    objective = _Counting()
    got = _call(fn, name, case, objective=objective, space=space, n_trials=n_trials, rng=np.random.default_rng(seed))
    results = _results(got, name, case, n_trials, space)
    if len(objective.calls) != n_trials:
        _fail(name, case, f"the objective was called {len(objective.calls)} times; call it once per trial "
                          f"({n_trials} times)")
    count += 2
    for params, score in results:
        reason = _inside(params, space)
        if reason:
            _fail(name, case, f"a trial's parameters lie outside the space: {reason}")
        if not math.isclose(score, bowl_objective(params), rel_tol=1e-12, abs_tol=1e-12):
            _fail(name, case, f"the score {score!r} of {params} is not objective(params) = {bowl_objective(params)!r}")
    count += 2
    distinct = {p["lr"] for p, _ in results}
    if len(distinct) == 1:
        _fail(name, case, "every trial has the same parameters; draw new ones in every trial. Your output matches "
                          "parameters sampled once and reused in every trial.")
    count += 1
    scores = [s for _, s in results]
    if not _ranked_best_first(scores):
        if _ranked_best_first(scores[::-1]):
            hint = " Your output matches results sorted worst first (higher scores are better)."
        else:
            hint = " Your output matches results in trial order, not sorted by score."
        _fail(name, case, f"the results are not sorted best (highest score) first: scores {describe(scores)}.{hint}")
    count += 1

    # reproducible from the rng alone
    again = _results(_call(fn, name, "the same seed twice", objective=bowl_objective, space=space, n_trials=n_trials,
                           rng=np.random.default_rng(seed)), name, "the same seed twice", n_trials, space)
    if [p for p, _ in again] != [p for p, _ in results]:
        _fail(name, "the same seed twice", "two generators with the same seed gave different trials; draw only "
                                           "from `rng`")
    count += 1

    # NaN scores rank last
    case = "an objective that returns NaN for batch_size < 32"
    nan_objective = bowl_objective_nan_small_batches
    got = _results(_call(fn, name, case, objective=nan_objective, space=space, n_trials=n_trials,
                         rng=np.random.default_rng(seed + 1)), name, case, n_trials, space)
    scores = [s for _, s in got]
    if not _ranked_best_first(scores):
        _fail(name, case, f"scores {describe(scores)}: a NaN score (a diverged trial) must rank last, the numbers "
                          "best first. Python's sorted() does not do that by itself: NaN compares False with "
                          "everything. Your output matches sorted() on raw scores, so a NaN score breaks the ranking.")
    count += 1

    # the draws follow the space's distributions
    case = f"{n_many} trials: distribution of the draws"
    got = _results(_call(fn, name, case, objective=bowl_objective, space=space, n_trials=n_many,
                         rng=np.random.default_rng(seed + 2)), name, case, n_many, space)
    lr = np.log10([p["lr"] for p, _ in got])
    se = 3.0 / math.sqrt(12 * n_many)
    if abs(lr.mean() + 2.5) > SIGMAS * se:
        _fail(name, case, f"mean of log10(lr) is {lr.mean():.3f}; log-uniform on [1e-4, 1e-1] gives -2.5 within "
                          f"{SIGMAS * se:.3f}. Your output matches uniform (not log-uniform) sampling of the "
                          "log-scale parameters.")
    small = np.mean([p["batch_size"] <= 63 for p, _ in got])
    expected_small = math.log(64 / 8) / math.log(513 / 8)  # floor(exp(U(log 8, log 513))) <= 63
    se = math.sqrt(expected_small * (1 - expected_small) / n_many)
    if abs(small - expected_small) > SIGMAS * se:
        uniform_small = (63 - 8 + 1) / (512 - 8 + 1)  # rng.integers(8, 513) <= 63
        hint = (" Your output matches int_log_uniform drawn uniformly over the integers (rng.integers(low, high + 1))."
                if abs(small - uniform_small) <= SIGMAS * math.sqrt(uniform_small * (1 - uniform_small) / n_many)
                else "")
        _fail(name, case, f"{small:.3f} of the batch sizes are <= 63; int_log_uniform on [8, 512] gives "
                          f"{expected_small:.3f} within {SIGMAS * se:.3f} (floor(exp(U(log 8, log 513)))).{hint}")
    momentum = np.array([p["momentum"] for p, _ in got])
    se = 0.19 / math.sqrt(12 * n_many)
    if abs(momentum.mean() - 0.895) > SIGMAS * se:
        _fail(name, case, f"mean momentum {momentum.mean():.4f}; uniform on [0.8, 0.99] gives 0.895 within {SIGMAS * se:.4f}")
    share = np.mean([p["hidden"] == (64,) for p, _ in got])
    if abs(share - 0.5) > SIGMAS * math.sqrt(0.25 / n_many):
        _fail(name, case, f"'choice' picked the first of two values in {share:.3f} of the trials, expected 0.5")
    count += 4

    # more trials never worse: on average over 40 seeds, so that it holds for any correct sampler and any
    # order of draws (the mean best grows by ~0.54 from 2 to 8 trials and ~0.18 from 8 to 64, both with a
    # standard deviation of ~0.1 and ~0.03 over sets of 40 seeds)
    bests = {}
    for n in (2, 8, 64):
        values = []
        for s in range(40):
            got = _results(_call(fn, name, f"{n} trials", objective=bowl_objective, space=space, n_trials=n,
                                 rng=np.random.default_rng(seed + 100 + s)), name, f"{n} trials", n, space)
            values.append(max(score for _, score in got))
        bests[n] = float(np.mean(values))
    if not bests[2] < bests[8] < bests[64]:
        _fail(name, "more trials", f"the mean best score over 40 seeds should grow with n_trials, got {bests}")
    count += 1

    # bad input
    _expect_value_error(fn, name, "n_trials = 0", objective=bowl_objective, space=space, n_trials=0,
                        rng=np.random.default_rng(seed))
    _expect_value_error(fn, name, "an unknown kind 'loguniform'", objective=bowl_objective,
                        space={"lr": ("loguniform", 1e-4, 1e-1)}, n_trials=3, rng=np.random.default_rng(seed))
    count += 2
    return count


# --------------------------------------------------------------------------- train_mlp

# Four epochs of 6 steps (96 examples, batch 16) with lr = 0.01 and no early stopping: build_checks
# stores the reference's history['lr'] for each schedule (cosine decay over 24 steps; step decay with
# step_every = 2, step_drop = 0.1; constant), and the cosine rates of each epoch's last step.
SCHEDULE_RUN = {"hidden": (16,), "epochs": 4, "batch_size": 16, "lr": 0.01, "patience": None, "step_every": 2,
                "step_drop": 0.1}
SCHEDULES = ("cosine", "step", "constant")
HISTORY_LISTS = ("train_loss", "val_loss", "val_acc", "lr")


def blobs(seed, n_train=96, n_val=48, d=5, k=3, spread=4.0, random_labels=False):
    """A small classification problem: k Gaussian clusters in d dimensions (or random labels)."""
    rng = np.random.default_rng(seed)
    centers = spread * rng.normal(size=(k, d))
    y = np.concatenate([np.arange(k), rng.integers(0, k, size=n_train + n_val - k)])  # every class present
    X = centers[y] + rng.normal(size=(y.size, d))
    if random_labels:
        X, y = rng.normal(size=(y.size, d)), rng.integers(0, k, size=y.size)
        y[:k] = np.arange(k)
    return X[:n_train], y[:n_train].astype(np.int64), X[n_train:], y[n_train:].astype(np.int64)


def _train(fn, case, data, config, seed):
    X, y, Xv, yv = data
    got = _call(fn, "train_mlp", case, X_train=X, y_train=y, X_val=Xv, y_val=yv, config=dict(config),
                rng=np.random.default_rng(seed))
    return check_history(got, case, config.get("epochs", 30))


def check_history(got, case, max_epochs):
    """(model, history) after checking the format of train_mlp's result; returns the number of epochs run too."""
    name = "train_mlp"
    if not (isinstance(got, tuple) and len(got) == 2):
        _fail(name, case, f"returned {describe(got)}; expected a (model, history) tuple")
    model, history = got
    if not isinstance(history, dict):
        _fail(name, case, f"history is a {type(history).__name__}, expected a dict")
    missing = [k for k in (*HISTORY_LISTS, "best_epoch") if k not in history]
    if missing:
        _fail(name, case, f"history lacks the keys {missing}")
    lengths = {k: len(history[k]) for k in HISTORY_LISTS}
    epochs = lengths["train_loss"]
    if len(set(lengths.values())) != 1 or not 1 <= epochs <= max_epochs:
        _fail(name, case, f"history lists must have one entry per epoch run (1 to {max_epochs}), got lengths {lengths}")
    best = history["best_epoch"]
    if isinstance(best, bool) or not isinstance(best, (int, np.integer)) or not 0 <= best < epochs:
        _fail(name, case, f"history['best_epoch'] = {best!r}; expected the 0-based index of an epoch run (< {epochs})")
    for key in HISTORY_LISTS:
        values = np.asarray(history[key], dtype=np.float64)
        if key != "train_loss" and not np.all(np.isfinite(values)):
            _fail(name, case, f"history[{key!r}] has NaN or inf: {describe(values)}")
    if not all(0.0 <= a <= 1.0 for a in history["val_acc"]):
        _fail(name, case, "history['val_acc'] must hold accuracies in [0, 1]")
    if not hasattr(model, "predict"):
        _fail(name, case, f"the model ({type(model).__name__}) has no predict method")
    return model, history, epochs


def check_predictions(model, X, n_classes, case):
    """model.predict(X) must be integer class ids of shape (n,)."""
    pred = model.predict(X)
    if not isinstance(pred, np.ndarray) or pred.shape != (X.shape[0],):
        _fail("train_mlp", case, f"model.predict(X) returned {describe(pred)}; expected an array of shape ({X.shape[0]},)")
    if not np.issubdtype(pred.dtype, np.integer):
        _fail("train_mlp", case, f"model.predict(X) has dtype {pred.dtype}; expected integer class ids (np.argmax)")
    if pred.min() < 0 or pred.max() >= n_classes:
        _fail("train_mlp", case, f"model.predict(X) gave classes outside 0..{n_classes - 1}")
    return pred


MISTAKE_CONSTANT_RATE = "a constant learning rate (config['schedule'] ignored)"
MISTAKE_COSINE_RESTARTS = "a cosine schedule restarting every epoch instead of running over all epochs"
MISTAKE_LAST_RATE = "history['lr'] holding each epoch's last rate instead of its first"


def _logs_rates(fn, data, seed, schedule, rates_of):
    """Does fn's history['lr'] hold the stored rates of ``schedule`` on the schedule run?"""
    case = f"4 epochs, batch 16 of 96 examples, schedule '{schedule}', patience None"
    history = _train(fn, case, data, {**SCHEDULE_RUN, "schedule": schedule}, seed)[1]
    return np.allclose([float(r) for r in history["lr"]], rates_of[schedule], rtol=1e-9, atol=0)


def train_mlp_properties(fn, seed=0):
    """Check a learner's train_mlp(X_train, y_train, X_val, y_val, config, rng); returns the number of checks."""
    name = "train_mlp"
    count = 0
    data = blobs(1000 + seed)
    X, y, Xv, yv = data
    originals = [a.copy() for a in data]

    for bad in ({"hiden": (8,)}, {"dropout": 1.0}):
        _expect_value_error(fn, name, f"config {bad}", X_train=X, y_train=y, X_val=Xv, y_val=yv, config=bad,
                            rng=np.random.default_rng(seed))
        count += 1

    # four epochs without early stopping: the schedules' rates, the format, predictions
    rates_of = stored_numbers()["schedule_rates"]
    for schedule in SCHEDULES:
        config, rates = {**SCHEDULE_RUN, "schedule": schedule}, rates_of[schedule]
        case = f"4 epochs, batch 16 of 96 examples, schedule '{schedule}', patience None"
        model, history, epochs = _train(fn, case, data, config, seed)
        if epochs != 4:
            _fail(name, case, f"ran {epochs} epochs; with patience None it must run all {config['epochs']}")
        got = [float(r) for r in history["lr"]]
        if not np.allclose(got, rates, rtol=1e-9, atol=0):
            hint = ""
            if schedule != "constant" and np.allclose(got, SCHEDULE_RUN["lr"]):
                # a cosine restarting every epoch also starts every epoch at lr; it gets the step schedule right
                restarts = schedule == "cosine" and _logs_rates(fn, data, seed, "step", rates_of)
                hint = f" Your output matches {MISTAKE_COSINE_RESTARTS if restarts else MISTAKE_CONSTANT_RATE}."
            elif schedule == "cosine" and np.allclose(got, rates_of["cosine, each epoch's last step"], rtol=1e-9,
                                                      atol=0):
                hint = f" Your output matches {MISTAKE_LAST_RATE}."
            _fail(name, case, f"history['lr'] = {describe(got)}, expected {rates} (the rate of each epoch's first "
                              f"step).{hint}")
        count += 2
        check_predictions(model, Xv, 3, case)
        count += 1
    for original, now in zip(originals, data):
        if not np.array_equal(original, now):
            _fail(name, "inputs", "train_mlp modified its input arrays in place; work on copies")
    count += 1

    # it learns, keeps the best epoch's weights, and is reproducible
    config = {"hidden": (32,), "epochs": 25, "batch_size": 16, "lr": 0.01, "patience": 5}
    case = "3 well-separated clusters, 25 epochs, patience 5"
    model, history, epochs = _train(fn, case, data, config, seed)
    val_loss = np.asarray(history["val_loss"], dtype=np.float64)
    if history["best_epoch"] != int(np.argmin(val_loss)):
        _fail(name, case, f"history['best_epoch'] = {history['best_epoch']}, but the lowest val_loss is at epoch "
                          f"{int(np.argmin(val_loss))}: {describe(val_loss)}")
    acc = float(np.mean(check_predictions(model, Xv, 3, case) == yv))
    if not math.isclose(acc, history["val_acc"][history["best_epoch"]], abs_tol=1e-12):
        _fail(name, case, f"the returned model has val accuracy {acc:.4f}, but history says {history['val_acc']} "
                          f"and best_epoch {history['best_epoch']}: return the best epoch's weights.")
    if acc < 0.9:
        _fail(name, case, f"val accuracy {acc:.3f} on an easy problem (>= 0.9 expected): is the model learning?")
    if not history["train_loss"][-1] < history["train_loss"][0]:
        _fail(name, case, f"train_loss did not go down: {describe(history['train_loss'])}")
    count += 4
    again = _train(fn, case + ", same seed again", data, config, seed)[1]
    if any(not np.array_equal(np.asarray(again[k], dtype=np.float64), np.asarray(history[k], dtype=np.float64))
           for k in HISTORY_LISTS):
        _fail(name, case, "two runs with the same seed gave different histories: draw every random number "
                          "(initialization, shuffling, dropout) from `rng`")
    count += 1

    # early stopping on noise, with the best weights restored
    noise = blobs(2000 + seed, n_train=40, n_val=40, d=10, random_labels=True)
    config = {"epochs": 200, "lr": 0.05, "patience": 3, "schedule": "constant", "l2": 0.0}
    case = "random labels, lr 0.05, patience 3 (the val loss soon rises)"
    model, history, epochs = _train(fn, case, noise, config, seed)
    best = history["best_epoch"]
    if epochs == 200:
        _fail(name, case, "early stopping never stopped training")
    if epochs != best + 1 + 3:
        hint = " Your output matches stopping at the first epoch without improvement (patience ignored)." \
            if epochs == best + 2 else ""
        _fail(name, case, f"stopped after {epochs} epochs with the best at epoch {best}; with patience 3 training "
                          f"stops 3 epochs after the best one ({best + 4} epochs, as Keras).{hint}")
    if hasattr(model, "loss"):
        restored = float(model.loss(noise[2], noise[3]))
        if not math.isclose(restored, history["val_loss"][best], rel_tol=1e-9):
            last = history["val_loss"][-1]
            hint = " Your output matches keeping the last epoch's weights instead of restoring the best epoch's." \
                if math.isclose(restored, last, rel_tol=1e-9) else ""
            _fail(name, case, f"the returned model's val loss is {restored:.6f}, but the best epoch's was "
                              f"{history['val_loss'][best]:.6f}: restore the best epoch's weights.{hint}")
    acc = float(np.mean(model.predict(noise[2]) == noise[3]))
    if not math.isclose(acc, history["val_acc"][best], abs_tol=1e-12):
        _fail(name, case, f"the returned model's val accuracy is {acc:.4f}, history['val_acc'][best_epoch] is "
                          f"{history['val_acc'][best]:.4f}: restore the best epoch's weights. Your output matches "
                          "keeping the last epoch's weights instead of restoring the best epoch's.")
    count += 3

    # batch norm and dropout: trains, reproducible, predictions deterministic
    config = {"hidden": (16, 8), "batchnorm": True, "dropout": 0.3, "epochs": 3, "patience": None}
    case = "batch norm and dropout 0.3, 3 epochs"
    model, history, _ = _train(fn, case, data, config, seed)
    again = _train(fn, case + ", same seed again", data, config, seed)[1]
    if not np.array_equal(np.asarray(again["train_loss"], dtype=np.float64),
                          np.asarray(history["train_loss"], dtype=np.float64)):
        _fail(name, case, "two runs with the same seed gave different train losses: draw dropout masks from `rng`")
    first = check_predictions(model, Xv, 3, case)
    if not np.array_equal(first, model.predict(Xv)):
        _fail(name, case, "model.predict gave different answers twice: no dropout at inference")
    count += 2
    return count


# --------------------------------------------------------------------------- exact cases
# The docstrings fix every draw (sample_log_uniform: rng.uniform(log low, log high, size); random_search:
# the space in dict order, one draw per parameter; train_mlp: initialization in MLP's order, then
# rng.permutation each epoch, dropout masks in the forward pass), so on small cases a learner's output
# must equal the reference's. These cases, their outputs and those of the known mistakes are stored by
# build_checks; they show what the statistical checks above cannot (shapes of size-1 draws, each kind of
# the search space, tie order, and train_mlp's training contract step by step).
CHAPTER = "08_numpy_mlp_capstone"


def stored_numbers():
    """The stored numbers of this chapter's checks (schedule rates, exact cases)."""
    return stored(CHAPTER)


def seeded_cases(fn, name, cases=None):
    """Run the stored exact cases of ``name``: fn(**inputs, rng=default_rng(seed)) against the expected output,
    a failure naming the known mistake it matches. Returns the number of cases."""
    cases = stored_numbers()[name] if cases is None else cases
    for case in cases:
        run_case(fn, name, case["name"], {**case["inputs"], "rng": np.random.default_rng(case["seed"])},
                 case["expected"], case["mistakes"])
    return len(cases)


BN_STATISTICS = ("running_mean", "running_var")


def trained_result(model, history):
    """Plain data of a trained result: the history, the parameters and the batch-norm running statistics."""
    bn = getattr(model, "bn_params", None)
    if bn is not None:
        bn = [{k: b[k] for k in BN_STATISTICS if k in b} if isinstance(b, dict) else b for b in bn]
    return {"history": history, "params": getattr(model, "params", None), "bn_params": bn}


def compare_trained(fn, case, data, config, seed, expected, accepted, mistakes):
    """The learner's train_mlp on ``data`` = (X_train, y_train, X_val, y_val) with ``config`` and
    default_rng(seed) must give the ``expected`` trained result (or one of ``accepted``, other correct
    variants); a failure names the known mistake whose result it matches."""
    got = _call(fn, "train_mlp", case, X_train=data[0], y_train=data[1], X_val=data[2], y_val=data[3],
                config=dict(config), rng=np.random.default_rng(seed))
    model, history, _ = check_history(got, case, config["epochs"])
    got = trained_result(model, history)
    if agree(got, expected) or any(agree(got, ok) for ok in accepted):
        return
    lines = [f"train_mlp, case '{case}': {mismatch(got, expected, where='the trained result')}",
             f"  config: {config}",
             f"  expected history: {describe(expected['history'])}",
             f"  got history:      {describe(got['history'])}"]
    mistake = matching_mistake(got, mistakes)
    if mistake:
        lines.append(f"  Your output matches {mistake}.")
    raise CheckFailure("\n".join(lines))


def train_mlp_step_by_step(fn):
    """The stored tiny-problem runs: the learner's history, parameters and restored state against the reference's."""
    runs = stored_numbers()["train_mlp"]
    for case in runs["cases"]:
        compare_trained(fn, case["name"], runs["data"], case["config"], runs["seed"], case["expected"],
                        case["accepted"], case["mistakes"])
    return len(runs["cases"])


# Named here and in the catalogue of known mistakes (which takes the text from here).
MISTAKE_FLOAT_FOR_SIZE_ONE = "a float instead of an array of shape (1,) when size asks for one draw"


def size_one_shapes(fn, seed=0):
    """With size=1 or (1, 1), sample_log_uniform returns an array of that shape, not a number (the stored
    exact cases compare values, and one number equals an array of one)."""
    name = "sample_log_uniform"
    for size, shape in ((1, (1,)), ((1, 1), (1, 1))):
        case = f"size={size!r}"
        got = _call(fn, name, case, low=1e-3, high=10.0, rng=np.random.default_rng(seed), size=size)
        if not isinstance(got, np.ndarray) or got.shape != shape:
            hint = f" Your output matches {MISTAKE_FLOAT_FOR_SIZE_ONE}." if size == 1 and np.ndim(got) == 0 \
                and not isinstance(got, np.ndarray) else ""
            _fail(name, case, f"returned {describe(got)}; with size={size!r} return a float64 array of shape "
                              f"{shape}.{hint}")
    return 2


PROPERTY_CHECKS = {
    "sample_log_uniform": lambda fn: sample_log_uniform_properties(fn) + seeded_cases(fn, "sample_log_uniform")
    + size_one_shapes(fn),
    "random_search": lambda fn: random_search_properties(fn) + seeded_cases(fn, "random_search"),
    "train_mlp": lambda fn: train_mlp_properties(fn) + train_mlp_step_by_step(fn),
}
