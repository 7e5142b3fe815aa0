"""Hidden tests of a layer's backward pass, fed by the learner's own forward pass.

A backward pass is graded like any function (``check_hidden(dense_backward)`` in the hidden
block of its test cell), through an entry of the chapter's ``HIDDEN_CUSTOM`` made by
:func:`backward_check`. That entry needs the learner's forward pass too, because the cache is
the learner's choice: it takes the function of the forward pass's name from the namespace
the backward function was defined in (the notebook's, for a learner's function; the
reference or mistakes module's, in the test suite).

The chapter's cases module lists, in ``BACKWARD_CASES[name] = (forward name, f(rng))``, the
forward inputs and ``dout`` of each hidden case. Every case runs as
:func:`dlcourse.checks.backward.run_backward_case` describes: the backward pass passes with
the cache of the learner's forward pass, or with the suggested-layout cache of the reference
forward pass, so a wrong forward pass never costs the backward pass's points when the learner
keeps the suggested layout.
"""

import importlib

import numpy as np

from autograder.cases import Case, _quiet_call, evaluate, find_topic, reference_and_mistakes
from autograder.hidden import hidden_seed
from dlcourse.checks.backward import run_backward_case


def backward_cases(name, rng):
    """[(case name, forward inputs, dout, suggested-layout cache)] of the hidden cases of ``name``."""
    topic, module = find_topic(name)
    forward_name, make = module.BACKWARD_CASES[name]
    reference_forward = getattr(importlib.import_module(f"autograder.reference.{topic}"), forward_name)
    return [(case_name, inputs, dout, _quiet_call(reference_forward, inputs)[1])
            for case_name, inputs, dout in make(rng)]


def check_hidden_backward(backward, forward, name=None):
    """Run every hidden case of the backward pass ``name`` (default ``backward.__name__``).

    forward: the learner's forward pass, or None to test with suggested-layout caches only.
    """
    name = name or backward.__name__
    reference, mistakes = reference_and_mistakes(name)
    for case_name, inputs, dout, cache in backward_cases(name, np.random.default_rng(hidden_seed(name))):
        result = evaluate(Case(case_name, {"dout": dout, "cache": cache}), reference, mistakes)
        run_backward_case(backward, forward, name, f"hidden: {case_name}", inputs, dout, cache,
                          result["expected"], result["mistakes"])


def learner_forward(backward, forward_name):
    """The function called ``forward_name`` where ``backward`` was defined, or None."""
    candidate = getattr(backward, "__globals__", {}).get(forward_name)
    return candidate if callable(candidate) else None


def backward_check(name):
    """A ``HIDDEN_CUSTOM`` entry for the backward pass ``name``."""
    def check(fn):
        _, module = find_topic(name)
        check_hidden_backward(fn, learner_forward(fn, module.BACKWARD_CASES[name][0]), name)

    return check
