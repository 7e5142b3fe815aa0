"""Plausible wrong versions of the chapter 10 (GPU lab) graded functions.

``MISTAKES[name][description]`` has the reference signature; each description completes the
sentence "your output matches ..." and is the one the visible checks print
(``dlcourse.checks.properties.gpu_lab.MISTAKE``). The pipeline mistakes are TensorFlow-only
(the course grades on the TensorFlow backend). Setting mixed_float16 without a GPU is named
by the checks too, but is not listed here: on a GPU machine it is the right answer.
"""

from __future__ import annotations

import keras

from autograder.chapters.ch10_gpu_keras_lab.reference import _throughput, build_cnn, make_dataset
from dlcourse.checks.properties.gpu_lab import MISTAKE
from dlcourse.validate import whole_number


# ------------------------------------------------------------------ make_dataset
def _pipeline(x, y, batch_size, training, order):
    import tensorflow as tf

    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    batch_size = whole_number(batch_size, "batch_size")
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    for step in order:
        if step == "batch":
            ds = ds.batch(batch_size)
        elif step == "shuffle":
            ds = ds.shuffle(len(x))
        elif step == "small shuffle":
            ds = ds.shuffle(batch_size)
        elif step == "prefetch":
            ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


def _dataset_shuffle_after_batch(x, y, batch_size, training):
    return _pipeline(x, y, batch_size, training, ["batch", "shuffle", "prefetch"] if training else ["batch", "prefetch"])


def _dataset_small_buffer(x, y, batch_size, training):
    return _pipeline(x, y, batch_size, training,
                     ["small shuffle", "batch", "prefetch"] if training else ["batch", "prefetch"])


def _dataset_no_prefetch(x, y, batch_size, training):
    return _pipeline(x, y, batch_size, training, ["shuffle", "batch"] if training else ["batch"])


def _dataset_shuffled_evaluation(x, y, batch_size, training):
    return make_dataset(x, y, batch_size, True)


# ------------------------------------------------------------------ build_cnn
def _cnn_float16_logits(input_shape, num_classes):
    model = build_cnn(input_shape, num_classes)
    head = model.layers[-1]
    features = model.layers[-2].output
    return keras.Model(model.input, keras.layers.Dense(num_classes, name=head.name + "_policy")(features))


def _cnn_softmax_output(input_shape, num_classes):
    model = build_cnn(input_shape, num_classes)
    return keras.Model(model.input, keras.layers.Softmax(dtype="float32")(model.output))


# ------------------------------------------------------------------ enable_mixed_precision
def _pure_float16():
    keras.mixed_precision.set_global_policy("float16")
    return keras.mixed_precision.global_policy().name


# ------------------------------------------------------------------ measure_throughput
def _throughput_per_batch(model, data, steps):
    return _throughput(model, data, steps, per_example=False)


def _throughput_with_warmup(model, data, steps):
    return _throughput(model, data, steps, warm_up=False)


MISTAKES = {
    "make_dataset": {
        MISTAKE["shuffle after batch"]: _dataset_shuffle_after_batch,
        MISTAKE["small buffer"]: _dataset_small_buffer,
        MISTAKE["no prefetch"]: _dataset_no_prefetch,
        MISTAKE["shuffled evaluation"]: _dataset_shuffled_evaluation,
    },
    "build_cnn": {
        MISTAKE["float16 logits"]: _cnn_float16_logits,
        MISTAKE["softmax output"]: _cnn_softmax_output,
    },
    "enable_mixed_precision": {
        MISTAKE["pure float16"]: _pure_float16,
    },
    "measure_throughput": {
        MISTAKE["batches per second"]: _throughput_per_batch,
        MISTAKE["warm-up timed"]: _throughput_with_warmup,
    },
}

MISTAKE_KEYS = {description: key for key, description in MISTAKE.items()}
"""description -> the short key the stored check data uses."""
