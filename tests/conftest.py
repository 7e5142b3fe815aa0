"""Shared test set-up: the repository root is importable (for ``autograder``), plots go
nowhere, BLAS uses one thread, and TensorFlow stays quiet when a Keras test imports it."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as autograder.grading_env: no TensorFlow logs on a kernel's stderr
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["DLCOURSE_OFFLINE"] = "1"  # tests never touch the network


@pytest.fixture(scope="module")
def keras():
    """Keras 3 (TensorFlow backend unless KERAS_BACKEND says otherwise); skips when absent."""
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)


def pytest_collection_modifyitems(config, items):
    """GPU tests are skipped, with the reason, when no GPU is visible."""
    if not any("gpu" in item.keywords for item in items):
        return
    from tests.helpers import gpu_available

    if gpu_available():
        return
    skip = pytest.mark.skip(reason="needs a GPU (none found: nvidia-smi absent or lists no device)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
