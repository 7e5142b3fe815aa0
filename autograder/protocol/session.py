"""Running a hidden check against the learner's code through scripts of calls (the grading side).

A hidden check is ordinary code, ``check(fn)``, that calls the learner's function (or class)
``fn`` and judges what comes back. Here ``fn`` is a :class:`LearnerFunction`: calling it does
not run the learner's code, it adds a *step* (data) to a script. The session runs the check in
rounds:

1. **plan**: calls beyond what is known are answered *speculatively* by the reference
   implementation, and recorded as steps; generators passed in travel as their state, objects
   the learner's code returned travel as handles (plain data travels as itself: a forward pass's
   cache given back to the backward pass is sent again, exactly);
   a callable passes as one of the named test functions (a callable object with an ``fn``
   attribute that is one stands for it, and sees every call the learner's code made);
2. **execute**: the whole script goes to the interpreter (:mod:`.interpreter`: in the learner's
   kernel at grading time, in-process for an author) and every step's outcome comes back as
   data (:func:`.wire.decode_results`);
3. **replay**: the check runs again; calls that match the script get the learner's recorded
   outcomes (return values, exceptions rebuilt by class name, warnings re-emitted, in-place
   changes of the arguments applied, calls the learner's code made to a recording callable
   replayed on the check's object). If the check then asks for a call the script did not have
   (its next input depends on the learner's output), the rest is planned again, answering calls
   the learner's code already answered in an earlier script with those answers, and executed.

The verdict is the one of a round that used no speculative answer: everything it judged came
from the learner's code, and it was judged here. Nothing of the check (expected values,
references, mistakes) ever reaches the interpreter.

The first round's script depends on the check and its references only (nothing the learner's code
answered exists yet): a session given a ``plan_key`` keeps it, per process, as JSON text, and a
later session with the same key sends that script without running the check's first round (for
``train_mlp`` that round trains the reference on the digits). The verdict still comes from a round
judged on the learner's answers, so grades do not change.
"""

import builtins
import json
import os
import types
import warnings

import numpy as np

from autograder.protocol import wire
from autograder.protocol.wire import NotData, ProtocolError, decode_results, encode, fresh_copy, key
from dlcourse.checks.runner import CheckFailure

_FUNCTIONS_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                               "dlcourse", "checks", "functions.py")
MAX_ROUNDS = 64  # a check whose every case depends on the learner's previous answer takes one round per case
MAX_STEPS_EXECUTED = 1_000_000  # over all rounds of one check
MAX_RESULT_CHARS = 48_000_000
_PLANS = {}  # plan key -> JSON text of the steps of a check's first round (see Session.run)


def functions_source():
    """Source of the named test functions (plain functions of arrays; sent to the interpreter)."""
    with open(_FUNCTIONS_FILE, encoding="utf-8") as f:
        return f.read()


class _Speculative(Exception):
    """A speculative answer could not be computed (the round is planning only)."""


class _Absent:
    pass


_ABSENT = _Absent()
_EXCEPTIONS = {}


def rebuild_exception(names, message):
    """An exception of the learner's class name that is an instance of the builtin classes along its MRO."""
    base = next((getattr(builtins, n) for n in names if isinstance(getattr(builtins, n, None), type)
                 and issubclass(getattr(builtins, n), Exception)), Exception)
    if names[0] == base.__name__:
        return base(message)
    cls = _EXCEPTIONS.setdefault((names[0], base), type(names[0], (base,), {"__str__": lambda self: self.args[0]}))
    return cls(message)


def _reemit(caught):
    for names, message in caught:
        category = next((getattr(builtins, n) for n in names if isinstance(getattr(builtins, n, None), type)
                         and issubclass(getattr(builtins, n), Warning)), UserWarning)
        warnings.warn(message, category, stacklevel=4)


def _write_back(target, value):
    """Apply an in-place change the learner's code made to an argument, to the check's own object."""
    try:
        if isinstance(target, np.ndarray) and isinstance(value, np.ndarray) and target.shape == value.shape:
            np.copyto(target, value, casting="unsafe")
        elif isinstance(target, dict) and isinstance(value, dict):
            target.clear()
            target.update(value)
        elif isinstance(target, list) and isinstance(value, list):
            target[:] = value
    except (TypeError, ValueError):
        pass


def _holds_handles(value, depth=0):
    if isinstance(value, RemoteObject) or depth > 20:
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_handles(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(_holds_handles(v, depth + 1) for v in value.values())
    return False


class LearnerFunction:
    """Stands for the learner's global ``global_name`` (a function or a class) in a check."""

    def __init__(self, session, global_name, reference):
        self._session, self._global, self._reference = session, global_name, reference
        self.__name__ = getattr(reference, "__name__", global_name)

    def __call__(self, *args, **kwargs):
        return self._session.call({"op": "call", "fn": self._global}, args, kwargs, self._reference)

    def sibling(self, global_name):
        """The learner's other global ``global_name`` (e.g. the forward pass of a backward pass)."""
        return self._session.function(global_name)

    @property
    def session(self):
        """The :class:`Session` this check runs in (for steps that are not calls of the learner's code)."""
        return self._session

    @property
    def last_call_seconds(self):
        """Seconds the learner's code took in the last call (measured where it ran)."""
        return self._session.last_seconds

    @property
    def last_call_shares(self):
        """Which returned arrays of the last call may share memory with which array arguments, as the
        interpreter reported it: [[item of a returned tuple/list or "", argument index or name], ...]."""
        return self._session.last_shares

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return f"<the learner's {self._global}>"


class RemoteObject:
    """An object the learner's code returned; it stays where that code runs, known here by a handle."""

    def __init__(self, session, slot, type_names, attrs, instance=_ABSENT):
        self._session, self._slot, self._types, self._attrs, self._instance = (session, slot, type_names, attrs,
                                                                              instance)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if self._instance is not _ABSENT:  # planning: the reference's object decides
            attr = getattr(self._instance, name)
            if callable(attr):
                return RemoteMethod(self, name, attr)
            return self._session.call({"op": "getattr", "obj": self._slot, "name": name}, (), {}, lambda: attr)
        if self._attrs.get(name):
            return RemoteMethod(self, name, None)
        return self._session.call({"op": "getattr", "obj": self._slot, "name": name}, (), {}, None)

    def __call__(self, *args, **kwargs):
        return RemoteMethod(self, "__call__", None if self._instance is _ABSENT else self._instance)(*args, **kwargs)

    def __deepcopy__(self, memo):
        return self

    def __repr__(self):
        return f"<{self._types[0] if self._types else 'object'} object>"


class RemoteMethod:
    def __init__(self, owner, name, reference):
        self._owner, self._name, self._reference = owner, name, reference

    def __call__(self, *args, **kwargs):
        step = {"op": "method", "obj": self._owner._slot, "name": self._name}
        return self._owner._session.call(step, args, kwargs, self._reference)


class Session:
    """One hidden check of one graded name, run in rounds against ``executor``.

    executor(script JSON text) -> results JSON text (raises ProtocolError when nothing usable came back).
    globals_to_reference: dict learner global name -> the reference object used to plan its calls.
    plan_key: a hashable key fixing the check, its references and the learner globals it calls, from
    instructor code only; sessions with one key share their first round's script (None: no sharing).
    """

    def __init__(self, executor, globals_to_reference, label, max_rounds=MAX_ROUNDS, plan_key=None):
        self.executor, self.references, self.label, self.max_rounds = executor, globals_to_reference, label, max_rounds
        self.plan_key = plan_key
        self.known = []  # (step key, outcome) of the last executed script
        self.memo = {}  # step key -> outcome (plain data only), from every executed script
        self.last_seconds = None
        self.last_shares = []

    def function(self, global_name):
        return LearnerFunction(self, global_name, self.references.get(global_name))

    # -- rounds ------------------------------------------------------------------------------
    def run(self, check):
        """Run ``check()`` to a verdict: return when it passes, raise CheckFailure when it fails."""
        for round_number in range(self.max_rounds):
            self._start_round()
            first = round_number == 0 and not self.memo and not self.known
            if first and self.plan_key in _PLANS:  # the same script the check's first round would make
                self.steps = json.loads(_PLANS[self.plan_key])
                self.step_keys = [key(step) for step in self.steps]
                self._execute()
                continue
            failure = None
            try:
                check()
            except CheckFailure as err:
                failure = err
            except _Speculative:
                pass
            except (ProtocolError, NotData):
                raise
            except Exception as err:  # noqa: BLE001 - e.g. the learner's object used where data was expected
                failure = CheckFailure(f"{self.label}: the hidden tests could not use what your code returned "
                                       f"({type(err).__name__}: {err})")
            if not self.speculating:
                if failure is not None:
                    raise failure
                return
            if first and self.plan_key is not None:
                _PLANS[self.plan_key] = json.dumps(self.steps, allow_nan=True)
            self._execute()
        raise CheckFailure(f"{self.label}: the hidden tests did not settle after {self.max_rounds} rounds of calls")

    def _start_round(self):
        self.steps, self.step_keys, self.speculating = [], [], False
        self.generators, self.alive, self.callbacks = {}, [], {}

    def _execute(self):
        self.executed = getattr(self, "executed", 0) + len(self.steps)
        if self.executed > MAX_STEPS_EXECUTED:
            raise CheckFailure(f"{self.label}: the hidden tests needed more calls than allowed")
        script = json.dumps({"functions": functions_source(), "limit": MAX_RESULT_CHARS, "steps": self.steps})
        text = self.executor(script)
        outcomes = decode_results(text, len(self.steps), self._make_object, MAX_RESULT_CHARS + 1_000_000)
        if len(outcomes) < len(self.steps):
            raise ProtocolError("the results stopped early (larger than allowed)")
        self.known = list(zip(self.step_keys, outcomes))
        self.memo.update((k, outcome) for k, outcome in self.known if not _holds_handles(outcome.get("ok")))

    def _make_object(self, slot, type_names, attrs):
        return RemoteObject(self, slot, type_names, attrs)

    # -- one call ----------------------------------------------------------------------------
    def call(self, head, args, kwargs, reference):
        step = dict(head, args=[self._encode(a) for a in args], kwargs={k: self._encode(v) for k, v in kwargs.items()})
        step_key = key(step)
        j = len(self.steps)
        self.steps.append(step)
        self.step_keys.append(step_key)
        if not self.speculating and j < len(self.known) and self.known[j][0] == step_key:
            return self._replay(j, self.known[j][1], args, kwargs)
        self.speculating = True
        remembered = self.memo.get(step_key)
        if remembered is not None:  # the learner's answer to this very call in an earlier script: a better guess
            return self._replay(j, remembered, args, kwargs)
        return self._speculate(j, reference, args, kwargs)

    def identical(self, a, b):
        """Whether the kernel objects behind handles ``a`` and ``b`` are one and the same."""
        if not isinstance(a, RemoteObject) or not isinstance(b, RemoteObject):
            return a is b
        return self.call({"op": "is", "obj": a._slot}, (b,), {}, _on_instance(a, lambda obj, other: obj is other))

    def iterate(self, handle, limit):
        """The first ``limit`` items of ``iter(handle)`` in the kernel, tensors as NumPy arrays."""
        return self.call({"op": "iterate", "obj": handle._slot, "limit": int(limit)}, (), {},
                         _on_instance(handle, lambda obj: [_arrays(item) for item in _first(obj, limit)]))

    def _replay(self, j, outcome, args, kwargs):
        self.last_seconds = outcome.get("seconds")
        self.last_shares = outcome.get("shares", [])
        _reemit(outcome["warnings"])
        for where, value in outcome.get("after", {}).items():
            target = args[int(where)] if where.isdigit() and int(where) < len(args) else kwargs.get(where)
            _write_back(target, fresh_copy(value))
        for tag, calls in outcome.get("callbacks", {}).items():
            target = self.callbacks.get(tag)
            for cb_args, cb_kwargs in calls:
                try:
                    target(*fresh_copy(cb_args), **fresh_copy(cb_kwargs))
                except Exception:  # noqa: BLE001 - replaying what the learner's code did; its effect is what counts
                    pass
        if "raised" in outcome:
            raise rebuild_exception(*outcome["raised"])
        value = fresh_copy(outcome["ok"])
        return value

    def _speculate(self, j, reference, args, kwargs):
        if reference is None:
            raise _Speculative()
        try:
            ref_args = [self._for_reference(a) for a in args]
            ref_kwargs = {k: self._for_reference(v) for k, v in kwargs.items()}
        except _Speculative:
            raise
        value = reference(*ref_args, **ref_kwargs)
        value = self._plan_objects(value, (j,))
        return value

    # -- values ------------------------------------------------------------------------------
    def _special(self, value):
        if isinstance(value, RemoteObject):
            return {"__ref__": value._slot}
        if isinstance(value, np.random.Generator):
            known = self.generators.get(id(value))
            if known is not None:
                return {"__ref__": known[0]}
            slot, state = f"g{len(self.generators)}", value.bit_generator.state
            # (slot, the check's generator (kept alive: its id is the key), the state sent, the reference's
            # copy: made from that state when the reference first needs it, i.e. only when planning)
            self.generators[id(value)] = [slot, value, state, None]
            return {"__gen__": slot, "state": state}
        named = getattr(value, "fn", None)
        if callable(value) and isinstance(named, types.FunctionType) and named in wire.FUNCTION_NAMES:
            tag = f"c{len(self.callbacks)}"
            self.callbacks[tag] = value
            self.alive.append(value)
            return {"__callable__": wire.FUNCTION_NAMES[named], "record": tag}
        return None

    def _encode(self, value):
        return encode(value, self._special)

    def _for_reference(self, value):
        """The argument as the reference sees it while planning (its own generators and objects)."""
        if isinstance(value, RemoteObject):
            if value._instance is _ABSENT:
                raise _Speculative()
            return value._instance
        if isinstance(value, np.random.Generator):
            self._special(value)
            entry = self.generators[id(value)]
            if entry[3] is None:
                entry[3] = _generator_from_state(entry[2])
            return entry[3]
        if isinstance(value, (tuple, list)):
            parts = [self._for_reference(v) for v in value]
            return value if all(p is v for p, v in zip(parts, value)) else type(value)(parts)
        if isinstance(value, dict):
            parts = {k: self._for_reference(v) for k, v in value.items()}
            return value if all(parts[k] is value[k] for k in value) else parts
        return value

    def _plan_objects(self, value, where):
        """The reference's answer, with objects that would not travel as data turned into handles."""
        try:
            encode(value, self._special)
            return value
        except NotData:
            pass
        if type(value) in (tuple, list):
            return type(value)(self._plan_objects(v, where + (i,)) for i, v in enumerate(value))
        if type(value) is dict:
            return {k: self._plan_objects(v, where + (i,)) for i, (k, v) in enumerate(value.items())}
        attrs = {}
        for name in dir(value):
            if not name.startswith("_"):
                attrs[name] = callable(getattr(value, name, None))
        return RemoteObject(self, ":".join(str(p) for p in where), [c.__name__ for c in type(value).__mro__], attrs,
                            instance=value)


def _generator_from_state(state):
    """A new ``np.random.Generator`` in ``state`` (a ``bit_generator.state`` dict), as the interpreter makes it."""
    generator = np.random.Generator(getattr(np.random, state["bit_generator"])())
    generator.bit_generator.state = state
    return generator


def _on_instance(handle, reference):
    """A planning answer computed on the object behind ``handle`` (none when it is not known here)."""
    def planned(*args):
        if handle._instance is _ABSENT:
            raise _Speculative()
        return reference(handle._instance, *args)

    return planned


def _first(iterable, limit):
    out = []
    for item in iterable:
        if len(out) >= limit:
            break
        out.append(item)
    return out


def _arrays(item):
    """``item`` as the interpreter's ``iterate`` step returns it (its own ``as_arrays``)."""
    return _interpreter()["as_arrays"](item)


def interpreter_source():
    """The interpreter's source text: what is sent into the learner's kernel."""
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "interpreter.py"), encoding="utf-8") as f:
        return f.read()


def _interpreter():
    """The interpreter's source text run (``exec``) in a private namespace, as the kernel runs it."""
    private = {"__name__": "dlcourse_hidden_interpreter"}
    exec(compile(interpreter_source(), "<hidden-test interpreter>", "exec"), private)  # noqa: S102
    return private


def local_executor(namespace):
    """An executor that runs the interpreter in this process on ``namespace``: the same source text as
    the kernel gets, run the same way (``exec`` in a private namespace)."""
    private = _interpreter()
    return lambda script_text: private["run"](namespace, script_text)


__all__ = ["LearnerFunction", "ProtocolError", "RemoteObject", "Session", "local_executor", "wire"]
