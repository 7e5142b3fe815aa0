"""Shared test set-up: the repository root is importable (for ``autograder``), plots go
nowhere, BLAS and TensorFlow use one thread each (the tests run one process per core), and
TensorFlow stays quiet when a Keras test imports it."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # as autograder.grading_env: no TensorFlow logs on a kernel's stderr
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["DLCOURSE_OFFLINE"] = "1"  # tests never touch the network


@pytest.fixture(scope="module")
def keras():
    """Keras 3 (TensorFlow backend unless KERAS_BACKEND says otherwise); skips when absent."""
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


@pytest.fixture(scope="session")
def graded(tmp_path_factory, request):
    """``graded(chapter, *batches)``: the chapter graded through real nbgrader, once per session and
    worker, shared by the tests that read it (tests/graded_courses.py; mark them ``group(chapter)``)."""
    from tests.graded_courses import GradedCourses

    return GradedCourses(tmp_path_factory, request.session.items)


@pytest.fixture
def rng():
    import numpy as np

    return np.random.default_rng(12345)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Tests marked ``xdist_group`` share one worker under ``--dist loadgroup``; GPU tests are skipped,
    with the reason, when no GPU is visible."""
    _xdist_groups(config, items)
    _heavy_first(items)
    if not any("gpu" in item.keywords for item in items):
        return
    from tests.helpers import gpu_available

    if gpu_available():
        return
    skip = pytest.mark.skip(reason="needs a GPU (none found: nvidia-smi absent or lists no device)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


HEAVY_FIRST = (
    "tests/test_grade_class.py::test_attack_families_on_chapter_01_leave_every_row_and_classmate_intact",
    "tests/test_grading.py::test_autograde_solution_blank_and_one_broken_function[09_keras_training]",
    "tests/test_grading.py::test_autograde_solution_blank_and_one_broken_function[10_gpu_keras_lab]",
    "tests/test_postgres_grading.py::test_two_runs_share_a_class_on_postgresql",
    "tests/test_grading.py::test_autograde_solution_blank_and_one_broken_function[08_numpy_mlp_capstone]",
    "tests/test_browser.py::test_student_sees_the_named_mistake_then_the_pass_and_validates",
    "tests/test_notebooks.py::test_solution_notebook_executes[08_numpy_mlp_capstone]",
    "tests/test_browser.py::test_instructor_generates_autogrades_and_reads_feedback_in_formgrader",
    "tests/test_ch10_gpu_lab.py::test_benchmark_prints_a_row_per_configuration",
    "tests/test_sandbox.py::test_time_limit_and_grading_without_sandbox_are_noted",
    "tests/test_grade_fingerprint.py::test_numpy_grades_are_unchanged[random_search]",
)
"""The default run's longest single units, longest first (15-70 s each on 2 idle cores, from ``--durations``;
docs/benchmarks.md): tests outside any xdist_group, and xdist groups of one test (a graded course that
only one test reads; its id here is without the ``@group`` suffix). Only the order depends on this list."""


def _heavy_first(items):
    """Collect the tests of :data:`HEAVY_FIRST` before all others (the rest keep their order).

    Under ``--dist loadgroup`` xdist hands out its units (a group, or a test outside any group) by
    number of tests, largest first, and units of one test in collection order; a 50-second unit that
    comes last leaves the other worker idle for that long. Handing out the longest units of one test
    right after the larger groups, longest first, keeps the two workers' ends close."""
    rank = {nodeid: i for i, nodeid in enumerate(HEAVY_FIRST)}

    def key(item):
        return rank.get(item.nodeid.rpartition("@")[0] or item.nodeid, len(rank))

    items.sort(key=key)


def _xdist_groups(config, items):
    """On an xdist worker with ``--dist loadgroup``: the ``@<group>`` suffix on the ids of tests marked
    ``xdist_group``, by which the controller keeps a group on one worker (tests/graded_courses.py).

    pytest-xdist 3.8 adds it by setting ``item._nodeid``, which pytest 9 no longer reads (the id is
    ``item._id``), so without this the groups are silently split across workers. Does nothing where
    xdist's own suffix took effect."""
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                        for m in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid.rpartition("]")[2]:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")
