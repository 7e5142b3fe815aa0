"""Hidden tests of a layer's backward pass, fed by the learner's own forward pass.

A backward pass is graded like any function (``check_hidden(dense_backward)`` in the hidden
block of its test cell): :mod:`autograder.hidden` runs :func:`backward_check` for every function
listed in the chapter's ``BACKWARD_CASES``. That check needs the learner's forward pass too, because the cache is
the learner's choice: it calls the learner's global of the forward pass's name, and the
cache that forward pass returned travels back to the backward pass as a reference to that
earlier result (it never leaves the place the learner's code runs).

The chapter's cases module lists, in ``BACKWARD_CASES[name] = (forward name, f(rng))``, the
forward inputs and ``dout`` of each hidden case. Every case runs as
:func:`dlcourse.checks.backward.run_backward_case` describes: the backward pass passes with
the cache of the learner's forward pass, or with the suggested-layout cache of the reference
forward pass, so a wrong forward pass never costs the backward pass's points when the learner
keeps the suggested layout.
"""

import numpy as np

from autograder.chapters import cases_of, chapter_of, reference_and_mistakes, reference_of
from autograder.checking import Case, _quiet_call, computed_once, evaluate, hidden_seed, message_no_results
from autograder.protocol.session import Session, local_executor
from autograder.protocol.wire import NotData, ProtocolError
from dlcourse.checks.backward import run_backward_case
from dlcourse.checks.runner import CheckFailure


def backward_cases(name, rng):
    """[(case name, forward inputs, dout, suggested-layout cache)] of the hidden cases of ``name``."""
    forward_name, make = cases_of(name).BACKWARD_CASES[name]
    reference_forward = getattr(reference_of(name), forward_name)
    return [(case_name, inputs, dout, _quiet_call(reference_forward, inputs)[1])
            for case_name, inputs, dout in make(rng)]


def _expected_backward(name):
    """[(case name, forward inputs, dout, cache, evaluate's result)] of the hidden cases of the backward
    pass ``name``, computed once per process (each call gets a deep copy)."""
    reference, mistakes = reference_and_mistakes(name)
    forward_name, make = cases_of(name).BACKWARD_CASES[name]
    key = (chapter_of(name).id, name, "backward cases", hidden_seed(name), make, reference,
           getattr(reference_of(name), forward_name), tuple(mistakes.items()))
    return computed_once(key, lambda: [
        (case_name, inputs, dout, cache, evaluate(Case(case_name, {"dout": dout, "cache": cache}), reference, mistakes))
        for case_name, inputs, dout, cache in backward_cases(name, np.random.default_rng(hidden_seed(name)))])


def _check_cases(backward, forward, name):
    """The hidden cases of the backward pass ``name``; backward/forward: the learner's (proxied) functions."""
    for case_name, inputs, dout, cache, result in _expected_backward(name):
        run_backward_case(backward, forward, name, f"hidden: {case_name}", inputs, dout, cache,
                          result["expected"], result["mistakes"])


def check_hidden_backward(backward, forward, name=None):
    """Run every hidden case of the backward pass ``name`` (default ``backward.__name__``) in-process,
    through the same scripts and judges as grading.

    forward: the learner's forward pass, or None to test with suggested-layout caches only.
    """
    name = name or backward.__name__
    forward_name = cases_of(name).BACKWARD_CASES[name][0]
    namespace = {name: backward}
    if forward is not None:
        namespace[forward_name] = forward
    module = reference_of(name)
    session = Session(local_executor(namespace), {name: getattr(module, name), forward_name: getattr(module, forward_name)},
                      name)
    learner = session.function(name)
    learner_forward = session.function(forward_name) if forward is not None else None
    try:
        session.run(lambda: _check_cases(learner, learner_forward, name))
    except (ProtocolError, NotData) as err:
        raise CheckFailure(message_no_results(name, err)) from None


def backward_check(name):
    """The custom hidden check of the backward pass ``name``: the learner's forward pass is their
    global of the forward pass's name (a missing one fails its calls, and the suggested caches are used)."""
    def check(fn):
        _check_cases(fn, fn.sibling(cases_of(name).BACKWARD_CASES[name][0]), name)

    return check
