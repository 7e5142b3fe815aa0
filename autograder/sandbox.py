"""Kernel launcher for grading: a bubblewrap sandbox that sees only what it needs and can change nothing.

Grading kernels start as ``python -m autograder.sandbox -f {connection_file}`` (the kernel spec
``dlcourse-grading`` in ``autograder/kernels``, selected by ``nbgrader_config.py``). This process
stays beside the kernel while it runs (it cleans up after it) and starts it with ``bwrap``:

- **File system: an allow-list.** A new root of tmpfs, read-only after set-up, holding only
  ``/usr`` (and the ``/bin``, ``/lib*`` links), a few files of ``/etc`` (``passwd``/``group``/``hosts``
  are generated), the Python installation the virtual environment points to (same path), the
  virtual environment at ``/opt/dlcourse/venv`` and the student package ``dlcourse`` at
  ``/opt/dlcourse/lib/dlcourse`` (on ``PYTHONPATH``), all read-only. The repository, the instructor
  package, the solutions, the gradebook and every submission do not exist in it.
- **Writable only in memory, size-limited** (``DLCOURSE_KERNEL_DISK_MB`` each, default 256):
  the working directory ``/grading/<assignment>``, a throwaway *copy* of the real one (nbgrader's
  ``autograded/<student>/<assignment>``, handed in as a tar stream; the real folder is not
  visible), an empty private ``HOME`` (``/home/learner``), ``/tmp`` and ``/dev/shm``. All gone at exit.
- **Identity.** As root: bwrap runs as root and the kernel drops, with ``setpriv``, to a
  per-kernel unprivileged uid/gid (``DLCOURSE_SANDBOX_UID_BASE`` + a free slot, default base
  1800000000) with no groups, no capabilities (bounding set empty) and ``no_new_privs``. As any
  other user: bwrap's user-namespace mode (``--unshare-user --disable-userns --cap-drop ALL``).
  A seccomp filter (``autograder/sandbox_seccomp.py``) refuses namespaces, mounts and a few
  kernel interfaces, so nested user namespaces are impossible in both modes.
- **Namespaces.** Own PID (``/proc`` shows only the sandbox), IPC, UTS, cgroup and network
  namespace (only ``lo``: no network). ``--die-with-parent`` and the PID namespace end every
  process the kernel started when the kernel ends, and this launcher ends the kernel when the
  grading process that started it dies; ``--new-session`` detaches it from the terminal.
- **Sockets.** The kernel talks over IPC sockets (``KernelManager.transport = "ipc"``): it binds
  them in its own small tmpfs (``/run/dlcourse/sockets``); the paths nbgrader connects to are
  symbolic links to them through ``/proc/<sandbox pid>/root``. Nothing of ``/dev/shm`` is shared.
  The connection file is copied in read-only.
- **Limits** (setrlimit): address space ``DLCOURSE_KERNEL_MEMORY_MB`` (default 4096), processes
  and threads ``DLCOURSE_KERNEL_MAX_PROCESSES`` (default 256, or 4 per CPU for TensorFlow's thread
  pools on large machines; counted per real uid, hence one uid per kernel), size of a file written
  (256 MiB at most), no core dumps.

Where no sandbox can be made (not Linux, no ``bwrap``, namespaces refused, ``DLCOURSE_SANDBOX=0``)
the kernel runs unisolated with the limits only; :func:`kernels_isolated` says so (a warning on
stderr, once per process) and the grader notes it in every notebook it grades.
``DLCOURSE_SANDBOX=user`` forces the user-namespace mode. ``DLCOURSE_SANDBOX_EXTRA_RO`` lists more
host paths to show read-only at the same path; ``DLCOURSE_SANDBOX_GPU=0`` hides ``/dev/nvidia*``.
What this does and does not defend against: docs/grading.md ("The kernel sandbox").
"""

import fcntl
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATE = "DLCOURSE_SANDBOX_STATE"  # "<setting>|<mode>:<reason>" as found by the grading process; its kernels reuse it
VENV, LIB, RUN = "/opt/dlcourse/venv", "/opt/dlcourse/lib", "/run/dlcourse"
SOCKETS, CONNECTION = RUN + "/sockets", RUN + "/connection.json"
WORK, HOME = "/grading", "/home/learner"
USERNS_UID = 1000
PASSED_ENV = ("MPLBACKEND", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "KERAS_BACKEND",
              "TF_CPP_MIN_LOG_LEVEL", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "CUDA_VISIBLE_DEVICES",
              "PYTHONHASHSEED", "TZ", "DLCOURSE_OFFLINE")
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "nsswitch.conf", "alternatives",
       "fonts", "mime.types")
INSTRUCTOR_MARKERS = ("autograder", "solutions", "gradebook.db", ".git", "submitted", "autograded")
UID_SLOTS = 1024

# Runs inside the sandbox as the unprivileged user: unpack the submission's copy (a tar on an
# inherited file descriptor), then start ipykernel.
_BOOT = r'''
import os, sys, tarfile
fd, work, home = sys.argv[1:4]
del sys.argv[1:4]
os.mkdir(home, 0o700)
os.makedirs(work, exist_ok=True)
if fd:
    try:
        with os.fdopen(int(fd), "rb") as f, tarfile.open(fileobj=f) as tar:
            tar.extractall(work, filter="data")
    except (OSError, tarfile.TarError) as err:
        print("grading sandbox: the submission folder was not copied whole: " + str(err)[:500], file=sys.stderr)
os.closerange(3, 65536)  # the data bwrap read (connection file, seccomp program) stays outside
os.chdir(work)
sys.argv[0] = "ipykernel_launcher"
if sys.path and sys.path[0] == "":
    del sys.path[0]
from ipykernel import kernelapp
kernelapp.launch_new_instance()
'''


def _env_int(name, default):
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# -- can kernels be isolated here? ----------------------------------------------------------
_found = None
_warned = False


def isolation():
    """(mode, reason): mode "root" or "user" when kernels are sandboxed, else None with the reason."""
    global _found
    if _found is None:
        # The saved finding holds only for the DLCOURSE_SANDBOX setting it was made under: a child
        # started with another setting (DLCOURSE_SANDBOX=0, say) detects again.
        setting = os.environ.get("DLCOURSE_SANDBOX", "")
        saved_setting, _, saved = os.environ.get(STATE, "").partition("|")
        if saved_setting == setting and ":" in saved:
            mode, reason = saved.split(":", 1)
            _found = (mode or None, reason)
        else:
            _found = _detect()
            os.environ[STATE] = f"{setting}|{_found[0] or ''}:{_found[1]}"
    return _found


def _detect():
    setting = os.environ.get("DLCOURSE_SANDBOX", "").strip().lower()
    if setting in ("0", "off", "no", "false"):
        return None, "DLCOURSE_SANDBOX=0"
    if not sys.platform.startswith("linux"):
        return None, f"no Linux namespaces on {sys.platform}"
    if shutil.which("bwrap") is None:
        return None, "bubblewrap (bwrap) is not installed (Debian package bubblewrap; ./course.sh system)"
    mode = "root" if os.geteuid() == 0 and setting != "user" else "user"
    if mode == "root" and shutil.which("setpriv") is None:
        return None, "setpriv (util-linux) is not installed"
    from autograder.sandbox_seccomp import program

    if program() is None and mode == "root":
        return None, "no seccomp filter for this architecture (nested user namespaces could not be refused)"
    uid = _env_int("DLCOURSE_SANDBOX_UID_BASE", 1_800_000_000) if mode == "root" else USERNS_UID
    probe = [*_namespace_args(mode, uid), "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--size",
             "1048576", "--tmpfs", "/tmp"]
    try:
        with _Blobs() as blobs:
            cmd = [*probe, *blobs.seccomp(), "--", *_drop_privileges(mode, uid), "true"]
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=30, pass_fds=blobs.fds)
    except (OSError, subprocess.SubprocessError) as err:
        return None, f"bwrap could not run: {err}"
    if result.returncode != 0:
        return None, f"bwrap refused ({result.stderr.strip()[:300] or result.returncode})"
    return mode, f"bubblewrap, {'root with setpriv' if mode == 'root' else 'user namespace'} mode"


def kernels_isolated():
    """True when grading kernels start sandboxed; otherwise warns on stderr (once per process)."""
    global _warned
    mode, reason = isolation()
    if mode is None and not _warned:
        _warned = True
        print(f"WARNING: grading kernels are NOT isolated ({reason}). Learner code can read the solutions and "
              "the instructor package and write wherever this account can. See docs/grading.md, "
              "'The kernel sandbox'.", file=sys.stderr, flush=True)
    return mode is not None


# -- the bwrap command line -------------------------------------------------------------------
def _namespace_args(mode, uid):
    args = ["bwrap", "--unshare-pid", "--unshare-ipc", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "grading"]
    if mode == "user":
        return args + ["--unshare-user", "--disable-userns", "--uid", str(uid), "--gid", str(uid), "--cap-drop", "ALL"]
    # root: keep only what setpriv needs to drop to the kernel's uid
    return args + ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add",
                   "CAP_SETPCAP"]


def _drop_privileges(mode, uid):
    if mode != "root":
        return []
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--"]


class _Blobs:
    """Data handed to bwrap through anonymous files (``--ro-bind-data``, ``--seccomp``)."""

    def __init__(self):
        self.files = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for f in self.files:
            f.close()

    @property
    def fds(self):
        return [f.fileno() for f in self.files]

    def fd(self, data):
        f = tempfile.TemporaryFile()
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
        f.seek(0)
        self.files.append(f)
        return str(f.fileno())

    def read_only(self, data, dest, perms="0444"):
        return ["--perms", perms, "--ro-bind-data", self.fd(data), dest]

    def folder(self, path, budget):
        """A tar of the folder ``path`` (regular files, folders and links; at most ``budget`` bytes of files)."""
        import tarfile

        f, used = tempfile.TemporaryFile(), [0]

        def keep(member):
            used[0] += member.size
            return member if (member.isfile() or member.isdir() or member.issym()) and used[0] <= budget else None

        with tarfile.open(fileobj=f, mode="w") as tar:
            tar.add(path, arcname=".", filter=keep)
        f.seek(0)
        self.files.append(f)
        return str(f.fileno())

    def seccomp(self):
        from autograder.sandbox_seccomp import program

        code = program()
        return [] if code is None else ["--seccomp", self.fd(code)]


class _Plan:
    """bwrap arguments that build the sandbox's file system (parents of mount points made traversable)."""

    def __init__(self):
        self.args, self._dirs = [], {"/"}

    def _parents(self, path):
        parent = os.path.dirname(path)
        if parent not in self._dirs:
            self._parents(parent)
            self.args += ["--perms", "0755", "--dir", parent]
            self._dirs.add(parent)

    def add(self, option, source, dest, *extra):
        self._parents(dest)
        self.args += [*extra, option, source, dest] if source is not None else [*extra, option, dest]
        self._dirs.add(dest)

    def tmpfs(self, dest, size, perms="1777"):
        self.add("--tmpfs", None, dest, "--perms", perms, "--size", str(size))


def _python_layout():
    """(python inside, PYTHONPATH inside or None, [(host path, sandbox path)] to bind read-only)."""
    import importlib.util

    binds, prefix, base = [], os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)
    if base != "/usr" and not base.startswith("/usr/"):
        binds.append((base, base))
    if prefix != base:
        binds.append((prefix, VENV))
        python = os.path.join(VENV, os.path.relpath(sys.executable, sys.prefix))
    else:
        python = sys.executable
    spec = importlib.util.find_spec("dlcourse")
    package = os.path.realpath(os.path.dirname(spec.origin)) if spec and spec.origin else None
    if package is None or package.startswith(prefix + os.sep):
        return python, None, binds
    return python, LIB, binds + [(package, f"{LIB}/dlcourse")]


def _accounts(uid):
    passwd = f"root:x:0:0:root:/root:/usr/sbin/nologin\nlearner:x:{uid}:{uid}:learner:{HOME}:/bin/sh\n" \
             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    group = f"root:x:0:\nlearner:x:{uid}:\nnogroup:x:65534:\n"
    return passwd, group, "127.0.0.1 localhost grading\n::1 localhost\n"


def _exposable(folder):
    """Whether the kernel's real working directory may be shown (read-only) and copied into the sandbox."""
    folder = os.path.realpath(folder)
    if folder == "/" or os.path.realpath(ROOT).startswith(folder.rstrip("/") + "/") or folder == os.path.realpath(ROOT):
        return False
    try:
        return not any(os.path.lexists(os.path.join(folder, name)) for name in INSTRUCTOR_MARKERS)
    except OSError:
        return False


def _kernel_env(python, pythonpath):
    env = {"PATH": f"{os.path.dirname(python)}:/usr/local/bin:/usr/bin:/bin", "HOME": HOME, "USER": "learner",
           "LOGNAME": "learner", "LANG": "C.UTF-8", "DLCOURSE_GRADING": "1",
           "JPY_PARENT_PID": "1"}  # its parent is the sandbox's init: no parent polling, no console banner
    env.update({k: os.environ[k] for k in PASSED_ENV if k in os.environ})
    # A grading kernel never lets TensorFlow log to stderr (cuInit fails in the sandbox): nbgrader scores
    # a test cell with stderr output 0, whatever the grading process was started with.
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    try:  # the language the kernel would have found from its real folder (dlcourse/i18n.py)
        from dlcourse.i18n import current_language

        env["DLCOURSE_LANG"] = current_language()
    except ImportError:
        if "DLCOURSE_LANG" in os.environ:
            env["DLCOURSE_LANG"] = os.environ["DLCOURSE_LANG"]
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def bwrap_command(mode, uid, kernel_args, connection, blobs, cwd=None):
    """The full bwrap command line starting ipykernel with ``kernel_args`` (``-f`` already pointing inside)."""
    cwd = cwd or os.getcwd()
    disk = max(16, _env_int("DLCOURSE_KERNEL_DISK_MB", 256)) * 1024 * 1024
    python, pythonpath, binds = _python_layout()
    plan = _Plan()
    for name in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = "/" + name
        if os.path.islink(path):
            plan.add("--symlink", os.readlink(path), path)
        elif os.path.isdir(path):
            plan.add("--ro-bind", path, path)
    for name in ETC:
        if os.path.exists(f"/etc/{name}"):
            plan.add("--ro-bind", f"/etc/{name}", f"/etc/{name}")
    for (data, name) in zip(_accounts(uid), ("passwd", "group", "hosts")):
        plan.add("--ro-bind-data", blobs.fd(data), f"/etc/{name}", "--perms", "0444")
    for source, dest in binds + [(p, p) for p in os.environ.get("DLCOURSE_SANDBOX_EXTRA_RO", "").split(os.pathsep)
                                 if p and os.path.exists(p)]:
        plan.add("--ro-bind", source, dest)
    plan.add("--proc", None, "/proc")
    plan.add("--dev", None, "/dev")
    if os.environ.get("DLCOURSE_SANDBOX_GPU", "1") != "0":
        for device in sorted(os.listdir("/dev")):
            if device.startswith("nvidia"):
                plan.add("--dev-bind", f"/dev/{device}", f"/dev/{device}")
    for dest in ("/dev/shm", "/tmp", "/home", WORK):
        plan.tmpfs(dest, disk)
    plan.tmpfs(SOCKETS, 1024 * 1024)
    plan.add("--ro-bind-data", blobs.fd(json.dumps(connection)), CONNECTION, "--perms", "0444")
    source = blobs.folder(cwd, disk) if _exposable(cwd) else ""
    workdir = f"{WORK}/{os.path.basename(os.path.normpath(cwd)) or 'work'}"
    env = _kernel_env(python, pythonpath)
    return [*_namespace_args(mode, uid), *plan.args, "--remount-ro", "/", "--clearenv",
            *[x for k, v in sorted(env.items()) for x in ("--setenv", k, v)], "--chdir", WORK, *blobs.seccomp(),
            "--", *_drop_privileges(mode, uid), python, "-c", _BOOT, source, workdir, HOME, *kernel_args]


# -- running a kernel ---------------------------------------------------------------------------
def _claim_uid():
    """A uid no other sandboxed kernel on this machine uses now, and the lock that holds it."""
    base = _env_int("DLCOURSE_SANDBOX_UID_BASE", 1_800_000_000)
    folder = os.path.join(tempfile.gettempdir(), f"dlcourse-sandbox-uids-{os.geteuid()}")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if info.st_uid != os.geteuid() or not os.path.isdir(folder) or os.path.islink(folder) or info.st_mode & 0o077:
        raise RuntimeError(f"{folder} is not a private folder of this account")
    for slot in range(UID_SLOTS):
        fd = os.open(os.path.join(folder, f"{slot}.lock"), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return base + slot, fd
        except BlockingIOError:
            os.close(fd)
    raise RuntimeError("all sandbox uids are in use")


def _tasks_of(uid):
    count = 0
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return count


def _limit_resources(uid=None):
    """Cap this process and what it starts; ``uid``: the real uid whose tasks RLIMIT_NPROC counts."""
    memory = _env_int("DLCOURSE_KERNEL_MEMORY_MB", 4096) * 1024 * 1024
    file_size = min(256, max(16, _env_int("DLCOURSE_KERNEL_DISK_MB", 256))) * 1024 * 1024
    limits = [(resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, file_size), (resource.RLIMIT_CORE, 0)]
    if uid is not None:
        processes = _env_int("DLCOURSE_KERNEL_MAX_PROCESSES", max(256, 4 * (os.cpu_count() or 1)))
        limits.append((resource.RLIMIT_NPROC, processes + (_tasks_of(uid) if uid == os.getuid() and uid else 0)))
    for limit, value in limits:
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, hard))


def _socket_links(connection, pid):
    """{host socket path: its link target in the sandbox of ``pid``} for an ipc connection file."""
    ports = [connection[k] for k in ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")]
    return {f"{connection['ip']}-{port}": f"/proc/{pid}/root{SOCKETS}/kernel-{port}" for port in ports}


def _link(path, target):
    temporary = f"{path}.{os.getpid()}.link"
    os.symlink(target, temporary)
    os.replace(temporary, path)


def _unlink(links):
    for path, target in links.items():
        try:
            if os.readlink(path) == target:
                os.remove(path)
        except OSError:
            pass


def _run_sandboxed(mode, argv):
    parent = os.getppid()
    index = argv.index("-f") + 1
    with open(argv[index], encoding="utf-8") as f:
        connection = json.load(f)
    if connection.get("transport") != "ipc":
        sys.exit("grading sandbox: the kernel has no network, so it needs KernelManager.transport = 'ipc' "
                 "(nbgrader_config.py sets it)")
    uid, lock = _claim_uid() if mode == "root" else (USERNS_UID, None)
    _limit_resources(uid if mode == "root" else os.getuid())
    inside = dict(connection, ip=f"{SOCKETS}/kernel")
    kernel_args = argv[:index] + [CONNECTION] + argv[index + 1:]
    links = {}
    read_info, write_info = os.pipe()
    with _Blobs() as blobs:
        cmd = bwrap_command(mode, uid, kernel_args, inside, blobs)
        cmd[1:1] = ["--info-fd", str(write_info)]
        sandbox = subprocess.Popen(cmd, pass_fds=[*blobs.fds, write_info], stdin=subprocess.DEVNULL,
                                   process_group=0)
    os.close(write_info)

    def stop(signum, frame):
        sandbox.kill()  # --die-with-parent and the PID namespace take everything inside with it

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts arrive as messages (kernel spec)
    try:
        with os.fdopen(read_info, encoding="utf-8") as f:
            info = f.read()
        if info.strip():
            links = _socket_links(connection, json.loads(info)["child-pid"])
            for path, target in links.items():
                _link(path, target)
        while True:
            try:
                return sandbox.wait(timeout=1)
            except subprocess.TimeoutExpired:
                if os.getppid() != parent:  # the grading process is gone: its kernel goes too
                    sandbox.kill()
    finally:
        sandbox.kill()
        _unlink(links)
        if lock is not None:
            os.close(lock)


def _run_unisolated(argv):
    _limit_resources()
    env = dict(os.environ)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.abspath(p) != ROOT]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env = {k: v for k, v in env.items() if v and not k.startswith("DLCOURSE_SANDBOX")}
    env["DLCOURSE_GRADING"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"  # as in the sandbox: no TensorFlow logs on a graded cell's stderr
    os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv], env)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if "-f" not in argv or argv.index("-f") + 1 >= len(argv):
        sys.exit("usage: python -m autograder.sandbox -f CONNECTION_FILE [ipykernel options]")
    if not kernels_isolated():
        _run_unisolated(argv)
    sys.exit(_run_sandboxed(isolation()[0], argv))


if __name__ == "__main__":
    main()
