"""Copy a submission into a folder the grader owns, and make that copy gradable.

Stock nbgrader gives no row at all to a folder whose notebook is missing or renamed, and stops
on a file that is not valid JSON or UTF-8. The class grader therefore never grades
``submitted/`` itself:

1. :func:`stage_submission` copies ``submitted/<student>/<chapter>`` into a staging folder.
   Only regular files are copied (not symlinks, FIFOs, sockets or devices; not files above
   ``MAX_FILE_BYTES``, not more than ``MAX_FILES`` files or ``MAX_DEPTH`` folders deep); each
   thing left out is named in a note. The submitted files are only read, never changed.
2. :func:`repair_submission` makes the staged copy hold a readable ``<chapter>.ipynb``:
   renamed notebooks are found, bad bytes replaced, damaged structure salvaged, a folder named
   like the notebook removed, deeply nested or otherwise unreadable JSON replaced by the
   unanswered notebook; grading notes a submission carries are removed; learner-added empty
   cells are dropped and learner-added cells beyond ``MAX_ADDED_CELLS`` are not graded.
   It returns the notes describing what it did (plain sentences, shown in the feedback).

    python -m autograder.preflight 01_losses /tmp/staging     # stage and repair submitted/*/01_losses
"""

import argparse
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import nbformat

from autograder.chapters import chapter_argument
from autograder.notebook_cells import grade_id, grade_ids, nbgrader_meta, source as cell_source
from autograder.notes import add_note, strip_notes

ROOT = Path(__file__).resolve().parent.parent
MAX_FILE_BYTES = int(os.environ.get("DLCOURSE_MAX_SUBMITTED_FILE_MB", "50")) * 1024 * 1024
MAX_FILES = 500
MAX_DEPTH = 8
MAX_ADDED_CELLS = 500


def _kind(mode):
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "not a regular file"


def _lstat(path):
    try:
        return os.lstat(path)
    except OSError:
        return None


def _copy_regular(source, target):
    """Copy the regular file ``source`` to ``target`` without following a symlink swapped in."""
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{source} is no longer a regular file")
        with os.fdopen(fd, "rb", closefd=False) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
    finally:
        os.close(fd)


def stage_submission(source, staged, notes):
    """Copy the regular files of the folder ``source`` into a fresh folder ``staged``; notes say what was left out."""
    source, staged = Path(source), Path(staged)
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    top = _lstat(source)
    if top is None:
        return
    if not stat.S_ISDIR(top.st_mode):
        add_note(notes, f"the submission is {_kind(top.st_mode)}, not a folder; nothing was read from it")
        return
    copied = 0
    for folder, dirs, files in os.walk(source, followlinks=False):
        relative = Path(folder).relative_to(source)
        if len(relative.parts) >= MAX_DEPTH:
            add_note(notes, f"folders more than {MAX_DEPTH} levels deep were not read")
            dirs[:] = []
            continue
        for name in sorted(dirs):
            path = Path(folder) / name
            if os.path.islink(path):
                add_note(notes, f"{relative / name} is a symbolic link; it was not followed")
                dirs.remove(name)
            else:
                (staged / relative / name).mkdir(exist_ok=True)
        for name in sorted(files):
            path, rel = Path(folder) / name, relative / name
            info = _lstat(path)
            if info is None:
                continue
            if not stat.S_ISREG(info.st_mode):
                add_note(notes, f"{rel} is {_kind(info.st_mode)}; it was not read")
            elif info.st_size > MAX_FILE_BYTES:
                add_note(notes, f"{rel} is {info.st_size / 2**20:.0f} MB, more than the {MAX_FILE_BYTES // 2**20} MB "
                                "a submitted file may have; it was not read")
            elif copied >= MAX_FILES:
                add_note(notes, f"the submission has more than {MAX_FILES} files; the rest were not read")
                return
            else:
                try:
                    _copy_regular(path, staged / rel)
                    copied += 1
                except OSError as err:
                    add_note(notes, f"{rel} could not be read ({err.strerror or err})")


def stage_release(staged, chapter, release_path):
    """Make ``staged`` a fresh folder holding only the unanswered notebook."""
    staged = Path(staged)
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    shutil.copyfile(release_path, staged / f"{chapter}.ipynb")


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
        kind, text = cell.get("cell_type"), cell_source(cell)
        new = nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        if nbgrader_meta(cell):
            new.metadata["nbgrader"] = json.loads(json.dumps(nbgrader_meta(cell)))
        cells.append(new)
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    add_note(notes, f"the notebook's structure was damaged; {len(cells)} cells were recovered from it")
    return nb


def _parse(text):
    """JSON text -> object; RecursionError (deeply nested JSON) becomes a ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("it is nested too deeply") from None


def _read_notebook(path, notes):
    """The notebook at ``path`` as a NotebookNode, or None when nothing can be recovered."""
    raw = path.read_bytes()
    if not raw.strip():
        add_note(notes, "the submitted notebook file was empty")
        return None
    text = _decode(raw, notes)
    try:
        data = _parse(text)
    except ValueError as err:
        add_note(notes, f"the notebook file is not valid JSON ({err}); nothing could be read from it")
        return None
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
        nbformat.validate(nb)
        return nb
    except (Exception, RecursionError):  # noqa: BLE001 - any validation problem: salvage what we can
        return _salvage(data, notes)


def _pick_notebook(folder, chapter, release):
    """The notebook to grade: the expected name, else the best-matching other .ipynb file."""
    expected = folder / f"{chapter}.ipynb"
    if expected.is_file():
        return expected, None
    candidates = [p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
                  and not p.name.startswith(".") and p.is_file()]
    if not candidates:
        return None, None
    wanted = grade_ids(release)

    def score(path):
        try:
            return len(grade_ids(_parse(path.read_bytes().decode("utf-8", errors="replace"))) & wanted)
        except ValueError:
            return -1

    best = max(candidates, key=lambda p: (score(p), p.stat().st_mtime, str(p)))
    return best, best.relative_to(folder)


def _is_empty(cell):
    return not cell_source(cell).strip()


def limit_cells(nb, release, notes):
    """Drop learner-added empty cells, and added cells beyond ``MAX_ADDED_CELLS``; True if changed."""
    wanted = grade_ids(release)
    kept, empty, over = [], 0, 0
    added = 0
    for cell in nb.cells:
        if grade_id(cell) in wanted:
            kept.append(cell)
        elif _is_empty(cell):
            empty += 1
        elif added >= MAX_ADDED_CELLS:
            over += 1
        else:
            added += 1
            kept.append(cell)
    if empty > 50:
        add_note(notes, f"{empty} empty cells were removed")
    if over:
        add_note(notes, f"the notebook has more than {MAX_ADDED_CELLS} cells of its own besides the exercise "
                        f"cells; the last {over} of them were not run")
    nb.cells = kept
    return bool(empty or over)


def repair_submission(folder, chapter, release_path):
    """Make the staged ``folder`` hold a readable ``<chapter>.ipynb``; return the notes on what was done.

    ``folder`` must be a copy the grader owns (see :func:`stage_submission`): files in it are
    rewritten, removed and renamed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    release = nbformat.read(str(release_path), as_version=4)
    expected = folder / f"{chapter}.ipynb"
    notes = []
    if expected.exists() and not expected.is_file():
        add_note(notes, f"{chapter}.ipynb in the submission is a folder, not a notebook file")
        shutil.rmtree(expected)
    source, renamed_from = _pick_notebook(folder, chapter, release)
    nb = None
    if source is None:
        add_note(notes, f"no notebook was found in the submission; it was graded as an unanswered {chapter}.ipynb")
    else:
        if renamed_from is not None:
            add_note(notes, f"the notebook was submitted as {renamed_from}; it was graded as {chapter}.ipynb")
        nb = _read_notebook(source, notes)
        if renamed_from is not None:
            source.unlink()
    if nb is None:
        nb = nbformat.read(str(release_path), as_version=4)
        if source is not None:
            add_note(notes, "it was graded as the unanswered notebook; your instructor has the original file")
    strip_notes(nb)
    limit_cells(nb, release, notes)
    nbformat.write(nb, str(expected))
    return notes


def main(argv=None):
    parser = argparse.ArgumentParser(description="Stage and repair submissions so that nbgrader can grade every one.")
    parser.add_argument("chapter", type=chapter_argument, help="chapter id or number, e.g. 01_losses or 1")
    parser.add_argument("staging", help="folder to stage into (one sub-folder per student)")
    parser.add_argument("--submitted", default=str(ROOT / "submitted"))
    parser.add_argument("--release", default=None, help="released notebook (default course/<chapter>/<chapter>.ipynb)")
    args = parser.parse_args(argv)
    release = args.release or ROOT / "course" / args.chapter / f"{args.chapter}.ipynb"
    for student_dir in sorted(Path(args.submitted).iterdir()):
        if not student_dir.is_dir() or student_dir.is_symlink():
            continue
        notes = []
        staged = Path(args.staging) / student_dir.name / args.chapter
        stage_submission(student_dir / args.chapter, staged, notes)
        notes += repair_submission(staged, args.chapter, release)
        if notes:
            print(f"{student_dir.name}: " + "; ".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
