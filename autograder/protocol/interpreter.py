"""The interpreter of hidden-test scripts: the only code grading sends into the learner's kernel.

This file is sent as *source text* and run with ``exec`` in a private namespace (in the kernel
at grading time; in-process when an author runs ``check_hidden``). It imports nothing from the
course (only the standard library and NumPy), holds no expected value and no checking logic:
it performs a list of steps given as data on the learner's objects and returns what happened,
as data. Everything is judged in the grading process (:mod:`autograder.protocol.session`).

Script (JSON)::

    {"functions": "<source of the named test functions>", "limit": <max result characters>,
     "steps": [step, ...]}

Step kinds (``op``):

- ``call``:    ``{"op": "call", "fn": name, "args": [...], "kwargs": {...}}``: call the learner's
  global ``name`` (a function, or a class: constructing it);
- ``method``:  ``{"op": "method", "obj": slot, "name": attr, "args", "kwargs"}``: call a method of
  an object an earlier step returned (``"__call__"`` calls the object itself);
- ``getattr``: ``{"op": "getattr", "obj": slot, "name": attr}``: read an attribute;
- ``is``:      ``{"op": "is", "obj": slot, "args": [value]}``: whether the two are the same object;
- ``iterate``: ``{"op": "iterate", "obj": slot, "limit": n}``: the first ``n`` items of ``iter(obj)``,
  every leaf that has ``__array__`` (a tensor) turned into a NumPy array;
- ``keras``:   ``{"op": "keras", "config": JSON text, "compile": JSON text or null, "args": [weights or null]}``:
  a Keras object deserialized from its config with Keras's ``safe_mode`` on (only Keras's own
  classes, no lambdas), given the weights (a model) and compiled from the compile config;
- ``dataset``: ``{"op": "dataset", "batch": b, "args": [x, y]}``: ``tf.data.Dataset.from_tensor_slices((x, y)).batch(b)``;
- ``policy``:  ``{"op": "policy", "set": name or null}``: the name of Keras's global dtype policy,
  then (with a name) set it. The policy seen before the first such step is restored when the
  script ends, whatever happened.

Keras and TensorFlow are imported by those three steps only, when they run.

Argument values are wire values (see :func:`_to_wire`), plus: ``{"__gen__": slot, "seed"| "state": ...}``
(a new ``np.random.Generator``, kept under ``slot``), ``{"__ref__": slot}`` (an object kept
earlier, passed as itself) and ``{"__callable__": name}`` (one of
the named test functions; with ``"record": tag`` every call the learner's code makes to it is
reported back under ``"callbacks"`` ``{tag: [[args, kwargs], ...]}``).

Result (JSON): ``[outcome per step]`` where an outcome is ``{"ok": value}`` or
``{"raised": [[class names along the MRO], message]}``, plus optionally ``"after"`` (arguments
the call changed in place), ``"shares"`` (returned arrays that may share memory with an array
argument: [[item of a returned tuple/list or "", argument index or name]]), ``"warnings"``
([[category names], message]) and ``"seconds"``.
A value that is not plain data (e.g. an instance of the learner's class) comes back as
``{"__obj__": slot, "type": [class names], "attrs": [[public attribute name, callable?]]}`` and stays in
the kernel under ``slot`` for later steps.
"""


def as_arrays(item, depth=0):
    """``item`` with every leaf that has ``__array__`` (a tensor) as a NumPy array."""
    import numpy as np

    if isinstance(item, (tuple, list)) and depth < 10:
        return type(item)(as_arrays(v, depth + 1) for v in item)
    if isinstance(item, dict) and depth < 10:
        return {k: as_arrays(v, depth + 1) for k, v in item.items()}
    return np.asarray(item) if hasattr(item, "__array__") and not isinstance(item, np.ndarray) else item


def run(namespace, script_text):
    """Perform the steps of ``script_text`` on the objects of ``namespace``; return the results as JSON text."""
    import base64
    import copy
    import itertools
    import json
    import time
    import warnings

    import numpy as np

    script = json.loads(script_text)
    limit = int(script.get("limit", 16_000_000))
    functions = {}
    if script.get("functions"):
        exec(script["functions"], functions)  # noqa: S102 - the course's named test functions, sent as data
    slots = {}

    def mro(cls):
        return [c.__name__ for c in getattr(cls, "__mro__", (cls,))]

    def to_wire(value, where, depth=0):
        if depth > 40:
            raise ValueError("nested too deeply")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int) and type(value) is int:
            return value if abs(value) < 2 ** 63 else float(value)
        if isinstance(value, float) and type(value) is float:
            return value
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
            data = np.array(value, order="C", copy=True)
            return {"__nd__": [data.dtype.str, list(data.shape), base64.b64encode(data.tobytes()).decode()]}
        if isinstance(value, np.generic) and value.dtype.kind in "biufc":
            return {"__scalar__": [value.dtype.str, base64.b64encode(np.asarray(value).tobytes()).decode()]}
        if isinstance(value, np.bool_):
            return bool(value)
        if type(value) is tuple:
            return {"__tuple__": [to_wire(v, where + (i,), depth + 1) for i, v in enumerate(value)]}
        if type(value) is list:
            return [to_wire(v, where + (i,), depth + 1) for i, v in enumerate(value)]
        if type(value) is dict and all(type(k) in (str, int) for k in value):
            return {"__dict__": [[k, to_wire(v, where + (i,), depth + 1)] for i, (k, v) in enumerate(value.items())]}
        slot = ":".join(str(p) for p in where)
        slots[slot] = value
        names = []
        try:
            for n in [n for n in dir(value) if not n.startswith("_")][:300]:
                try:
                    names.append([n, callable(getattr(value, n))])
                except Exception:  # noqa: BLE001 - a property that raises
                    names.append([n, False])
        except Exception:  # noqa: BLE001 - a hostile __dir__
            pass
        return {"__obj__": slot, "type": mro(type(value)), "attrs": names}

    def from_wire(value):
        if isinstance(value, list):
            return [from_wire(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__nd__" in value:
            dtype, shape, data = value["__nd__"]
            return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype)).reshape(tuple(shape)).copy()
        if "__scalar__" in value:
            dtype, data = value["__scalar__"]
            return np.frombuffer(base64.b64decode(data), dtype=np.dtype(dtype))[0]
        if "__tuple__" in value:
            return tuple(from_wire(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: from_wire(v) for k, v in value["__dict__"]}
        if "__gen__" in value:
            if "state" in value:
                gen = np.random.Generator(getattr(np.random, value["state"]["bit_generator"])())
                gen.bit_generator.state = value["state"]
            else:
                gen = np.random.default_rng(value["seed"])
            slots[value["__gen__"]] = gen
            return gen
        if "__ref__" in value:
            return slots[value["__ref__"]]
        if "__callable__" in value:
            named = functions[value["__callable__"]]
            if not value.get("record"):
                return named
            seen = recorded.setdefault(value["record"], [])

            def recorder(*args, **kwargs):
                if len(seen) < 100_000:
                    seen.append([to_wire(list(args), ("cb",)), to_wire(kwargs, ("cb",))])
                return named(*args, **kwargs)

            return recorder
        if "__float__" in value:
            return float(value["__float__"])
        raise ValueError(f"unknown wire value {sorted(value)}")

    def same(a, b):
        try:
            if isinstance(a, np.ndarray):
                return isinstance(b, np.ndarray) and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
            if isinstance(a, dict):
                return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
            if isinstance(a, list):
                return isinstance(b, list) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        except Exception:  # noqa: BLE001
            return False
        return True

    policy_before = []

    def keras_step(step, args):
        if step["op"] == "dataset":
            import tensorflow as tf

            return tf.data.Dataset.from_tensor_slices(tuple(args[0])).batch(int(step["batch"]))
        import keras

        if step["op"] == "policy":
            name = keras.mixed_precision.global_policy().name
            if not policy_before:
                policy_before.append(name)
            if step.get("set"):
                keras.mixed_precision.set_global_policy(str(step["set"]))
            return name
        made = keras.saving.deserialize_keras_object(json.loads(step["config"]), safe_mode=True)
        if args and args[0] is not None:
            made.set_weights(args[0])
        if step.get("compile"):
            made.compile_from_config(json.loads(step["compile"]))
        return made

    results, recorded = [], {}

    def run_all():
        used = 0
        for index, step in enumerate(script["steps"]):
            outcome = {}
            recorded.clear()
            try:
                args = [from_wire(a) for a in step.get("args", [])]
                kwargs = {k: from_wire(v) for k, v in step.get("kwargs", {}).items()}
                if step["op"] == "call":
                    if step["fn"] not in namespace:
                        raise NameError(f"name '{step['fn']}' is not defined")
                    target = namespace[step["fn"]]
                elif step["op"] in ("keras", "dataset", "policy"):
                    target = None
                else:
                    obj = slots[step["obj"]]
                    target = obj if step.get("name") == "__call__" else None
                before = {i: copy.deepcopy(a) for i, a in enumerate(args) if isinstance(a, (np.ndarray, list, dict))}
                before.update({k: copy.deepcopy(a) for k, a in kwargs.items() if isinstance(a, (np.ndarray, list, dict))})
                with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn", invalid="warn",
                                                                                 divide="warn", under="ignore"):
                    warnings.simplefilter("always")
                    start = time.perf_counter()
                    if step["op"] == "getattr":
                        value = getattr(obj, step["name"])
                    elif step["op"] == "is":
                        value = obj is args[0]
                    elif step["op"] == "iterate":
                        value = [as_arrays(item) for item in itertools.islice(iter(obj), int(step["limit"]))]
                    elif step["op"] in ("keras", "dataset", "policy"):
                        value = keras_step(step, args)
                    else:
                        value = (target or getattr(obj, step["name"]))(*args, **kwargs)
                    outcome["seconds"] = time.perf_counter() - start
                outcome["ok"] = to_wire(value, (index,))
                # returned arrays (the value, or an item of a returned tuple/list) that may share memory with an
                # array argument: [[item index or "", argument index or name], ...]
                shares = [[str(p), str(k)] for p, part in (enumerate(value) if type(value) in (tuple, list)
                                                           else [("", value)])
                          for k, a in [*enumerate(args), *kwargs.items()]
                          if isinstance(part, np.ndarray) and isinstance(a, np.ndarray) and np.may_share_memory(part, a)]
                if shares:
                    outcome["shares"] = shares
                changed = {str(k): to_wire(v, (index, "after", str(k)))
                           for k, v in [(i, args[i]) for i in before if isinstance(i, int)]
                           + [(k, kwargs[k]) for k in before if isinstance(k, str)] if not same(before[k], v)}
                if changed:
                    outcome["after"] = changed
                if recorded:
                    outcome["callbacks"] = dict(recorded)
                if caught:
                    outcome["warnings"] = [[mro(w.category), str(w.message)[:300]] for w in caught[:20]]
            except BaseException as err:  # noqa: BLE001 - the learner's code may raise anything, even SystemExit
                outcome = {"raised": [mro(type(err)), str(err)[:500]]}
            text = json.dumps(outcome)
            used += len(text)
            if used > limit:
                results.append({"raised": [["ResultTooLarge"], "the results grew larger than allowed"]})
                break
            results.append(outcome)

    try:
        run_all()
    finally:
        if policy_before:
            import keras

            keras.mixed_precision.set_global_policy(policy_before[0])
    return json.dumps(results)


def serve(namespace, script_text, mime):
    """Run the script in the learner's kernel and show the results as ONE display output of type ``mime``."""
    from IPython.display import display

    display({mime: run(namespace, script_text)}, raw=True)
