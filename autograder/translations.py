"""Translations of the course's markdown, stored as data beside the English source.

A translation file ``translations/<lang>/<name>.md`` (``<name>`` is a chapter folder such as
``01_losses``, or ``index``) is a sequence of entries, one per markdown cell of the English
source notebook (``solutions/<name>/<name>.ipynb``, or ``solutions/index.ipynb``), in notebook
order::

    <!-- cell: c000 en: 3f2a9c1b7d4e -->
    <the translated markdown of cell c000>

    <!-- cell: c002 en: 9a0b5e77d210 -->
    ...

``en`` is the fingerprint of the English cell the entry translates:
``sha256(cell.source.encode("utf-8")).hexdigest()[:12]``. An entry's text is everything between
its marker and the next marker (or the end of the file), blank lines at both ends stripped.

An entry is *stale* when its fingerprint no longer matches the English cell (the English changed
since it was translated), *missing* when a markdown cell has no entry, *extra* when it names a
cell that is not a markdown cell of the source. :func:`problems` lists all of them; the release
(:func:`localize`) uses a translation only when it is current and keeps the English otherwise,
with a warning, while the tests accept nothing but a complete, current translation.

Command line (``python -m autograder.translations ...``)::

    check [NAME ...]              missing / stale / extra entries (exit 1 if any)
    skeleton NAME [--write]       entries holding the English text under fresh markers
    stale NAME                    stale cells: their current English and the English diff since
                                  the translated version (looked up in the git history)
"""

import argparse
import copy
import difflib
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions"
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("zh-CN",)
"""Languages the course is translated into (folders of translations/)."""

MARKER = re.compile(r"^<!-- cell: (?P<cell>\S+) en: (?P<en>[0-9a-f]{12}) -->[ \t]*$", re.MULTILINE)
NOTEBOOK_LANG_KEY = "dlcourse"
"""Notebook metadata ``{"dlcourse": {"lang": "zh-CN"}}`` marks a translated notebook."""


class TranslationError(ValueError):
    """A translation file that cannot be read, or a translation that is not complete and current."""


def fingerprint(source):
    """The 12-hex-digit fingerprint of an English cell's source (one string)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Entry:
    """One translated cell: its id, the fingerprint of the English it translates, its text."""

    cell: str
    en: str
    text: str


@dataclass(frozen=True)
class Problem:
    """What is wrong with one cell's translation: kind is 'missing', 'stale', 'extra', 'duplicate',
    'empty' or 'order'."""

    name: str
    cell: str
    kind: str
    detail: str = ""

    def __str__(self):
        return f"{self.name} {self.cell}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


# -- files and notebooks -------------------------------------------------------------------------
def names():
    """Everything that is translated: the chapters (solutions/ folders with a notebook), then 'index'."""
    chapters = sorted(p.name for p in SOURCE.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").exists())
    return chapters + (["index"] if (SOURCE / "index.ipynb").exists() else [])


def source_path(name):
    """The English notebook a translation file translates."""
    return SOURCE / "index.ipynb" if name == "index" else SOURCE / name / f"{name}.ipynb"


def translation_path(name, lang="zh-CN"):
    """translations/<lang>/<name>.md"""
    return TRANSLATIONS / lang / f"{name}.md"


def markdown_cells(nb):
    """[(cell id, source)] of the notebook's markdown cells, in order."""
    return [(cell["id"], cell["source"]) for cell in nb.cells if cell["cell_type"] == "markdown"]


def read_source(name):
    return nbformat.read(str(source_path(name)), as_version=4)


# -- parsing -------------------------------------------------------------------------------------
def parse(text, origin="<text>"):
    """The entries of a translation file's text, in file order.

    Raises TranslationError when text precedes the first marker or a marker line is malformed
    (a line that starts like a marker but does not match the fixed format).
    """
    matches = list(MARKER.finditer(text))
    head = text[: matches[0].start()] if matches else text
    if head.strip():
        raise TranslationError(f"{origin}: text before the first `<!-- cell: ... en: ... -->` marker")
    for line_no, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("<!-- cell:") and not MARKER.match(line):
            raise TranslationError(f"{origin}, line {line_no}: malformed marker {line.strip()!r}; expected "
                                   "`<!-- cell: <cell id> en: <12 hex digits> -->`")
    entries = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        entries.append(Entry(match["cell"], match["en"], _strip_blank_lines(text[match.end():end])))
    return entries


def _strip_blank_lines(body):
    lines = body.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def load(name, lang="zh-CN"):
    """The entries of translations/<lang>/<name>.md ([] when the file does not exist)."""
    path = translation_path(name, lang)
    if not path.exists():
        return []
    return parse(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))


def render(entries):
    """The text of a translation file holding ``entries``."""
    return "\n\n".join(f"<!-- cell: {e.cell} en: {e.en} -->\n{e.text}" for e in entries) + "\n"


def skeleton(name):
    """A translation file for ``name`` with the English text of each markdown cell under fresh markers."""
    return render([Entry(cid, fingerprint(src), src) for cid, src in markdown_cells(read_source(name))])


# -- checking ------------------------------------------------------------------------------------
def problems(name, lang="zh-CN", entries=None, nb=None):
    """Every Problem of ``name``'s translation into ``lang`` (empty list: complete and current)."""
    nb = nb if nb is not None else read_source(name)
    entries = entries if entries is not None else load(name, lang)
    english = dict(markdown_cells(nb))
    found, out = {}, []
    for entry in entries:
        if entry.cell in found:
            out.append(Problem(name, entry.cell, "duplicate", "the cell has more than one entry"))
            continue
        found[entry.cell] = entry
        if entry.cell not in english:
            out.append(Problem(name, entry.cell, "extra", "no markdown cell with this id in the English notebook"))
        elif not entry.text.strip():
            out.append(Problem(name, entry.cell, "empty", "the entry has no text"))
    for cid, src in english.items():
        entry = found.get(cid)
        if entry is None:
            out.append(Problem(name, cid, "missing", "no entry translates this markdown cell"))
        elif entry.en != fingerprint(src):
            out.append(Problem(name, cid, "stale", f"translates English {entry.en}, the cell is now {fingerprint(src)}"))
    order = [e.cell for e in entries if e.cell in english]
    if order != [cid for cid in english if cid in found]:
        out.append(Problem(name, "*", "order", "entries are not in the notebook's order"))
    return out


def current_translations(name, lang="zh-CN", nb=None):
    """dict cell id -> translated text, for the entries that are current (not stale, not empty)."""
    nb = nb if nb is not None else read_source(name)
    english = dict(markdown_cells(nb))
    return {e.cell: e.text for e in load(name, lang)
            if e.cell in english and e.en == fingerprint(english[e.cell]) and e.text.strip()}


# -- applying ------------------------------------------------------------------------------------
def mark_language(nb, lang):
    """Record ``lang`` in the notebook's metadata (read by the kernel on Colab and by the grader)."""
    nb.metadata.setdefault(NOTEBOOK_LANG_KEY, {})["lang"] = lang
    return nb


def notebook_language(nb):
    """The language recorded in a notebook's metadata: one of LANGUAGES, else 'en' (also for anything
    malformed: a submission's metadata is not trusted to be well-formed)."""
    metadata = nb.get("metadata") if isinstance(nb, dict) else None
    meta = metadata.get(NOTEBOOK_LANG_KEY) if isinstance(metadata, dict) else None
    lang = meta.get("lang") if isinstance(meta, dict) else None
    return lang if isinstance(lang, str) and lang in LANGUAGES else "en"


def localize(nb, name, lang="zh-CN", strict=False):
    """A copy of notebook ``nb`` (the source or the English release of ``name``) in ``lang``.

    Markdown cells (matched by cell id) get their current translation; code cells and all
    metadata stay as they are, and the notebook is marked with its language. A missing or stale
    translation keeps the English cell with a warning, or raises TranslationError when ``strict``.
    """
    source_nb = read_source(name)
    found = problems(name, lang, nb=source_nb)
    if found:
        kinds = {}
        for p in found:
            kinds.setdefault(p.kind, []).append(p.cell)
        message = f"{translation_path(name, lang).relative_to(ROOT)}: " + "; ".join(
            f"{kind} {', '.join(cells)}" for kind, cells in kinds.items())
        if strict:
            raise TranslationError(message)
        warnings.warn(message + " (English kept there; see `python -m autograder.translations check`)", stacklevel=2)
    texts = current_translations(name, lang, nb=source_nb)
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell["cell_type"] == "markdown" and cell.get("id") in texts:
            cell["source"] = texts[cell["id"]]
    return mark_language(out, lang)


def localized_source(name, lang="zh-CN", strict=True):
    """The source notebook of ``name`` (full solutions, hidden tests) with its markdown in ``lang``."""
    return localize(read_source(name), name, lang, strict=strict)


def release_localized(english_dir, target_dir, lang="zh-CN", only=None, strict=False):
    """Write the ``lang`` release into ``target_dir`` from the English release in ``english_dir``.

    For each chapter (default: all), ``<english_dir>/<chapter>/`` is copied with its notebook's
    markdown translated (:func:`localize`); the index is translated the same way and other loose
    files are copied. Code cells, cell ids and nbgrader metadata stay exactly as nbgrader made them.
    """
    english_dir, target_dir = Path(english_dir), Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    known = names()
    for chapter in only or [n for n in known if n != "index"]:
        src, dst = english_dir / chapter, target_dir / chapter
        if not (src / f"{chapter}.ipynb").exists():
            raise FileNotFoundError(f"no English release of {chapter} in {english_dir}: release it first")
        with tempfile.TemporaryDirectory(dir=target_dir) as tmp:  # the old folder stays until the new one is made
            fresh = Path(tmp) / chapter
            shutil.copytree(src, fresh, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
            _localize_file(fresh / f"{chapter}.ipynb", chapter, lang, strict)
            if dst.exists():
                shutil.rmtree(dst)
            fresh.rename(dst)
    if not only:
        for path in sorted(p for p in english_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
            shutil.copyfile(path, target_dir / path.name)
            if path.suffix == ".ipynb" and path.stem in known:
                _localize_file(target_dir / path.name, path.stem, lang, strict)


def _localize_file(path, name, lang, strict):
    nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    nbformat.write(localize(nb, name, lang, strict=strict), str(path))


# -- the README's learner-facing part ---------------------------------------------------------------
README = ROOT / "README.md"
README_SECTIONS = ("intro", "Two commands")
"""The learner-facing sections of README.md: the text before the first ``## `` heading, then headings."""
SECTION_MARKER = re.compile(r"^<!-- section: (?P<key>[^>]+?) en: (?P<en>[0-9a-f]{12}) -->[ \t]*$", re.MULTILINE)


def readme_sections(text):
    """dict key -> text (stripped) of a README: 'intro' before the first ``## ``, then each heading's title."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    sections = {"intro": parts[0].strip()}
    for title, body in zip(parts[1::2], parts[2::2]):
        sections[title.strip()] = f"## {title.strip()}\n{body}".strip()
    return sections


def readme_translation_path(lang="zh-CN"):
    return ROOT / f"README.{lang}.md"


def readme_problems(lang="zh-CN"):
    """Problems of README.<lang>.md: each learner-facing README section needs a current marker
    ``<!-- section: <key> en: <fingerprint of the English section> -->`` before its translation."""
    path = readme_translation_path(lang)
    if not path.exists():
        return [Problem("README", key, "missing", f"{path.name} does not exist") for key in README_SECTIONS]
    english = readme_sections(README.read_text(encoding="utf-8"))
    found = {m["key"]: m["en"] for m in SECTION_MARKER.finditer(path.read_text(encoding="utf-8"))}
    out = []
    for key in README_SECTIONS:
        if key not in english:
            out.append(Problem("README", key, "extra", "README.md has no such section any more"))
        elif key not in found:
            out.append(Problem("README", key, "missing", "no translated section"))
        elif found[key] != fingerprint(english[key]):
            out.append(Problem("README", key, "stale",
                               f"translates English {found[key]}, the section is now {fingerprint(english[key])}"))
    return out


# -- stale cells and what changed -----------------------------------------------------------------
def english_history(name, limit=200):
    """Yield (commit, {cell id: source}) for past committed versions of the English notebook, newest first."""
    rel = source_path(name).relative_to(ROOT).as_posix()
    try:
        log = subprocess.run(["git", "log", f"-{limit}", "--format=%H", "--", rel], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return
    for commit in log:
        shown = subprocess.run(["git", "show", f"{commit}:{rel}"], cwd=ROOT, capture_output=True, text=True)
        if shown.returncode != 0:
            continue
        try:
            nb = nbformat.reads(shown.stdout, as_version=4)
        except Exception:  # noqa: BLE001 - an old version that does not parse is just skipped
            continue
        yield commit, dict(markdown_cells(nb))


def stale_report(name, lang="zh-CN"):
    """Text listing the stale cells of ``name``: the current English and, when the translated English
    version is found in the git history, a unified diff from it to the current English."""
    english = dict(markdown_cells(read_source(name)))
    stale = [e for e in load(name, lang) if e.cell in english and e.en != fingerprint(english[e.cell])]
    if not stale:
        return f"{name}: no stale cells"
    wanted = {e.cell: e.en for e in stale}
    old = {}
    for commit, cells in english_history(name):
        for cid, fp in wanted.items():
            if cid not in old and cid in cells and fingerprint(cells[cid]) == fp:
                old[cid] = (commit, cells[cid])
        if len(old) == len(wanted):
            break
    parts = [f"{name}: {len(stale)} stale cell(s)"]
    for entry in stale:
        now = english[entry.cell]
        parts.append(f"\n=== {entry.cell}: translated English {entry.en}, now {fingerprint(now)} ===")
        if entry.cell in old:
            commit, before = old[entry.cell]
            diff = difflib.unified_diff(before.splitlines(), now.splitlines(), f"{entry.cell}@{commit[:10]}",
                                        f"{entry.cell}@now", lineterm="")
            parts.append("English diff since the translated version:\n" + "\n".join(diff))
        else:
            parts.append("(the translated English version is not in the git history)")
        parts.append(f"Current English (update the marker to `<!-- cell: {entry.cell} en: {fingerprint(now)} -->`):")
        parts.append(now)
    return "\n".join(parts)


# -- command line --------------------------------------------------------------------------------
def main(argv=None):
    parser = argparse.ArgumentParser(description="Check and maintain translations/<lang>/*.md.")
    parser.add_argument("--lang", default="zh-CN", choices=LANGUAGES)
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="list missing, stale and extra entries")
    p_check.add_argument("names", nargs="*")
    p_skel = sub.add_parser("skeleton", help="entries with the English text under fresh markers")
    p_skel.add_argument("name")
    p_skel.add_argument("--write", action="store_true", help="write translations/<lang>/<name>.md (only if absent)")
    p_stale = sub.add_parser("stale", help="stale cells, their current English and the diff since")
    p_stale.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    known = names()
    for name in args.names if "names" in args else [args.name]:
        if name not in known:
            parser.error(f"unknown name {name!r}; known: {', '.join(known)}")
    if args.command == "skeleton":
        text = skeleton(args.name)
        if not args.write:
            sys.stdout.write(text)
            return 0
        path = translation_path(args.name, args.lang)
        if path.exists():
            print(f"{path.relative_to(ROOT)} exists; not overwritten (print the skeleton without --write)")
            return 1
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
        return 0
    if args.command == "stale":
        print("\n\n".join(stale_report(n, args.lang) for n in args.names or known))
        return 0
    bad = 0
    for name in args.names or known:
        try:
            found = problems(name, args.lang)
        except TranslationError as err:
            print(err)
            bad += 1
            continue
        bad += len(found)
        print(f"{name}: " + ("complete and current" if not found else f"{len(found)} problem(s)"))
        for problem in found:
            print(f"  {problem}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
