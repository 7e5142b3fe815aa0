"""Grading a whole class with ``python -m autograder.grade_class``: every submission of the
corpus (correct, partial, broken, hostile) gets its expected score, a row in the export and
feedback; results match stock ``nbgrader autograde``; re-runs are idempotent and resume.

The attack families of :mod:`autograder.corpus` are graded through the real command (chapter 01's
three families together in one batch; the other chapters' under ``slow``), next to innocent
classmates (the full solution and a partial one), whose rows must stay full and correct and whose
submitted files must stay byte-identical. An attack whose defeat
depends on a defence outside the class grader itself (the kernel sandbox, or hidden checks judged
outside the kernel; ``Expectation.needs``) fails its test naming that defence.
"""

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import corpus
from autograder.chapters import chapter_ids
from autograder.corpus import ISOLATION_SCENARIOS, build_corpus
from autograder.course_dir import CourseDir
from autograder.grade_class import Ledger, fingerprint, grade_class, summary_rows
from autograder.notebook_cells import graded_points
from autograder.release import ROOT, chapters
from autograder.sandbox import kernels_isolated
from autograder.submissions import load_solution

pytestmark = pytest.mark.nbgrader
KERAS_CHAPTERS = set(chapter_ids(keras=True))
NUMPY_CHAPTERS = [c for c in chapters() if c not in KERAS_CHAPTERS]
INNOCENTS = ("correct", "partial")
MAX_GRADED_BYTES = 10 * 1024 * 1024


@pytest.fixture
def fast_timeouts(monkeypatch):
    """Stuck cells are stopped after 10 s instead of the course's 120 s."""
    monkeypatch.setenv("DLCOURSE_CELL_TIMEOUT", "10")


def _graded_text(course, student, chapter):
    path = course.root / "autograded" / student / chapter / f"{chapter}.ipynb"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _feedback_text(course, student, chapter):
    path = course.root / "feedback" / student / chapter / f"{chapter}.html"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def _tree_digest(folder):
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _grade_corpus(tmp_path, chapter):
    course = CourseDir(tmp_path)
    course.release(chapter)
    expectations = build_corpus(chapter, tmp_path / "submitted")
    before = _tree_digest(ROOT / "dlcourse")
    rows = grade_class(chapter, tmp_path, workers=2, quiet=True)
    assert _tree_digest(ROOT / "dlcourse") == before, "a submission changed the course's files"
    return course, expectations, {r[0]: r for r in rows}


def _check_corpus(course, chapter, expectations, rows):
    isolated = kernels_isolated()
    problems = []
    for scenario, expected in expectations.items():
        student, score, max_score, status, notes = rows[scenario]
        if score is None:
            problems.append(f"{scenario}: no gradebook row")
            continue
        if scenario in ISOLATION_SCENARIOS and not isolated:
            continue  # without namespaces the sandbox cannot hide or protect files: see docs/grading.md
        if score != pytest.approx(expected.total):
            problems.append(f"{scenario}: scored {score}, expected {expected.total} ({expected.why})")
        text = _graded_text(course, scenario, chapter).lower()
        for fragment in expected.must_contain:
            if fragment.lower() not in text:
                problems.append(f"{scenario}: graded notebook does not mention {fragment!r}")
        if not (course.root / "feedback" / scenario / chapter / f"{chapter}.html").exists():
            problems.append(f"{scenario}: no feedback")
    assert not problems, "\n".join(problems)

    export = course.root / "grades.csv"
    course.nbgrader("export", f"--to={export}")
    exported = {row["student_id"] for row in csv.DictReader(export.open())}
    assert set(expectations) <= exported, f"missing from the export: {sorted(set(expectations) - exported)}"


@pytest.mark.slow  # the batch, /proc and in-kernel attack families cover the defences in the default run
def test_whole_corpus_of_chapter_01(tmp_path, fast_timeouts):
    course, expectations, rows = _grade_corpus(tmp_path, "01_losses")
    _check_corpus(course, "01_losses", expectations, rows)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", [c for c in NUMPY_CHAPTERS if c != "01_losses"])
def test_whole_corpus_of_every_numpy_chapter(tmp_path, fast_timeouts, chapter):
    course, expectations, rows = _grade_corpus(tmp_path, chapter)
    _check_corpus(course, chapter, expectations, rows)


# -- attack families, through the real command ----------------------------------------------------
def _submitted_bytes(root):
    """sha256 of every file under submitted/, by relative path (links and pipes by kind only)."""
    out = {}
    for student in sorted((root / "submitted").iterdir()):
        out[student.name] = fingerprint(student)
    return out


def _run_command(root, chapter, env_extra=None, timeout=1500):
    env = dict(os.environ, PYTHONPATH=str(ROOT), DLCOURSE_CELL_TIMEOUT="10")
    env.update(env_extra or {})
    cmd = [sys.executable, "-m", "autograder.grade_class", chapter, "--root", str(root), "--workers", "2"]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def _attack_batch(tmp_path, chapter, families, env_extra=None, only=None):
    """Release, write the attacks of ``families`` (one family name or several) and the innocent
    classmates, grade them all in one run of the real command; returns (course, expectations by
    family, rows by student, submitted bytes before, process)."""
    families = (families,) if isinstance(families, str) else tuple(families)
    course = CourseDir(tmp_path)
    course.release(chapter)
    build_corpus(chapter, tmp_path / "submitted", only=set(INNOCENTS))
    expectations = {family: build_corpus(chapter, tmp_path / "submitted", family=family, only=only)
                    for family in families}
    before = _submitted_bytes(tmp_path)
    result = _run_command(tmp_path, chapter, env_extra)
    ledger = Ledger(tmp_path / "grading" / f"{chapter}.json")
    students = sorted(s for made in expectations.values() for s in made) + list(INNOCENTS)
    rows = {r[0]: r for r in summary_rows(course.db_url, chapter, students, ledger)}
    if len(families) == 1:
        expectations = expectations[families[0]]
    return course, expectations, rows, before, result


def _check_innocents(course, chapter, rows, before):
    """The innocent classmates: full, correct rows, feedback, and untouched submitted files."""
    total = float(sum(graded_points(load_solution(chapter)).values()))
    expected = corpus.scenarios(chapter)
    after = _submitted_bytes(course.root)
    for student in INNOCENTS:
        assert rows[student][1] == pytest.approx(expected[student][1].total), (student, rows[student])
        assert rows[student][3] == "graded", (student, rows[student])
        assert after[student] == before[student], f"{student}'s submitted files were changed"
        assert _feedback_text(course, student, chapter), f"{student} has no feedback"
    assert rows["correct"][1] == pytest.approx(total)


def _attack_problems(course, chapter, expectations, rows, before):
    """(problems the grader itself must not have, {needs: [problems]} that depend on other work)."""
    own, others = [], {}
    after = _submitted_bytes(course.root)
    for scenario, expected in expectations.items():
        student, score, max_score, status, notes = rows[scenario]
        if score is None:
            own.append(f"{scenario}: no gradebook row ({status}: {notes})")
            continue
        graded, feedback = _graded_text(course, scenario, chapter), _feedback_text(course, scenario, chapter)
        found = []
        if score != pytest.approx(expected.total):
            found.append(f"{scenario}: scored {score}, expected {expected.total} ({expected.why})")
        shown = (graded + " ".join(notes)).lower()
        found += [f"{scenario}: no note mentioning {f!r}" for f in expected.must_contain if f.lower() not in shown]
        found += [f"{scenario}: {f!r} reached the graded notebook or feedback" for f in expected.must_not_contain
                  if f in graded or f in feedback]
        if after[scenario] != before[scenario]:
            found.append(f"{scenario}: its submitted files were changed")
        if not feedback:
            own.append(f"{scenario}: no feedback")
        for text in (graded, feedback):
            if len(text.encode()) > MAX_GRADED_BYTES:
                own.append(f"{scenario}: graded notebook or feedback of {len(text.encode())} bytes")
        (others.setdefault(expected.needs, []) if expected.needs else own).extend(found)
    return own, others


def _assert_defences_held(others):
    """Fail, naming the defence that should have stopped them, when attacks got through."""
    pending = {k: v for k, v in others.items() if v}
    assert not pending, "; ".join(f"the {k} did not stop: " + " | ".join(v) for k, v in pending.items())


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


PROC_MARKERS = (ROOT / "autograder" / ".dlc-proc-written", ROOT / ".venv" / ".dlc-proc-written")


def test_attack_families_on_chapter_01_leave_every_row_and_classmate_intact(tmp_path):
    """The batch, /proc and in-kernel attack families of chapter 01 and the innocent classmates,
    graded in one run of the real command (2 workers): every attack earns what blank work earns,
    with its note, every row is there, the classmates' rows and files are intact."""
    stolen = Path(os.path.expanduser(corpus.STOLEN_DIR))
    try:
        course, by_family, rows, before, result = _attack_batch(tmp_path, "01_losses", ("batch", "proc", "kernel"))
        assert result.returncode == 0, result.stderr[-3000:]
        own, others = [], {}
        for family, expectations in by_family.items():
            family_own, family_others = _attack_problems(course, "01_losses", expectations, rows, before)
            own += [f"[{family}] {p}" for p in family_own]
            for needs, found in family_others.items():
                others.setdefault(needs, []).extend(f"[{family}] {p}" for p in found)
        assert not own, "\n".join(own)
        written = [str(m) for m in PROC_MARKERS if m.exists()]
        if written:
            others.setdefault("sandbox", []).append(f"proc_write created {written}")
        if _submitted_bytes(tmp_path) != before:
            others.setdefault("sandbox", []).append("classmates' submitted files were changed")
        leaked = sorted(str(p.relative_to(stolen)) for p in stolen.rglob("*.py")) if stolen.exists() else []
        if leaked:
            others.setdefault("outside judging", []).append(f"steal_copy copied {leaked[:5]}")
        _assert_defences_held(others)
        _check_innocents(course, "01_losses", rows, before)
        assert (tmp_path / "submitted" / "fifo_notebook" / "01_losses" / "01_losses.ipynb").is_fifo()
        pid_file = tmp_path / "autograded" / "daemon" / "01_losses" / "daemon.pid"
        if pid_file.exists():  # the sandbox may stop the fork itself; where it ran, it must be gone
            assert not _alive(int(pid_file.read_text())), "the daemon outlived the batch"
            time.sleep(max(0.0, pid_file.stat().st_mtime + 12 - time.time()))
        assert not (tmp_path / "DAEMON-WROTE").exists(), "a forked daemon wrote into the course after grading"
    finally:
        for marker in PROC_MARKERS:
            marker.unlink(missing_ok=True)
        shutil.rmtree(stolen, ignore_errors=True)


@pytest.mark.slow  # waits out submission deadlines (about 2 minutes)
def test_dead_stopped_and_stuck_workers_are_replaced_and_retried(tmp_path):
    """Without the kernel sandbox the kernel can signal its grading worker: the batch survives,
    the victim gets a row with the reason, the ledger records a failure, and a re-run retries it."""
    env = {"DLCOURSE_SANDBOX": "0", "DLCOURSE_SUBMISSION_TIMEOUT": "45"}
    course = CourseDir(tmp_path)
    course.release("01_losses")
    build_corpus("01_losses", tmp_path / "submitted", only={*INNOCENTS, "infinite_loop"})
    build_corpus("01_losses", tmp_path / "submitted", family="batch", only={"kill_worker", "stop_worker", "daemon"})
    before = _submitted_bytes(tmp_path)
    result = _run_command(tmp_path, "01_losses", dict(env, DLCOURSE_CELL_TIMEOUT="600"))
    assert result.returncode == 0, result.stderr[-3000:]
    ledger = json.loads((tmp_path / "grading" / "01_losses.json").read_text())
    students = ["kill_worker", "stop_worker", "daemon", "infinite_loop", *INNOCENTS]
    rows = {r[0]: r for r in summary_rows(course.db_url, "01_losses", students, Ledger(tmp_path / "grading" / "01_losses.json"))}
    _check_innocents(course, "01_losses", rows, before)
    reasons = {"kill_worker": "the grading worker died twice while grading this submission",
               "stop_worker": "the grading worker was stopped twice while grading this submission",
               "infinite_loop": "the grading worker was still busy after 45 s twice while grading this submission"}
    for student, reason in reasons.items():
        assert rows[student][1] == 0, rows[student]
        assert ledger[student]["status"] == "failed" and ledger[student]["error"] == reason, ledger[student]
        assert reason in ledger[student]["notes"][0]
        assert reason in _feedback_text(course, student, "01_losses").lower()
    assert ledger["daemon"]["status"] == "graded" and rows["daemon"][1] == 0
    assert _submitted_bytes(tmp_path) == before
    assert not (tmp_path / "DAEMON-WROTE").exists()

    # A re-run grades the failed submissions again, and only them.
    stamp = (tmp_path / "autograded" / "correct" / "01_losses" / "01_losses.ipynb").stat().st_mtime_ns
    again = _run_command(tmp_path, "01_losses", dict(env, DLCOURSE_SUBMISSION_TIMEOUT="1"))
    assert "3 already graded, 3 to grade" in again.stderr, again.stderr[-2000:]
    assert (tmp_path / "autograded" / "correct" / "01_losses" / "01_losses.ipynb").stat().st_mtime_ns == stamp


def _kernel_attacks(tmp_path, chapter):
    stolen = Path(os.path.expanduser(corpus.STOLEN_DIR))
    try:
        slow_cells = {"DLCOURSE_CELL_TIMEOUT": "120"} if chapter in KERAS_CHAPTERS else None  # Keras training cells
        course, expectations, rows, before, result = _attack_batch(tmp_path, chapter, "kernel", slow_cells)
        assert result.returncode == 0, result.stderr[-3000:]
        _check_innocents(course, chapter, rows, before)
        own, others = _attack_problems(course, chapter, expectations, rows, before)
        assert not own, "\n".join(own)
        leaked = sorted(str(p.relative_to(stolen)) for p in stolen.rglob("*.py")) if stolen.exists() else []
        if leaked:
            others.setdefault("outside judging", []).append(f"steal_copy copied {leaked[:5]}")
        _assert_defences_held(others)
    finally:
        shutil.rmtree(stolen, ignore_errors=True)


def _chapter_param(chapter):
    marks = [pytest.mark.slow]
    if chapter in KERAS_CHAPTERS:
        marks += [pytest.mark.keras]
    return pytest.param(chapter, marks=marks, id=chapter)


@pytest.mark.parametrize("chapter", [_chapter_param(c) for c in chapters() if c != "01_losses"])
def test_in_kernel_attacks_on_every_chapter(tmp_path, chapter):
    _kernel_attacks(tmp_path, chapter)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", [c for c in NUMPY_CHAPTERS if c != "01_losses"])
def test_batch_attacks_on_every_numpy_chapter(tmp_path, chapter):
    course, expectations, rows, before, result = _attack_batch(tmp_path, chapter, "batch")
    assert result.returncode == 0, result.stderr[-3000:]
    _check_innocents(course, chapter, rows, before)
    own, others = _attack_problems(course, chapter, expectations, rows, before)
    assert not own and not any(others.values()), "\n".join(own) + str(others)


# -- the same gradebook as stock nbgrader; re-runs ---------------------------------------------------
def _gradebook_contents(db_url, chapter):
    """Everything autograding writes that matters: per student, per cell, score and flags."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        out = {}
        for submission in gb.find_assignment(chapter).submissions:
            cells = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = (grade.auto_score, grade.manual_score, grade.needs_manual_grade)
            out[submission.student.id] = {"cells": cells, "score": submission.score,
                                          "max_score": submission.max_score}
        return out


@pytest.mark.slow  # grades the chapter twice, once per route
def test_class_command_gives_the_same_gradebook_as_stock_nbgrader(tmp_path, fast_timeouts):
    scenarios = {"correct", "partial", "unanswered", "deleted_tests", "exits", "hardcode_visible"}
    stock, parallel = CourseDir(tmp_path / "stock"), CourseDir(tmp_path / "parallel")
    for course in (stock, parallel):
        course.release("01_losses")
        build_corpus("01_losses", course.root / "submitted", only=scenarios)
    stock.autograde("01_losses")
    before = _submitted_bytes(parallel.root)
    grade_class("01_losses", parallel.root, workers=2, quiet=True, feedback=False)
    assert _gradebook_contents(parallel.db_url, "01_losses") == _gradebook_contents(stock.db_url, "01_losses")
    assert _submitted_bytes(parallel.root) == before


@pytest.mark.slow  # three grading runs of one class
def test_rerun_is_idempotent_and_an_interrupted_run_resumes(tmp_path):
    course = CourseDir(tmp_path)
    course.release("01_losses")
    build_corpus("01_losses", tmp_path / "submitted", only={"correct", "partial", "unanswered"})
    first = grade_class("01_losses", tmp_path, workers=2, quiet=True, feedback=False)
    ledger_path = tmp_path / "grading" / "01_losses.json"
    stamps = {s: (tmp_path / "autograded" / s / "01_losses" / "01_losses.ipynb").stat().st_mtime_ns
              for s in ("correct", "partial", "unanswered")}

    again = grade_class("01_losses", tmp_path, workers=2, quiet=True, feedback=False)
    assert again == first
    for student, stamp in stamps.items():
        path = tmp_path / "autograded" / student / "01_losses" / "01_losses.ipynb"
        assert path.stat().st_mtime_ns == stamp, f"{student} was graded again although nothing changed"

    # Interrupted before 'partial' was recorded: only it is graded again, and counted once.
    ledger = json.loads(ledger_path.read_text())
    del ledger["partial"]
    ledger_path.write_text(json.dumps(ledger))
    resumed = grade_class("01_losses", tmp_path, workers=2, quiet=True, feedback=False)
    assert resumed == first
    assert (tmp_path / "autograded" / "correct" / "01_losses" / "01_losses.ipynb").stat().st_mtime_ns == \
        stamps["correct"]
    assert len(course.scores("01_losses")) == 3


# -- the pieces, without nbgrader -----------------------------------------------------------------------
def test_notes_carried_by_a_submission_are_dropped_and_the_graders_are_escaped():
    import nbformat

    from autograder.notes import hand_over, notes_cell, rendered_notes, take_over
    from autograder.restore_cells import restore_structure

    release = nbformat.read(str(ROOT / "course" / "01_losses" / "01_losses.ipynb"), as_version=4)
    nb = nbformat.from_dict(json.loads(corpus.attack_scenarios("01_losses", "batch")["forged_note"][0].popitem()[1]))
    hand_over("01_losses", "x", ["the notebook was submitted as <b>*x*</b>](javascript:1)"])
    notes = restore_structure(nb, release, "01_losses", take_over("01_losses", "x"))
    assert corpus.FORGED_NOTE not in notes and corpus.SCRIPT_PAYLOAD not in notes
    assert take_over("01_losses", "x") == [], "handed-over notes are used once"
    cell = notes_cell(notes)
    assert "<b>" not in cell.source and "](javascript" not in cell.source and "&lt;b&gt;" in cell.source
    assert rendered_notes() == notes


def test_staging_copies_regular_files_only_and_never_blocks(tmp_path):
    from autograder.preflight import stage_submission

    source = tmp_path / "submitted" / "s" / "ch"
    corpus.write_submission(source, {"a.ipynb": "{}", "pipe.ipynb": corpus.Fifo(),
                                     "link.ipynb": corpus.Symlink("/etc/passwd"), "sub/b.txt": "b"})
    before = fingerprint(source)
    notes = []
    stage_submission(source, tmp_path / "staged", notes)
    staged = sorted(str(p.relative_to(tmp_path / "staged")) for p in (tmp_path / "staged").rglob("*"))
    assert staged == ["a.ipynb", "sub", "sub/b.txt"]
    assert any("named pipe" in n for n in notes) and any("symbolic link" in n for n in notes)
    assert fingerprint(source) == before


def test_a_failed_submission_is_not_done_in_the_ledger(tmp_path):
    ledger = Ledger(tmp_path / "ledger.json")
    ledger.record("a", fingerprint="f", status="failed", error="the grading worker died twice")
    ledger.record("b", fingerprint="f", status="graded")
    again = Ledger(tmp_path / "ledger.json")
    assert not again.done("a", "f") and again.done("b", "f") and not again.done("b", "g")


@pytest.mark.slow  # 1-1.5 minutes: a dozen kernel starts for the floor, four small grading runs, three scaling probes
def test_the_class_benchmark_prints_its_figures(tmp_path):
    out = subprocess.run([sys.executable, "-m", "benchmarks.grade_class", "01_losses", "--n", "3", "--skip-stock",
                          "--one-worker", "--rounds", "2", "--workers", "2"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "2 rounds of about 1 submissions" in text
    assert "each run's wall time, in round order: grade_class, 1 worker " in text
    rows = [line for line in text.splitlines() if line.startswith("| grade_class")]
    assert len(rows) == 2 and all(float(row.split("|")[3]) > 0 for row in rows)
    speedup = re.search(r"speed-up of 2 workers over 1: ([\d.]+)x \(target at least [\d.]+x\); "
                        r"per round: ([\d.]+)x, ([\d.]+)x$", text, re.M)
    assert speedup and all(float(r) > 0 for r in speedup.groups())
    machine = re.search(r"the machine's own speed-up on 2 processes .*: ([\d.]+)x, ([\d.]+)x, ([\d.]+)x$", text, re.M)
    assert machine and all(0.5 < float(r) < 2.5 for r in machine.groups())
