"""Tests for autograder.chapters.ch07_batchnorm_dropout.reference (chapter 07) and its known mistakes."""

import copy
import os

import numpy as np
import pytest

from autograder.chapters.ch07_batchnorm_dropout import reference as BD
from autograder.chapters.ch07_batchnorm_dropout.mistakes import MISTAKES
from tests.reference._numgrad import assert_grad_close, numerical_gradient, outputs_close


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return pytest.importorskip("keras")


def _bn_case(seed=0, shape=(8, 5)):
    rng = np.random.default_rng(seed)
    d = shape[-1]
    x = rng.normal(loc=rng.normal(size=d) * 3, scale=rng.uniform(0.5, 3.0, size=d), size=shape)
    return x, rng.uniform(0.5, 2.0, size=d), rng.normal(size=d), rng.normal(size=shape)


def _running(seed, d):
    rng = np.random.default_rng(seed)
    return {"running_mean": rng.normal(size=d), "running_var": rng.uniform(0.5, 2.0, size=d)}


# --------------------------------------------------------------------------- batch norm forward

def test_batchnorm_train_mode_normalizes_with_batch_statistics():
    x, gamma, beta, _ = _bn_case()
    out, _ = BD.batchnorm_forward(x, np.ones(5), np.zeros(5), {"mode": "train"})
    # with eps = 1e-3 the per-feature variance is var / (var + eps), just under 1
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-3), rtol=1e-12)
    out2, _ = BD.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out2, gamma * out + beta, rtol=1e-12)


def test_batchnorm_defaults_and_in_place_running_statistics():
    x, gamma, beta, _ = _bn_case(1)
    bn_param = {"mode": "train"}
    BD.batchnorm_forward(x, gamma, beta, bn_param)
    # absent statistics start at zeros/ones; momentum 0.99; biased variance (as Keras)
    np.testing.assert_allclose(bn_param["running_mean"], 0.01 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], 0.99 + 0.01 * x.var(axis=0), rtol=1e-12)


def test_batchnorm_running_statistics_over_several_steps():
    bn_param = {"mode": "train", "momentum": 0.9, "eps": 1e-5, **_running(2, 5)}
    rm, rv = bn_param["running_mean"].copy(), bn_param["running_var"].copy()
    old_arrays = (bn_param["running_mean"], bn_param["running_var"])
    for step in range(4):
        x, gamma, beta, _ = _bn_case(10 + step)
        BD.batchnorm_forward(x, gamma, beta, bn_param)
        rm = 0.9 * rm + 0.1 * x.mean(axis=0)
        rv = 0.9 * rv + 0.1 * x.var(axis=0)
    np.testing.assert_allclose(bn_param["running_mean"], rm, rtol=1e-12)
    np.testing.assert_allclose(bn_param["running_var"], rv, rtol=1e-12)
    # the dict is updated; the arrays the caller passed in were not written to
    np.testing.assert_array_equal(old_arrays[0], _running(2, 5)["running_mean"])
    np.testing.assert_array_equal(old_arrays[1], _running(2, 5)["running_var"])


def test_batchnorm_test_mode_uses_running_statistics_per_sample():
    x, gamma, beta, _ = _bn_case(3)
    bn_param = {"mode": "test", **_running(4, 5)}
    before = copy.deepcopy(bn_param)
    out, _ = BD.batchnorm_forward(x, gamma, beta, bn_param)
    expected = gamma * (x - before["running_mean"]) / np.sqrt(before["running_var"] + 1e-3) + beta
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # each sample is normalized on its own: a sub-batch gives the same rows
    np.testing.assert_allclose(BD.batchnorm_forward(x[:2], gamma, beta, bn_param)[0], out[:2], rtol=1e-12)
    for key in ("running_mean", "running_var"):
        np.testing.assert_array_equal(bn_param[key], before[key])


def test_batchnorm_does_not_modify_x_gamma_beta():
    x, gamma, beta, dout = _bn_case(5)
    saved = [a.copy() for a in (x, gamma, beta, dout)]
    _, cache = BD.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    BD.batchnorm_backward(dout, cache)
    BD.batchnorm_backward_graph(dout, cache)
    for a, s in zip((x, gamma, beta, dout), saved, strict=True):
        np.testing.assert_array_equal(a, s)


def test_batchnorm_rejects_bad_input():
    x, gamma, beta, _ = _bn_case()
    for bn_param in ({"mode": "eval"}, {}, {"mode": "train", "eps": 0.0}, {"mode": "train", "momentum": 1.5},
                     {"mode": "train", "running_mean": np.zeros(4)}):
        with pytest.raises(ValueError):
            BD.batchnorm_forward(x, gamma, beta, bn_param)
    with pytest.raises(ValueError):
        BD.batchnorm_forward(x, gamma[:-1], beta, {"mode": "train"})
    with pytest.raises(ValueError):
        BD.batchnorm_forward(x[0], gamma, beta, {"mode": "train"})
    with pytest.raises(ValueError):
        BD.batchnorm_forward(x, gamma, beta, [("mode", "train")])


# --------------------------------------------------------------------------- batch norm backward

@pytest.mark.parametrize("shape", [(8, 5), (4, 3, 5)])
@pytest.mark.parametrize("mode", ["train", "test"])
@pytest.mark.parametrize("backward", ["batchnorm_backward", "batchnorm_backward_graph"])
def test_batchnorm_backward_matches_numerical_gradient(shape, mode, backward):
    x, gamma, beta, dout = _bn_case(6, shape)
    running = _running(7, shape[-1])

    def loss(x_, g_, b_):  # L = sum(out * dout); a fresh bn_param each call
        return np.sum(BD.batchnorm_forward(x_, g_, b_, {"mode": mode, **running})[0] * dout)

    _, cache = BD.batchnorm_forward(x, gamma, beta, {"mode": mode, **running})
    dx, dgamma, dbeta = getattr(BD, backward)(dout, cache)
    assert_grad_close(dx, numerical_gradient(lambda v: loss(v, gamma, beta), x), "dx")
    assert_grad_close(dgamma, numerical_gradient(lambda v: loss(x, v, beta), gamma), "dgamma")
    assert_grad_close(dbeta, numerical_gradient(lambda v: loss(x, gamma, v), beta), "dbeta")


def test_batchnorm_graph_and_compact_backward_agree():
    x, gamma, beta, dout = _bn_case(8, (16, 6))
    _, cache = BD.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    for a, b in zip(BD.batchnorm_backward(dout, cache), BD.batchnorm_backward_graph(dout, cache), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_batchnorm_train_dx_sums_to_zero_per_feature():
    # out does not change when a constant is added to a feature of every sample
    x, gamma, beta, dout = _bn_case(9)
    _, cache = BD.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(BD.batchnorm_backward(dout, cache)[0].sum(axis=0), 0.0, atol=1e-12)


# --------------------------------------------------------------------------- layer norm

def test_layernorm_forward_normalizes_each_sample():
    x, gamma, beta, _ = _bn_case(10, (6, 7))
    out, _ = BD.layernorm_forward(x, np.ones(7), np.zeros(7))
    np.testing.assert_allclose(out.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=1), x.var(axis=1) / (x.var(axis=1) + 1e-3), rtol=1e-12)
    np.testing.assert_allclose(BD.layernorm_forward(x, gamma, beta)[0], gamma * out + beta, rtol=1e-12)
    # no dependence on the rest of the batch
    full = BD.layernorm_forward(x, gamma, beta)[0]
    np.testing.assert_allclose(BD.layernorm_forward(x[:1], gamma, beta)[0], full[:1], rtol=1e-13)


@pytest.mark.parametrize("shape", [(6, 7), (2, 3, 4)])
def test_layernorm_backward_matches_numerical_gradient(shape):
    x, gamma, beta, dout = _bn_case(11, shape)

    def loss(x_, g_, b_):
        return np.sum(BD.layernorm_forward(x_, g_, b_, eps=1e-3)[0] * dout)

    _, cache = BD.layernorm_forward(x, gamma, beta)
    dx, dgamma, dbeta = BD.layernorm_backward(dout, cache)
    assert_grad_close(dx, numerical_gradient(lambda v: loss(v, gamma, beta), x), "dx")
    assert_grad_close(dgamma, numerical_gradient(lambda v: loss(x, v, beta), gamma), "dgamma")
    assert_grad_close(dbeta, numerical_gradient(lambda v: loss(x, gamma, v), beta), "dbeta")


def test_layernorm_rejects_bad_input():
    x, gamma, beta, dout = _bn_case(12)
    with pytest.raises(ValueError):
        BD.layernorm_forward(x, gamma[:2], beta)
    with pytest.raises(ValueError):
        BD.layernorm_forward(x, gamma, beta, eps=-1.0)
    _, cache = BD.layernorm_forward(x, gamma, beta)
    with pytest.raises(ValueError):
        BD.layernorm_backward(dout[:2], cache)


# --------------------------------------------------------------------------- dropout

def test_dropout_not_training_is_identity_with_no_mask():
    x = np.random.default_rng(13).normal(size=(4, 5))
    out, mask = BD.dropout_forward(x, 0.5, False, None)
    np.testing.assert_array_equal(out, x)
    assert mask is None and out is not x
    np.testing.assert_array_equal(BD.dropout_backward(x, None), x)


def test_dropout_training_statistics_and_scaling():
    x = np.random.default_rng(14).uniform(0.5, 1.5, size=(500, 400))
    rate = 0.3
    out, mask = BD.dropout_forward(x, rate, True, np.random.default_rng(15))
    kept = mask != 0
    # 200,000 Bernoulli(0.3) draws: sd of the fraction is 0.001; allow 5 sd
    assert 1 - kept.mean() == pytest.approx(rate, abs=0.005)
    np.testing.assert_allclose(mask[kept], 1 / (1 - rate), rtol=1e-15)
    np.testing.assert_allclose(out[kept], x[kept] / (1 - rate), rtol=1e-15)
    np.testing.assert_array_equal(out[~kept], 0.0)
    assert out.mean() == pytest.approx(x.mean(), rel=0.01)  # inverted dropout keeps the expectation


def test_dropout_rate_zero_keeps_everything():
    x = np.random.default_rng(16).normal(size=(3, 4))
    out, mask = BD.dropout_forward(x, 0.0, True, np.random.default_rng(0))
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(mask, 1.0)


def test_dropout_backward_matches_numerical_gradient():
    rng = np.random.default_rng(17)
    x, dout = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    _, mask = BD.dropout_forward(x, 0.4, True, np.random.default_rng(18))

    def loss(v):  # the same seed gives the same mask at every evaluation
        return np.sum(BD.dropout_forward(v, 0.4, True, np.random.default_rng(18))[0] * dout)

    assert_grad_close(BD.dropout_backward(dout, mask), numerical_gradient(loss, x), "dx")


def test_dropout_is_reproducible_and_validates_input():
    x = np.ones((3, 4))
    a = BD.dropout_forward(x, 0.5, True, np.random.default_rng(1))[0]
    np.testing.assert_array_equal(a, BD.dropout_forward(x, 0.5, True, np.random.default_rng(1))[0])
    for rate in (-0.1, 1.0, 1.5, np.nan, "x"):
        with pytest.raises(ValueError):
            BD.dropout_forward(x, rate, True, np.random.default_rng(0))
    with pytest.raises(ValueError):
        BD.dropout_forward(x, 0.5, True, np.random.RandomState(0))
    with pytest.raises(ValueError):
        BD.dropout_backward(np.ones((2, 2)), np.ones((3, 4)))


# --------------------------------------------------------------------------- Keras

@pytest.mark.keras
def test_batchnorm_matches_keras_over_several_steps_and_in_inference():
    keras = _keras()
    d = 5
    layer = keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3, dtype="float64")
    layer.build((None, d))
    _, gamma, beta, _ = _bn_case(20, (8, d))
    layer.set_weights([gamma, beta, np.zeros(d), np.ones(d)])  # order: gamma, beta, moving mean, moving var
    bn_param = {"mode": "train"}
    for step in range(5):
        x = _bn_case(21 + step, (16, d))[0]
        ours, _ = BD.batchnorm_forward(x, gamma, beta, bn_param)
        # float64 on both sides: agreement to rounding
        np.testing.assert_allclose(ours, np.asarray(layer(x, training=True)), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(bn_param["running_mean"], np.asarray(layer.moving_mean), rtol=1e-10)
    np.testing.assert_allclose(bn_param["running_var"], np.asarray(layer.moving_variance), rtol=1e-10)
    x = _bn_case(30, (7, d))[0]
    bn_param["mode"] = "test"
    np.testing.assert_allclose(BD.batchnorm_forward(x, gamma, beta, bn_param)[0],
                               np.asarray(layer(x, training=False)), rtol=1e-9, atol=1e-12)


@pytest.mark.keras
def test_batchnorm_backward_matches_tensorflow_autodiff():
    _keras()
    tf = pytest.importorskip("tensorflow")
    import keras

    x, gamma, beta, dout = _bn_case(31, (10, 4))
    layer = keras.layers.BatchNormalization(momentum=0.99, epsilon=1e-3, dtype="float64")
    layer.build((None, 4))
    layer.set_weights([gamma, beta, np.zeros(4), np.ones(4)])
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(layer(xt, training=True) * dout)
    gx, gg, gb = tape.gradient(loss, [xt, layer.gamma.value, layer.beta.value])
    _, cache = BD.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    for ours, theirs in zip(BD.batchnorm_backward(dout, cache), (gx, gg, gb), strict=True):
        np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-8, atol=1e-10)


@pytest.mark.keras
def test_layernorm_matches_keras():
    keras = _keras()
    x, gamma, beta, _ = _bn_case(32, (6, 7))
    layer = keras.layers.LayerNormalization(epsilon=1e-3, dtype="float64")
    layer.build((None, 7))
    layer.set_weights([gamma, beta])
    np.testing.assert_allclose(BD.layernorm_forward(x, gamma, beta)[0], np.asarray(layer(x)), rtol=1e-9, atol=1e-12)


@pytest.mark.keras
def test_dropout_matches_keras_properties():
    keras = _keras()
    rate = 0.3
    x = np.random.default_rng(33).uniform(0.5, 1.5, size=(500, 400))
    layer = keras.layers.Dropout(rate, seed=0, dtype="float64")
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    np.testing.assert_array_equal(BD.dropout_forward(x, rate, False, None)[0], x)
    theirs = np.asarray(layer(x, training=True))
    ours = BD.dropout_forward(x, rate, True, np.random.default_rng(34))[0]
    for out in (theirs, ours):
        kept = out != 0
        assert 1 - kept.mean() == pytest.approx(rate, abs=0.005)  # 5 sd of a 200,000-draw fraction
        np.testing.assert_allclose(out[kept], x[kept] / (1 - rate), rtol=1e-12)


# --------------------------------------------------------------------------- known mistakes

def _bn_outputs(fn, x, gamma, beta, bn_param):
    bn_param = copy.deepcopy(bn_param)
    out, _ = fn(x, gamma, beta, bn_param)
    return out, bn_param["running_mean"], bn_param["running_var"]


def _dropout_signature(fn, seed):
    """(fraction dropped, median survivor scale, identity when not training) of a large draw."""
    x = np.random.default_rng(seed).uniform(0.5, 1.5, size=(400, 500))
    rng = np.random.default_rng(seed + 1)
    out, _ = fn(x, 0.2, True, rng)
    kept = out != 0
    inference, _ = fn(x, 0.2, False, rng)
    return 1 - kept.mean(), float(np.median(out[kept] / x[kept])), bool(np.array_equal(inference, x))


_CASES = [(fn, desc) for fn, entries in MISTAKES.items() for desc in entries]


def test_mistakes_cover_only_reference_functions():
    for fn in MISTAKES:
        assert callable(getattr(BD, fn, None)), f"MISTAKES names {fn}, which the reference does not define"


@pytest.mark.parametrize("fn,desc", _CASES, ids=[f"{f}: {d}" for f, d in _CASES])
def test_each_mistake_differs_from_the_reference(fn, desc):
    mistake, reference = MISTAKES[fn][desc], getattr(BD, fn)
    if (fn, desc) in COPY_MISTAKES:  # the reference's values, but the result is the input itself, not a copy
        given = np.ones(3)
        out = mistake(given, 0.5, False, None)[0] if fn == "dropout_forward" else mistake(given, None)
        assert np.shares_memory(out, given)
        return
    x, gamma, beta, dout = _bn_case(40, (8, 5))
    if fn == "batchnorm_forward":
        # out and the running statistics, in both modes, from non-default running statistics
        differs = any(
            not outputs_close(_bn_outputs(mistake, x, gamma, beta, bn_param),
                              _bn_outputs(reference, x, gamma, beta, bn_param))
            for bn_param in ({"mode": "train", **_running(41, 5)}, {"mode": "test", **_running(41, 5)}))
    elif fn == "dropout_forward":
        f_ref, s_ref, i_ref = _dropout_signature(reference, 42)
        f_got, s_got, i_got = _dropout_signature(mistake, 43)
        # 200,000 draws: the fraction's sd is ~0.001, every mistake moves it by >= 0.6 or
        # changes the scale or the inference output
        differs = abs(f_got - f_ref) > 0.02 or abs(s_got / s_ref - 1) > 1e-9 or i_got != i_ref
    else:
        if fn == "batchnorm_backward":
            _, cache = BD.batchnorm_forward(x, gamma, beta, {"mode": "train"})
            args = (dout, cache)
        elif fn == "layernorm_forward":
            args = (x, gamma, beta)
        elif fn == "layernorm_backward":
            args = (dout, BD.layernorm_forward(x, gamma, beta)[1])
        elif fn == "dropout_backward":
            args = (dout, BD.dropout_forward(x, 0.3, True, np.random.default_rng(44))[1])
        else:
            raise AssertionError(f"no generic input for {fn}")
        differs = not outputs_close(mistake(*args), reference(*args))
    assert differs, f"{fn} mistake {desc!r} gives the reference output on a generic input"


# --------------------------------------------------------------------------- hidden tests: results documented as a copy

COPY_MISTAKES = [
    ("dropout_forward", "x itself returned when training is False, not a copy (writing to out changes x)"),
    ("dropout_backward", "dout itself returned when mask is None, not a copy (writing to dx changes dout)"),
]


@pytest.mark.parametrize("name,mistake", COPY_MISTAKES)
def test_hidden_tests_name_a_result_that_shares_memory_with_its_input(name, mistake):
    import re

    from autograder.hidden import check_hidden
    from autograder.chapters.ch07_batchnorm_dropout.mistakes import MISTAKES
    from dlcourse.checks.runner import CheckFailure

    with pytest.raises(CheckFailure, match="shares memory with the input .*" + re.escape(mistake)):
        check_hidden(MISTAKES[name][mistake], name)


@pytest.mark.parametrize("name,mistake", COPY_MISTAKES)
def test_the_copy_check_judges_a_function_called_directly_too(name, mistake):
    from autograder.chapters.ch07_batchnorm_dropout.cases import HIDDEN_CUSTOM
    from autograder.chapters.ch07_batchnorm_dropout.mistakes import MISTAKES
    from dlcourse.checks.runner import CheckFailure

    HIDDEN_CUSTOM[name](getattr(BD, name))
    with pytest.raises(CheckFailure, match="shares memory"):
        HIDDEN_CUSTOM[name](MISTAKES[name][mistake])


def test_the_interpreter_reports_returned_arrays_that_share_memory_with_arguments():
    import json

    from autograder.protocol.session import local_executor
    from autograder.protocol.wire import decode_results, encode

    def f(a, b):
        return a[1:], b.copy(), a

    x = encode(np.arange(4.0), lambda v: None)
    step = {"op": "call", "fn": "f", "args": [x], "kwargs": {"b": x}}
    text = local_executor({"f": f})(json.dumps({"steps": [step]}))
    (outcome,) = decode_results(text, 1, None, 10_000)
    assert sorted(outcome["shares"]) == [("0", "0"), ("2", "0")]
