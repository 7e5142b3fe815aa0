"""What a hidden test computes once per process (the reference's and the mistakes' results on the
hidden cases and on a custom check's fixed inputs, the first round's script of calls) cannot be
changed by a submission: the next submission is judged against exactly what a fresh process would
judge it against."""

import pickle

import numpy as np
import pytest

from autograder import checking, hidden
from autograder.chapters import reference_and_mistakes
from autograder.hidden import check_hidden
from autograder.protocol import session
from dlcourse.checks import CheckFailure


def _verdict(fn, name):
    try:
        check_hidden(fn, name)
    except CheckFailure as failure:
        return str(failure)
    return "passed"


def _fresh_verdict(fn, name):
    checking._COMPUTED.clear()
    session._PLANS.clear()
    return _verdict(fn, name)


def _kept(name):
    """Everything kept for ``name`` in this process, as bytes."""
    return pickle.dumps(([v for k, v in checking._COMPUTED.items() if k[1] == name],
                         [v for k, v in session._PLANS.items() if k[1] == name]))


def _vandal_mse(y_true, y_pred):
    """Overwrites both inputs and returns one of them (aliased)."""
    y_true[...] = 0.0
    y_pred *= -3.0
    return y_pred


def _vandal_sample_log_uniform(low, high, rng, size=None):
    """Draws more than asked from the generator and returns an array it keeps writing into."""
    rng.random(1000)
    out = np.full(size if size is not None else (), low)
    _vandal_sample_log_uniform.kept.append(out)
    for earlier in _vandal_sample_log_uniform.kept:
        earlier[...] = -1.0
    return out if size is not None else float(out)


_vandal_sample_log_uniform.kept = []


@pytest.mark.parametrize("name,vandal", [("mse", _vandal_mse), ("sample_log_uniform", _vandal_sample_log_uniform)])
def test_a_submission_that_mutates_its_inputs_does_not_change_what_the_next_is_judged_against(name, vandal):
    reference, mistakes = reference_and_mistakes(name)
    mistake = sorted(mistakes)[0]
    fresh = {"reference": _fresh_verdict(reference, name), "mistake": _fresh_verdict(mistakes[mistake], name)}
    assert fresh["reference"] == "passed" and fresh["mistake"] != "passed"
    assert any(k[1] == name for k in session._PLANS), "the first round's script was not kept"
    assert any(k[1] == name for k in checking._COMPUTED), "the reference's results were not kept"
    kept = _kept(name)

    assert _verdict(vandal, name) != "passed"
    assert _kept(name) == kept, "a submission changed what this process keeps for the next one"
    assert _verdict(mistakes[mistake], name) == fresh["mistake"]
    assert _verdict(reference, name) == "passed"


def test_the_kept_results_of_the_reference_are_read_through_copies():
    """A check that changed the cases or expected values it was given would not change the next one's."""
    first = hidden._expected_cases("mse")
    kept = pickle.dumps(hidden._expected_cases("mse"))
    for case, result in first:
        for value in case.inputs.values():
            if isinstance(value, np.ndarray):
                value[...] = np.nan
        if isinstance(result.get("expected"), np.ndarray):
            result["expected"][...] = np.nan
        result.get("mistakes", {}).clear()
    assert pickle.dumps(hidden._expected_cases("mse")) == kept


def test_a_custom_checks_expectations_are_computed_for_the_first_submission_only(monkeypatch):
    """Chapter 08's step-by-step training check trains the reference, the accepted variants and every
    catalogued mistake on each tiny problem: once per process, not once per submission."""
    from autograder.chapters.ch08_numpy_mlp_capstone import cases as C, mistakes as M, reference as R

    trained = []
    original = C.trained_expectations
    monkeypatch.setattr(C, "trained_expectations", lambda *args: trained.append(args) or original(*args))
    checking._COMPUTED.clear()
    mistake = M.MISTAKES["train_mlp"]["Adam's moments m, v reset to zero every epoch"]
    verdicts = []
    for _ in range(2):
        C.train_mlp_step_by_step(R.train_mlp)
        with pytest.raises(CheckFailure) as failure:
            C.train_mlp_step_by_step(mistake)
        verdicts.append(str(failure.value))
    assert len(trained) == len(C.STEP_CONFIGS)
    assert verdicts[0] == verdicts[1] and "Adam's moments m, v reset to zero every epoch" in verdicts[0]


def test_once_per_process_computes_each_argument_once_and_hands_out_copies():
    calls = []

    @checking.once_per_process
    def expectation(index):
        calls.append(index)
        return {"logits": np.full(3, float(index))}

    first = expectation(1)
    first["logits"][...] = np.nan
    assert np.array_equal(expectation(1)["logits"], [1.0, 1.0, 1.0])
    assert expectation(2)["logits"][0] == 2.0
    assert calls == [1, 2]
