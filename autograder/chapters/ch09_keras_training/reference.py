"""Reference implementations for chapter 09 (Keras training), Keras 3 on the TensorFlow backend.

Conventions fixed here (the notebook states them and the checks test them):

* ``build_mlp``: ``Input(input_dim)``, then per hidden layer ``Dense(units)`` ->
  ``BatchNormalization()`` (only when ``batchnorm``) -> ReLU -> ``Dropout(dropout_rate)`` (only
  when ``dropout_rate > 0``), then ``Dense(num_classes)`` with a linear activation: the model
  outputs **logits**. With ``l2 > 0`` every Dense layer (hidden and output) gets
  ``kernel_regularizer=L2(l2)`` on its kernel; biases and batch-norm parameters are not
  regularized. Batch norm sits between the Dense layer and the ReLU (it normalizes
  pre-activations); the Dense bias before it is redundant (batch norm's beta replaces it),
  and keeping it or not (``use_bias=False``) are both accepted.
* ``compile_for_classification``: Adam(learning_rate), SparseCategoricalCrossentropy with
  ``from_logits=True`` (the model outputs logits), the "accuracy" metric; returns the model.
* ``make_callbacks(patience)``: [EarlyStopping(monitor="val_loss", patience,
  restore_best_weights=True), ReduceLROnPlateau(monitor="val_loss", factor=0.5,
  patience=max(1, patience // 2))]: the rate is halved before training would stop.
* ``train_step``: one step of a custom loop with ``tf.GradientTape``: forward pass in training
  mode, loss = loss_fn(y, logits) + sum(model.losses) (the regularization penalties, which
  ``fit`` adds for you and a custom loop must add itself), gradients of that total, one
  ``optimizer.apply_gradients``; returns the total loss (a scalar tensor).
"""

from __future__ import annotations

import keras

from dlcourse.validate import whole_number


def _check_mlp_args(input_dim, num_classes, hidden_units, dropout_rate, l2):
    input_dim = whole_number(input_dim, "input_dim")
    num_classes = whole_number(num_classes, "num_classes", 2)
    hidden_units = tuple(whole_number(u, "each entry of hidden_units") for u in hidden_units)
    dropout_rate = float(dropout_rate)
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must lie in [0, 1), got {dropout_rate}")
    l2 = float(l2)
    if not l2 >= 0.0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    return input_dim, num_classes, hidden_units, dropout_rate, l2


def build_mlp(input_dim, num_classes, hidden_units=(128,), dropout_rate=0.0, l2=0.0, batchnorm=False):
    """A multi-layer perceptron that outputs logits (see the module docstring for the layout)."""
    input_dim, num_classes, hidden_units, dropout_rate, l2 = _check_mlp_args(
        input_dim, num_classes, hidden_units, dropout_rate, l2)
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    inputs = keras.Input(shape=(input_dim,))
    x = inputs
    for units in hidden_units:
        x = keras.layers.Dense(units, kernel_regularizer=regularizer)(x)
        if batchnorm:
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        if dropout_rate > 0:
            x = keras.layers.Dropout(dropout_rate)(x)
    outputs = keras.layers.Dense(num_classes, kernel_regularizer=regularizer)(x)
    return keras.Model(inputs, outputs)


def compile_for_classification(model, learning_rate):
    """Compile ``model`` (logits out) for integer-label classification; return it."""
    learning_rate = float(learning_rate)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def make_callbacks(patience):
    """[EarlyStopping restoring the best weights, ReduceLROnPlateau halving the rate sooner]."""
    patience = whole_number(patience, "patience")
    return [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, patience // 2)),
    ]


def train_step(model, optimizer, loss_fn, x, y):
    """One optimizer step on the batch (x, y); returns the loss including model.losses."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        logits = model(x, training=True)
        loss = loss_fn(y, logits)
        if model.losses:
            loss = loss + tf.add_n(model.losses)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
