"""Visible checks for chapter 09 (Keras training): they inspect the model, optimizer, loss and
callbacks a learner's function makes, and run it on tiny fixed inputs.

Expected outputs are stored numbers (computed from the instructor's reference with the same
fixed weights by ``python -m autograder.build_checks``, read by :func:`stored_numbers`), never
code that builds the answer. ``keras`` is imported inside the checks only: this module is imported whenever any
chapter runs a check, and the NumPy chapters must not load TensorFlow.

Every description in ``MISTAKE`` completes the sentence "Your output matches ...".
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse.checks.properties import stored
from dlcourse.checks.runner import CheckFailure, call_learner

CHAPTER = "09_keras_training"

MISTAKE = {
    "softmax output": "a softmax output layer: the model must output logits, because "
                      "SparseCategoricalCrossentropy(from_logits=True) applies the softmax itself "
                      "(with both, softmax is applied twice)",
    "regularizer not attached": "an L2 regularizer that was created but never attached to a layer "
                                "(model.losses is empty, so it does nothing)",
    "batchnorm after relu": "batch normalization after the ReLU instead of between the Dense layer and the ReLU",
    "from_logits False": "from_logits=False on a model that outputs logits (the loss treats logits as probabilities)",
    "adam lr": "Adam(lr=...): Keras 3 has no `lr` argument, it is called learning_rate",
    "default learning rate": "Adam without the learning_rate argument (it stays at the default 0.001)",
    "no restore": "EarlyStopping without restore_best_weights=True (training ends with the last weights, "
                  "not the best ones)",
    "training loss monitored": "callbacks monitoring the training loss ('loss') instead of the validation loss",
    "inference mode": "calling the model without training=True (batch norm and dropout stay in inference mode)",
    "no model.losses": "leaving out model.losses (the L2 penalties never reach the loss or the gradients)",
    "compiled optimizer": "using the optimizer from model.compile instead of the one passed in (compile only "
                          "configures fit(); a custom loop uses what it is given)",
}

RTOL, ATOL = 1e-4, 1e-5  # float32 models: ~1e-7 rounding per operation, a few dozen operations


def _keras():
    import keras

    return keras


def all_layers(model):
    """The model's layers in order, nested models flattened."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from all_layers(layer)
        else:
            yield layer


def _kind(layer):
    keras = _keras()
    for cls in (keras.layers.Dense, keras.layers.Conv2D, keras.layers.BatchNormalization, keras.layers.Dropout,
                keras.layers.MaxPooling2D, keras.layers.GlobalAveragePooling2D):
        if isinstance(layer, cls):
            return cls.__name__
    return type(layer).__name__


def assign_test_weights(model, seed):
    """Overwrite every weight with fixed pseudo-random values, assigned by layer type and order.

    Dense/Conv2D kernels ~ U(-a, a) with variance 1 / fan_in, biases ~ U(-0.2, 0.2) (zero when a
    batch norm layer comes next, where a bias is redundant, so models with and without that
    bias compute the same); batch norm: gamma ~ U(0.5, 1.5), beta and the moving mean ~
    U(-0.3, 0.3), the moving variance ~ U(0.5, 2). The random stream depends only on the
    sequence of layer types and shapes, so two models with the same layout get the same weights.
    """
    rng = np.random.default_rng(seed)
    layers = [layer for layer in all_layers(model) if layer.weights]
    following = [_kind(layer) for layer in all_layers(model)]
    order = list(all_layers(model))
    for layer in layers:
        kind = _kind(layer)
        if kind in ("Dense", "Conv2D"):
            shape = tuple(layer.kernel.shape)
            fan_in = math.prod(shape[:-1])
            layer.kernel.assign(rng.uniform(-1, 1, size=shape) * math.sqrt(3.0 / fan_in))
            bias = rng.uniform(-0.2, 0.2, size=shape[-1])
            position = order.index(layer)
            if position + 1 < len(following) and following[position + 1] == "BatchNormalization":
                bias = np.zeros_like(bias)
            if getattr(layer, "bias", None) is not None:
                layer.bias.assign(bias)
        elif kind == "BatchNormalization":
            n = int(layer.moving_mean.shape[-1])
            gamma, beta = rng.uniform(0.5, 1.5, size=n), rng.uniform(-0.3, 0.3, size=n)
            mean, var = rng.uniform(-0.3, 0.3, size=n), rng.uniform(0.5, 2.0, size=n)
            if layer.gamma is not None:
                layer.gamma.assign(gamma)
            if layer.beta is not None:
                layer.beta.assign(beta)
            layer.moving_mean.assign(mean)
            layer.moving_variance.assign(var)
        else:
            raise CheckFailure(f"cannot test a model containing a {type(layer).__name__} layer with weights; "
                               "use only the layers the exercise asks for")
    return model


def inputs(shape, seed):
    """Fixed test inputs in [-1, 1) (uniform draws: the same stream on every NumPy version)."""
    return np.random.default_rng(seed).uniform(-1, 1, size=shape).astype(np.float32)


def numpy_out(tensor):
    return np.asarray(_keras().ops.convert_to_numpy(tensor))


def close(got, expected, rtol=RTOL, atol=ATOL):
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=rtol, atol=atol))


def looks_like_probabilities(out):
    out = np.asarray(out, dtype=np.float64)
    return out.ndim == 2 and bool(np.all(out >= 0) and np.all(out <= 1) and np.allclose(out.sum(axis=1), 1, atol=1e-4))


def fail(name, case, message, mistake=None):
    text = f"{name}, case '{case}': {message}"
    if mistake:
        text += f"\n  Your output matches {MISTAKE[mistake]}."
    raise CheckFailure(text)


# ---------------------------------------------------------------------------------------- stored
# The configurations whose parameter counts and logits build_checks stores (from the reference and the
# named mistakes, with assign_test_weights).
MLP_CONFIGS = {
    "one hidden layer": dict(kwargs=dict(input_dim=4, num_classes=3, hidden_units=(5,)), seed=1),
    "two hidden layers, batch norm, dropout 0.5, l2 0.01": dict(
        kwargs=dict(input_dim=4, num_classes=3, hidden_units=(6, 5), dropout_rate=0.5, l2=0.01, batchnorm=True),
        seed=2),
    "no hidden layer (logistic regression), l2 0.1": dict(
        kwargs=dict(input_dim=3, num_classes=2, hidden_units=(), l2=0.1), seed=3),
}


# ------------------------------------------------------------------------------------- build_mlp
def inspect_mlp(fn, name, case, kwargs, params, expected=None):
    """Check one build_mlp model: structure, parameters, regularizers, dropout, batch norm, and
    its inference output with fixed weights when ``expected`` = dict(seed, x, logits, mistakes)
    is given (mistakes: description key -> the logits of that mistake). Returns the model."""
    keras = _keras()
    model = call_learner(fn, name, case, dict(kwargs))
    if not isinstance(model, keras.Model):
        fail(name, case, f"expected a keras.Model, got {type(model).__name__}")
    hidden = tuple(kwargs.get("hidden_units", (128,)))
    dropout = float(kwargs.get("dropout_rate", 0.0))
    l2 = float(kwargs.get("l2", 0.0))
    batchnorm = bool(kwargs.get("batchnorm", False))
    d_in, k = kwargs["input_dim"], kwargs["num_classes"]
    layers = list(all_layers(model))
    dense = [layer for layer in layers if _kind(layer) == "Dense"]
    if len(dense) != len(hidden) + 1:
        fail(name, case, f"expected {len(hidden) + 1} Dense layers ({len(hidden)} hidden + the output), "
                         f"found {len(dense)}")
    probe = inputs((2, d_in), 0)
    out = numpy_out(model(probe, training=False))
    if out.shape != (2, k):
        fail(name, case, f"for a batch of 2 inputs the model returned shape {out.shape}, expected (2, {k})")
    if looks_like_probabilities(out) or getattr(dense[-1].activation, "__name__", "") == "softmax" \
            or _kind(layers[-1]) in ("Softmax",):
        fail(name, case, "the model outputs probabilities (rows sum to 1), not logits", "softmax output")
    if getattr(dense[-1].activation, "__name__", "linear") != "linear":
        fail(name, case, f"the output layer has activation {dense[-1].activation.__name__}; it must be linear "
                         "(logits)")
    bn = [layer for layer in layers if _kind(layer) == "BatchNormalization"]
    if len(bn) != (len(hidden) if batchnorm else 0):
        fail(name, case, f"expected {len(hidden) if batchnorm else 0} BatchNormalization layers "
                         f"(batchnorm={batchnorm}, {len(hidden)} hidden layers), found {len(bn)}")
    drops = [layer for layer in layers if _kind(layer) == "Dropout"]
    wanted = len(hidden) if dropout > 0 else 0
    if len([d for d in drops if float(d.rate) > 0]) != wanted:
        fail(name, case, f"expected {wanted} Dropout layers with rate {dropout} (one after each hidden "
                         f"activation when dropout_rate > 0), found rates {[float(d.rate) for d in drops]}")
    if any(not math.isclose(float(d.rate), dropout, rel_tol=1e-6) for d in drops if float(d.rate) > 0):
        fail(name, case, f"Dropout rates are {[float(d.rate) for d in drops]}, expected {dropout}: "
                         "rate is the fraction dropped, as in Keras")
    count = model.count_params()
    if count not in params:
        sizes = (d_in, *hidden, k)
        fail(name, case, f"the model has {count} parameters, expected {params[0]}: Dense layers of sizes "
                         f"{' -> '.join(map(str, sizes))} have sum(d_in * d_out + d_out) weights"
                         + (", and each batch norm layer 4 per unit (gamma, beta, moving mean and variance)"
                            if batchnorm else ""))
    _check_regularizers(name, case, model, dense, l2)
    if expected is not None:
        assign_test_weights(model, expected["seed"])
        got = numpy_out(model(expected["x"], training=False))
        want = np.asarray(expected["logits"])
        if not close(got, want):
            mistake = next((m for m, out in expected.get("mistakes", {}).items() if close(got, out)), None)
            fail(name, case, "with fixed weights, the model's inference output differs from the expected "
                             "logits: check the order Dense -> BatchNormalization -> ReLU -> Dropout and the "
                             "ReLU activation of the hidden layers\n"
                             f"  expected: {np.round(want, 5).tolist()}\n"
                             f"  got:      {np.round(got, 5).tolist()}", mistake)
    return model


def _check_regularizers(name, case, model, dense, l2):
    keras = _keras()
    penalties = [float(numpy_out(p)) for p in model.losses]
    if l2 == 0:
        if any(abs(p) > 0 for p in penalties):
            fail(name, case, f"l2=0 but the model has regularization penalties {penalties}")
        return
    if not penalties:
        fail(name, case, f"l2={l2} but model.losses is empty: no regularizer is attached to any layer "
                         "(pass kernel_regularizer=keras.regularizers.L2(l2) to each Dense layer)",
             "regularizer not attached")
    for i, layer in enumerate(dense):
        reg = layer.kernel_regularizer
        if reg is None:
            where = "its bias" if layer.bias_regularizer is not None else "nothing"
            fail(name, case, f"Dense layer {i} ({layer.name}) has no kernel_regularizer (regularizer on {where}); "
                             "every Dense kernel gets L2(l2)")
        kernel = numpy_out(layer.kernel).astype(np.float64)
        value = float(numpy_out(reg(layer.kernel)))
        if not math.isclose(value, l2 * float(np.sum(kernel**2)), rel_tol=1e-4, abs_tol=1e-7):
            fail(name, case, f"Dense layer {i}'s kernel regularizer gives {value:.6g} for its kernel, expected "
                             f"l2 * sum(kernel**2) = {l2 * float(np.sum(kernel ** 2)):.6g} (L2 with strength {l2}, "
                             "no 1/2, as keras.regularizers.L2)")
        if layer.bias_regularizer is not None:
            fail(name, case, f"Dense layer {i} regularizes its bias; only kernels are regularized")
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization) and (layer.gamma_regularizer or layer.beta_regularizer):
            fail(name, case, "batch norm parameters are regularized; only Dense kernels are")


def check_build_mlp(build_mlp):
    name = "build_mlp"
    numbers = stored_numbers()["build_mlp"]
    for case, cfg in MLP_CONFIGS.items():
        inspect_mlp(build_mlp, name, case, cfg["kwargs"], tuple(numbers[case]["params"]), dict(
            seed=cfg["seed"], x=mlp_probe(cfg), logits=numbers[case]["logits"],
            mistakes=numbers[case].get("mistakes", {})))
    return len(MLP_CONFIGS)


def mlp_probe(cfg):
    """The fixed inputs (3, input_dim) on which a build_mlp configuration's logits are stored."""
    return inputs((3, cfg["kwargs"]["input_dim"]), cfg["seed"])


# ------------------------------------------------------------------------ compile_for_classification
COMPILE_LOGITS = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0], [-1.5, 2.5, 0.0], [1.0, 1.0, 1.0]], dtype=np.float32)
COMPILE_LABELS = np.array([0, 2, 2, 1])


def compiled_loss_value(model, y, logits):
    """The compiled loss on (y, logits), whether compile got a loss object or a name."""
    keras = _keras()
    loss = model.loss
    fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    return float(np.mean(numpy_out(fn(y, logits))))


def inspect_compiled(fn, name, case, model, learning_rate, stored):
    """Call compile_for_classification(model, learning_rate) and inspect the result."""
    keras = _keras()
    try:
        returned = fn(model=model, learning_rate=learning_rate)
    except NotImplementedError:
        raise CheckFailure(f"{name} is not implemented yet: replace `raise NotImplementedError()` in its cell "
                           "with your code.") from None
    except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
        mistake = "adam lr" if "lr" in str(err) else None
        fail(name, case, f"raised {type(err).__name__}: {err}", mistake)
    if returned is not model:
        fail(name, case, f"return the compiled model (the same object you were given), got {type(returned).__name__}")
    opt = model.optimizer
    if opt is None or type(opt).__name__ != "Adam":
        fail(name, case, f"the optimizer is {type(opt).__name__}, expected keras.optimizers.Adam")
    lr = float(numpy_out(opt.learning_rate))
    if not math.isclose(lr, learning_rate, rel_tol=1e-6):
        mistake = "default learning rate" if math.isclose(lr, 1e-3, rel_tol=1e-6) else None
        fail(name, case, f"Adam's learning rate is {lr:.6g}, expected {learning_rate}", mistake)
    if model.loss is None:
        fail(name, case, "no loss was compiled")
    value = compiled_loss_value(model, COMPILE_LABELS, COMPILE_LOGITS)
    if not math.isclose(value, stored["loss"], rel_tol=1e-5):
        mistake = "from_logits False" if math.isclose(value, stored["loss_from_probabilities"], rel_tol=1e-4) else None
        fail(name, case, f"the compiled loss of logits {COMPILE_LOGITS.tolist()} with labels {COMPILE_LABELS.tolist()} "
                         f"is {value:.6f}, expected {stored['loss']:.6f} (sparse categorical cross-entropy of "
                         "logits, from_logits=True)", mistake)
    metrics = model.get_compile_config().get("metrics") or []
    names = [m if isinstance(m, str) else (m.get("config", {}).get("name") if isinstance(m, dict) else
                                           getattr(m, "name", str(m))) for m in keras.tree.flatten(metrics)
             if m is not None]
    if not any(str(n) in ("accuracy", "acc", "sparse_categorical_accuracy") for n in names):
        fail(name, case, f"the compiled metrics are {names}; expected accuracy (metrics=['accuracy'])")
    return model


def _tiny_linear_model(d_in, k, seed):
    keras = _keras()
    model = keras.Sequential([keras.Input((d_in,)), keras.layers.Dense(k)])
    return assign_test_weights(model, seed)


def check_compile_for_classification(compile_for_classification):
    name = "compile_for_classification"
    model = _tiny_linear_model(3, 3, 0)
    inspect_compiled(compile_for_classification, name, "a linear model, learning_rate=0.003", model, 0.003,
                     stored_numbers()["compile_for_classification"])
    return 1


# ---------------------------------------------------------------------------------- make_callbacks
def inspect_callbacks(fn, name, case, patience):
    keras = _keras()
    callbacks = call_learner(fn, name, case, {"patience": patience})
    if not isinstance(callbacks, (list, tuple)) or len(callbacks) != 2:
        fail(name, case, f"expected a list of 2 callbacks [EarlyStopping, ReduceLROnPlateau], got {callbacks!r}")
    stop = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    plateau = [c for c in callbacks if isinstance(c, keras.callbacks.ReduceLROnPlateau)]
    if len(stop) != 1 or len(plateau) != 1:
        fail(name, case, f"expected one EarlyStopping and one ReduceLROnPlateau, got "
                         f"{[type(c).__name__ for c in callbacks]}")
    stop, plateau = stop[0], plateau[0]
    for cb in (stop, plateau):
        if cb.monitor != "val_loss":
            mistake = "training loss monitored" if cb.monitor == "loss" else None
            fail(name, case, f"{type(cb).__name__} monitors {cb.monitor!r}; both must monitor 'val_loss' "
                             "(the training loss keeps falling while the model overfits)", mistake)
    if stop.patience != patience:
        fail(name, case, f"EarlyStopping has patience {stop.patience}, expected {patience}")
    if not stop.restore_best_weights:
        fail(name, case, "EarlyStopping does not restore the best weights", "no restore")
    want = max(1, patience // 2)
    if plateau.patience != want or not math.isclose(float(plateau.factor), 0.5):
        fail(name, case, f"ReduceLROnPlateau has patience {plateau.patience} and factor {plateau.factor}; expected "
                         f"patience max(1, patience // 2) = {want} (so the rate drops before training stops) "
                         "and factor 0.5")
    return callbacks


def check_make_callbacks(make_callbacks):
    for patience in (4, 1, 7):
        inspect_callbacks(make_callbacks, "make_callbacks", f"patience={patience}", patience)
    return 3


# -------------------------------------------------------------------------------------- train_step
def train_step_setup(seed=5, l2=0.05, hidden=5, d_in=4, k=3, n=8):
    """A Dense -> BatchNorm -> ReLU -> Dense model with L2 on both kernels and fixed weights,
    compiled with a *different* optimizer (SGD, learning rate 0) than the one the step gets,
    plus a fixed batch. Returns (model, x, y)."""
    keras = _keras()
    reg = keras.regularizers.L2(l2)
    # No bias before batch norm: its gradient is pure rounding noise (batch norm cancels any shift),
    # and Adam would turn that noise into full-size steps, different for every summation order.
    model = keras.Sequential([keras.Input((d_in,)), keras.layers.Dense(hidden, use_bias=False, kernel_regularizer=reg),
                              keras.layers.BatchNormalization(), keras.layers.ReLU(),
                              keras.layers.Dense(k, kernel_regularizer=reg)])
    assign_test_weights(model, seed)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = inputs((n, d_in), seed)
    y = (np.arange(n) * 7 + seed) % k
    return model, x, y


def run_train_steps(fn, name, case, model, optimizer, x, y, steps):
    """Call train_step `steps` times; return (list of float losses, weights afterwards)."""
    keras = _keras()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses = []
    for _ in range(steps):
        loss = call_learner(fn, name, case, dict(model=model, optimizer=optimizer, loss_fn=loss_fn, x=x, y=y))
        try:
            value = numpy_out(loss)
        except Exception:  # noqa: BLE001
            value = np.asarray(loss, dtype=object)
        if np.ndim(value) != 0:
            fail(name, case, f"train_step must return the loss as a scalar, got {loss!r}")
        losses.append(float(value))
    return losses, [numpy_out(w) for w in model.weights]


def check_train_step(train_step):
    keras = _keras()
    name, case = "train_step", "two SGD steps (momentum 0.9) on a Dense-BatchNorm-ReLU-Dense model with L2 0.05"
    model, x, y = train_step_setup()
    before = [numpy_out(w) for w in model.weights]
    optimizer = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    losses, after = run_train_steps(train_step, name, case, model, optimizer, x, y, 2)
    numbers = stored_numbers()["train_step"]
    diagnose_train_step(name, case, model, optimizer, before, after, losses, numbers["losses"], numbers["weights"],
                        numbers["mistakes"], steps=2)
    return 1


def diagnose_train_step(name, case, model, optimizer, before, after, losses, expected_losses, expected_weights,
                        mistakes, steps):
    """Compare a learner's train_step run with the expected losses and weights; name the mistake."""
    iterations = int(numpy_out(optimizer.iterations))
    if all(np.array_equal(a, b) for a, b in zip(before, after)):
        fail(name, case, "the weights did not change: compute the gradients inside the tape and call "
                         "optimizer.apply_gradients(zip(grads, model.trainable_variables))",
             "compiled optimizer" if iterations == 0 else None)
    if iterations != steps:
        fail(name, case, f"the optimizer passed in took {iterations} steps in {steps} calls, expected one per call",
             "compiled optimizer" if iterations == 0 else None)
    got = np.asarray(losses)
    if not close(got, expected_losses):
        mistake = next((m for m, out in mistakes.items() if close(got, out["losses"])), None)
        fail(name, case, f"returned losses {got.tolist()}, expected {np.round(expected_losses, 6).tolist()} "
                         "(the loss of a training-mode forward pass plus sum(model.losses))", mistake)
    names = [w.path if hasattr(w, "path") else w.name for w in model.weights]
    for wname, g, e in zip(names, after, expected_weights):
        if not close(g, e):
            fail(name, case, f"after {steps} steps the weight {wname} differs from the expected one: the losses "
                             "match, so check the gradients (of the total loss, for model.trainable_variables) and "
                             "that apply_gradients is called once per step")


PROPERTY_CHECKS = {
    "build_mlp": check_build_mlp,
    "compile_for_classification": check_compile_for_classification,
    "make_callbacks": check_make_callbacks,
    "train_step": check_train_step,
}


def stored_numbers():
    """The numbers stored for these checks: logits of build_mlp per configuration, the compiled
    loss, train_step's losses and weights (each with the outputs of the known mistakes)."""
    return stored(CHAPTER)
