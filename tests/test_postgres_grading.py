"""A class larger than one machine: the gradebook on PostgreSQL, graded by two runs at once.

The server is a throwaway cluster that the fixture creates with the OS's PostgreSQL (``./course.sh
system`` installs it): initdb and postgres run as an unprivileged user (``nobody`` when the tests
run as root, as PostgreSQL refuses root), listen on a unix socket in a temporary folder only, and
are stopped afterwards. Without the binaries or the driver the tests say why they are skipped.
"""

import csv
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.claims import Claims
from autograder.course_dir import CourseDir
from autograder.grade_class import grade_class
from tests.submissions import dumps, load_solution, solution_cells, stub_out, with_cell_edited

CHAPTER = "01_losses"
PG_BINDIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)


def _pg_binary(name):
    for folder in PG_BINDIRS:
        if os.access(os.path.join(folder, name), os.X_OK):
            return os.path.join(folder, name)
    return shutil.which(name)


def _as_server_user():
    """The command prefix that runs a program as the cluster's owner, and that owner's (uid, gid)."""
    if os.geteuid() != 0:
        return [], (os.getuid(), os.getgid())
    import grp
    import pwd

    try:
        user = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no 'nobody' user to run PostgreSQL as")
    group = grp.getgrgid(user.pw_gid).gr_name
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv (util-linux) is missing: PostgreSQL cannot be run as 'nobody'")
    return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups",
            "env", f"USER={user.pw_name}", f"HOME={tempfile.gettempdir()}"], (user.pw_uid, grp.getgrnam(group).gr_gid)


@pytest.fixture(scope="module")
def postgres():
    """A running PostgreSQL server: a function ``new_database(name) -> db_url``."""
    pytest.importorskip("psycopg", reason="the PostgreSQL driver psycopg is not installed (requirements.txt)")
    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL is not installed (initdb/pg_ctl not found; `./course.sh system` installs it)")
    prefix, (uid, gid) = _as_server_user()
    base = Path(tempfile.mkdtemp(prefix="dlc-pg-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    for path in (base, sockets):
        os.chown(path, uid, gid)
    run = dict(capture_output=True, text=True, timeout=120, cwd=base)
    made = subprocess.run(prefix + [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                                    "--no-sync"], **run)
    if made.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {made.stderr.strip()[-500:]}")
    options = f"-k {sockets} -c listen_addresses='' -c fsync=off -c max_connections=100"
    started = subprocess.run(prefix + [pg_ctl, "-D", str(data), "-l", str(base / "server.log"), "-o", options,
                                       "-w", "-t", "60", "start"], **run)
    if started.returncode != 0:
        log = (base / "server.log").read_text(errors="replace")[-800:] if (base / "server.log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"the PostgreSQL server did not start: {started.stderr.strip()[-400:]} {log}")

    import psycopg

    def new_database(name):
        with psycopg.connect(dbname="postgres", user="postgres", host=str(sockets), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@/{name}?host={sockets}"

    try:
        yield new_database
    finally:
        subprocess.run(prefix + [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], **run)
        shutil.rmtree(base, ignore_errors=True)


def _class(course):
    """Four submissions, each scoring differently: the full solution, the release as handed out, and
    the first or the last function left as its stub (enough for two runs to split the class, each
    grading at least one)."""
    solution = load_solution(CHAPTER)
    cells = solution_cells(solution)
    released = solution
    for grade_id in cells:
        released = with_cell_edited(released, grade_id, stub_out)
    notebooks = {"ada": solution, "di": released,
                 "fa": with_cell_edited(solution, cells[0], stub_out), "gu": with_cell_edited(solution, cells[-1], stub_out)}
    for student, nb in notebooks.items():
        course.submit(student, CHAPTER, text=dumps(nb))
    return sorted(notebooks)


def _export(course):
    out = course.root / "grades.csv"
    course.nbgrader("export", "--to", str(out))
    with open(out, newline="") as handle:
        return sorted(tuple(sorted(row.items())) for row in csv.DictReader(handle))


def _grade_command(course, db_url):
    env = dict(os.environ, DLCOURSE_CELL_TIMEOUT="30")
    env.pop("DLCOURSE_DB_URL", None)
    return subprocess.Popen([sys.executable, "-m", "autograder.grade_class", CHAPTER, "--workers", "1",
                             "--no-feedback", "--root", str(course.root), "--db-url", db_url],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.nbgrader
def test_two_runs_share_a_class_on_postgresql(tmp_path, postgres, monkeypatch):
    from nbgrader.api import Gradebook

    monkeypatch.setenv("DLCOURSE_CELL_TIMEOUT", "30")
    monkeypatch.delenv("DLCOURSE_DB_URL", raising=False)
    shared, single = CourseDir(tmp_path / "shared"), CourseDir(tmp_path / "single")
    shared.db_url = postgres("dlcourse_shared")
    for course in (shared, single):
        course.release(CHAPTER)
        students = _class(course)

    runs = [_grade_command(shared, shared.db_url) for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    grade_class(CHAPTER, single.root, workers=2, quiet=True, feedback=False)

    # Split between the two runs, each submission graded exactly once.
    journals = sorted((shared.root / "grading" / "journal" / CHAPTER).glob("*.jsonl"))
    graded = [[json.loads(line)["student"] for line in path.read_text().splitlines()] for path in journals]
    assert len(graded) == 2 and all(graded), f"the two runs did not split the class: {graded}"
    assert sorted(s for run in graded for s in run) == students, graded
    ledger = json.loads((shared.root / "grading" / f"{CHAPTER}.json").read_text())
    assert sorted(ledger) == students and {e["status"] for e in ledger.values()} == {"graded"}
    assert len({e["by"] for e in ledger.values()}) == 2
    assert not list((shared.root / "grading" / "claims" / CHAPTER).glob("*.claim")), "claims left behind"

    # One submission row per student, with the single-machine scores.
    with Gradebook(shared.db_url) as gb:
        rows = gb.db.execute(__import__("sqlalchemy").text(
            "select student.id, count(*) from submitted_assignment join student on student.id = student_id "
            "group by student.id")).all()
        assert sorted(rows) == [(s, 1) for s in students]
        scores = {s.student.id: s.score for s in gb.find_assignment(CHAPTER).submissions}
    full = max(scores.values())
    assert full > 0 and [s for s in students if scores[s] == full] == ["ada"], scores
    assert scores["di"] < min(scores["fa"], scores["gu"]), scores
    assert _export(shared) == _export(single)


def _claims(folder, stale_after=600):
    return Claims(folder, stale_after=stale_after)


def test_a_submission_is_claimed_once_and_a_stale_claim_is_taken_over(tmp_path):
    first, second = _claims(tmp_path), _claims(tmp_path)
    second.me = dict(second.me, pid=os.getppid())  # another live process on this host
    assert first.take("ada") and first.take("ada")
    assert not second.take("ada")
    first.release("ada")
    assert second.take("ada") and not first.take("ada")

    # The owner died on this host: its claim is taken over at once.
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "bo.claim").write_text(json.dumps({"host": first.me["host"], "pid": dead.pid, "since": 0}))
    assert first.stale("bo") and first.take("bo")
    assert json.loads((tmp_path / "bo.claim").read_text())["pid"] == first.me["pid"]

    # Another host's claim: live while its heartbeat touches it, stale once it stops.
    (tmp_path / "cy.claim").write_text(json.dumps({"host": "grader-2", "pid": 1, "since": time.time()}))
    assert not first.stale("cy") and not first.take("cy")
    old = time.time() - 601
    os.utime(tmp_path / "cy.claim", (old, old))
    assert first.take("cy") and json.loads((tmp_path / "cy.claim").read_text())["host"] == first.me["host"]

    # The heartbeat keeps a held claim fresh.
    os.utime(tmp_path / "cy.claim", (old, old))
    first.refresh()
    assert not second.stale("cy")
    first.release_all()
    second.release_all()
    assert not list(tmp_path.glob("*.claim"))


def test_two_ledgers_writing_at_once_lose_nothing(tmp_path):
    from autograder.grade_class import Ledger

    path = tmp_path / "grading" / "ch.json"
    one, two = Ledger(path), Ledger(path)
    one.record("ada", fingerprint="a", status="graded")
    two.record("bo", fingerprint="b", status="graded")  # two never read ada's entry itself
    one.record("cy", fingerprint="c", status="failed", error="x")
    assert sorted(Ledger(path).entries) == ["ada", "bo", "cy"]
    assert one.done("bo", "b") and not one.done("cy", "c")
