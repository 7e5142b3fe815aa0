"""Cells for the reader: demos, experiments, figures and races that grading does not need.

A source notebook marks such a cell with the cell metadata ``{"dlcourse": {"reader": true}}``
(kept in the release; students see nothing of it). The grader
(:class:`autograder.trusted_execute.TrustedExecute`) does not run a marked cell, unless
``DLCOURSE_RUN_READER_CELLS=1``; everything else (set-up, helpers, the learner's cells, solution
and test cells) runs in order as before.

Only a *read-only* cell can be skipped (nbgrader ``locked``, neither a solution nor a grade
cell): the grader rebuilds every submission on the released notebook
(:mod:`autograder.restore_cells`), so read-only cells and their metadata come from the release,
and a cell the learner added loses its nbgrader metadata, is never read-only, and always runs.
A learner can therefore neither skip their own cells nor un-mark a demo.

A marked cell must not define or rebind a name (function, class, variable, import, or an object
it mutates by item or attribute assignment) that a later cell which runs in grading uses:
:func:`leaks` finds such names statically (``ast``), and the tests insist there are none.
:func:`propose` is the rule that marked the course's cells: a read-only cell after the set-up
cell that defines no function or class, imports nothing, and binds nothing a later running
cell uses. An author who wants a cell to run in grading anyway sets ``"reader": false``.

    python -m autograder.reader_cells                  # list the reader cells of every chapter
    python -m autograder.reader_cells --mark [chapters]  # (re)mark by the rule, metadata only
"""

import argparse
import ast
import os
import re
import sys

import nbformat

from autograder.chapters import chapter_argument
from autograder.notebook_cells import cell_label as _label, is_read_only

KEY = "dlcourse"
FLAG = "reader"
RUN_ENV = "DLCOURSE_RUN_READER_CELLS"

_MAGIC = re.compile(r"^(\s*)[%!].*$", re.M)


def marked(cell):
    """True when the cell's metadata carries the reader flag (whatever kind of cell it is)."""
    return (cell.get("metadata", {}).get(KEY) or {}).get(FLAG) is True


def skippable(cell):
    """True for a marked read-only code cell: the only kind of cell grading may leave out.

    A solution or grade cell, or any cell without nbgrader's ``locked`` (a learner's own cell), is
    never skipped, whatever its metadata says.
    """
    return cell.get("cell_type") == "code" and marked(cell) and is_read_only(cell)


def run_reader_cells():
    """True when ``DLCOURSE_RUN_READER_CELLS=1``: grading runs the reader cells too."""
    return os.environ.get(RUN_ENV, "") == "1"


def _tree(source):
    """The cell's code as an ``ast`` module (IPython ``%`` and ``!`` lines read as ``pass``); code
    that does not compile is an empty module (the kernel runs none of it)."""
    try:
        return ast.parse(_MAGIC.sub(r"\1pass", source))
    except (SyntaxError, ValueError):
        return ast.Module(body=[], type_ignores=[])


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _scope_walk(node):
    """``ast.walk`` over one scope: of a function, lambda or class met on the way (``node`` itself
    included) only the decorators, default values and base classes (its body is another scope)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            outer = getattr(current, "decorator_list", []) + getattr(current, "bases", [])
            if not isinstance(current, ast.ClassDef):
                outer += current.args.defaults + [d for d in current.args.kw_defaults if d is not None]
            stack.extend(outer)
        else:
            stack.extend(ast.iter_child_nodes(current))


def bound_names(source):
    """Names a cell binds at top level or changes: assignments (also inside loops and ``with``),
    ``def``, ``class``, imports, ``global`` declarations, and the object of an item or attribute
    assignment (``params["w"] = ...`` changes ``params``)."""
    names = set()
    tree = _tree(source)
    for node in _scope_walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            root = _root(node)
            if root:
                names.add(root)
    for node in ast.walk(tree):  # a function's ``global x`` binds x when it runs
        if isinstance(node, ast.Global):
            names.update(node.names)
    return names


def used_names(source):
    """Every name a cell reads, function bodies included (a function defined there reads them
    when it is called)."""
    return {node.id for node in ast.walk(_tree(source)) if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)}


def _definite(stmt):
    """Names a top-level statement surely binds (plain assignment, ``def``, ``class``, import)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
        stmt, ast.AnnAssign) and stmt.value is not None else []
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            and _root_is_plain(t, n)}


def _root_is_plain(target, name):
    """``name`` is bound by ``target`` itself, not as the object of an item or attribute assignment."""
    return not any(isinstance(n, (ast.Attribute, ast.Subscript)) and _root(n) == name.id for n in ast.walk(target))


def cell_binds(source):
    """Names a cell surely binds before it ends (a later reader of them no longer sees earlier cells')."""
    names = set()
    for stmt in _tree(source).body:
        names |= _definite(stmt)
    return names


def exposed_names(source):
    """Names a cell reads from earlier cells: read before the cell itself surely binds them
    (function bodies read at call time, so against everything the cell binds)."""
    tree = _tree(source)
    everything = cell_binds(source)
    exposed, bound = set(), set()
    for stmt in tree.body:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                exposed |= _body_reads(node) - everything - _local_names(node)
        exposed |= {n.id for n in _scope_walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                    } - bound - _loop_names(stmt)
        bound |= _definite(stmt)
    return exposed


def _local_names(function):
    """A function's parameters and the names it assigns (its locals, unless declared global)."""
    args = function.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    body = function.body if isinstance(function.body, list) else [function.body]
    declared = {n for stmt in body for node in ast.walk(stmt) if isinstance(node, ast.Global) for n in node.names}
    for stmt in body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
                if not isinstance(node, ast.ClassDef):
                    names |= _local_names(node)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.Lambda):
                names |= _local_names(node)
    return names - declared


def _loop_names(stmt):
    """Names bound by the loops, ``with ... as``, ``except ... as`` and comprehensions inside ``stmt``:
    its reads of them come after they were bound."""
    targets = []
    for node in _scope_walk(stmt):
        if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            targets.append(node.target)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            targets.append(node.optional_vars)
        elif isinstance(node, ast.NamedExpr):
            targets.append(node.target)
    names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    names |= {node.name for node in _scope_walk(stmt) if isinstance(node, ast.ExceptHandler) and node.name}
    return names


def _body_reads(function):
    """Names read in a function's (or lambda's) body, nested functions included."""
    body = function.body if isinstance(function.body, list) else [function.body]
    return {n.id for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _code_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def leaks(nb, skipped=skippable):
    """Sentences naming each name a skipped cell binds (or changes) that a later running cell reads
    before any running cell in between rebinds it; none: ``[]``."""
    found = []
    cells = _code_cells(nb)
    for k, (i, cell) in enumerate(cells):
        if not skipped(cell):
            continue
        live = bound_names(cell.source)
        for j, later in cells[k + 1:]:
            if not live:
                break
            if skipped(later):
                continue
            for name in sorted(live & exposed_names(later.source)):
                found.append(f"{_label(i, cell)} is skipped in grading but binds {name!r}, "
                             f"which {_label(j, later)} uses")
            live -= cell_binds(later.source)
    return found


def _plan(nb, candidate):
    """Indices of the cells to leave out: walking back from the end, a ``candidate(k, cell)`` is left
    out when it binds nothing a later running cell reads first; every other cell runs."""
    cells = _code_cells(nb)
    needed, chosen = set(), set()
    for k in range(len(cells) - 1, -1, -1):
        i, cell = cells[k]
        if candidate(k, cell) and not bound_names(cell.source) & needed:
            chosen.add(i)
        else:
            needed = (needed - cell_binds(cell.source)) | exposed_names(cell.source)
    return chosen


def cells_to_skip(nb):
    """The indices of the cells grading leaves out: the marked read-only cells (:func:`skippable`)
    that bind nothing a later running cell of THIS notebook reads, the learner's cells included (a
    learner's function that calls a demo's helper makes that demo run)."""
    return _plan(nb, lambda k, cell: skippable(cell))


def propose(nb):
    """The indices of the cells the authoring rule marks: read-only cells after the set-up cell,
    neither solution nor grade cells, not ``"reader": false``, that no later running cell needs."""
    def candidate(k, cell):
        return k > 0 and is_read_only(cell) and (cell.metadata.get(KEY) or {}).get(FLAG) is not False
    return _plan(nb, candidate)


def mark(path):
    """Set the reader flag on the cells :func:`propose` picks and clear it on the others
    (read, change, write at once; metadata only). Returns the marked cells' labels."""
    nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    chosen = propose(nb)
    for i, cell in enumerate(nb.cells):
        flags = cell.metadata.get(KEY)
        if i in chosen:
            cell.metadata.setdefault(KEY, {})[FLAG] = True
        elif flags and flags.get(FLAG) is True:
            del flags[FLAG]
            if not flags:
                del cell.metadata[KEY]
    nbformat.write(nb, str(path))
    return [_label(i, nb.cells[i]) for i in sorted(chosen)]


def main(argv=None):
    from autograder.release import chapters, solution_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=chapter_argument, help="chapter ids or numbers (default: all)")
    parser.add_argument("--mark", action="store_true", help="(re)mark the source notebooks by the rule")
    args = parser.parse_args(argv)
    status = 0
    for chapter in args.chapters or chapters():
        path = solution_path(chapter)
        if args.mark:
            labels = mark(path)
        else:
            nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
            labels = [_label(i, c) for i, c in enumerate(nb.cells) if skippable(c)]
            for problem in leaks(nb):
                print(f"  {chapter}: {problem}")
                status = 1
        print(f"{chapter}: {len(labels)} reader cells: {', '.join(labels)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
