"""The student release: in sync with solutions/, free of answers and of the instructor's
package, output-free, and ready for Colab and Binder."""

import ast
import json
import re
from pathlib import Path

import pytest

from autograder import release
from autograder.notebook_cells import STUB, grade_id, is_solution_cell, source as cell_source

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
            if is_solution_cell(cell) and cell["cell_type"] == "code":
                source = cell_source(cell)
                assert STUB in source, f"{chapter}/{grade_id(cell)}: no stub"
                ast.parse(source)


def test_index_links_every_chapter_and_nothing_missing():
    text = "".join(_cells(ROOT / "course" / "index.ipynb")[0]["source"])
    links = re.findall(r"\]\(([0-9]{2}_[a-z_]+/[0-9a-z_]+\.ipynb)\)", text)
    missing = [link for link in links if not (ROOT / "course" / link).exists()]
    assert not missing, f"index links to notebooks that do not exist yet: {missing}"
    for chapter in CHAPTERS:
        assert f"{chapter}/{chapter}.ipynb" in text, f"index does not link {chapter}"


# --------------------------------------------------------------------------- nothing given away

_SKIPPED_IMPORTS = ("tensorflow", "keras", "jax", "torch")


def _graded_parameters():
    """Graded function name -> its parameter names in order, from the solution cells of every chapter."""
    found = {}
    for path in SOURCE_NOTEBOOKS:
        for cell in _cells(path):
            if cell["cell_type"] == "code" and is_solution_cell(cell):
                for node in ast.parse("".join(cell["source"])).body:
                    if isinstance(node, ast.FunctionDef):
                        found.setdefault(node.name, [a.arg for a in node.args.args])
    return found


def _read_only_functions(path):
    """(cell index, name, function) for every top-level function of the notebook's read-only code cells.

    Each is defined in a namespace holding the notebook's imports (the deep-learning frameworks
    left out), its read-only functions and classes, and its literal constants.
    """
    namespace, defined = {"__name__": "read_only"}, []
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        solution = is_solution_cell(cell)
        for node in ast.parse(source).body:
            imported = isinstance(node, (ast.Import, ast.ImportFrom))
            if imported and any(s in ast.get_source_segment(source, node) for s in _SKIPPED_IMPORTS):
                continue
            literal = isinstance(node, ast.Assign) and _is_literal(node.value)
            if not (imported or literal or (not solution and isinstance(node, (ast.FunctionDef, ast.ClassDef)))):
                continue
            try:
                exec(compile(ast.Module([node], []), str(path), "exec"), namespace)  # noqa: S102 - our own notebook
            except Exception:  # noqa: BLE001 - e.g. an import only Colab has
                continue
            if isinstance(node, ast.FunctionDef):
                defined.append((index, node.name, namespace[node.name]))
    return defined


def _is_literal(node):
    try:
        ast.literal_eval(node)
        return True
    except ValueError:
        return False


def _reproduces(fn, cases, parameters):
    """True when fn, called by keyword or in the graded function's parameter order, passes every valued case."""
    import copy
    import inspect
    import signal

    from dlcourse.checks.compare import mismatch

    valued = [c for c in cases if not c.get("raises") and "expected" in c]
    if not valued:
        return False
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return False

    def timeout(*_):
        raise TimeoutError

    for style in ("keywords", "positions"):
        passed = 0
        for case in valued:
            inputs = copy.deepcopy(case["inputs"])
            args, kwargs = ((), inputs) if style == "keywords" else \
                ([inputs[p] for p in parameters if p in inputs], {})
            if style == "positions" and len(args) != len(inputs):
                break
            try:
                signature.bind(*args, **kwargs)
            except TypeError:
                break
            previous = signal.signal(signal.SIGALRM, timeout)
            signal.alarm(2)
            try:
                got = fn(*args, **kwargs)
            except BaseException:  # noqa: BLE001 - any failure means "does not reproduce"
                break
            finally:
                signal.alarm(0)
                signal.signal(signal.SIGALRM, previous)
            if mismatch(got, case["expected"]) is not None:
                break
            passed += 1
        if passed == len(valued):
            return True
    return False


@pytest.mark.parametrize("path", COURSE_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_read_only_function_reproduces_a_graded_function(path):
    """Every function a read-only cell defines, tried in place of every graded function of every
    chapter on its visible cases (by keyword and in the graded signature's order): none may pass."""
    import contextlib
    import io
    import warnings

    from dlcourse.checks import stored_cases

    parameters, cases = _graded_parameters(), stored_cases()
    leaks = []
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for index, name, fn in _read_only_functions(path):
            leaks += [f"cell {index} `{name}` reproduces `{graded}`" for graded in sorted(cases)
                      if _reproduces(fn, cases[graded], parameters.get(graded, []))]
    assert not leaks, f"{path.relative_to(ROOT)}: read-only cells give answers away: {leaks}"


def test_the_answer_detector_catches_a_restated_answer_under_another_name():
    """The detector above finds a graded function restated in a read-only cell under another name."""
    from dlcourse.checks import stored_cases

    namespace = {}
    exec("import numpy as np\ndef loss(A, t, u, c):\n    return float(np.mean((A @ u + c - t) ** 2))", namespace)  # noqa: S102
    parameters = _graded_parameters()
    assert _reproduces(namespace["loss"], stored_cases()["linear_regression_loss"], parameters["linear_regression_loss"])
    assert not _reproduces(namespace["loss"], stored_cases()["mse"], parameters["mse"])
