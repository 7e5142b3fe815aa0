"""The student release: in sync with solutions/, free of answers and of the instructor's
package, output-free, and ready for Colab and Binder."""

import ast
import json
import re
from pathlib import Path

import pytest

from autograder import release

ROOT = Path(__file__).resolve().parent.parent
COURSE_NOTEBOOKS = sorted((ROOT / "course").rglob("*.ipynb"))
SOURCE_NOTEBOOKS = sorted((ROOT / "solutions").rglob("*.ipynb"))
CHAPTERS = release.chapters()


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _code(path):
    return ["".join(c["source"]) for c in _cells(path) if c["cell_type"] == "code"]


def test_there_is_a_chapter_and_an_index():
    assert "01_losses" in CHAPTERS
    assert (ROOT / "course" / "index.ipynb").exists()


@pytest.mark.nbgrader
def test_course_is_in_sync_with_solutions(capsys):
    assert release.main(["--check"]) == 0, capsys.readouterr().out


def test_every_chapter_is_released():
    for chapter in CHAPTERS:
        assert (ROOT / "course" / chapter / f"{chapter}.ipynb").exists(), f"course/{chapter} missing: run the release"


@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_release_never_imports_the_instructor_package(path):
    for source in _code(path):
        assert "autograder" not in source, f"{path.name} mentions the instructor-only package"
        assert "BEGIN SOLUTION" not in source and "BEGIN HIDDEN TESTS" not in source


def test_student_package_never_imports_the_instructor_package_or_tensorflow():
    for module in (ROOT / "dlcourse").rglob("*.py"):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert not name.startswith("autograder"), f"{module} imports {name}"


@pytest.mark.parametrize("path", COURSE_NOTEBOOKS + SOURCE_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_are_committed_without_outputs(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, f"{path}: strip outputs"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_opens_in_colab_and_sets_itself_up(chapter):
    path = ROOT / "course" / chapter / f"{chapter}.ipynb"
    cells = _cells(path)
    first_markdown = "".join(next(c for c in cells if c["cell_type"] == "markdown")["source"])
    badge = f"colab.research.google.com/github/{_repository_path()}/blob/main/course/{chapter}/{chapter}.ipynb"
    assert badge in first_markdown, f"{chapter}: Open-in-Colab badge missing or pointing elsewhere"
    setup = _code(path)[0]
    assert '"google.colab" in sys.modules' in setup and "pip" in setup, f"{chapter}: first cell must install on Colab"


def _repository_path():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'Repository = "https://github.com/([^"]+)"', text).group(1)


def test_student_stubs_keep_the_signature_and_raise_not_implemented():
    for chapter in CHAPTERS:
        path = ROOT / "course" / chapter / f"{chapter}.ipynb"
        for cell in _cells(path):
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution") and cell["cell_type"] == "code":
                source = "".join(cell["source"])
                assert "raise NotImplementedError()" in source, f"{chapter}/{meta['grade_id']}: no stub"
                ast.parse(source)


def test_index_links_every_chapter_and_nothing_missing():
    text = "".join(_cells(ROOT / "course" / "index.ipynb")[0]["source"])
    links = re.findall(r"\]\(([0-9]{2}_[a-z_]+/[0-9a-z_]+\.ipynb)\)", text)
    missing = [link for link in links if not (ROOT / "course" / link).exists()]
    assert not missing, f"index links to notebooks that do not exist yet: {missing}"
    for chapter in CHAPTERS:
        assert f"{chapter}/{chapter}.ipynb" in text, f"index does not link {chapter}"
