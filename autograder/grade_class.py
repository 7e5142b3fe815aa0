"""Grade a whole class in parallel: ``python -m autograder.grade_class 01_losses``.

Equivalent to stock ``nbgrader autograde 01_losses --create`` followed by
``nbgrader generate_feedback 01_losses`` (same gradebook rows, same per-cell scores: the
work is done by nbgrader's own Autograde and GenerateFeedback apps with this course's
configuration), but:

- submissions are graded in ``--workers`` long-lived worker processes (nbgrader and its
  imports are loaded once per worker, not once per submission);
- every submission folder is repaired first (:mod:`autograder.preflight`), and a submission
  that still cannot be graded is graded as the unanswered notebook, with a note: every
  student gets a gradebook row and feedback, and the batch never stops;
- progress is shown while it runs and a summary table is printed at the end;
- a ledger (``grading/<chapter>.json``) records each finished submission with a fingerprint of
  its files, so re-running grades only new or changed submissions, and an interrupted run
  resumes where it stopped (``--force`` regrades everyone). A submission is re-graded as a
  whole, so nothing is counted twice.
"""

import argparse
import concurrent.futures as futures
import hashlib
import json
import multiprocessing
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_API = None


# -- worker side ---------------------------------------------------------------------------------
def _init_worker(course_root, db_url):
    """Load nbgrader and the course configuration once per worker process."""
    global _API
    os.chdir(ROOT)
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = db_url
    _API = NbGraderAPI(config=config)


def _grade_one(chapter, student, feedback):
    """Autograde (and make feedback for) one student in this worker; returns a result dict."""
    start = time.perf_counter()
    result = _API.autograde(chapter, student, force=True, create=True)
    ok = bool(result.get("success"))
    error = "" if ok else (result.get("error") or result.get("log") or "unknown error").strip().splitlines()[-1]
    if ok and feedback:
        fb = _API.generate_feedback(chapter, student, force=True)
        if not fb.get("success"):
            ok, error = False, "feedback: " + (fb.get("error") or "failed").strip().splitlines()[-1]
    return {"student": student, "ok": ok, "error": error, "seconds": time.perf_counter() - start}


# -- parent side ---------------------------------------------------------------------------------
def fingerprint(folder):
    """A hash of every file's relative path and bytes in a submission folder."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


class Ledger:
    """Which submissions are finished, saved atomically after each one."""

    def __init__(self, path):
        self.path = Path(path)
        self.entries = json.loads(self.path.read_text()) if self.path.exists() else {}

    def done(self, student, print_):
        entry = self.entries.get(student)
        return bool(entry) and entry.get("fingerprint") == print_ and entry.get("status") in ("graded", "fallback")

    def record(self, student, **entry):
        self.entries[student] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


def _release_path(course_root, chapter):
    for candidate in (Path(course_root) / "course" / chapter / f"{chapter}.ipynb",
                      ROOT / "course" / chapter / f"{chapter}.ipynb"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no released notebook for {chapter}: run ./course.sh release")


def _fallback(course_root, chapter, student, error):
    """Replace an ungradeable submission by the unanswered notebook (original kept) with a note."""
    import nbformat

    from autograder.notes import store_notes

    folder = Path(course_root) / "submitted" / student / chapter
    target = folder / f"{chapter}.ipynb"
    if target.exists():
        backup = folder / f".original-{target.name}"
        if not backup.exists():
            shutil.copyfile(target, backup)
    nb = nbformat.read(str(_release_path(course_root, chapter)), as_version=4)
    store_notes(nb, [f"this submission could not be graded ({error}); it was graded as the unanswered notebook, "
                     "and the original file is kept for your instructor"])
    nbformat.write(nb, str(target))


def ensure_assignment(course_root, db_url, chapter):
    """Make sure the gradebook knows the assignment (stock generate_assignment records it)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            if gb.find_assignment(chapter).notebooks:
                return
        except MissingEntry:
            pass
    from autograder.course_dir import CourseDir

    course = CourseDir(course_root)
    course.db_url = db_url
    course.nbgrader("generate_assignment", chapter, "--force")


def summary_rows(db_url, chapter, students, ledger):
    """(student, score, max score, status, notes) for each student, from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(db_url) as gb:
        for student in students:
            try:
                sub = gb.find_submission(chapter, student)
                score, max_score = sub.score, sub.max_score
            except MissingEntry:
                score, max_score = None, None
            entry = ledger.entries.get(student, {})
            rows.append((student, score, max_score, entry.get("status", "missing"), entry.get("notes", [])))
    return rows


def print_summary(rows, stream=sys.stdout):
    width = max([len("student")] + [len(r[0]) for r in rows])
    stream.write(f"\n{'student':<{width}}  {'score':>11}  {'status':<9}  notes\n")
    stream.write(f"{'-' * width}  {'-' * 11}  {'-' * 9}  {'-' * 40}\n")
    for student, score, max_score, status, notes in rows:
        shown = "no row" if score is None else f"{score:g} / {max_score:g}"
        first = notes[0] if notes else ""
        more = f" (+{len(notes) - 1} more)" if len(notes) > 1 else ""
        stream.write(f"{student:<{width}}  {shown:>11}  {status:<9}  {first[:90]}{more}\n")
    graded = [r for r in rows if r[1] is not None]
    if graded:
        mean = sum(r[1] for r in graded) / len(graded)
        stream.write(f"\n{len(graded)} of {len(rows)} submissions have a grade; mean score {mean:.2f} / {graded[0][2]:g}\n")


def grade_class(chapter, course_root=ROOT, db_url=None, workers=None, force=False, feedback=True, quiet=False):
    """Grade every ``submitted/<student>/<chapter>`` under ``course_root``; return the summary rows."""
    from autograder.notes import notes_of
    from autograder.preflight import repair_submission
    from dlcourse.progress import ProgressBar

    course_root = Path(course_root).resolve()
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    db_url = db_url or f"sqlite:///{course_root / 'gradebook.db'}"
    workers = workers or max(1, os.cpu_count() or 1)
    submitted = course_root / "submitted"
    students = sorted(p.name for p in submitted.iterdir() if (p / chapter).is_dir()) if submitted.is_dir() else []
    ledger = Ledger(course_root / "grading" / f"{chapter}.json")
    ensure_assignment(course_root, db_url, chapter)
    release = _release_path(course_root, chapter)

    todo, notes_by_student = [], {}
    for student in students:
        folder = submitted / student / chapter
        print_before = fingerprint(folder)
        if not force and ledger.done(student, print_before):
            continue
        notes = repair_submission(folder, chapter, release)
        notes_by_student[student] = notes
        todo.append((student, fingerprint(folder)))
    if not quiet:
        print(f"{chapter}: {len(students)} submissions, {len(students) - len(todo)} already graded, "
              f"{len(todo)} to grade with {workers} workers", file=sys.stderr)

    progress = ProgressBar(len(todo), desc=f"grading {chapter}", enabled=not quiet, file=sys.stderr)
    retry = []
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                                     initargs=(str(course_root), db_url)) as pool:
        running = {pool.submit(_grade_one, chapter, s, feedback): (s, fp) for s, fp in todo}
        for future in futures.as_completed(running):
            student, print_ = running[future]
            try:
                result = future.result()
            except Exception as err:  # noqa: BLE001 - a broken worker must not stop the batch
                result = {"student": student, "ok": False, "error": f"{type(err).__name__}: {err}", "seconds": 0.0}
            if result["ok"]:
                notes = notes_of_graded(course_root, chapter, student) or notes_by_student.get(student, [])
                ledger.record(student, fingerprint=print_, status="graded", seconds=round(result["seconds"], 2),
                              notes=notes)
            else:
                retry.append((student, result["error"]))
            progress.update(last=student, ok=result["ok"])
    progress.close()

    if retry:
        _init_worker(str(course_root), db_url)
        for student, error in retry:
            _fallback(course_root, chapter, student, error)
            result = _grade_one(chapter, student, feedback)
            folder = submitted / student / chapter
            status = "fallback" if result["ok"] else "failed"
            notes = [f"could not be graded: {error}"] + notes_of(_read(folder / f"{chapter}.ipynb"))
            ledger.record(student, fingerprint=fingerprint(folder), status=status, seconds=round(result["seconds"], 2),
                          notes=notes, error=result["error"])
    rows = summary_rows(db_url, chapter, students, ledger)
    if not quiet:
        print_summary(rows)
    return rows


def _read(path):
    import nbformat

    try:
        return nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001
        return {}


def notes_of_graded(course_root, chapter, student):
    """The grading notes shown at the top of a graded notebook (empty when there are none)."""
    nb = _read(Path(course_root) / "autograded" / student / chapter / f"{chapter}.ipynb")
    cells = nb.get("cells", []) if nb else []
    if cells and cells[0].get("cell_type") == "markdown" and cells[0].source.startswith("**Grading notes.**"):
        return [line[2:] for line in cells[0].source.splitlines() if line.startswith("- ")]
    return []


def main(argv=None):
    parser = argparse.ArgumentParser(description="Grade every submission of a chapter in parallel.")
    parser.add_argument("chapter")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: number of cores)")
    parser.add_argument("--force", action="store_true", help="regrade every submission, not only new or changed ones")
    parser.add_argument("--no-feedback", action="store_true", help="skip generating feedback HTML")
    parser.add_argument("--root", default=str(ROOT), help="nbgrader course directory (default: this repository)")
    args = parser.parse_args(argv)
    rows = grade_class(args.chapter, args.root, workers=args.workers, force=args.force, feedback=not args.no_feedback)
    return 0 if all(r[1] is not None for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
