"""Reference implementations for chapter 08, the NumPy MLP capstone.

A multi-layer perceptron assembled from the earlier chapters' reference pieces, imported
rather than re-written: softmax cross-entropy (01), Adam (03), cosine/step schedules and
early stopping (04), the L2 penalty (05), He/Glorot init, dense layers and ReLU (06),
batch norm and dropout (07); plus random search over its hyperparameters.
Float64 throughout; ``rng`` is a ``numpy.random.Generator`` and is the only source of
randomness, so a seed reproduces a run exactly.
"""

import math

import numpy as np

from autograder.chapters.ch01_losses.reference import softmax, softmax_cross_entropy, softmax_cross_entropy_grad
from autograder.chapters.ch03_optimizers.reference import adam_step
from autograder.chapters.ch04_learning_rate_schedules.reference import EarlyStopping, cosine_decay, step_decay
from autograder.chapters.ch05_regularization.reference import l2_penalty, l2_penalty_grad
from autograder.chapters.ch06_backprop_initialization.reference import dense_backward, dense_forward, glorot_uniform, he_normal, relu, relu_grad
from autograder.chapters.ch07_batchnorm_dropout.reference import (
    batchnorm_backward,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
)
from dlcourse.validate import generator


# --------------------------------------------------------------------------- random search


def sample_log_uniform(low, high, rng, size=None):
    """Sample log-uniformly from [low, high]: exp(U(log low, log high)).

    Every decade gets the same probability (as many draws in [1e-4, 1e-3] as in
    [1e-3, 1e-2]), the natural prior for a learning rate or a penalty strength.
    low, high: floats with 0 < low <= high; rng: numpy.random.Generator;
    size: None (returns a float) or an int/tuple (returns a float64 array of that shape).
    """
    generator(rng)
    low, high = float(low), float(high)
    if not (np.isfinite(low) and np.isfinite(high) and 0.0 < low <= high):
        raise ValueError(f"need 0 < low <= high (finite), got low={low}, high={high}")
    draw = np.exp(rng.uniform(np.log(low), np.log(high), size=size))
    # guard the end points against rounding in exp(log(.))
    draw = np.clip(draw, low, high)
    return float(draw) if size is None else draw


def _sample_one(name, spec, rng):
    if not isinstance(spec, tuple) or not spec or not isinstance(spec[0], str):
        raise ValueError(f"space[{name!r}] must be a tuple like ('log_uniform', low, high), got {spec!r}")
    kind = spec[0]
    if kind == "choice":
        if len(spec) != 2 or len(spec[1]) == 0:
            raise ValueError(f"space[{name!r}] must be ('choice', [values...]) with at least one value, got {spec!r}")
        values = list(spec[1])
        return values[int(rng.integers(len(values)))]
    if len(spec) != 3:
        raise ValueError(f"space[{name!r}] must be ({kind!r}, low, high), got {spec!r}")
    low, high = spec[1], spec[2]
    if kind == "log_uniform":
        return sample_log_uniform(low, high, rng)
    if kind == "uniform":
        if not float(low) <= float(high):
            raise ValueError(f"space[{name!r}]: need low <= high, got {spec!r}")
        return float(rng.uniform(float(low), float(high)))
    if kind == "int_log_uniform":
        if not (isinstance(low, (int, np.integer)) and isinstance(high, (int, np.integer)) and 1 <= low <= high):
            raise ValueError(f"space[{name!r}]: need integers 1 <= low <= high, got {spec!r}")
        value = int(math.floor(sample_log_uniform(low, high + 1, rng)))
        return min(max(value, int(low)), int(high))
    raise ValueError(f"space[{name!r}]: unknown kind {kind!r}; "
                     "use 'log_uniform', 'uniform', 'choice' or 'int_log_uniform'")


def sample_params(space, rng):
    """Draw one configuration from ``space`` (see ``random_search``); returns a dict."""
    generator(rng)
    if not isinstance(space, dict) or not space:
        raise ValueError("space must be a non-empty dict name -> spec")
    return {name: _sample_one(name, spec, rng) for name, spec in space.items()}


def random_search(objective, space, n_trials, rng):
    """Random search: n_trials independent draws from ``space``, each scored once.

    objective: callable(params: dict) -> score, a float where HIGHER IS BETTER
        (e.g. validation accuracy; pass -val_loss to minimize a loss). A score
        that is NaN ranks last.
    space: dict name -> spec, one of
        ('log_uniform', low, high)      float, log-uniform on [low, high], 0 < low;
        ('uniform', low, high)          float, uniform on [low, high];
        ('choice', [v1, v2, ...])       one of the values, each equally likely;
        ('int_log_uniform', low, high)  integer k in [low, high], 1 <= low, drawn as
                                        floor(exp(U(log low, log(high + 1)))), so
                                        P(k) is proportional to log((k + 1) / k)
                                        (e.g. batch sizes: small ones more often).
    n_trials: int >= 1; rng: numpy.random.Generator (draws the parameters; the
        objective should bring its own generator if it needs one).
    Returns a list of n_trials (params, score) tuples, best score first; ties keep
    the order in which the trials ran.

    Example: ``random_search(lambda p: fit_and_score(**p), {"lr": ("log_uniform",
    1e-4, 1e-1), "batch_size": ("choice", [32, 64, 128])}, 20, rng)``.
    """
    return _random_search(objective, space, n_trials, rng)


def _ranked(results):
    """(params, score) pairs best first: NaN last, then higher scores first, then trial order."""
    def rank(i):
        score = results[i][1]
        return (np.isnan(score), 0.0 if np.isnan(score) else -score, i)

    return [results[i] for i in sorted(range(len(results)), key=rank)]


def _random_search(objective, space, n_trials, rng, sample=sample_params, rank=_ranked):
    """``random_search`` with its two decisions as private hooks (a variant of autograder's catalogue
    of known mistakes replaces one): ``sample(space, rng)`` draws a trial's parameters, ``rank(results)``
    orders the (params, score) pairs of the trials, given in the order they ran."""
    generator(rng)
    if not callable(objective):
        raise ValueError("objective must be callable")
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive integer, got {n_trials!r}")
    results = []
    for _ in range(int(n_trials)):
        params = sample(space, rng)
        score = float(objective(dict(params)))
        results.append((params, score))
    return rank(results)


# --------------------------------------------------------------------------- the model


class MLP:
    """A trained multi-layer perceptron (returned by ``train_mlp``).

    Architecture, for each hidden width h in ``hidden``:
        dense (He normal kernel, zero bias) -> [batch norm] -> ReLU -> [dropout]
    then a dense output layer (Glorot uniform kernel) giving the logits.

    Attributes: ``params``, a dict of float64 arrays named W1, b1, (gamma1, beta1),
    ..., WL, bL; ``bn_params``, one batch-norm dict per hidden layer (or None);
    ``config``, the full configuration it was trained with.
    """

    def __init__(self, params, bn_params, config):
        self.params = params
        self.bn_params = bn_params
        self.config = config

    @property
    def n_layers(self):
        """Number of dense layers, hidden ones plus the output layer."""
        return len(self.config["hidden"]) + 1

    def _forward(self, X, training, rng=None):
        """Logits (n, k) and the caches for ``_backward``."""
        cfg, p = self.config, self.params
        h, caches = X, []
        for i in range(1, self.n_layers):
            z, c_dense = dense_forward(h, p[f"W{i}"], p[f"b{i}"])
            c_bn = None
            if cfg["batchnorm"]:
                bn_param = self.bn_params[i - 1]
                bn_param["mode"] = "train" if training else "test"
                z, c_bn = batchnorm_forward(z, p[f"gamma{i}"], p[f"beta{i}"], bn_param)
            h = relu(z)
            mask = None
            if training and cfg["dropout"] > 0.0:
                h, mask = dropout_forward(h, cfg["dropout"], True, rng)
            caches.append((c_dense, c_bn, z, mask))
        L = self.n_layers
        logits, c_out = dense_forward(h, p[f"W{L}"], p[f"b{L}"])
        caches.append(c_out)
        return logits, caches

    def _backward(self, dlogits, caches):
        """Gradients of the data loss for every entry of ``params``."""
        grads = {}
        L = self.n_layers
        dh, grads[f"W{L}"], grads[f"b{L}"] = dense_backward(dlogits, caches[-1])
        for i in range(L - 1, 0, -1):
            c_dense, c_bn, z, mask = caches[i - 1]
            if mask is not None:
                dh = dropout_backward(dh, mask)
            dz = dh * relu_grad(z)
            if c_bn is not None:
                dz, grads[f"gamma{i}"], grads[f"beta{i}"] = batchnorm_backward(dz, c_bn)
            dh, grads[f"W{i}"], grads[f"b{i}"] = dense_backward(dz, c_dense)
        return grads

    def kernels(self):
        """The dense kernels W1..WL (what the L2 penalty applies to)."""
        return [self.params[f"W{i}"] for i in range(1, self.n_layers + 1)]

    def predict_logits(self, X):
        """Inference-mode logits (n, k) for X (n, d): running BN statistics, no dropout."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.params["W1"].shape[0]:
            raise ValueError(f"X must have shape (n, {self.params['W1'].shape[0]}), got {X.shape}")
        return self._forward(X, training=False)[0]

    def predict_proba(self, X):
        """Class probabilities (n, k), the softmax of ``predict_logits``."""
        return softmax(self.predict_logits(X))

    def predict(self, X):
        """Predicted class ids, integer array (n,)."""
        return np.argmax(self.predict_logits(X), axis=1)

    def accuracy(self, X, y):
        """Fraction of rows of X whose predicted class equals y (n,)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def loss(self, X, y):
        """Inference-mode loss: softmax cross-entropy plus the L2 penalty (as Keras reports it)."""
        data_loss = softmax_cross_entropy(self.predict_logits(X), np.asarray(y))
        return data_loss + l2_penalty(self.kernels(), self.config["l2"])


# --------------------------------------------------------------------------- training

DEFAULT_CONFIG = {
    "hidden": (128,),      # widths of the hidden layers
    "lr": 1e-3,            # peak (initial) Adam learning rate
    "batch_size": 64,
    "epochs": 30,          # maximum number of epochs
    "l2": 1e-4,            # Keras-style L2 on every kernel: l2 * sum(W**2) (biases, gamma, beta free)
    "dropout": 0.0,        # drop rate after each hidden ReLU, in [0, 1)
    "batchnorm": False,    # batch norm between each hidden dense layer and its ReLU
    "patience": 5,         # early stopping on val loss; None disables it
    "min_delta": 0.0,      # an improvement must beat the best val loss by more than this
    "schedule": "cosine",  # 'cosine' (per step, to lr_min at the last step), 'step' or 'constant'
    "lr_min": 0.0,         # end rate of the cosine schedule
    "step_drop": 0.5,      # 'step': lr * step_drop ** floor(epoch / step_every)
    "step_every": 10,
    "beta1": 0.9,          # Adam, Keras defaults
    "beta2": 0.999,
    "adam_eps": 1e-7,
}


def _full_config(config):
    config = {} if config is None else dict(config)
    unknown = sorted(set(config) - set(DEFAULT_CONFIG))
    if unknown:
        raise ValueError(f"unknown config keys {unknown}; known keys: {sorted(DEFAULT_CONFIG)}")
    cfg = {**DEFAULT_CONFIG, **config}
    hidden = cfg["hidden"]
    if isinstance(hidden, (int, np.integer)):
        hidden = (hidden,)
    hidden = tuple(int(h) for h in hidden)
    if any(h < 1 for h in hidden):
        raise ValueError(f"hidden widths must be positive, got {cfg['hidden']}")
    cfg["hidden"] = hidden
    for key in ("batch_size", "epochs", "step_every"):
        if isinstance(cfg[key], bool) or int(cfg[key]) != cfg[key] or cfg[key] < 1:
            raise ValueError(f"config[{key!r}] must be a positive integer, got {cfg[key]!r}")
        cfg[key] = int(cfg[key])
    if not float(cfg["lr"]) > 0.0:
        raise ValueError(f"config['lr'] must be > 0, got {cfg['lr']}")
    if not float(cfg["l2"]) >= 0.0:
        raise ValueError(f"config['l2'] must be >= 0, got {cfg['l2']}")
    if not 0.0 <= float(cfg["dropout"]) < 1.0:
        raise ValueError(f"config['dropout'] is a drop rate and must lie in [0, 1), got {cfg['dropout']}")
    if cfg["patience"] is not None and (int(cfg["patience"]) != cfg["patience"] or cfg["patience"] < 0):
        raise ValueError(f"config['patience'] must be an integer >= 0 or None, got {cfg['patience']!r}")
    if cfg["patience"] is not None:
        cfg["patience"] = int(cfg["patience"])
    if not 0.0 <= float(cfg["lr_min"]) <= float(cfg["lr"]):
        raise ValueError(f"config['lr_min'] must lie in [0, lr], got {cfg['lr_min']}")
    if not 0.0 < float(cfg["step_drop"]) <= 1.0:
        raise ValueError(f"config['step_drop'] must lie in (0, 1], got {cfg['step_drop']}")
    if cfg["schedule"] not in ("cosine", "step", "constant"):
        raise ValueError(f"config['schedule'] must be 'cosine', 'step' or 'constant', got {cfg['schedule']!r}")
    for key in ("lr", "l2", "dropout", "min_delta", "lr_min", "step_drop", "beta1", "beta2", "adam_eps"):
        cfg[key] = float(cfg[key])
    cfg["batchnorm"] = bool(cfg["batchnorm"])
    return cfg


def _learning_rate(cfg, step, epoch, total_steps):
    """Rate for this optimizer step (0-based step and epoch), from chapter 04's schedules."""
    if cfg["schedule"] == "cosine":  # Keras CosineDecay, alpha = lr_min / lr
        return cosine_decay(cfg["lr"], step, total_steps, alpha=cfg["lr_min"] / cfg["lr"])
    if cfg["schedule"] == "step":
        return step_decay(cfg["lr"], epoch, drop=cfg["step_drop"], epochs_per_drop=cfg["step_every"])
    return cfg["lr"]


def _check_xy(X, y, name):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X_{name} must have shape (n, d) with n >= 1, got {X.shape}")
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y_{name} must be integer class ids of shape ({X.shape[0]},), got {y.dtype} {y.shape}")
    if y.min() < 0:
        raise ValueError(f"y_{name} must be class ids >= 0")
    return X, y


def _snapshot(model):
    params = {k: v.copy() for k, v in model.params.items()}
    bn = None
    if model.bn_params is not None:
        bn = [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in b.items()} for b in model.bn_params]
    return params, bn


def train_mlp(X_train, y_train, X_val, y_val, config, rng):
    """Train an MLP classifier with Adam, L2, a schedule and early stopping.

    X_train: (n, d) float; y_train: (n,) integer class ids; X_val, y_val likewise
    (d features, labels < number of classes = max(y_train) + 1).
    config: dict overriding ``DEFAULT_CONFIG`` (unknown keys are a ValueError):
        hidden=(128,), lr=1e-3, batch_size=64, epochs=30, l2=1e-4, dropout=0.0,
        batchnorm=False, patience=5, min_delta=0.0, schedule='cosine', lr_min=0.0,
        step_drop=0.5, step_every=10, beta1=0.9, beta2=0.999, adam_eps=1e-7.
    rng: numpy.random.Generator for the initialization, the shuffling and dropout.

    Each epoch shuffles the training set, takes one Adam step per mini-batch on
    softmax cross-entropy + l2 * sum of squared kernels, then evaluates in inference
    mode on the validation set. The schedule sets the rate of every step: 'cosine'
    decays from lr to lr_min over all epochs * ceil(n / batch_size) steps (Keras
    CosineDecay), 'step' multiplies it by step_drop every step_every epochs.
    Early stopping (Keras semantics): stop once val_loss has not improved on its best
    by more than min_delta for ``patience`` epochs; the weights (and batch-norm
    running statistics) of the best epoch are restored at the end in every case.

    Returns (model, history): model an ``MLP`` (``predict(X)`` -> class ids);
    history a dict of per-epoch lists
        train_loss  mean over the epoch's mini-batches (weighted by their size) of
                    the training-mode loss, penalty included (what Keras reports);
        val_loss    inference-mode cross-entropy + L2 penalty on the validation set;
        val_acc     validation accuracy;
        lr          the rate of the epoch's first step;
    and ``best_epoch``, the 0-based epoch whose weights the model holds.
    """
    return _Training(config, rng).run(X_train, y_train, X_val, y_val)


class _Training:
    """One run of ``train_mlp``, step by step.

    Each private method below ``run`` is one decision of the training contract (the rate of a step,
    the order of an epoch, the penalty's gradient, what is restored, ...). They exist so that a
    variant can change exactly one of them (autograder's catalogue of known mistakes overrides one
    each); none is part of the graded contract.
    """

    def __init__(self, config, rng):
        generator(rng)
        self.cfg = _full_config(config)
        self.rng = rng

    def run(self, X_train, y_train, X_val, y_val):
        """(model, history) as ``train_mlp`` documents."""
        cfg, rng = self.cfg, self.rng
        X_train, y_train = _check_xy(X_train, y_train, "train")
        X_val, y_val = _check_xy(X_val, y_val, "val")
        n, d = X_train.shape
        if X_val.shape[1] != d:
            raise ValueError(f"X_val has {X_val.shape[1]} features but X_train has {d}")
        k = int(y_train.max()) + 1
        if k < 2:
            raise ValueError("y_train must contain at least two classes")
        if y_val.max() >= k:
            raise ValueError(f"y_val contains class {y_val.max()} never seen in y_train (classes 0..{k - 1})")

        widths = (d, *cfg["hidden"], k)
        L = len(widths) - 1
        params, bn_params = {}, None
        for i in range(1, L + 1):
            init = he_normal if i < L else glorot_uniform
            params[f"W{i}"] = init(widths[i - 1], widths[i], rng)
            params[f"b{i}"] = np.zeros(widths[i])
            if cfg["batchnorm"] and i < L:
                params[f"gamma{i}"] = np.ones(widths[i])
                params[f"beta{i}"] = np.zeros(widths[i])
        if cfg["batchnorm"]:
            bn_params = [{"mode": "train", "eps": 1e-3, "momentum": 0.99} for _ in range(L - 1)]
        model = MLP(params, bn_params, cfg)

        m = {key: np.zeros_like(val) for key, val in params.items()}
        v = {key: np.zeros_like(val) for key, val in params.items()}
        self.n, self.steps_per_epoch = n, -(-n // cfg["batch_size"])
        history = {"train_loss": [], "val_loss": [], "val_acc": [], "lr": [], "best_epoch": None}
        stopper = EarlyStopping(patience=self._patience(), min_delta=cfg["min_delta"])
        best_state, step, order = None, 0, np.arange(n)

        for epoch in range(cfg["epochs"]):
            order = self._order(epoch, order)
            m, v = self._adam_moments(m, v)
            epoch_start, rates, losses, sizes = step, [], [], []
            for start in range(0, n, cfg["batch_size"]):
                idx = order[start:start + cfg["batch_size"]]
                xb, yb = X_train[idx], y_train[idx]
                logits, caches = model._forward(xb, training=True, rng=rng)
                losses.append(softmax_cross_entropy(logits, yb) + self._reported_penalty(model))
                sizes.append(len(idx))
                grads = model._backward(softmax_cross_entropy_grad(logits, yb), caches)
                for i in range(1, L + 1):
                    grads[f"W{i}"] = grads[f"W{i}"] + self._penalty_grad(params[f"W{i}"])
                rates.append(self._rate(step, epoch))
                step += 1
                t = self._adam_t(step, epoch_start)
                for key in params:
                    params[key], m[key], v[key] = adam_step(params[key], grads[key], m[key], v[key], t, lr=rates[-1],
                                                            beta1=cfg["beta1"], beta2=cfg["beta2"], eps=cfg["adam_eps"])
            train_loss = self._epoch_loss(losses, sizes)
            val_loss = self._val_loss(model, X_val, y_val)
            history["lr"].append(self._logged_rate(rates))
            history["train_loss"].append(train_loss)
            history["val_loss"].append(val_loss)
            history["val_acc"].append(model.accuracy(X_val, y_val))

            stop = stopper.update(val_loss)
            if stopper.best_epoch == epoch and np.isfinite(val_loss):
                best_state = _snapshot(model)
                history["best_epoch"] = epoch
            if stop or not np.isfinite(train_loss):
                break

        if best_state is not None:
            self._restore(model, best_state)
        return model, history

    def _patience(self):
        """EarlyStopping's patience; patience None: one that can never fire, still tracking the best epoch."""
        return self.cfg["epochs"] if self.cfg["patience"] is None else self.cfg["patience"]

    def _order(self, epoch, previous):
        """The order of this epoch's training rows: a new permutation every epoch."""
        return self.rng.permutation(self.n)

    def _adam_moments(self, m, v):
        """Adam's moments at the start of an epoch: carried over."""
        return m, v

    def _adam_t(self, step, epoch_start):
        """Adam's step count for the step just taken: counted over the whole run."""
        return step

    def _rate(self, step, epoch):
        """The rate of optimizer step ``step`` (0-based), over all epochs * steps_per_epoch steps."""
        return _learning_rate(self.cfg, step, epoch, self.cfg["epochs"] * self.steps_per_epoch)

    def _logged_rate(self, rates):
        """history['lr'] of an epoch whose steps used ``rates``: its first step's."""
        return rates[0]

    def _reported_penalty(self, model):
        """The L2 penalty in a batch's reported training loss."""
        return l2_penalty(model.kernels(), self.cfg["l2"])

    def _penalty_grad(self, W):
        """The L2 penalty's gradient added to a kernel's."""
        return l2_penalty_grad(W, self.cfg["l2"])

    def _epoch_loss(self, losses, sizes):
        """An epoch's train_loss from its batches' losses: the mean weighted by the batch sizes."""
        total = 0.0
        for loss, size in zip(losses, sizes):
            total += loss * size
        return total / self.n

    def _val_loss(self, model, X_val, y_val):
        """The validation loss: inference-mode cross-entropy plus the L2 penalty."""
        return model.loss(X_val, y_val)

    def _restore(self, model, best_state):
        """Put the best epoch's weights and batch-norm statistics back into the model."""
        model.params, model.bn_params = best_state
