"""Hidden tests are judged outside the learner's code: the protocol, its defensive decoding,
attack functions, and real nbgrader autogrades of hostile submissions (chapters 04, 06, 07)."""

import json
import re
import sys

import numpy as np
import pytest

from autograder.chapters import graded_functions, reference_and_mistakes
from autograder.chapters.ch04_learning_rate_schedules import reference as ref_schedules
from autograder.hidden import check_hidden, run_hidden
from autograder.protocol.session import Session, interpreter_source, local_executor
from autograder.protocol.wire import ProtocolError, decode_results
from dlcourse.checks.runner import CheckFailure

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


# ----------------------------------------------------------------------------- attack functions
# Looks up the call stack for the checking code's ``expected`` or ``reference`` (also sent in submissions).
_WALKER = """
import sys as _sys
def _walk(*args, **kwargs):
    frame = _sys._getframe(1)
    while frame is not None:
        for _name in ("expected", "reference"):
            if _name in frame.f_locals:
                value = frame.f_locals[_name]
                return value(*args, **kwargs) if callable(value) else value
        frame = frame.f_back
    return None
"""
_walker_space = {}
exec(_WALKER, _walker_space)  # noqa: S102
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


@pytest.mark.keras
@pytest.mark.parametrize("attack", [frame_walker, raising, garbage, huge, not_a_model, sneaky_model])
@pytest.mark.parametrize("name", ["build_mlp", "compile_for_classification", "train_step", "make_dataset",
                                  "build_cnn", "make_callbacks"])
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
_NEUTRALIZE_VISIBLE = """
import dlcourse.checks as _dc, dlcourse.checks.backward as _db, dlcourse.checks.runner as _dr
for _m in (_dc, _db, _dr):
    for _n in [n for n in dir(_m) if n.startswith(("check", "run_"))]:
        setattr(_m, _n, lambda *a, **k: None)
"""

ATTACKS = {
    "ast_try_except": """
import ast
class _Wrap(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(_Wrap())
""",
    "custom_exc_hook": """
_ip = get_ipython()
_ip.set_custom_exc((BaseException,), lambda self, etype, value, tb, tb_offset=None: None)
def _clear(result):
    result.error_in_exec = None
_ip.events.register("post_run_cell", _clear)
""",
    "fake_hidden_module": _NEUTRALIZE_VISIBLE + """
import sys, types, importlib.abc, importlib.machinery
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name in ("autograder", "autograder.hidden"):
            return importlib.machinery.ModuleSpec(name, self, is_package=(name == "autograder"))
    def create_module(self, spec):
        return types.ModuleType(spec.name)
    def exec_module(self, module):
        module.__path__ = []
        module.check_hidden = lambda *a, **k: None
for _k in [k for k in sys.modules if k == "autograder" or k.startswith("autograder.")]:
    del sys.modules[_k]
sys.meta_path.insert(0, _Finder())
""",
    "patched_helpers": _NEUTRALIZE_VISIBLE,
}


def _attacked(solution, first_extra, body_for):
    """A submission with every solution region replaced by ``body_for(indent, name)`` and
    ``first_extra`` run at the top of the first solution cell."""
    from autograder.notebook_cells import SOLUTION_BLOCK
    from tests import submissions as subs

    nb = solution
    cells = subs.solution_cells(nb)
    for i, cell_id in enumerate(cells):
        def edit(source, cell_id=cell_id, first=(i == 0)):
            source = SOLUTION_BLOCK.sub(lambda m: body_for(m.group(1), cell_id), source)
            return (first_extra + "\n" + source) if first else source
        nb = subs.with_cell_edited(nb, cell_id, edit)
    return nb


@pytest.mark.nbgrader
@pytest.mark.parametrize("chapter", [
    "04_learning_rate_schedules",
    pytest.param("06_backprop_initialization", marks=pytest.mark.slow),
    pytest.param("07_batchnorm_dropout", marks=pytest.mark.slow),
])
def test_attacks_earn_what_absent_work_earns(tmp_path, chapter):
    from autograder.course_dir import CourseDir
    from tests import submissions as subs

    course = CourseDir(tmp_path)
    course.release(chapter)
    solution = subs.load_solution(chapter)
    total = sum(subs.graded_points(solution).values())
    stub = lambda indent, name: f"{indent}raise NotImplementedError()"  # noqa: E731
    course.submit("full", chapter, subs.solution_path(chapter))
    for attack, code in ATTACKS.items():
        course.submit(attack, chapter, text=subs.dumps(_attacked(solution, code, stub)))
    # the graded functions themselves walk the stack for the checking code's answers
    walker = lambda indent, name: f"{indent}return _walk(*args, **kwargs)"  # noqa: E731
    walked = _attacked(solution, _WALKER, walker)
    for cell in walked["cells"]:
        text = "".join(cell["source"])
        cell["source"] = re.sub(r"def (\w+)\(([^)]*)\):", r"def \1(*args, **kwargs):", text)
    course.submit("frame_walker", chapter, text=subs.dumps(walked))
    course.autograde(chapter)
    scores = course.scores(chapter)
    assert sum(scores["full"].values()) == total, scores["full"]
    for student in [*ATTACKS, "frame_walker"]:
        assert sum(scores[student].values()) == 0, (student, scores[student])
