"""Grade a whole class in parallel: ``python -m autograder.grade_class 01_losses``.

Equivalent to stock ``nbgrader autograde 01_losses --create`` followed by
``nbgrader generate_feedback 01_losses`` (same gradebook rows, same per-cell scores: the work is
done by nbgrader's own Autograde and GenerateFeedback apps with this course's configuration),
but built so that no submission can break the batch or another student's grade:

- **Graded from a copy.** Each submission is copied into ``grading/staging/<chapter>/`` (only
  regular files; :mod:`autograder.preflight`), repaired there and graded from there. The files in
  ``submitted/`` are only read, never changed.
- **In isolation.** Submissions are graded in ``--workers`` worker processes that this process
  supervises, each in its own session (process group). Anything that goes wrong while staging,
  repairing or grading one submission (an exception, an unreadable or deeply nested file, a
  folder named like the notebook) is confined to it: it is graded as the unanswered notebook
  with a note saying why, and the batch goes on.
- **Workers that die, stop or hang are replaced.** A worker that dies (its kernel killed it),
  is stopped (SIGSTOP) or is still busy after ``DLCOURSE_SUBMISSION_TIMEOUT`` seconds (default
  1200) is killed with its whole process group and replaced, and the submission is graded
  again, up to ``DLCOURSE_SUBMISSION_ATTEMPTS`` times (default 2); then it is graded as the
  unanswered notebook with a note ("the grading worker died twice while grading this
  submission"). On Linux this process is a child subreaper: processes that the learner's code
  left behind (forked daemons) become its children when their parents exit, and are killed.
- **A ledger** (``grading/<chapter>.json``) records each submission with a fingerprint of its
  files and its status: ``graded``, or ``failed`` with the reason (such a student still has a
  gradebook row when the unanswered-notebook fallback could be graded). Re-running grades new,
  changed and failed submissions only, so an interrupted run resumes; ``--force`` regrades
  everyone. A submission is regraded as a whole, so nothing is counted twice.
- **Several runs share a class.** Runs on one chapter (on several hosts sharing the course
  directory and a PostgreSQL gradebook, ``--db-url``) grade a submission only after claiming it
  (:mod:`autograder.claims`), write the ledger under a lock, re-reading and merging it, and wait
  for the submissions that another run is grading, so each is graded once and every run ends
  with the whole class. Each run lists what it graded in ``grading/journal/<chapter>/<host>-<pid>.jsonl``.
- progress is shown while it runs and a summary table is printed at the end.
"""

import argparse
import collections
import ctypes
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import stat
import sys
import tempfile
import time
import warnings
from pathlib import Path

from autograder.chapters import chapter_argument

ROOT = Path(__file__).resolve().parent.parent
SUBMISSION_TIMEOUT = float(os.environ.get("DLCOURSE_SUBMISSION_TIMEOUT", "1200"))
ATTEMPTS = int(os.environ.get("DLCOURSE_SUBMISSION_ATTEMPTS", "2"))
_FINGERPRINT_BYTES = 256 * 1024 * 1024


def staging_step(chapter):
    """The folder, relative to the course root, where this chapter's submissions are staged."""
    return os.path.join("grading", "staging", chapter)


# -- worker side ---------------------------------------------------------------------------------
def _load_api(course_root, db_url, chapter):
    """nbgrader's API with this course's configuration, reading submissions from the staging folder.

    The worker works from an empty folder of its own, so its working directory (visible to its
    children as /proc/<pid>/cwd) leads nowhere.
    """
    os.chdir(tempfile.mkdtemp(prefix="dlc-worker-"))
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    config.CourseDirectory.root = str(course_root)
    config.CourseDirectory.db_url = db_url
    config.CourseDirectory.submitted_directory = staging_step(chapter)
    return NbGraderAPI(config=config)


def _last_line(text, default):
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else default


def _stage(course_root, chapter, student, release, fallback):
    """Copy and repair one submission into the staging folder; the grading notes made."""
    from autograder.preflight import repair_submission, stage_release, stage_submission

    staged = Path(course_root) / staging_step(chapter) / student / chapter
    notes = []
    if fallback is None:
        try:
            stage_submission(Path(course_root) / "submitted" / student / chapter, staged, notes)
            notes += repair_submission(staged, chapter, release)
            return notes
        except (Exception, RecursionError) as err:  # noqa: BLE001 - one submission, never the batch
            fallback = f"the submission could not be read ({type(err).__name__}: {err})"
    notes.append(f"{fallback}; it was graded as the unanswered notebook, and your instructor has the original file")
    stage_release(staged, chapter, release)
    submitted_stamp = Path(course_root) / "submitted" / student / chapter / "timestamp.txt"
    if submitted_stamp.is_file() and not submitted_stamp.is_symlink():
        (staged / "timestamp.txt").write_bytes(submitted_stamp.read_bytes()[:200])
    return notes


def grade_job(api, course_root, chapter, release, job):
    """Stage, repair, autograde and (optionally) make feedback for one submission; a result dict."""
    from autograder import notes as grading_notes

    start = time.perf_counter()
    student = job["student"]
    notes = _stage(course_root, chapter, student, release, job.get("fallback"))
    grading_notes.hand_over(chapter, student, notes)
    grading_notes.reset_rendered()
    try:
        result = api.autograde(chapter, student, force=True, create=True)
        ok = bool(result.get("success"))
        error = "" if ok else _last_line(result.get("error") or result.get("log"), "autograding failed")
        if ok and job.get("feedback", True):
            fb = api.generate_feedback(chapter, student, force=True)
            if not fb.get("success"):
                ok, error = False, "feedback: " + _last_line(fb.get("error") or fb.get("log"), "failed")
    finally:
        grading_notes.take_over(chapter, student)
    return {"student": student, "ok": ok, "error": error, "notes": grading_notes.rendered_notes() or notes,
            "seconds": time.perf_counter() - start}


def _worker_main(conn, course_root, db_url, chapter, release):
    """A grading worker: its own session, nbgrader loaded once, then one job per message."""
    os.setsid()
    # nbgrader's gradebook code makes SQLAlchemy warn about every new submission row ("Object of type
    # <SubmittedAssignment> not in session"); harmless, and it would bury the progress bar.
    warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session")
    api = _load_api(course_root, db_url, chapter)
    conn.send("ready")
    while True:
        job = conn.recv()
        if job is None:
            # Every result is sent and nbgrader has committed each one; skip the interpreter's
            # teardown of nbgrader, SQLAlchemy and the rest (0.3 s, paid at the end of every run).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
        try:
            result = grade_job(api, course_root, chapter, release, job)
        except (Exception, RecursionError) as err:  # noqa: BLE001 - reported to the supervisor
            result = {"student": job["student"], "ok": False, "error": f"{type(err).__name__}: {err}"[:500],
                      "notes": [], "seconds": 0.0}
        conn.send(result)


# -- processes -----------------------------------------------------------------------------------
def _become_subreaper():
    """Make orphaned descendants children of this process (Linux); True when it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _proc_stat(pid):
    """(state, ppid, pgid) of a process from /proc, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), int(fields[1]), int(fields[2])
    except (OSError, IndexError, ValueError):
        return None


def _children():
    """Pids whose parent is this process (Linux; empty elsewhere)."""
    me, out = os.getpid(), []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return out
    for pid in pids:
        info = _proc_stat(pid)
        if info and info[1] == me:
            out.append(pid)
    return out


def _kill_group(pid, spare=()):
    """SIGKILL ``pid`` and its whole process group (unless that is ours or one in ``spare``)."""
    own = os.getpgrp()
    try:
        pgid = os.getpgid(pid)
        if pgid != own and pgid not in spare:
            os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


class _Worker:
    def __init__(self, context, args):
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=_worker_main, args=(child, *args), daemon=True)
        self.proc.start()
        child.close()
        self.job, self.since, self.ready = None, None, False

    def poll_ready(self):
        """True once the worker has loaded nbgrader and waits for jobs."""
        try:
            if not self.ready and self.conn.poll():
                self.ready = self.conn.recv() == "ready"
        except (EOFError, OSError):
            pass
        return self.ready

    def send(self, job):
        self.job, self.since = job, time.monotonic()
        self.conn.send(job)

    def problem(self, deadline):
        """None while all is well, else a phrase saying what happened to this busy worker."""
        if not self.proc.is_alive():
            return "died"
        info = _proc_stat(self.proc.pid)
        if info and info[0] in ("T", "t"):
            return "was stopped"
        if time.monotonic() - self.since > deadline:
            return f"was still busy after {deadline:g} s"
        return None

    def kill(self):
        _kill_group(self.proc.pid)
        self.proc.join(5)
        self.conn.close()

    def ask_to_stop(self):
        """Tell the idle worker to exit (it does at once); :meth:`join` waits for it."""
        try:
            self.conn.send(None)
        except OSError:
            pass

    def join(self):
        self.proc.join(10)
        if self.proc.is_alive():
            self.kill()


class Supervisor:
    """Run jobs on ``workers`` supervised worker processes; results go to ``on_result(job, result)``.

    A worker that dies, is stopped or passes ``deadline`` seconds on one job is killed with its
    process group and replaced, and ``on_failure(job, phrase)`` is called. Both callbacks return
    the job to run next in place of the one they were given (run before the others), or None.
    ``take(job)``, when given, is asked just before a job is sent; a job it refuses is dropped.
    """

    def __init__(self, workers, args, deadline, on_result, on_failure, take=None):
        self.context = multiprocessing.get_context("spawn")
        self.size, self.args, self.deadline = workers, args, deadline
        self.on_result, self.on_failure, self.take = on_result, on_failure, take
        self.workers, self.known, self.failed_starts = [], set(), 0
        self.subreaper = None  # None between runs; True or False (could it become one) during a run

    def _spawn(self):
        worker = _Worker(self.context, self.args)
        self.workers.append(worker)
        return worker

    def sweep(self):
        """Kill processes that became this process's children without being its workers."""
        ours = {w.proc.pid for w in self.workers}
        for pid in _children():
            if pid not in ours and pid not in self.known:
                _kill_group(pid, spare=ours)
                try:
                    os.waitpid(pid, os.WNOHANG)
                except OSError:
                    pass

    def _begin(self):
        """Before the first worker of a run: become the subreaper, note the children that are not ours."""
        from multiprocessing import resource_tracker

        if self.subreaper is None:
            self.subreaper = _become_subreaper()
            resource_tracker.ensure_running()
            self.known = set(_children())

    def start(self, jobs):
        """Start the workers for ``jobs`` jobs now, so they load nbgrader while the caller prepares
        the run; :meth:`run` (or :meth:`close`, if the caller gives up) must follow."""
        while len(self.workers) < min(self.size, jobs):
            self._begin()
            self._spawn()

    def run(self, jobs):
        """Run ``jobs`` to the end, then stop the workers."""
        self._begin()
        queue = collections.deque(jobs)
        try:
            while queue or any(w.job for w in self.workers):
                self._assign(queue)
                busy = [w for w in self.workers if w.job is not None]
                waits = [w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers]
                multiprocessing.connection.wait(waits, timeout=0.5)
                for worker in busy:
                    self._check(worker, queue)
                self.sweep()
        finally:
            self.close()

    def close(self):
        """Stop the idle workers (all together), kill the busy ones and whatever they left behind."""
        if self.subreaper is None and not self.workers:
            return  # nothing started since the last close
        idle = [w for w in self.workers if w.job is None]
        for worker in self.workers:
            if worker.job is None:
                worker.ask_to_stop()
            else:
                worker.kill()
        for worker in idle:
            worker.join()
        self.workers = []
        for _ in range(10):
            self.sweep()
            if not [p for p in _children() if p not in self.known]:
                break
            time.sleep(0.2)
        if self.subreaper:
            ctypes.CDLL(None).prctl(36, 0, 0, 0, 0)
        self.subreaper = None

    def _assign(self, queue):
        """Give queued jobs to idle workers, replacing dead idle ones and starting new ones as needed."""
        for worker in [w for w in self.workers if w.job is None and not w.proc.is_alive()]:
            if not worker.ready:
                self.failed_starts += 1
                if self.failed_starts > 3 * self.size:
                    raise RuntimeError("grading workers die while starting (nbgrader cannot be loaded?); "
                                       f"exit code {worker.proc.exitcode}")
            worker.kill()
            self.workers.remove(worker)
        idle = [w for w in self.workers if w.job is None]
        while len(self.workers) < self.size and len(idle) < len(queue):
            idle.append(self._spawn())
        for worker in [w for w in idle if w.poll_ready()]:
            if not queue:
                break
            job = queue.popleft()
            while self.take is not None and not self.take(job):
                job = queue.popleft() if queue else None
                if job is None:
                    return
            try:
                worker.send(job)
            except OSError:
                queue.appendleft(job)
                worker.job = None
                worker.kill()
                self.workers.remove(worker)

    def _check(self, worker, queue):
        job, result = worker.job, None
        try:
            if worker.conn.poll():
                result = worker.conn.recv()
        except (EOFError, OSError):
            result = None
        if result is not None:
            worker.job = None
            follow_up = self.on_result(job, result)
        else:
            phrase = worker.problem(self.deadline)
            if phrase is None:
                return
            worker.kill()
            self.workers.remove(worker)
            follow_up = self.on_failure(job, phrase)
        if follow_up is not None:
            queue.appendleft(follow_up)


# -- parent side ---------------------------------------------------------------------------------
def fingerprint(folder):
    """A hash of a submission folder: relative paths, file types and bytes; never follows links.

    Regular files are hashed up to 256 MiB (plus their size); symlinks by their target; other
    file types (FIFOs, sockets) by their kind, so reading never blocks.
    """
    digest = hashlib.sha256()
    folder = Path(folder)
    try:
        top = os.lstat(folder)
    except OSError:
        return digest.hexdigest()
    if not stat.S_ISDIR(top.st_mode):
        digest.update(f"not a folder {stat.S_IFMT(top.st_mode)} {top.st_size}".encode())
        return digest.hexdigest()
    for path in sorted(_walk(folder)):
        relative = str(path.relative_to(folder)).encode("utf-8", "surrogateescape")
        digest.update(relative + b"\0")
        try:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                digest.update(b"link " + os.fsencode(os.readlink(path)))
            elif stat.S_ISREG(info.st_mode):
                digest.update(f"file {info.st_size}\0".encode())
                with open(path, "rb") as f:
                    left = _FINGERPRINT_BYTES
                    while left > 0 and (block := f.read(min(left, 1 << 20))):
                        digest.update(block)
                        left -= len(block)
            else:
                digest.update(f"kind {stat.S_IFMT(info.st_mode)}".encode())
        except OSError as err:
            digest.update(f"unreadable {err.errno}".encode())
    return digest.hexdigest()


def _walk(folder):
    for parent, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            yield Path(parent) / name


class Ledger:
    """What happened to each submission (``graded`` or ``failed`` with the reason), saved atomically.

    Several runs may share it: each :meth:`record` re-reads the file under a lock and writes it
    back with the one entry changed, so no run loses another's entries.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.entries = {}
        self.reload()

    def _lock(self):
        from autograder.claims import locked

        return locked(self.path.with_name(self.path.name + ".lock"))

    def reload(self):
        """Read the entries that every run has recorded so far."""
        try:
            entries = json.loads(self.path.read_text()) if self.path.exists() else {}
        except (ValueError, OSError):
            entries = {}
        self.entries = entries if isinstance(entries, dict) else {}
        return self.entries

    def done(self, student, print_):
        """True when this exact submission was graded (failed ones are retried)."""
        entry = self.entries.get(student)
        return bool(entry) and entry.get("fingerprint") == print_ and entry.get("status") == "graded"

    def record(self, student, **entry):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            self.reload()
            self.entries[student] = entry
            tmp = self.path.with_name(f"{self.path.name}.{socket.gethostname()}-{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
            os.replace(tmp, self.path)


def _release_path(course_root, chapter):
    for candidate in (Path(course_root) / "course" / chapter / f"{chapter}.ipynb",
                      ROOT / "course" / chapter / f"{chapter}.ipynb"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"no released notebook for {chapter}: run ./course.sh release")


def ensure_assignment(course_root, db_url, chapter):
    """Make sure the gradebook knows the assignment (stock generate_assignment records it).

    Under a lock in the course directory: two runs starting together record it once.
    """
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.claims import locked

    with locked(Path(course_root) / "grading" / f"{chapter}.setup.lock"):
        with Gradebook(db_url) as gb:
            try:
                if gb.find_assignment(chapter).notebooks:
                    return
            except MissingEntry:
                pass
        from autograder.course_dir import CourseDir

        course = CourseDir(course_root)
        course.db_url = db_url
        course.nbgrader("generate_assignment", chapter, "--force")


def list_students(submitted, chapter):
    """Students with something at ``submitted/<student>/<chapter>`` (folders only, links not followed)."""
    if not submitted.is_dir():
        return []
    students = []
    for entry in sorted(submitted.iterdir()):
        if entry.is_dir() and not entry.is_symlink() and os.path.lexists(entry / chapter):
            students.append(entry.name)
    return students


def summary_rows(db_url, chapter, students, ledger):
    """(student, score, max score, status, notes) for each student, from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(db_url) as gb:
        for student in students:
            try:
                sub = gb.find_submission(chapter, student)
                score, max_score = sub.score, sub.max_score
            except MissingEntry:
                score, max_score = None, None
            entry = ledger.entries.get(student, {})
            rows.append((student, score, max_score, entry.get("status", "missing"), entry.get("notes", [])))
    return rows


def print_summary(rows, stream=sys.stdout):
    width = max([len("student")] + [len(r[0]) for r in rows])
    stream.write(f"\n{'student':<{width}}  {'score':>11}  {'status':<9}  notes\n")
    stream.write(f"{'-' * width}  {'-' * 11}  {'-' * 9}  {'-' * 40}\n")
    for student, score, max_score, status, notes in rows:
        shown = "no row" if score is None else f"{score:g} / {max_score:g}"
        first = notes[0] if notes else ""
        more = f" (+{len(notes) - 1} more)" if len(notes) > 1 else ""
        stream.write(f"{student:<{width}}  {shown:>11}  {status:<9}  {first[:90]}{more}\n")
    graded = [r for r in rows if r[1] is not None]
    if graded:
        mean = sum(r[1] for r in graded) / len(graded)
        stream.write(f"\n{len(graded)} of {len(rows)} submissions have a grade; mean score {mean:.2f} / {graded[0][2]:g}\n")


def _failure_phrase(phrases):
    """'the grading worker died twice while grading this submission' from ['died', 'died']."""
    if len(set(phrases)) == 1:
        times = {1: "", 2: " twice"}.get(len(phrases), f" {len(phrases)} times")
        return f"the grading worker {phrases[0]}{times} while grading this submission"
    return f"the grading worker {', then '.join(phrases)} while grading this submission"


class _Batch:
    """The bookkeeping of one run: claims, attempts, fallbacks, ledger entries, progress.

    Both callbacks return the job to run next in place of the one they were given, or None.
    """

    def __init__(self, ledger, prints, progress, attempts, claims=None, journal=None):
        self.ledger, self.prints, self.progress, self.attempts = ledger, prints, progress, attempts
        self.failures = collections.defaultdict(list)
        self.claims, self.journal = claims, journal
        self.seen = {s: dict(e) for s, e in ledger.entries.items()}  # the ledger when this run started
        self.elsewhere = set()  # submissions that another run was grading when this one came to them

    def settled_elsewhere(self, student):
        """True when another run has recorded this exact submission since this run started."""
        entry = self.ledger.entries.get(student)
        return bool(entry) and entry.get("fingerprint") == self.prints[student] and (
            entry.get("status") == "graded" or entry != self.seen.get(student))

    def take(self, job):
        """Claim the submission before it is graded; False when another run has it or has graded it."""
        student = job["student"]
        if self.claims is None or student in self.claims.held:
            return True
        if not self.claims.take(student):
            self.elsewhere.add(student)
            return False
        self.elsewhere.discard(student)
        self.ledger.reload()
        if self.settled_elsewhere(student):
            self.claims.release(student)
            return False
        if self.journal is not None:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            with open(self.journal, "a") as handle:
                handle.write(json.dumps({"student": student, "fingerprint": self.prints[student],
                                         "started": time.time()}) + "\n")
        return True

    def _record(self, student, **entry):
        self.ledger.record(student, **entry, by=f"{socket.gethostname()}-{os.getpid()}")
        if self.claims is not None:
            self.claims.release(student)

    def on_result(self, job, result):
        student, fallback = job["student"], job.get("fallback")
        if not result["ok"] and fallback is None:
            return dict(job, fallback=f"grading failed ({result['error']})")
        status = "graded" if result["ok"] and fallback is None else "failed"
        entry = {"fingerprint": self.prints[student], "status": status, "seconds": round(result["seconds"], 2),
                 "notes": result["notes"]}
        if status == "failed":
            entry["error"] = fallback
            if not result["ok"]:
                entry["error"] += f"; the unanswered notebook could not be graded either ({result['error']})"
        self._record(student, **entry)
        self.progress.update(last=student, ok=status == "graded")
        return None

    def on_failure(self, job, phrase):
        student = job["student"]
        self.failures[student].append(phrase)
        if job.get("fallback") is not None:
            reason = job["fallback"] + f"; grading the unanswered notebook failed too (the worker {phrase})"
            self._record(student, fingerprint=self.prints[student], status="failed", seconds=0.0,
                         notes=[reason], error=reason)
            self.progress.update(last=student, ok=False)
            return None
        if len(self.failures[student]) < self.attempts:
            return job
        return dict(job, fallback=_failure_phrase(self.failures[student]))


def default_db_url(course_root):
    """``DLCOURSE_DB_URL`` (a shared PostgreSQL gradebook, as nbgrader_config.py reads it) or the course's gradebook.db."""
    return os.environ.get("DLCOURSE_DB_URL") or f"sqlite:///{Path(course_root) / 'gradebook.db'}"


def _wait_for_others(batch, claims, students, poll=2.0):
    """Wait until no other run holds a claim on ``students``; those left unsettled (a run that
    stopped, or a claim gone stale) are returned to be graded here."""
    left = set(students)
    while left:
        batch.ledger.reload()
        for student in list(left):
            if batch.settled_elsewhere(student):
                left.discard(student)
            elif claims.owner(student) is None or claims.stale(student):
                return sorted(left)
        if left:
            time.sleep(poll)
    return []


def grade_class(chapter, course_root=ROOT, db_url=None, workers=None, force=False, feedback=True, quiet=False,
                deadline=None):
    """Grade every ``submitted/<student>/<chapter>`` under ``course_root``; return the summary rows.

    Other runs on the same chapter and course directory may run at the same time (other hosts
    sharing it, with the gradebook on PostgreSQL): the submissions are split between the runs.
    """
    from autograder.claims import Claims
    from dlcourse.progress import ProgressBar

    course_root = Path(course_root).resolve()
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    db_url = db_url or default_db_url(course_root)
    workers = workers or max(1, os.cpu_count() or 1)
    deadline = deadline or SUBMISSION_TIMEOUT
    submitted = course_root / "submitted"
    students = list_students(submitted, chapter)
    ledger = Ledger(course_root / "grading" / f"{chapter}.json")
    release = _release_path(course_root, chapter)

    prints = {s: fingerprint(submitted / s / chapter) for s in students}
    todo = [s for s in students if force or not ledger.done(s, prints[s])]
    if not quiet:
        print(f"{chapter}: {len(students)} submissions, {len(students) - len(todo)} already graded, "
              f"{len(todo)} to grade with {workers} workers", file=sys.stderr)

    progress = ProgressBar(len(todo), desc=f"grading {chapter}", enabled=not quiet, file=sys.stderr)
    claims = Claims(course_root / "grading" / "claims" / chapter)
    journal = course_root / "grading" / "journal" / chapter / f"{socket.gethostname()}-{os.getpid()}.jsonl"
    batch = _Batch(ledger, prints, progress, ATTEMPTS, claims, journal)
    supervisor = Supervisor(workers, (str(course_root), db_url, chapter, str(release)), deadline,
                            batch.on_result, batch.on_failure, take=batch.take)
    supervisor.start(len(todo))  # the workers load nbgrader (about a second) while the gradebook is checked
    claims.start_heartbeat()
    try:
        ensure_assignment(course_root, db_url, chapter)
        while todo:
            supervisor.run([{"student": s, "feedback": feedback} for s in todo])
            todo = _wait_for_others(batch, claims, sorted(batch.elsewhere))
    finally:
        supervisor.close()
        claims.stop_heartbeat()
        claims.release_all()
    progress.close()
    ledger.reload()
    rows = summary_rows(db_url, chapter, students, ledger)
    if not quiet:
        print_summary(rows)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description="Grade every submission of a chapter in parallel.")
    parser.add_argument("chapter", type=chapter_argument, help="chapter id or number, e.g. 01_losses or 1")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: number of cores)")
    parser.add_argument("--force", action="store_true", help="regrade every submission, not only new or changed ones")
    parser.add_argument("--no-feedback", action="store_true", help="skip generating feedback HTML")
    parser.add_argument("--root", default=str(ROOT), help="nbgrader course directory (default: this repository)")
    parser.add_argument("--db-url", default=None,
                        help="the gradebook, e.g. postgresql://grader@dbhost/dlcourse "
                             "(default: $DLCOURSE_DB_URL, else gradebook.db in the course directory)")
    args = parser.parse_args(argv)
    rows = grade_class(args.chapter, args.root, db_url=args.db_url, workers=args.workers, force=args.force,
                       feedback=not args.no_feedback)
    return 0 if all(r[1] is not None for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
