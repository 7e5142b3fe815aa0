"""Chapter 10 (the GPU lab): the checks accept other correct implementations, the stored
numbers are the reference's, the accelerator helpers behave, the same code runs on the JAX
backend without TensorFlow, the benchmark runs, and (marked gpu) what the lab claims for GPUs."""

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from tests.helpers import both_checks as _both_checks  # noqa: E402


# ------------------------------------------------------------------- other correct implementations
@pytest.mark.keras
def test_a_pipeline_with_a_seeded_shuffle_and_a_fixed_prefetch_passes(tf):
    def make_dataset(x, y, batch_size, training):
        if len(x) != len(y) or batch_size < 1:
            raise ValueError("bad arguments")
        ds = tf.data.Dataset.from_tensors((x, y)).unbatch()
        if training:
            ds = ds.shuffle(10 * len(x), seed=3)
        return ds.batch(batch_size, drop_remainder=False).prefetch(2)

    _both_checks(make_dataset, "make_dataset")


@pytest.mark.keras
def test_a_sequential_cnn_with_conv_biases_and_activation_layers_passes(keras):
    def build_cnn(input_shape, num_classes):
        if len(input_shape) != 3 or min(input_shape) < 1 or num_classes < 2:
            raise ValueError("bad arguments")
        L = keras.layers
        return keras.Sequential([
            keras.Input(input_shape),
            L.Conv2D(32, (3, 3), padding="same"), L.BatchNormalization(momentum=0.9), L.Activation("relu"),
            L.Conv2D(32, (3, 3), padding="same"), L.BatchNormalization(momentum=0.9), L.Activation("relu"),
            L.MaxPooling2D((2, 2)),
            L.Conv2D(64, (3, 3), padding="same"), L.BatchNormalization(momentum=0.9), L.Activation("relu"),
            L.GlobalAveragePooling2D(), L.Dropout(0.25),
            L.Dense(num_classes), L.Activation("linear", dtype="float32"),
        ])

    _both_checks(build_cnn, "build_cnn")


@pytest.mark.keras
def test_a_throughput_that_collects_its_batches_first_passes(keras):
    import itertools

    def measure_throughput(model, data, steps):
        if steps < 1:
            raise ValueError("steps must be >= 1")
        batches = list(itertools.islice(itertools.cycle(data), steps + 1))
        model.train_on_batch(*batches[0])
        t0 = time.time()
        for x, y in batches[1:]:
            model.train_on_batch(x, y)
        return sum(len(x) for x, _ in batches[1:]) / (time.time() - t0)

    _both_checks(measure_throughput, "measure_throughput")


@pytest.mark.keras
def test_mixed_precision_switch_asking_tensorflow_for_gpus_passes(tf, keras):
    def enable_mixed_precision():
        if tf.config.list_physical_devices("GPU"):
            keras.mixed_precision.set_global_policy("mixed_float16")
        return str(keras.mixed_precision.global_policy().name)

    _both_checks(enable_mixed_precision, "enable_mixed_precision")


@pytest.mark.keras
def test_mixed_float16_on_a_cpu_is_named(keras):
    from dlcourse.accelerator import detect
    from dlcourse.checks import CheckFailure, check
    from dlcourse.checks.properties.gpu_lab import MISTAKE

    if detect().kind != "cpu":
        pytest.skip("on an accelerator mixed_float16 is the right answer")

    def enable_mixed_precision():
        keras.mixed_precision.set_global_policy("mixed_float16")
        return "mixed_float16"

    with pytest.raises(CheckFailure, match="matches " + MISTAKE["mixed on cpu"].split(" (")[0]):
        check(enable_mixed_precision)
    assert keras.mixed_precision.global_policy().name == "float32", "the check must restore the policy"


@pytest.mark.keras
def test_stored_visible_numbers_match_the_reference(keras):
    """If this fails, run `python -m autograder.build_checks` (it writes the numbers the visible checks
    read)."""
    from autograder.chapters.ch10_gpu_keras_lab.cases import stored_numbers
    from dlcourse.checks.properties.gpu_lab import stored_numbers as stored_for_students

    STORED = stored_for_students()
    fresh = stored_numbers()["build_cnn"]
    np.testing.assert_allclose(STORED["build_cnn"]["logits"], fresh["logits"], rtol=1e-5, atol=1e-6)
    assert set(STORED["build_cnn"]["mistakes"]) == set(fresh["mistakes"])
    for key, value in fresh["mistakes"].items():
        np.testing.assert_allclose(STORED["build_cnn"]["mistakes"][key], value, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------- dlcourse.accelerator
def test_peak_table_lookup_prefers_the_specific_name():
    from dlcourse.accelerator import peak_flops

    assert peak_flops("NVIDIA A100-SXM4-40GB", False) == pytest.approx(19.5e12)
    assert peak_flops("NVIDIA A100-SXM4-40GB", True) == pytest.approx(312e12)
    assert peak_flops("Tesla T4", True) == pytest.approx(65e12)
    assert peak_flops("NVIDIA L40S", False) == pytest.approx(91.6e12)  # not the L4
    assert peak_flops("NVIDIA H100 PCIe", True) == pytest.approx(756e12)  # not the SXM figure
    assert peak_flops("NVIDIA A10G", True) is None  # known name, no published figure
    assert peak_flops("Some Future GPU", True) is None


def test_advice_without_a_gpu_says_what_to_do(monkeypatch):
    from dlcourse import accelerator

    cpu = accelerator.Accelerator("tensorflow", "cpu", 1, "x86_64 (2 cores)")
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert "Runtime > Change runtime type" in accelerator.advice(cpu)
    monkeypatch.delitem(sys.modules, "google.colab")
    monkeypatch.setattr(accelerator, "nvidia_gpu_present", lambda: True)
    assert "jax" in accelerator.advice(accelerator.Accelerator("jax", "cpu", 1, "cpu")).lower()
    gpu = accelerator.Accelerator("jax", "gpu", 2, "NVIDIA H200")
    assert "2 x NVIDIA H200" in accelerator.advice(gpu)


@pytest.mark.keras
def test_detect_on_this_machine_matches_nvidia_smi(keras):
    from dlcourse.accelerator import detect
    from tests.helpers import gpu_available

    acc = detect()
    assert acc.backend == keras.backend.backend() and acc.count >= 1
    if not gpu_available():
        assert acc.kind == "cpu" and not acc.has_gpu


@pytest.mark.keras
def test_flops_formula_of_the_lab_cnn(keras):
    from autograder.chapters.ch10_gpu_keras_lab.reference import build_cnn
    from dlcourse.accelerator import forward_flops_per_example

    model = build_cnn((8, 8, 1), 10)
    expected = 2 * (9 * 1 * 32 * 64 + 9 * 32 * 32 * 64 + 9 * 32 * 64 * 16 + 64 * 10)
    assert forward_flops_per_example(model) == expected


@pytest.mark.keras
def test_array_batches_cover_every_example_and_reshuffle(keras):
    from dlcourse.accelerator import ArrayBatches

    x, y = np.arange(23 * 2).reshape(23, 2), np.arange(23)
    batches = ArrayBatches(x, y, 5, shuffle=True, seed=0)
    epochs = [np.concatenate([yb for _, yb in batches]) for _ in range(2)]
    for order in epochs:
        assert sorted(order.tolist()) == list(range(23))
    assert not np.array_equal(epochs[0], epochs[1])
    assert [len(yb) for _, yb in batches] == [5, 5, 5, 5, 3]
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)
    ordered = ArrayBatches(x, y, 10, shuffle=False)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in ordered]), y)
    with pytest.raises(ValueError):
        ArrayBatches(x, y[:-1], 4)


@pytest.mark.keras
def test_fit_accepts_array_batches(keras):
    from autograder.chapters.ch10_gpu_keras_lab.reference import build_cnn
    from dlcourse.accelerator import ArrayBatches

    rng = np.random.default_rng(0)
    x, y = rng.uniform(size=(40, 8, 8, 1)).astype("float32"), rng.integers(0, 3, size=40)
    model = build_cnn((8, 8, 1), 3)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ArrayBatches(x, y, 16, shuffle=True), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


# ------------------------------------------------------------------- other backends, benchmark
def _env(**extra):
    """This process's environment with the repository first on PYTHONPATH, plus ``extra``."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, **extra)


JAX_SCRIPT = r"""
import json, sys
import keras
from autograder.chapters.ch10_gpu_keras_lab.reference import build_cnn, make_dataset, measure_throughput
from dlcourse.accelerator import ArrayBatches, detect
import numpy as np
x = np.random.default_rng(0).uniform(size=(64, 8, 8, 1)).astype("float32"); y = np.arange(64) % 3
data = make_dataset(x, y, 16, training=True)
model = build_cnn((8, 8, 1), 3)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
rate = measure_throughput(model, data, 3)
print(json.dumps({"backend": keras.backend.backend(), "pipeline": type(data).__name__, "rate": rate,
                  "kind": detect().kind, "tensorflow_imported": "tensorflow" in sys.modules}))
"""


@pytest.mark.keras
def test_the_lab_runs_on_jax_without_importing_tensorflow():
    if importlib.util.find_spec("jax") is None:
        pytest.skip("JAX is not installed (pip install jax to run this test)")
    env = _env(KERAS_BACKEND="jax")
    out = subprocess.run([sys.executable, "-c", JAX_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax" and result["pipeline"] == "ArrayBatches" and result["rate"] > 0
    assert result["tensorflow_imported"] is False


@pytest.mark.keras
def test_benchmark_prints_a_row_per_configuration():
    env = _env()
    out = subprocess.run([sys.executable, "-m", "benchmarks.gpu_lab", "--batch-sizes", "8,16", "--steps", "2",
                          "--precisions", "float32", "--xla", "off", "--image", "8,8,1"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line for line in out.stdout.splitlines() if line.startswith("| float32")]
    assert len(rows) == 2, out.stdout


# ------------------------------------------------------------------- GPU only
def _gpu_backend():
    """A Keras backend usable on this GPU machine: TensorFlow if installed, else JAX, else PyTorch."""
    for backend, module in (("tensorflow", "tensorflow"), ("jax", "jax"), ("torch", "torch")):
        if importlib.util.find_spec(module) is not None:
            return backend
    pytest.skip("no Keras backend installed")


GPU_SCRIPT = r"""
import json
import keras
from autograder.chapters.ch10_gpu_keras_lab.reference import build_cnn, enable_mixed_precision, make_dataset, measure_throughput
from dlcourse.accelerator import detect
import numpy as np
acc = detect()
x = np.random.default_rng(0).uniform(size=(8192, 32, 32, 3)).astype("float32"); y = np.arange(8192) % 10
rates = {}
for policy in ("float32", "mixed"):
    keras.mixed_precision.set_global_policy("float32")
    name = enable_mixed_precision() if policy == "mixed" else "float32"
    model = build_cnn((32, 32, 3), 10)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)
    out_dtype = str(model(x[:2]).dtype)
    rates[name] = measure_throughput(model, make_dataset(x, y, 1024, training=True), 20)
print(json.dumps({"kind": acc.kind, "name": acc.name, "rates": rates, "out_dtype": out_dtype}))
"""


@pytest.mark.gpu
def test_on_a_gpu_mixed_precision_is_enabled_and_faster():
    backend = _gpu_backend()
    env = _env(KERAS_BACKEND=backend)
    out = subprocess.run([sys.executable, "-c", GPU_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["kind"] == "gpu", f"{backend} sees no GPU although nvidia-smi does: {result}"
    assert set(result["rates"]) == {"float32", "mixed_float16"}
    assert "float32" in result["out_dtype"], "logits must stay float32 under mixed precision"
    assert result["rates"]["mixed_float16"] > result["rates"]["float32"], result


@pytest.mark.gpu
def test_benchmark_full_grid_runs_on_the_gpu():
    backend = _gpu_backend()
    env = _env(KERAS_BACKEND=backend)
    out = subprocess.run([sys.executable, "-m", "benchmarks.gpu_lab", "--steps", "10"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "% of peak" in out.stdout
