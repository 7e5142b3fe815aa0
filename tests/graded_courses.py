"""Chapters graded through real nbgrader once per test run, shared by every test that reads them.

Stock ``nbgrader`` commands on one course directory per *set* of chapters (:class:`GradedCourse`;
the NumPy chapters form four sets (:data:`NUMPY_SETS`), each Keras chapter one of its own: :func:`course_set`):
``generate_assignment`` once for all its chapters, every submission the default tests need placed
in ``submitted/``, ONE ``autograde`` of all of them (one nbgrader start-up instead of one per
chapter and test), ``generate_feedback`` once. Tests read scores, graded notebooks and feedback
(:class:`GradedChapter`) instead of grading again. The submissions, in batches
(:data:`DEFAULT_BATCHES`):

- every chapter (:data:`STANDARD`): ``full`` (the solution notebook), ``blank`` (the untouched
  release), ``one_stubbed`` (the solution with its last graded function stubbed again);
- 01_losses: ``wrong_mse`` (mse summed, a named mistake) and the Chinese edition's ``zh_full``,
  ``zh_blank``, ``zh_wrong_mse``;
- 04_learning_rate_schedules: the hostile submissions of tests/submissions.py (``attack_*``);
- 06_backprop_initialization: ``reader_run``, the solution graded with the reader cells run
  (``DLCOURSE_RUN_READER_CELLS=1``), beside ``full``, graded with them skipped.
- 07_batchnorm_dropout: ``wrong_forwards``, the solution with ``batchnorm_forward`` stubbed and
  ``layernorm_forward`` using the sample variance (``ddof=1``) (tests/test_ch07_claims.py).

A batch with an environment of its own (the reader cells run), or one asked for later (the
``slow`` sweeps: :meth:`GradedChapter.add`), gets one more ``autograde`` of only its chapter and
students (``--student=<batch name>*``) in the same course directory.

The session fixture ``graded`` (tests/conftest.py) builds a set when a test first asks for one of
its chapters, with the chapters that the selected tests marked :func:`group` ask for (so
``-k 01_losses`` grades chapter 01 only). The mark is pytest-xdist's ``xdist_group``: with
``--dist loadgroup`` (pyproject.toml) a set's tests run on one worker and each set is graded
once per run. Without grouping everything still passes; a set may then be graded on each worker.
A chapter that nbgrader could not release or grade fails its own tests, with nbgrader's output.
"""

import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
import pytest

from autograder.chapters import chapter_ids
from autograder.course_dir import CourseDir
from autograder.execute import ROOT
from autograder.reader_cells import RUN_ENV
from autograder.release import solution_path
from tests import submissions as subs

KERAS_CHAPTERS = set(chapter_ids(keras=True))


@dataclass(frozen=True)
class Batch:
    """Submissions graded together: ``make(chapter, release_notebook)`` -> {student: Path or text}.

    Every student's name starts with ``name`` (it selects them when the batch is graded on its
    own); ``env`` is the environment of that autograde run (then it always runs on its own)."""

    name: str
    make: Callable
    env: tuple = ()


def _standard(chapter, release):
    solution = subs.load_solution(chapter)
    broken = subs.solution_cells(solution)[-1]
    return {"full": solution_path(chapter), "blank": release,
            "one_stubbed": subs.dumps(subs.with_cell_edited(solution, broken, subs.stub_out))}


def _summed_mse(chapter, release):
    return {"wrong_mse": subs.dumps(subs.with_summed_mse(subs.load_solution(chapter)))}


def _chinese(chapter, release):
    from autograder.release import LOCALIZED
    from autograder.translations import localized_source

    solution = localized_source(chapter)
    return {"zh_full": nbformat.writes(solution), "zh_blank": LOCALIZED["zh-CN"] / chapter / f"{chapter}.ipynb",
            "zh_wrong_mse": subs.dumps(subs.with_summed_mse(solution))}


def _attacks(chapter, release):
    return {f"attack_{name}": subs.dumps(nb) for name, nb in subs.attack_submissions(subs.load_solution(chapter)).items()}


def _wrong_forwards(chapter, release):
    wrong = subs.with_cell_edited(subs.load_solution(chapter), "batchnorm_forward", subs.stub_out)
    wrong = subs.with_cell_edited(wrong, "layernorm_forward",
                                  lambda s: s.replace("var = x.var(axis=-1, keepdims=True)",
                                                      "var = x.var(axis=-1, keepdims=True, ddof=1)"))
    return {"wrong_forwards": subs.dumps(wrong)}


def _reader_run(chapter, release):
    return {"reader_run": solution_path(chapter)}


STANDARD = Batch("", _standard)
SUMMED_MSE = Batch("wrong_mse", _summed_mse)
CHINESE = Batch("zh_", _chinese)
ATTACKS = Batch("attack_", _attacks)
READER_RUN = Batch("reader_run", _reader_run, env=((RUN_ENV, "1"),))
WRONG_FORWARDS = Batch("wrong_forwards", _wrong_forwards)

DEFAULT_BATCHES = {"01_losses": (SUMMED_MSE, CHINESE), "04_learning_rate_schedules": (ATTACKS,),
                   "06_backprop_initialization": (READER_RUN,), "07_batchnorm_dropout": (WRONG_FORWARDS,)}


# The NumPy chapters in four sets, each an xdist group graded in one nbgrader run. With two sets
# (one per worker) the run was bound by those two long indivisible units (68-74 s each on an idle
# machine, then the tests that read them) while the rest of the suite left cores idle; four smaller
# ones pack better around the Keras chapters' courses and the long single tests. Chapter 04 (the
# slowest notebook, plus the hostile submissions) with 05; 06 (graded twice: reader cells skipped
# and run) with 07; 08 alone; 01 (the Chinese and summed-mse submissions), 02 and 03 together.
NUMPY_SETS = {"graded-numpy-a": ("01_losses", "02_gradient_descent", "03_optimizers"),
              "graded-numpy-b": ("04_learning_rate_schedules", "05_regularization"),
              "graded-numpy-c": ("06_backprop_initialization", "07_batchnorm_dropout"),
              "graded-numpy-d": ("08_numpy_mlp_capstone",)}


def course_set(chapter):
    """The name of the set of chapters graded together with ``chapter``: the NumPy chapters in the
    sets of :data:`NUMPY_SETS` (a chapter in neither grades on its own), each Keras chapter on its
    own (its grading process imports TensorFlow; graded in one process with chapter 09, chapter 10's
    solution once lost points under heavy load)."""
    return next((name for name, chapters in NUMPY_SETS.items() if chapter in chapters), f"graded-{chapter}")


def group(chapter):
    """Mark for a test that reads ``chapter``'s graded course: its set's tests share one worker."""
    return pytest.mark.xdist_group(course_set(chapter), chapter=chapter)


def wanted_chapters(items):
    """dict set name -> chapters (in test order) that the marks of ``items`` ask for."""
    wanted = {}
    for item in items:
        mark = item.get_closest_marker("xdist_group")
        if mark is not None and "chapter" in mark.kwargs:
            chapters = wanted.setdefault(course_set(mark.kwargs["chapter"]), [])
            if mark.kwargs["chapter"] not in chapters:
                chapters.append(mark.kwargs["chapter"])
    return wanted


@contextlib.contextmanager
def _environment(pairs):
    """``os.environ`` with ``pairs`` set (the nbgrader commands inherit it); restored after."""
    saved = {key: os.environ.get(key) for key, _ in pairs}
    os.environ.update(dict(pairs))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class GradedCourse:
    """One course directory in which ``chapters`` are released and graded together."""

    def __init__(self, root, chapters):
        self.course = CourseDir(root)
        self.root = self.course.root
        self.chapters = list(chapters)
        self.log = {}  # nbgrader command -> its output, where it did not end cleanly
        for chapter in self.chapters:
            shutil.copytree(ROOT / "solutions" / chapter, self.root / "solutions" / chapter)
        self._run("generate_assignment", "*", "--force")
        self.released = [c for c in self.chapters if self.release(c).exists()]
        self.batches = {c: set() for c in self.released}
        for chapter in self.released:
            for batch in self._together(chapter):
                self._submit(chapter, batch)
        self._autograde("*", [b for c in self.released for b in self._together(c)])
        for chapter in self.released:
            self.batches[chapter].update(self._together(chapter))
            for batch in DEFAULT_BATCHES.get(chapter, ()):
                if batch.env:
                    self.add(chapter, batch)
        self._run("generate_feedback", "*", "--force")

    @staticmethod
    def _together(chapter):
        """The batches graded in the first, shared autograde."""
        return [STANDARD, *(b for b in DEFAULT_BATCHES.get(chapter, ()) if not b.env)]

    def release(self, chapter):
        return self.root / "course" / chapter / f"{chapter}.ipynb"

    def add(self, chapter, batch):
        """Grade ``batch`` of ``chapter`` here too (once): one more autograde of only its students."""
        if batch not in self.batches[chapter]:
            self._submit(chapter, batch)
            self._autograde(chapter, [batch], f"--student={batch.name}*")
            self.batches[chapter].add(batch)

    def _submit(self, chapter, batch):
        for student, what in batch.make(chapter, self.release(chapter)).items():
            assert student.startswith(batch.name), f"batch {batch.name!r}: student {student!r}"
            if isinstance(what, Path):
                self.course.submit(student, chapter, what)
            else:
                self.course.submit(student, chapter, text=what)

    def _autograde(self, assignment, batches, *extra):
        env = {RUN_ENV: "0", **{k: v for b in batches for k, v in b.env}}  # reader cells skipped unless asked
        with _environment(tuple(env.items())):
            # the release made here is the one submissions are rebuilt on (not the repository's course/)
            self._run("autograde", assignment, "--create", "--force",
                      f"--RestoreStructure.release_directory={self.root / 'course'}", *extra)

    def _run(self, *args):
        result = self.course.nbgrader(*args, check=False)
        if result.returncode != 0:  # nbgrader goes on past a notebook it cannot process; its tests say so
            self.log[" ".join(args[:2])] = f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"

    def problems(self):
        """What nbgrader reported, for a failing test's message."""
        return "\n".join(f"--- nbgrader {command}: {text}" for command, text in self.log.items()) or "(nothing)"


class GradedChapter:
    """One chapter of a :class:`GradedCourse`: scores, graded notebooks and feedback of its students."""

    def __init__(self, graded_course, chapter):
        self.graded_course = graded_course
        self.course = graded_course.course
        self.root = graded_course.root
        self.chapter = chapter
        if chapter not in graded_course.released:
            raise AssertionError(f"nbgrader did not release {chapter}:\n{graded_course.problems()}")

    def add(self, batch):
        self.graded_course.add(self.chapter, batch)
        return self

    @property
    def scores(self):
        """dict student -> {test cell id: score}, from the gradebook."""
        return self._gradebook(self.course.scores)

    @property
    def max_scores(self):
        return self._gradebook(self.course.max_scores)

    def _gradebook(self, read):
        from nbgrader.api import MissingEntry

        try:
            return read(self.chapter)
        except MissingEntry:
            raise AssertionError(f"{self.chapter} is not in the gradebook; {self.graded_course.problems()}") from None

    def student_scores(self, student):
        scores = self.scores
        if student not in scores:
            raise AssertionError(f"{self.chapter}: {student} was not graded; {self.graded_course.problems()}")
        return scores[student]

    def total(self, student):
        return sum(self.student_scores(student).values())

    def assert_full_marks(self, student):
        assert self.student_scores(student) == self.max_scores, f"{self.chapter}, {student}: not full marks"

    def assert_zero(self, student):
        assert self.total(student) == 0, f"{self.chapter}, {student}: {self.scores[student]}"

    def assert_loses_only(self, student, test):
        """``student`` scored 0 on test cell ``test`` and full marks on every other one."""
        scores = self.student_scores(student)
        assert scores[test] == 0, f"{self.chapter}, {student}: {test} earned {scores[test]}"
        assert {k: v for k, v in scores.items() if k != test} == \
            {k: v for k, v in self.max_scores.items() if k != test}, f"{self.chapter}, {student}: {scores}"

    def notebook(self, student):
        """The graded notebook of ``student`` (autograded/)."""
        path = self.root / "autograded" / student / self.chapter / f"{self.chapter}.ipynb"
        return nbformat.read(str(path), as_version=4)

    def feedback(self, student):
        """Path of the HTML feedback of ``student``."""
        return self.root / "feedback" / student / self.chapter / f"{self.chapter}.html"


class GradedCourses:
    """The sets of chapters, each built when a test first asks for one of its chapters (per session and worker)."""

    def __init__(self, tmp_path_factory, items):
        self._factory = tmp_path_factory
        self._wanted = wanted_chapters(items)
        self._built = []

    def __call__(self, chapter, *more):
        """The :class:`GradedChapter` of ``chapter`` with its default batches and ``more`` graded."""
        built = next((c for c in self._built if chapter in c[0]), None)
        if built is None:
            done = {c for chapters, _ in self._built for c in chapters}
            wanted = [c for c in self._wanted.get(course_set(chapter), []) if c not in done]
            chapters = wanted if chapter in wanted else [chapter]
            try:
                built = (chapters, GradedCourse(self._factory.mktemp(course_set(chapter)), chapters))
            except Exception as error:  # noqa: BLE001 - each of these chapters' tests reports it; none builds again
                built = (chapters, error)
            self._built.append(built)
        if isinstance(built[1], Exception):
            raise built[1]
        graded = GradedChapter(built[1], chapter)
        for batch in more:
            graded.add(batch)
        return graded
