"""The process environment that grading kernels inherit (set by ``nbgrader_config.py``).

- the repository root on ``PYTHONPATH`` for the grading process (the kernel's sandbox,
  ``autograder/sandbox.py``, shows the kernel nothing of the repository but ``dlcourse``);
- the course's kernel spec (``autograder/kernels``) on ``JUPYTER_PATH``;
- one BLAS thread, one thread in each of TensorFlow's two pools (intra- and inter-op), off-screen
  plots and quiet TensorFlow for the kernels (the sandbox passes these on). Grading runs one worker per
  core, so more threads per kernel only contend: with TensorFlow's default pools a chapter 10
  submission took 11 % more CPU and its kernel kept 1.06 cores busy instead of 1.01.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL_NAME = "dlcourse-grading"


def _join(*parts):
    return os.pathsep.join(p for p in parts if p)


def apply(root=ROOT):
    """Set the environment variables above in ``os.environ`` (idempotent)."""
    os.environ["PYTHONPATH"] = _join(root, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p != root])
    kernels = os.path.join(root, "autograder", "kernels")
    os.environ["JUPYTER_PATH"] = _join(kernels, *[p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
                                                  if p != kernels])
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow errors on stderr (cuInit in the sandbox) would score a cell 0


def ipc_prefix(pid=None):
    """Where a grading process's kernels' IPC sockets appear (``KernelManager.ip``): one prefix per process."""
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp"
    return f"{folder}/dlc-kernel-{pid or os.getpid()}"
