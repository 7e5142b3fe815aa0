"""Make submissions from a chapter's solution notebook: untouched, stubbed, or edited."""

import copy
import json
import re
from pathlib import Path

from autograder.release import solution_path

ROOT = Path(__file__).resolve().parent.parent
_SOLUTION = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION", re.S)


def load_solution(chapter):
    return json.loads(solution_path(chapter).read_text(encoding="utf-8"))


def solution_cells(nb):
    """grade ids of the graded solution cells, in notebook order."""
    return [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
            if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def graded_points(nb):
    """dict test cell id -> points."""
    return {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"] for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def with_cell_edited(nb, grade_id, edit):
    """A copy of ``nb`` whose cell ``grade_id`` has its source replaced by ``edit(source)``."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            cell["source"] = edit("".join(cell["source"]))
            return nb
    raise KeyError(grade_id)


def stub_out(source):
    """Replace the solution region by the student stub."""
    return _SOLUTION.sub(lambda m: f"{m.group(1)}raise NotImplementedError()", source)


def with_summed_mse(nb):
    """Chapter 01's notebook with ``mse`` summing instead of averaging (the catalogue's named mistake)."""
    return with_cell_edited(nb, "mse", lambda s: s.replace("np.mean((y_pred", "np.sum((y_pred"))


def dumps(nb):
    return json.dumps(nb, indent=1)
