"""The grades do not change unnoticed: every graded function's verdicts (visible checks, hidden test,
each hidden case) for the reference and each catalogued mistake equal the recorded fingerprint,
tests/data/grade_fingerprint.json.

A deliberate change of a case, a check or a mistake is recorded with
``python -m autograder.grade_fingerprint --write`` (``--keras`` for chapters 09-10) and reviewed in the diff.
"""

import json

import pytest

from autograder import grade_fingerprint as fp

RECORDED = json.loads(fp.FINGERPRINT.read_text(encoding="utf-8"))
HOW = "run python -m autograder.grade_fingerprint --write and review the diff"
SLOW = {"train_mlp"}  # trains on the digits once per catalogued mistake: minutes


def _params(keras):
    return [pytest.param(chapter, name, id=name, marks=[pytest.mark.slow] if name in SLOW or keras else [])
            for chapter, names in fp.graded(keras).items() for name in names]


def _assert_unchanged(chapter, name):
    if name not in RECORDED.get(chapter, {}):
        pytest.fail(f"{chapter}/{name} has no recorded fingerprint ({HOW})")
    lines = fp.differences(RECORDED, {chapter: {name: fp.function_fingerprint(name)}}, partial=True)
    assert not lines, f"{len(lines)} grade(s) of {name} changed ({HOW}):\n" + "\n".join(lines[:60])


@pytest.mark.parametrize("chapter,name", _params(keras=False))
def test_numpy_grades_are_unchanged(chapter, name):
    _assert_unchanged(chapter, name)


@pytest.mark.keras
@pytest.mark.parametrize("chapter,name", _params(keras=True))
def test_keras_grades_are_unchanged(chapter, name):
    pytest.importorskip("keras")
    if chapter not in RECORDED:
        pytest.skip(f"{chapter} is not recorded yet (python -m autograder.grade_fingerprint {chapter} --keras --write)")
    _assert_unchanged(chapter, name)


def test_no_recorded_function_is_gone():
    graded = {**fp.graded(False), **fp.graded(True)}
    gone = sorted(f"{c}/{n}" for c, names in RECORDED.items() for n in names if n not in graded.get(c, ()))
    assert not gone, f"recorded but no longer graded: {gone} ({HOW})"


def test_a_changed_verdict_is_reported_readably():
    old = {"01_losses": {"mse": {"reference": {"visible": "pass", "hidden": "pass"}}, "huber": {}}}
    new = {"01_losses": {"mse": {"reference": {"visible": "fail: case a: no named mistake", "hidden": "pass"}},
                         "softmax": {}}}
    lines = fp.differences(old, new)
    assert "changed: 01_losses/mse/reference/visible: 'pass' -> 'fail: case a: no named mistake'" in lines
    assert "new, not recorded: 01_losses/softmax" in lines
    assert "recorded, now gone: 01_losses/huber" in lines
    assert fp.differences(old, {"01_losses": {"huber": {}}}, partial=True) == []
