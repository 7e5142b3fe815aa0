"""nbgrader sanitize step: put a submission back into the shape of the released notebook.

Stock nbgrader overwrites the test cells it finds, but a *deleted* test cell stays deleted
(the student then scores 0 there) and edited metadata can turn a test cell into an ordinary
one. :class:`RestoreStructure` rebuilds the notebook from the release:

- every cell of the release is present, in the release's order, with the release's metadata;
- read-only and test cells come from the release (nbgrader's OverwriteCells then restores the
  hidden tests from the gradebook); solution cells keep the learner's code;
- cells the learner added are kept, after the release cell they followed;
- each repair is written down as a grading note ("test cell test_mse had been deleted and has
  been restored"), and code that tampers with the grading is flagged for the instructor.
"""

import copy
import os
import re

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.notebook_cells import grade_id as _grade_id, grading_meta, is_solution_cell, is_test_cell, \
    source as _source, without_hidden_tests
from autograder.notes import add_note, store_notes, strip_notes, take_over

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SUSPICIOUS = [
    (r"set_custom_exc|sys\.excepthook|showtraceback|InteractiveShell", "changes how errors are reported"),
    (r"__builtins__|\bimport builtins|builtins\.\w+\s*=", "modifies Python's builtins"),
    (r"sys\.modules|sys\.meta_path|sys\.path|importlib|__import__", "manipulates the import system"),
    (r"\bautograder\b|solutions/|HIDDEN TESTS|gradebook", "refers to the instructor's files"),
    (r"\bsocket\b|urllib|requests\.|http\.client|urlopen", "opens network connections"),
    (r"subprocess|os\.system|os\.popen|ctypes|os\._exit|os\.kill|\bsignal\.", "starts processes or makes low-level calls"),
    (r"\b(np|numpy)\.(\w+\.)*\w+\s*=[^=]|setattr\(\s*(np|numpy)\b", "reassigns NumPy functions"),
    (r"dlcourse\.\S*\s*=[^=]|setattr\(\s*dlcourse|\bcheck\s*=[^=]", "redefines the course's check functions"),
]


def _visible(cell):
    """A cell's source as students see it: hidden tests removed, outer whitespace ignored."""
    return without_hidden_tests(_source(cell)).strip()


def suspicious_findings(sources):
    """Sentences naming tampering patterns found in the given {label: code} sources."""
    found = []
    for label, code in sources.items():
        for pattern, what in SUSPICIOUS:
            if re.search(pattern, code):
                found.append(f"flagged for the instructor's review: code in {label} {what}")
    return found


def release_notebook_path(release_dir, assignment, notebook):
    return os.path.join(release_dir, assignment, f"{notebook}.ipynb")


def restore_structure(nb, release, chapter, notes=None):
    """Rebuild ``nb`` (in place) on the release notebook's skeleton; return the notes made.

    ``notes`` are the grader's earlier notes for this submission; whatever notes the notebook
    itself carries are discarded (only the grader writes notes).
    """
    strip_notes(nb)
    notes = list(notes or [])
    release_ids = [_grade_id(c) for c in release.cells]
    release_set = set(release_ids)
    found, order, extras = {}, [], {None: []}
    previous = None
    foreign = 0
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        if grade_id in release_set and grade_id not in found:
            found[grade_id] = cell
            order.append(grade_id)
            previous = grade_id
            continue
        if grade_id and grade_id not in release_set:
            foreign += 1
        extra = copy.deepcopy(cell)
        extra.get("metadata", {}).pop("nbgrader", None)
        extras.setdefault(previous, []).append(extra)

    solution_ids = [g for g, c in zip(release_ids, release.cells) if is_solution_cell(c)]
    matched = sum(1 for g in solution_ids if g in found)
    if solution_ids and matched == 0:
        if not nb.cells:
            add_note(notes, "the submitted notebook has no cells; it was graded as the unanswered notebook")
        else:
            add_note(notes, f"this notebook does not contain the exercise cells of {chapter} (is it another "
                            f"chapter's notebook?); it was graded against {chapter}'s exercises")

    cells = list(extras[None])
    flagged_sources = {}
    for release_cell, grade_id in zip(release.cells, release_ids):
        student = found.get(grade_id)
        if is_solution_cell(release_cell):
            if student is None:
                cell = copy.deepcopy(release_cell)
                if matched:
                    add_note(notes, f"the exercise cell {grade_id} was missing; it was restored as the empty stub")
            else:
                cell = copy.deepcopy(student)
                if grading_meta(student) != grading_meta(release_cell):
                    add_note(notes, f"the metadata of cell {grade_id} had been changed; it has been restored")
                cell["metadata"] = copy.deepcopy(release_cell["metadata"])
                cell["cell_type"] = release_cell["cell_type"]
                flagged_sources[f"cell {grade_id}"] = _source(cell)
            if cell["cell_type"] == "code":
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
        else:
            cell = copy.deepcopy(release_cell)
            if is_test_cell(release_cell) and matched:
                if student is None:
                    add_note(notes, f"test cell {grade_id} had been deleted and has been restored")
                elif _visible(student) != _visible(release_cell) or grading_meta(student) != grading_meta(release_cell):
                    add_note(notes, f"test cell {grade_id} was modified and has been restored")
            elif student is not None and _visible(student) != _visible(release_cell) and matched:
                add_note(notes, f"the read-only cell {grade_id} had been edited; it has been restored")
        cells.append(cell)
        for extra in extras.get(grade_id, []):
            cells.append(extra)
            flagged_sources[f"an added cell after {grade_id}"] = _source(extra)
    expected_order = [g for g in release_ids if g in found]
    if matched and order != expected_order:
        add_note(notes, "cells had been moved; the released order was restored")
    for finding in suspicious_findings(flagged_sources):
        add_note(notes, finding)
    nb.cells = [nbformat.from_dict(c) for c in cells]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    nb.metadata["kernelspec"] = copy.deepcopy(release.metadata.get("kernelspec", nb.metadata.get("kernelspec", {})))
    store_notes(nb, notes)
    return notes


class RestoreStructure(NbGraderPreprocessor):
    """Rebuild a submission on the released notebook's skeleton (see the module docstring)."""

    release_directory = Unicode(os.path.join(ROOT, "course"),
                                help="Where the released notebooks are (one folder per assignment).").tag(config=True)

    def preprocess(self, nb, resources):
        assignment = resources["nbgrader"]["assignment"]
        notebook = resources["nbgrader"]["notebook"]
        notes = take_over(assignment, resources["nbgrader"].get("student"))
        path = release_notebook_path(self.release_directory, assignment, notebook)
        if not os.path.exists(path):
            self.log.warning("No released notebook at %s; structure not restored", path)
            store_notes(strip_notes(nb), notes)
            return nb, resources
        release = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        restore_structure(nb, release, assignment, notes)
        return nb, resources
