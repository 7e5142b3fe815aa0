"""What a student and an instructor do in the browser, step by step, with what each step must show.

Each journey drives a real JupyterLab (see harness.py) through the page a person sees, asserts on
what is displayed, and calls ``shot(name)`` at the moments worth a screenshot (the tests keep them
for a failure report; ``./course.sh screenshots`` writes them to docs/screenshots/).
"""

import re
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeout

# The student's two attempts at the first exercise: summing (a named mistake), then averaging.
MSE_SUMMED = '''def mse(y_true, y_pred):
    y_true, y_pred = same_shape(y_true, y_pred, "y_true", "y_pred")
    return float(np.sum((y_pred - y_true) ** 2))'''
MSE_RIGHT = '''def mse(y_true, y_pred):
    y_true, y_pred = same_shape(y_true, y_pred, "y_true", "y_pred")
    return float(np.mean((y_pred - y_true) ** 2))'''
NAMED_MISTAKE = "Your output matches summing instead of averaging."
CHECKING_CODE = ("dlcourse/checks", "runner.py", "judge(", "Traceback (most recent call last)")


def _notebook(page):
    """The notebook panel on show."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def _code_cell(page, text):
    """The one code cell of the open notebook whose source contains ``text``."""
    cells = _notebook(page).locator(".jp-CodeCell").filter(
        has=page.locator(".jp-InputArea-editor", has_text=text))
    assert cells.count() == 1, f"expected one code cell containing {text!r}, found {cells.count()}"
    return cells.first


def _wait_for_kernel(page):
    """Wait until the notebook's kernel is connected and idle (keys pressed before are lost)."""
    page.get_by_text(re.compile(r"\(ipykernel\) \| Idle")).wait_for(timeout=120_000)


def _run(page, cell, timeout_ms=120_000):
    """Run ``cell`` (Shift+Enter in its editor) and wait until it has finished."""
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text().strip()
    cell.locator(".cm-content").click()
    page.keyboard.press("Shift+Enter")
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        now = prompt.inner_text().strip()
        if re.fullmatch(r"\[\d+\]:?", now) and now != before:
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"the cell did not finish running within {timeout_ms / 1000:.0f} s (prompt {now!r})")


def _replace_source(page, cell, source):
    """Select the cell's source and type ``source`` in its place (as a paste: no auto-indent)."""
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)


def _output_text(cell):
    out = cell.locator(".jp-OutputArea-output")
    out.first.wait_for(timeout=120_000)
    return "\n".join(out.all_inner_texts())


def _no_checking_code(text, where):
    leaked = [marker for marker in CHECKING_CODE if marker in text]
    assert not leaked, f"{where} shows the checking code ({leaked}):\n{text}"


def student(page, server, shot):
    """Index -> chapter 01 -> set-up -> `mse` wrong (named mistake) -> right (pass) -> Validate."""
    page.goto(server.url("lab/tree/index.ipynb"))
    _notebook(page).locator(".jp-MarkdownOutput h1", has_text="How deep networks are trained").wait_for()
    shot("student-index")

    _wait_for_kernel(page)
    chapter = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-MarkdownOutput h1",
                           has_text="Chapter 01: Loss functions")
    for attempt in range(3):  # the rendered link handles clicks once JupyterLab has resolved it
        _notebook(page).get_by_role("link", name="Loss functions").click()
        try:
            chapter.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    _wait_for_kernel(page)
    _run(page, _code_cell(page, "# Set-up."))

    mse, test_mse = _code_cell(page, "def mse(y_true, y_pred):"), _code_cell(page, "check(mse)")
    _replace_source(page, mse, MSE_SUMMED)
    _run(page, mse)
    _run(page, test_mse)
    failure = _output_text(test_mse)
    assert failure.lstrip().startswith("CheckFailure: mse, case"), failure
    assert NAMED_MISTAKE in failure and "expected:" in failure and "got:" in failure, failure
    _no_checking_code(failure, "the failed check")
    test_mse.scroll_into_view_if_needed()
    shot("student-named-mistake")

    _replace_source(page, mse, MSE_RIGHT)
    _run(page, mse)
    _run(page, test_mse)
    passed = _output_text(test_mse)
    assert re.search(r"mse: all \d+ visible checks passed", passed), passed
    shot("student-pass")

    page.keyboard.press("Escape")
    page.keyboard.press("Control+S")
    # Wait for the save to land: Validate saves again, and two saves in flight make JupyterLab ask
    # whether the file "changed on disk".
    page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty").wait_for(state="detached", timeout=60_000)
    _notebook(page).locator(".jp-Toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("Validation Results").wait_for(timeout=180_000)
    report = dialog.inner_text()
    # The other exercises are still stubs: validation names them, and says nothing about mse.
    assert "mse_grad is not implemented yet" in report, report
    assert "check(mse)\n" not in report
    _no_checking_code(report, "the validation report")
    shot("student-validate")
    dialog.get_by_role("button", name=re.compile("OK|Close", re.I)).first.click()
    return {"failure": failure, "passed": passed, "validation": report}


def _close_success(page, message, timeout_ms=180_000):
    """Wait for formgrader's result dialog, insist it reports success, and close it."""
    modal = page.locator(".modal-dialog").filter(has=page.locator(".modal-title"))
    modal.first.wait_for(timeout=timeout_ms)
    text = modal.first.inner_text()
    assert message in text, f"formgrader reported:\n{text}"
    modal.first.get_by_role("button", name=re.compile("close|ok", re.I)).first.click()
    modal.first.wait_for(state="hidden")


def instructor(page, server, course_root, submit, shot):
    """Formgrader: no set-up warning -> generate and release 01 -> autograde a submission -> its feedback.

    submit(): places a student's submission in the course's submitted/ folder (as collect would).
    """
    page.goto(server.url("formgrader"))
    table = page.locator("#main-table")
    row = table.locator("tr", has_text="01_losses")
    row.wait_for()
    # Formgrader's set-up warnings (a missing exchange, a course outside the server root) are alerts.
    alerts = page.locator(".alert-warning, .alert-danger")
    assert alerts.count() == 0, "formgrader warns:\n" + "\n".join(alerts.all_inner_texts())
    shot("instructor-formgrader")

    row.locator(".glyphicon-education").click()  # Generate (the student version)
    _close_success(page, "Successfully created the student version")
    assert (course_root / "course" / "01_losses" / "01_losses.ipynb").exists()
    row.locator(".glyphicon-cloud-upload").click()  # Release, into the course's own exchange
    _close_success(page, "Successfully released")
    assert list((course_root / "exchange").glob("*/outbound/01_losses/01_losses.ipynb")), "nothing in the exchange"

    student_id = submit()
    page.goto(server.url("formgrader/manage_submissions/01_losses"))
    student_row = page.locator("#main-table tr", has_text=student_id)
    student_row.locator(".glyphicon-flash").click()  # Autograde
    _close_success(page, "Successfully autograded", timeout_ms=300_000)
    student_row.locator(".glyphicon-comment").wait_for()  # the row now offers feedback
    score_text = student_row.inner_text()
    shot("instructor-autograded")

    student_row.locator(".glyphicon-comment").click()  # Generate feedback
    _close_success(page, "Successfully generated feedback")
    assert (course_root / "feedback" / student_id / "01_losses" / "01_losses.html").exists()

    page.goto(server.url(f"files/feedback/{student_id}/01_losses/01_losses.html"))
    page.get_by_text(NAMED_MISTAKE).first.wait_for()
    text = page.locator("body").inner_text()
    _no_checking_code(text, "the feedback")
    page.get_by_text(NAMED_MISTAKE).first.scroll_into_view_if_needed()
    shot("instructor-feedback")
    return {"row": score_text, "feedback": text}
