"""nbgrader configuration: the repository root *is* the nbgrader course directory.

    solutions/<assignment>/   nbgrader's source directory (full solutions, hidden tests)
    course/<assignment>/      nbgrader's release directory (what students get; committed)
    submitted/, autograded/, feedback/, gradebook.db    created by grading, never committed

Run every nbgrader command from the repository root, e.g.
``nbgrader generate_assignment 01_losses`` or ``nbgrader autograde 01_losses``.
"""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))

# The instructor-only ``autograder`` package is never installed into site-packages (students
# must not get it); grading finds it from the repository root.
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
from autograder import grading_env  # noqa: E402

# PYTHONPATH, the grading kernel spec, and what the kernel sandbox hides (autograder/grading_env.py).
grading_env.apply(ROOT)

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
# The gradebook: gradebook.db in the course, or a shared PostgreSQL database for a class graded on
# several machines (DLCOURSE_DB_URL=postgresql://...; docs/grading.md, "A class larger than one machine").
c.CourseDirectory.db_url = os.environ.get("DLCOURSE_DB_URL") or "sqlite:///" + os.path.join(ROOT, "gradebook.db")
c.CourseDirectory.course_id = "dl-training"
# Data files and figures beside a notebook travel with it; caches and checkpoints do not.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# nbgrader's exchange (release_assignment, fetch, submit, collect; formgrader's release and collect
# buttons): exchange/ inside the course for a class on one machine (git-ignored, hidden from grading
# kernels). On a JupyterHub, point NBGRADER_EXCHANGE at the shared exchange (e.g. /srv/nbgrader/exchange).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", os.path.join(ROOT, "exchange"))
if "NBGRADER_EXCHANGE" not in os.environ:
    try:  # nbgrader's exchange is writable by every user of the machine (mode 777, as nbgrader sets it)
        os.makedirs(c.Exchange.root, exist_ok=True)
        if os.stat(c.Exchange.root).st_mode & 0o777 != 0o777:
            os.chmod(c.Exchange.root, 0o777)
    except OSError:  # a read-only checkout: the exchange is simply unavailable, as formgrader then says
        pass

# Formgrader's debug panel prints the whole loaded configuration, which includes the Jupyter
# server's own (not JSON-serializable: the server log then warns on every page); nbgrader's
# configuration is in this file instead.
c.FormgradeExtension.debug = False

# Stub cells students see.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# --- Grading that survives broken and hostile notebooks (docs/grading.md) -------------------
# Rebuild each submission on the released notebook (deleted/edited/moved test cells come back),
# then execute it with hidden tests judged outside the kernel and recovery from dead kernels.
# Import paths rather than classes: nbconvert imports them when grading (the same classes), and the
# configuration stays JSON-serializable, which formgrader needs.
# A translated submission (course_zh/) is graded as the English notebook and gets its feedback in its
# language (autograder/localized_grading.py).
c.Autograde.sanitize_preprocessors = [
    "autograder.localized_grading.ToEnglishMarkdown", "autograder.restore_cells.RestoreStructure",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds", "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells", "autograder.metadata_check.CheckCellMetadata"]
c.Autograde.autograde_preprocessors = [
    "autograder.trusted_execute.TrustedExecute", "autograder.localized_grading.LocalizeFeedback",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
    "autograder.metadata_check.CheckCellMetadata"]  # nbgrader's check, its schema checked once per process

# Kernels run in the grading sandbox (autograder/sandbox.py; docs/grading.md, "The kernel sandbox"):
# they see only Python, the venv and dlcourse, write only into memory, have no network and no
# privileges. A cell that runs longer than the timeout is stopped; grading goes on.
c.Execute.kernel_name = grading_env.KERNEL_NAME
# IPC sockets instead of TCP: the sandbox can then give the kernel no network at all.
if sys.platform.startswith("linux"):
    c.KernelManager.transport = "ipc"
    c.KernelManager.ip = grading_env.ipc_prefix()  # one prefix per grading process
c.Execute.timeout = int(os.environ.get("DLCOURSE_CELL_TIMEOUT", "120"))
# A graded notebook's kernel has nothing left to flush: stop it at once (a graceful shutdown waits
# about 0.1 s more per submission).
c.Execute.shutdown_kernel = "immediate"
