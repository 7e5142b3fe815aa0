"""Measure one thing in a fresh process and print it as JSON (wall seconds, peak RSS in MiB).

    python -m benchmarks.measure execute 01_losses
    python -m benchmarks.measure autograde 01_losses
    python -m benchmarks.measure autograde 01_losses 2   # two submissions in one invocation
    python -m benchmarks.measure floor 01_losses

``autograde`` skips the chapter's reader cells (autograder.reader_cells) unless
``DLCOURSE_RUN_READER_CELLS=1``; ``floor`` is a fresh grading kernel plus the chapter's imports.

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


def autograde(chapter, n=1):
    """Wall time of one ``nbgrader autograde`` of ``n`` submissions (the solution), release excluded."""
    from autograder.course_dir import CourseDir
    from autograder.release import solution_path

    with tempfile.TemporaryDirectory() as tmp:
        course = CourseDir(tmp)
        course.release(chapter)
        for i in range(n):
            course.submit(f"student{i}", chapter, solution_path(chapter))
        start = time.perf_counter()
        course.autograde(chapter, f"--RestoreStructure.release_directory={course.root / 'course'}")
        return time.perf_counter() - start


def floor(chapter):
    """Median wall time to start a sandboxed grading kernel and run the chapter's set-up cell."""
    from benchmarks.grade_class import floor_seconds

    return floor_seconds(chapter)


def main(argv):
    what, chapter, *n = argv
    seconds = {"execute": execute, "autograde": autograde, "floor": floor}[what](chapter, *map(int, n))
    print(json.dumps({"what": what, "chapter": chapter, "seconds": round(seconds, 2), "peak_mib": round(_peak_mib())}))


if __name__ == "__main__":
    main(sys.argv[1:])
