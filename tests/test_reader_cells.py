"""Cells for the reader (demos, figures) are skipped in grading without changing any grade.

Default run: the static check of every chapter (no skipped cell binds a name a later running
cell reads), the learner cannot move the marks, and one chapter graded both ways (its solution
graded in the shared course directory of tests/graded_courses.py, once skipping and once running them).
``-m slow``: every chapter graded both ways.
"""

import copy

import nbformat
import pytest

from autograder import reader_cells
from autograder.release import chapters, solution_path
from autograder.restore_cells import restore_structure
from tests.graded_courses import READER_RUN, group

CHAPTERS = chapters()


def _nb(chapter):
    return nbformat.read(str(solution_path(chapter)), as_version=4)


def _ids(nb, indices):
    return {nb.cells[i].metadata["nbgrader"]["grade_id"] for i in indices}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_skipped_cell_feeds_a_running_cell(chapter):
    nb = _nb(chapter)
    assert reader_cells.leaks(nb) == []
    marked = [c for c in nb.cells if reader_cells.marked(c)]
    assert marked, f"{chapter} marks no cell for the reader"
    assert all(reader_cells.skippable(c) for c in marked), "a marked cell is not a read-only code cell"
    # the solution notebook as written: every marked cell is left out
    assert reader_cells.cells_to_skip(nb) == {i for i, c in enumerate(nb.cells) if reader_cells.marked(c)}


def test_leaks_sees_a_name_a_later_cell_reads_first():
    nb = nbformat.v4.new_notebook()
    demo = nbformat.v4.new_code_cell("rng = make()\nplot(rng)")
    demo.metadata = {"dlcourse": {"reader": True}, "nbgrader": {"locked": True, "grade_id": "demo"}}
    later = nbformat.v4.new_code_cell("def f(x):\n    return x + rng.normal()")
    later.metadata = {"nbgrader": {"solution": True, "grade_id": "f"}}
    rebinds = nbformat.v4.new_code_cell("rng = make()\nuse(rng)")
    nb.cells = [demo, rebinds]
    assert reader_cells.leaks(nb) == [] and reader_cells.cells_to_skip(nb) == {0}
    nb.cells = [demo, later]
    assert reader_cells.leaks(nb) and reader_cells.cells_to_skip(nb) == set()
    demo.source = "obj = thing()\nparams['w'] = 1"  # mutating a name later cells use counts as binding it
    later.source = "def f(x):\n    return params['w'] * x"
    assert reader_cells.cells_to_skip(nb) == set()
    demo.source = "import time\nfor i in range(3):\n    print(i)"
    later.source = "def f(x):\n    return x + undefined(1"  # does not compile: runs nothing, reads nothing
    assert reader_cells.cells_to_skip(nb) == {0}


def test_learner_can_neither_skip_their_cells_nor_run_away_from_marks():
    release = _nb("01_losses")
    expected = _ids(release, reader_cells.cells_to_skip(release))
    submission = copy.deepcopy(release)
    for cell in submission.cells:
        meta = cell.metadata
        if reader_cells.marked(cell):
            del meta["dlcourse"]                                  # un-mark a demo
        elif cell.cell_type == "code":
            meta["dlcourse"] = {"reader": True}                   # mark the solution and test cells
            meta.setdefault("nbgrader", {})["locked"] = True
    added = nbformat.v4.new_code_cell("slow_experiment()")
    added.metadata = {"dlcourse": {"reader": True}, "nbgrader": {"locked": True, "grade_id": "mine"}}
    submission.cells.insert(5, added)
    restore_structure(submission, release, "01_losses")
    skipped = reader_cells.cells_to_skip(submission)
    assert _ids(submission, skipped) == expected
    for i in skipped:
        meta = submission.cells[i].metadata["nbgrader"]
        assert not meta.get("solution") and not meta.get("grade")


def test_a_learner_function_that_calls_a_demo_helper_makes_the_demo_run():
    nb = _nb("01_losses")
    demo = next(i for i in sorted(reader_cells.cells_to_skip(nb)) if "naive_softmax" in nb.cells[i].source)
    solution = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "log_softmax")
    solution.source = "def log_softmax(z):\n    return np.log(naive_softmax(z))"
    assert demo not in reader_cells.cells_to_skip(nb)


def _check_both_ways(course):
    """``full`` was graded with the reader cells skipped, ``reader_run`` with them run (the same notebook)."""
    chapter = course.chapter
    course.assert_full_marks("full")
    course.assert_full_marks("reader_run")
    graded = {"skip": course.notebook("full"), "run": course.notebook("reader_run")}
    reader_ids = {c.metadata["nbgrader"]["grade_id"] for c in _nb(chapter).cells if reader_cells.marked(c)}

    def reader(mode):
        cells = [c for c in graded[mode].cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in reader_ids]
        assert len(cells) == len(reader_ids)
        return cells
    assert all(c.outputs == [] and not c.execution_count for c in reader("skip")), "a reader cell ran"
    assert all(c.execution_count for c in reader("run")), "DLCOURSE_RUN_READER_CELLS=1 did not run them"


@group("06_backprop_initialization")
def test_one_chapter_full_marks_with_reader_cells_skipped_and_run(graded):
    _check_both_ways(graded("06_backprop_initialization", READER_RUN))


@pytest.mark.slow
@pytest.mark.parametrize("chapter", [pytest.param(c, marks=group(c), id=c) for c in CHAPTERS])
def test_every_chapter_full_marks_with_reader_cells_skipped_and_run(graded, chapter):
    _check_both_ways(graded(chapter, READER_RUN))
