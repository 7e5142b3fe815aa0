"""A JupyterLab server on a temporary copy of the course, and headless Chromium to drive it.

Nothing is written into the repository: the server runs on a copy (the student's ``course/``, or
the instructor's course directory), with its Jupyter state (runtime files, workspaces, settings,
IPython profile) in the same temporary folder. Chromium is the system's (``./course.sh system``
installs it); Playwright only drives it and never downloads a browser. Nothing touches the
network: the server listens on 127.0.0.1 and the browser runs with background networking off.
"""

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage", "--disable-extensions"]
TOKEN = "dlcourse-browser-test"
# What the instructor's copy needs: the nbgrader configuration, the instructor and student packages,
# the source and release notebooks. No git history, virtual environment or grading state.
INSTRUCTOR_COPY = ("nbgrader_config.py", "autograder", "dlcourse", "solutions", "course")
_SKIP_COPY = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
# JupyterLab settings for a quiet, offline lab (no news or update checks, no notification toasts)
# in which every cell of a notebook is in the page (no virtual scrolling).
_LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                 {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
                 "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"}}


def find_chromium():
    """The path of a Chromium-family browser (``DLCOURSE_CHROMIUM`` overrides), or None."""
    for path in (os.environ.get("DLCOURSE_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if path and os.access(path, os.X_OK):
            return path
    return None


def unavailable():
    """Why the browser journeys cannot run here (a sentence), or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -r requirements.txt)"
    if find_chromium() is None:
        return f"no Chromium found at {', '.join(CHROMIUM_CANDIDATES)} (./course.sh system installs it)"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_student_course(dest):
    """Copy the student release ``course/`` to ``dest/course``; returns that folder."""
    target = Path(dest) / "course"
    shutil.copytree(ROOT / "course", target, ignore=_SKIP_COPY)
    return target


def copy_instructor_course(dest):
    """Copy what an instructor's course directory needs to ``dest/instructor``; returns that folder."""
    target = Path(dest) / "instructor"
    target.mkdir()
    for name in INSTRUCTOR_COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=_SKIP_COPY)
        else:
            shutil.copy2(source, target / name)
    return target


_MARKER = re.compile(r"^ *### (BEGIN|END) SOLUTION *(\n|\Z)", re.M)


def completed_release(course_root, chapter, edits=None):
    """The released notebook as a student hands it in: each stub replaced by the solution's code.

    edits: dict grade id -> function(source) -> source, e.g. to make one exercise wrong.
    Returns the notebook as JSON text (test cells exactly as released, so their checksums hold).
    """
    course_root, edits = Path(course_root), edits or {}
    release = json.loads((course_root / "course" / chapter / f"{chapter}.ipynb").read_text(encoding="utf-8"))
    source = json.loads((course_root / "solutions" / chapter / f"{chapter}.ipynb").read_text(encoding="utf-8"))

    def grade_id(cell):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        return meta.get("grade_id") if meta.get("solution") and cell["cell_type"] == "code" else None

    answers = {grade_id(c): _MARKER.sub("", "".join(c["source"])) for c in source["cells"] if grade_id(c)}
    for cell in release["cells"]:
        if grade_id(cell):
            answer = answers[grade_id(cell)]
            cell["source"] = edits.get(grade_id(cell), lambda text: text)(answer)
    return json.dumps(release, indent=1)


class LabServer:
    """``jupyter lab`` serving ``root`` on a free localhost port with a known token.

    base_url: http://127.0.0.1:<port>; url(path) adds the token; log(): the server's output so far.
    """

    def __init__(self, root, state_dir, cwd=None):
        self.root, self.state = Path(root), Path(state_dir)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.state / "server.log"
        self.cwd = Path(cwd or root)
        self.process = None

    def url(self, path):
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{sep}token={TOKEN}"

    def _env(self):
        env = dict(os.environ)
        settings = self.state / "lab-settings"
        for name, value in _LAB_SETTINGS.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value))
        env.update(JUPYTER_RUNTIME_DIR=str(self.state / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(self.state / "ws"),
                   JUPYTERLAB_SETTINGS_DIR=str(settings), IPYTHONDIR=str(self.state / "ipython"),
                   JUPYTER_CONFIG_DIR=str(self.state / "config"), MPLBACKEND="Agg", OMP_NUM_THREADS="1")
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        return env

    def start(self, timeout=60):
        cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
               f"--ServerApp.root_dir={self.root}", "--LabApp.news_url=", "--ServerApp.open_browser=False"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # containers and CI run as root
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(cmd, cwd=self.cwd, env=self._env(), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited {self.process.returncode}:\n{self.log()}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as reply:
                    if reply.status == 200:
                        return self
            time.sleep(0.3)
        raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()


@contextlib.contextmanager
def lab_server(root, state_dir, cwd=None):
    server = LabServer(root, state_dir, cwd).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def chromium_page(width=1280, height=900):
    """A Playwright page in headless system Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="dlcourse-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile, executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height})
        try:
            context.set_default_timeout(60_000)
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
