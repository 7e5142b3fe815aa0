"""Regenerate the README's screenshots (docs/screenshots/*.png) from the two browser journeys.

    ./course.sh screenshots        (or: python -m tests.browser.screenshots [--out DIR])

Runs the student and the instructor journey of tests/test_browser.py on temporary copies of the
course, keeps the screenshots the README shows, and shrinks them to a 64-colour palette so that
each stays small enough to commit.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from tests.browser import harness, run

OUT = harness.ROOT / "docs" / "screenshots"
# The moments the README shows, in its order.
KEPT = ("student-named-mistake", "student-validate", "instructor-formgrader", "instructor-autograded",
        "instructor-feedback")


def shrink(source, target, colours=64):
    """Write ``source`` (PNG) to ``target`` as a palette PNG of at most ``colours`` colours."""
    from PIL import Image

    with Image.open(source) as image:
        image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write the PNG files (default {OUT})")
    args = parser.parse_args(argv)
    reason = harness.unavailable()
    if reason:
        print(f"cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dlcourse-shots-") as raw:
        for journey in (run.student, run.instructor):
            journey(raw)
        for name in KEPT:
            target = args.out / f"{name}.png"
            shrink(Path(raw) / f"{name}.png", target)
            print(f"{target.relative_to(harness.ROOT) if target.is_relative_to(harness.ROOT) else target}: "
                  f"{target.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
