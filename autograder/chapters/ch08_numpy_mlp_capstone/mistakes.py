"""Known wrong versions of chapter 08's graded functions (see ``autograder.chapters.ch08_numpy_mlp_capstone.reference``).

``MISTAKES[function_name][description]`` is a function with the reference's signature;
the description completes the sentence "your output matches ...".

All three graded functions draw random numbers: the property checks
(``dlcourse.checks.properties.mlp``) look at bounds, distributions, ranking, schedules and
early stopping, then compare small exact cases (the docstrings fix every draw) with stored
outputs of the reference and of these mistakes, and name the mistake in their message.
The wrong trainers are the reference's training (``R._Training``) with one decision overridden.
"""

import numpy as np

from autograder.chapters.ch08_numpy_mlp_capstone import reference as R
from dlcourse.checks.properties import mlp as P
from dlcourse.validate import generator

# --------------------------------------------------------------------------- sample_log_uniform


def _draw(low, high, rng, size, transform):
    generator(rng)
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


def _naive_rank(results):  # sorted() on raw scores: NaN compares False with everything
    return sorted(results, key=lambda r: r[1], reverse=True)


def _reversed_ties(results):  # sorted worst first, then reversed: equal scores come out last trial first
    return R._ranked(results[::-1])


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


def _variant(rank=R._ranked, sampler=R.sample_params, sample_once=False):
    """random_search with the reference's ranking or sampling hook replaced (sample_once: the first
    draw of each search reused in every trial)."""
    def random_search(objective, space, n_trials, rng):
        sample, drawn = sampler, []
        if sample_once:
            def sample(space, rng):
                if not drawn:
                    drawn.append(sampler(space, rng))
                return dict(drawn[0])
        return R._random_search(objective, space, n_trials, rng, sample=sample, rank=rank)

    return random_search


MISTAKES = {
    "sample_log_uniform": {
        "uniform sampling on [low, high] instead of log-uniform": _uniform,
        "10 ** U(ln low, ln high) (natural logs, base-10 power)": _base10_of_natural_logs,
        "returning log(x), the uniform draw, instead of exp of it": _returns_the_log,
        "ignoring size (always one number)": _ignores_size,
        "no ValueError for low <= 0": _no_bound_check,
        "drawing from np.random instead of the rng argument": _global_numpy_rng,
        P.MISTAKE_FLOAT_FOR_SIZE_ONE: _float_for_size_one,
        "the result squeezed (size=1 gives shape (), size=(3, 1) gives shape (3,))": _squeezed,
    },
    "random_search": {
        "results sorted worst first": _variant(rank=lambda results: R._ranked(results)[::-1]),
        "results in trial order, not sorted by score": _variant(rank=list),
        "parameters sampled once and reused in every trial": _variant(sample_once=True),
        "only the best trial returned": _variant(rank=lambda results: R._ranked(results)[:1]),
        "sorted() on raw scores, so a NaN score breaks the ranking": _variant(rank=_naive_rank),
        "int_log_uniform drawn uniformly over the integers (rng.integers(low, high + 1))":
            _variant(sampler=_sampler_with("int_log_uniform",
                                           lambda spec, rng: int(rng.integers(spec[1], spec[2] + 1)))),
        "uniform (not log-uniform) sampling of the log-scale parameters": _variant(sampler=_uniform_sampler),
        "equal scores in reverse trial order (ties must keep the order in which the trials ran)":
            _variant(rank=_reversed_ties),
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


class _KeepLast(R._Training):
    def _restore(self, model, best_state):
        pass


class _ConstantRate(R._Training):
    def _rate(self, step, epoch):
        return self.cfg["lr"]


class _PatienceIgnored(R._Training):
    def _patience(self):
        return self.cfg["epochs"] if self.cfg["patience"] is None else 0


class _LastRateLogged(R._Training):
    def _logged_rate(self, rates):
        return rates[-1]


class _CosineOverFullBatches(R._Training):
    def _rate(self, step, epoch):
        return R._learning_rate(self.cfg, step, epoch, self.cfg["epochs"] * max(1, self.n // self.cfg["batch_size"]))


class _CosinePerEpoch(R._Training):
    def _rate(self, step, epoch):
        start = epoch * self.steps_per_epoch
        return R._learning_rate(self.cfg, step - start, epoch, self.steps_per_epoch)


class _NoPenaltyGrad(R._Training):
    def _penalty_grad(self, W):
        return 0.0


class _HalfPenaltyGrad(R._Training):
    def _penalty_grad(self, W):
        return 0.5 * R.l2_penalty_grad(W, self.cfg["l2"])


class _NoPenaltyReported(R._Training):
    def _reported_penalty(self, model):
        return 0.0


class _NoPenaltyInValLoss(R._Training):
    def _val_loss(self, model, X_val, y_val):
        return R.softmax_cross_entropy(model.predict_logits(X_val), y_val)


class _AdamMomentsReset(R._Training):
    def _adam_moments(self, m, v):
        return {k: np.zeros_like(a) for k, a in m.items()}, {k: np.zeros_like(a) for k, a in v.items()}


class _AdamStepCountReset(R._Training):
    def _adam_t(self, step, epoch_start):
        return step - epoch_start


class _WeightsOnlyRestored(R._Training):
    def _restore(self, model, best_state):
        model.params = best_state[0]


class _ShuffledOnce(R._Training):
    def _order(self, epoch, previous):
        return super()._order(epoch, previous) if epoch == 0 else previous


class _NeverShuffled(R._Training):
    def _order(self, epoch, previous):
        return previous


class _PlainBatchMean(R._Training):
    def _epoch_loss(self, losses, sizes):
        return float(np.mean(losses))


class _CumulativeShuffle(R._Training):
    """Correct: a fresh permutation applied to the previous epoch's order."""

    def _order(self, epoch, previous):
        return previous[super()._order(epoch, previous)]


def _trainer(training):
    """train_mlp trained by ``training``, a variant of the reference's training (one decision overridden)."""
    def train_mlp(X_train, y_train, X_val, y_val, config, rng):
        return training(config, rng).run(X_train, y_train, X_val, y_val)

    return train_mlp


MISTAKES["train_mlp"] = {
    "keeping the last epoch's weights instead of restoring the best epoch's": _trainer(_KeepLast),
    P.MISTAKE_CONSTANT_RATE: _trainer(_ConstantRate),
    "stopping at the first epoch without improvement (patience ignored)": _trainer(_PatienceIgnored),
    P.MISTAKE_LAST_RATE: _trainer(_LastRateLogged),
    "a cosine schedule over floor(n / batch_size) steps per epoch (the last, smaller batch not counted)":
        _trainer(_CosineOverFullBatches),
    P.MISTAKE_COSINE_RESTARTS: _trainer(_CosinePerEpoch),
    "no L2 term in the gradient (the penalty only in the reported loss)": _trainer(_NoPenaltyGrad),
    "l2 * W as the L2 gradient instead of 2 * l2 * W": _trainer(_HalfPenaltyGrad),
    "train_loss without the L2 penalty": _trainer(_NoPenaltyReported),
    "val_loss without the L2 penalty (plain cross-entropy)": _trainer(_NoPenaltyInValLoss),
    "Adam's moments m, v reset to zero every epoch": _trainer(_AdamMomentsReset),
    "Adam's step count t restarting at 1 every epoch": _trainer(_AdamStepCountReset),
    "restoring the best epoch's weights but not its batch-norm running statistics": _trainer(_WeightsOnlyRestored),
    "the training set shuffled once, the same order every epoch": _trainer(_ShuffledOnce),
    "the training set never shuffled": _trainer(_NeverShuffled),
    "train_loss the plain mean of the batch losses (a smaller last batch counted like a full one)":
        _trainer(_PlainBatchMean),
}

# Correct variants the hidden tests must accept (the docstring allows them): a new permutation
# applied to the previous epoch's order (shuffling the data arrays, or an index array, in place).
ACCEPTED = {
    "train_mlp": {
        "a fresh permutation of the previous epoch's order": _trainer(_CumulativeShuffle),
    },
}
