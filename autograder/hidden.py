"""Hidden tests: what grading runs after the learner's code.

A hidden test cell in a source notebook reads::

    ### BEGIN HIDDEN TESTS
    from autograder.hidden import check_hidden
    check_hidden(mse)
    ### END HIDDEN TESTS

The learner's function is called on randomized inputs (fixed seed per function, so a
regrade gives the same result) of several shapes and scales, compared with the reference
computed on the same inputs, and a failure names the known mistake the output matches.

One implementation, two places the learner's code runs. Every hidden check, case-based
(``HIDDEN``) or custom (``HIDDEN_CUSTOM``: classes, RNG statistics, training functions, Keras
models, pipelines and policies), runs through :class:`autograder.protocol.session.Session`: the check's calls of the
learner's code become a script of steps (data), an interpreter performs them and returns plain
data, and the check judges that data here. Keras objects cross as data too: a check's model
is made in the kernel from its config and weights, a learner's model comes back as its config
and weights and is judged here rebuilt (:mod:`autograder.protocol.keras_objects`).

- :func:`check_hidden` runs the interpreter in the current process (an author executing a
  solution notebook, the test suite).
- At grading time :mod:`autograder.trusted_execute` runs the same interpreter in the learner's
  kernel (:func:`run_hidden` with its executor); nothing of this package enters the kernel.
"""

import sys

import numpy as np

from autograder.chapters import cases_of, chapter_of, reference_and_mistakes, reference_of
from autograder.checking import computed_once, evaluate, hidden_seed, message_no_results
from autograder.hidden_backward import backward_check
from autograder.protocol.session import Session, local_executor
from autograder.protocol.wire import NotData, ProtocolError
from dlcourse.checks.runner import CheckFailure, run_case


def hidden_cases(name):
    """The hidden Case list of graded function ``name`` (empty when it has only custom checks)."""
    make_cases = getattr(cases_of(name), "HIDDEN", {}).get(name)
    return [] if make_cases is None else make_cases(np.random.default_rng(hidden_seed(name)))


def hidden_reference(name):
    """(reference module, reference object) of graded name ``name``."""
    module = reference_of(name)
    return module, getattr(module, name)


def _check_key(name, *rest):
    """What the hidden test of ``name`` is made of (instructor code only): chapter, seed, its case
    makers and references, then ``rest``; the key of what is computed once per process."""
    cases = cases_of(name)
    reference, mistakes = reference_and_mistakes(name)
    return (chapter_of(name).id, name, hidden_seed(name), getattr(cases, "HIDDEN", {}).get(name),
            getattr(cases, "HIDDEN_CUSTOM", {}).get(name), getattr(cases, "BACKWARD_CASES", {}).get(name),
            reference, tuple(mistakes.items()), *rest)


def _expected_cases(name):
    """[(case, evaluate's result)] of the hidden cases of ``name``, computed once per process; each
    call gets its own deep copy (the check's replay writes the learner's in-place changes into its inputs)."""
    reference, mistakes = reference_and_mistakes(name)
    return computed_once(_check_key(name), lambda: [(case, evaluate(case, reference, mistakes))
                                                    for case in hidden_cases(name)])


def _check_of(name, only_custom=False):
    """The whole hidden test of ``name`` as one function of the learner's (proxied) ``fn``."""
    custom = custom_check(name)
    pairs = [] if only_custom else _expected_cases(name)
    planned, expected = [case for case, _ in pairs], [result for _, result in pairs]

    def check(fn):
        if custom is not None:
            custom(fn)
        for case, result in zip(planned, expected):
            run_case(fn, name, f"hidden: {case.name}", case.inputs, result.get("expected"), result.get("mistakes"),
                     result.get("raises"), mutable=case.mutable)

    return check


def custom_check(name):
    """The custom hidden check ``f(learner_fn)`` of ``name``: its ``HIDDEN_CUSTOM`` entry, or for a backward
    pass listed in ``BACKWARD_CASES`` :func:`autograder.hidden_backward.backward_check`; None if neither."""
    cases = cases_of(name)
    custom = getattr(cases, "HIDDEN_CUSTOM", {}).get(name)
    if custom is None and name in getattr(cases, "BACKWARD_CASES", {}):
        custom = backward_check(name)
    return custom


def run_hidden(name, executor, variable=None, only_custom=False, extra_globals=()):
    """Run the hidden tests of graded name ``name`` against the learner's global ``variable``
    (default ``name``) through ``executor`` (see :class:`Session`); raise CheckFailure on a failure.

    extra_globals: other learner globals the check may call (by their graded names), e.g. the
    forward pass a backward pass is checked with.
    """
    variable = variable or name
    module, planner = hidden_reference(name)
    references = {variable: planner, **{g: getattr(module, g, None) for g in extra_globals}}
    session = Session(executor, references, name,
                      plan_key=_check_key(name, variable, bool(only_custom), tuple(references.items())))
    check = _check_of(name, only_custom)
    fn = session.function(variable)
    try:
        session.run(lambda: check(fn))
    except (ProtocolError, NotData) as err:
        raise CheckFailure(message_no_results(name, err)) from None


def learner_namespace(fn, name):
    """The globals the learner's ``fn`` can see, with ``fn`` itself under ``name``."""
    namespace = dict(getattr(fn, "__globals__", None) or vars(sys.modules.get(getattr(fn, "__module__", ""), sys)))
    namespace[name] = fn
    return namespace


def check_hidden(fn, name=None, only_custom=False):
    """Run the hidden tests of graded function ``name`` (default ``fn.__name__``) on ``fn``, in-process,
    through the same scripts and judges as grading uses. Raises CheckFailure on a failure."""
    name = name or fn.__name__
    run_hidden(name, local_executor(learner_namespace(fn, name)), only_custom=only_custom,
               extra_globals=companion_names(name))


def companion_names(name):
    """Other graded globals the hidden check of ``name`` calls (a backward pass's forward pass)."""
    companion = getattr(cases_of(name), "BACKWARD_CASES", {}).get(name)
    return (companion[0],) if companion else ()
