"""Print per-chapter figures: executing the solution notebook, autograding one submission
with stock nbgrader, and the peak memory of each (``./course.sh bench [chapters]``).

Each measurement runs in a fresh process so imports and memory are not shared.
"""

import argparse
import json
import os
import platform
import subprocess
import sys

from autograder.execute import ROOT, kernel_env
from autograder.release import chapters


def measure(what, chapter):
    env = kernel_env()
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])
    out = subprocess.run([sys.executable, "-m", "benchmarks.measure", what, chapter], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        return {"seconds": float("nan"), "peak_mib": float("nan"), "error": out.stderr[-500:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapter ids (default: all)")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
