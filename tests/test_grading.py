"""Real nbgrader, end to end, per chapter: the solution earns full marks, the untouched
release earns zero without crashing the grader, and one broken function loses exactly
its own points; feedback and the CSV export have a row for everyone."""

import csv

import pytest

from autograder.course_dir import CourseDir
from autograder.release import chapters
from tests import submissions as subs

pytestmark = pytest.mark.nbgrader

KERAS_CHAPTERS = {"09_keras_training", "10_gpu_keras_lab"}


def _param(chapter):
    marks = [pytest.mark.keras] if chapter in KERAS_CHAPTERS else []
    return pytest.param(chapter, marks=marks, id=chapter)


@pytest.mark.parametrize("chapter", [_param(c) for c in chapters()])
def test_autograde_solution_blank_and_one_broken_function(tmp_path, chapter):
    course = CourseDir(tmp_path)
    release = course.release(chapter)
    solution = subs.load_solution(chapter)
    points = subs.graded_points(solution)
    broken_cell = subs.solution_cells(solution)[-1]
    broken_test = f"test_{broken_cell}"
    assert broken_test in points, f"{chapter}: the test cell of {broken_cell} must be named {broken_test}"

    course.submit("full", chapter, subs.solution_path(chapter))
    course.submit("blank", chapter, release)
    course.submit("one_stubbed", chapter, text=subs.dumps(subs.with_cell_edited(solution, broken_cell, subs.stub_out)))
    if chapter == "01_losses":
        course.submit("wrong_mse", chapter, text=subs.dumps(subs.with_summed_mse(solution)))
    course.autograde(chapter)
    scores = course.scores(chapter)
    total = sum(points.values())

    assert sum(scores["full"].values()) == total, scores["full"]
    assert sum(scores["blank"].values()) == 0
    assert scores["one_stubbed"][broken_test] == 0
    assert sum(scores["one_stubbed"].values()) == total - points[broken_test]
    if chapter == "01_losses":
        assert scores["wrong_mse"]["test_mse"] == 0
        assert sum(scores["wrong_mse"].values()) == total - points["test_mse"]
        feedback_text = (tmp_path / "autograded" / "wrong_mse" / chapter / f"{chapter}.ipynb").read_text()
        assert "Your output matches summing instead of averaging" in feedback_text

    course.nbgrader("generate_feedback", chapter, "--force")
    for student in scores:
        assert (tmp_path / "feedback" / student / chapter / f"{chapter}.html").exists()
    export = tmp_path / "grades.csv"
    course.nbgrader("export", f"--to={export}")
    rows = list(csv.DictReader(export.open()))
    assert {r["student_id"] for r in rows} == set(scores)

