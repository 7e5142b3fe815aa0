"""Hidden tests are judged outside the learner's code: the protocol, its defensive decoding,
attack functions, and real nbgrader autogrades of hostile submissions (chapters 04, 06, 07)."""

import json
import sys

import numpy as np
import pytest

from autograder.chapters import graded_functions, reference_and_mistakes
from autograder.chapters.ch04_learning_rate_schedules import reference as ref_schedules
from autograder.hidden import check_hidden, run_hidden
from autograder.protocol.session import Session, interpreter_source, local_executor
from autograder.protocol.wire import ProtocolError, decode_results
from dlcourse.checks.runner import CheckFailure
from tests import submissions as subs
from tests.graded_courses import ATTACKS, group

NUMPY_CHAPTER_SAMPLES = ["numerical_gradient", "minibatch_indices", "sgd_linear_regression", "cosine_decay",
                         "EarlyStopping", "ReduceLROnPlateau", "ridge_closed_form", "sigmoid", "dense_backward",
                         "glorot_uniform", "batchnorm_forward", "batchnorm_backward", "dropout_forward",
                         "sample_log_uniform"]


# ----------------------------------------------------------------------------- the protocol
def test_interpreter_source_holds_no_course_code():
    source = interpreter_source()
    for word in ("autograder", "dlcourse", "expected", "mistake", "reference"):
        assert word not in source.split('"""')[2], word  # the code after the module docstring


def _decode(text, n=1):
    return decode_results(text, n, lambda *a: None, 10_000)


@pytest.mark.parametrize("text", [
    "not json", "{}", "[]", "[1]", '[{"ok": {"__nd__": ["|O", [1], "AA=="]}}]',
    '[{"ok": {"__nd__": ["<f8", [2], "AAAAAAAAAAA="]}}]', '[{"ok": 123456789012345678901234567890}]',
    '[{"ok": ' + "[" * 500 + "]" * 500 + "}]", '[{"raised": "boom"}]', '[{"ok": {"__weird__": 1}}]',
    '[{"ok": 1}, {"ok": 2}]', '[{"ok": 1, "warnings": [[[], "x"]]}]', "[" * 100_000 + "]" * 100_000,
    '[{"ok": "' + "x" * 20_000 + '"}]',
])
def test_malformed_results_are_protocol_errors(text):
    with pytest.raises(ProtocolError):
        _decode(text)


def test_nan_and_arrays_round_trip():
    executor = local_executor({"f": lambda x: (x * np.nan, {"k": [np.float32(2.5)]})})
    session = Session(executor, {"f": lambda x: (x * np.nan, {"k": [np.float32(2.5)]})}, "f")
    f = session.function("f")
    got = []
    session.run(lambda: got.append(f(np.arange(3.0))))
    out, extra = got[-1]
    assert out.shape == (3,) and np.isnan(out).all()
    assert isinstance(extra["k"][0], np.float32)


@pytest.mark.parametrize("answer", ["", "[]", json.dumps([{"ok": 1}] * 5), None])
def test_unusable_answers_fail_the_test_and_never_crash(answer):
    def executor(script):
        if answer is None:
            raise ProtocolError("no result output")
        return answer

    with pytest.raises(CheckFailure, match="no usable results"):
        run_hidden("cosine_decay", executor)


# ----------------------------------------------------------------------------- reference and mistakes
@pytest.mark.parametrize("name", NUMPY_CHAPTER_SAMPLES)
def test_reference_passes_and_every_mistake_fails_through_scripts(name):
    reference, mistakes = reference_and_mistakes(name)
    check_hidden(reference, name)
    for mistake in mistakes.values():
        with pytest.raises(CheckFailure):
            check_hidden(mistake, name)


def test_failure_names_case_expected_got_and_mistake():
    _, mistakes = reference_and_mistakes("cosine_decay")
    desc, wrong = next(iter(mistakes.items()))
    with pytest.raises(CheckFailure) as info:
        check_hidden(wrong, "cosine_decay")
    text = str(info.value)
    assert "case 'hidden:" in text and "expected:" in text and "got:" in text and f"matches {desc}" in text


# ----------------------------------------------------------------------------- attack functions
# Looks up the call stack for the checking code's ``expected`` or ``reference`` (also sent in submissions).
_walker_space = {}
exec(subs.WALKER, _walker_space)  # noqa: S102
frame_walker = _walker_space["_walk"]


def stored_answers(*args, **kwargs):
    """Returns the visible checks' stored answer for the first visible case."""
    from dlcourse.checks import stored_cases

    return stored_cases()["cosine_decay"][0]["expected"]


def raising(*args, **kwargs):
    raise ValueError("nothing here")


def deep(*args, **kwargs):
    value = []
    for _ in range(5000):
        value = [value]
    return value


def huge(*args, **kwargs):
    return np.zeros(3_000_000)


def garbage(*args, **kwargs):
    return {"__nd__": ["<f8", [1], "AAAAAAAAAAA="], "evil": object()}


@pytest.mark.parametrize("attack", [frame_walker, stored_answers, raising, deep, huge, garbage])
@pytest.mark.parametrize("name", ["cosine_decay", pytest.param("minibatch_indices", marks=pytest.mark.slow), "dense_backward"])
def test_attack_functions_fail(attack, name):
    with pytest.raises(CheckFailure):
        check_hidden(attack, name)


def test_frame_walking_class_fails():
    class Walker(ref_schedules.EarlyStopping):
        def update(self, val_loss):
            return frame_walker(val_loss)

    with pytest.raises(CheckFailure):
        check_hidden(Walker, "EarlyStopping")


# ----------------------------------------------------------------------------- the Keras chapters (09, 10)
KERAS_GRADED = graded_functions(keras=True)


@pytest.mark.keras
@pytest.mark.parametrize("name", KERAS_GRADED)
def test_keras_reference_passes_and_every_mistake_fails_named_through_scripts(name):
    reference, mistakes = reference_and_mistakes(name)
    check_hidden(reference, name)
    for description, mistake in mistakes.items():
        with pytest.raises(CheckFailure) as failed:
            check_hidden(mistake, name)
        assert "case 'hidden:" in str(failed.value) and f"Your output matches {description}" in str(failed.value)


def not_a_model(*args, **kwargs):
    """A builder that returns a Keras layer instead of a model."""
    import keras

    return keras.layers.Dense(3)


def sneaky_model(input_dim=4, num_classes=3, **kwargs):
    """A model of the learner's own class whose call ignores its layers: it cannot be rebuilt
    from its config with safe_mode, so nothing of it is trusted."""
    import keras

    class Sneaky(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(num_classes)

        def call(self, x, training=False):
            return self.dense(x) * 0

    model = Sneaky()
    model(np.zeros((1, input_dim), dtype=np.float32))
    return model


# The default run sends each attack against one function and each function one attack (the pairs
# below); ``-m slow`` every other pair.
KERAS_ATTACKED = {"build_mlp": sneaky_model, "build_cnn": not_a_model, "compile_for_classification": frame_walker,
                  "train_step": garbage, "make_dataset": huge, "make_callbacks": raising}


@pytest.mark.keras
@pytest.mark.parametrize("name, attack", [
    pytest.param(name, attack, id=f"{name}-{attack.__name__}",
                 marks=[] if KERAS_ATTACKED[name] is attack else [pytest.mark.slow])
    for name in KERAS_ATTACKED for attack in KERAS_ATTACKED.values()])
def test_keras_attack_functions_fail(attack, name):
    with pytest.raises(CheckFailure):
        check_hidden(attack, name)


@pytest.mark.keras
def test_keras_objects_cross_as_data_and_the_policy_is_restored():
    import keras

    from autograder.protocol import keras_objects

    def switch():
        keras.mixed_precision.set_global_policy("float16")
        return "float16"

    before = keras.mixed_precision.global_policy().name
    namespace = {"switch": switch, "build": lambda: keras.Sequential([keras.Input((2,)), keras.layers.Dense(
        3, kernel_initializer="ones")])}
    session = Session(local_executor(namespace), {}, "x")
    fn = session.function("switch")
    seen = []

    def check():
        keras_objects.kernel_policy(fn, "mixed_float16")
        fn()
        model = keras_objects.mirror_model(session.function("build")(), "build", "case")
        sent = keras_objects.send(fn, model)
        seen.append((model, sent.get_weights(), session.identical(sent, sent)))

    session.run(check)
    model, weights, same = seen[-1]
    assert isinstance(model, keras.Model) and same is True
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert keras.mixed_precision.global_policy().name == before


# ----------------------------------------------------------------------------- real nbgrader, hostile submissions
# The hostile submissions (tests/submissions.py: kernel attacks with every answer stubbed, and graded
# functions that walk the stack) are graded beside the chapter's own in its shared course directory.
@pytest.mark.nbgrader
@pytest.mark.parametrize("chapter", [
    pytest.param("04_learning_rate_schedules", marks=group("04_learning_rate_schedules")),
    pytest.param("06_backprop_initialization", marks=[pytest.mark.slow, group("06_backprop_initialization")]),
    pytest.param("07_batchnorm_dropout", marks=[pytest.mark.slow, group("07_batchnorm_dropout")]),
])
def test_attacks_earn_what_absent_work_earns(graded, chapter):
    course = graded(chapter, ATTACKS)
    course.assert_full_marks("full")
    attackers = [s for s in course.scores if s.startswith(ATTACKS.name)]
    assert len(attackers) == len(subs.KERNEL_ATTACKS) + 1, attackers
    for student in attackers:
        course.assert_zero(student)
