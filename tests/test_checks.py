"""The visible checks and hidden tests: they accept the reference, reject every known
mistake (naming it), and the stored visible cases are in sync with the reference."""

import json
import re

import numpy as np
import pytest

from autograder import build_checks, grade_fingerprint
from autograder.chapters import CHAPTERS, chapter_of, graded_functions, reference_and_mistakes
from autograder.hidden import check_hidden
from dlcourse.checks import CheckFailure, check, property_checks, stored_cases
from dlcourse.checks.failure import names_mistake
from tests.test_grade_fingerprint import SLOW as FINGERPRINT_SLOW

CASE_MODULES = [chapter.module("cases") for chapter in CHAPTERS]
CASE_FUNCTIONS = sorted({name for m in CASE_MODULES for name in getattr(m, "VISIBLE", {})})
HIDDEN_FUNCTIONS = sorted({name for m in CASE_MODULES for name in getattr(m, "HIDDEN", {})}
                          | {name for m in CASE_MODULES for name in getattr(m, "HIDDEN_CUSTOM", {})}
                          | {name for m in CASE_MODULES for name in getattr(m, "BACKWARD_CASES", {})})
KERAS_FUNCTIONS = set(graded_functions(keras=True))
"""Their hidden tests are swept (reference passes, every mistake fails named) by
tests/test_hidden_outside.py's Keras test, through the same ``check_hidden``: not again here."""
NUMPY_HIDDEN_FUNCTIONS = [name for name in HIDDEN_FUNCTIONS if name not in KERAS_FUNCTIONS]
MISTAKES = [(name, mistake) for name in NUMPY_HIDDEN_FUNCTIONS for mistake in reference_and_mistakes(name)[1]]
PARTLY_NAMED = {"adagrad_step", "momentum_step", "nesterov_step", "step_decay", "triangular_cyclic_lr"}
"""Functions whose hidden tests name, for some known mistake, another mistake that gives the same
output on the first failing case (measured 2026-12-03: 6 of the NumPy mistakes, e.g. adagrad's
"accumulator without its square root" read as "the old accumulator in the denominator"); every
other mistake's hidden-test failure must name it."""
RECORDED = json.loads(grade_fingerprint.FINGERPRINT.read_text(encoding="utf-8"))
FINGERPRINTED = {name for name in NUMPY_HIDDEN_FUNCTIONS if name not in FINGERPRINT_SLOW}
"""NumPy functions whose hidden verdicts (reference and every mistake) the default run's
tests/test_grade_fingerprint.py computes with check_hidden and compares with the record."""


def test_stored_visible_cases_are_up_to_date():
    assert build_checks.main(["--check"]) == 0, "run: python -m autograder.build_checks"


@pytest.mark.parametrize("name", CASE_FUNCTIONS + sorted(property_checks()))
def test_reference_passes_visible_checks(name, capsys):
    reference, _ = reference_and_mistakes(name)
    check(reference, name)
    assert "visible checks passed" in capsys.readouterr().out


def _swept_by_the_fingerprint(name):
    """Marks for a direct hidden sweep of ``name``: ``slow`` when the default run's grade fingerprint
    already runs the same ``check_hidden`` calls (see test_recorded_hidden_verdicts_...)."""
    return [pytest.mark.slow] if name in FINGERPRINTED else []


@pytest.mark.parametrize("name", [pytest.param(n, marks=_swept_by_the_fingerprint(n)) for n in NUMPY_HIDDEN_FUNCTIONS])
def test_reference_passes_hidden_tests(name):
    reference, _ = reference_and_mistakes(name)
    check_hidden(reference, name)


@pytest.mark.parametrize("name,mistake", [pytest.param(n, m, marks=_swept_by_the_fingerprint(n)) for n, m in MISTAKES])
def test_hidden_tests_reject_every_known_mistake(name, mistake):
    _, mistakes = reference_and_mistakes(name)
    with pytest.raises(CheckFailure) as failed:
        check_hidden(mistakes[mistake], name)
    if name not in PARTLY_NAMED:
        assert names_mistake(str(failed.value), mistake), str(failed.value)[:2000]


def _recorded_names(verdict, mistake):
    """Whether a recorded verdict ("fail: case ...: matches A or B") names ``mistake`` as names_mistake would."""
    named = verdict.partition("matches ")[2]
    return re.search(rf"(?:^| or ){re.escape(mistake)}(?:$|: | or )", named) is not None


@pytest.mark.parametrize("name", sorted(FINGERPRINTED))
def test_recorded_hidden_verdicts_accept_the_reference_and_name_every_mistake(name):
    """The same claims as the two sweeps above, read from tests/data/grade_fingerprint.json, which
    tests/test_grade_fingerprint.py proves the hidden tests still give (one sweep of check_hidden
    per run; ``-m slow`` runs the direct sweeps too)."""
    recorded = RECORDED[chapter_of(name).id][name]
    assert recorded["reference"]["hidden"] == "pass"
    _, mistakes = reference_and_mistakes(name)
    assert set(recorded) == {"reference", *mistakes}, "re-record: python -m autograder.grade_fingerprint --write"
    for mistake in mistakes:
        verdict = recorded[mistake]["hidden"]
        assert verdict.startswith("fail"), f"{mistake}: {verdict}"
        if name not in PARTLY_NAMED:
            assert _recorded_names(verdict, mistake), f"{mistake}: {verdict}"


def test_the_keras_chapters_hidden_tests_are_swept_elsewhere():
    """The Keras functions left out above are exactly those that tests/test_hidden_outside.py sweeps."""
    from tests import test_hidden_outside as outside

    assert callable(outside.test_keras_reference_passes_and_every_mistake_fails_named_through_scripts)
    assert {name for name in HIDDEN_FUNCTIONS if name in KERAS_FUNCTIONS} <= set(outside.KERAS_GRADED)


@pytest.mark.parametrize("name", CASE_FUNCTIONS)
def test_visible_checks_name_at_least_one_mistake_per_function(name):
    """Every function with stored cases diagnoses some known mistake by name (if it has any)."""
    _, mistakes = reference_and_mistakes(name)
    if not mistakes:
        pytest.skip(f"{name} has no catalogued mistakes")
    named = set()
    for mistake, wrong in mistakes.items():
        try:
            check(wrong, name)
        except CheckFailure as failure:
            if names_mistake(str(failure), mistake):
                named.add(mistake)
    assert named, f"no visible case of {name} recognizes any of {sorted(mistakes)}"


def test_failure_message_names_the_case_expected_got_and_mistake():
    _, mistakes = reference_and_mistakes("mse")
    with pytest.raises(CheckFailure) as info:
        check(mistakes["summing instead of averaging"], "mse")
    message = str(info.value)
    for part in ("mse, case 'a vector of 4 predictions'", "expected:", "got:",
                 "Your output matches summing instead of averaging"):
        assert part in message


def test_an_untouched_stub_is_reported_as_not_implemented():
    def mse(y_true, y_pred):
        raise NotImplementedError()

    with pytest.raises(CheckFailure, match="not implemented yet"):
        check(mse)


def test_modifying_an_input_in_place_is_reported():
    def softmax(z):
        z -= z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    with pytest.raises(CheckFailure, match="modified its input `z` in place"):
        check(softmax)


def test_missing_value_error_is_reported():
    def mse(y_true, y_pred):
        return float(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2))

    with pytest.raises(CheckFailure, match="expected a ValueError"):
        check(mse)


def test_every_graded_function_has_a_reference_and_stored_or_property_checks():
    for name in HIDDEN_FUNCTIONS:
        assert callable(reference_and_mistakes(name)[0])
        assert name in stored_cases() or name in property_checks(), f"{name} ({chapter_of(name).id}) has no visible check"


def test_grading_a_numpy_function_never_imports_tensorflow_in_the_grader():
    import subprocess
    import sys

    code = ("import sys\nfrom autograder.chapters import cases_of\nfrom autograder.hidden import hidden_cases\n"
            "for name in ['mse', 'adam_step', 'l2_penalty', 'dense_backward', 'batchnorm_forward', 'train_mlp']:\n"
            "    cases_of(name); hidden_cases(name)\n"
            "print('tensorflow' in sys.modules or 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "looking up a NumPy chapter's hidden tests imported TensorFlow/Keras"
