"""Datasets that work offline.

- :func:`load_digits` : scikit-learn's handwritten digits (1797 images of 8x8 pixels), which
  ship inside scikit-learn: always available, no network.
- :func:`load_image_dataset` : the real ``keras.datasets`` loader (MNIST, Fashion-MNIST) when the
  data is cached or the network is reachable; otherwise, with a clear message, the digits above
  in the same format. Set ``DLCOURSE_OFFLINE=1`` to skip the download attempt entirely.

Arrays are float64 in [0, 1] for the NumPy chapters (``load_digits``) and float32 in [0, 1] for
the Keras chapters (``load_image_dataset``); labels are integer class ids.
"""

import os
import socket
from dataclasses import dataclass

import numpy as np

from dlcourse.i18n import tr


def offline():
    """True when downloads must not be attempted (``DLCOURSE_OFFLINE`` set to a non-empty value other than 0)."""
    return os.environ.get("DLCOURSE_OFFLINE", "") not in ("", "0")


def stratified_split(y, fractions, rng):
    """Indices splitting labels ``y`` into len(fractions) parts, each class spread proportionally.

    fractions: positive numbers summing to 1, e.g. (0.6, 0.2, 0.2). Returns a list of index arrays.
    """
    fractions = np.asarray(fractions, dtype=np.float64)
    if np.any(fractions <= 0) or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"fractions must be positive and sum to 1, got {fractions.tolist()}")
    parts = [[] for _ in fractions]
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        cuts = np.round(np.cumsum(fractions)[:-1] * idx.size).astype(int)
        for part, chunk in zip(parts, np.split(idx, cuts)):
            part.append(chunk)
    return [rng.permutation(np.concatenate(p)) for p in parts]


def load_digits(fractions=(0.6, 0.2, 0.2), seed=0):
    """scikit-learn's 8x8 digits, flattened to 64 features in [0, 1], stratified train/val/test.

    Returns a dict with X_train (n_train, 64), y_train (n_train,), X_val, y_val, X_test, y_test.
    """
    from sklearn.datasets import load_digits as sk_load_digits

    data = sk_load_digits()
    X = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    train, val, test = stratified_split(y, fractions, np.random.default_rng(seed))
    return {"X_train": X[train], "y_train": y[train], "X_val": X[val], "y_val": y[val],
            "X_test": X[test], "y_test": y[test]}


@dataclass
class ImageDataset:
    """Images (n, height, width, 1) float32 in [0, 1] with integer labels, and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    class_names: tuple

    @property
    def num_classes(self):
        return len(self.class_names)


FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
DIGIT_CLASSES = tuple(str(d) for d in range(10))


def _digits_as_images():
    parts = load_digits(fractions=(0.8, 0.1, 0.1), seed=0)
    x_train = np.concatenate([parts["X_train"], parts["X_val"]]).reshape(-1, 8, 8, 1).astype(np.float32)
    y_train = np.concatenate([parts["y_train"], parts["y_val"]])
    x_test = parts["X_test"].reshape(-1, 8, 8, 1).astype(np.float32)
    return ImageDataset(x_train, y_train, x_test, parts["y_test"], "scikit-learn digits (8x8, offline fallback)",
                        DIGIT_CLASSES)


def load_image_dataset(name="fashion_mnist", max_train=None, max_test=None, timeout=20.0):
    """MNIST or Fashion-MNIST through ``keras.datasets``, else the offline digits, with a message.

    name: "fashion_mnist" or "mnist". max_train/max_test: keep only the first examples (small runs).
    Returns an :class:`ImageDataset`; ``source`` says which data you got.
    """
    if name not in ("fashion_mnist", "mnist"):
        raise ValueError(f"name must be 'fashion_mnist' or 'mnist', got {name!r}")
    dataset = None
    if offline():
        print(tr(f"DLCOURSE_OFFLINE is set: using the offline digits instead of {name}."))
    else:
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(timeout)
        try:
            import keras

            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
            dataset = ImageDataset((x_train[..., None] / 255.0).astype(np.float32), y_train.astype(np.int64),
                                   (x_test[..., None] / 255.0).astype(np.float32), y_test.astype(np.int64),
                                   f"keras.datasets.{name}", FASHION_CLASSES if name == "fashion_mnist" else DIGIT_CLASSES)
        except Exception as err:  # noqa: BLE001 - any download/cache failure means: fall back
            print(tr(f"Could not load {name} ({type(err).__name__}: {err}).\n"
                     "Using scikit-learn's 8x8 digits instead, which work offline. The code is the same; "
                     "only the images are smaller and the accuracies differ."))
        finally:
            socket.setdefaulttimeout(previous)
    if dataset is None:
        dataset = _digits_as_images()
    if max_train is not None:
        dataset.x_train, dataset.y_train = dataset.x_train[:max_train], dataset.y_train[:max_train]
    if max_test is not None:
        dataset.x_test, dataset.y_test = dataset.x_test[:max_test], dataset.y_test[:max_test]
    return dataset
