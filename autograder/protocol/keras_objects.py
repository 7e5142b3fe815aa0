"""Keras objects across the protocol, for the hidden checks of the Keras chapters (09, 10).

The learner's Keras objects stay in the kernel; what crosses is data, both ways:

- **into the kernel** (:func:`send`): a model, optimizer or loss of the check travels as its
  Keras config (JSON), plus a model's weights and compile config; the interpreter's ``keras``
  step deserializes it there with Keras's ``safe_mode`` on (Keras's own classes only). Likewise
  :func:`send_dataset` (a batched ``tf.data`` pipeline of given arrays) and :func:`kernel_policy`
  (read or set the global dtype policy; the interpreter restores it when the script ends).
- **out of the kernel**: the learner's model as ``to_json()`` and ``get_weights()``, rebuilt
  here by :func:`mirror_model` (again with ``safe_mode`` on) so the existing inspections judge
  an identical model; callbacks as their class names and settings (:func:`mirror_callbacks`);
  a dataset as the batches of one pass per iteration (:func:`mirror_dataset`); tensors as
  NumPy arrays (:func:`to_array`).

Every function takes the check's ``fn`` (a :class:`~autograder.protocol.session.LearnerFunction`)
to reach its session. Keras is imported lazily: the NumPy chapters never load it.
"""

import json

import numpy as np

from autograder.protocol.session import RemoteObject
from dlcourse.checks.runner import CheckFailure

MAX_BATCHES = 10_000
MODEL_CLASSES = ("Sequential", "Functional", "Model")  # items read from a learner's dataset in one pass


def _keras():
    import keras

    return keras


def send(fn, obj, compiled=False):
    """A copy of the check's Keras object ``obj`` made in the kernel from its config (and a model's
    weights; with ``compiled``, its compile config); returns the handle. While planning, the
    reference works on ``obj`` itself."""
    keras = _keras()
    config = json.dumps(canonical_names(keras.saving.serialize_keras_object(obj)))
    weights = [np.asarray(w) for w in obj.get_weights()] if isinstance(obj, keras.Model) else None
    compile_config = json.dumps(canonical_names(obj.get_compile_config())) if compiled else None
    head = {"op": "keras", "config": config, "compile": compile_config}
    return fn.session.call(head, (weights,), {}, lambda _weights: obj)


def canonical_names(config):
    """``config`` with every layer's, model's and optimizer's name (Keras numbers them per process,
    e.g. ``dense_7``, ``sgd_3``) replaced by one numbered in order of appearance, everywhere it occurs: the same
    object sent in two rounds of a check is then the same step."""
    names = {}

    def collect(node):
        if isinstance(node, dict):
            inner = node.get("config")
            if (str(node.get("module", "")).startswith(("keras.layers", "keras.optimizers"))
                    or node.get("class_name") in MODEL_CLASSES) \
                    and isinstance(inner, dict) and isinstance(inner.get("name"), str):
                names.setdefault(inner["name"], f"object_{len(names)}")
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    def rename(node):
        if isinstance(node, dict):
            return {k: rename(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rename(v) for v in node]
        return names.get(node, node) if isinstance(node, str) else node

    collect(config)
    return rename(config)


def send_dataset(fn, x, y, batch_size):
    """``tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)`` made in the kernel; the handle."""
    import tensorflow as tf

    def planned(xy):
        return tf.data.Dataset.from_tensor_slices(tuple(xy)).batch(batch_size)

    return fn.session.call({"op": "dataset", "batch": int(batch_size)}, ((x, y),), {}, planned)


def kernel_policy(fn, name=None):
    """The name of the kernel's global dtype policy (before setting it to ``name``, when given)."""
    return fn.session.call({"op": "policy", "set": name}, (), {}, lambda: "float32")


def to_array(value):
    """A value the learner's code returned (a tensor handle, or plain data) as a NumPy value."""
    if isinstance(value, RemoteObject):
        if not value._attrs.get("numpy"):
            raise TypeError(f"a {value!r} that is not a tensor")
        value = value.numpy()
    return np.asarray(value)


def stand_in(handle):
    """A local object whose class has the name of the kernel object's class (for messages)."""
    names = handle._types if isinstance(handle, RemoteObject) else [type(handle).__name__]
    return type(str(names[0] if names else "object"), (), {})()


def mirror_model(value, name, case, weights=True):
    """The learner's returned model rebuilt here from its config (and, with ``weights``, its
    weights); a value that is not a Keras model comes back as a stand-in, for the check to report."""
    keras = _keras()
    if not isinstance(value, RemoteObject) or "Model" not in value._types:
        return value if not isinstance(value, RemoteObject) else stand_in(value)
    text = value.to_json()
    values = value.get_weights() if weights else None
    if not isinstance(text, str) or (weights and not (isinstance(values, list) and all(
            isinstance(w, np.ndarray) for w in values))):
        raise CheckFailure(f"{name}, case '{case}': the model's configuration or weights could not be read "
                           "(to_json() must give text and get_weights() a list of arrays)")
    try:
        model = keras.saving.deserialize_keras_object(json.loads(text), safe_mode=True)
        if weights:
            model.set_weights(values)
    except Exception as err:  # noqa: BLE001 - whatever the configuration holds, it only fails the case
        raise CheckFailure(f"{name}, case '{case}': your model could not be rebuilt from its configuration "
                           f"({type(err).__name__}: {str(err)[:300]}); build it from Keras's own layers "
                           "(keras.Sequential or the functional API)") from None
    if not isinstance(model, keras.Model):
        return stand_in(value)
    return model


CALLBACK_SETTINGS = ("monitor", "patience", "restore_best_weights", "factor", "min_delta", "mode", "min_lr")


def mirror_callbacks(value):
    """The learner's callbacks as local objects of the same Keras class (by name) with the same
    settings (read one attribute at a time); anything else as a stand-in."""
    keras = _keras()
    if not isinstance(value, (list, tuple)):
        return stand_in(value) if isinstance(value, RemoteObject) else value
    classes = {"EarlyStopping": keras.callbacks.EarlyStopping, "ReduceLROnPlateau": keras.callbacks.ReduceLROnPlateau}
    out = []
    for item in value:
        if not isinstance(item, RemoteObject):
            out.append(item)
            continue
        cls = next((classes[n] for n in item._types if n in classes), None)
        if cls is None:
            out.append(stand_in(item))
            continue
        mirror = cls.__new__(cls)
        for setting in CALLBACK_SETTINGS:
            if setting in item._attrs and not item._attrs[setting]:
                mirror.__dict__[setting] = getattr(item, setting)
        out.append(mirror)
    return type(value)(out)


class KernelDataset:
    """The learner's dataset, left in the kernel: every ``iter`` reads one pass of batches as arrays."""

    def __init__(self, fn, handle):
        self._fn, self._handle = fn, handle

    def __iter__(self):
        batches = self._fn.session.iterate(self._handle, MAX_BATCHES)
        if not isinstance(batches, list):
            raise TypeError("the dataset's batches could not be read")
        return iter(batches)

    @property
    def _input_dataset(self):
        return mirror_dataset(self._fn, self._handle._input_dataset)


def mirror_dataset(fn, value):
    """A :class:`KernelDataset` subclass named like the kernel object's class; a tf.data dataset
    there is one here too (the class is registered as a virtual subclass of ``tf.data.Dataset``)."""
    if not isinstance(value, RemoteObject):
        return value
    names = value._types or ["object"]
    cls = type(str(names[0]), (KernelDataset,), {})
    if "DatasetV2" in names and _keras().backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.data.Dataset.register(cls)
    return cls(fn, value)
