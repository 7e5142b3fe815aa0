"""Kernel launcher for grading: limits, and a private view of the file system.

Grading kernels start as ``python -m autograder.sandbox -f {connection_file}`` (the kernel
spec ``dlcourse-grading`` in ``autograder/kernels``, selected by ``nbgrader_config.py``).
Before handing over to ipykernel it:

1. caps resources (setrlimit): address space (``DLCOURSE_KERNEL_MEMORY_MB``, default 4096),
   size of any file written (256 MiB), no core dumps;
2. where Linux namespaces are available (root, or unprivileged user namespaces), re-runs
   itself in a private mount namespace in which
   - every path in ``DLCOURSE_SANDBOX_HIDE`` (the solutions, the instructor package, the
     gradebook, other students' submissions) is covered by an empty tmpfs,
   - every path in ``DLCOURSE_SANDBOX_READONLY`` (the repository) is read-only,
   - the kernel's own working directory stays writable, and ``/tmp`` is private (unless the
     repository or its Python environment is under ``/tmp``);
   and, when the kernel talks over IPC sockets rather than TCP, in a private network
   namespace with no interfaces (no network at all);
3. removes the repository root from ``PYTHONPATH`` so ``import autograder`` fails.

``DLCOURSE_SANDBOX=0`` switches the namespace part off. What this does and does not defend
against is in docs/grading.md ("Trust model").
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_INNER = "DLCOURSE_SANDBOX_INNER"


def _paths(variable):
    return [p for p in os.environ.get(variable, "").split(os.pathsep) if p and os.path.exists(p)]


def namespaces_available():
    """True when ``unshare`` can create a private mount namespace here."""
    if sys.platform != "linux" or shutil.which("unshare") is None or os.environ.get("DLCOURSE_SANDBOX") == "0":
        return False
    cmd = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        cmd.append("--map-root-user")
    try:
        return subprocess.run(cmd + ["true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _connection_transport(argv):
    if "-f" in argv:
        try:
            with open(argv[argv.index("-f") + 1], encoding="utf-8") as f:
                return json.load(f).get("transport", "tcp")
        except (OSError, ValueError, IndexError):
            pass
    return "tcp"


def _read_connection_file(argv):
    """(index of the -f value in argv, the connection file's bytes), or (None, None)."""
    if "-f" not in argv or argv.index("-f") + 1 >= len(argv):
        return None, None
    i = argv.index("-f") + 1
    with open(argv[i], "rb") as f:
        return i, f.read()


def _rewrite_connection_file(argv, index, content):
    """Write the connection file into the (private) working directory and point -f at it."""
    if index is None:
        return argv
    fd, copy = tempfile.mkstemp(prefix=".dlc-connection-", suffix=".json", dir=os.getcwd())
    with os.fdopen(fd, "wb") as out:
        out.write(content)
    return argv[:index] + [copy] + argv[index + 1:]


def _mount(*args):
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _course_root_of(cwd):
    """The nbgrader course root when ``cwd`` is ``<root>/autograded/<student>/<assignment>``."""
    parts = os.path.abspath(cwd).split(os.sep)
    if len(parts) >= 4 and parts[-3] == "autograded":
        return os.sep.join(parts[:-3]) or os.sep
    return None


def _isolate_file_system():
    """Inside the new mount namespace: hide, make read-only, keep cwd writable, private /tmp."""
    cwd = os.getcwd()
    course_root = _course_root_of(cwd)
    if course_root:  # grading in another course directory: hide its instructor files too
        from autograder.grading_env import HIDDEN_FROM_KERNELS

        extra = [os.path.join(course_root, name) for name in HIDDEN_FROM_KERNELS]
        os.environ["DLCOURSE_SANDBOX_HIDE"] = os.pathsep.join([os.environ.get("DLCOURSE_SANDBOX_HIDE", "")] + extra)
        os.environ["DLCOURSE_SANDBOX_READONLY"] = os.pathsep.join(
            [os.environ.get("DLCOURSE_SANDBOX_READONLY", ""), course_root])
    # A handle on the working directory survives the mounts below; it is bound back at the end.
    handle = os.open(cwd, os.O_RDONLY | os.O_DIRECTORY)
    for path in _paths("DLCOURSE_SANDBOX_READONLY"):
        _mount("--bind", path, path)
        _mount("-o", "remount,bind,ro", path)
    for path in _paths("DLCOURSE_SANDBOX_HIDE"):
        if os.path.isdir(path):
            _mount("-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs", path)
        else:
            _mount("--bind", "/dev/null", path)
    # A private /tmp, unless the course or its Python live there (a checkout or venv under /tmp).
    needed = (ROOT, sys.prefix, os.path.realpath(sys.executable))
    if not any(os.path.realpath(p).startswith("/tmp/") for p in needed):
        _mount("-t", "tmpfs", "-o", "size=512m", "tmpfs", "/tmp")
    os.makedirs(cwd, exist_ok=True)
    _mount("--no-canonicalize", "--bind", f"/proc/{os.getpid()}/fd/{handle}", cwd)
    os.close(handle)
    os.chdir(cwd)


def _limit_resources():
    memory = int(os.environ.get("DLCOURSE_KERNEL_MEMORY_MB", "4096")) * 1024 * 1024
    for limit, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_FSIZE, 256 * 1024 * 1024),
                         (resource.RLIMIT_CORE, 0)):
        soft, hard = resource.getrlimit(limit)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(limit, (value, hard))


def _kernel_env():
    env = dict(os.environ)
    parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and os.path.abspath(p) != ROOT]
    if parts:
        env["PYTHONPATH"] = os.pathsep.join(parts)
    else:
        env.pop("PYTHONPATH", None)
    for name in list(env):
        if name.startswith("DLCOURSE_SANDBOX") or name == _INNER:
            env.pop(name)
    env["DLCOURSE_GRADING"] = "1"
    return env


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if os.environ.get(_INNER) != "1" and namespaces_available():
        cmd = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            cmd.append("--map-root-user")
        if _connection_transport(argv) == "ipc":
            cmd.append("--net")
        os.environ[_INNER] = "1"
        os.execvp("unshare", cmd + [sys.executable, "-m", "autograder.sandbox", *argv])
    if os.environ.get(_INNER) == "1":
        # /tmp, where the connection file usually is, becomes private: carry its content over.
        index, content = _read_connection_file(argv)
        _isolate_file_system()
        argv = _rewrite_connection_file(argv, index, content)
    _limit_resources()
    os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv], _kernel_env())


if __name__ == "__main__":
    main()
