"""Generate the student release ``course/`` from ``solutions/``: ``python -m autograder.release``.

Each chapter folder ``solutions/<chapter>/`` is an nbgrader assignment; the release is
made by stock ``nbgrader generate_assignment`` (solutions replaced by stubs, hidden
tests removed, outputs cleared, checksums recorded) with a throwaway gradebook, for the whole
course in one run (nbgrader's assignment glob ``*``: one process, one gradebook), so
the committed ``course/`` is reproducible byte for byte. Files in ``solutions/`` that
are not chapter folders (the index notebook) are copied as they are.

The Chinese release ``course_zh/`` is made from that English release and the translations in
``translations/zh-CN/`` (:mod:`autograder.translations`): same code cells, cell ids and nbgrader
metadata, translated markdown. A missing or stale translation keeps the English cell, with a
warning (the tests insist on complete translations).

    python -m autograder.release              # rewrite course/ (all chapters)
    python -m autograder.release 01_losses    # one chapter
    python -m autograder.release --check      # exit 1 if course/ or course_zh/ is out of sync
    python -m autograder.release --zh-only    # rebuild only course_zh/ from the committed course/
"""

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder import translations
from autograder.chapters import chapter_argument, chapter_ids

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions"
RELEASE = ROOT / "course"
LOCALIZED = {"zh-CN": ROOT / "course_zh"}
"""Translated releases: language -> folder (built from the English release)."""


def chapters():
    """Chapter ids in course order, from the registry :mod:`autograder.chapters` (each is a folder
    of solutions/ holding its notebook; a test checks that they agree)."""
    return chapter_ids()


def solution_path(chapter):
    """The source notebook of a chapter: solutions/<chapter>/<chapter>.ipynb."""
    return SOURCE / chapter / f"{chapter}.ipynb"


def loose_files():
    """Files directly in solutions/ (not chapters): copied to the release unchanged."""
    return sorted(p for p in SOURCE.iterdir() if p.is_file() and not p.name.startswith("."))


def _nbgrader_command():
    exe = Path(sys.executable).with_name("nbgrader")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "nbgrader"]


def generate(chapter, release_dir):
    """Run ``nbgrader generate_assignment`` for one chapter, or for every chapter at once with
    ``chapter="*"`` (nbgrader's own assignment glob: one process and one gradebook for the whole
    course), into ``release_dir``."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        cmd = _nbgrader_command() + [
            "generate_assignment", chapter, "--force", "--log-level=WARN",
            f"--CourseDirectory.release_directory={release_dir}",
            f"--CourseDirectory.db_url=sqlite:///{tmp}/release.db",
        ]
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        expected = chapters() if chapter == "*" else [chapter]
        missing = [c for c in expected if not (Path(release_dir) / c).is_dir()]
        if result.returncode != 0 or missing:
            raise RuntimeError(f"nbgrader generate_assignment {chapter} failed (missing: {missing}):\n"
                               f"{result.stdout}\n{result.stderr}")


def build(release_dir, only=None):
    """Write the release of the given chapters (default all) and the loose files into ``release_dir``."""
    release_dir = Path(release_dir)
    release_dir.mkdir(parents=True, exist_ok=True)
    for chapter in only or chapters():
        target = release_dir / chapter
        if target.exists():
            shutil.rmtree(target)
    if only:
        for chapter in only:
            generate(chapter, release_dir)
    else:
        generate("*", release_dir)
        for path in loose_files():
            shutil.copyfile(path, release_dir / path.name)


def build_localized(english_dir, only=None, targets=None):
    """Write every translated release (``targets``: language -> folder, default LOCALIZED)."""
    for lang, folder in (targets or LOCALIZED).items():
        translations.release_localized(english_dir, folder, lang, only)


def differences(expected_dir, actual_dir):
    """Relative paths that differ between two release trees (missing, extra or changed)."""
    out = []

    def walk(cmp, prefix=""):
        out.extend(f"{prefix}{name} (only in the fresh release)" for name in cmp.left_only)
        out.extend(f"{prefix}{name} (not produced from solutions/)" for name in cmp.right_only)
        out.extend(f"{prefix}{name} (content differs)" for name in cmp.diff_files)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(expected_dir, actual_dir, ignore=["__pycache__", ".ipynb_checkpoints"]))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate course/ from solutions/ with nbgrader.")
    parser.add_argument("chapters", nargs="*", type=chapter_argument, help="chapter ids or numbers (default: all)")
    parser.add_argument("--check", action="store_true", help="compare a fresh release with course/; change nothing")
    parser.add_argument("--zh-only", action="store_true", help="rebuild only course_zh/ from the committed course/")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as tmp_localized:
            build(tmp)
            fresh = {lang: Path(tmp_localized) / lang for lang in LOCALIZED}
            build_localized(tmp, targets=fresh)
            problems = differences(tmp, RELEASE) + [
                f"{LOCALIZED[lang].name}/{p}" for lang in LOCALIZED for p in differences(fresh[lang], LOCALIZED[lang])]
        if problems:
            print("course/ or course_zh/ is out of sync with solutions/ and translations/ "
                  "(run: python -m autograder.release):")
            print("\n".join(f"  {p}" for p in problems))
            return 1
        print("course/ and course_zh/ are in sync with solutions/ and translations/.")
        return 0
    if not args.zh_only:
        build(RELEASE, args.chapters or None)
    build_localized(RELEASE, args.chapters or None)
    folders = [] if args.zh_only else [RELEASE]
    print(f"released {', '.join(args.chapters or chapters())} into "
          f"{', '.join(f'{p.relative_to(ROOT)}/' for p in folders + list(LOCALIZED.values()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
