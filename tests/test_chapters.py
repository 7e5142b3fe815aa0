"""The registry of chapters (autograder/chapters/__init__.py) agrees with the notebooks and with each
chapter's instructor code, and finding a function's chapter imports no chapter code."""

import argparse
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.chapters import CHAPTERS, chapter, chapter_argument, chapter_ids, chapter_of, graded_functions

ROOT = Path(__file__).resolve().parent.parent
IDS = [c.id for c in CHAPTERS]
WITH_CODE = [pytest.param(c.id, marks=[pytest.mark.keras] if c.keras else []) for c in CHAPTERS]


def _graded_in_notebook(chapter_id):
    """Grade ids of the answer cells that have a test cell ``test_<id>``, in notebook order."""
    nb = nbformat.read(str(ROOT / "solutions" / chapter_id / f"{chapter_id}.ipynb"), as_version=4)
    meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    tests = {m.get("grade_id") for m in meta if m.get("grade")}
    return [m["grade_id"] for m in meta if m.get("solution") and f"test_{m.get('grade_id')}" in tests]


def test_every_source_notebook_folder_is_a_registered_chapter():
    folders = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").exists())
    assert folders == sorted(IDS)
    assert IDS == sorted(IDS), "the registry lists the chapters in course order"


@pytest.mark.parametrize("chapter_id", IDS)
def test_registry_functions_are_the_notebooks_graded_cells_in_order(chapter_id):
    assert list(chapter(chapter_id).functions) == _graded_in_notebook(chapter_id)


@pytest.mark.parametrize("chapter_id", WITH_CODE)
def test_each_graded_function_has_a_reference_and_hidden_tests_in_its_folder(chapter_id):
    found = chapter(chapter_id)
    cases, reference = found.module("cases"), found.module("reference")
    assert cases.CHAPTER == chapter_id
    hidden = set(getattr(cases, "HIDDEN", {})) | set(getattr(cases, "HIDDEN_CUSTOM", {})) \
        | set(getattr(cases, "BACKWARD_CASES", {}))
    checked = hidden | set(getattr(cases, "VISIBLE", {}))
    assert checked <= set(found.functions), f"cases of functions the chapter does not grade: {checked - set(found.functions)}"
    for name in found.functions:
        assert name in hidden, f"{name} has no hidden tests in {found.package}.cases"
        assert callable(getattr(reference, name, None)), f"{name} has no reference in {found.package}.reference"
    assert set(found.module("mistakes").MISTAKES) <= set(found.functions)


def test_lookups():
    assert chapter_of("adam_step").id == "03_optimizers"
    assert "09_keras_training" in chapter_ids(keras=True) and "01_losses" in chapter_ids(keras=False)
    assert chapter_ids() == [*chapter_ids(keras=False), *chapter_ids(keras=True)], "the Keras chapters come last"
    assert len(set(graded_functions())) == len(graded_functions()), "a function name is graded by two chapters"
    with pytest.raises(KeyError, match="no graded function named 'nope'"):
        chapter_of("nope")
    with pytest.raises(KeyError, match="no chapter '99_x'"):
        chapter("99_x")


def test_a_command_line_takes_a_chapter_by_id_or_number():
    assert chapter_argument("08_numpy_mlp_capstone") == "08_numpy_mlp_capstone"
    assert chapter_argument("8") == chapter_argument("08") == "08_numpy_mlp_capstone"
    assert chapter_argument("10") == "10_gpu_keras_lab"
    for wrong in ("99", "0", "", "mlp", "08_numpy", "1.0"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"no chapter '{wrong}'.*01_losses, 02_gradient_descent"):
            chapter_argument(wrong)


def test_grading_a_class_of_an_unknown_chapter_is_a_usage_error_naming_the_chapters(capsys):
    from autograder import grade_class

    with pytest.raises(SystemExit) as exited:
        grade_class.main(["11"])
    assert exited.value.code == 2
    assert "no chapter '11'; give its id or number, one of: 01_losses" in capsys.readouterr().err


def test_looking_up_a_chapter_imports_no_chapter_code():
    code = ("import sys\nfrom autograder.chapters import chapter_of\nchapter_of('measure_throughput')\n"
            "print(sorted(m for m in sys.modules if m.startswith('autograder.chapters.') and m.count('.') > 2))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


# The grading path, in pipeline order: a module may import those before it, never one after it.
PIPELINE = ["autograder.checking", "autograder.chapters", "autograder.protocol", "autograder.chapters.ch*",
            "autograder.hidden_backward", "autograder.hidden", "autograder.trusted_execute", "autograder.grade_class"]


def _stage(module):
    """Index in PIPELINE of the stage ``module`` (a dotted name) belongs to, or None."""
    if module.startswith("autograder.chapters.ch"):
        return PIPELINE.index("autograder.chapters.ch*")
    for i, stage in reversed(list(enumerate(PIPELINE))):
        if module == stage or module.startswith(stage + "."):
            return i
    return None


def _imports(path):
    """Every module a file imports, at its top or inside a function (absolute imports only)."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.update([node.module] + [f"{node.module}.{alias.name}" for alias in node.names])
    return found


def test_the_grading_path_imports_only_earlier_stages_and_never_the_tests():
    problems = []
    for path in sorted((ROOT / "autograder").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        imported = _imports(path)
        problems += [f"{module} imports the test helper {m}" for m in imported if m.split(".")[0] == "tests"]
        own = _stage(module)
        if own is None:
            continue
        problems += [f"{module} (stage {PIPELINE[own]}) imports {m}, a later stage" for m in imported
                     if _stage(m) is not None and _stage(m) > own]
    assert not problems, "\n".join(sorted(set(problems)))
