"""The chapters: one registry line each, and the lookups every stage of grading uses.

A chapter's id is its notebook folder under ``solutions/`` (``"03_optimizers"``); its instructor
code lives side by side in the package ``autograder/chapters/ch<id>/``:

- ``reference.py``: the reference implementations (float64, batch first), one per graded function;
- ``mistakes.py``: ``MISTAKES[function][description]``, known wrong implementations with the
  reference's signature; each description completes the sentence "your output matches ...";
- ``cases.py``: ``CHAPTER`` (the id), ``VISIBLE`` (function -> list of
  :class:`autograder.checking.Case`, stored as numbers for students by ``build_checks``),
  ``HIDDEN`` (function -> ``f(rng) -> list of Case``, grading time only), and optionally
  ``HIDDEN_CUSTOM`` (function -> ``f(learner_fn)``) and ``BACKWARD_CASES``.

The package's ``__init__.py`` holds only ``FUNCTIONS``: the graded functions in notebook order, the
grade ids of the notebook's answer cells that have a test cell (tests/test_chapters.py checks it
against the notebooks and the cases). Adding a graded function: the notebook and the files of its
chapter folder. Adding a chapter: its notebook, its folder, one line in ``CHAPTERS`` below.

Finding a function's chapter reads those lists and imports no chapter code; a reference, mistakes
or cases module is imported when it is asked for, so grading a NumPy chapter never imports the
Keras chapters (nor TensorFlow).
"""

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    """One chapter: its id (notebook folder) and whether it needs Keras (TensorFlow)."""

    id: str
    keras: bool = False

    @property
    def package(self):
        """The Python package of its instructor code, ``autograder.chapters.ch<id>``."""
        return f"{__name__}.ch{self.id}"

    @property
    def functions(self):
        """Its graded functions, in notebook order (``FUNCTIONS`` of its package; imports no chapter code)."""
        return importlib.import_module(self.package).FUNCTIONS

    def module(self, part):
        """Its ``reference``, ``mistakes`` or ``cases`` module (imported now)."""
        return importlib.import_module(f"{self.package}.{part}")


CHAPTERS = (
    Chapter("01_losses"),
    Chapter("02_gradient_descent"),
    Chapter("03_optimizers"),
    Chapter("04_learning_rate_schedules"),
    Chapter("05_regularization"),
    Chapter("06_backprop_initialization"),
    Chapter("07_batchnorm_dropout"),
    Chapter("08_numpy_mlp_capstone"),
    Chapter("09_keras_training", keras=True),
    Chapter("10_gpu_keras_lab", keras=True),
)

_BY_ID = {c.id: c for c in CHAPTERS}


def chapter(chapter_id):
    """The :class:`Chapter` of id ``chapter_id`` (KeyError naming the known ids otherwise)."""
    try:
        return _BY_ID[chapter_id]
    except KeyError:
        raise KeyError(f"no chapter {chapter_id!r}; the chapters are {sorted(_BY_ID)}") from None


def chapter_argument(text):
    """A chapter id as typed on a command line: the id itself or its number ("8", "08" for
    ``08_numpy_mlp_capstone``); for argparse's ``type=``, so a wrong one is a usage error naming the ids."""
    import argparse

    if text in _BY_ID:
        return text
    matches = [c.id for c in CHAPTERS if text.isdigit() and c.id.split("_", 1)[0].lstrip("0") == text.lstrip("0")]
    if len(matches) == 1:
        return matches[0]
    raise argparse.ArgumentTypeError(f"no chapter {text!r}; give its id or number, one of: {', '.join(chapter_ids())}")


def chapter_of(function_name):
    """The :class:`Chapter` that grades ``function_name`` (reads the chapters' function lists only)."""
    for found in CHAPTERS:
        if function_name in found.functions:
            return found
    raise KeyError(f"no graded function named {function_name!r}")


def chapter_ids(keras=None):
    """The chapter ids in course order; keras=False/True keeps only the NumPy/Keras chapters."""
    return [c.id for c in CHAPTERS if keras is None or c.keras == keras]


def graded_functions(keras=None):
    """Every graded function name, in course order (keras as in :func:`chapter_ids`)."""
    return [name for c in CHAPTERS if keras is None or c.keras == keras for name in c.functions]


def cases_of(function_name):
    """The cases module of the chapter grading ``function_name``."""
    return chapter_of(function_name).module("cases")


def reference_of(function_name):
    """The reference module of the chapter grading ``function_name``."""
    return chapter_of(function_name).module("reference")


def reference_and_mistakes(function_name):
    """(reference function, dict mistake name -> wrong function) for a graded function."""
    found = chapter_of(function_name)
    return getattr(found.module("reference"), function_name), found.module("mistakes").MISTAKES.get(function_name, {})
