"""Add a graded function to a chapter's source notebook: ``python -m autograder.authoring``.

A graded function ``f`` is two cells of ``solutions/<chapter>/<chapter>.ipynb``:

- the answer cell, grade id ``f`` (nbgrader ``solution``): the whole function, its body between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (the release shows the stub instead);
- the test cell, grade id ``test_f`` (nbgrader ``grade``, ``locked``, worth ``points``): the visible
  ``check(f)``, then, hidden, ``check_hidden(f)``; it tests only ``f``, so one wrong function loses
  only its own points.

:func:`add_graded_function` writes both, with the metadata nbgrader expects, after a given cell
(read, change, write at once; nothing else in the notebook changes). The answer starts as a
placeholder for the author to replace by the reference answer and a docstring giving shapes and
conventions; the instructor side of ``f`` (reference, mistakes, visible and hidden cases) is
written in the chapter's folder ``autograder/chapters/ch<chapter>/``, as the printed steps say::

    python -m autograder.authoring 01_losses huber --args "y_true, y_pred, delta=1.0" --points 2 --after test_mse
"""

import argparse
import re
import sys

import nbformat

from autograder.chapters import chapter_argument
from autograder.notebook_cells import grade_id, nbgrader_metadata
from autograder.release import solution_path

_NAME = re.compile(r"[A-Za-z_]\w*\Z")
PLACEHOLDER = "raise NotImplementedError('the reference answer goes here')"

NEXT_STEPS = """\
Next, for {name} in {chapter}:
  1. replace the placeholder in cell {name} by the answer and a docstring (shapes, conventions, errors);
  2. in autograder/chapters/ch{chapter}/: {name} in FUNCTIONS (__init__.py, notebook order), its reference
     (reference.py), named mistakes (mistakes.py), visible and hidden cases (cases.py);
  3. .venv/bin/python -m autograder.build_checks          (the visible checks' stored numbers)
  4. the new markdown's translation (python -m autograder.translations stale)
  5. .venv/bin/python -m autograder.release {chapter}      (course/ and course_zh/)"""


def answer_cell(name, args="x"):
    """The answer cell of ``name(args)``, the answer a placeholder between the solution markers."""
    text = (f"def {name}({args}):\n"
            f'    """TODO: what {name} computes; shapes and conventions of its arguments and result."""\n'
            "    ### BEGIN SOLUTION\n"
            f"    {PLACEHOLDER}\n"
            "    ### END SOLUTION")
    return nbformat.v4.new_code_cell(text, metadata={"nbgrader": nbgrader_metadata(name, solution=True)})


def grading_cell(name, points=1):
    """The graded test cell of ``name``: visible ``check``, then the hidden tests."""
    text = (f"check({name})\n"
            "### BEGIN HIDDEN TESTS\n"
            "from autograder.hidden import check_hidden\n"
            f"check_hidden({name})\n"
            "### END HIDDEN TESTS")
    meta = nbgrader_metadata(f"test_{name}", grade=True, locked=True, points=points)
    return nbformat.v4.new_code_cell(text, metadata={"nbgrader": meta})


def add_graded_function(path, name, *, args="x", points=1, after=None):
    """Insert the answer and test cells of ``name`` into the notebook at ``path``, after the cell
    whose grade id is ``after`` (None: at the end); return the index of the answer cell.

    Raises ValueError for a name that is not a Python identifier, points that are not positive,
    a grade id the notebook already has, or an ``after`` it does not have.
    """
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a Python function name")
    if not isinstance(points, (int, float)) or isinstance(points, bool) or points <= 0:
        raise ValueError(f"points must be a positive number, got {points!r}")
    nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    ids = [grade_id(c) for c in nb.cells]
    taken = {name, f"test_{name}"} & set(ids)
    if taken:
        raise ValueError(f"{path} already has cells with grade ids {sorted(taken)}")
    if after is not None and after not in ids:
        raise ValueError(f"{path} has no cell with grade id {after!r}")
    at = len(nb.cells) if after is None else ids.index(after) + 1
    cells = [answer_cell(name, args), grading_cell(name, points)]
    cell_ids = {c.get("id") for c in nb.cells}
    for cell, stem in zip(cells, (name, f"test_{name}")):
        cell["id"] = _fresh_id(stem.replace("_", "-"), cell_ids)
    nb.cells[at:at] = cells
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
    return at


def _fresh_id(stem, taken):
    """A cell id from ``stem`` (nbformat: at most 64 of [A-Za-z0-9-_]) that is not in ``taken``; added to it."""
    stem, n = stem[:56], 0
    candidate = stem
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}"
    taken.add(candidate)
    return candidate


def main(argv=None):
    parser = argparse.ArgumentParser(description="Add a graded function's answer and test cells to a chapter.")
    parser.add_argument("chapter", type=chapter_argument, help="chapter id or number, e.g. 01_losses or 1")
    parser.add_argument("name", help="the graded function's name")
    parser.add_argument("--args", default="x", help="its parameter list, e.g. \"y_true, y_pred\" (default: x)")
    parser.add_argument("--points", type=float, default=1, help="points of its test cell (default: 1)")
    parser.add_argument("--after", default=None, help="grade id of the cell to insert after (default: the end)")
    args = parser.parse_args(argv)
    path = solution_path(args.chapter)
    points = int(args.points) if float(args.points).is_integer() else args.points
    try:
        at = add_graded_function(path, args.name, args=args.args, points=points, after=args.after)
    except ValueError as err:
        parser.error(str(err))
    print(f"{path}: cells {at + 1} ({args.name}) and {at + 2} (test_{args.name}) added")
    print(NEXT_STEPS.format(name=args.name, chapter=args.chapter))
    return 0


if __name__ == "__main__":
    sys.exit(main())
