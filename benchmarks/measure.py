"""Measure one thing in a fresh process and print it as JSON (wall seconds, peak RSS in MiB).

    python -m benchmarks.measure execute 01_losses
    python -m benchmarks.measure autograde 01_losses

Peak memory is the largest resident set of this process or any process it waited for
(the notebook kernel included), from getrusage: what a 2 GB Binder would have to hold.
"""

import json
import resource
import sys
import tempfile
import time


def _peak_mib():
    self_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(self_kib, children_kib) / 1024


def execute(chapter):
    from autograder.execute import execute_notebook
    from autograder.release import solution_path

    _, seconds = execute_notebook(solution_path(chapter))
    return seconds


def autograde(chapter):
    """Wall time of ``nbgrader autograde`` for one submission (the solution), release excluded."""
    from autograder.course_dir import CourseDir
    from autograder.release import solution_path

    with tempfile.TemporaryDirectory() as tmp:
        course = CourseDir(tmp)
        course.release(chapter)
        course.submit("student", chapter, solution_path(chapter))
        start = time.perf_counter()
        course.autograde(chapter)
        return time.perf_counter() - start


def main(argv):
    what, chapter = argv
    seconds = {"execute": execute, "autograde": autograde}[what](chapter)
    print(json.dumps({"what": what, "chapter": chapter, "seconds": round(seconds, 2), "peak_mib": round(_peak_mib())}))


if __name__ == "__main__":
    main(sys.argv[1:])
