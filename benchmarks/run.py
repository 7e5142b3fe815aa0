"""Print per-chapter figures: executing the solution notebook, autograding one submission
with stock nbgrader, and the peak memory of each (``./course.sh bench [chapters]``); then
the cost of one more submission against the floor (``--floor``).

Each measurement runs in a fresh process so imports and memory are not shared.

With ``--floor`` it prints, per chapter, the floor (a fresh grading kernel plus the chapter's
imports, TensorFlow included for chapters 09-10); one ``nbgrader autograde`` of one submission
with the reader cells run (``DLCOURSE_RUN_READER_CELLS=1``, as before they were marked) and
skipped (the default); one more submission (an invocation with two submissions less the one with
one: nbgrader's own start-up left out), and its ratio to the floor against the target
(:data:`TARGETS`). No figure is asserted.
"""

import argparse
import json
import os
import platform
import subprocess
import sys

from autograder.chapters import chapter_argument
from autograder.execute import ROOT, kernel_env
from autograder.release import chapters


TARGETS = {"08_numpy_mlp_capstone": 4.0}
"""One more submission may cost this many floors (default :data:`DEFAULT_TARGET`)."""
DEFAULT_TARGET = 2.0
EXTRA = 3
"""Extra submissions the cost of one more submission is averaged over."""


def measure(what, chapter, run_reader_cells=False, n=1):
    env = kernel_env()
    env["DLCOURSE_RUN_READER_CELLS"] = "1" if run_reader_cells else "0"
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    count = [str(n)] if n != 1 else []
    out = subprocess.run([sys.executable, "-m", "benchmarks.measure", what, chapter, *count], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        return {"seconds": float("nan"), "peak_mib": float("nan"), "error": out.stderr[-500:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=chapter_argument, help="chapter ids or numbers (default: all)")
    parser.add_argument("--floor", action="store_true", help="per-submission cost against the floor")
    parser.add_argument("--extra", type=int, default=EXTRA, help=f"extra submissions for --floor (default {EXTRA})")
    args = parser.parse_args(argv)
    if args.floor:
        return floor_table(args.chapters or chapters(), max(1, args.extra))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    header = f"| {'chapter':<28} | execute (s) | peak MiB | autograde 1 (s) | peak MiB |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for chapter in args.chapters or chapters():
        ex, ag = measure("execute", chapter), measure("autograde", chapter)
        print(f"| {chapter:<28} | {ex['seconds']:>11.1f} | {ex['peak_mib']:>8.0f} | {ag['seconds']:>15.1f} |"
              f" {ag['peak_mib']:>8.0f} |", flush=True)
        for result in (ex, ag):
            if "error" in result:
                print(f"  error: {result['error']}")
    return 0


def floor_table(chapter_ids, extra=EXTRA):
    """Print the floor, autograde with reader cells run and skipped, one more submission and its target."""
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}; one more = (autograde of {1 + extra} - of 1) / {extra}")
    header = (f"| {'chapter':<28} | floor (s) | autograde 1, reader run (s) | skipped (s) | one more (s) |"
              f" x floor | target |")
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    for chapter in chapter_ids:
        results = [measure("floor", chapter), measure("autograde", chapter, run_reader_cells=True),
                   measure("autograde", chapter), measure("autograde", chapter, n=1 + extra)]
        floor, run, skip, more_run = (r["seconds"] for r in results)
        more, target = (more_run - skip) / extra, TARGETS.get(chapter, DEFAULT_TARGET)
        print(f"| {chapter:<28} | {floor:>9.2f} | {run:>27.1f} | {skip:>11.1f} | {more:>12.1f} |"
              f" {more / floor:>7.1f} | {target:>5.0f}x |", flush=True)
        for result in results:
            if "error" in result:
                print(f"  error: {result['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
