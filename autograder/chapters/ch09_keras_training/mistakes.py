"""Plausible wrong versions of the chapter 09 (Keras training) graded functions.

``MISTAKES[name][description]`` has the reference signature; each description completes the
sentence "your output matches ..." and is the one the visible checks print
(``dlcourse.checks.properties.keras_training.MISTAKE``). Most come from the source articles'
Keras code: a softmax output with ``from_logits=True`` (003 §4), ``Adam(lr=...)`` and a
regularizer created but never attached (000 §4), ``compile`` followed by a custom loop (001 §4).
"""

from __future__ import annotations

import keras

from autograder.chapters.ch09_keras_training.reference import _check_mlp_args, build_mlp, make_callbacks
from dlcourse.checks.properties.keras_training import MISTAKE
from dlcourse.validate import whole_number


# ------------------------------------------------------------------ build_mlp
def _mlp_softmax_output(input_dim, num_classes, hidden_units=(128,), dropout_rate=0.0, l2=0.0, batchnorm=False):
    model = build_mlp(input_dim, num_classes, hidden_units, dropout_rate, l2, batchnorm)
    return keras.Model(model.input, keras.layers.Softmax()(model.output))


def _mlp_regularizer_not_attached(input_dim, num_classes, hidden_units=(128,), dropout_rate=0.0, l2=0.0,
                                  batchnorm=False):
    _check_mlp_args(input_dim, num_classes, hidden_units, dropout_rate, l2)
    l1_regularizer = keras.regularizers.L2(l2)  # noqa: F841 - created, then forgotten (000 §4)
    return build_mlp(input_dim, num_classes, hidden_units, dropout_rate, 0.0, batchnorm)


def _mlp_batchnorm_after_relu(input_dim, num_classes, hidden_units=(128,), dropout_rate=0.0, l2=0.0, batchnorm=False):
    input_dim, num_classes, hidden_units, dropout_rate, l2 = _check_mlp_args(
        input_dim, num_classes, hidden_units, dropout_rate, l2)
    reg = keras.regularizers.L2(l2) if l2 > 0 else None
    inputs = keras.Input((input_dim,))
    x = inputs
    for units in hidden_units:
        x = keras.layers.Dense(units, kernel_regularizer=reg)(x)
        x = keras.layers.ReLU()(x)
        if batchnorm:
            x = keras.layers.BatchNormalization()(x)
        if dropout_rate > 0:
            x = keras.layers.Dropout(dropout_rate)(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes, kernel_regularizer=reg)(x))


# ------------------------------------------------------------------ compile_for_classification
def _compile_from_probabilities(model, learning_rate):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=float(learning_rate)),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def _compile_adam_lr(model, learning_rate):
    model.compile(optimizer=keras.optimizers.Adam(lr=float(learning_rate)),  # raises in Keras 3
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def _compile_default_rate(model, learning_rate):
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


# ------------------------------------------------------------------ make_callbacks
def _callbacks_no_restore(patience):
    patience = whole_number(patience, "patience")
    return [keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, patience // 2))]


def _callbacks_training_loss(patience):
    callbacks = make_callbacks(patience)
    for cb in callbacks:
        cb.monitor = "loss"
    return callbacks


# ------------------------------------------------------------------ train_step
def _step(model, optimizer, loss_fn, x, y, training=True, penalties=True):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=training))
        if penalties and model.losses:
            loss = loss + tf.add_n(model.losses)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss


def _step_inference_mode(model, optimizer, loss_fn, x, y):
    return _step(model, optimizer, loss_fn, x, y, training=False)


def _step_no_penalties(model, optimizer, loss_fn, x, y):
    return _step(model, optimizer, loss_fn, x, y, penalties=False)


def _step_compiled_optimizer(model, optimizer, loss_fn, x, y):
    return _step(model, model.optimizer, loss_fn, x, y)


MISTAKES = {
    "build_mlp": {
        MISTAKE["softmax output"]: _mlp_softmax_output,
        MISTAKE["regularizer not attached"]: _mlp_regularizer_not_attached,
        MISTAKE["batchnorm after relu"]: _mlp_batchnorm_after_relu,
    },
    "compile_for_classification": {
        MISTAKE["from_logits False"]: _compile_from_probabilities,
        MISTAKE["adam lr"]: _compile_adam_lr,
        MISTAKE["default learning rate"]: _compile_default_rate,
    },
    "make_callbacks": {
        MISTAKE["no restore"]: _callbacks_no_restore,
        MISTAKE["training loss monitored"]: _callbacks_training_loss,
    },
    "train_step": {
        MISTAKE["inference mode"]: _step_inference_mode,
        MISTAKE["no model.losses"]: _step_no_penalties,
        MISTAKE["compiled optimizer"]: _step_compiled_optimizer,
    },
}

MISTAKE_KEYS = {description: key for key, description in MISTAKE.items()}
"""description -> the short key the stored check data uses."""
