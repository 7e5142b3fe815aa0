"""Real nbgrader, end to end, per chapter: the solution earns full marks, the untouched
release earns zero without crashing the grader, and one broken function loses exactly
its own points; feedback for everyone, a named mistake in it, and the CSV export.

The chapters are graded once per run, all submissions of a set of chapters in one ``nbgrader
autograde`` (tests/graded_courses.py), shared with the reader-cell, Chinese and attack tests."""

import csv

import nbformat
import pytest

from autograder.release import chapters
from tests import submissions as subs
from tests.graded_courses import KERAS_CHAPTERS, group

pytestmark = pytest.mark.nbgrader


def _param(chapter):
    marks = [pytest.mark.keras] if chapter in KERAS_CHAPTERS else []
    return pytest.param(chapter, marks=[*marks, group(chapter)], id=chapter)


@pytest.mark.parametrize("chapter", [_param(c) for c in chapters()])
def test_autograde_solution_blank_and_one_broken_function(graded, chapter):
    course = graded(chapter)
    solution = subs.load_solution(chapter)
    points = subs.graded_points(solution)
    broken_cell = subs.solution_cells(solution)[-1]
    broken_test = f"test_{broken_cell}"
    assert broken_test in points, f"{chapter}: the test cell of {broken_cell} must be named {broken_test}"
    assert course.max_scores == points
    course.assert_full_marks("full")
    course.assert_zero("blank")
    course.assert_loses_only("one_stubbed", broken_test)
    for student in course.scores:
        assert course.feedback(student).exists(), f"no feedback for {student}"


@group("01_losses")
def test_a_named_mistake_loses_its_points_and_is_named_in_the_feedback(graded):
    chapter = "01_losses"
    course = graded(chapter)
    course.assert_loses_only("wrong_mse", "test_mse")
    assert "Your output matches summing instead of averaging" in nbformat.writes(course.notebook("wrong_mse"))
    assert "summing instead of averaging" in course.feedback("wrong_mse").read_text(encoding="utf-8")


@group("01_losses")
def test_export_has_a_row_with_the_score_of_every_student(graded):
    course = graded("01_losses")
    export = course.root / "grades.csv"
    course.course.nbgrader("export", f"--to={export}")
    exported = {r["student_id"]: float(r["raw_score"]) for r in csv.DictReader(export.open())
                if r["assignment"] == "01_losses"}
    assert {s: exported.get(s) for s in course.scores} == {s: course.total(s) for s in course.scores}
