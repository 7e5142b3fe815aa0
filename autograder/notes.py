"""Grading notes: plain sentences about what grading did to a submission, shown in feedback.

Notes come only from the grader. A submitted notebook can carry anything in its metadata
(including a forged "note"), so every grading step that reads a submission first removes what
it carries (:func:`strip_notes`). Between the grader's own steps the notes travel as data:

- from the class grader's repair step (:mod:`autograder.preflight`, run in the grading worker)
  to :class:`autograder.restore_cells.RestoreStructure`: in this process's memory
  (:func:`hand_over` / :func:`take_over`, keyed by assignment and student);
- from ``RestoreStructure`` to the executor: in the notebook's metadata under
  ``metadata.dlcourse_grader.notes`` (:func:`store_notes` / :func:`pop_notes`); no learner code
  runs in between, and the executor removes them before the kernel starts;
- the executor renders them with :func:`notes_cell`, escaped (a note may quote a file name or
  an error message the learner chose), and the last rendered notes stay readable in this
  process (:func:`rendered_notes`) so the class grader can record them without parsing the
  graded notebook.
"""

import html
import re

import nbformat

GRADER_KEY = "dlcourse_grader"
NOTES_KEY = "notes"
_LEGACY = ("dlcourse", "grading_notes")  # where notes used to travel: stripped too
MAX_NOTE_CHARS = 500
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~])")

_handed_over = {}
_rendered = []


def add_note(notes, text):
    """Append ``text`` to the list ``notes`` unless it is already there."""
    if text not in notes:
        notes.append(text)


def strip_notes(nb):
    """Remove every grading note a notebook carries (a submission's own are never trusted)."""
    metadata = nb.get("metadata")
    if not isinstance(metadata, dict):
        return nb
    metadata.pop(GRADER_KEY, None)
    legacy = metadata.get(_LEGACY[0])
    if isinstance(legacy, dict):
        legacy.pop(_LEGACY[1], None)
        if not legacy:
            del metadata[_LEGACY[0]]
    return nb


def notes_of(nb):
    """The notes a grading step stored in a notebook (a list, possibly empty)."""
    carried = nb.get("metadata", {}).get(GRADER_KEY, {})
    notes = carried.get(NOTES_KEY, []) if isinstance(carried, dict) else []
    return [str(n) for n in notes] if isinstance(notes, list) else []


def store_notes(nb, notes):
    """Store ``notes`` in the notebook's metadata, for the next grading step."""
    nb.setdefault("metadata", {})[GRADER_KEY] = {NOTES_KEY: [str(n) for n in notes]}


def pop_notes(nb):
    """Remove and return the notes stored in a notebook."""
    notes = notes_of(nb)
    strip_notes(nb)
    return notes


def hand_over(assignment, student, notes):
    """Give ``notes`` to the grading steps about to run in this process for this submission."""
    _handed_over[(assignment, student)] = list(notes)


def take_over(assignment, student):
    """The notes handed over for this submission (once; empty when there are none)."""
    return _handed_over.pop((assignment, student), [])


def escape(text):
    """``text`` as literal markdown on one line: no HTML, links, emphasis or headings survive."""
    text = " ".join(str(text).split())
    if len(text) > MAX_NOTE_CHARS:
        text = text[:MAX_NOTE_CHARS] + " [...]"
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", text), quote=False)


def notes_cell(notes):
    """A markdown cell listing the notes (escaped), for the top of the graded notebook."""
    _rendered[:] = list(notes)
    lines = ["**Grading notes.** While grading this submission:", ""]
    lines += [f"- {escape(n[:1].upper() + n[1:])}" for n in notes]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


def reset_rendered():
    """Forget the notes rendered last (call before grading the next submission)."""
    _rendered.clear()


def rendered_notes():
    """The notes :func:`notes_cell` rendered last in this process, unescaped."""
    return list(_rendered)
