"""autograder.metadata_check: nbgrader's cell-metadata check, with the schema checked once per process."""

import copy

import jsonschema
import nbformat
import pytest
from nbgrader.nbgraderformat import ValidationError
from nbgrader.preprocessors import CheckCellMetadata as StockCheckCellMetadata

from autograder.execute import ROOT
from autograder.metadata_check import CheckCellMetadata

RELEASE = ROOT / "course" / "02_gradient_descent" / "02_gradient_descent.ipynb"


def _graded_cell(nb):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade"))


def _broken(edit):
    nb = nbformat.read(RELEASE, as_version=4)
    edit(_graded_cell(nb).metadata["nbgrader"])
    return nb


BREAKAGES = {
    "negative points": lambda meta: meta.update(points=-1),
    "points as text": lambda meta: meta.update(points="two"),
    "grade_id with a space": lambda meta: meta.update(grade_id="a b"),
    "grade not a boolean": lambda meta: meta.update(grade="yes"),
}


def _error_of(preprocessor, nb, caplog):
    caplog.clear()
    with pytest.raises(ValidationError):
        preprocessor.preprocess(copy.deepcopy(nb), {})
    return [r.getMessage() for r in caplog.records]


def test_a_release_notebook_passes_and_jsonschema_is_left_as_it_was():
    CheckCellMetadata().preprocess(nbformat.read(RELEASE, as_version=4), {})
    assert jsonschema.validate.__module__ == "jsonschema.validators"


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_broken_metadata_fails_with_the_same_error_as_nbgraders_own_check(breakage, caplog):
    nb = _broken(BREAKAGES[breakage])
    ours = _error_of(CheckCellMetadata(), nb, caplog)
    stock = _error_of(StockCheckCellMetadata(), nb, caplog)
    assert ours and ours[-1] == stock[-1] == "Notebook failed to validate; the nbgrader metadata may be corrupted."
    # the logged traceback ends with jsonschema's message: the same one
    assert ours[0].strip().splitlines()[-1] == stock[0].strip().splitlines()[-1]
    assert jsonschema.validate.__module__ == "jsonschema.validators"
