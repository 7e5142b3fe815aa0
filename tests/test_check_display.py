"""A failed check shows the diagnosis first and the learner's own frames, never the checking code."""

import re

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from dlcourse.checks import CheckFailure, check
from dlcourse.checks.failure import WHERE_YOUR_CODE_RAISED, is_learner_file, learner_traceback

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def summed_mse(y_true, y_pred):
    return float(np.sum((np.asarray(y_pred) - np.asarray(y_true)) ** 2))


def indexing_mse(y_true, y_pred):
    return y_true[99]


def _failure(fn):
    with pytest.raises(CheckFailure) as info:
        check(fn, "mse")
    return info.value


def _shown(failure):
    return ANSI.sub("", "\n".join(failure._render_traceback_()))


def test_wrong_formula_shows_only_the_diagnosis():
    shown = _shown(_failure(summed_mse))
    assert shown.splitlines()[0].startswith("CheckFailure: mse, case")
    assert "Your output matches summing instead of averaging." in shown
    assert "expected:" in shown and "got:" in shown
    assert "dlcourse" not in shown and WHERE_YOUR_CODE_RAISED not in shown


def test_learner_error_shows_their_frame_and_no_checking_code():
    failure = _failure(indexing_mse)
    shown = _shown(failure)
    assert shown.splitlines()[0].startswith("CheckFailure: mse, case") and "raised IndexError" in shown
    assert WHERE_YOUR_CODE_RAISED in shown
    assert "return y_true[99]" in shown  # the learner's line
    assert "dlcourse" not in shown and "runner.py" not in shown
    assert str(failure).startswith("mse, case")  # what the grader reads is unchanged


def test_unfinished_stub_shows_no_frames():
    def stub(y_true, y_pred):
        raise NotImplementedError()

    shown = _shown(_failure(stub))
    assert "not implemented yet" in shown and WHERE_YOUR_CODE_RAISED not in shown


def test_only_learner_files_survive_the_filter():
    import dlcourse.checks.runner as runner

    assert not is_learner_file(runner.__file__) and not is_learner_file(np.__file__)
    assert not is_learner_file(re.__file__) and not is_learner_file("<frozen importlib._bootstrap>")
    assert is_learner_file("/tmp/ipykernel_123/4567.py") and is_learner_file(__file__)
    try:
        np.zeros(2).reshape(3)
    except ValueError as err:
        tb = learner_traceback(err.__traceback__)
    names = []
    while tb is not None:
        names.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert names == [__file__]  # NumPy's own frame is gone


@pytest.mark.nbgrader  # starts a kernel (a few seconds)
def test_a_notebook_cell_shows_the_short_display():
    """The real kernel path: IPython calls _render_traceback_ and the cell's error output is short."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import numpy as np\nfrom dlcourse.checks import check\n"
        "def mse(y_true, y_pred):\n    return y_true[99]\ncheck(mse)")])
    NotebookClient(nb, allow_errors=True, timeout=60, kernel_name="python3").execute()
    (error,) = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    shown = ANSI.sub("", "\n".join(error.traceback))
    assert error.ename == "CheckFailure"
    assert shown.startswith("CheckFailure: mse, case")
    assert re.search(r"Cell In\[\d+\], line 4", shown) and "return y_true[99]" in shown
    assert "dlcourse" not in shown
    assert len(shown.splitlines()) < 15
