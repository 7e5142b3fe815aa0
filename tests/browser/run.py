"""Run one journey on a fresh temporary copy of the course, keeping the evidence when it fails."""

import contextlib
import tempfile
from pathlib import Path

from tests.browser import harness, journeys

CHAPTER = "01_losses"


def _summed_mse(source):
    """The student's wrong `mse`: summing where the mean belongs."""
    changed = source.replace("np.mean((y_pred", "np.sum((y_pred")
    assert changed != source, "the solution's mse no longer reads np.mean((y_pred - y_true) ** 2)"
    return changed


@contextlib.contextmanager
def _evidence(page, server, folder):
    """On failure, save the page's screenshot and add it and the server log's tail to the error."""
    try:
        yield
    except Exception as err:
        shot = Path(folder) / "failure.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=str(shot))
        raise AssertionError(f"{err}\n\npage at failure: {shot}\nserver log (tail):\n{server.log()[-3000:]}") from err


def student(shots_dir, workdir=None):
    """The student journey in a temporary copy of course/; returns (journey result, server log)."""
    with tempfile.TemporaryDirectory(prefix="dlcourse-student-", dir=workdir) as tmp:
        course = harness.copy_student_course(tmp)
        with harness.lab_server(course, tmp) as server, harness.chromium_page() as page, \
                _evidence(page, server, shots_dir):
            result = journeys.student(page, server, _shooter(page, shots_dir))
        return result, server.log()


def instructor(shots_dir, workdir=None):
    """The instructor journey in a temporary course directory; returns (journey result, server log)."""
    with tempfile.TemporaryDirectory(prefix="dlcourse-instructor-", dir=workdir) as tmp:
        root = harness.copy_instructor_course(tmp)

        def submit():
            folder = root / "submitted" / "alice" / CHAPTER
            folder.mkdir(parents=True)
            text = harness.completed_release(root, CHAPTER, {"mse": _summed_mse})
            (folder / f"{CHAPTER}.ipynb").write_text(text, encoding="utf-8")
            return "alice"

        with harness.lab_server(root, tmp) as server, harness.chromium_page() as page, \
                _evidence(page, server, shots_dir):
            result = journeys.instructor(page, server, root, submit, _shooter(page, shots_dir))
        return result, server.log()


def _shooter(page, folder):
    def shot(name):
        page.screenshot(path=str(Path(folder) / f"{name}.png"))
    return shot
