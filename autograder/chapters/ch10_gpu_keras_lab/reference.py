"""Reference implementations for chapter 10 (the GPU lab), Keras 3 on any backend.

Nothing here imports TensorFlow unless the active Keras backend is TensorFlow, so the
benchmark (benchmarks/gpu_lab.py) runs on a JAX- or PyTorch-only GPU machine.

Conventions fixed here (the notebook states them and the checks test them):

* ``make_dataset(x, y, batch_size, training)``: on the TensorFlow backend a ``tf.data``
  pipeline ``from_tensor_slices -> [shuffle(len(x)), reshuffled each epoch, only when training]
  -> batch(batch_size) -> prefetch(AUTOTUNE)``; every example exactly once per epoch, the last
  batch possibly smaller, evaluation data in its original order. On JAX/PyTorch,
  :class:`dlcourse.accelerator.ArrayBatches` (a ``keras.utils.PyDataset``) does the same.
* ``build_cnn(input_shape, num_classes)``: three 3x3 convolutions (32, 32, 64 filters,
  ``padding="same"``), each followed by ``BatchNormalization(momentum=0.9)`` (the default 0.99
  needs hundreds of steps before its moving averages are usable, longer than the lab's short
  runs) and ReLU, a 2x2 max-pool after the second,
  global average pooling, ``Dropout(0.25)``, and ``Dense(num_classes, dtype="float32")``:
  logits kept in float32 under a mixed-precision policy. The convolutions need no bias
  (batch norm's beta replaces it); keeping it is accepted.
* ``enable_mixed_precision()``: "mixed_float16" on a GPU ("mixed_bfloat16" on a TPU), the
  current policy unchanged on a CPU; returns the global policy's name.
* ``measure_throughput(model, data, steps)``: one untimed warm-up ``train_on_batch`` (tracing
  and XLA compilation happen there), then ``steps`` timed ``train_on_batch`` calls on the next
  batches of ``data`` (started again from the beginning when it runs out); returns examples
  processed in the timed steps per second. ``train_on_batch`` returns NumPy values, so each
  step has finished on the device when the clock is read.
"""

from __future__ import annotations

import time

import keras
import numpy as np

from dlcourse.validate import whole_number


def make_dataset(x, y, batch_size, training):
    """An input pipeline of (x_batch, y_batch): shuffled and batched when training, prefetched."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    batch_size = whole_number(batch_size, "batch_size")
    if keras.backend.backend() != "tensorflow":
        from dlcourse.accelerator import ArrayBatches

        return ArrayBatches(x, y, batch_size, shuffle=training)
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if training:
        dataset = dataset.shuffle(buffer_size=len(x), reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def build_cnn(input_shape, num_classes):
    """A small convnet with batch norm and dropout that outputs float32 logits."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (height, width, channels), got {input_shape}")
    input_shape = tuple(whole_number(s, "each entry of input_shape") for s in input_shape)
    num_classes = whole_number(num_classes, "num_classes", 2)
    layers = keras.layers
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for filters in (32, 32, None, 64):
        if filters is None:
            x = layers.MaxPooling2D(2)(x)
            continue
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(num_classes, dtype="float32")(x)
    return keras.Model(inputs, outputs)


def enable_mixed_precision():
    """mixed_float16 on a GPU, mixed_bfloat16 on a TPU, nothing changed on a CPU; the policy name."""
    from dlcourse.accelerator import detect

    kind = detect().kind
    if kind == "gpu":
        keras.mixed_precision.set_global_policy("mixed_float16")
    elif kind == "tpu":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    return keras.mixed_precision.global_policy().name


def _batches_forever(data):
    while True:
        empty = True
        for batch in data:
            empty = False
            yield batch
        if empty:
            raise ValueError("data yielded no batches")


def measure_throughput(model, data, steps):
    """Training examples per second of the compiled ``model`` on ``data``, over ``steps`` steps."""
    return _throughput(model, data, steps)


def _throughput(model, data, steps, *, warm_up=True, per_example=True):
    """The body of :func:`measure_throughput`, with the seams its named mistakes change:
    warm_up (one untimed step first) and per_example (count examples, not batches)."""
    steps = whole_number(steps, "steps")
    batches = _batches_forever(data)
    if warm_up:
        x, y = next(batches)
        model.train_on_batch(x, y)  # warm-up: tracing / XLA compilation, not timed
    counted = 0
    start = time.perf_counter()
    for _ in range(steps):
        x, y = next(batches)
        model.train_on_batch(x, y)
        counted += int(np.shape(x)[0]) if per_example else 1
    return counted / (time.perf_counter() - start)
