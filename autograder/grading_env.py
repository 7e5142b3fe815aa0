"""The process environment that grading kernels inherit (set by ``nbgrader_config.py``).

- the repository root on ``PYTHONPATH`` for the grading process (the sandbox removes it again
  for the learner's kernel);
- the course's kernel spec (``autograder/kernels``) on ``JUPYTER_PATH``;
- what the sandbox hides from and makes read-only for the kernel (``autograder/sandbox.py``);
  ``DLCOURSE_SANDBOX_EXTRA_HIDE`` / ``DLCOURSE_SANDBOX_EXTRA_READONLY`` add paths.
"""

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERNEL_NAME = "dlcourse-grading"
HIDDEN_FROM_KERNELS = ("solutions", "autograder", "tests", "benchmarks", ".git", "gradebook.db", "submitted",
                       "autograded", "feedback", "exchange", "downloaded", "build", "grading", "release", "source")


def _join(*parts):
    return os.pathsep.join(p for p in parts if p)


def apply(root=ROOT):
    """Set the environment variables above in ``os.environ`` (idempotent)."""
    os.environ["PYTHONPATH"] = _join(root, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p != root])
    kernels = os.path.join(root, "autograder", "kernels")
    os.environ["JUPYTER_PATH"] = _join(kernels, *[p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
                                                  if p != kernels])
    os.environ["DLCOURSE_SANDBOX_HIDE"] = _join(*[os.path.join(root, name) for name in HIDDEN_FROM_KERNELS],
                                                os.environ.get("DLCOURSE_SANDBOX_EXTRA_HIDE", ""))
    os.environ["DLCOURSE_SANDBOX_READONLY"] = _join(root, os.environ.get("DLCOURSE_SANDBOX_EXTRA_READONLY", ""))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
