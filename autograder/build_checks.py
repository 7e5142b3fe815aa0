"""Write the visible check cases students get: ``python -m autograder.build_checks``.

For each chapter of :mod:`autograder.chapters` (its ``cases.py``), the reference and the known
mistakes are evaluated on the VISIBLE inputs and stored as plain numbers in
``dlcourse/checks/cases/<CHAPTER>.json``. A chapter whose property checks
(``dlcourse/checks/properties/``) compare with stored numbers defines
``stored_numbers()`` in its cases module; what it returns is written to
``dlcourse/checks/cases/properties/<CHAPTER>.json``, read by
:func:`dlcourse.checks.properties.stored`. The student package thus holds expected
outputs, never the code that computes them, and every stored number comes from this
one build step. ``--check`` exits non-zero when the stored files are out of date (a
test runs it); property numbers computed in float32 (the Keras chapters) may differ in
their last digits from machine to machine, so those files are compared within a
tolerance, not as text.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from autograder.chapters import CHAPTERS, reference_and_mistakes
from autograder.checking import evaluate
from dlcourse.checks.encoding import dumps, loads

CASES_DIR = Path(__file__).resolve().parent.parent / "dlcourse" / "checks" / "cases"
PROPERTIES_DIR = CASES_DIR / "properties"
PROPERTY_RTOL, PROPERTY_ATOL = 1e-5, 1e-7


def build_chapter(module):
    """dict function name -> list of stored case dicts for one chapter module."""
    stored = {}
    for function_name, cases in module.VISIBLE.items():
        reference, mistakes = reference_and_mistakes(function_name)
        entries = []
        for case in cases:
            result = evaluate(case, reference, mistakes)
            entry = {"name": case.name, "inputs": case.inputs}
            if "raises" in result:
                entry["raises"] = result["raises"].__name__
            else:
                entry["expected"] = result["expected"]
                entry["mistakes"] = result["mistakes"]
            if case.mutable:
                entry["mutable"] = list(case.mutable)
            entries.append(entry)
        stored[function_name] = entries
    return stored


def rendered_files():
    """dict path -> JSON text: one cases file per chapter that has visible cases, and one
    property-numbers file per chapter whose cases module defines ``stored_numbers()``."""
    files = {}
    for module in (chapter.module("cases") for chapter in CHAPTERS):
        if getattr(module, "VISIBLE", None):
            files[CASES_DIR / f"{module.CHAPTER}.json"] = dumps(build_chapter(module))
        if hasattr(module, "stored_numbers"):
            files[PROPERTIES_DIR / f"{module.CHAPTER}.json"] = dumps(module.stored_numbers())
    return files


def same_numbers(a, b, rtol=PROPERTY_RTOL, atol=PROPERTY_ATOL):
    """True when two decoded stored values have the same structure, equal texts and flags, and
    numbers equal within rtol/atol (NaN equal to NaN)."""
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() \
            and all(same_numbers(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same_numbers(x, y, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, (str, bool, type(None))) or isinstance(b, (str, bool, type(None))) or callable(a) or callable(b):
        return type(a) is type(b) and a == b
    try:
        x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True))


def up_to_date(path, current, text):
    """Is the stored ``current`` text (None: no file) what the build would write?"""
    if current == text:
        return True
    if current is None or path.parent != PROPERTIES_DIR:
        return False
    return same_numbers(loads(current), loads(text))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in rendered_files().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if not up_to_date(path, current, text):
            stale.append(path)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path}")
    if args.check and stale:
        print("out of date (run python -m autograder.build_checks):", *map(str, stale), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
