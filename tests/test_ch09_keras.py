"""Chapter 09 (Keras training): the checks accept other correct implementations, the stored
numbers of the visible checks are what the reference gives, and the notebook's claims hold
(NumPy Adam and Keras Adam take the same steps once epsilon is converted; a regularizer
that is not attached does nothing; a softmax output with from_logits=True learns worse; a model
saved to .keras reloads with identical predictions and its optimizer state, and a save_best_only
checkpoint holds the best epoch, the one EarlyStopping restores)."""

import os

import numpy as np
import pytest

pytestmark = pytest.mark.keras

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from tests.helpers import both_checks as _both_checks  # noqa: E402


# ------------------------------------------------------------------- other correct implementations
def test_a_sequential_mlp_with_fused_relu_and_no_bias_before_batchnorm_passes(keras):
    def build_mlp(input_dim, num_classes, hidden_units=(128,), dropout_rate=0.0, l2=0.0, batchnorm=False):
        if input_dim < 1 or num_classes < 2 or not 0 <= dropout_rate < 1 or l2 < 0 or input_dim != int(input_dim) \
                or any(u < 1 for u in hidden_units):
            raise ValueError("bad argument")
        model = keras.Sequential([keras.layers.Input(shape=(input_dim,))])
        for units in hidden_units:
            reg = keras.regularizers.l2(l2) if l2 else None
            if batchnorm:
                model.add(keras.layers.Dense(units, use_bias=False, kernel_regularizer=reg))
                model.add(keras.layers.BatchNormalization())
                model.add(keras.layers.Activation("relu"))
            else:
                model.add(keras.layers.Dense(units, activation="relu", kernel_regularizer=reg))
            model.add(keras.layers.Dropout(dropout_rate))  # rate 0 is harmless
        model.add(keras.layers.Dense(num_classes, kernel_regularizer=keras.regularizers.L1L2(l2=l2) if l2 else None))
        return model

    _both_checks(build_mlp, "build_mlp")


def test_compile_with_metric_objects_and_a_string_free_loss_passes(keras):
    def compile_for_classification(model, learning_rate):
        if learning_rate <= 0:
            raise ValueError("learning_rate must be > 0")
        optimizer = keras.optimizers.Adam(learning_rate)
        model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()])
        return model

    _both_checks(compile_for_classification, "compile_for_classification")


@pytest.mark.slow  # traces a tf.function train step many times (about 2.5 minutes of CPU)
def test_a_tf_function_train_step_returning_a_float_passes(tf):
    def train_step(model, optimizer, loss_fn, x, y):
        @tf.function
        def compute(x, y):
            with tf.GradientTape() as tape:
                total = loss_fn(y, model(x, training=True)) + sum(model.losses)
            grads = tape.gradient(total, model.trainable_weights)
            return total, grads

        total, grads = compute(tf.constant(x), tf.constant(y))
        optimizer.apply(grads, model.trainable_weights)
        return float(total)

    _both_checks(train_step, "train_step")


def test_callbacks_in_the_other_order_pass(keras):
    def make_callbacks(patience):
        if int(patience) != patience or patience < 1:
            raise ValueError("patience must be a positive integer")
        return [keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.5, patience=max(1, patience // 2), min_lr=1e-6),
                keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True, verbose=1)]

    _both_checks(make_callbacks, "make_callbacks")


# ------------------------------------------------------------------- stored numbers
def _assert_same_numbers(stored, fresh, where):
    if isinstance(fresh, dict):
        assert set(stored) == set(fresh), f"{where}: keys {sorted(stored)} vs {sorted(fresh)}"
        for key in fresh:
            _assert_same_numbers(stored[key], fresh[key], f"{where}[{key!r}]")
    elif isinstance(fresh, list) and fresh and isinstance(fresh[0], np.ndarray):
        assert len(stored) == len(fresh), where
        for i, (s, f) in enumerate(zip(stored, fresh)):
            np.testing.assert_allclose(s, f, rtol=1e-5, atol=1e-6, err_msg=f"{where}[{i}]")
    else:
        np.testing.assert_allclose(stored, fresh, rtol=1e-5, atol=1e-6, err_msg=where)


def test_stored_visible_numbers_match_the_reference(keras):
    """If this fails, run `python -m autograder.build_checks` (it writes the numbers the visible checks
    read)."""
    from autograder.chapters.ch09_keras_training.cases import stored_numbers
    from dlcourse.checks.properties.keras_training import stored_numbers as stored_for_students

    _assert_same_numbers(stored_for_students(), stored_numbers(), "stored numbers")


def test_parameter_formula_matches_keras(keras):
    from autograder.chapters.ch09_keras_training.cases import HIDDEN_MLP_CONFIGS, mlp_params
    from autograder.chapters.ch09_keras_training.reference import build_mlp

    for kwargs in HIDDEN_MLP_CONFIGS:
        assert build_mlp(**kwargs).count_params() == mlp_params(kwargs)[0], kwargs


# ------------------------------------------------------------------- claims the notebook makes
def test_numpy_adam_matches_keras_adam_after_the_epsilon_conversion(keras):
    """The notebook's side-by-side: on a float64 variable, Keras's Adam equals the course's
    adam_step called with eps_t = eps / sqrt(1 - beta2^t) (epsilon hat); unconverted they
    differ visibly on small gradients."""
    from autograder.chapters.ch03_optimizers.reference import adam_step

    rng = np.random.default_rng(0)
    w0 = rng.normal(size=5)
    grads = [s * rng.normal(size=5) for s in (1e-6, 1e-3, 1.0, 1e-6, 0.1, 1e-5)]
    lr, b1, b2 = float(np.float32(0.01)), float(np.float32(0.9)), float(np.float32(0.999))  # Keras keeps float32
    opt = keras.optimizers.Adam(learning_rate=lr, beta_1=b1, beta_2=b2)
    var = keras.Variable(w0.copy(), dtype="float64")
    w, m, v = w0.copy(), np.zeros(5), np.zeros(5)
    w_plain, m_plain, v_plain = w0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(grads, start=1):
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), var)])
        w, m, v = adam_step(w, g, m, v, t, lr, b1, b2, eps=1e-7 / np.sqrt(1 - b2**t))
        w_plain, m_plain, v_plain = adam_step(w_plain, g, m_plain, v_plain, t, lr, b1, b2, eps=1e-7)
        np.testing.assert_allclose(var.numpy(), w, rtol=1e-10, atol=1e-12)
    assert np.max(np.abs(w_plain - var.numpy())) > 1e-4


def test_an_unattached_regularizer_changes_nothing(keras):
    """000 §4 creates l1_regularizer and never passes it to a layer: model.losses stays empty."""
    keras.utils.set_random_seed(0)
    l1_regularizer = keras.regularizers.L1(0.01)
    loose = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    attached = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, kernel_regularizer=l1_regularizer)])
    assert loose.losses == [] and len(attached.losses) == 1
    kernel = attached.layers[0].kernel.numpy()
    assert float(attached.losses[0]) == pytest.approx(0.01 * np.abs(kernel).sum(), rel=1e-5)


def test_softmax_output_with_from_logits(keras):
    """003 §4: Dense(K, softmax) with from_logits=True. On the TensorFlow backend Keras spots a
    Softmax op feeding the loss, warns, and uses its input as the logits, so fit still trains;
    the same loss applied to the model's outputs (probabilities) softmaxes twice and can never
    go below log(K - 1 + e) - 1, however good the model."""
    from autograder.chapters.ch09_keras_training.cases import _separable

    x, y = _separable(120, 6, 4, 3)
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(keras.optimizers.Adam(0.01), loss)
    with pytest.warns(UserWarning, match="does not represent logits"):
        reported = model.fit(x, y, epochs=30, batch_size=30, verbose=0).history["loss"][-1]
    recomputed = float(loss(y, model.predict(x, verbose=0)))
    floor = np.log(3 + np.e) - 1  # 4 classes, perfect one-hot probabilities softmaxed again
    assert reported < 0.1
    assert recomputed > floor - 1e-6 > 5 * reported


# ------------------------------------------------------------------- saving, reloading, checkpointing (section 8)
def _reference():
    from autograder.chapters import chapter

    return chapter("09_keras_training").module("reference")


def _noisy_classes(n, d=8, k=3, flip=0.3, seed=0):
    """Gaussian inputs labelled by a fixed linear map, a fraction `flip` of labels replaced at random:
    a network wide enough memorizes the noise of a small training set, so its validation loss turns up."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = np.argmax(x @ np.random.default_rng(99).normal(size=(d, k)), axis=1)
    noisy = rng.random(n) < flip
    y[noisy] = rng.integers(0, k, noisy.sum())
    return x, y


def _inference(model, x):
    return np.asarray(model(x, training=False))


def test_a_saved_model_reloads_with_the_same_predictions_and_optimizer_state(keras, tmp_path):
    """Section 8: model.save to .keras and keras.models.load_model give back the architecture, the weights
    (batch norm's moving statistics included) and Adam's state; predictions are identical. A weights-only
    file (Keras 3: the optimizer's variables too) fills a rebuilt model; its optimizer state is loaded only
    when the rebuilt model's optimizer is built, otherwise Keras warns and skips it."""
    import zipfile

    ref = _reference()
    x, y = _noisy_classes(96)
    architecture = dict(hidden_units=(16,), dropout_rate=0.2, batchnorm=True)
    keras.utils.set_random_seed(0)
    trained = ref.compile_for_classification(ref.build_mlp(8, 3, **architecture), 1e-2)
    trained.fit(x, y, batch_size=32, epochs=2, verbose=0)
    before = _inference(trained, x)

    path = tmp_path / "mlp.keras"
    trained.save(path)
    assert sorted(zipfile.ZipFile(path).namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(_inference(reloaded, x), before, err_msg="load_model changed the predictions")
    assert int(reloaded.optimizer.iterations) == int(trained.optimizer.iterations) == 6
    for saved, restored in zip(trained.optimizer.variables, reloaded.optimizer.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(restored), np.asarray(saved), err_msg=saved.path)
    assert reloaded.loss.from_logits and float(reloaded.optimizer.learning_rate) == pytest.approx(1e-2)

    weights = tmp_path / "mlp.weights.h5"
    trained.save_weights(weights)
    rebuilt = ref.build_mlp(8, 3, **architecture)
    rebuilt.load_weights(weights)
    np.testing.assert_array_equal(_inference(rebuilt, x), before, err_msg="load_weights changed the predictions")
    assert not rebuilt.compiled

    unbuilt = ref.compile_for_classification(ref.build_mlp(8, 3, **architecture), 1e-2)
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        unbuilt.load_weights(weights)
    assert int(unbuilt.optimizer.iterations) == 0
    built = ref.compile_for_classification(ref.build_mlp(8, 3, **architecture), 1e-2)
    built.optimizer.build(built.trainable_variables)
    built.load_weights(weights)
    assert int(built.optimizer.iterations) == 6

    with pytest.raises(ValueError, match="Invalid filepath extension"):
        trained.save(tmp_path / "mlp")  # tf.keras 2's SavedModel folder is not a Keras 3 format


def test_the_best_epoch_checkpoint_holds_the_best_epoch_and_matches_early_stopping(keras, tmp_path):
    """Section 8: ModelCheckpoint(monitor="val_loss", save_best_only=True) beside make_callbacks: reloaded,
    the checkpoint gives the best epoch's val_loss and predicts as the model EarlyStopping restored; the
    default checkpoint (save_best_only=False) holds the last epoch, which is worse."""
    ref = _reference()
    x, y = _noisy_classes(60, seed=1)
    x_val, y_val = _noisy_classes(300, seed=2)
    best_path, last_path = tmp_path / "best.keras", tmp_path / "last.keras"
    keras.utils.set_random_seed(0)
    model = ref.compile_for_classification(ref.build_mlp(8, 3, hidden_units=(64,)), 1e-2)
    callbacks = ref.make_callbacks(patience=3) + [
        keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True),
        keras.callbacks.ModelCheckpoint(last_path, monitor="val_loss"),
    ]
    val_loss = model.fit(x, y, batch_size=30, epochs=12, validation_data=(x_val, y_val), verbose=0,
                         callbacks=callbacks).history["val_loss"]
    best = int(np.argmin(val_loss))
    assert best < len(val_loss) - 1, f"the run must overfit for the test to mean anything: {val_loss}"

    best_checkpoint, last_checkpoint = keras.models.load_model(best_path), keras.models.load_model(last_path)
    best_loss = best_checkpoint.evaluate(x_val, y_val, verbose=0)[0]
    last_loss = last_checkpoint.evaluate(x_val, y_val, verbose=0)[0]
    assert best_loss == pytest.approx(val_loss[best], rel=1e-5), (best_loss, val_loss)
    assert last_loss == pytest.approx(val_loss[-1], rel=1e-5), (last_loss, val_loss)
    assert last_loss > best_loss
    np.testing.assert_array_equal(_inference(best_checkpoint, x_val), _inference(model, x_val),
                                  err_msg="the checkpoint and the weights EarlyStopping restored differ")


def test_a_best_only_checkpoint_without_validation_data_keeps_the_last_epoch(keras, tmp_path):
    """Section 8's pitfall: with no val_loss to monitor, ModelCheckpoint(save_best_only=True) only warns and
    saves every epoch, so its file is the last epoch."""
    x, y = _noisy_classes(40)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(3)])
    model.compile(keras.optimizers.Adam(0.1), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    path = tmp_path / "best.keras"
    with pytest.warns(UserWarning, match="Can save best model only with val_loss available"):
        model.fit(x, y, epochs=3, batch_size=20, verbose=0,
                  callbacks=[keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)])
    saved = keras.models.load_model(path)
    for kept, last in zip(saved.weights, model.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(kept), np.asarray(last))


def test_a_custom_layer_loads_only_when_known(keras, tmp_path):
    """Section 8: the .keras file holds a class's name and arguments, not its code: an unregistered custom
    layer fails to load; passed as custom_objects it loads with its arguments."""

    class Scale(keras.layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return self.factor * x

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(Scale(3.0)(inputs)))
    model.save(tmp_path / "scaled.keras")
    with pytest.raises(TypeError, match="Could not locate class 'Scale'"):
        keras.models.load_model(tmp_path / "scaled.keras")
    reloaded = keras.models.load_model(tmp_path / "scaled.keras", custom_objects={"Scale": Scale})
    assert reloaded.layers[1].factor == 3.0
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(_inference(reloaded, x), _inference(model, x))


@pytest.mark.slow  # trains the notebook's two section-8 models on the chapter's data (about 15 s of CPU)
# the notebook's set-up cell (not run here) silences this note of fit() about already batched datasets
@pytest.mark.filterwarnings("ignore:.*`shuffle=True` was passed:UserWarning")
def test_the_notebooks_section_8_cells_run(keras, tf):
    """The save/reload and checkpoint cells of the solution notebook, run as written (their np.testing
    asserts included) on the chapter's data, with the reference in place of the learner's functions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dlcourse import plotting
    from dlcourse.data import load_image_dataset
    from tests.submissions import load_solution

    ref = _reference()
    namespace = {"np": np, "keras": keras, "tf": tf, "plt": plt, "plotting": plotting,
                 "load_image_dataset": load_image_dataset, "build_mlp": ref.build_mlp,
                 "compile_for_classification": ref.compile_for_classification, "make_callbacks": ref.make_callbacks}
    sources = {c["id"]: "".join(c["source"]) for c in load_solution("09_keras_training")["cells"]}
    for cell_id in ("c003", "c040", "c043"):  # the data, then section 8's two code cells
        exec(compile(sources[cell_id], f"09_keras_training {cell_id}", "exec"), namespace)  # noqa: S102
    plt.close("all")
    assert namespace["best_loss"] < namespace["last_loss"] or len(namespace["h"]["val_loss"]) - 1 == namespace["best"]
