"""Execute notebooks headless with nbclient (used by the smoke run, the tests and the benchmarks)."""

import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def kernel_env():
    """Environment for notebook kernels: the repo root importable, plots off-screen, one BLAS thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def execute_notebook(path, timeout=600, extra_cells=(), cwd=None):
    """Run every cell of the notebook at ``path``; return (executed notebook, wall seconds).

    extra_cells: code strings appended and run after the notebook (e.g. probes for tests).
    Raises nbclient's CellExecutionError on the first failing cell.
    """
    nb = nbformat.read(str(path), as_version=4)
    for source in extra_cells:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    old_env = os.environ.copy()
    os.environ.update(kernel_env())
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(cwd or Path(path).parent)}})
        start = time.perf_counter()
        client.execute()
        return nb, time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(old_env)


def stream_text(nb, cell_index=-1):
    """The concatenated stdout text of one executed cell."""
    cell = nb.cells[cell_index]
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
