"""The grading kernel's sandbox (autograder/sandbox.py), proved from inside real kernels started the
way nbgrader starts them (jupyter_client, the course's kernel spec, IPC transport): it sees only
Python, the venv and dlcourse, cannot write outside its memory-backed folders, has no network, no
privileges and no way out, and nothing it starts outlives it. Then the solution, graded by real
nbgrader through the course's configuration (in the shared graded course), still earns full marks."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from autograder import grading_env, sandbox
from autograder.sandbox_seccomp import program
from tests.graded_courses import group

ROOT = Path(__file__).resolve().parent.parent
grading_env.apply(str(ROOT))
ISOLATED = sandbox.kernels_isolated()
needs_sandbox = pytest.mark.skipif(not ISOLATED, reason=f"no kernel sandbox here: {sandbox.isolation()[1]}")


def _env(**changes):
    env = dict(os.environ)
    env.update({k: str(v) for k, v in changes.items() if v is not None})
    for k in [k for k, v in changes.items() if v is None]:
        env.pop(k, None)
    return env


class Kernel:
    """A grading kernel started through the course's kernel spec, in folder ``cwd``."""

    _count = 0

    def __init__(self, cwd, _kernel_name=grading_env.KERNEL_NAME, **env):
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        Kernel._count += 1
        jupyter_path = env.get("JUPYTER_PATH", os.environ["JUPYTER_PATH"]).split(os.pathsep)
        specs = KernelSpecManager(kernel_dirs=[os.path.join(p, "kernels") for p in jupyter_path])
        self.km = KernelManager(kernel_name=_kernel_name, kernel_spec_manager=specs, transport="ipc",
                                ip=f"{grading_env.ipc_prefix()}-t{Kernel._count}")
        started = time.perf_counter()
        self.km.start_kernel(cwd=str(cwd), env=_env(**env))
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=90)
        self.startup = time.perf_counter() - started

    def run(self, code, timeout=60):
        """stdout of ``code`` run in the kernel; an error in it fails the test with its traceback."""
        out, errors = [], []

        def hook(msg):
            content = msg["content"]
            if msg["msg_type"] == "stream":
                out.append(content["text"])
            elif msg["msg_type"] == "error":
                errors.append("\n".join(content["traceback"]))

        self.kc.execute_interactive(textwrap.dedent(code), output_hook=hook, timeout=timeout)
        assert not errors, errors[0]
        return "".join(out)

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course directory like nbgrader's: the kernel runs in alice's autograded folder."""
    root = tmp_path_factory.mktemp("course")
    for folder in ("solutions/01_losses", "submitted/bob/01_losses", "autograded/bob/01_losses",
                   "autograded/alice/01_losses", "source"):
        (root / folder).mkdir(parents=True)
    (root / "gradebook.db").write_text("gradebook")
    (root / "autograded/alice/01_losses/data.txt").write_text("alice's data")
    return root


@pytest.fixture(scope="module")
def kernel(course):
    k = Kernel(course / "autograded/alice/01_losses")
    yield k
    k.close()


def _processes_running(marker):
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and marker in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "):
                found.append(pid)
        except OSError:
            pass
    return found


def test_seccomp_program_is_whole_instructions():
    code = program("x86_64")
    assert code and len(code) % 8 == 0 and program("aarch64") and program("sparc") is None


@needs_sandbox
def test_no_root_no_capabilities_no_new_privileges(kernel):
    out = kernel.run("""
        import os
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        print(os.getuid(), os.getgid(), os.getgroups(), status["CapEff"].strip(), status["CapPrm"].strip(),
              status["CapBnd"].strip(), status["NoNewPrivs"].strip(), status["Seccomp"].strip())
    """).split()
    assert out[0] != "0" and out[1] != "0"
    assert out[3:6] == ["0000000000000000"] * 3, out
    assert out[6:] == ["1", "2"], "no_new_privs set and a seccomp filter installed"


@needs_sandbox
def test_proc_shows_only_the_sandbox(kernel):
    out = kernel.run(f"""
        import os
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
        init = open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode()
        print(len(pids), os.getppid(), init, os.path.exists("/proc/{os.getpid()}/cwd/autograder"))
    """).split()
    assert int(out[0]) <= 3, f"the kernel sees {out[0]} processes"
    assert out[1] == "1" and out[2].endswith("bwrap"), out
    assert out[3] == "False"


@needs_sandbox
def test_only_the_allowed_files_exist(kernel, course):
    hidden = [ROOT, ROOT / "autograder", ROOT / "solutions", ROOT / "tests", ROOT / ".git", ROOT / "gradebook.db",
              course, course / "gradebook.db", course / "solutions", course / "submitted/bob",
              course / "autograded/bob", course / "autograded/alice/01_losses", "/root/.ssh", "/etc/shadow",
              "/var", "/sys/class", "/dev/shm/" + os.path.basename(grading_env.ipc_prefix())]
    out = kernel.run(f"""
        import os
        print([p for p in {[str(p) for p in hidden]!r} if os.path.lexists(p)])
        try:
            import autograder
            print("IMPORTED", autograder.__file__)
        except ImportError:
            print("no autograder")
        print(sorted(os.listdir("/dev/shm")), sorted(os.listdir("/run/dlcourse")))
    """)
    assert out.splitlines()[0] == "[]", out
    assert "no autograder" in out
    assert "[] ['connection.json', 'sockets']" in out


@needs_sandbox
def test_the_course_libraries_and_their_data_work(kernel):
    out = kernel.run("""
        import dlcourse, numpy, sklearn, matplotlib
        import matplotlib.pyplot as plt
        from dlcourse.data import load_digits
        from sklearn.datasets import load_iris
        plt.plot([1, 2]); plt.savefig("figure.png")
        print(load_digits()["X_train"].shape, load_iris().data.shape, os.path.getsize("figure.png") > 0)
    """.replace("import dlcourse,", "import os, dlcourse,"))
    assert "(1078, 64) (150, 4) True" in out


@needs_sandbox
def test_nothing_outside_memory_is_writable(kernel):
    out = kernel.run("""
        import os, sys, dlcourse
        targets = [os.path.dirname(dlcourse.__file__), sys.prefix, sys.base_prefix, "/usr/lib", "/", "/etc",
                   "/run/dlcourse", "/opt"]
        for folder in targets:
            try:
                open(os.path.join(folder, "written.txt"), "w").write("x")
                print("WRITABLE", folder)
            except OSError:
                pass
        print("done")
    """)
    assert out.strip() == "done", out


@needs_sandbox
def test_working_directory_home_and_tmp_are_private_copies(course):
    real = course / "autograded/alice/01_losses"
    before = sorted(p.name for p in real.iterdir())
    first = Kernel(real)
    try:
        out = first.run("""
            import os
            home = set(os.listdir(os.path.expanduser("~"))) - {".ipython"}  # IPython's profile, made at start-up
            print(sorted(home), sorted(os.listdir("/tmp")), sorted(os.listdir(".")), open("data.txt").read())
            for folder in (os.path.expanduser("~"), "/tmp", "."):
                open(os.path.join(folder, "left_behind.txt"), "w").write("x")
        """)
        assert out.strip() == "[] [] ['data.txt'] alice's data", out
    finally:
        first.close()
    assert sorted(p.name for p in real.iterdir()) == before, "the kernel wrote into the real submission folder"
    second = Kernel(real)
    try:
        out = second.run("""
            import os
            print([f for f in (os.path.expanduser("~"), "/tmp", ".") if "left_behind.txt" in os.listdir(f)])
        """)
        assert out.strip() == "[]", out
    finally:
        second.close()


@needs_sandbox
def test_no_network(kernel):
    out = kernel.run("""
        import socket
        for address in (("127.0.0.1", 22), ("198.51.100.7", 80)):
            try:
                socket.create_connection(address, timeout=2)
                print("CONNECTED", address)
            except OSError:
                pass
        print([name for _, name in socket.if_nameindex()])
    """)
    assert out.strip() == "['lo']", out


@needs_sandbox
def test_no_namespaces_no_mounts(kernel):
    out = kernel.run("""
        import ctypes, os, subprocess
        libc = ctypes.CDLL(None, use_errno=True)
        CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
        print("unshare", libc.unshare(CLONE_NEWUSER), libc.unshare(CLONE_NEWNS))
        print("mount", libc.mount(b"none", b"/tmp", b"tmpfs", 0, None), libc.umount2(b"/home", 2),
              libc.umount2(b"/usr", 2))
        print("tool", subprocess.run(["unshare", "-U", "-r", "true"], capture_output=True).returncode != 0,
              subprocess.run(["unshare", "-U", "-r", "--mount", "sh", "-c", "umount -l /usr"],
                             capture_output=True).returncode != 0)
    """)
    assert out.split() == ["unshare", "-1", "-1", "mount", "-1", "-1", "-1", "tool", "True", "True"], out


@needs_sandbox
def test_fork_bomb_memory_blowup_and_daemons_are_contained(course):
    k = Kernel(course / "autograded/alice/01_losses", DLCOURSE_KERNEL_MAX_PROCESSES=48, DLCOURSE_KERNEL_MEMORY_MB=1024)
    try:
        out = k.run("""
            import os, signal, time
            children, error = [], None
            try:
                for _ in range(10_000):
                    pid = os.fork()
                    if pid == 0:
                        time.sleep(120)
                        os._exit(0)
                    children.append(pid)
            except OSError as err:
                error = type(err).__name__
            for pid in children:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            print(len(children), error)
        """)
        children, error = out.split()
        assert int(children) < 48 and error == "BlockingIOError", out
        out = k.run("""
            import numpy as np
            try:
                big = np.ones(2**31)
                print("ALLOCATED")
            except MemoryError:
                print("MemoryError")
        """)
        assert out.strip() == "MemoryError"
        k.run("""
            import os, subprocess
            subprocess.Popen(["setsid", "sh", "-c", "sleep 3517 & sleep 3517"], start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        """)
        deadline = time.time() + 10
        while not _processes_running(b"sleep 3517") and time.time() < deadline:
            time.sleep(0.1)
        assert _processes_running(b"sleep 3517"), "the daemon did not start"
    finally:
        k.close()
    deadline = time.time() + 10
    while _processes_running(b"sleep 3517") and time.time() < deadline:
        time.sleep(0.1)
    assert not _processes_running(b"sleep 3517"), "a daemon outlived the kernel"


_DAEMON = """
import subprocess
subprocess.Popen(["setsid", "sh", "-c", "sleep 3518 & sleep 3518"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""


def _wait_for(condition, seconds):
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.1)
    return condition()


@needs_sandbox
def test_nothing_survives_a_killed_kernel(course):
    """nbgrader's restart kills the kernel (SIGKILL to the launcher): its daemons go with it."""
    k = Kernel(course / "autograded/alice/01_losses")
    k.run(_DAEMON)
    assert _wait_for(lambda: _processes_running(b"sleep 3518"), 10), "the daemon did not start"
    k.kc.stop_channels()
    k.km.shutdown_kernel(now=True)
    assert _wait_for(lambda: not _processes_running(b"sleep 3518"), 10), "a daemon outlived its killed kernel"


@needs_sandbox
def test_nothing_survives_a_dead_grader(course, tmp_path):
    """The grading process dies without shutting its kernel down: the kernel and its daemons end too."""
    script = tmp_path / "grader.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from tests.test_sandbox import Kernel
        k = Kernel({str(course / "autograded/alice/01_losses")!r})
        k.run({_DAEMON!r})
        print("ready", flush=True)
        time.sleep(600)
    """))
    grader = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert grader.stdout.readline().strip() == "ready"
        assert _wait_for(lambda: _processes_running(b"sleep 3518"), 10), "the daemon did not start"
    finally:
        grader.kill()
        grader.wait()
    assert _wait_for(lambda: not _processes_running(b"sleep 3518"), 10), "a daemon outlived its dead grader"


@needs_sandbox
@pytest.mark.skipif(os.geteuid() != 0, reason="per-kernel uids are used when grading as root")
def test_parallel_kernels_get_their_own_uid(course):
    kernels = [Kernel(course / "autograded/alice/01_losses") for _ in range(2)]
    try:
        uids = {k.run("import os; print(os.getuid())").strip() for k in kernels}
    finally:
        for k in kernels:
            k.close()
    assert len(uids) == 2


@needs_sandbox
def test_user_namespace_mode(course):
    k = Kernel(course / "autograded/alice/01_losses", DLCOURSE_SANDBOX="user", DLCOURSE_SANDBOX_STATE=None)
    try:
        out = k.run("""
            import ctypes, os
            status = dict(line.split(":", 1) for line in open("/proc/self/status"))
            print(os.getuid(), status["CapEff"].strip(), ctypes.CDLL(None).unshare(0x10000000),
                  len([p for p in os.listdir("/proc") if p.isdigit()]), os.path.exists(%r))
        """ % str(ROOT / "autograder")).split()
    finally:
        k.close()
    assert out == [str(sandbox.USERNS_UID), "0000000000000000", "-1", out[3], "False"] and int(out[3]) <= 3, out


def test_without_a_sandbox_grading_says_so_once(monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "_found", None)
    monkeypatch.setattr(sandbox, "_warned", False)
    monkeypatch.setenv("DLCOURSE_SANDBOX", "0")
    monkeypatch.delenv(sandbox.STATE, raising=False)
    assert not sandbox.kernels_isolated() and not sandbox.kernels_isolated()
    assert capsys.readouterr().err.count("NOT isolated (DLCOURSE_SANDBOX=0)") == 1


def _earlier_launcher(folder):
    """The unshare-based launcher this sandbox replaced, from git history, as a kernel spec in ``folder``."""
    import json

    try:
        commits = subprocess.run(["git", "log", "--format=%H", "--", "autograder/sandbox.py"], cwd=ROOT,
                                 capture_output=True, text=True, timeout=30).stdout.split()
        for commit in commits:
            source = subprocess.run(["git", "show", f"{commit}:autograder/sandbox.py"], cwd=ROOT, capture_output=True,
                                    text=True, timeout=30).stdout
            if "def _isolate_file_system" in source:
                break
        else:
            return None
    except (OSError, subprocess.SubprocessError):
        return None
    (folder / "earlier_sandbox.py").write_text(source.replace('"autograder.sandbox"', '"earlier_sandbox"'))
    spec = folder / "kernels" / "earlier-sandbox"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({"argv": ["python", "-m", "earlier_sandbox", "-f", "{connection_file}"],
                                                  "display_name": "earlier", "language": "python"}))
    return folder


@needs_sandbox
def test_startup_overhead_is_printed(course, tmp_path, capsys):
    """Prints (does not assert) the start-up time of a sandboxed kernel against the earlier launcher."""
    cwd = course / "grading-time"
    cwd.mkdir(exist_ok=True)
    earlier = _earlier_launcher(tmp_path)
    times = {"sandbox (bwrap)": [], "unisolated (DLCOURSE_SANDBOX=0)": [], "earlier unshare launcher": []}
    for _ in range(3):
        k = Kernel(cwd)
        times["sandbox (bwrap)"].append(k.startup)
        k.close()
        k = Kernel(cwd, DLCOURSE_SANDBOX="0", DLCOURSE_SANDBOX_STATE=None)
        times["unisolated (DLCOURSE_SANDBOX=0)"].append(k.startup)
        k.close()
        if earlier:
            path = os.pathsep.join([str(earlier), os.environ["JUPYTER_PATH"]])
            k = Kernel(cwd, JUPYTER_PATH=path, PYTHONPATH=os.pathsep.join([str(earlier), str(ROOT)]),
                       DLCOURSE_SANDBOX_HIDE=str(ROOT / "solutions"), DLCOURSE_SANDBOX_READONLY=str(ROOT),
                       _kernel_name="earlier-sandbox")
            times["earlier unshare launcher"].append(k.startup)
            k.close()
    with capsys.disabled():
        for name, values in times.items():
            if values:
                print(f"\nkernel start-up, {name}: median {sorted(values)[1]:.2f} s")


@needs_sandbox
@pytest.mark.nbgrader
@group("01_losses")
def test_autograde_of_a_solution_still_gives_full_marks(graded):
    """The solution of 01_losses, graded by stock nbgrader in the shared course (tests/graded_courses.py,
    with the sandbox on here), earns full marks, and its graded notebook was not graded unisolated."""
    course = graded("01_losses")
    course.assert_full_marks("full")
    assert "unisolated" not in nbformat.writes(course.notebook("full"))


@pytest.mark.nbgrader
def test_time_limit_and_grading_without_sandbox_are_noted(tmp_path, monkeypatch):
    """Past DLCOURSE_NOTEBOOK_TIMEOUT the remaining cells are not run; without the sandbox every
    graded notebook says it was graded unisolated."""
    import json

    from autograder.course_dir import CourseDir
    from tests import submissions as subs

    course = CourseDir(tmp_path)
    course.release("01_losses")
    solution = subs.load_solution("01_losses")
    first = subs.solution_cells(solution)[0]
    slow = subs.with_cell_edited(solution, first, lambda source: "import time\ntime.sleep(6)\n" + source)
    course.submit("slow", "01_losses", text=subs.dumps(slow))
    monkeypatch.setenv("DLCOURSE_NOTEBOOK_TIMEOUT", "5")
    monkeypatch.setenv("DLCOURSE_SANDBOX", "0")
    monkeypatch.delenv(sandbox.STATE, raising=False)
    course.autograde("01_losses")
    assert sum(course.scores("01_losses")["slow"].values()) == 0
    graded = json.loads((tmp_path / "autograded/slow/01_losses/01_losses.ipynb").read_text())
    notes = "".join(graded["cells"][0]["source"]).lower()
    assert "the notebook ran longer than 5 s in all" in notes and "graded unisolated" in notes, notes


if __name__ == "__main__":
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-n", "0", __file__, "-s"]))
