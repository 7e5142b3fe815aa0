"""dlcourse.earlier: a learner's own earlier functions, read from their own chapter notebooks.

The solution notebooks stand in for a learner who finished chapters 01-07; the release
notebooks for one who did not start them."""

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from dlcourse import earlier
from dlcourse.data import load_digits
from dlcourse.progress import ProgressBar

ROOT = Path(__file__).resolve().parent.parent
FINISHED = ROOT / "solutions"           # every exercise done
UNSTARTED = ROOT / "course"             # every exercise a stub
CAPSTONE = "08_numpy_mlp_capstone"


def _cells(folder, chapter):
    return json.loads((folder / chapter / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]


def _cell(folder, chapter, grade_id):
    return "".join(next(c["source"] for c in _cells(folder, chapter)
                        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id))


def test_every_graded_function_of_chapters_01_to_07_has_its_home():
    for chapter in sorted({*earlier.HOME.values()}):
        asked = {c["metadata"]["nbgrader"]["grade_id"] for c in _cells(FINISHED, chapter)
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
        homed = {name for name, home in earlier.HOME.items() if home == chapter}
        assert asked <= homed, f"{chapter}: {asked - homed} missing from HOME"


def test_the_capstone_toolbox_comes_from_the_learners_notebooks_and_stands_alone():
    code = earlier.toolbox_source(earlier.CAPSTONE_TOOLBOX, folder=FINISHED)
    namespace = {}
    exec(compile(code, "<toolbox>", "exec"), namespace)  # noqa: S102 - the course's own solutions
    assert all(callable(namespace[name]) for name in earlier.CAPSTONE_TOOLBOX)
    tree = ast.parse(code)
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "dlcourse.earlier" not in imported and "open(" not in code, "the toolbox must not read other notebooks"
    # the learner's own helpers came along (the validation their exercise cells call)
    assert "def step_inputs(" in code and "from dlcourse.validate import" in code


def test_chapter_08_trains_the_same_network_on_the_learners_own_toolbox():
    """The capstone's model and training loop on the brought-in functions (with their input checks)
    train exactly the network they train on the notebook's compact solution toolbox."""
    def capstone(toolbox_code):
        namespace = {"np": np, "ProgressBar": ProgressBar}
        exec(toolbox_code, namespace)  # noqa: S102
        for grade_id in ("toolbox_model", "toolbox_config", "train_mlp"):
            exec(_cell(FINISHED, CAPSTONE, grade_id), namespace)  # noqa: S102
        return namespace["train_mlp"]

    d = load_digits()
    config = {"batchnorm": True, "dropout": 0.2, "hidden": (32, 16), "epochs": 3, "lr": 1e-2}
    runs = [capstone(code)(d["X_train"], d["y_train"], d["X_val"], d["y_val"], config, np.random.default_rng(0))[1]
            for code in (earlier.toolbox_source(earlier.CAPSTONE_TOOLBOX, folder=FINISHED),
                         _cell(FINISHED, CAPSTONE, "toolbox"))]
    for key in ("train_loss", "val_loss", "val_acc", "lr"):
        np.testing.assert_allclose(runs[0][key], runs[1][key], rtol=1e-9, err_msg=key)


def test_an_unfinished_exercise_names_the_chapter_to_finish():
    with pytest.raises(LookupError, match=r"`adam_step` is not done yet: finish it in chapter 03 \(03_optimizers"):
        earlier.own_functions("adam_step", folder=UNSTARTED)


def test_a_missing_notebook_names_the_chapter(tmp_path):
    with pytest.raises(LookupError, match=r"chapter 07 notebook was not found.*07_batchnorm_dropout"):
        earlier.toolbox_source(["dropout_backward"], folder=tmp_path)


def test_a_cell_without_the_function_or_with_a_syntax_error_is_reported(tmp_path):
    chapter = "06_backprop_initialization"
    shutil.copytree(FINISHED / chapter, tmp_path / chapter)
    path = tmp_path / chapter / f"{chapter}.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id == "relu":
            cell["source"] = "def relu(z:\n    return z"
        if grade_id == "relu_grad":
            cell["source"] = "def something_else(z):\n    return z"
    path.write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(LookupError, match="`relu` in chapter 06 .* has a syntax error"):
        earlier.own_functions("relu", folder=tmp_path)
    with pytest.raises(LookupError, match="does not define `relu_grad`"):
        earlier.own_functions("relu_grad", folder=tmp_path)
    assert earlier.own_functions("dense_backward", folder=tmp_path)[0].__name__ == "dense_backward"


def test_a_name_outside_chapters_01_to_07_is_refused():
    with pytest.raises(LookupError, match="not a graded function of chapters 01-07"):
        earlier.toolbox_source(["train_mlp"], folder=FINISHED)


def test_bring_in_replaces_the_calling_cell_and_defines_nothing(monkeypatch, capsys):
    calls = []

    class Shell:
        def set_next_input(self, text, replace=False):
            calls.append((text, replace))

    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    code = earlier.bring_in(("relu", "relu_grad"), folder=FINISHED)
    assert calls == [(code, True)]
    assert "def relu(" in code and "def relu_grad(" in code and "import numpy as np" in code
    assert "Run it again" in capsys.readouterr().out


def test_the_released_capstone_asks_for_the_learners_toolbox():
    cell = next(c for c in _cells(UNSTARTED, CAPSTONE) if c["metadata"]["nbgrader"].get("grade_id") == "toolbox")
    meta, source = cell["metadata"]["nbgrader"], "".join(cell["source"])
    assert meta["solution"] and not meta["grade"] and not meta["locked"]
    assert "from dlcourse.earlier import bring_in" in source and "raise NotImplementedError()" in source
    assert "def " not in source, "the released toolbox cell must not restate any function"
    for name in earlier.CAPSTONE_TOOLBOX:
        assert name in source, f"the toolbox cell does not list {name}"


def test_a_function_of_another_chapter_that_the_learner_calls_comes_along(tmp_path):
    for chapter in ("01_losses", "07_batchnorm_dropout"):
        shutil.copytree(FINISHED / chapter, tmp_path / chapter)
    path = tmp_path / "07_batchnorm_dropout" / "07_batchnorm_dropout.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "dropout_backward")
    cell["source"] = "def dropout_backward(dout, mask):\n    return mse(dout, dout) + dout * mask\n"
    path.write_text(json.dumps(nb), encoding="utf-8")
    dropout_backward, = earlier.own_functions("dropout_backward", folder=tmp_path)
    assert dropout_backward(np.ones(2), np.array([0.0, 2.0])).tolist() == [0.0, 2.0]
