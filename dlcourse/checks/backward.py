"""Checking a layer's backward pass together with the learner's own forward pass.

A layer is a pair: ``forward(...) -> (out, cache)`` and ``backward(dout, cache)``. What goes
into the cache is the learner's choice (the notebook suggests a layout), so a backward pass
is checked with the cache the learner's *own* forward pass makes::

    check_backward(batchnorm_backward, batchnorm_forward)

For every case the backward pass passes when it returns the expected gradients

1. with the cache from the learner's forward pass on the case's inputs, or else
2. with a cache in the notebook's suggested layout, made by a correct forward pass.

So a learner who keeps the suggested layout is graded on the backward pass alone, even
while their forward pass is still wrong; a learner who picks their own layout is graded
with their own caches (a forward pass that raises or stores wrong values can then make the
backward check fail too, and the message says so).

The stored cases of a backward function hold ``dout`` and a suggested-layout ``cache``;
each chapter's property module maps the function name to a function that reads the forward
pass's inputs back from such a cache (``FORWARD_INPUTS``).
"""

import copy
import functools
import importlib
import pkgutil
import warnings

from dlcourse.checks import CheckFailure, stored_cases
from dlcourse.checks.runner import run_case
from dlcourse.i18n import tr

__all__ = ["check_backward", "run_backward_case"]


@functools.lru_cache(maxsize=None)
def forward_inputs_readers():
    """dict backward function name -> f(suggested-layout cache) -> the forward pass's keyword inputs."""
    import dlcourse.checks.properties as pkg

    found = {}
    for info in pkgutil.iter_modules(pkg.__path__):
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        found.update(getattr(module, "FORWARD_INPUTS", {}))
    return found


def _own_cache(forward, forward_inputs):
    """(cache, None) from the learner's forward pass, or (None, why it could not be used)."""
    fname = getattr(forward, "__name__", "the forward pass")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = forward(**copy.deepcopy(forward_inputs))
    except NotImplementedError:
        return None, f"{fname} is not implemented yet"
    except Exception as err:  # noqa: BLE001 - the learner's code may raise anything
        return None, f"{fname} raised {type(err).__name__}: {err}"
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return None, f"{fname} did not return a pair (out, cache)"
    return result[1], None


def _crashes(backward, dout, cache):
    """The exception the backward pass raises on (dout, cache), or None; NotImplementedError propagates."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            backward(copy.deepcopy(dout), copy.deepcopy(cache))
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001
        return err
    return None


def run_backward_case(backward, forward, name, case_name, forward_inputs, dout, cache, expected, mistakes=None):
    """Check one case of a backward pass; raise CheckFailure with a diagnostic message when it fails.

    forward: the learner's forward pass, or None to use only ``cache``.
    forward_inputs: keyword inputs of the forward pass for this case; cache: the same case's
    cache in the suggested layout; expected: the gradients; mistakes: name -> wrong gradients.
    """
    own_failure, why_not_own = None, None
    if forward is not None:
        own, why_not_own = _own_cache(forward, forward_inputs)
        if why_not_own is None:
            fname = getattr(forward, "__name__", "forward")
            try:
                run_case(backward, name, f"{case_name} (cache from your {fname})", {"dout": dout, "cache": own},
                         expected, mistakes)
                return
            except CheckFailure as failure:
                own_failure = failure
                if "is not implemented yet" in str(failure):
                    raise
    try:
        crash = _crashes(backward, dout, cache)
    except NotImplementedError:
        raise CheckFailure(f"{name} is not implemented yet: replace `raise NotImplementedError()` in its cell "
                           "with your code.") from None
    if crash is not None:
        crash_text = f"{type(crash).__name__}: {crash}"
        if own_failure is not None:
            # probably a layout of its own: then only its own forward pass's caches can test it
            raise CheckFailure(
                f"{own_failure}\n  (With a cache in the suggested layout your {name} raised {crash_text}. If it reads "
                "a layout of your own, it can only be checked with the caches your forward pass makes: if the forward "
                "pass fails its own check, fix that first.)") from None
        where = f"{why_not_own}, so its cache could not be used" if why_not_own else "no forward pass was given"
        raise CheckFailure(
            f"{name}, case '{case_name}': {where}, and with a cache in the suggested layout your {name} raised "
            f"{crash_text}. Make the forward pass work first, or let the backward pass read the suggested layout.")
    try:
        run_case(backward, name, f"{case_name} (suggested cache layout)", {"dout": dout, "cache": cache}, expected,
                 mistakes)
    except CheckFailure as failure:
        note = f"\n  (Your forward pass could not be used: {why_not_own}.)" if why_not_own else ""
        raise CheckFailure(f"{failure}{note}") from None


def check_backward(backward, forward, name=None):
    """Run the visible checks of a backward pass, fed by the caches of the learner's forward pass.

    backward, forward: the learner's functions, e.g. ``batchnorm_backward, batchnorm_forward``.
    name: the graded backward function's name; defaults to ``backward.__name__``.
    Raises CheckFailure naming the failing case, expected vs got and the known mistake matched.
    """
    name = name or getattr(backward, "__name__", None)
    cases = stored_cases().get(name)
    reader = forward_inputs_readers().get(name)
    if cases is None or reader is None:
        raise KeyError(f"no visible backward checks are stored for {name!r}")
    for case in cases:
        inputs = case["inputs"]
        run_backward_case(backward, forward, name, case["name"], reader(inputs["cache"]), inputs["dout"],
                          inputs["cache"], case.get("expected"), case.get("mistakes"))
    fname = getattr(forward, "__name__", "forward")
    print(tr(f"\N{CHECK MARK} {name}: all {len(cases)} visible checks passed (with the caches of your {fname})."))
