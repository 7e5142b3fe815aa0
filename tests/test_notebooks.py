"""Every solution notebook runs top to bottom without an error; NumPy chapters never
import TensorFlow (grading them stays cheap)."""

import pytest

from autograder.chapters import chapter_ids
from autograder.execute import execute_notebook, stream_text
from autograder.release import chapters
from tests.submissions import solution_path

KERAS_CHAPTERS = set(chapter_ids(keras=True))
PROBE = "import sys; print('tensorflow loaded:', 'tensorflow' in sys.modules)"


@pytest.mark.parametrize("chapter", [pytest.param(c, marks=[pytest.mark.keras, pytest.mark.slow] if c in KERAS_CHAPTERS else [], id=c)
                                     for c in chapters()])
def test_solution_notebook_executes(chapter):
    nb, seconds = execute_notebook(solution_path(chapter), extra_cells=[PROBE])
    if chapter not in KERAS_CHAPTERS:
        assert "tensorflow loaded: False" in stream_text(nb), f"{chapter} imported TensorFlow"
    print(f"{chapter}: executed in {seconds:.1f} s")
