"""Visible checks for chapter 10 (the GPU lab): the input pipeline by its properties (every
example once per epoch, batch sizes, reshuffling, prefetch), the convnet by inspection and
stored outputs, the mixed-precision switch, and the throughput measurement against a timing
of the same steps.

Stored numbers are written by ``python -m autograder.build_checks`` (:func:`stored_numbers`). ``keras`` is imported inside
the checks only (this module is imported whenever any chapter runs a check).
"""

from __future__ import annotations

import math
import time

import numpy as np

from dlcourse.checks.properties.keras_training import (
    _keras,
    _kind,
    all_layers,
    assign_test_weights,
    close,
    inputs,
    looks_like_probabilities,
    numpy_out,
)
from dlcourse.checks.properties import stored
from dlcourse.checks.runner import CheckFailure, call_learner

CHAPTER = "10_gpu_keras_lab"

MISTAKE = {
    "shuffle after batch": "shuffling after batching: every epoch has the same batches, only in another order",
    "small buffer": "a shuffle buffer about one batch long: examples barely move, so the first batches always "
                    "come from the start of the data (use buffer_size=len(x))",
    "no prefetch": "no prefetch at the end of the pipeline (the accelerator waits while the next batch is prepared)",
    "shuffled evaluation": "shuffling the evaluation data as well (only training data is shuffled)",
    "float16 logits": "a final layer that follows the global mixed-precision policy: float16 logits "
                      "(give the last layer dtype='float32')",
    "softmax output": "a softmax output layer: the model must output logits",
    "mixed on cpu": "mixed_float16 set even without a GPU (float16 is emulated on a CPU and much slower)",
    "pure float16": "the 'float16' policy: variables in float16 too, so small updates round away "
                    "(mixed_float16 computes in float16 but keeps the variables in float32)",
    "batches per second": "batches per second instead of examples per second",
    "warm-up timed": "timing the first (tracing/compiling) step too: a throughput must leave the warm-up out",
}


def fail(name, case, message, mistake=None):
    text = f"{name}, case '{case}': {message}"
    if mistake:
        text += f"\n  Your output matches {MISTAKE[mistake]}."
    raise CheckFailure(text)


# ------------------------------------------------------------------------------- make_dataset
def epoch(dataset):
    """One pass over a dataset as a list of (x_batch, y_batch) NumPy arrays."""
    return [(numpy_out(xb), numpy_out(yb)) for xb, yb in dataset]


def indexed_data(n, d=3):
    """x row i is [3i, 3i + 1, 3i + 2] (float32), y[i] = i: any example tells its index."""
    x = np.arange(n * d, dtype=np.float32).reshape(n, d)
    return x, np.arange(n, dtype=np.int64)


def _indices(name, case, batches, d=3):
    """Indices of the examples in each batch, checking x and y stayed aligned."""
    out = []
    for xb, yb in batches:
        if xb.ndim != 2 or xb.shape[1] != d or yb.shape != (xb.shape[0],):
            fail(name, case, f"a batch has x of shape {xb.shape} and y of shape {yb.shape}; expected (b, {d}) and (b,)")
        idx = (xb[:, 0] / d).astype(np.int64)
        if not np.array_equal(idx, yb):
            fail(name, case, "x and y are not aligned any more: each label must stay with its example "
                             "(shuffle the (x, y) pairs together, e.g. from_tensor_slices((x, y)).shuffle(...))")
        out.append(idx)
    return out


def _outermost(dataset):
    """The last transformation of a tf.data pipeline, skipping option-setting wrappers."""
    while "Options" in type(dataset).__name__ and hasattr(dataset, "_input_dataset"):
        dataset = dataset._input_dataset
    return dataset


def check_pipeline_basics(name, case, dataset, n, batch_size, training):
    """Every example exactly once per epoch, full batches except maybe the last. Returns the index batches."""
    batches = _indices(name, case, epoch(dataset))
    sizes = [len(b) for b in batches]
    expected = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    if sorted(sizes, reverse=True) != expected:
        fail(name, case, f"batch sizes {sizes}; expected {expected} ({n} examples in batches of {batch_size}, "
                         "the last one smaller; keep the remainder)")
    seen = np.concatenate(batches) if batches else np.array([], dtype=int)
    if not np.array_equal(np.sort(seen), np.arange(n)):
        missing = sorted(set(range(n)) - set(seen.tolist()))[:5]
        fail(name, case, f"one epoch must contain every example exactly once; missing e.g. {missing}, "
                         f"{len(seen) - len(set(seen.tolist()))} repeated")
    if _keras().backend.backend() == "tensorflow":
        import tensorflow as tf

        if not isinstance(dataset, tf.data.Dataset):
            fail(name, case, f"on the TensorFlow backend return a tf.data.Dataset, got {type(dataset).__name__}")
        if "Prefetch" not in type(_outermost(dataset)).__name__:
            fail(name, case, "the pipeline does not end with .prefetch(tf.data.AUTOTUNE)", "no prefetch")
    return batches


def inspect_training_pipeline(fn, name, case, n, batch_size, epochs=3):
    x, y = indexed_data(n)
    dataset = call_learner(fn, name, case, dict(x=x, y=y, batch_size=batch_size, training=True))
    runs = [check_pipeline_basics(name, case, dataset, n, batch_size, True) for _ in range(epochs)]
    orders = [np.concatenate(r) for r in runs]
    if all(np.array_equal(o, np.arange(n)) for o in orders):
        fail(name, case, "training data comes out in its original order: shuffle it when training=True")
    if any(np.array_equal(orders[0], o) for o in orders[1:]):
        fail(name, case, "two epochs came out in the same order: reshuffle every epoch "
                         "(shuffle(..., reshuffle_each_iteration=True), tf.data's default)")
    groups = [sorted(tuple(sorted(b.tolist())) for b in r) for r in runs]
    if all(g == groups[0] for g in groups[1:]):
        fail(name, case, "every epoch has exactly the same batches (only their order changes)", "shuffle after batch")
    for run in runs:
        if any(len(b) != batch_size for b in run[:-1]):
            fail(name, case, f"batch sizes {[len(b) for b in run]}: only the last batch may be smaller")
    return runs


def inspect_evaluation_pipeline(fn, name, case, n, batch_size):
    x, y = indexed_data(n)
    dataset = call_learner(fn, name, case, dict(x=x, y=y, batch_size=batch_size, training=False))
    for _ in range(2):
        order = np.concatenate(check_pipeline_basics(name, case, dataset, n, batch_size, False))
        if not np.array_equal(order, np.arange(n)):
            fail(name, case, "evaluation data (training=False) must keep its original order", "shuffled evaluation")


def inspect_shuffle_reach(fn, name, case, n, batch_size, epochs=3):
    """With a buffer as large as the data, the first batch draws from everywhere."""
    runs = inspect_training_pipeline(fn, name, case, n, batch_size, epochs)
    firsts = np.concatenate([r[0] for r in runs])
    if firsts.max() < n // 2:
        fail(name, case, f"over {epochs} epochs, the first batch only ever held examples {sorted(firsts.tolist())[:6]}"
                         f"... < {n // 2}: the shuffle buffer is too small", "small buffer")


def check_make_dataset(make_dataset):
    name = "make_dataset"
    inspect_evaluation_pipeline(make_dataset, name, "evaluation data: 20 examples, batches of 6", 20, 6)
    inspect_training_pipeline(make_dataset, name, "training data: 60 examples, batches of 8", 60, 8)
    inspect_shuffle_reach(make_dataset, name, "training data: 400 examples, batches of 8", 400, 8)
    return 3


# ---------------------------------------------------------------------------------- build_cnn
CNN_LAYOUT = {"Conv2D": 3, "BatchNormalization": 3, "MaxPooling2D": 1, "GlobalAveragePooling2D": 1, "Dropout": 1,
              "Dense": 1}


def cnn_params(input_shape, num_classes):
    """Accepted parameter counts: convolutions without bias (batch norm follows), and with."""
    c = input_shape[-1]
    convs = 9 * c * 32 + 9 * 32 * 32 + 9 * 32 * 64
    count = convs + 4 * (32 + 32 + 64) + 64 * num_classes + num_classes
    return count, count + 32 + 32 + 64


def inspect_cnn(fn, name, case, input_shape, num_classes, expected=None):
    """Layout, parameter count, logits out (and, with ``expected`` = dict(seed, x, logits,
    mistakes), the inference output with fixed weights). Returns the model."""
    keras = _keras()
    model = call_learner(fn, name, case, dict(input_shape=input_shape, num_classes=num_classes))
    if not isinstance(model, keras.Model):
        fail(name, case, f"expected a keras.Model, got {type(model).__name__}")
    layers = list(all_layers(model))
    counts = {kind: sum(_kind(layer) == kind for layer in layers) for kind in CNN_LAYOUT}
    if counts != CNN_LAYOUT:
        fail(name, case, f"layer counts {counts}; expected {CNN_LAYOUT}: three Conv2D -> BatchNormalization -> ReLU "
                         "blocks (32, 32, 64 filters) with a MaxPooling2D(2) after the second, then "
                         "GlobalAveragePooling2D, Dropout(0.25) and Dense(num_classes)")
    convs = [layer for layer in layers if _kind(layer) == "Conv2D"]
    spec = [(c.filters, tuple(c.kernel_size), c.padding) for c in convs]
    if spec != [(32, (3, 3), "same"), (32, (3, 3), "same"), (64, (3, 3), "same")]:
        fail(name, case, f"convolutions (filters, kernel, padding) are {spec}; expected 32, 32, 64 filters of 3x3 "
                         "with padding='same'")
    momenta = [float(layer.momentum) for layer in layers if _kind(layer) == "BatchNormalization"]
    if any(not math.isclose(m, 0.9) for m in momenta):
        fail(name, case, f"batch norm momenta are {momenta}; use BatchNormalization(momentum=0.9): with Keras's "
                         "default 0.99 the moving averages need hundreds of steps to settle, longer than the lab's runs")
    rate = next(float(layer.rate) for layer in layers if _kind(layer) == "Dropout")
    if not math.isclose(rate, 0.25):
        fail(name, case, f"the dropout rate is {rate}, expected 0.25")
    probe = inputs((2, *input_shape), 0)
    out = numpy_out(model(probe, training=False))
    if out.shape != (2, num_classes):
        fail(name, case, f"for 2 images the model returned shape {out.shape}, expected (2, {num_classes})")
    if looks_like_probabilities(out):
        fail(name, case, "the model outputs probabilities (rows sum to 1), not logits", "softmax output")
    count = model.count_params()
    params = cnn_params(input_shape, num_classes)
    if count not in params:
        fail(name, case, f"the model has {count} parameters, expected {params[0]} (3x3 kernels: 9 c_in c_out per "
                         "convolution, 4 per channel per batch norm, 64 num_classes + num_classes in the Dense layer)")
    if expected is not None:
        assign_test_weights(model, expected["seed"])
        got = numpy_out(model(expected["x"], training=False))
        want = np.asarray(expected["logits"])
        if not close(got, want):
            mistake = next((m for m, o in expected.get("mistakes", {}).items() if close(got, o)), None)
            fail(name, case, "with fixed weights, the inference output differs from the expected logits: check the "
                             "order Conv2D -> BatchNormalization -> ReLU, the pooling and the ReLU activations\n"
                             f"  expected: {np.round(want, 5).tolist()}\n  got:      {np.round(got, 5).tolist()}",
                 mistake)
    return model


def inspect_cnn_mixed(fn, name, case, input_shape, num_classes):
    """Under the mixed_float16 policy the model must still output float32 logits."""
    keras = _keras()
    before = keras.mixed_precision.global_policy()
    try:
        keras.mixed_precision.set_global_policy("mixed_float16")
        model = call_learner(fn, name, case, dict(input_shape=input_shape, num_classes=num_classes))
        out = model(inputs((1, *input_shape), 1), training=False)
        dtype = keras.backend.standardize_dtype(out.dtype)
    finally:
        keras.mixed_precision.set_global_policy(before)
    if dtype != "float32":
        fail(name, case, f"under mixed_float16 the model outputs {dtype}", "float16 logits")


CNN_CASE = dict(input_shape=(8, 8, 1), num_classes=10, seed=7)


def cnn_probe():
    return inputs((2, *CNN_CASE["input_shape"]), CNN_CASE["seed"])


def check_build_cnn(build_cnn):
    name = "build_cnn"
    numbers = stored_numbers()["build_cnn"]
    inspect_cnn(build_cnn, name, "8x8 grey images, 10 classes", CNN_CASE["input_shape"], CNN_CASE["num_classes"],
                dict(seed=CNN_CASE["seed"], x=cnn_probe(), logits=numbers["logits"], mistakes=numbers["mistakes"]))
    inspect_cnn(build_cnn, name, "12x10 colour images, 4 classes", (12, 10, 3), 4)
    inspect_cnn_mixed(build_cnn, name, "under the mixed_float16 policy", (12, 10, 3), 4)
    return 3


# ---------------------------------------------------------------------- enable_mixed_precision
def inspect_mixed_precision(fn, name, case, start_policy):
    """Call enable_mixed_precision() with the global policy set to ``start_policy``; the policy
    is restored afterwards."""
    from dlcourse.accelerator import detect

    keras = _keras()
    before = keras.mixed_precision.global_policy()
    kind = detect().kind
    try:
        keras.mixed_precision.set_global_policy(start_policy)
        got = call_learner(fn, name, case, {})
        now = keras.mixed_precision.global_policy().name
    finally:
        keras.mixed_precision.set_global_policy(before)
    want = {"gpu": "mixed_float16", "tpu": "mixed_bfloat16"}.get(kind, start_policy)
    if now != want:
        mistake = "mixed on cpu" if kind == "cpu" and now == "mixed_float16" else \
            "pure float16" if now == "float16" else None
        fail(name, case, f"on this machine ({kind.upper()}) the global policy should be {want!r} afterwards, "
                         f"it is {now!r}", mistake)
    if got != now:
        fail(name, case, f"returned {got!r}; return the name of the global policy now in force ({now!r})")


def check_enable_mixed_precision(enable_mixed_precision):
    inspect_mixed_precision(enable_mixed_precision, "enable_mixed_precision", "starting from float32", "float32")
    return 1


# -------------------------------------------------------------------------- measure_throughput
def throughput_model(seed=0):
    """A small compiled Dense model; its first train step traces the training function."""
    keras = _keras()
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(4)])
    assign_test_weights(model, seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def throughput_batches(n_batches, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, size=(batch_size, 8)).astype(np.float32), rng.integers(0, 4, size=batch_size))
            for _ in range(n_batches)]


class TimedBatches:
    """A list of batches that notes the time each batch is handed out (one pass per ``iter``)."""

    def __init__(self, batches):
        self.batches = list(batches)
        self.times = []

    def __iter__(self):
        for batch in self.batches:
            self.times.append(time.perf_counter())
            yield batch

    def __len__(self):
        return len(self.batches)


def time_steps(model, batches, steps):
    """Examples per second of ``steps`` warm train_on_batch calls cycling over a list of batches."""
    start = time.perf_counter()
    for i in range(steps):
        model.train_on_batch(*batches[i % len(batches)])
    return steps * len(batches[0][0]) / (time.perf_counter() - start)


def inspect_throughput(fn, name, case, data, steps, batch_size, timer=None):
    """Call measure_throughput on a fresh (never trained) model and judge the number it returns.

    - lower bound: the timed window lies inside the call, so a correct answer is at least
      steps * batch_size / (duration of the call); leaving out the warm-up step (which traces the
      training function, hundreds of milliseconds) makes it several times that. An answer within
      a factor 2 of the bound timed the warm-up too.
    - upper bounds: when ``data`` is a :class:`TimedBatches`, the steps cannot have been faster
      than the batches were handed out; and not faster than 5 times ``timer(model)`` (default:
      :func:`time_steps` on ``data``), a timing of the same warm steps done here.
    """
    timer = timer or (lambda m: time_steps(m, list(data), steps))
    model = throughput_model()
    start = time.perf_counter()
    got = call_learner(fn, name, case, dict(model=model, data=data, steps=steps))
    duration = getattr(fn, "last_call_seconds", None) or time.perf_counter() - start  # timed where fn ran
    try:
        value = float(got)
    except (TypeError, ValueError):
        fail(name, case, f"return a number (examples per second), got {got!r}")
    if not math.isfinite(value) or value <= 0:
        fail(name, case, f"returned {value}; a throughput is a positive number")
    examples = steps * batch_size
    lower = examples / duration
    if value < 2 * lower:
        mistake = "warm-up timed" if value >= lower / 2 else "batches per second" if value * batch_size >= 2 * lower \
            else None
        fail(name, case, f"returned {value:.4g} examples/s, but the call took {duration:.3f} s for {steps} steps of "
                         f"{batch_size} examples plus a warm-up step, so the steps alone ran at more than "
                         f"{lower:.4g} examples/s, and much faster once the warm-up is left out", mistake)
    times = getattr(data, "times", [])
    if len(times) > steps:
        window = times[steps] - times[1]  # steps - 1 timed steps happened in between
        if window > 1e-3 and value > 1.5 * (steps - 1) * batch_size / window:
            fail(name, case, f"returned {value:.4g} examples/s, but the {steps - 1} steps between the 2nd and the "
                             f"{steps + 1}th batch took {window:.3f} s, at most {(steps - 1) * batch_size / window:.4g} "
                             "examples/s: count only the examples of the timed steps")
    ours = max(timer(model) for _ in range(2))
    if value > 5 * ours:
        fail(name, case, f"returned {value:.4g} examples/s, but the same warm steps run at about {ours:.4g} "
                         "examples/s here: count only the examples of the timed steps")
    return value


def check_measure_throughput(measure_throughput):
    inspect_throughput(measure_throughput, "measure_throughput",
                       "20 steps, batches of 128, a list of 4 batches used again and again",
                       TimedBatches(throughput_batches(4, 128)), 20, 128)
    return 1


PROPERTY_CHECKS = {
    "make_dataset": check_make_dataset,
    "build_cnn": check_build_cnn,
    "enable_mixed_precision": check_enable_mixed_precision,
    "measure_throughput": check_measure_throughput,
}


def stored_numbers():
    """The numbers stored for these checks: build_cnn's logits with fixed weights (and the mistakes')."""
    return stored(CHAPTER)
