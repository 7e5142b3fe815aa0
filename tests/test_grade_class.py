"""Grading a whole class with ``python -m autograder.grade_class``: every submission of the
corpus (correct, partial, broken, hostile) gets its expected score, a row in the export and
feedback; results match stock ``nbgrader autograde``; re-runs are idempotent and resume."""

import csv
import hashlib
import json

import pytest

from autograder.corpus import ISOLATION_SCENARIOS, build_corpus
from autograder.course_dir import CourseDir
from autograder.grade_class import grade_class
from autograder.release import ROOT, chapters
from autograder.sandbox import namespaces_available

pytestmark = pytest.mark.nbgrader
NUMPY_CHAPTERS = [c for c in chapters() if c not in {"09_keras_training", "10_gpu_keras_lab"}]


@pytest.fixture
def fast_timeouts(monkeypatch):
    """Stuck cells are stopped after 10 s instead of the course's 120 s."""
    monkeypatch.setenv("DLCOURSE_CELL_TIMEOUT", "10")


def _graded_text(course, student, chapter):
    path = course.root / "autograded" / student / chapter / f"{chapter}.ipynb"
    return path.read_text(encoding="utf-8") if path.exists() else ""


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
    isolated = namespaces_available()
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


def test_whole_corpus_of_chapter_01(tmp_path, fast_timeouts):
    course, expectations, rows = _grade_corpus(tmp_path, "01_losses")
    _check_corpus(course, "01_losses", expectations, rows)


@pytest.mark.slow
@pytest.mark.parametrize("chapter", [c for c in NUMPY_CHAPTERS if c != "01_losses"])
def test_whole_corpus_of_every_numpy_chapter(tmp_path, fast_timeouts, chapter):
    course, expectations, rows = _grade_corpus(tmp_path, chapter)
    _check_corpus(course, chapter, expectations, rows)


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


def test_class_command_gives_the_same_gradebook_as_stock_nbgrader(tmp_path, fast_timeouts):
    scenarios = {"correct", "partial", "unanswered", "deleted_tests", "exits", "hardcode_visible"}
    stock, parallel = CourseDir(tmp_path / "stock"), CourseDir(tmp_path / "parallel")
    for course in (stock, parallel):
        course.release("01_losses")
        build_corpus("01_losses", course.root / "submitted", only=scenarios)
    stock.autograde("01_losses")
    grade_class("01_losses", parallel.root, workers=2, quiet=True, feedback=False)
    assert _gradebook_contents(parallel.db_url, "01_losses") == _gradebook_contents(stock.db_url, "01_losses")


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
