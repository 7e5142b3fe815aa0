"""Write the visible check cases students get: ``python -m autograder.build_checks``.

For each chapter module in :mod:`autograder.cases`, the reference and the known
mistakes are evaluated on the VISIBLE inputs and stored as plain numbers in
``dlcourse/checks/cases/<CHAPTER>.json``. The student package thus holds expected
outputs, never the code that computes them. ``--check`` exits non-zero when the
stored files are out of date (a test runs it).
"""

import argparse
import sys
from pathlib import Path

from autograder.cases import evaluate, reference_and_mistakes, topic_modules
from dlcourse.checks.encoding import dumps

CASES_DIR = Path(__file__).resolve().parent.parent / "dlcourse" / "checks" / "cases"


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
    """dict path -> JSON text, one file per chapter that has visible cases."""
    return {CASES_DIR / f"{m.CHAPTER}.json": dumps(build_chapter(m)) for m in topic_modules() if getattr(m, "VISIBLE", None)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that are out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, text in rendered_files().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path}")
    if args.check and stale:
        print("out of date (run python -m autograder.build_checks):", *map(str, stale), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
