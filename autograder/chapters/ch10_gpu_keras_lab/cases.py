"""Visible and hidden checks for chapter 10 (the GPU lab).

Apart from bad-argument cases (stored as usual), the graded functions are checked by their
properties: the pipeline's batches (every example once per epoch, reshuffled, prefetched),
the convnet's layout, parameter count and inference output against the reference with the
same fixed weights, the mixed-precision policy, and the throughput against a timing of the
same steps. Visible checks: ``dlcourse/checks/properties/gpu_lab.py``; their stored numbers come from
:func:`stored_numbers` (``python -m autograder.build_checks`` writes them).

Nothing here imports keras at import time (every chapter's grading imports this module).
"""

from __future__ import annotations

import numpy as np

from autograder.checking import Case, once_per_process

CHAPTER = "10_gpu_keras_lab"

_X5 = np.zeros((5, 3), dtype=np.float32)

VISIBLE = {
    "make_dataset": [
        Case("5 examples but 4 labels", {"x": _X5, "y": np.zeros(4, dtype=np.int64), "batch_size": 2, "training": True},
             raises=ValueError),
        Case("batch_size = 0", {"x": _X5, "y": np.zeros(5, dtype=np.int64), "batch_size": 0, "training": False},
             raises=ValueError),
    ],
    "build_cnn": [
        Case("input_shape without a channel axis", {"input_shape": (28, 28), "num_classes": 10}, raises=ValueError),
        Case("a single class", {"input_shape": (8, 8, 1), "num_classes": 1}, raises=ValueError),
    ],
}


def _dataset_errors(rng):
    return VISIBLE["make_dataset"] + [
        Case("negative batch_size", {"x": _X5, "y": np.zeros(5, dtype=np.int64), "batch_size": -4, "training": True},
             raises=ValueError),
    ]


def _cnn_errors(rng):
    return VISIBLE["build_cnn"] + [
        Case("a zero-sized image", {"input_shape": (0, 8, 1), "num_classes": 3}, raises=ValueError),
    ]


HIDDEN = {"make_dataset": _dataset_errors, "build_cnn": _cnn_errors}


# ------------------------------------------------------------------------------- helpers
def _props():
    from dlcourse.checks.properties import gpu_lab

    return gpu_lab


def _reference():
    from autograder.chapters.ch10_gpu_keras_lab import reference as gpu_lab

    return gpu_lab


def _mistakes(name):
    from autograder.chapters.ch10_gpu_keras_lab.mistakes import MISTAKE_KEYS, MISTAKES

    return {MISTAKE_KEYS[d]: fn for d, fn in MISTAKES[name].items()}


def cnn_logits(build, input_shape, num_classes, seed, x):
    """Inference logits of build(input_shape, num_classes) with fixed weights, or None."""
    props = _props()
    try:
        model = build(input_shape, num_classes)
        props.assign_test_weights(model, seed)
        return props.numpy_out(model(x, training=False))
    except Exception:  # noqa: BLE001 - a mistake may fail to build; then it cannot be matched
        return None


def cnn_expectation(input_shape, num_classes, seed, x):
    """dict(seed, x, logits, mistakes) for inspect_cnn, from the reference and the mistakes."""
    props = _props()
    logits = cnn_logits(_reference().build_cnn, input_shape, num_classes, seed, x)
    mistakes = {}
    for key, wrong in _mistakes("build_cnn").items():
        out = cnn_logits(wrong, input_shape, num_classes, seed, x)
        if out is not None and out.shape == logits.shape and not props.close(out, logits):
            mistakes[key] = out
    return dict(seed=seed, x=x, logits=logits, mistakes=mistakes)


@once_per_process
def _hidden_cnn_expectation(input_shape, num_classes, seed):
    """cnn_expectation on the hidden probe of 2 images ``props.inputs((2, *input_shape), seed)``; the
    reference's and the mistakes' models are built once per grading process, not once per submission."""
    return cnn_expectation(input_shape, num_classes, seed, _props().inputs((2, *input_shape), seed))


# ---------------------------------------------------------------------------- stored numbers
def stored_numbers():
    props = _props()
    case = props.CNN_CASE
    expected = cnn_expectation(case["input_shape"], case["num_classes"], case["seed"], props.cnn_probe())
    return {"build_cnn": {"logits": expected["logits"], "mistakes": expected["mistakes"]}}


# ---------------------------------------------------------------------------- hidden custom
def _kernel():
    from autograder.protocol import keras_objects

    return keras_objects


def _pipelines(fn):
    """make_dataset as the inspections call it: run in the kernel, its dataset read there pass by pass."""
    return lambda **kwargs: _kernel().mirror_dataset(fn, fn(**kwargs))


def hidden_make_dataset(fn):
    """The hidden tests of make_dataset. ``fn`` is the learner's function as the protocol's session
    gives it; the dataset stays in the kernel and every pass over it comes back as arrays."""
    props = _props()
    name = "make_dataset"
    learner = _pipelines(fn)
    props.inspect_evaluation_pipeline(learner, name, "hidden: evaluation, 23 examples, batches of 5", 23, 5)
    props.inspect_evaluation_pipeline(learner, name, "hidden: evaluation, 7 examples, one batch of 10", 7, 10)
    props.inspect_training_pipeline(learner, name, "hidden: training, 50 examples, batches of 7", 50, 7)
    props.inspect_shuffle_reach(learner, name, "hidden: training, 300 examples, batches of 16", 300, 16)
    case = "hidden: 10 images of shape (4, 4, 2), batches of 4"
    x = np.random.default_rng(0).uniform(size=(10, 4, 4, 2)).astype(np.float32)
    y = np.arange(10)
    for training in (True, False):
        batches = props.epoch(learner(x=x, y=y, batch_size=4, training=training))
        shapes = [xb.shape for xb, _ in batches]
        if shapes != [(4, 4, 4, 2), (4, 4, 4, 2), (2, 4, 4, 2)]:
            props.fail(name, case, f"training={training}: batch shapes {shapes}, expected (4, 4, 4, 2) twice "
                                   "then (2, 4, 4, 2)")
        for xb, yb in batches:
            if not np.array_equal(xb, x[yb]):
                props.fail(name, case, "images and labels are not aligned")


def _image_problem(n, seed):
    """Two classes of 8x8 images: bright top half or bright bottom half, plus noise."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    x = rng.uniform(0, 0.3, size=(n, 8, 8, 1)).astype(np.float32)
    x[y == 0, :4] += 0.7
    x[y == 1, 4:] += 0.7
    return x, y


def _builder(fn, name, case, weights=True, policy=None):
    """build_cnn called in the kernel (under the global dtype ``policy`` when given, restored
    right after), giving a local model rebuilt from its config (and weights)."""
    kernel = _kernel()

    def build(**kwargs):
        if policy is None:
            return kernel.mirror_model(fn(**kwargs), name, case, weights)
        before = kernel.kernel_policy(fn, policy)
        try:
            return kernel.mirror_model(fn(**kwargs), name, case, weights)
        finally:
            kernel.kernel_policy(fn, before)

    return build


def hidden_build_cnn(fn):
    """The hidden tests of build_cnn: the learner's model is built in the kernel and judged here,
    rebuilt from its config and weights (see :mod:`autograder.protocol.keras_objects`)."""
    props = _props()
    keras = props._keras()
    name = "build_cnn"
    for i, (shape, k) in enumerate([((28, 28, 1), 10), ((32, 32, 3), 5), ((9, 9, 2), 3)]):
        case = f"hidden: input_shape={shape}, num_classes={k}"
        props.inspect_cnn(_builder(fn, name, case), name, case, shape, k,
                          _hidden_cnn_expectation(shape, k, 20 + i))
    case = "hidden: input_shape=(16, 16, 3) under mixed_float16"
    props.inspect_cnn_mixed(_builder(fn, name, case, policy="mixed_float16"), name, case, (16, 16, 3), 6)
    case = "hidden: 12 Adam steps on 16 images of two easy classes"
    keras.utils.set_random_seed(0)
    model = _builder(fn, name, case, weights=False)(input_shape=(8, 8, 1), num_classes=2)
    if not isinstance(model, keras.Model):
        props.fail(name, case, f"expected a keras.Model, got {type(model).__name__}")
    # eagerly: for 12 steps on a tiny model, tracing a graph costs more than it saves (same numbers)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), run_eagerly=True)
    x, y = _image_problem(16, 0)
    losses = [float(model.train_on_batch(x, y)) for _ in range(12)]
    if not np.mean(losses[-3:]) < 0.7 * losses[0]:
        props.fail(name, case, f"the training loss went from {losses[0]:.4f} to {losses[-1]:.4f}")


def _switching(fn, start_policy):
    """enable_mixed_precision() as the inspection calls it: the kernel's global policy is set to
    ``start_policy``, the learner's function runs there, the policy it leaves is read and set
    here too (the inspection reads it here, then restores its own), and the kernel's is restored."""
    kernel = _kernel()
    keras = _props()._keras()

    def switch():
        before = kernel.kernel_policy(fn, start_policy)
        try:
            got = fn()
        finally:
            now = kernel.kernel_policy(fn, before)
        keras.mixed_precision.set_global_policy(now)
        return got

    return switch


def hidden_enable_mixed_precision(fn):
    props = _props()
    name = "enable_mixed_precision"
    for start in ("float32", "mixed_bfloat16"):
        props.inspect_mixed_precision(_switching(fn, start), name, f"hidden: starting from {start}", start)


def _timing(fn, in_kernel=None):
    """measure_throughput(model, data, steps) as the inspection calls it: the model is sent into
    the kernel (compiled), the batches as arrays (or ``in_kernel``, a dataset already there);
    ``last_call_seconds`` is how long the learner's call took there."""
    kernel = _kernel()

    def measure(model, data, steps):
        sent = in_kernel if in_kernel is not None else [tuple(b) for b in getattr(data, "batches", data)]
        value = fn(model=kernel.send(fn, model, compiled=True), data=sent, steps=steps)
        measure.last_call_seconds = fn.last_call_seconds
        return value

    return measure


def hidden_measure_throughput(fn):
    props = _props()
    name = "measure_throughput"
    props.inspect_throughput(_timing(fn), name, "hidden: 25 steps, batches of 96, a list of 3 batches",
                             props.TimedBatches(props.throughput_batches(3, 96, 1)), 25, 96)
    if props._keras().backend.backend() == "tensorflow":
        import tensorflow as tf

        ref = _reference()
        batches = props.throughput_batches(12, 32, 2)
        x, y = np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
        dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
        props.epoch(dataset)  # tf.data builds its iterator machinery on the first pass: not the learner's cost
        remote = _kernel().send_dataset(fn, x, y, 32)
        fn.session.iterate(remote, len(batches))  # the same warm-up, in the kernel
        props.inspect_throughput(_timing(fn, remote), name, "hidden: 10 steps on a tf.data pipeline of 12 batches "
                                 "of 32", dataset, 10, 32, timer=lambda model: ref.measure_throughput(model, dataset, 10))
    case = "hidden: steps = 0"
    try:
        fn(model=_kernel().send(fn, props.throughput_model(), compiled=True), data=props.throughput_batches(2, 8),
           steps=0)
    except ValueError:
        return
    except Exception as err:  # noqa: BLE001
        props.fail(name, case, f"expected a ValueError, got {type(err).__name__}: {err}")
    props.fail(name, case, "expected a ValueError for steps < 1")


HIDDEN_CUSTOM = {
    "make_dataset": hidden_make_dataset,
    "build_cnn": hidden_build_cnn,
    "enable_mixed_precision": hidden_enable_mixed_precision,
    "measure_throughput": hidden_measure_throughput,
}
