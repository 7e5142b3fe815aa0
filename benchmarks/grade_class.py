"""Class-size grading benchmark: ``python -m benchmarks.grade_class [chapter] [--n 100]``.

Prints, for N copies of a submission (the solution, as a correct student would hand it in):

- stock: one ``nbgrader autograde <chapter> --create`` invocation (sequential, as nbgrader does);
- parallel: ``python -m autograder.grade_class <chapter> --no-feedback`` with one worker per core;
- the floor: starting a grading kernel and running the notebook's imports, which any grader
  pays once per submission (with ``--one-worker``: measured before and after the 1-worker run,
  their mean used, since the speed of a shared machine drifts during a run);

with the wall time per submission, the speed-up, the ratio to the floor, peak memory, and a
machine-speed probe (a fixed Python loop) timed before each run.
``--one-worker`` also grades the class with one worker, for the parallel command's own speed-up
(target: at least :data:`SPEEDUP_TARGET` on 2 workers). Reader cells (autograder.reader_cells)
are skipped as in real grading, unless ``DLCOURSE_RUN_READER_CELLS=1``. Nothing is asserted.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from autograder.corpus import build_corpus
from autograder.course_dir import CourseDir


SPEEDUP_TARGET = 1.9


def _children_peak_mib():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def floor_seconds(chapter, repeats=3):
    """Median wall time to start a sandboxed grading kernel and run the chapter's set-up imports."""
    import nbformat
    from jupyter_client.manager import KernelManager

    from autograder import grading_env
    from autograder.release import solution_path

    grading_env.apply()
    setup = next(c.source for c in nbformat.read(str(solution_path(chapter)), as_version=4).cells
                 if c.cell_type == "code")
    times = []
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(repeats):
            start = time.perf_counter()
            # as nbgrader_config.py configures grading kernels: the sandboxed kernel has IPC sockets only
            km = KernelManager(kernel_name=grading_env.KERNEL_NAME, transport="ipc", ip=grading_env.ipc_prefix())
            km.start_kernel(cwd=cwd)
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            kc.execute_interactive(setup, timeout=120, output_hook=lambda msg: None)
            times.append(time.perf_counter() - start)
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return sorted(times)[len(times) // 2]


def probe_seconds():
    """Seconds of a fixed pure-Python loop: how fast the machine is right now (it drifts on shared hosts)."""
    start = time.perf_counter()
    sum(i * i for i in range(2_000_000))
    return time.perf_counter() - start


def make_class(root, chapter, n):
    course = CourseDir(root)
    course.release(chapter)
    build_corpus(chapter, Path(root) / "template", only={"correct"})
    source = Path(root) / "template" / "correct" / chapter / f"{chapter}.ipynb"
    for i in range(n):
        course.submit(f"student{i:03d}", chapter, source)
    return course


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", nargs="?", default="01_losses")
    parser.add_argument("--n", type=int, default=100, help="submissions (default 100)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--skip-stock", action="store_true", help="only the parallel command and the floor")
    parser.add_argument("--one-worker", action="store_true", help="also the parallel command with one worker")
    args = parser.parse_args(argv)
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    floors = [floor_seconds(args.chapter)]
    print(f"{args.chapter}: {args.n} submissions, {os.cpu_count()} cores, {args.workers} workers")
    results, probes = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_stock:
            stock = make_class(Path(tmp) / "stock", args.chapter, args.n)
            probes["stock nbgrader autograde (sequential)"] = probe_seconds()
            start = time.perf_counter()
            stock.autograde(args.chapter)
            results["stock nbgrader autograde (sequential)"] = time.perf_counter() - start
            stock_peak = _children_peak_mib()
        from autograder.grade_class import grade_class

        if args.one_worker:
            single = make_class(Path(tmp) / "single", args.chapter, args.n)
            probes["grade_class, 1 worker"] = probe_seconds()
            start = time.perf_counter()
            grade_class(args.chapter, single.root, workers=1, feedback=False, quiet=True)
            results["grade_class, 1 worker"] = time.perf_counter() - start
            floors.append(floor_seconds(args.chapter))  # the machine's speed drifts: the floor on both sides
        parallel = make_class(Path(tmp) / "parallel", args.chapter, args.n)

        probes[f"grade_class, {args.workers} workers"] = probe_seconds()
        start = time.perf_counter()
        grade_class(args.chapter, parallel.root, workers=args.workers, feedback=False, quiet=True)
        results[f"grade_class, {args.workers} workers"] = time.perf_counter() - start
        parallel_peak = _children_peak_mib()

    floor = sum(floors) / len(floors)
    print(f"floor (sandboxed kernel start + the notebook's imports): {floor:.2f} s per submission"
          + (f" (mean of {' and '.join(f'{f:.2f}' for f in floors)}, before and after the 1-worker run)"
             if len(floors) > 1 else ""))
    print("machine-speed probe before each run (a fixed Python loop; lower is faster): "
          + ", ".join(f"{label} {seconds:.3f} s" for label, seconds in probes.items()))
    print(f"| {'command':<40} | total (s) | per submission (s) | x floor |")
    print(f"|{'-' * 42}|-----------|--------------------|---------|")
    for label, seconds in results.items():
        per = seconds / args.n
        print(f"| {label:<40} | {seconds:9.1f} | {per:18.2f} | {per / floor:7.2f} |")
    par_s = results[f"grade_class, {args.workers} workers"]
    if not args.skip_stock:
        print(f"speed-up of the parallel command over stock: {results['stock nbgrader autograde (sequential)'] / par_s:.2f}x")
        print(f"peak memory of the largest process: stock {stock_peak:.0f} MiB, parallel {parallel_peak:.0f} MiB")
    else:
        print(f"peak memory of the largest process: {parallel_peak:.0f} MiB")
    if args.one_worker:
        print(f"speed-up of {args.workers} workers over 1: {results['grade_class, 1 worker'] / par_s:.2f}x "
              f"(target at least {SPEEDUP_TARGET}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
