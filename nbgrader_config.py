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

# Hidden tests import the instructor-only ``autograder`` package. It is never installed
# into site-packages (students must not get it); grading kernels find it through
# PYTHONPATH, which the kernels nbgrader starts inherit from this process.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p)
# NumPy chapters grade faster without BLAS threads fighting over the cores.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.root = ROOT
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "gradebook.db")
c.CourseDirectory.course_id = "dl-training"
# Data files and figures beside a notebook travel with it; caches and checkpoints do not.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# Stub cells students see.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# A cell that runs longer than this is stopped and the notebook still gets graded.
c.ExecutePreprocessor.timeout = 120
c.Execute.timeout = 120
