"""Chapter 07 (batch norm, layer norm, dropout): what the notebook and its checks claim.

- the stored numbers of the property checks agree with the reference and its mistakes, and
  the visible backward cases can be replayed through a learner's forward pass;
- a backward pass is graded with the cache of the learner's own forward pass (any layout),
  and with the suggested layout a wrong forward pass costs the backward pass nothing;
- the checks accept other correct implementations (another use of the generator, a tuple
  cache) and reject dropout that does not drop units independently;
- the figures' claims hold when the notebook's demo cells run on the reference functions.
"""

import copy
import os
import re

import numpy as np
import pytest

from autograder.chapters.ch07_batchnorm_dropout import reference as ref
from autograder.chapters.ch07_batchnorm_dropout.mistakes import MISTAKES
from autograder.hidden import check_hidden
from autograder.hidden_backward import check_hidden_backward
from dlcourse import validate
from dlcourse.checks import CheckFailure, check, stored_cases
from dlcourse.checks.backward import check_backward, forward_inputs_readers
from dlcourse.checks.compare import agree
from dlcourse.checks.properties import batchnorm_dropout as props
from tests.graded_courses import group
from tests.submissions import load_solution, solution_path

CHAPTER = "07_batchnorm_dropout"


# --------------------------------------------------------------------------- stored numbers

@pytest.mark.parametrize("name,observe,inputs_list,stored_list", [
    ("batchnorm_forward", props.bn_observed, props.BATCHNORM_FORWARD_INPUTS, props.stored_expectations("batchnorm_forward")),
    ("layernorm_forward", props.ln_observed, props.LAYERNORM_FORWARD_INPUTS, props.stored_expectations("layernorm_forward")),
])
def test_stored_forward_numbers_match_the_reference_and_its_mistakes(name, observe, inputs_list, stored_list):
    assert len(inputs_list) == len(stored_list)
    for (case_name, inputs), stored in zip(inputs_list, stored_list):
        assert agree(observe(getattr(ref, name))(**copy.deepcopy(inputs)), stored["expected"], rtol=1e-10), case_name
        for desc, wrong in MISTAKES[name].items():
            out = observe(wrong)(**copy.deepcopy(inputs))
            if desc in stored["mistakes"]:
                assert agree(out, stored["mistakes"][desc], rtol=1e-10), (case_name, desc)
            else:
                assert agree(out, stored["expected"]), (case_name, desc)


@pytest.mark.parametrize("name", ["batchnorm_forward", "layernorm_forward"])
def test_visible_forward_checks_name_every_mistake(name):
    for desc, wrong in MISTAKES[name].items():
        with pytest.raises(CheckFailure, match=re.escape(f"Your output matches {desc}")):
            check(wrong, name)


@pytest.mark.parametrize("name", ["dropout_forward", "dropout_backward"])
def test_visible_dropout_checks_name_every_mistake(name):
    for desc, wrong in MISTAKES[name].items():
        with pytest.raises(CheckFailure, match=re.escape(f"Your output matches {desc}")):
            check(wrong, name)


@pytest.mark.parametrize("name,forward", [("batchnorm_backward", ref.batchnorm_forward),
                                          ("layernorm_backward", ref.layernorm_forward)])
def test_visible_backward_cases_can_be_replayed_from_their_caches(name, forward):
    reader = forward_inputs_readers()[name]
    for case in stored_cases()[name]:
        cache = case["inputs"]["cache"]
        replayed = forward(**reader(cache))[1]
        assert replayed.keys() == cache.keys()
        for key, value in cache.items():
            if isinstance(value, (str, tuple)):
                assert replayed[key] == value, (case["name"], key)
            else:
                assert agree(replayed[key], value, rtol=1e-12, atol=1e-15), (case["name"], key)


def test_the_running_statistics_are_updated_in_place():
    bn_param = {"mode": "train"}
    x = np.random.default_rng(0).normal(size=(8, 3))
    props.bn_observed(ref.batchnorm_forward)(x=x, gamma=np.ones(3), beta=np.zeros(3), bn_param=bn_param)
    assert set(bn_param) >= {"running_mean", "running_var"}

    def forgets(x, gamma, beta, bn_param):
        bn_param = dict(bn_param)  # updates a copy: the caller never sees the new statistics
        return ref.batchnorm_forward(x, gamma, beta, bn_param)

    with pytest.raises(CheckFailure, match="left no 'running_mean' in bn_param"):
        check(forgets, "batchnorm_forward")


# --------------------------------------------------------------------------- backward pass with the learner's cache

def _tuple_bn_forward(x, gamma, beta, bn_param):
    out, cache = ref.batchnorm_forward(x, gamma, beta, bn_param)
    return out, (cache["x_hat"], cache["inv_std"], gamma, cache["mode"] == "train")


def _tuple_bn_backward(dout, cache):
    x_hat, inv_std, gamma, training = cache
    axes = tuple(range(dout.ndim - 1))
    dbeta, dgamma = dout.sum(axis=axes), (dout * x_hat).sum(axis=axes)
    g = dout * gamma
    if not training:
        return g * inv_std, dgamma, dbeta
    return inv_std * (g - g.mean(axis=axes) - x_hat * (g * x_hat).mean(axis=axes)), dgamma, dbeta


def test_a_batchnorm_backward_with_a_tuple_cache_passes(capsys):
    check_backward(_tuple_bn_backward, _tuple_bn_forward, "batchnorm_backward")
    check_hidden_backward(_tuple_bn_backward, _tuple_bn_forward, "batchnorm_backward")
    assert "visible checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("desc", sorted(MISTAKES["batchnorm_forward"]))
def test_every_forward_mistake_leaves_a_suggested_layout_backward_its_points(desc):
    wrong_forward = MISTAKES["batchnorm_forward"][desc]
    check_backward(ref.batchnorm_backward, wrong_forward, "batchnorm_backward")
    check_hidden_backward(ref.batchnorm_backward, wrong_forward, "batchnorm_backward")


def test_a_stubbed_forward_leaves_the_backward_its_points():
    def layernorm_forward(x, gamma, beta, eps=1e-3):
        raise NotImplementedError()

    check_backward(ref.layernorm_backward, layernorm_forward, "layernorm_backward")
    check_hidden_backward(ref.layernorm_backward, layernorm_forward, "layernorm_backward")


def test_own_layout_and_a_wrong_forward_fail_with_an_explanation():
    def wrong_forward(x, gamma, beta, bn_param):
        out, cache = _tuple_bn_forward(x, gamma, beta, bn_param)
        return out, (cache[0], 2 * cache[1], *cache[2:])

    with pytest.raises(CheckFailure, match="only be checked with the caches your forward pass makes"):
        check_backward(_tuple_bn_backward, wrong_forward, "batchnorm_backward")


@pytest.mark.parametrize("name,forward", [("batchnorm_backward", ref.batchnorm_forward),
                                          ("layernorm_backward", ref.layernorm_forward)])
def test_backward_mistakes_fail_and_are_named_with_the_learners_forward(name, forward):
    for desc, wrong in MISTAKES[name].items():
        with pytest.raises(CheckFailure, match=re.escape(f"Your output matches {desc}")):
            check_backward(wrong, forward, name)
        with pytest.raises(CheckFailure):
            check_hidden_backward(wrong, forward, name)


def test_the_hidden_check_uses_the_forward_pass_defined_beside_the_backward_pass():
    namespace = {"ref": ref}
    exec("def batchnorm_forward(x, gamma, beta, bn_param):\n"
         "    out, cache = ref.batchnorm_forward(x, gamma, beta, bn_param)\n"
         "    return out, [cache]\n"
         "def batchnorm_backward(dout, cache):\n"
         "    return ref.batchnorm_backward(dout, cache[0])\n", namespace)
    check_hidden(namespace["batchnorm_backward"])


# --------------------------------------------------------------------------- dropout implementations

def _dropout_with(draw_keep):
    def dropout_forward(x, rate, training, rng):
        x = np.asarray(x, dtype=float)
        rate = validate.rate(rate)
        if not training:
            return x.copy(), None
        mask = draw_keep(rng, rate, x.shape) / (1.0 - rate)
        return x * mask, mask
    return dropout_forward


@pytest.mark.parametrize("draw_keep", [
    lambda rng, rate, shape: rng.binomial(1, 1.0 - rate, size=shape).astype(float),
    lambda rng, rate, shape: (rng.uniform(size=shape) < 1.0 - rate).astype(float),
])
def test_other_correct_dropouts_pass(draw_keep):
    fn = _dropout_with(draw_keep)
    check(fn, "dropout_forward")
    check_hidden(fn, "dropout_forward")


def test_dropout_of_whole_columns_fails_the_independence_check():
    def columns(rng, rate, shape):  # exactly the right fraction, but whole columns at a time
        keep = rng.permutation(shape[-1]) >= round(rate * shape[-1])
        return np.broadcast_to(keep, shape).astype(float)

    with pytest.raises(CheckFailure, match="independently"):
        check(_dropout_with(columns), "dropout_forward")


# --------------------------------------------------------------------------- the notebook's figures

def _demo_cells():
    nb = load_solution(CHAPTER)
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"
            and not c["metadata"].get("nbgrader", {}).get("solution") and not c["metadata"].get("nbgrader", {}).get("grade")]


@pytest.fixture(scope="module")
def demo():
    import time

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dlcourse import plotting
    from dlcourse.data import load_digits

    namespace = {"np": np, "plt": plt, "plotting": plotting, "copy": copy, "time": time, "load_digits": load_digits,
                 **{name: getattr(ref, name) for name in ("batchnorm_forward", "batchnorm_backward",
                                                          "layernorm_forward", "dropout_forward")},
                 "batchnorm_backward_graph": ref.batchnorm_backward_graph}
    here = os.getcwd()
    os.chdir(solution_path(CHAPTER).parent)   # the demo brings in chapters 01 and 06 from the folders beside it
    try:
        for marker in ("def init_mlp(", "def hidden_normalized(", "sample = rng.normal(size=(1, 6))",
                       "at_inference = hidden @ W_next"):
            found = [src for src in _demo_cells() if marker in src]
            assert len(found) == 1, marker
            exec(found[0], namespace)
    finally:
        os.chdir(here)
    return namespace


def test_batch_norm_trains_at_learning_rates_where_the_plain_network_dies(demo):
    results = demo["results"]
    for lr in (1.0, 3.0):
        assert results[lr, False][1][-1] > 2.0  # stuck at chance, log 10 = 2.3
        assert results[lr, True][1][-1] < 0.5
    for lr in (0.03, 0.3):
        assert results[lr, True][1][-1] <= 1.2 * results[lr, False][1][-1]


def test_tiny_batches_make_train_and_test_mode_disagree(demo):
    small_batch = demo["small_batch"]
    assert small_batch[2]["disagree"] > 0.3
    assert small_batch[32]["disagree"] < 0.1
    disagreement = [small_batch[m]["disagree"] for m in (2, 4, 8, 32)]
    assert disagreement == sorted(disagreement, reverse=True)


def test_inverted_dropout_keeps_the_expected_activation_and_unscaled_halves_it(demo):
    at_inference, inverted, unscaled = demo["at_inference"], demo["inverted"], demo["unscaled"]
    b = demo["b_next"]
    spread = np.std(at_inference)
    assert np.mean(np.abs(inverted - at_inference)) < 0.1 * spread
    slope = np.sum((unscaled - b) * (at_inference - b)) / np.sum((at_inference - b) ** 2)
    assert slope == pytest.approx(0.5, abs=0.05)
    assert np.allclose(demo["ratio_inverted"], 1.0, atol=0.05)
    assert np.allclose(demo["ratio_unscaled"], 1.0 - demo["rates_grid"], atol=0.02)


def test_layer_norm_of_a_sample_does_not_depend_on_its_batch():
    rng = np.random.default_rng(1)
    sample = rng.normal(size=(1, 6))
    outputs = []
    for companions in (rng.normal(size=(7, 6)), 5.0 + 3.0 * rng.normal(size=(7, 6))):
        batch = np.vstack([sample, companions])
        outputs.append((ref.batchnorm_forward(batch, np.ones(6), np.zeros(6), {"mode": "train"})[0][0],
                        ref.layernorm_forward(batch, np.ones(6), np.zeros(6))[0][0]))
    assert not np.allclose(outputs[0][0], outputs[1][0])
    assert np.allclose(outputs[0][1], outputs[1][1])


def test_the_notebook_never_imports_tensorflow_or_the_instructor_package_outside_hidden_tests():
    for src in _demo_cells():
        assert "tensorflow" not in src and "keras." not in src and "autograder" not in src


# --------------------------------------------------------------------------- real grading

@pytest.mark.nbgrader
@group(CHAPTER)
def test_grading_a_wrong_forward_pass_costs_only_its_own_points(graded):
    """With stock nbgrader and the course's grading executor: a stubbed or wrong forward pass loses
    its own points, and the backward pass (suggested layout) keeps its points. The submission
    (``wrong_forwards``: batchnorm_forward stubbed, layernorm_forward with ddof=1) is graded in the
    shared course (tests/graded_courses.py)."""
    from tests import submissions as subs

    points = subs.graded_points(subs.load_solution(CHAPTER))
    scores = graded(CHAPTER).student_scores("wrong_forwards")
    assert scores["test_batchnorm_forward"] == 0
    assert scores["test_layernorm_forward"] == 0
    assert sum(scores.values()) == sum(points.values()) - points["test_batchnorm_forward"] \
        - points["test_layernorm_forward"], scores
