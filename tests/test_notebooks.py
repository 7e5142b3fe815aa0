"""Every solution notebook runs top to bottom without an error; NumPy chapters never
import TensorFlow (grading them stays cheap)."""

import pytest

from autograder.chapters import chapter_ids
from autograder.execute import execute_notebook, stream_text
from autograder.release import chapters
from tests.submissions import solution_path

KERAS_CHAPTERS = set(chapter_ids(keras=True))
PROBE = "import sys; print('tensorflow loaded:', 'tensorflow' in sys.modules)"
# Chapters that a claims test of the default run already executes top to bottom, with the same
# TensorFlow probe: here only in the slow run (chapter 04's execution is the slowest, about 19 s;
# chapter 05's about 9 s).
EXECUTED_BY_CLAIMS = {"04_learning_rate_schedules": "tests/test_ch04_claims.py (fixture claims)",
                      "05_regularization": "tests/test_ch05_claims.py (fixture claims)"}


def _marks(chapter):
    if chapter in KERAS_CHAPTERS:
        return [pytest.mark.keras, pytest.mark.slow]
    return [pytest.mark.slow] if chapter in EXECUTED_BY_CLAIMS else []


@pytest.mark.parametrize("chapter", [pytest.param(c, marks=_marks(c), id=c) for c in chapters()])
def test_solution_notebook_executes(chapter):
    nb, seconds = execute_notebook(solution_path(chapter), extra_cells=[PROBE])
    if chapter not in KERAS_CHAPTERS:
        assert "tensorflow loaded: False" in stream_text(nb), f"{chapter} imported TensorFlow"
    print(f"{chapter}: executed in {seconds:.1f} s")
