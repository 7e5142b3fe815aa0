"""Your own functions from your earlier chapters, read from your own chapter notebooks.

Later chapters build on what you wrote before: chapter 08's network is made of your chapter
01-07 functions, and a few demos elsewhere use an earlier chapter's function. Nothing here
contains a solution: the code comes from the exercise cells of *your* notebooks, which sit
next to each other in the course folder (``course/01_losses/01_losses.ipynb``, ...).

- :func:`own_functions` returns your functions, e.g. ``adam_step, = own_functions("adam_step")``.
- :func:`toolbox_source` returns their source code as one block of Python.
- :func:`bring_in` (chapter 08) puts that code into the cell that calls it, so that the
  chapter's notebook holds your toolbox itself and runs on its own (grading reads only it).

A piece that is missing (the chapter's notebook is not there, or its exercise still raises
``NotImplementedError``) is a ``LookupError`` that names the chapter to finish.

Only what an exercise cell defines at top level is taken (functions, classes, imports), plus
the imports and read-only helper functions of the same notebook that this code uses.
"""

import ast
import json
from pathlib import Path

# Where each graded function of chapters 01-07 is asked for (the curriculum's table).
HOME = {
    **dict.fromkeys(("mse", "mse_grad", "huber", "binary_cross_entropy", "binary_cross_entropy_grad",
                     "sigmoid_bce_with_logits", "softmax", "log_softmax", "softmax_cross_entropy",
                     "softmax_cross_entropy_grad", "label_smoothing_cross_entropy"), "01_losses"),
    **dict.fromkeys(("numerical_gradient", "linear_regression_loss", "linear_regression_grad", "gradient_descent",
                     "minibatch_indices", "sgd_linear_regression"), "02_gradient_descent"),
    **dict.fromkeys(("sgd_step", "momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step", "adam_step",
                     "adamw_step"), "03_optimizers"),
    **dict.fromkeys(("step_decay", "exponential_decay", "linear_decay", "cosine_decay", "warmup_cosine",
                     "triangular_cyclic_lr", "one_cycle_lr", "EarlyStopping", "ReduceLROnPlateau"),
                    "04_learning_rate_schedules"),
    **dict.fromkeys(("l2_penalty", "l2_penalty_grad", "l1_penalty", "l1_penalty_grad", "elastic_net_penalty",
                     "ridge_regression_grad", "ridge_closed_form"), "05_regularization"),
    **dict.fromkeys(("sigmoid", "sigmoid_grad", "tanh_grad", "relu", "relu_grad", "dense_forward", "dense_backward",
                     "glorot_uniform", "he_normal", "mlp_loss_and_grads", "clip_by_global_norm"),
                    "06_backprop_initialization"),
    **dict.fromkeys(("batchnorm_forward", "batchnorm_backward", "batchnorm_backward_graph", "layernorm_forward",
                     "layernorm_backward", "dropout_forward", "dropout_backward"), "07_batchnorm_dropout"),
}

# The pieces chapter 08's network is built from, in the order they are written into its cell.
CAPSTONE_TOOLBOX = (
    "softmax", "softmax_cross_entropy", "softmax_cross_entropy_grad", "adam_step", "step_decay", "cosine_decay",
    "EarlyStopping", "l2_penalty", "l2_penalty_grad", "dense_forward", "dense_backward", "relu", "relu_grad",
    "he_normal", "glorot_uniform", "batchnorm_forward", "batchnorm_backward", "dropout_forward", "dropout_backward",
)

_STUB = "raise NotImplementedError()"


class _Notebook:
    """One chapter notebook, parsed: exercise cells by grade id, imports and read-only helpers by name."""

    def __init__(self, chapter, path):
        self.chapter, self.path = chapter, path
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise LookupError(f"could not read your chapter {chapter[:2]} notebook {path}: {err}") from None
        self.exercises, self.provides = {}, {}   # grade id -> source; name -> source of what defines it
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            source = "".join(cell.get("source", ""))
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution"):
                self.exercises[meta.get("grade_id")] = source
            self._index(source, exercise=bool(meta.get("solution")))

    def _index(self, source, exercise):
        """Record imports (any cell) and top-level functions and classes (read-only cells) by the name they bind."""
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    name = (alias.asname or alias.name).split(".")[0]
                    self.provides.setdefault(name, ast.get_source_segment(source, node))
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not exercise:
                self.provides.setdefault(node.name, ast.get_source_segment(source, node))

    def exercise(self, name):
        """The top-level definitions (and imports) of the exercise cell that asks for ``name``."""
        source = self.exercises.get(name)
        where = f"chapter {self.chapter[:2]} ({self.chapter}/{self.path.name})"
        if source is None:
            raise LookupError(f"your {where} has no exercise cell for `{name}`")
        if _STUB in source:
            raise LookupError(f"`{name}` is not done yet: finish it in {where} first "
                              f"(its cell still says `{_STUB}`), then run this cell again.")
        try:
            tree = ast.parse(source)
        except SyntaxError as err:
            raise LookupError(f"`{name}` in {where} has a syntax error (line {err.lineno}): fix it there first.") from None
        kept = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))]
        if not any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == name for n in kept):
            raise LookupError(f"the `{name}` cell of {where} does not define `{name}`: finish it there first.")
        return "\n\n".join(ast.get_source_segment(source, node) for node in kept)


def course_folder():
    """The folder holding the chapter folders: the parent of the running notebook's folder."""
    return Path.cwd().resolve().parent


def _notebook(chapter, folder, cache):
    if chapter not in cache:
        path = Path(folder) / chapter / f"{chapter}.ipynb"
        if not path.is_file():
            raise LookupError(f"your chapter {chapter[:2]} notebook was not found at {path}: this needs your own "
                              f"chapter {chapter[:2]} ({chapter}) work, so keep that notebook in the course folder "
                              f"next to this one and finish it first.")
        cache[chapter] = _Notebook(chapter, path)
    return cache[chapter]


def _free_names(source):
    """Names the code reads but does not define at top level."""
    tree = ast.parse(source)
    bound = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - bound


def toolbox_source(names, folder=None):
    """Python source defining your own versions of ``names`` (graded functions of chapters 01-07).

    Each comes from the exercise cell of your chapter notebook that asks for it; the imports and
    read-only helpers of that notebook it uses, and your other graded functions it calls, come
    along (before it). Raises LookupError naming the chapter to finish when a piece is missing.
    """
    folder, cache = folder or course_folder(), {}
    blocks, done = [], set()

    def add_code(code, notebook, chapter):
        """Put what ``code`` needs from its own notebook (your exercises, imports, helpers) before it."""
        for free in sorted(_free_names(code)):
            if free in done:
                continue
            if free in notebook.exercises or HOME.get(free) == chapter:
                add(free, chapter)
            elif free in notebook.provides:
                done.add(free)
                add_code(notebook.provides[free], notebook, chapter)
                blocks.append(notebook.provides[free])
            elif free in HOME:                  # one of your functions of another chapter
                add(free, HOME[free])

    def add(name, chapter):
        if name in done:
            return
        notebook = _notebook(chapter, folder, cache)
        code = notebook.exercise(name)
        done.add(name)
        add_code(code, notebook, chapter)
        blocks.append(f"# ---- {name}: yours, from chapter {chapter[:2]} ({chapter})\n{code}")

    for name in names:
        if name not in HOME:
            raise LookupError(f"`{name}` is not a graded function of chapters 01-07")
        add(name, HOME[name])
    imports = [b for b in blocks if not b.startswith("# ----") and b.startswith(("import ", "from "))]
    rest = [b for b in blocks if b not in imports]
    return "\n".join(dict.fromkeys(imports)) + "\n\n\n" + "\n\n\n".join(rest) + "\n"


def own_functions(*names, folder=None):
    """Your own versions of ``names``, defined from your earlier notebooks (a tuple, in order).

    Used by demos that need an earlier chapter's function: they run *your* code. Raises
    LookupError naming the chapter to finish when a piece is missing.
    """
    namespace = {"__name__": "dlcourse.earlier.yours"}
    exec(compile(toolbox_source(names, folder), "<your earlier chapters>", "exec"), namespace)  # noqa: S102
    return tuple(namespace[name] for name in names)


def bring_in(names=CAPSTONE_TOOLBOX, folder=None):
    """Replace the calling cell's text with your own code for ``names`` (chapter 08's toolbox cell).

    In JupyterLab and Jupyter Notebook the cell then holds your functions: run it once more to
    define them, and the notebook no longer needs the other chapters. Elsewhere the code is
    printed for you to paste into the cell. Nothing is defined by this call itself, so what the
    notebook runs (and what is graded) is always the code in the cell.
    """
    header = ("# Your toolbox: your own functions from chapters 01-07, brought in from your notebooks by\n"
              "# dlcourse.earlier.bring_in(). Edit freely; this cell is what this notebook (and its grading) runs.\n")
    code = header + "import numpy as np\n" + toolbox_source(names, folder)
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        shell.set_next_input(code, replace=True)
        print(f"This cell now holds your code for {len(names)} functions. Run it again to define them. "
              "If the cell did not change (some editors do not allow it), paste the code below into it instead.\n")
    print(code)
    return code
