"""autograder.authoring: a graded function's answer and test cells, as nbgrader reads them."""

import json
import shutil

import nbformat
import pytest
from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

from autograder import authoring
from autograder.notebook_cells import grade_id, graded_points, hidden_tests, is_solution_cell, is_test_cell, \
    solution_ids
from autograder.release import solution_path

CHAPTER = "01_losses"


@pytest.fixture
def notebook(tmp_path):
    path = tmp_path / f"{CHAPTER}.ipynb"
    shutil.copy(solution_path(CHAPTER), path)
    return path


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_cells_land_after_the_named_cell_with_nbgrader_metadata_and_nothing_else_changes(notebook):
    before = _cells(notebook)
    at = authoring.add_graded_function(notebook, "log_cosh", args="y_true, y_pred", points=2, after="test_mse")
    after = _cells(notebook)
    assert [grade_id(c) for c in before].index("test_mse") + 1 == at
    assert after[:at] + after[at + 2:] == before
    answer, test = after[at], after[at + 1]
    assert (grade_id(answer), grade_id(test)) == ("log_cosh", "test_log_cosh")
    assert is_solution_cell(answer) and not is_test_cell(answer)
    assert is_test_cell(test) and test["metadata"]["nbgrader"]["locked"]
    assert graded_points({"cells": after})["test_log_cosh"] == 2
    assert "log_cosh" in solution_ids({"cells": after})
    assert "check(log_cosh)" in "".join(test["source"])
    assert "check_hidden(log_cosh)" in hidden_tests("".join(test["source"]))
    assert len({c["id"] for c in after}) == len(after)


def test_nbgrader_makes_the_stub_and_drops_the_hidden_tests(notebook):
    at = authoring.add_graded_function(notebook, "log_cosh", args="y_true, y_pred")
    nb = nbformat.read(str(notebook), as_version=4)
    nb, _ = ClearSolutions().preprocess(nb, {"language": "python"})
    nb, _ = ClearHiddenTests().preprocess(nb, {"language": "python"})
    assert at == len(nb.cells) - 2
    released = nb.cells[at].source
    assert released.startswith("def log_cosh(y_true, y_pred):")
    assert authoring.PLACEHOLDER not in released and "NotImplementedError" in released
    assert nb.cells[at + 1].source == "check(log_cosh)"


@pytest.mark.parametrize("name, kwargs, message", [
    ("mse", {}, "already has"),
    ("log_cosh", {"after": "no_such_cell"}, "no cell with grade id"),
    ("log cosh", {}, "not a Python function name"),
    ("log_cosh", {"points": 0}, "positive"),
])
def test_bad_requests_are_refused_and_the_notebook_is_untouched(notebook, name, kwargs, message):
    before = notebook.read_bytes()
    with pytest.raises(ValueError, match=message):
        authoring.add_graded_function(notebook, name, **kwargs)
    assert notebook.read_bytes() == before


def test_command_line_adds_the_cells_and_prints_the_next_steps(notebook, monkeypatch, capsys):
    monkeypatch.setattr(authoring, "solution_path", lambda chapter: notebook)
    assert authoring.main([CHAPTER, "log_cosh", "--points", "3", "--after", "test_mse"]) == 0
    assert graded_points({"cells": _cells(notebook)})["test_log_cosh"] == 3
    out = capsys.readouterr().out
    assert "python -m autograder.release 01_losses" in out and "build_checks" in out
    assert "autograder/chapters/ch01_losses/" in out and "FUNCTIONS" in out


def test_command_line_refuses_a_chapter_the_registry_does_not_know(capsys):
    with pytest.raises(SystemExit):
        authoring.main(["99_nothing", "log_cosh"])
    assert "no chapter '99_nothing'" in capsys.readouterr().err
