"""Property checks for chapter 02: the functions whose output depends on how ``rng`` is used.

``minibatch_indices`` and ``sgd_linear_regression`` may use the random generator in any valid
way (``rng.permutation``, ``rng.shuffle``, ``rng.choice(..., replace=False)``, ...), so they are
checked by what every correct implementation satisfies: every index exactly once, the batch sizes,
a shuffled order, the same output for the same seed, and, for SGD, stored numbers where the
result does not depend on the shuffle (a full batch, a zero learning rate).
"""

import numpy as np

from dlcourse.checks.compare import agree, describe
from dlcourse.checks.properties import stored
from dlcourse.checks.runner import CheckFailure, call_learner

# ----------------------------------------------------------------------------- minibatch_indices
MB = "minibatch_indices"
MB_SIZES = [(10, 3), (10, 5), (7, 1), (5, 8), (1, 1), (12, 12), (100, 32)]


def epoch(fn, n, batch_size, rng, case):
    """The learner's batches as a list of 1-D integer arrays, or a CheckFailure saying what is off."""
    out = call_learner(fn, MB, case, {"n": n, "batch_size": batch_size, "rng": rng})
    header = f"{MB}, case '{case}'"
    if out is None:
        raise CheckFailure(f"{header}: returned None (did the function forget to return?)")
    try:
        batches = [np.asarray(b) for b in out]
    except TypeError:
        raise CheckFailure(f"{header}: expected a list of integer arrays, got {describe(out)}") from None
    for i, b in enumerate(batches):
        if b.ndim != 1:
            raise CheckFailure(f"{header}: batch {i} has shape {b.shape}; each batch must be a 1-D array of indices")
        if b.size and not np.issubdtype(b.dtype, np.integer):
            raise CheckFailure(f"{header}: batch {i} has dtype {b.dtype}; indices must be integers (usable as X[batch])")
    return batches


def check_epoch_structure(batches, n, batch_size, case):
    """Every index in range(n) exactly once, ceil(n / batch_size) batches of the right sizes."""
    header = f"{MB}, case '{case}'"
    sizes = [len(b) for b in batches]
    expected_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    flat = np.concatenate(batches) if batches else np.array([], dtype=int)
    if flat.size < n and sizes == expected_sizes[:len(sizes)] and len(sizes) == n // batch_size:
        raise CheckFailure(f"{header}: the batches hold {flat.size} of the {n} indices (sizes {sizes}, expected "
                           f"{expected_sizes}).\n  Your output matches the last, smaller batch dropped: keep it, "
                           "so that every sample is used once per epoch.")
    if np.unique(flat).size < flat.size:
        values, counts = np.unique(flat, return_counts=True)
        raise CheckFailure(f"{header}: index {values[counts > 1][0]} appears {counts.max()} times in one epoch.\n"
                           "  Your output matches indices sampled with replacement: shuffle a permutation of "
                           "range(n) instead, so every index appears exactly once.")
    if not np.array_equal(np.sort(flat), np.arange(n)):
        missing = sorted(set(range(n)) - set(flat.tolist()))[:5]
        raise CheckFailure(f"{header}: every index of range({n}) must appear exactly once; "
                           f"missing e.g. {missing}, got {describe(flat)}")
    if sizes != expected_sizes:
        raise CheckFailure(f"{header}: batch sizes {sizes}, expected {expected_sizes} (all batch_size, "
                           "except possibly a smaller last one)")


def _order(batches):
    return tuple(np.concatenate(batches).tolist())


def check_minibatch_indices(fn, sizes=MB_SIZES, seeds=range(5)):
    """Visible property checks of ``minibatch_indices``; returns the number of checks run."""
    count = 0
    for n, batch_size in sizes:
        case = f"n={n}, batch_size={batch_size}"
        check_epoch_structure(epoch(fn, n, batch_size, np.random.default_rng(0), case), n, batch_size, case)
        count += 1
    case = "n=50, batch_size=8, seeds 0-4"
    orders = [_order(epoch(fn, 50, 8, np.random.default_rng(s), case)) for s in seeds]
    if all(order == tuple(range(50)) for order in orders):
        raise CheckFailure(f"{MB}, case '{case}': the indices come out as 0, 1, 2, ... for every seed.\n"
                           "  Your output matches batches in the original order (no shuffling): "
                           "draw a permutation with rng.")
    if len(set(orders)) < len(orders):
        raise CheckFailure(f"{MB}, case '{case}': different seeds gave the same order; shuffle with the rng "
                           "you are given (not np.random's global state, not a fixed seed).")
    count += 1
    case = "the same seed twice"
    again = _order(epoch(fn, 50, 8, np.random.default_rng(seeds[3]), case))
    if again != orders[3]:
        raise CheckFailure(f"{MB}, case '{case}': np.random.default_rng({seeds[3]}) gave two different epochs. "
                           "Use only the rng argument for randomness, so that a seed makes runs reproducible.")
    count += 1
    case = "two epochs from one rng"
    rng = np.random.default_rng(1)
    first, second = (_order(epoch(fn, 30, 4, rng, case)) for _ in range(2))
    if first == second:
        raise CheckFailure(f"{MB}, case '{case}': two calls with the same generator gave the same order; each "
                           "call must draw a fresh shuffle from rng (do not re-seed inside the function).")
    count += 1
    for n, batch_size, rng, what in [(0, 2, np.random.default_rng(0), "n = 0"),
                                     (5, 0, np.random.default_rng(0), "batch_size = 0"),
                                     (5, 2, 42, "rng = 42 (not a Generator)")]:
        try:
            got = fn(n=n, batch_size=batch_size, rng=rng)
        except ValueError:
            count += 1
            continue
        raise CheckFailure(f"{MB}, case '{what}': expected a ValueError for this bad input, got {describe(got)}")
    return count


# ----------------------------------------------------------------------------- sgd_linear_regression
SGD = "sgd_linear_regression"

# A small data set (6 samples, 2 features) that is not exactly linear.
X_A = np.array([[0.5, 1.0], [1.5, -0.5], [-1.0, 2.0], [2.0, 0.0], [0.0, -1.5], [1.0, 1.0]])
Y_A = np.array([2.0, 1.0, 4.5, 2.5, -1.0, 3.5])
# Full-batch gradient descent on (X_A, Y_A), lr = 0.1, 5 epochs (batch_size = 6): every epoch is one
# step on all the data, so the result does not depend on the shuffle. Its (w, b, losses) and the loss of
# w = 0, b = 0 are stored by `python -m autograder.build_checks` from the reference (stored_numbers()).
FULL_BATCH_RUN = {"lr": 0.1, "batch_size": 6, "epochs": 5}
CHAPTER = "02_gradient_descent"


def stored_numbers():
    """{"full_batch": {"w", "b", "losses"}, "zero_model_loss"}: the stored numbers of these checks."""
    return stored(CHAPTER)["sgd_linear_regression"]
# Exactly linear data: y = 1.5 x1 - 2 x2 + 0.5 for every sample, so every mini-batch gradient
# vanishes at the solution and SGD with a constant learning rate converges to it exactly.
X_B = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5], [0.5, -1.0], [2.0, 1.0], [-0.5, -0.5], [0.0, 2.0]])
W_B, B_B = np.array([1.5, -2.0]), 0.5
Y_B = X_B @ W_B + B_B


def run_sgd(fn, case, **inputs):
    """The learner's (w, b, losses), with the shapes checked; inputs must not be modified."""
    given = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in inputs.items()}
    out = call_learner(fn, SGD, case, given)
    header = f"{SGD}, case '{case}'"
    for name in ("X", "y"):
        if not np.array_equal(given[name], inputs[name]):
            raise CheckFailure(f"{header}: the function modified its input `{name}` in place; work on a copy instead.")
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise CheckFailure(f"{header}: expected a tuple (w, b, losses), got {describe(out)}")
    w, b, losses = out
    d, epochs = inputs["X"].shape[1], inputs["epochs"]
    w, losses = np.asarray(w, dtype=np.float64), np.asarray(losses, dtype=np.float64)
    if w.shape != (d,):
        raise CheckFailure(f"{header}: w has shape {w.shape}, expected ({d},)")
    if np.ndim(b) != 0:
        raise CheckFailure(f"{header}: b must be a single number, got shape {np.shape(b)}")
    if losses.shape != (epochs,):
        raise CheckFailure(f"{header}: losses has shape {losses.shape}, expected ({epochs},): one full-data loss "
                           "after each epoch")
    return w, float(b), losses


def _fail(case, what, expected, got, mistake=None):
    lines = [f"{SGD}, case '{case}': {what}", f"  expected: {describe(expected)}", f"  got:      {describe(got)}"]
    if mistake:
        lines.append(f"  Your output matches {mistake}.")
    raise CheckFailure("\n".join(lines))


def check_sgd_linear_regression(fn):
    """Visible property checks of ``sgd_linear_regression``; returns the number of checks run."""
    count = 0
    numbers = stored_numbers()
    full, zero_loss = numbers["full_batch"], numbers["zero_model_loss"]
    expected_losses = full["losses"]
    case = "batch_size = n is full-batch gradient descent (lr 0.1, 5 epochs)"
    w, b, losses = run_sgd(fn, case, X=X_A, y=Y_A, **FULL_BATCH_RUN, rng=np.random.default_rng(0))
    if not agree(losses, expected_losses) and agree(losses[1:], expected_losses[:-1]) \
            and agree(losses[0], zero_loss):
        _fail(case, "losses differ", expected_losses, losses,
              "the loss recorded before each epoch instead of after")
    if not agree((w, b, losses), (full["w"], full["b"], expected_losses)):
        _fail(case, "(w, b, losses) differ from 5 steps of gradient descent",
              (full["w"], full["b"], expected_losses), (w, b, losses))
    count += 1

    case = "lr = 0: nothing moves, and the loss is the full-data loss of w = 0, b = 0"
    w, b, losses = run_sgd(fn, case, X=X_A, y=Y_A, lr=0.0, batch_size=4, epochs=3, rng=np.random.default_rng(1))
    if not agree(losses, np.full(3, zero_loss)):
        _fail(case, "losses differ", np.full(3, zero_loss), losses,
              "the last mini-batch's loss recorded instead of the full-data loss")
    if not agree((w, b), (np.zeros(2), 0.0)):
        _fail(case, "w and b must stay at 0 when lr = 0", (np.zeros(2), 0.0), (w, b))
    count += 1

    case = "2 samples, batch_size 1, 2 epochs, seeds 0-59: 4 possible visiting orders"
    outcomes = set()
    for seed in range(60):
        w, b, _ = run_sgd(fn, case, X=np.array([[1.0], [2.0]]), y=np.array([1.0, 3.0]), lr=0.1, batch_size=1,
                          epochs=2, rng=np.random.default_rng(seed))
        outcomes.add((round(float(w[0]), 9), round(b, 9)))
    if len(outcomes) == 1:
        raise CheckFailure(f"{SGD}, case '{case}': the result never depends on the shuffle.\n"
                           "  Your output matches full-data gradients at every step (no mini-batch, as in article 004 §3.4.2): "
                           "use only X[batch], y[batch] for each step.")
    if len(outcomes) == 2:
        raise CheckFailure(f"{SGD}, case '{case}': only 2 different results over 60 seeds, expected all 4 "
                           "(each epoch visits the samples in its own random order).\n"
                           "  Your output matches one shuffle reused for every epoch: call minibatch_indices "
                           "once per epoch.")
    if len(outcomes) != 4:
        raise CheckFailure(f"{SGD}, case '{case}': {len(outcomes)} different results over 60 seeds, expected 4 "
                           f"(one per visiting order): {sorted(outcomes)}")
    count += 1

    case = "the same seed twice"
    runs = [run_sgd(fn, case, X=X_A, y=Y_A, lr=0.05, batch_size=2, epochs=3, rng=np.random.default_rng(7))
            for _ in range(2)]
    if not agree(runs[0], runs[1], rtol=0.0, atol=0.0):
        raise CheckFailure(f"{SGD}, case '{case}': two runs with np.random.default_rng(7) differ. Use only the rng "
                           "argument for randomness.")
    count += 1

    case = "exactly linear data, batch_size 3, lr 0.1, 300 epochs: converges to the true w and b"
    w, b, losses = run_sgd(fn, case, X=X_B, y=Y_B, lr=0.1, batch_size=3, epochs=300, rng=np.random.default_rng(3))
    if not agree((w, b), (W_B, B_B), rtol=1e-6, atol=1e-6):
        _fail(case, "(w, b) did not reach the solution", (W_B, B_B), (w, b))
    if not (losses[-1] < 1e-12 and losses[-1] < losses[0]):
        _fail(case, "the full-data loss should fall to ~0", "losses[-1] < 1e-12", losses)
    count += 1

    for what, kwargs in [("batch_size = 0", {"batch_size": 0, "rng": np.random.default_rng(0)}),
                         ("rng = 0 (not a Generator)", {"batch_size": 2, "rng": 0})]:
        try:
            got = fn(X=X_A, y=Y_A, lr=0.1, epochs=1, **kwargs)
        except ValueError:
            count += 1
            continue
        raise CheckFailure(f"{SGD}, case '{what}': expected a ValueError for this bad input, got {describe(got)}")
    return count


PROPERTY_CHECKS = {MB: check_minibatch_indices, SGD: check_sgd_linear_regression}
