"""A fingerprint of every grade the checks give: run before and after a refactor, it must not change.

For every graded function, and for its reference and each catalogued mistake, it records

- ``visible``: the verdict of the visible checks (``pass``, or the failing case and the mistake it names);
- ``hidden``: the verdict of the whole hidden test, in-process (:func:`autograder.hidden.check_hidden`);
- ``cases``: for each hidden case (``HIDDEN``), the verdict of that case alone.

A verdict keeps what decides a grade (which case fails, which mistake it names), not the
numbers of a message. Everything runs in this process, with the fixed seeds grading uses; no
nbgrader, no kernel. The Keras chapters are fingerprinted only with ``--keras`` (they import
TensorFlow and take minutes); the NumPy chapters never import it.

Usage::

    python -m autograder.grade_fingerprint            # compare with tests/data/grade_fingerprint.json
    python -m autograder.grade_fingerprint --write    # record it (review the diff)
    python -m autograder.grade_fingerprint --keras    # the Keras chapters too
"""

import argparse
import contextlib
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from autograder.chapters import chapter_argument
from dlcourse.checks.failure import failing_case, named_mistakes

FINGERPRINT = Path(__file__).resolve().parent.parent / "tests" / "data" / "grade_fingerprint.json"



def verdict(run):
    """``pass``, or ``fail`` with the failing case and the mistake named by the failure ``run()`` raised."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            run()
    except AssertionError as failure:
        message = str(failure)
        case, named = failing_case(message), named_mistakes(message)
        parts = ["fail"]
        if case:
            parts.append(f"case {case}")
        parts.append(f"matches {' or '.join(named)}" if named else "no named mistake")
        return ": ".join(parts)
    except Exception as err:  # noqa: BLE001 - a mistake may crash the check itself; that is a verdict too
        return f"error: {type(err).__name__}"
    return "pass"


def _hidden_case_verdicts(name, fn, reference, mistakes):
    from autograder.checking import evaluate
    from autograder.hidden import hidden_cases
    from dlcourse.checks.runner import run_case

    verdicts = {}
    for case in hidden_cases(name):
        result = evaluate(case, reference, mistakes)
        outcome = verdict(lambda: run_case(fn, name, case.name, case.inputs, result.get("expected"),
                                           result.get("mistakes"), result.get("raises"), mutable=case.mutable))
        verdicts[case.name] = outcome.replace(f"case {case.name}: ", "", 1)
    return verdicts


def function_fingerprint(name):
    """{implementation: {visible, hidden, cases}} of graded function ``name``; implementation is
    ``reference`` or a mistake's name."""
    from autograder.chapters import reference_and_mistakes
    from autograder.hidden import check_hidden
    from dlcourse.checks import check, property_checks, stored_cases

    reference, mistakes = reference_and_mistakes(name)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _fingerprint_of(name, reference, mistakes, check, check_hidden,
                               name in stored_cases() or name in property_checks())


def _fingerprint_of(name, reference, mistakes, check, check_hidden, has_visible):
    result = {}
    for label, fn in {"reference": reference, **mistakes}.items():
        entry = {"visible": verdict(lambda: check(fn, name)) if has_visible else "none",
                 "hidden": verdict(lambda: check_hidden(fn, name))}
        cases = _hidden_case_verdicts(name, fn, reference, mistakes)
        if cases:
            entry["cases"] = cases
        result[label] = entry
    return result


def graded(keras=False):
    """{chapter: [graded function names]} of the NumPy chapters (of the Keras chapters with keras=True)."""
    from autograder.chapters import CHAPTERS

    return {c.id: sorted(c.functions) for c in CHAPTERS if c.keras == keras}


def fingerprint(chapters=None, keras=False, only=()):
    """{chapter: {function: function_fingerprint}} of ``chapters`` (default: the NumPy chapters, and the
    Keras chapters with keras=True), of the functions in ``only`` if given."""
    every = {**graded(False), **graded(True)}
    chosen = chapters or [*graded(False), *(graded(True) if keras else ())]
    return {chapter: {name: function_fingerprint(name) for name in every[chapter] if not only or name in only}
            for chapter in sorted(chosen)}


def dumps(data):
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def differences(recorded, current, partial=False):
    """Readable lines: what changed between two fingerprints, for the chapters in ``current`` (and with
    partial=True only for its functions; otherwise a recorded function missing from ``current`` is reported)."""
    lines = []

    def walk(path, old, new):
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                if key not in old:
                    lines.append(f"new, not recorded: {'/'.join(path + [key])}")
                elif key not in new:
                    lines.append(f"recorded, now gone: {'/'.join(path + [key])}")
                else:
                    walk(path + [key], old[key], new[key])
        elif old != new:
            lines.append(f"changed: {'/'.join(path)}: {old!r} -> {new!r}")

    old = {c: recorded.get(c, {}) for c in current}
    if partial:
        old = {c: {n: f for n, f in old[c].items() if n in current[c]} for c in current}
    walk([], old, current)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="record the fingerprint (keeps recorded Keras chapters "
                                                              "unless --keras)")
    parser.add_argument("--keras", action="store_true", help="include the Keras chapters (imports TensorFlow)")
    parser.add_argument("chapters", nargs="*", type=chapter_argument, help="only these chapter ids or numbers (default: all)")
    parser.add_argument("--only", nargs="+", default=(), help="only these graded functions")
    args = parser.parse_args(argv)
    current = fingerprint(args.chapters or None, keras=args.keras, only=args.only)
    recorded = json.loads(FINGERPRINT.read_text(encoding="utf-8")) if FINGERPRINT.exists() else {}
    if args.write:
        FINGERPRINT.parent.mkdir(parents=True, exist_ok=True)
        merged = {**recorded, **{c: {**recorded.get(c, {}), **f} if args.only else f for c, f in current.items()}}
        FINGERPRINT.write_text(dumps(merged), encoding="utf-8")
        print(f"wrote {FINGERPRINT}")
        return 0
    lines = differences(recorded, current, partial=bool(args.only))
    print("\n".join(lines) if lines else "the grades are unchanged")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
