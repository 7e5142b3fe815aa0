"""Submissions made from a chapter's notebooks: the full solution, stubs left in, cells edited.

The grading corpus (:mod:`autograder.corpus`) and the test suite build their submissions here.
Notebooks are plain JSON dicts (as ``json.load`` gives them); every builder returns a new
notebook and leaves its argument unchanged.
"""

import copy
import json

from autograder.notebook_cells import grade_id, source, stub_solution, without_hidden_tests, \
    without_solution_markers
from autograder.release import solution_path


def load_solution(chapter):
    """The chapter's source notebook (full solutions, hidden tests) as a JSON dict."""
    return json.loads(solution_path(chapter).read_text(encoding="utf-8"))


def with_cell_edited(nb, cell_id, edit):
    """A copy of ``nb`` whose cell with grade id ``cell_id`` has its source replaced by ``edit(source)``.

    Raises KeyError when no cell has that grade id.
    """
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if grade_id(cell) == cell_id:
            cell["source"] = edit(source(cell))
            return nb
    raise KeyError(cell_id)


def with_stubs(nb, cell_ids):
    """A copy of ``nb`` whose answer cells ``cell_ids`` hold the released stub instead of the answer."""
    for cell_id in cell_ids:
        nb = with_cell_edited(nb, cell_id, stub_solution)
    return nb


def as_handed_in(nb):
    """A source notebook as a learner would hand it in: no ``BEGIN/END SOLUTION`` lines, no hidden tests."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        cell["source"] = without_solution_markers(without_hidden_tests(source(cell)))
    return nb


def dumps(nb):
    """The notebook as the text of an ``.ipynb`` file."""
    return json.dumps(nb, indent=1, ensure_ascii=False)
