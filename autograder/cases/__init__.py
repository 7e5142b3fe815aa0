"""Check cases per chapter: the visible ones (stored for students) and the hidden ones.

Each chapter module here (named like its reference module) defines

- ``CHAPTER``: the notebook folder, e.g. ``"01_losses"``;
- ``VISIBLE``: dict function name -> list of :class:`Case` (small, readable inputs;
  expected outputs are computed from the reference and stored as numbers in
  ``dlcourse/checks/cases/<CHAPTER>.json`` by ``python -m autograder.build_checks``);
- ``HIDDEN``: dict function name -> ``f(rng) -> list of Case``: randomized inputs of
  several shapes and scales, including extreme values, used only at grading time;
- optionally ``HIDDEN_CUSTOM``: dict function name -> ``f(learner_fn)`` for checks
  that are not "same output as the reference" (classes, RNG-dependent functions).
"""

import copy
import importlib
import warnings
from dataclasses import dataclass, field

import numpy as np

from dlcourse.checks.compare import agree

TOPICS = (
    "losses",
    "gradient_descent",
    "optimizers",
    "schedules",
    "regularization",
    "backprop",
    "batchnorm_dropout",
    "mlp",
    "keras_training",
    "gpu_lab",
)


@dataclass
class Case:
    """One call of a graded function: ``fn(**inputs)``; ``raises`` names the expected error type."""

    name: str
    inputs: dict
    raises: type | None = None
    mutable: tuple = field(default_factory=tuple)


def _import_topic(topic, strict):
    try:
        return importlib.import_module(f"autograder.cases.{topic}")
    except ModuleNotFoundError as err:
        if err.name != f"autograder.cases.{topic}" and strict:
            raise
    except Exception:
        if strict:
            raise
    return None


def topic_modules(strict=True):
    """The chapter case modules that exist, in course order.

    strict=False skips a module that fails to import (grading one chapter must not depend on
    another chapter's cases); the test suite imports them strictly.
    """
    return [m for m in (_import_topic(t, strict) for t in TOPICS) if m is not None]


def find_topic(function_name):
    """(topic name, cases module) that grades ``function_name``.

    Modules are imported one at a time, in course order, until the function is found, so
    grading a NumPy chapter never imports the Keras chapters' modules (nor TensorFlow).
    """
    for topic in TOPICS:
        module = _import_topic(topic, strict=False)
        if module is None:
            continue
        if function_name in getattr(module, "VISIBLE", {}) or function_name in getattr(module, "HIDDEN", {}) \
                or function_name in getattr(module, "HIDDEN_CUSTOM", {}):
            return topic, module
    raise KeyError(f"no graded function named {function_name!r}")


def reference_and_mistakes(function_name):
    """(reference function, dict mistake name -> wrong function) for a graded function."""
    topic, _ = find_topic(function_name)
    reference = getattr(importlib.import_module(f"autograder.reference.{topic}"), function_name)
    try:
        mistakes = importlib.import_module(f"autograder.mistakes.{topic}").MISTAKES.get(function_name, {})
    except ModuleNotFoundError:
        mistakes = {}
    return reference, mistakes


def _quiet_call(fn, inputs):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(**copy.deepcopy(inputs))


def evaluate(case, reference, mistakes):
    """Expected output and the outputs of the mistakes that differ from it on this case."""
    if case.raises is not None:
        return {"raises": case.raises}
    expected = _quiet_call(reference, case.inputs)
    outputs = {}
    for name, wrong in mistakes.items():
        try:
            out = _quiet_call(wrong, case.inputs)
        except Exception:  # noqa: BLE001 - a mistake may crash on this input; then it cannot be matched
            continue
        if not agree(out, expected):
            outputs[name] = out
    return {"expected": expected, "mistakes": outputs}
