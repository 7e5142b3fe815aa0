"""What the message catalogues of ``dlcourse/locale/`` must cover, read from the source code.

Learner-facing messages are English f-strings in the student package (visible checks,
input validation, the set-up helpers). A translated catalogue maps each message *template*
(the f-string with every ``{...}`` replaced by ``{}``, one entry per line) to its translation,
and each named mistake (the keys of ``MISTAKES`` in ``autograder/chapters/*/mistakes.py``, stored in
``dlcourse/checks/cases/*.json``) to its translated name. This module finds the templates and
names the catalogue must hold::

    python -m autograder.message_catalogue            # what zh-CN lacks (exit 1 if anything)
    python -m autograder.message_catalogue --all      # every template found, with its file

Templates are found in the arguments of ``CheckFailure(...)``, ``ValueError(...)``,
``TypeError(...)`` and ``print(...)`` calls, in ``lines = [...]`` / ``lines.append(...)`` that
build a multi-line failure, and in the ``message`` / ``what`` argument of the modules' own
failure helpers (functions with such a parameter).
"""

import argparse
import ast
import json
import sys
from pathlib import Path

from dlcourse import i18n

ROOT = Path(__file__).resolve().parent.parent
MESSAGE_MODULES = sorted(
    [ROOT / "dlcourse" / n for n in ("validate.py", "env.py", "data.py", "accelerator.py")]
    + [p for p in (ROOT / "dlcourse" / "checks").glob("*.py") if p.name not in ("encoding.py", "functions.py")]
    + list((ROOT / "dlcourse" / "checks" / "properties").glob("*.py")))
"""Modules whose messages reach the learner (checks, validation, the set-up cell helper)."""
GRADER_MODULES = [ROOT / "autograder" / "hidden.py", ROOT / "autograder" / "trusted_execute.py",
                  ROOT / "autograder" / "protocol" / "session.py"]
"""Grading modules whose messages reach the learner's feedback (translated when the feedback is made)."""

MESSAGE_CALLS = {"CheckFailure", "ValueError", "TypeError", "print"}
HELPER_PARAMS = ("message", "what")
LINE_LISTS = ("lines", "parts")
WRAPPERS = ("tr", "translate")


def _template(node):
    """The template of a str/f-string node ('{}' for each formatted value), or None."""
    if isinstance(node, ast.Call) and _call_name(node) in WRAPPERS and node.args:
        return _template(node.args[0])
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
            else:
                parts.append("{}")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        if left is not None and right is not None:
            return left + right
        return left if left is not None else right
    return None


def _helpers(tree):
    """dict function name -> index of its message parameter, for this module's failure helpers."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            params = [a.arg for a in node.args.args]
            for wanted in HELPER_PARAMS:
                if wanted in params:
                    found[node.name] = params.index(wanted)
                    break
    return found


def _call_name(node):
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def templates_in(path):
    """Set of line templates (stripped, non-empty, with some letters) in the module at ``path``."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    helpers = _helpers(tree)
    nodes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in MESSAGE_CALLS:
                nodes.extend(node.args[:1])
            elif name in helpers:
                index = helpers[name]
                nodes.extend(node.args[index:index + 1])
                nodes.extend(k.value for k in node.keywords if k.arg in HELPER_PARAMS)
            elif name == "append" and isinstance(node.func, ast.Attribute) and \
                    isinstance(node.func.value, ast.Name) and node.func.value.id in LINE_LISTS:
                nodes.extend(node.args[:1])
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.List) and \
                any(isinstance(t, ast.Name) and t.id in LINE_LISTS for t in node.targets):
            nodes.extend(node.value.elts)
        elif isinstance(node, ast.Return) and node.value is not None:
            # reasons returned to be filled into a failure message (compare.mismatch and the like)
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            nodes.extend(v for v in values if isinstance(v, ast.JoinedStr))
    out = set()
    for node in nodes:
        for candidate in [node] + ([node.body, node.orelse] if isinstance(node, ast.IfExp) else []):
            text = _template(candidate)
            if text is None:
                continue
            for line in text.split("\n"):
                line = i18n.normalize_template(line)
                if any(ch.isalpha() for ch in line.replace("{}", "")):
                    out.add(line)
    return out


def all_templates():
    """dict template -> relative path of the first module it was found in."""
    found = {}
    for path in MESSAGE_MODULES + [p for p in GRADER_MODULES if p.exists()]:
        for template in sorted(templates_in(path)):
            found.setdefault(template, str(path.relative_to(ROOT)))
    return found


def mistake_names():
    """Every named mistake: the keys of MISTAKES in autograder/chapters/*/mistakes.py, and those stored in the cases."""
    from autograder.chapters import CHAPTERS

    names = set()
    for module in (chapter.module("mistakes") for chapter in CHAPTERS):
        for per_function in getattr(module, "MISTAKES", {}).values():
            names.update(per_function if isinstance(per_function, dict) else ())
    for path in (ROOT / "dlcourse" / "checks" / "cases").glob("*.json"):
        for cases in json.loads(path.read_text(encoding="utf-8")).values():
            for case in cases:
                names.update((case.get("mistakes") or {}).keys())
    return names


def missing(lang="zh-CN"):
    """(templates without an entry, mistake names without an entry) in ``lang``'s catalogue."""
    catalogue = i18n.catalogue(lang)
    templates = [t for t in all_templates() if t not in catalogue["templates"]]
    mistakes = sorted(n for n in mistake_names() if n not in catalogue["mistakes"])
    return templates, mistakes


def main(argv=None):
    parser = argparse.ArgumentParser(description="What the message catalogue must cover.")
    parser.add_argument("--lang", default="zh-CN")
    parser.add_argument("--all", action="store_true", help="list every template found")
    args = parser.parse_args(argv)
    if args.all:
        for template, path in all_templates().items():
            print(f"{path}: {template}")
        return 0
    templates, mistakes = missing(args.lang)
    where = all_templates()
    for template in templates:
        print(f"template  {where[template]}: {json.dumps(template, ensure_ascii=False)}")
    for name in mistakes:
        print(f"mistake   {json.dumps(name, ensure_ascii=False)}")
    print(f"{len(templates)} template(s) and {len(mistakes)} mistake name(s) lack a {args.lang} entry")
    return 1 if templates or mistakes else 0


if __name__ == "__main__":
    sys.exit(main())
