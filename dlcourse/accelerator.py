"""Which accelerator Keras will use, on any backend, and what to do when there is none.

Keras 3 runs on TensorFlow (the default), JAX or PyTorch, chosen by the ``KERAS_BACKEND``
environment variable before ``keras`` is first imported. Each backend finds GPUs in its own
way, so :func:`detect` asks the *active* backend and imports only that one (on the JAX or
PyTorch backend TensorFlow is never imported).

- :func:`detect` -> :class:`Accelerator` (backend, kind "gpu"/"tpu"/"cpu", count, name).
- :func:`describe` prints one line, plus what to do when no GPU is found (on Colab:
  Runtime > Change runtime type).
- :func:`peak_flops` looks a GPU up in a small table of datasheet peaks (dense, no sparsity).
- :func:`forward_flops_per_example` counts a model's multiply-adds analytically.
- :class:`ArrayBatches` is the input pipeline for backends without ``tf.data``.

Used by the Keras chapters (09, 10); the NumPy chapters never import this module.
"""

from __future__ import annotations

import functools
import math
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

from dlcourse.i18n import tr


def keras_backend():
    """The active Keras backend: "tensorflow", "jax", "torch" or "numpy" (imports keras)."""
    import keras

    return keras.backend.backend()


@dataclass(frozen=True)
class Accelerator:
    """What the active Keras backend computes on."""

    backend: str
    kind: str  # "gpu", "tpu" or "cpu"
    count: int  # number of devices of that kind
    name: str  # e.g. "NVIDIA A100-SXM4-40GB"; for a CPU, the processor description

    @property
    def has_gpu(self):
        return self.kind == "gpu"


def _cpu_name():
    name = platform.processor() or platform.machine() or "CPU"
    return f"{name} ({os.cpu_count()} cores)"


def _detect_tensorflow():
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        try:
            name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
        except (RuntimeError, ValueError):
            name = "GPU"
        return "gpu", len(gpus), name
    tpus = tf.config.list_logical_devices("TPU")  # only after a TPU system was initialized
    if tpus:
        return "tpu", len(tpus), "TPU"
    return "cpu", 1, _cpu_name()


def _detect_jax():
    import jax

    devices = jax.devices()
    platform_name = devices[0].platform.lower()
    kind = "gpu" if platform_name in ("gpu", "cuda", "rocm", "metal") else "tpu" if platform_name == "tpu" else "cpu"
    name = getattr(devices[0], "device_kind", platform_name) if kind != "cpu" else _cpu_name()
    return kind, len(devices) if kind != "cpu" else 1, name


def _detect_torch():
    import torch

    if torch.cuda.is_available():
        return "gpu", torch.cuda.device_count(), torch.cuda.get_device_name(0)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "gpu", 1, "Apple MPS"
    return "cpu", 1, _cpu_name()


@functools.lru_cache(maxsize=None)
def _detect(backend):
    probe = {"tensorflow": _detect_tensorflow, "jax": _detect_jax, "torch": _detect_torch}.get(backend)
    kind, count, name = probe() if probe else ("cpu", 1, _cpu_name())
    return Accelerator(backend, kind, count, name)


def detect():
    """The accelerator of the active Keras backend (the answer is cached per backend)."""
    return _detect(keras_backend())


def nvidia_gpu_present():
    """True when ``nvidia-smi`` lists a GPU (whether or not the backend can use it)."""
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


_INSTALL_HINT = {
    "tensorflow": "on Linux, pip install 'tensorflow[and-cuda]' (TensorFlow has no GPU build for Windows or macOS)",
    "jax": "pip install -U 'jax[cuda12]'",
    "torch": "install a CUDA build of PyTorch (the selector on pytorch.org gives the command)",
}


def advice(acc=None):
    """A short text: what Keras computes on and, without a GPU, what to do about it."""
    acc = acc or detect()
    if acc.kind != "cpu":
        return f"Keras ({acc.backend} backend) will compute on {acc.count} x {acc.name} ({acc.kind.upper()})."
    lines = [f"No GPU visible to Keras's {acc.backend} backend: this notebook runs its small CPU configuration."]
    if "google.colab" in sys.modules:
        lines.append("On Colab: Runtime > Change runtime type > Hardware accelerator: a GPU (e.g. T4), Save, "
                     "then Runtime > Run all. The full configuration then runs automatically.")
    elif any(k in os.environ for k in ("BINDER_SERVICE_HOST", "BINDER_LAUNCH_HOST", "BINDER_REQUEST")):
        lines.append("Binder has no GPUs; open the notebook in Colab (badge at the top) to run it on one.")
    elif nvidia_gpu_present():
        lines.append(f"nvidia-smi sees a GPU, but {acc.backend} cannot use it: {_INSTALL_HINT.get(acc.backend, '')}.")
    else:
        lines.append("For a free GPU, open the notebook in Colab (badge at the top) and choose "
                     "Runtime > Change runtime type > a GPU.")
    return "\n".join(lines)


def describe(acc=None):
    """Print :func:`advice` and return the :class:`Accelerator`."""
    acc = acc or detect()
    print(tr(advice(acc)))
    return acc


# Datasheet peaks in TFLOP/s, dense (no structured sparsity): (float32 on the CUDA cores,
# float16/bfloat16 on the tensor cores with float32 accumulation). float32 matmuls on Ampere and
# later may run as TF32 on tensor cores (TensorFlow and JAX allow it by default), which can exceed
# the float32 figure. More specific names come first (A100 before A10, L40S before L4).
PEAK_TFLOPS = {
    "H200": (67.0, 989.0),
    "H100 PCIe": (51.0, 756.0),
    "H100": (67.0, 989.0),
    "A100": (19.5, 312.0),
    "L40S": (91.6, 362.0),
    "L4": (30.3, 121.0),
    "A10G": None,  # a cloud variant of the A10 without a published tensor-core figure
    "A10": (31.2, 125.0),
    "RTX 4090": (82.6, 165.2),
    "RTX 3090": (35.6, 71.0),
    "V100": (15.7, 125.0),
    "T4": (8.1, 65.0),
    "P100": (9.3, 18.7),
}


def peak_flops(name, mixed_precision):
    """The datasheet peak FLOP/s of the GPU called ``name`` (float32, or float16 tensor cores
    when ``mixed_precision``), or None when the table does not know it."""
    for key, peaks in PEAK_TFLOPS.items():
        if key.lower() in str(name).lower():
            return None if peaks is None else 1e12 * peaks[1 if mixed_precision else 0]
    return None


def forward_flops_per_example(model):
    """Floating-point operations of one example's forward pass through ``model``, counted
    analytically (a multiply-add is 2 FLOPs):

    - Dense with kernel (d_in, d_out): 2 d_in d_out per position;
    - Conv2D with a (k_h, k_w, c_in, c_out) kernel and an (H_out, W_out) output:
      2 k_h k_w c_in c_out H_out W_out.

    Batch norm, activations, pooling and dropout cost O(activations), negligible next to these,
    and are left out. A training step costs about 3 times the forward pass (the backward pass
    computes two products per layer: the gradient for the inputs and the one for the weights).
    """
    import keras

    total = 0
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            out_h, out_w = layer.output.shape[1:3]
            total += 2 * kh * kw * cin * cout * out_h * out_w
        elif isinstance(layer, keras.layers.Dense):
            d_in, d_out = layer.kernel.shape
            positions = math.prod(layer.output.shape[1:-1])  # 1 for a (batch, features) input
            total += 2 * d_in * d_out * positions
    return int(total)


def _all_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers"):  # a nested model
            yield from _all_layers(layer)
        else:
            yield layer


def __getattr__(name):
    # ArrayBatches subclasses keras.utils.PyDataset; it is created on first use so that importing
    # this module does not import keras (and TensorFlow) before the backend is chosen.
    if name == "ArrayBatches":
        cls = _make_array_batches()
        globals()["ArrayBatches"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _make_array_batches():
    import keras

    class ArrayBatches(keras.utils.PyDataset):
        """Mini-batches of in-memory arrays for ``model.fit`` on any backend (what ``tf.data``
        does on TensorFlow): reshuffled every epoch when ``shuffle``, the last batch possibly
        smaller. ``workers > 1`` prepares upcoming batches in background threads while the
        accelerator computes (Keras's PyDataset machinery): that is the prefetching.

        Iterating it directly (``for x, y in batches``) gives one epoch.
        """

        def __init__(self, x, y, batch_size, shuffle=False, seed=None, workers=1):
            super().__init__(workers=workers, use_multiprocessing=False, max_queue_size=10)
            if len(x) != len(y):
                raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
            if int(batch_size) < 1:
                raise ValueError(f"batch_size must be >= 1, got {batch_size}")
            self.x, self.y = np.asarray(x), np.asarray(y)
            self.batch_size, self.shuffle = int(batch_size), bool(shuffle)
            self._rng = np.random.default_rng(seed)
            self._order = np.arange(len(self.x))
            self.on_epoch_end()

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, index):
            if not 0 <= index < len(self):
                raise IndexError(index)
            idx = self._order[index * self.batch_size:(index + 1) * self.batch_size]
            return self.x[idx], self.y[idx]

        def __iter__(self):
            for index in range(len(self)):
                yield self[index]
            self.on_epoch_end()

        def on_epoch_end(self):
            if self.shuffle:
                self._order = self._rng.permutation(len(self.x))

    return ArrayBatches
