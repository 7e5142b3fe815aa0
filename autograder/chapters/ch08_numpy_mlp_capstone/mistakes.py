"""Known wrong versions of chapter 08's graded functions (see ``autograder.chapters.ch08_numpy_mlp_capstone.reference``).

``MISTAKES[function_name][description]`` is a function with the reference's signature;
the description completes the sentence "your output matches ...".

All three graded functions draw random numbers, so none of these is told apart by
one exact output: the property checks (``dlcourse.checks.properties.mlp``) look at
bounds, distributions, ranking, schedules and early stopping, and name the mistake
in their message.
"""

import numpy as np

from autograder.chapters.ch08_numpy_mlp_capstone import reference as R

# --------------------------------------------------------------------------- sample_log_uniform


def _draw(low, high, rng, size, transform):
    R._check_rng(rng)
    low, high = float(low), float(high)
    if not (0.0 < low <= high):
        raise ValueError(f"need 0 < low <= high, got {low}, {high}")
    draw = transform(low, high, rng, size)
    return float(draw) if size is None else np.asarray(draw, dtype=np.float64)


def _uniform(low, high, rng, size=None):
    return _draw(low, high, rng, size, lambda lo, hi, r, s: r.uniform(lo, hi, size=s))


def _base10_of_natural_logs(low, high, rng, size=None):
    return _draw(low, high, rng, size, lambda lo, hi, r, s: 10.0 ** r.uniform(np.log(lo), np.log(hi), size=s))


def _returns_the_log(low, high, rng, size=None):
    return _draw(low, high, rng, size, lambda lo, hi, r, s: r.uniform(np.log(lo), np.log(hi), size=s))


def _ignores_size(low, high, rng, size=None):
    return R.sample_log_uniform(low, high, rng)


def _no_bound_check(low, high, rng, size=None):
    with np.errstate(all="ignore"):
        draw = np.exp(rng.uniform(np.log(float(low)), np.log(float(high)), size=size)) if float(low) > 0 \
            else rng.uniform(float(low), float(high), size=size)
    return float(draw) if size is None else draw


def _float_for_size_one(low, high, rng, size=None):
    draw = R.sample_log_uniform(low, high, rng, size)
    return float(draw.item()) if size is not None and np.size(draw) == 1 else draw


def _squeezed(low, high, rng, size=None):
    draw = R.sample_log_uniform(low, high, rng, size)
    return draw if size is None else np.squeeze(draw)


def _global_numpy_rng(low, high, rng, size=None):
    draw = np.exp(np.random.uniform(np.log(low), np.log(high), size=size))
    return float(draw) if size is None else draw


# --------------------------------------------------------------------------- random_search


def _rank(results):
    def key(i):
        score = results[i][1]
        return (np.isnan(score), 0.0 if np.isnan(score) else -score, i)

    return [results[i] for i in sorted(range(len(results)), key=key)]


def _int_log_uniform(spec, rng, *, end=1, to_int=np.floor):
    """An int_log_uniform draw, to_int(sample_log_uniform(low, high + end)), kept in [low, high]."""
    k = int(to_int(R.sample_log_uniform(spec[1], spec[2] + end, rng)))
    return min(max(k, int(spec[1])), int(spec[2]))


def _sampler_with(kind, draw):
    """The reference sampler with the parameters of one kind drawn by ``draw(spec, rng)``."""
    def sampler(space, rng):
        return {name: draw(spec, rng) if spec[0] == kind else R._sample_one(name, spec, rng)
                for name, spec in space.items()}

    return sampler


def _search(objective, space, n_trials, rng, *, order="best", sample_once=False, sampler=None):
    R._check_rng(rng)
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    sampler = sampler or R.sample_params
    fixed = sampler(space, rng) if sample_once else None
    results = []
    for _ in range(int(n_trials)):
        params = dict(fixed) if sample_once else sampler(space, rng)
        results.append((params, float(objective(dict(params)))))
    if order == "best":
        return _rank(results)
    if order == "worst":
        return _rank(results)[::-1]
    if order == "naive":  # sorted() on raw scores: NaN compares False with everything
        return sorted(results, key=lambda r: r[1], reverse=True)
    if order == "reversed_ties":  # sorted worst first, then reversed: equal scores come out last trial first
        return _rank(results[::-1])
    if order == "only_best":
        return _rank(results)[:1]
    return results  # trial order


def _uniform_sampler(space, rng):
    params = {}
    for name, spec in space.items():
        if spec[0] == "log_uniform":
            params[name] = float(rng.uniform(spec[1], spec[2]))
        elif spec[0] == "int_log_uniform":
            params[name] = int(rng.integers(spec[1], spec[2] + 1))
        else:
            params[name] = R._sample_one(name, spec, rng)
    return params


def _variant(**flags):
    def random_search(objective, space, n_trials, rng):
        return _search(objective, space, n_trials, rng, **flags)

    return random_search


MISTAKES = {
    "sample_log_uniform": {
        "uniform sampling on [low, high] instead of log-uniform": _uniform,
        "10 ** U(ln low, ln high) (natural logs, base-10 power)": _base10_of_natural_logs,
        "returning log(x), the uniform draw, instead of exp of it": _returns_the_log,
        "ignoring size (always one number)": _ignores_size,
        "no ValueError for low <= 0": _no_bound_check,
        "drawing from np.random instead of the rng argument": _global_numpy_rng,
        "a float instead of an array of shape (1,) when size asks for one draw": _float_for_size_one,
        "the result squeezed (size=1 gives shape (), size=(3, 1) gives shape (3,))": _squeezed,
    },
    "random_search": {
        "results sorted worst first": _variant(order="worst"),
        "results in trial order, not sorted by score": _variant(order="trials"),
        "parameters sampled once and reused in every trial": _variant(sample_once=True),
        "only the best trial returned": _variant(order="only_best"),
        "sorted() on raw scores, so a NaN score breaks the ranking": _variant(order="naive"),
        "int_log_uniform drawn uniformly over the integers (rng.integers(low, high + 1))":
            _variant(sampler=_sampler_with("int_log_uniform",
                                           lambda spec, rng: int(rng.integers(spec[1], spec[2] + 1)))),
        "uniform (not log-uniform) sampling of the log-scale parameters": _variant(sampler=_uniform_sampler),
        "equal scores in reverse trial order (ties must keep the order in which the trials ran)":
            _variant(order="reversed_ties"),
        "'uniform' parameters drawn log-uniformly":
            _variant(sampler=_sampler_with("uniform", lambda spec, rng: R.sample_log_uniform(spec[1], spec[2], rng))),
        "int_log_uniform as floor(sample_log_uniform(low, high)), so high is never drawn":
            _variant(sampler=_sampler_with("int_log_uniform", lambda spec, rng: _int_log_uniform(spec, rng, end=0))),
        "int_log_uniform rounded to the nearest integer instead of floored":
            _variant(sampler=_sampler_with("int_log_uniform", lambda spec, rng: _int_log_uniform(spec, rng,
                                                                                                   to_int=np.round))),
    },
}


# --------------------------------------------------------------------------- train_mlp


def _train(X_train, y_train, X_val, y_val, config, rng, *, restore=True, schedule=True, patience_ignored=False,
           lr_last_step=False, schedule_steps="ceil", l2_grad=1.0, loss_penalty=True, val_penalty=True,
           adam_reset=None, restore_bn=True, shuffle="every", batch_mean="weighted"):
    """The reference training loop with one thing done wrong (see the flags).

    schedule_steps: 'ceil' (ceil(n / batch_size) steps per epoch), 'floor' (n // batch_size), or
    'epoch' (the cosine restarting every epoch); l2_grad: factor of the penalty's gradient 2 l2 W;
    loss_penalty / val_penalty: the penalty in the reported train / validation loss;
    adam_reset: None, 'moments' (m, v zeroed every epoch) or 't' (Adam's step count restarting every
    epoch); restore_bn: restore the best epoch's batch-norm running statistics too;
    shuffle: 'every' (a new permutation every epoch), 'once' (the same order every epoch), 'none',
    or 'cumulative' (a fresh permutation applied to the previous epoch's order: also correct);
    batch_mean: 'weighted' by batch size or 'plain' (each batch's loss counted once).
    """
    R._check_rng(rng)
    cfg = R._full_config(config)
    X_train, y_train = R._check_xy(X_train, y_train, "train")
    X_val, y_val = R._check_xy(X_val, y_val, "val")
    n, d = X_train.shape
    k = int(y_train.max()) + 1
    widths = (d, *cfg["hidden"], k)
    L = len(widths) - 1
    params, bn_params = {}, None
    for i in range(1, L + 1):
        params[f"W{i}"] = (R.he_normal if i < L else R.glorot_uniform)(widths[i - 1], widths[i], rng)
        params[f"b{i}"] = np.zeros(widths[i])
        if cfg["batchnorm"] and i < L:
            params[f"gamma{i}"], params[f"beta{i}"] = np.ones(widths[i]), np.zeros(widths[i])
    if cfg["batchnorm"]:
        bn_params = [{"mode": "train", "eps": 1e-3, "momentum": 0.99} for _ in range(L - 1)]
    model = R.MLP(params, bn_params, cfg)
    m = {key: np.zeros_like(val) for key, val in params.items()}
    v = {key: np.zeros_like(val) for key, val in params.items()}
    per_epoch = -(-n // cfg["batch_size"])
    counted = max(1, n // cfg["batch_size"]) if schedule_steps == "floor" else per_epoch
    total_steps = per_epoch if schedule_steps == "epoch" else cfg["epochs"] * counted
    history = {"train_loss": [], "val_loss": [], "val_acc": [], "lr": [], "best_epoch": None}
    patience = cfg["epochs"] if cfg["patience"] is None else (0 if patience_ignored else cfg["patience"])
    stopper = R.EarlyStopping(patience=patience, min_delta=cfg["min_delta"])
    best_state, step, order = None, 0, np.arange(n)
    for epoch in range(cfg["epochs"]):
        restart = epoch * per_epoch if schedule_steps == "epoch" else 0

        def rate(s, epoch=epoch, restart=restart):
            return R._learning_rate(cfg, s - restart, epoch, total_steps) if schedule else cfg["lr"]

        if not lr_last_step:
            history["lr"].append(rate(step))
        if shuffle == "every" or (shuffle == "once" and epoch == 0):
            order = rng.permutation(n)
        elif shuffle == "cumulative":
            order = order[rng.permutation(n)]
        if adam_reset == "moments":
            m = {key: np.zeros_like(val) for key, val in params.items()}
            v = {key: np.zeros_like(val) for key, val in params.items()}
        loss_sum, epoch_start = 0.0, step
        batch_losses = []
        for start in range(0, n, cfg["batch_size"]):
            idx = order[start:start + cfg["batch_size"]]
            logits, caches = model._forward(X_train[idx], training=True, rng=rng)
            loss = R.softmax_cross_entropy(logits, y_train[idx])
            loss += R.l2_penalty(model.kernels(), cfg["l2"]) if loss_penalty else 0.0
            loss_sum += len(idx) * loss
            batch_losses.append(loss)
            grads = model._backward(R.softmax_cross_entropy_grad(logits, y_train[idx]), caches)
            for i in range(1, L + 1):
                grads[f"W{i}"] = grads[f"W{i}"] + l2_grad * R.l2_penalty_grad(params[f"W{i}"], cfg["l2"])
            lr = rate(step)
            step += 1
            t = step - epoch_start if adam_reset == "t" else step
            for key in params:
                params[key], m[key], v[key] = R.adam_step(params[key], grads[key], m[key], v[key], t, lr=lr,
                                                          beta1=cfg["beta1"], beta2=cfg["beta2"], eps=cfg["adam_eps"])
        if lr_last_step:
            history["lr"].append(lr)
        val_loss = model.loss(X_val, y_val) if val_penalty else R.softmax_cross_entropy(model.predict_logits(X_val),
                                                                                          y_val)
        history["train_loss"].append(loss_sum / n if batch_mean == "weighted" else float(np.mean(batch_losses)))
        history["val_loss"].append(val_loss)
        history["val_acc"].append(model.accuracy(X_val, y_val))
        stop = stopper.update(val_loss)
        if stopper.best_epoch == epoch:
            best_state = R._snapshot(model)
            history["best_epoch"] = epoch
        if stop:
            break
    if restore and best_state is not None:
        model.params = best_state[0]
        if restore_bn:
            model.bn_params = best_state[1]
    return model, history


def _train_variant(**flags):
    def train_mlp(X_train, y_train, X_val, y_val, config, rng):
        return _train(X_train, y_train, X_val, y_val, config, rng, **flags)

    return train_mlp


MISTAKES["train_mlp"] = {
    "keeping the last epoch's weights instead of restoring the best epoch's": _train_variant(restore=False),
    "a constant learning rate (config['schedule'] ignored)": _train_variant(schedule=False),
    "stopping at the first epoch without improvement (patience ignored)": _train_variant(patience_ignored=True),
    "history['lr'] holding each epoch's last rate instead of its first": _train_variant(lr_last_step=True),
    "a cosine schedule over floor(n / batch_size) steps per epoch (the last, smaller batch not counted)":
        _train_variant(schedule_steps="floor"),
    "a cosine schedule restarting every epoch instead of running over all epochs":
        _train_variant(schedule_steps="epoch"),
    "no L2 term in the gradient (the penalty only in the reported loss)": _train_variant(l2_grad=0.0),
    "l2 * W as the L2 gradient instead of 2 * l2 * W": _train_variant(l2_grad=0.5),
    "train_loss without the L2 penalty": _train_variant(loss_penalty=False),
    "val_loss without the L2 penalty (plain cross-entropy)": _train_variant(val_penalty=False),
    "Adam's moments m, v reset to zero every epoch": _train_variant(adam_reset="moments"),
    "Adam's step count t restarting at 1 every epoch": _train_variant(adam_reset="t"),
    "restoring the best epoch's weights but not its batch-norm running statistics": _train_variant(restore_bn=False),
    "the training set shuffled once, the same order every epoch": _train_variant(shuffle="once"),
    "the training set never shuffled": _train_variant(shuffle="none"),
    "train_loss the plain mean of the batch losses (a smaller last batch counted like a full one)":
        _train_variant(batch_mean="plain"),
}

# Correct variants the hidden tests must accept (the docstring allows them): a new permutation
# applied to the previous epoch's order (shuffling the data arrays, or an index array, in place).
ACCEPTED = {
    "train_mlp": {
        "a fresh permutation of the previous epoch's order": _train_variant(shuffle="cumulative"),
    },
}


# Mistakes that only the hidden tests catch and name (the step-by-step trainer comparison, exact
# search-space and shape cases: tests/reference/test_mlp.py proves it); the visible checks, which
# learners see, test the documented behaviour on fewer, smaller cases and may not name them.
HIDDEN_ONLY = {
    "sample_log_uniform": ("a float instead of an array of shape (1,) when size asks for one draw",
                           "the result squeezed (size=1 gives shape (), size=(3, 1) gives shape (3,))"),
    "random_search": tuple(m for m in MISTAKES["random_search"] if m.startswith((
        "int_log_uniform drawn uniformly", "equal scores in reverse", "'uniform' parameters drawn",
        "int_log_uniform as floor", "int_log_uniform rounded"))),
    "train_mlp": tuple(m for m in MISTAKES["train_mlp"] if m.startswith((
        "a cosine schedule", "no L2 term", "l2 * W as", "train_loss without", "val_loss without", "Adam's",
        "restoring the best epoch's weights but not", "the training set shuffled once", "the training set never",
        "train_loss the plain mean"))),
}
