"""How a failed check looks in a notebook: the diagnosis, and the learner's own frames, nothing else.

A failed check raises :class:`CheckFailure`. Its message is the diagnosis (failing case, expected
vs got, the named mistake). In Jupyter, IPython shows an exception through its
``_render_traceback_()`` method when it has one; ours returns the diagnosis first and then, only
when the learner's code itself raised, the frames of the learner's code (notebook cells, their own
modules) with the line that raised. Frames of this package, of the standard library and of
installed packages (NumPy internals, Keras internals) are left out: the learner reads the first
lines of an error, so those are the diagnosis. ``str(failure)`` stays the plain message, which is
what the grader and the tests read.
"""

import os
import re
import sysconfig
import types

from dlcourse.i18n import tr

# Shown between the diagnosis and the learner's frames.
WHERE_YOUR_CODE_RAISED = "Where your code raised it:"

_RED, _RESET = "\x1b[31m", "\x1b[39m"

# How a diagnosis names a known mistake: "Your output matches <mistake>." (functions) or
# "Your class behaves like <mistake>[, or like <mistake>]." (classes), each on its own line.
_NAMED = re.compile(r"Your (?:output matches|class behaves like) (.+?)\.$", re.MULTILINE)
# The failing case in a diagnosis' first line: "<function>, case '<case>': ..." (the case may hold quotes).
_CASE = re.compile(r"case '(.+?)'(?=:|$)")


def named_mistakes(message):
    """The known mistakes an (English) diagnosis names, in order; [] when it names none."""
    names = []
    for found in _NAMED.finditer(message or ""):
        names.extend(found.group(1).split(", or like "))
    return names


def names_mistake(message, mistake):
    """True when the diagnosis names ``mistake`` (alone, or followed by ": <how to fix it>")."""
    return any(name == mistake or name.startswith(mistake + ": ") for name in named_mistakes(message))


def failing_case(message):
    """The case named in a diagnosis' first line, or None."""
    first = (message or "").splitlines()[0] if message else ""
    found = _CASE.search(first)
    return found.group(1) if found else None


class CheckFailure(AssertionError):
    """A check failed; the message says which case, expected vs got, and the likely mistake.

    learner_error: the exception the learner's code raised, when that is why the check failed
    (defaults to the exception being handled when this one was raised, if any).
    """

    def __init__(self, message="", learner_error=None):
        super().__init__(tr(message) if isinstance(message, str) else message)  # in the learner's language
        self.learner_error = learner_error

    def _render_traceback_(self):
        """The lines IPython shows for this exception (list of str, ANSI colours allowed)."""
        lines = [f"{_RED}{type(self).__name__}{_RESET}: {self}"]
        raised = self.learner_error if self.learner_error is not None else self.__context__
        if _shows_frames(raised):
            frames = learner_traceback(raised.__traceback__)
            if frames is not None:
                lines += ["", WHERE_YOUR_CODE_RAISED] + _format(raised, frames)
        return lines


def _shows_frames(error):
    """Whether a learner's exception is worth showing: not a check's own, not an unfinished stub."""
    return isinstance(error, Exception) and not isinstance(error, (CheckFailure, NotImplementedError))


def _library_dirs():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the dlcourse package
    paths = sysconfig.get_paths()
    found = {here} | {os.path.abspath(paths[k]) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(os.path.join(d, "") for d in sorted(found))


_LIBRARY_DIRS = _library_dirs()


def is_learner_file(filename):
    """True for code the learner wrote: a notebook cell or their own module, not a library's."""
    if filename.startswith("<") and not filename.startswith("<ipython-input"):
        return False  # <frozen ...>, <string> and the like
    return not os.path.abspath(filename).startswith(_LIBRARY_DIRS)


def learner_traceback(tb):
    """A new traceback chain with only the learner's frames of ``tb``; None when there are none."""
    kept = []
    while tb is not None:
        if is_learner_file(tb.tb_frame.f_code.co_filename):
            kept.append(tb)
        tb = tb.tb_next
    chain = None
    for entry in reversed(kept):
        chain = types.TracebackType(chain, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return chain


def _format(error, tb):
    """IPython's rendering of ``error`` with traceback ``tb`` (cells as "Cell In[3], line 2")."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        return shell.InteractiveTB.structured_traceback(type(error), error, tb, tb_offset=0)
    import traceback

    return [line.rstrip("\n") for line in traceback.format_exception(type(error), error, tb)]
