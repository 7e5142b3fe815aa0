"""Repair submission folders before nbgrader reads them, so that every student gets graded.

Stock nbgrader gives no row at all to a folder whose notebook is missing or renamed, and
stops on a file that is not valid JSON or UTF-8. :func:`repair_submission` makes each
folder gradable and writes down what it did (as grading notes inside the notebook, shown in
the feedback). The student's original file is never deleted: a replaced or renamed file is
kept beside it as ``.original-<name>`` (nbgrader ignores dotfiles).

    python -m autograder.preflight 01_losses          # repair submitted/*/01_losses in place
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import nbformat

from autograder.notes import add_note, notes_of, store_notes

ROOT = Path(__file__).resolve().parent.parent


def _grade_ids(nb_dict):
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb_dict.get("cells", [])
            if isinstance(c, dict)} - {None}


def _keep_original(path):
    backup = path.with_name(f".original-{path.name}")
    if not backup.exists():
        shutil.copyfile(path, backup)


def _decode(raw, notes):
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        add_note(notes, "the notebook was saved as UTF-16 text; it was converted")
        return raw.decode("utf-16", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        add_note(notes, f"the notebook contained bytes that are not UTF-8 text (at byte {err.start}); "
                        "they were replaced by \N{REPLACEMENT CHARACTER}")
        return raw.decode("utf-8", errors="replace")


def _salvage(data, notes):
    """Best-effort notebook from a JSON object whose notebook structure is damaged."""
    cells = []
    for cell in data.get("cells", []) if isinstance(data, dict) and isinstance(data.get("cells"), list) else []:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        source = "".join(str(s) for s in source) if isinstance(source, list) else str(source)
        kind = cell.get("cell_type")
        new = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        metadata = cell.get("metadata")
        if isinstance(metadata, dict) and isinstance(metadata.get("nbgrader"), dict):
            new.metadata["nbgrader"] = metadata["nbgrader"]
        cells.append(new)
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    add_note(notes, f"the notebook's structure was damaged; {len(cells)} cells were recovered from it")
    return nb


def _read_notebook(path, notes):
    """The notebook at ``path`` as a NotebookNode, or None when nothing can be recovered."""
    raw = path.read_bytes()
    if not raw.strip():
        add_note(notes, "the submitted notebook file was empty")
        return None
    text = _decode(raw, notes)
    try:
        data = json.loads(text)
    except ValueError as err:
        add_note(notes, f"the notebook file is not valid JSON ({err}); nothing could be read from it")
        return None
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
        return nb
    except Exception:  # noqa: BLE001 - any validation problem: salvage what we can
        return _salvage(data, notes)


def _pick_notebook(folder, chapter, release):
    """The submitted notebook to grade: the expected name, else the best-matching other .ipynb."""
    expected = folder / f"{chapter}.ipynb"
    if expected.exists():
        return expected, None
    candidates = [p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
                  and not p.name.startswith(".")]
    if not candidates:
        return None, None
    wanted = _grade_ids(release)

    def score(path):
        try:
            return len(_grade_ids(json.loads(path.read_bytes().decode("utf-8", errors="replace"))) & wanted)
        except ValueError:
            return -1

    best = max(candidates, key=lambda p: (score(p), p.stat().st_mtime))
    return best, best.relative_to(folder)


def repair_submission(folder, chapter, release_path):
    """Make ``folder`` hold a readable ``<chapter>.ipynb``; return the notes describing the repairs."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    release = nbformat.read(str(release_path), as_version=4)
    expected = folder / f"{chapter}.ipynb"
    notes = []
    source, renamed_from = _pick_notebook(folder, chapter, release)
    nb = None
    if source is None:
        add_note(notes, f"no notebook was found in the submission; it was graded as an unanswered {chapter}.ipynb")
    else:
        if renamed_from is not None:
            add_note(notes, f"the notebook was submitted as {renamed_from}; it was graded as {chapter}.ipynb")
        nb = _read_notebook(source, notes)
        if nb is not None:
            notes = notes_of(nb) + [n for n in notes if n not in notes_of(nb)]
    if nb is None:
        nb = nbformat.read(str(release_path), as_version=4)
        if source is not None:
            add_note(notes, "it was graded as the unanswered notebook; the original file is kept for your instructor")
    if not notes:
        return []
    if expected.exists():
        _keep_original(expected)
    store_notes(nb, notes)
    nbformat.write(nb, str(expected))
    return notes


def repair_all(chapter, submitted_dir, release_path):
    """Repair every ``submitted_dir/<student>/<chapter>``; dict student -> notes (only repaired ones)."""
    repaired = {}
    for student_dir in sorted(Path(submitted_dir).iterdir()):
        folder = student_dir / chapter
        if student_dir.is_dir() and folder.is_dir():
            notes = repair_submission(folder, chapter, release_path)
            if notes:
                repaired[student_dir.name] = notes
    return repaired


def main(argv=None):
    parser = argparse.ArgumentParser(description="Repair submissions so that nbgrader can grade every one.")
    parser.add_argument("chapter")
    parser.add_argument("--submitted", default=str(ROOT / "submitted"))
    parser.add_argument("--release", default=None, help="released notebook (default course/<chapter>/<chapter>.ipynb)")
    args = parser.parse_args(argv)
    release = args.release or ROOT / "course" / args.chapter / f"{args.chapter}.ipynb"
    for student, notes in repair_all(args.chapter, args.submitted, release).items():
        print(f"{student}: " + "; ".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
