"""What a course notebook's cells are: nbgrader's cell metadata and the markers in their source.

Every module that reads a source, release or submitted notebook asks here, so that a rule
("a test cell is one whose ``metadata.nbgrader.grade`` is true") is written once.

A cell is a dict (``nbformat.NotebookNode`` or plain JSON). nbgrader's fields live under
``metadata.nbgrader``: ``grade_id`` (the cell's stable name), ``solution`` (an answer cell the
learner edits), ``grade`` (a test cell worth ``points``), ``locked`` (read-only). A submitted
notebook may carry anything there (a list, a number, nothing), so the readers below never
fail on a malformed cell: what is not a dict reads as ``{}``, a ``grade_id`` that is not a
string reads as ``None``.

In a source notebook a solution cell's answer sits between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` (the release replaces it by a stub) and a test cell's hidden part between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (the release drops it; grading puts it
back and judges it outside the kernel).
"""

import re

HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS\n?", re.S)
"""A test cell's hidden block; group 1 is the hidden code."""

SOLUTION_BLOCK = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION", re.S)
"""A solution cell's answer region, markers included; group 1 is its indentation."""

_SOLUTION_MARKER = re.compile(r"^ *### (BEGIN|END) SOLUTION\n?", re.M)

STUB = "raise NotImplementedError()"
"""What stands in a released solution cell instead of the answer (nbgrader's default code stub)."""

GRADING_KEYS = ("grade", "grade_id", "locked", "points", "solution", "task")
"""The nbgrader fields that decide grading (not checksums or schema versions)."""


def nbgrader_metadata(cell_id, *, solution=False, grade=False, locked=False, points=None):
    """The ``metadata.nbgrader`` of a new cell: an answer (``solution``), a test worth ``points``
    (``grade``, ``locked``), or a read-only cell (``locked`` only)."""
    meta = {"grade": grade, "grade_id": cell_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_meta(cell):
    """The cell's ``metadata.nbgrader`` dict (the cell's own object, not a copy); ``{}`` if absent or malformed."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def grading_meta(cell):
    """The :data:`GRADING_KEYS` of the cell's nbgrader metadata (missing ones as None), for comparing cells."""
    meta = nbgrader_meta(cell)
    return {key: meta.get(key) for key in GRADING_KEYS}


def grade_id(cell):
    """The cell's nbgrader grade id, or None (no metadata, or an id that is not a string)."""
    found = nbgrader_meta(cell).get("grade_id")
    return found if isinstance(found, str) else None


def is_solution_cell(cell):
    """True for an answer cell (nbgrader ``solution``), code or markdown."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_test_cell(cell):
    """True for a graded test cell (nbgrader ``grade``)."""
    return bool(nbgrader_meta(cell).get("grade"))


def is_read_only(cell):
    """True for a locked cell that is neither an answer nor a test (text, set-up, demos, figures)."""
    meta = nbgrader_meta(cell)
    return bool(meta.get("locked")) and not meta.get("solution") and not meta.get("grade")


def cell_label(index, cell):
    """How messages name a cell: ``"cell 5 (test_mse)"`` (``index`` counts from 0), or ``"cell 5"``."""
    name = grade_id(cell)
    return f"cell {index + 1}" + (f" ({name})" if name else "")


def source(cell):
    """The cell's source as one string (nbformat stores a string or a list of lines)."""
    text = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(str(s) for s in text) if isinstance(text, list) else str(text)


def hidden_tests(text):
    """The hidden code in a test cell's source ``text``, or None when it has no hidden block."""
    found = HIDDEN_BLOCK.search(text)
    return found.group(1) if found else None


def without_hidden_tests(text):
    """``text`` with every hidden block removed (what the learner's kernel is sent, what the release shows)."""
    return HIDDEN_BLOCK.sub("", text)


def stub_solution(text):
    """A solution cell's source with each answer region replaced by the released stub (same indentation)."""
    return SOLUTION_BLOCK.sub(lambda m: f"{m.group(1)}{STUB}", text)


def without_solution_markers(text):
    """A solution cell's source with the ``### BEGIN/END SOLUTION`` lines removed, the answer kept."""
    return _SOLUTION_MARKER.sub("", text)


def solution_ids(nb):
    """The grade ids of a notebook's code answer cells, in notebook order."""
    return [grade_id(c) for c in nb["cells"] if c.get("cell_type") == "code" and is_solution_cell(c)]


def graded_points(nb):
    """dict test-cell grade id -> points, in notebook order."""
    return {grade_id(c): nbgrader_meta(c).get("points") for c in nb["cells"] if is_test_cell(c)}


def grade_ids(nb):
    """The set of grade ids a notebook's cells carry (a malformed notebook or cell adds none)."""
    cells = nb.get("cells") if isinstance(nb, dict) else None
    return {grade_id(c) for c in cells if isinstance(c, dict)} - {None} if isinstance(cells, list) else set()
