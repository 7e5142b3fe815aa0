"""Helpers for writing source notebooks with correct nbgrader metadata.

A chapter's source notebook (``solutions/<chapter>/<chapter>.ipynb``) is the source
of truth and is edited like any notebook. These helpers make new cells with the
metadata nbgrader expects, so a chapter can also be (re)built from a script::

    from autograder.authoring import md, code, solution, tests, write_notebook
    cells = [md("# Title"), solution("mse", "def mse(...):\\n    ### BEGIN SOLUTION\\n ..."),
             tests("mse", 2, "check(mse)\\n### BEGIN HIDDEN TESTS\\n...")]
    write_notebook("solutions/01_losses/01_losses.ipynb", cells)

Conventions: solution cells hold a whole function with ``### BEGIN SOLUTION`` /
``### END SOLUTION`` around the body; the graded test cell of function ``f`` has
grade id ``test_f``, runs the visible ``check(f)`` and then the hidden
``check_hidden(f)``, and tests only ``f`` (so one wrong function loses only its points).
"""

import nbformat

_AUTO = "auto"


def _nbgrader(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text, grade_id=None):
    """A read-only markdown cell."""
    cell = nbformat.v4.new_markdown_cell(text.strip("\n"))
    cell.metadata = _nbgrader(grade_id or _AUTO, locked=True)
    return cell


def code(text, grade_id=None):
    """A read-only code cell (set-up, demos, figures)."""
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    cell.metadata = _nbgrader(grade_id or _AUTO, locked=True)
    return cell


def solution(grade_id, text):
    """An editable cell whose ``### BEGIN/END SOLUTION`` part becomes a stub in the release."""
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    cell.metadata = _nbgrader(grade_id, solution=True)
    return cell


def free_code(text, grade_id=None):
    """An editable, ungraded code cell (scratch space, experiments)."""
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    cell.metadata = {}
    return cell


def tests(grade_id, points, text):
    """A locked, graded test cell worth ``points``."""
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    cell.metadata = _nbgrader(grade_id, grade=True, locked=True, points=points)
    return cell


def graded_tests(function_name, points=1):
    """The standard test cell for a graded function: visible check, then hidden tests."""
    body = (
        f"check({function_name})\n"
        "### BEGIN HIDDEN TESTS\n"
        "from autograder.hidden import check_hidden\n"
        f"check_hidden({function_name})\n"
        "### END HIDDEN TESTS"
    )
    return tests(f"test_{function_name}", points, body)


def write_notebook(path, cells, title_metadata=None):
    """Write cells as an output-free notebook with a Python 3 kernel spec."""
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    if title_metadata:
        nb.metadata.update(title_metadata)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:03d}"
        meta = cell.metadata.get("nbgrader")
        if meta and meta["grade_id"] == _AUTO:
            meta["grade_id"] = f"cell_{i:03d}"  # read-only cells: ids by position, stable and unique
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
