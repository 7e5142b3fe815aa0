"""Class-size grading benchmark: ``python -m benchmarks.grade_class [chapter] [--n 100]``.

Prints, for N copies of a submission (the solution, as a correct student would hand it in):

- stock: one ``nbgrader autograde <chapter> --create`` invocation (sequential, as nbgrader does);
- parallel: ``python -m autograder.grade_class <chapter> --no-feedback`` with one worker per core;
- the floor: starting a grading kernel and running the notebook's imports, which any grader
  pays once per submission;

with the wall time per submission, the speed-up, the ratio to the floor, peak memory, and a
machine-speed probe (a fixed Python loop) timed before each run.
``--one-worker`` also grades the class with one worker, for the parallel command's own speed-up
(target: at least :data:`SPEEDUP_TARGET` on 2 workers): in ``--rounds`` rounds (default 2), each
grading its share of the class on 1 worker and on all of them, in alternating order, with the
floor measured before, between and after the rounds, so that a drift of the machine's speed during
the run weighs on both alike (each round pays the workers' start-up, about 1 s, again). Before
each round and after the last it also measures what the machine itself gains from more processes
(:func:`machine_speedup`): grading cannot scale better than that.
Reader cells (autograder.reader_cells) are skipped as in real grading, unless
``DLCOURSE_RUN_READER_CELLS=1``. Nothing is asserted.
"""

import argparse
import collections
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from autograder.chapters import chapter_argument
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


def machine_speedup(processes, repeats=3):
    """How much faster ``processes`` processes, each running a fixed Python loop, finish when started
    all at once than one after the other (median of ``repeats``): the most that as many workers gain."""
    import subprocess

    loop = [sys.executable, "-c", "sum(i * i for i in range(5_000_000))"]
    ratios = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(processes):
            subprocess.run(loop, check=True)
        one_after_the_other = time.perf_counter() - start
        start = time.perf_counter()
        for proc in [subprocess.Popen(loop) for _ in range(processes)]:
            proc.wait()
        ratios.append(one_after_the_other / (time.perf_counter() - start))
    return sorted(ratios)[len(ratios) // 2]


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
    parser.add_argument("chapter", nargs="?", default="01_losses", type=chapter_argument, help="chapter id or number, e.g. 01_losses or 1 (default 01_losses)")
    parser.add_argument("--n", type=int, default=100, help="submissions (default 100)")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--skip-stock", action="store_true", help="only the parallel command and the floor")
    parser.add_argument("--one-worker", action="store_true", help="also the parallel command with one worker")
    parser.add_argument("--rounds", type=int, default=2,
                        help="with --one-worker: the class is graded in this many rounds, each on 1 worker and on "
                             "all of them, in alternating order (default 2)")
    args = parser.parse_args(argv)
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])

    print(f"{args.chapter}: {args.n} submissions, {os.cpu_count()} cores, {args.workers} workers")
    floors = [floor_seconds(args.chapter)]
    results, probes, run_seconds = {}, collections.defaultdict(list), collections.defaultdict(list)
    machine_speedups = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_stock:
            stock = make_class(Path(tmp) / "stock", args.chapter, args.n)
            probes["stock nbgrader autograde (sequential)"].append(probe_seconds())
            start = time.perf_counter()
            stock.autograde(args.chapter)
            results["stock nbgrader autograde (sequential)"] = time.perf_counter() - start
            stock_peak = _children_peak_mib()
        from autograder.grade_class import grade_class

        parallel_label = f"grade_class, {args.workers} workers"
        runs = [("grade_class, 1 worker", 1)] if args.one_worker else []
        runs.append((parallel_label, args.workers))
        rounds = max(1, min(args.rounds, args.n)) if args.one_worker else 1
        for number in range(rounds):
            size = args.n // rounds + (number < args.n % rounds)
            if args.one_worker and args.workers > 1:
                machine_speedups.append(machine_speedup(args.workers))
            for label, workers in (runs if number % 2 == 0 else runs[::-1]):  # alternate: drift hits both alike
                course = make_class(Path(tmp) / f"{workers}-{number}", args.chapter, size)
                probes[label].append(probe_seconds())
                start = time.perf_counter()
                grade_class(args.chapter, course.root, workers=workers, feedback=False, quiet=True)
                run_seconds[label].append(time.perf_counter() - start)
                results[label] = sum(run_seconds[label])
            if args.one_worker:
                floors.append(floor_seconds(args.chapter))  # the machine's speed drifts: the floor between rounds
        if machine_speedups:
            machine_speedups.append(machine_speedup(args.workers))
        parallel_peak = _children_peak_mib()

    floor = sum(floors) / len(floors)
    print(f"floor (sandboxed kernel start + the notebook's imports): {floor:.2f} s per submission"
          + (f" (mean of {', '.join(f'{f:.2f}' for f in floors)}: before, between and after the rounds)"
             if len(floors) > 1 else ""))
    if rounds > 1:
        print(f"{rounds} rounds of about {args.n // rounds} submissions, the 1-worker and the {args.workers}-worker "
              "run in each, in alternating order")
    print("machine-speed probe before each run (a fixed Python loop; lower is faster): "
          + "; ".join(f"{label} {', '.join(f'{p:.3f}' for p in seconds)} s" for label, seconds in probes.items()))
    if rounds > 1:
        print("each run's wall time, in round order: "
              + "; ".join(f"{label} {', '.join(f'{t:.1f}' for t in seconds)} s" for label, seconds in run_seconds.items()))
    print(f"| {'command':<40} | total (s) | per submission (s) | x floor |")
    print(f"|{'-' * 42}|-----------|--------------------|---------|")
    for label, seconds in results.items():
        per = seconds / args.n
        print(f"| {label:<40} | {seconds:9.1f} | {per:18.2f} | {per / floor:7.2f} |")
    par_s = results[parallel_label]
    if not args.skip_stock:
        print(f"speed-up of the parallel command over stock: {results['stock nbgrader autograde (sequential)'] / par_s:.2f}x")
        print(f"peak memory of the largest process: stock {stock_peak:.0f} MiB, parallel {parallel_peak:.0f} MiB")
    else:
        print(f"peak memory of the largest process: {parallel_peak:.0f} MiB")
    if args.one_worker:
        per_round = [one / many for one, many in zip(run_seconds["grade_class, 1 worker"], run_seconds[parallel_label])]
        print(f"speed-up of {args.workers} workers over 1: {results['grade_class, 1 worker'] / par_s:.2f}x "
              f"(target at least {SPEEDUP_TARGET}x)"
              + (f"; per round: {', '.join(f'{r:.2f}x' for r in per_round)}" if rounds > 1 else ""))
        if machine_speedups:
            print(f"the machine's own speed-up on {args.workers} processes (a fixed Python loop in {args.workers} "
                  "processes at once against one after the other), before each round and after the last: "
                  + ", ".join(f"{r:.2f}x" for r in machine_speedups))
    return 0


if __name__ == "__main__":
    sys.exit(main())
