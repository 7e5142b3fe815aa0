"""Submissions for the tests: the builders of :mod:`autograder.submissions` (one home, shared with the
grading corpus) under the names the tests use, the tests' own named-mistake submission, and the
hostile submissions of the attack tests."""

import re

from autograder.notebook_cells import SOLUTION_BLOCK, graded_points, solution_ids as solution_cells, stub_solution as stub_out
from autograder.release import solution_path
from autograder.submissions import dumps, load_solution, with_cell_edited

__all__ = ["dumps", "graded_points", "load_solution", "solution_cells", "solution_path", "stub_out",
           "with_cell_edited", "with_summed_mse", "WALKER", "KERNEL_ATTACKS", "attacked",
           "attack_submissions"]


def with_summed_mse(nb):
    """Chapter 01's notebook with ``mse`` summing instead of averaging (the catalogue's named mistake)."""
    return with_cell_edited(nb, "mse", lambda s: s.replace("np.mean((y_pred", "np.sum((y_pred"))


# -- hostile submissions: each would earn marks only if an attack on the grading got through ----------
# Looks up the call stack for the checking code's ``expected`` or ``reference``.
WALKER = """
import sys as _sys
def _walk(*args, **kwargs):
    frame = _sys._getframe(1)
    while frame is not None:
        for _name in ("expected", "reference"):
            if _name in frame.f_locals:
                value = frame.f_locals[_name]
                return value(*args, **kwargs) if callable(value) else value
        frame = frame.f_back
    return None
"""

_NEUTRALIZE_VISIBLE = """
import dlcourse.checks as _dc, dlcourse.checks.backward as _db, dlcourse.checks.runner as _dr
for _m in (_dc, _db, _dr):
    for _n in [n for n in dir(_m) if n.startswith(("check", "run_"))]:
        setattr(_m, _n, lambda *a, **k: None)
"""

# Code run at the top of the first answer cell, every answer stubbed: an error must still cost the points.
KERNEL_ATTACKS = {
    "ast_try_except": """
import ast
class _Wrap(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=None, name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(_Wrap())
""",
    "custom_exc_hook": """
_ip = get_ipython()
_ip.set_custom_exc((BaseException,), lambda self, etype, value, tb, tb_offset=None: None)
def _clear(result):
    result.error_in_exec = None
_ip.events.register("post_run_cell", _clear)
""",
    "fake_hidden_module": _NEUTRALIZE_VISIBLE + """
import sys, types, importlib.abc, importlib.machinery
class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name in ("autograder", "autograder.hidden"):
            return importlib.machinery.ModuleSpec(name, self, is_package=(name == "autograder"))
    def create_module(self, spec):
        return types.ModuleType(spec.name)
    def exec_module(self, module):
        module.__path__ = []
        module.check_hidden = lambda *a, **k: None
for _k in [k for k in sys.modules if k == "autograder" or k.startswith("autograder.")]:
    del sys.modules[_k]
sys.meta_path.insert(0, _Finder())
""",
    "patched_helpers": _NEUTRALIZE_VISIBLE,
}


def attacked(nb, first_extra, body_for):
    """A copy of ``nb`` with every solution region replaced by ``body_for(indent, grade_id)`` and
    ``first_extra`` run at the top of the first answer cell."""
    for i, cell_id in enumerate(solution_cells(nb)):
        def edit(source, cell_id=cell_id, first=(i == 0)):
            source = SOLUTION_BLOCK.sub(lambda m: body_for(m.group(1), cell_id), source)
            return (first_extra + "\n" + source) if first else source
        nb = with_cell_edited(nb, cell_id, edit)
    return nb


def attack_submissions(nb):
    """dict attack name -> hostile notebook made from solution notebook ``nb``: each of
    :data:`KERNEL_ATTACKS` with every answer stubbed, and ``frame_walker``, whose graded functions
    walk the stack for the checking code's answers. Each must earn what absent work earns: 0."""
    stub = lambda indent, name: f"{indent}raise NotImplementedError()"  # noqa: E731
    out = {name: attacked(nb, code, stub) for name, code in KERNEL_ATTACKS.items()}
    walked = attacked(nb, WALKER, lambda indent, name: f"{indent}return _walk(*args, **kwargs)")
    for cell in walked["cells"]:
        cell["source"] = re.sub(r"def (\w+)\(([^)]*)\):", r"def \1(*args, **kwargs):", "".join(cell["source"]))
    out["frame_walker"] = walked
    return out
