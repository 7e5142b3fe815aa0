"""Grading notes: plain sentences about what grading did to a submission, shown in feedback.

They travel in the notebook's metadata (``metadata.dlcourse.grading_notes``) from the repair
steps to the executor, which turns them into a markdown cell at the top of the graded notebook.
"""

import nbformat

NOTES_KEY = "grading_notes"


def add_note(notes, text):
    """Append ``text`` to the list ``notes`` unless it is already there."""
    if text not in notes:
        notes.append(text)


def notes_of(nb):
    """The notes stored in a notebook (a list, possibly empty)."""
    return list(nb.get("metadata", {}).get("dlcourse", {}).get(NOTES_KEY, []))


def store_notes(nb, notes):
    """Store ``notes`` in the notebook's metadata."""
    nb.setdefault("metadata", {}).setdefault("dlcourse", {})[NOTES_KEY] = list(notes)


def pop_notes(nb):
    """Remove and return the notes stored in a notebook."""
    meta = nb.get("metadata", {}).get("dlcourse", {})
    notes = list(meta.pop(NOTES_KEY, []))
    if "dlcourse" in nb.get("metadata", {}) and not meta:
        del nb["metadata"]["dlcourse"]
    return notes


def notes_cell(notes):
    """A markdown cell listing the notes, for the top of the graded notebook."""
    lines = ["**Grading notes.** While grading this submission:", ""] + [f"- {n[0].upper()}{n[1:]}" for n in notes]
    return nbformat.v4.new_markdown_cell("\n".join(lines))
