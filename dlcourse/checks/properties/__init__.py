"""Property-based visible checks, one module per chapter, each exporting PROPERTY_CHECKS.

Used for functions whose exact output depends on how a random generator is used
(shuffling, dropout masks, initializers), that take callables, or that are classes:
they check what every correct implementation satisfies, never one exact stream.
A property check takes the learner's function, raises CheckFailure on a problem and
returns the number of checks it ran.

The numbers a property check compares with (expected outputs and traces, and those of
the known mistakes) are never written here by hand: ``python -m autograder.build_checks``
computes them from the instructor's reference and stores them in
``dlcourse/checks/cases/properties/<chapter>.json``; :func:`stored` reads them back.
"""

import functools
from importlib import resources

from dlcourse.checks.encoding import loads


@functools.lru_cache(maxsize=None)
def _stored_text(chapter):
    return resources.files("dlcourse.checks").joinpath("cases", "properties", f"{chapter}.json").read_text(
        encoding="utf-8")


def stored(chapter):
    """The stored numbers of ``chapter`` (e.g. ``"04_learning_rate_schedules"``): a fresh dict of
    arrays, tuples, lists and numbers each call (a check may change what it is given)."""
    return loads(_stored_text(chapter))
