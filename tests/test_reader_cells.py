"""Cells for the reader (demos, figures) are skipped in grading without changing any grade.

Default run: the static check of every chapter (no skipped cell binds a name a later running
cell reads), the learner cannot move the marks, and one chapter graded both ways.
``-m slow``: every chapter graded both ways.
"""

import copy
import os

import nbformat
import pytest

from autograder import reader_cells
from autograder.course_dir import CourseDir
from autograder.release import chapters, solution_path
from autograder.restore_cells import restore_structure

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


def _grade_both_ways(tmp_path, chapter):
    """Scores and graded notebooks with reader cells skipped and run."""
    results = {}
    for mode in ("skip", "run"):
        course = CourseDir(tmp_path / mode)
        course.release(chapter)
        course.submit("student", chapter, solution_path(chapter))
        os.environ[reader_cells.RUN_ENV] = "1" if mode == "run" else "0"
        try:
            course.autograde(chapter, f"--RestoreStructure.release_directory={course.root / 'course'}")
        finally:
            os.environ.pop(reader_cells.RUN_ENV, None)
        graded = nbformat.read(str(course.root / "autograded" / "student" / chapter / f"{chapter}.ipynb"), 4)
        results[mode] = (course.scores(chapter)["student"], course.max_scores(chapter), graded)
    return results


def _check_both_ways(results, chapter):
    for mode, (scores, max_scores, graded) in results.items():
        assert scores == max_scores, f"{chapter}, reader cells {mode}: not full marks"
    reader_ids = {c.metadata["nbgrader"]["grade_id"] for c in _nb(chapter).cells if reader_cells.marked(c)}

    def reader(mode):
        cells = [c for c in results[mode][2].cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in reader_ids]
        assert len(cells) == len(reader_ids)
        return cells
    assert all(c.outputs == [] and not c.execution_count for c in reader("skip")), "a reader cell ran"
    assert all(c.execution_count for c in reader("run")), "DLCOURSE_RUN_READER_CELLS=1 did not run them"


def test_one_chapter_full_marks_with_reader_cells_skipped_and_run(tmp_path):
    _check_both_ways(_grade_both_ways(tmp_path, "06_backprop_initialization"), "06_backprop_initialization")


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_full_marks_with_reader_cells_skipped_and_run(tmp_path, chapter):
    _check_both_ways(_grade_both_ways(tmp_path, chapter), chapter)
