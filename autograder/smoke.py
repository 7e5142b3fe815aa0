"""Execute every chapter's solution notebook headless and report: ``./course.sh run``.

Executed copies are written to build/executed/ (ignored by git) so figures can be looked at.
"""

import argparse
import sys
import traceback

import nbformat

from autograder.chapters import chapter_argument
from autograder.execute import ROOT, execute_notebook
from autograder.release import chapters


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=chapter_argument, help="chapter ids or numbers (default: all)")
    args = parser.parse_args(argv)
    out_dir = ROOT / "build" / "executed"
    out_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    for chapter in args.chapters or chapters():
        path = ROOT / "solutions" / chapter / f"{chapter}.ipynb"
        try:
            nb, seconds = execute_notebook(path)
        except Exception:  # noqa: BLE001 - report and go on with the other chapters
            failures += 1
            print(f"FAIL {chapter}\n{traceback.format_exc(limit=1)}")
            continue
        nbformat.write(nb, str(out_dir / f"{chapter}.ipynb"))
        print(f"ok   {chapter:<28} {seconds:6.1f} s   -> build/executed/{chapter}.ipynb")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
