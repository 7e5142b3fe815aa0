"""The course in a real browser: headless system Chromium driving JupyterLab and formgrader.

Student: index -> chapter 01 -> set-up -> `mse` with a sum (the named mistake shows, and nothing
of the checking code) -> with a mean (the pass) -> Validate. Instructor: formgrader on a course
directory (no set-up warning) -> generate chapter 01 -> autograde a submission -> its feedback.
Each journey runs on a temporary copy (nothing is written into the repository) in about 30 s.
Skipped, with the reason, where Playwright or Chromium is missing (./course.sh system).
"""

import re

import pytest

from tests import submissions as subs
from tests.browser import harness, run

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(harness.unavailable() is not None, reason=str(harness.unavailable()))]

# What the server log must never say on a correctly set-up course.
SETUP_WARNINGS = ("Formgrader config is not serializable", "No nbgrader_config.py file found",
                  "exchange directory", "does not exist", "Traceback")


def test_student_sees_the_named_mistake_then_the_pass_and_validates(tmp_path):
    result, _ = run.student(tmp_path)
    first_lines = result["failure"].strip().splitlines()
    assert first_lines[0].startswith("CheckFailure: mse, case"), result["failure"]
    assert first_lines[-1].strip() == "Your output matches summing instead of averaging."
    assert len(first_lines) <= 6  # the diagnosis, and only it
    assert re.search(r"mse: all \d+ visible checks passed", result["passed"])
    assert "not implemented yet" in result["validation"]
    for name in ("student-index", "student-named-mistake", "student-pass", "student-validate"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name


@pytest.mark.nbgrader
def test_instructor_generates_autogrades_and_reads_feedback_in_formgrader(tmp_path):
    result, log = run.instructor(tmp_path)
    points = subs.graded_points(subs.load_solution(run.CHAPTER))
    total = sum(points.values())
    # Every exercise right except mse: all points but test_mse's.
    assert re.search(rf"{total - points['test_mse']:g}(\.0)? / {total:g}\b", result["row"]), result["row"]
    feedback = result["feedback"]
    assert "CheckFailure: mse, case" in feedback and "HiddenTestFailure: mse, case" in feedback, feedback[:3000]
    assert feedback.count("Your output matches summing instead of averaging.") >= 2
    warnings = [line for line in log.splitlines() if any(w in line for w in SETUP_WARNINGS)]
    assert not warnings, "\n".join(warnings)
    for name in ("instructor-formgrader", "instructor-autograded", "instructor-feedback"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name
