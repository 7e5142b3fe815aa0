"""Visible and hidden checks for chapter 09 (Keras training).

The graded functions build and train Keras objects, so apart from bad-argument cases (stored
as usual) they are checked by inspection: layers, parameter counts against the formula,
regularizers attached to the kernels with the right strength, logits out, the compiled
optimizer/loss/metric, callback settings, and a custom training step compared with the
reference step from identical initial weights. The visible checks live in
``dlcourse/checks/properties/keras_training.py``; their stored numbers come from
:func:`stored_numbers` (``python -m autograder.build_checks`` writes them).

Nothing here imports keras at import time (every chapter's grading imports this module).
"""

from __future__ import annotations

import numpy as np

from autograder.checking import Case, once_per_process

CHAPTER = "09_keras_training"

VISIBLE = {
    "build_mlp": [
        Case("input_dim = 0", {"input_dim": 0, "num_classes": 3}, raises=ValueError),
        Case("a single class (num_classes = 1)", {"input_dim": 4, "num_classes": 1}, raises=ValueError),
        Case("dropout_rate = 1 (would drop everything)", {"input_dim": 4, "num_classes": 3, "dropout_rate": 1.0},
             raises=ValueError),
        Case("negative l2", {"input_dim": 4, "num_classes": 3, "l2": -0.01}, raises=ValueError),
    ],
    "make_callbacks": [
        Case("patience = 0", {"patience": 0}, raises=ValueError),
    ],
}


def _mlp_errors(rng):
    return VISIBLE["build_mlp"] + [
        Case("a hidden layer of 0 units", {"input_dim": 4, "num_classes": 3, "hidden_units": (16, 0)},
             raises=ValueError),
        Case("negative dropout_rate", {"input_dim": 4, "num_classes": 3, "dropout_rate": -0.2}, raises=ValueError),
        Case("fractional input_dim", {"input_dim": 2.5, "num_classes": 3}, raises=ValueError),
    ]


def _callback_errors(rng):
    return [Case("patience = 0", {"patience": 0}, raises=ValueError),
            Case("negative patience", {"patience": -3}, raises=ValueError)]


HIDDEN = {"build_mlp": _mlp_errors, "make_callbacks": _callback_errors}


# ------------------------------------------------------------------------------- helpers
def _props():
    from dlcourse.checks.properties import keras_training

    return keras_training


def _reference():
    from autograder.chapters.ch09_keras_training import reference as keras_training

    return keras_training


def _mistakes(name):
    from autograder.chapters.ch09_keras_training.mistakes import MISTAKE_KEYS, MISTAKES

    return {MISTAKE_KEYS[d]: fn for d, fn in MISTAKES[name].items()}


def _quiet(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - a mistake may crash on an input; then it cannot be matched
        return None


def mlp_logits(build, kwargs, seed, x):
    """Inference logits of build(**kwargs) with assign_test_weights(seed), or None if it fails."""
    props = _props()
    model = _quiet(build, **kwargs)
    if model is None:
        return None
    try:
        props.assign_test_weights(model, seed)
        return props.numpy_out(model(x, training=False))
    except Exception:  # noqa: BLE001
        return None


def mlp_expectation(kwargs, seed, x):
    """(the reference's logits, {mistake key: logits} of the mistakes whose logits differ from them) of
    build_mlp(**kwargs) with assign_test_weights(seed) on the probe ``x``."""
    props = _props()
    logits = mlp_logits(_reference().build_mlp, kwargs, seed, x)
    mistakes = {}
    for key, wrong in _mistakes("build_mlp").items():
        out = mlp_logits(wrong, kwargs, seed, x)
        if out is not None and out.shape == logits.shape and not props.close(out, logits):
            mistakes[key] = out
    return logits, mistakes


def mlp_params(kwargs):
    """Accepted parameter counts: the formula, and with batch norm also without the hidden biases."""
    hidden = tuple(kwargs.get("hidden_units", (128,)))
    sizes = (kwargs["input_dim"], *hidden, kwargs["num_classes"])
    count = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    if kwargs.get("batchnorm"):
        count += 4 * sum(hidden)
        return count, count - sum(hidden)
    return (count,)


def compile_expectations():
    """The compiled loss of the reference, and of the from_logits=False mistake, on the fixed logits."""
    props = _props()
    ref = _reference()
    model = ref.compile_for_classification(props._tiny_linear_model(3, 3, 0), 0.01)
    wrong = _mistakes("compile_for_classification")["from_logits False"](props._tiny_linear_model(3, 3, 0), 0.01)
    return {"loss": props.compiled_loss_value(model, props.COMPILE_LABELS, props.COMPILE_LOGITS),
            "loss_from_probabilities": props.compiled_loss_value(wrong, props.COMPILE_LABELS, props.COMPILE_LOGITS)}


def train_step_run(step, setup_kwargs, optimizer_factory, steps):
    """(losses, weights after) of `steps` calls of step on a fresh train_step_setup model, or None."""
    props = _props()
    keras = props._keras()
    model, x, y = props.train_step_setup(**setup_kwargs)
    optimizer = optimizer_factory()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    try:
        losses = [float(props.numpy_out(step(model, optimizer, loss_fn, x, y))) for _ in range(steps)]
    except Exception:  # noqa: BLE001
        return None
    return losses, [props.numpy_out(w) for w in model.weights]


def _sgd():
    import keras

    return keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)


def _adam():
    import keras

    return keras.optimizers.Adam(learning_rate=0.01)


# ---------------------------------------------------------------------------- stored numbers
def stored_numbers():
    """Everything the visible checks store, computed from the reference and the mistakes."""
    props = _props()
    ref = _reference()
    out = {"build_mlp": {}}
    for case, cfg in props.MLP_CONFIGS.items():
        logits, mistakes = mlp_expectation(cfg["kwargs"], cfg["seed"], props.mlp_probe(cfg))
        entry = {"params": list(mlp_params(cfg["kwargs"])), "logits": logits}
        if mistakes:
            entry["mistakes"] = mistakes
        out["build_mlp"][case] = entry
    out["compile_for_classification"] = compile_expectations()
    losses, weights = train_step_run(ref.train_step, {}, _sgd, 2)
    mistakes = {}
    for key, wrong in _mistakes("train_step").items():
        run = train_step_run(wrong, {}, _sgd, 2)
        if run is not None:
            mistakes[key] = {"losses": run[0]}
    out["train_step"] = {"losses": losses, "weights": weights, "mistakes": mistakes}
    return out


# ---------------------------------------------------------------------------- hidden custom
HIDDEN_MLP_CONFIGS = [
    dict(input_dim=7, num_classes=4, hidden_units=(9,)),
    dict(input_dim=5, num_classes=2, hidden_units=(8, 6, 4), dropout_rate=0.2, l2=1e-3, batchnorm=True),
    dict(input_dim=12, num_classes=10, hidden_units=(16,), dropout_rate=0.4, l2=0.05),
    dict(input_dim=3, num_classes=5, hidden_units=(), l2=0.0),
    dict(input_dim=6, num_classes=3, hidden_units=(10, 10), batchnorm=True),
    dict(input_dim=20, num_classes=3),
]


def _kernel():
    from autograder.protocol import keras_objects

    return keras_objects


@once_per_process
def _hidden_mlp_expectation(index):
    """What the hidden build_mlp test expects of ``HIDDEN_MLP_CONFIGS[index]`` on its probe (seed 100 + index):
    dict(seed, x (4, input_dim), logits (4, num_classes), mistakes {key: logits that differ}). The reference's
    and the mistakes' models are built once per grading process, not once per submission."""
    kwargs, seed = HIDDEN_MLP_CONFIGS[index], 100 + index
    x = _props().inputs((4, kwargs["input_dim"]), seed)
    logits, mistakes = mlp_expectation(kwargs, seed, x)
    return dict(seed=seed, x=x, logits=logits, mistakes=mistakes)


def _builder(fn, name, case, weights=True):
    """Calls of the learner's builder in the kernel, giving a local model rebuilt from its config."""
    return lambda **kwargs: _kernel().mirror_model(fn(**kwargs), name, case, weights)


def hidden_build_mlp(fn):
    """The hidden tests of build_mlp. ``fn`` is the learner's builder as the protocol's session
    gives it: it is called in the kernel, and the model it returns is judged here, rebuilt from
    its config and weights (see :mod:`autograder.protocol.keras_objects`)."""
    props = _props()
    name = "build_mlp"
    for i, kwargs in enumerate(HIDDEN_MLP_CONFIGS):
        case = f"hidden: {', '.join(f'{k}={v}' for k, v in kwargs.items())}"
        expected = _hidden_mlp_expectation(i)
        model = props.inspect_mlp(_builder(fn, name, case), name, case, kwargs, mlp_params(kwargs), expected)
        if kwargs.get("dropout_rate", 0) > 0:
            a = props.numpy_out(model(expected["x"], training=True))
            b = props.numpy_out(model(expected["x"], training=True))
            if props.close(a, b, rtol=1e-6, atol=1e-7):
                props.fail(name, case, "two training-mode calls gave the same output: dropout is not active "
                                       "in training")
    _hidden_mlp_learns(fn)


def _separable(n, d, k, seed):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-2, 2, size=(k, d))
    y = np.arange(n) % k
    x = (centers[y] + 0.3 * rng.uniform(-1, 1, size=(n, d))).astype(np.float32)
    return x, y


def _hidden_mlp_learns(fn):
    """A few Adam steps on a separable toy problem lower the loss (the learner's architecture,
    initialized here with a fixed seed)."""
    props = _props()
    keras = props._keras()
    name, case = "build_mlp", "hidden: 20 Adam steps on a separable toy problem"
    keras.utils.set_random_seed(0)
    model = _builder(fn, name, case, weights=False)(input_dim=5, num_classes=3, hidden_units=(16,), dropout_rate=0.1,
                                                    l2=1e-4, batchnorm=True)
    if not isinstance(model, keras.Model):
        props.fail(name, case, f"expected a keras.Model, got {type(model).__name__}")
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = _separable(48, 5, 3, 1)
    first = float(model.evaluate(x, y, verbose=0))
    for _ in range(20):
        model.train_on_batch(x, y)
    last = float(model.evaluate(x, y, verbose=0))
    if not last < 0.7 * first:
        props.fail(name, case, f"the loss went from {first:.4f} to {last:.4f} in 20 steps; a correct model "
                               "lowers it by far more than 30% here")


_compile_expectations_once = once_per_process(compile_expectations)


def _compiling(fn, name, case):
    """compile_for_classification(model, learning_rate) as the inspections call it: the model is
    sent into the kernel, the learner's function compiles it there, and its compile config is
    applied here to the check's model (returned when the learner returned the model it was given)."""
    kernel = _kernel()

    def compile_here(model, learning_rate):
        remote = kernel.send(fn, model)
        returned = fn(model=remote, learning_rate=learning_rate)
        config = remote.get_compile_config()
        if config is not None:
            try:
                model.compile_from_config(config)
            except Exception as err:  # noqa: BLE001
                _props().fail(name, case, f"the model's compile settings could not be used here "
                                          f"({type(err).__name__}: {str(err)[:300]}); compile with Keras's own "
                                          "optimizer, loss and metric")
        if isinstance(returned, kernel.RemoteObject):
            return model if fn.session.identical(returned, remote) else kernel.stand_in(returned)
        return returned

    return compile_here


def hidden_compile(fn):
    props = _props()
    keras = props._keras()
    name = "compile_for_classification"
    expected = _compile_expectations_once()
    for i, (d_in, k, lr) in enumerate([(5, 3, 0.02), (3, 3, 3e-4), (8, 3, 1e-3)]):
        case = f"hidden: a linear model {d_in} -> {k}, learning_rate={lr}"
        model = props._tiny_linear_model(d_in, k, 10 + i)
        props.inspect_compiled(_compiling(fn, name, case), name, case, model, lr, expected)
    case = "hidden: learning_rate = 0"
    try:
        fn(model=_kernel().send(fn, props._tiny_linear_model(3, 3, 0)), learning_rate=0.0)
    except ValueError:
        pass
    except Exception as err:  # noqa: BLE001
        props.fail(name, case, f"expected a ValueError, got {type(err).__name__}: {err}")
    else:
        props.fail(name, case, "expected a ValueError for a learning rate <= 0")
    case = "hidden: fit for 5 epochs on a separable toy problem"
    keras.utils.set_random_seed(0)
    model = _compiling(fn, name, case)(keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                                         keras.layers.Dense(3)]), 0.05)
    if not isinstance(model, keras.Model) or model.optimizer is None:
        props.fail(name, case, "return the model you were given, compiled")
    x, y = _separable(60, 4, 3, 2)
    history = model.fit(x, y, epochs=5, batch_size=20, verbose=0).history
    acc = next((history[k] for k in ("accuracy", "acc", "sparse_categorical_accuracy") if k in history), None)
    if acc is None:
        props.fail(name, case, f"fit reported {sorted(history)}, no accuracy")
    if not history["loss"][-1] < history["loss"][0]:
        props.fail(name, case, f"the loss did not decrease: {np.round(history['loss'], 4).tolist()}")


def hidden_make_callbacks(fn):
    props = _props()
    kernel = _kernel()
    for patience in (2, 3, 10, 1, 5):
        props.inspect_callbacks(lambda **kwargs: kernel.mirror_callbacks(fn(**kwargs)), "make_callbacks",
                                f"hidden: patience={patience}", patience)


def _stepping(fn, model, optimizer):
    """train_step(model, optimizer, loss_fn, x, y) as the inspections call it: model, optimizer and
    loss are sent into the kernel once, the learner's step runs there, and after every call the
    kernel model's weights and the optimizer's step count are copied onto the check's objects."""
    kernel = _kernel()
    keras = _props()._keras()
    remote = [kernel.send(fn, model, compiled=True), kernel.send(fn, optimizer),
              kernel.send(fn, keras.losses.SparseCategoricalCrossentropy(from_logits=True))]

    def step_here(model, optimizer, loss_fn, x, y):
        loss = fn(model=remote[0], optimizer=remote[1], loss_fn=remote[2], x=x, y=y)
        weights = remote[0].get_weights()
        iterations = kernel.to_array(remote[1].iterations)
        model.set_weights(weights)
        optimizer.iterations.assign(iterations)
        return kernel.to_array(loss)

    return step_here


HIDDEN_TRAIN_STEP_RUNS = [  # (case, train_step_setup arguments, optimizer factory, steps)
    ("hidden: 2 SGD steps, hidden 6, L2 0.01", dict(seed=11, l2=0.01, hidden=6, d_in=5, k=4, n=12), _sgd, 2),
    ("hidden: 3 Adam steps, hidden 4, L2 0.2", dict(seed=12, l2=0.2, hidden=4, d_in=3, k=3, n=10), _adam, 3),
]


@once_per_process
def _hidden_train_step_expectation(case):
    """(losses, weights after, {mistake key: {"losses": ...}} of mistakes whose losses differ) of the reference's
    train_step on the run ``case`` of HIDDEN_TRAIN_STEP_RUNS; computed once per grading process."""
    _, setup, optimizer_factory, steps = next(run for run in HIDDEN_TRAIN_STEP_RUNS if run[0] == case)
    expected_losses, expected_weights = train_step_run(_reference().train_step, setup, optimizer_factory, steps)
    mistakes = {}
    for key, wrong in _mistakes("train_step").items():
        run = train_step_run(wrong, setup, optimizer_factory, steps)
        if run is not None and not _props().close(run[0], expected_losses):
            mistakes[key] = {"losses": run[0]}
    return expected_losses, expected_weights, mistakes


def hidden_train_step(fn):
    props = _props()
    name = "train_step"
    for case, setup, optimizer_factory, steps in HIDDEN_TRAIN_STEP_RUNS:
        expected_losses, expected_weights, mistakes = _hidden_train_step_expectation(case)
        model, x, y = props.train_step_setup(**setup)
        before = [props.numpy_out(w) for w in model.weights]
        optimizer = optimizer_factory()
        losses, after = props.run_train_steps(_stepping(fn, model, optimizer), name, case, model, optimizer, x, y,
                                              steps)
        props.diagnose_train_step(name, case, model, optimizer, before, after, losses, expected_losses,
                                  expected_weights, mistakes, steps)
    case = "hidden: 15 Adam steps lower the loss"
    model, x, y = props.train_step_setup(seed=13, l2=1e-3)
    optimizer = _adam()
    losses, _ = props.run_train_steps(_stepping(fn, model, optimizer), name, case, model, optimizer, x, y, 15)
    if not losses[-1] < 0.8 * losses[0]:
        props.fail(name, case, f"the loss went from {losses[0]:.4f} to {losses[-1]:.4f}")


HIDDEN_CUSTOM = {
    "build_mlp": hidden_build_mlp,
    "compile_for_classification": hidden_compile,
    "make_callbacks": hidden_make_callbacks,
    "train_step": hidden_train_step,
}
