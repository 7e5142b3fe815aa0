"""A corpus of submissions that a robust grader must handle: ``python -m autograder.corpus``.

For a chapter, :func:`build_corpus` writes into an nbgrader ``submitted/`` folder one
submission per scenario, derived from the chapter's solution and release notebooks, and
returns what grading must produce for each (the total score, and text that must appear in the
graded notebook: a grading note or a marker the submission printed):

- correct: the full solution; partially correct: half of the exercises left as stubs;
- broken: an infinite loop, ``os._exit``, a segfault, a memory blow-up, enormous output, a
  malformed, empty or non-UTF-8 file, an empty notebook, a missing or renamed notebook,
  another chapter's notebook, deleted, edited or moved test cells, changed metadata, extra files;
- hostile: patching NumPy's comparisons, the course's ``check``, or how errors are reported;
  reading or importing the reference implementations or the solutions from disk;
  returning the visible checks' stored answers; writing into the course; opening a connection.

The broken and hostile code goes into the *last* exercise cell (nothing graded depends on it),
whose function is left as a stub where the scenario is about cheating, so a defeated defence
shows up as points that should not be there.

    python -m autograder.corpus 01_losses /tmp/course/submitted
"""

import argparse
import copy
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.release import ROOT, chapters, solution_path

_SOLUTION = re.compile(r"( *)### BEGIN SOLUTION\n.*?### END SOLUTION", re.S)


@dataclass
class Expectation:
    """What grading a corpus submission must give."""

    total: float
    must_contain: list = field(default_factory=list)
    why: str = ""


def _load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _solution_ids(nb):
    return [_meta(c)["grade_id"] for c in nb["cells"] if c["cell_type"] == "code" and _meta(c).get("solution")]


def _points(nb):
    return {_meta(c)["grade_id"]: _meta(c)["points"] for c in nb["cells"] if _meta(c).get("grade")}


def _edit(nb, grade_id, edit):
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        if _meta(cell).get("grade_id") == grade_id:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = edit(source)
            return nb
    raise KeyError(grade_id)


def _stub(source):
    return _SOLUTION.sub(lambda m: f"{m.group(1)}raise NotImplementedError()", source)


def _strip_markers(nb):
    """The solution as a student would hand it in: no BEGIN/END SOLUTION lines, no hidden tests."""
    nb = copy.deepcopy(nb)
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        source = re.sub(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS\n?", "", source, flags=re.S)
        cell["source"] = re.sub(r"^ *### (BEGIN|END) SOLUTION\n?", "", source, flags=re.M)
    return nb


def _dumps(nb):
    return json.dumps(nb, indent=1, ensure_ascii=False)


def _function_name(solution_cell_source):
    found = re.search(r"^(?:def|class) (\w+)", solution_cell_source, re.M)
    return found.group(1) if found else None


_FIND_REPO = '''
import os as _os, dlcourse as _dl
_repo = _os.path.dirname(_os.path.dirname(_os.path.abspath(_dl.__file__)))
'''


def scenarios(chapter, other_chapter=None):
    """dict name -> (file contents by relative path, Expectation) for one chapter."""
    source = _load(solution_path(chapter))
    release_text = (ROOT / "course" / chapter / f"{chapter}.ipynb").read_text(encoding="utf-8")
    full = _strip_markers(source)
    points = _points(source)
    total = float(sum(points.values()))
    ids = _solution_ids(source)
    last = ids[-1]
    last_points = float(points.get(f"test_{last}", 0))
    fn = _function_name(next("".join(c["source"]) for c in source["cells"] if _meta(c).get("grade_id") == last))
    name = f"{chapter}.ipynb"
    out = {}

    def add(key, text, expected, *contains, why="", filename=name, extra=None):
        files = {filename: text}
        files.update(extra or {})
        out[key] = (files, Expectation(expected, list(contains), why))

    def appended(code):
        return _dumps(_edit(full, last, lambda s: s + "\n" + code))

    def cheating(code):
        """The last exercise left unanswered, plus code that tries to get its points anyway."""
        return _dumps(_strip_markers(_edit(source, last, lambda s: _stub(s) + "\n" + code)))

    # correct and partially correct
    add("correct", _dumps(full), total, why="the full solution")
    half = ids[len(ids) // 2:]  # the later exercises: earlier ones never depend on them
    partial = source
    for grade_id in half:
        partial = _edit(partial, grade_id, _stub)
    add("partial", _dumps(_strip_markers(partial)), total - sum(points.get(f"test_{g}", 0) for g in half),
        why=f"stubs left in {', '.join(half)}")
    add("unanswered", release_text, 0.0, why="the release, untouched")

    # broken
    add("infinite_loop", appended("while True:\n    pass"), total - last_points, "ran longer than",
        why="the cell is stopped; the function it defined is lost with it")
    add("exits", appended("import os\nos._exit(3)"), total - last_points, "kernel died")
    add("segfault", appended("import ctypes\nctypes.string_at(0)"), total - last_points, "kernel died")
    add("memory_blowup", appended("try:\n    hog = bytearray(64 * 1024 ** 3)\nexcept MemoryError:\n"
                                  "    print('MEMORY-CAPPED')"), total, "MEMORY-CAPPED",
        why="the memory cap turns the allocation into a MemoryError; the function still counts")
    add("huge_output", appended("for _ in range(200):\n    print('x' * 100_000)"), total, "output cut")
    add("malformed_json", '{"cells": [{"cell_type": "code", "source": "def ', 0.0, "not valid JSON")
    add("empty_file", "", 0.0, "was empty")
    add("empty_notebook", json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), 0.0,
        "has no cells")
    out["missing_notebook"] = ({"README.txt": "I forgot to upload it"}, Expectation(0.0, ["no notebook was found"]))
    add("renamed", _dumps(full), total, "was submitted as", filename="my_final_version.ipynb")
    if other_chapter:
        add("other_chapter", _dumps(_strip_markers(_load(solution_path(other_chapter)))), 0.0,
            "does not contain the exercise cells")
    broken_bytes = _dumps(full).encode("utf-8").replace(b"# Chapter", b"# \xff\xfe Chapter", 1)
    out["non_utf8"] = ({name: broken_bytes}, Expectation(total, ["not UTF-8"]))
    no_tests = copy.deepcopy(full)
    no_tests["cells"] = [c for c in no_tests["cells"] if not _meta(c).get("grade")]
    add("deleted_tests", _dumps(no_tests), total, "had been deleted and has been restored")
    edited = copy.deepcopy(full)
    for cell in edited["cells"]:
        if _meta(cell).get("grade"):
            cell["source"] = "pass  # tests removed"
    add("edited_tests", _dumps(edited), total, "was modified and has been restored")
    moved = copy.deepcopy(full)
    tests = [c for c in moved["cells"] if _meta(c).get("grade")]
    moved["cells"] = tests + [c for c in moved["cells"] if not _meta(c).get("grade")]
    add("moved_tests", _dumps(moved), total, "released order was restored")
    relabelled = copy.deepcopy(full)
    for cell in relabelled["cells"]:
        if _meta(cell).get("grade"):
            cell["metadata"]["nbgrader"].update(grade=False, points=0)
    add("changed_metadata", _dumps(relabelled), total, "was modified and has been restored")
    add("extra_files", _dumps(full), total, extra={"data.csv": "a,b\n1,2\n" * 1000, "helper.py": "X = 1\n"})

    # hostile: each tries to get the points of the unanswered last exercise
    add("patch_numpy", cheating("import numpy as np\nnp.allclose = lambda *a, **k: True\n"
                                "np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, bool)\n"
                                "np.array_equal = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None"),
        total - last_points, "reassigns NumPy functions")
    add("patch_check", cheating("check = lambda *a, **k: print('checked')\nimport dlcourse.checks as _c\n"
                                "_c.check = check"), total - last_points, "redefines the course's check functions")
    add("swallow_errors", cheating("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"),
        total - last_points, "changes how errors are reported")
    if fn:
        add("read_reference", cheating(
            _FIND_REPO + "import glob\nfor _p in glob.glob(_os.path.join(_repo, 'autograder', 'reference', '*.py')):\n"
            "    try:\n        exec(open(_p).read(), globals())\n    except Exception:\n        pass\n"
            f"print('REFERENCE-READ' if '{fn}' in globals() and 'NotImplementedError' not in "
            f"__import__('inspect').getsource({fn}) else 'REFERENCE-HIDDEN')"),
            total - last_points, "REFERENCE-HIDDEN")
        add("import_reference", cheating(
            _FIND_REPO + "import sys\nsys.path.insert(0, _repo)\ntry:\n    import autograder.reference as _r\n"
            "    print('IMPORTED', _r)\nexcept ImportError:\n    print('IMPORT-BLOCKED')"),
            total - last_points, "IMPORT-BLOCKED")
        add("read_solutions", cheating(
            _FIND_REPO + f"_nb = _os.path.join(_repo, 'solutions', '{chapter}', '{chapter}.ipynb')\n"
            "print('SOLUTIONS-VISIBLE' if _os.path.exists(_nb) else 'SOLUTIONS-HIDDEN')"),
            total - last_points, "SOLUTIONS-HIDDEN")
        add("hardcode_visible", cheating(
            f"def {fn}(*args, **kwargs):\n    import numpy as np\n    from dlcourse.checks import stored_cases\n"
            f"    for case in stored_cases().get('{fn}', []):\n"
            "        same = set(case['inputs']) == set(kwargs) and all(\n"
            "            np.shape(case['inputs'][k]) == np.shape(v) and np.array_equal(case['inputs'][k], v)\n"
            "            for k, v in kwargs.items())\n"
            "        if same and 'expected' in case:\n            return case['expected']\n"
            "        if same:\n            raise ValueError('bad input')\n    return 0.0"),
            total - last_points, why="answers only the visible cases")
    add("write_course", appended(
        _FIND_REPO + "try:\n    open(_os.path.join(_repo, 'dlcourse', 'checks', 'compare.py'), 'a').write('# x')\n"
        "    print('COURSE-WRITTEN')\nexcept OSError:\n    print('COURSE-READ-ONLY')"), total, "COURSE-READ-ONLY")
    add("network", appended(
        "import socket\ntry:\n    socket.create_connection(('198.51.100.7', 80), timeout=2)\n    print('CONNECTED')\n"
        "except OSError:\n    print('NETWORK-BLOCKED')"), total, "NETWORK-BLOCKED")
    return out


ISOLATION_SCENARIOS = {"read_reference", "import_reference", "read_solutions", "write_course", "network"}
"""Scenarios whose expectations hold only where the sandbox can use Linux namespaces."""


def build_corpus(chapter, submitted_dir, other_chapter=None, only=None):
    """Write the corpus into ``submitted_dir/<scenario>/<chapter>/``; return {scenario: Expectation}."""
    if other_chapter is None:
        others = [c for c in chapters() if c != chapter]
        other_chapter = others[0] if others else None
    expectations = {}
    for scenario, (files, expectation) in scenarios(chapter, other_chapter).items():
        if only and scenario not in only:
            continue
        folder = Path(submitted_dir) / scenario / chapter
        folder.mkdir(parents=True, exist_ok=True)
        for relative, content in files.items():
            target = folder / relative
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        expectations[scenario] = expectation
    return expectations


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write a corpus of broken, hostile and correct submissions.")
    parser.add_argument("chapter")
    parser.add_argument("submitted_dir")
    args = parser.parse_args(argv)
    for scenario, expectation in build_corpus(args.chapter, args.submitted_dir).items():
        print(f"{scenario:<18} expect {expectation.total:g} points  {expectation.why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
