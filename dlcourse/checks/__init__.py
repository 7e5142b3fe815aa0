"""Visible checks: run right after each exercise, they say what is wrong, not just "wrong".

Usage in a notebook::

    from dlcourse.checks import check
    check(mse)            # looks the cases up by the function's name

Cases are stored numbers (``cases/<chapter>.json``: inputs, expected output, and
the outputs of known mistakes), generated from the instructor's reference by
``python -m autograder.build_checks``. Functions whose output depends on a random
generator, or that take callables or are classes, are checked by properties in
``dlcourse/checks/properties/<chapter>.py`` instead.
"""

import functools
import importlib
import pkgutil
from importlib import resources

from dlcourse.checks.encoding import loads
from dlcourse.checks.runner import CheckFailure, run_case
from dlcourse.i18n import tr

__all__ = ["check", "CheckFailure", "stored_cases"]

_BUILTIN_ERRORS = {"ValueError": ValueError, "TypeError": TypeError}


@functools.lru_cache(maxsize=None)
def stored_cases():
    """All stored cases: dict function name -> list of case dicts."""
    cases = {}
    for entry in sorted(resources.files("dlcourse.checks").joinpath("cases").iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".json"):
            cases.update(loads(entry.read_text(encoding="utf-8")))
    return cases


@functools.lru_cache(maxsize=None)
def property_checks():
    """dict function name -> property check ``f(learner_fn)`` from dlcourse.checks.properties.*."""
    import dlcourse.checks.properties as pkg

    found = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        found.update(getattr(module, "PROPERTY_CHECKS", {}))
    return found


def check(fn, name=None):
    """Run the visible checks for ``fn`` and print a one-line summary when they pass.

    name: the graded function's name; defaults to ``fn.__name__``.
    Raises CheckFailure (an AssertionError) naming the failing case, expected vs got,
    and the known mistake the output matches, if any; in Jupyter it shows only that diagnosis
    (dlcourse/checks/failure.py), not this package's frames.
    """
    __tracebackhide__ = True  # noqa: F841 - IPython and pytest leave this frame out of tracebacks
    name = name or getattr(fn, "__name__", None)
    cases = stored_cases().get(name)
    prop = property_checks().get(name)
    if cases is None and prop is None:
        raise KeyError(f"no visible checks are stored for {name!r}")
    count = 0
    for case in cases or []:
        raises = _BUILTIN_ERRORS.get(case.get("raises")) if case.get("raises") else None
        run_case(fn, name, case["name"], case["inputs"], case.get("expected"), case.get("mistakes"), raises,
                 mutable=tuple(case.get("mutable", ())))
        count += 1
    if prop is not None:
        count += prop(fn) or 0
    print(tr(f"\N{CHECK MARK} {name}: all {count} visible checks passed."))
