"""Which grading process grades which submission, when several share one course directory.

Two ``grade_class`` runs on the same chapter (on one machine, or on several machines sharing the
course directory over NFS and one PostgreSQL gradebook) split the class between them: a run
grades a submission only after *claiming* it, and a claim is a file created atomically with
``O_EXCL``::

    grading/claims/<chapter>/<student>.claim    {"host": ..., "pid": ..., "since": <unix time>}

A claim is removed when the submission's result is in the ledger. The run that holds it touches
the file every ``stale_after / 10`` seconds (a heartbeat), so a claim is *stale*, and may be taken
over, when its owner is a dead process on this host or when it has not been touched for
``stale_after`` seconds (``DLCOURSE_CLAIM_STALE``, default 600: the owner's host is gone).
Taking over happens under a lock (:func:`locked`), so two runs never both take one stale claim.
"""

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from pathlib import Path

STALE_AFTER = float(os.environ.get("DLCOURSE_CLAIM_STALE", "600"))


@contextlib.contextmanager
def locked(path):
    """Hold an exclusive POSIX lock on ``path`` (created if missing); NFS passes these between hosts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.lockf(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except (OSError, OverflowError, TypeError):
        return False
    return True


class Claims:
    """The claims of one grading process on one chapter's submissions (``folder`` = the claims folder)."""

    def __init__(self, folder, stale_after=STALE_AFTER):
        self.folder = Path(folder)
        self.stale_after = stale_after
        self.me = {"host": socket.gethostname(), "pid": os.getpid()}
        self.held = set()
        self._stop = threading.Event()
        self._beat = None

    def _path(self, student):
        return self.folder / f"{student}.claim"

    def owner(self, student):
        """The claim's content ({"host", "pid", "since"}), {} while it is being written, None if unclaimed."""
        try:
            text = self._path(student).read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:
            return {}
        try:
            owner = json.loads(text)
        except ValueError:
            return {}
        return owner if isinstance(owner, dict) else {}

    def stale(self, student):
        """True when the claim's owner is gone: a dead process on this host, or no heartbeat for ``stale_after``."""
        owner = self.owner(student)
        if owner is None:
            return False
        try:
            age = time.time() - self._path(student).stat().st_mtime
        except OSError:
            return False
        if age > self.stale_after:
            return True
        return owner.get("host") == self.me["host"] and isinstance(owner.get("pid"), int) \
            and owner["pid"] != self.me["pid"] and not _alive(owner["pid"])

    def take(self, student):
        """Claim ``student``'s submission; False when another live process holds it."""
        if student in self.held:
            return True
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(student)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return self._take_over(student)
        with os.fdopen(fd, "w") as handle:
            json.dump(dict(self.me, since=time.time()), handle)
        self.held.add(student)
        return True

    def _take_over(self, student):
        with locked(self.folder / ".takeover.lock"):
            if not self.stale(student):
                return False
            path = self._path(student)
            tomb = path.with_name(f"{path.name}.stale-{self.me['host']}-{self.me['pid']}")
            try:
                os.replace(path, tomb)
                os.unlink(tomb)
            except FileNotFoundError:
                pass
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # another run claimed it in between: it is theirs
            return False
        with os.fdopen(fd, "w") as handle:
            json.dump(dict(self.me, since=time.time(), took_over=True), handle)
        self.held.add(student)
        return True

    def release(self, student):
        """Give up the claim (after the result is in the ledger)."""
        if student in self.held:
            self.held.discard(student)
            with contextlib.suppress(FileNotFoundError):
                self._path(student).unlink()

    def release_all(self):
        for student in list(self.held):
            self.release(student)

    def refresh(self):
        """Touch every held claim (the heartbeat that keeps it from going stale)."""
        for student in list(self.held):
            with contextlib.suppress(OSError):
                os.utime(self._path(student))

    def start_heartbeat(self):
        def beat():
            while not self._stop.wait(max(1.0, self.stale_after / 10)):
                self.refresh()

        self._stop.clear()
        self._beat = threading.Thread(target=beat, name="claims-heartbeat", daemon=True)
        self._beat.start()

    def stop_heartbeat(self):
        self._stop.set()
        if self._beat is not None:
            self._beat.join(5)
            self._beat = None
