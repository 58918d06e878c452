"""Every exercise on a real fresh lab: not done at first, done after its solution; the instructors' CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from helpers.exercises import EXERCISES, exercise
from tests.support import ROOT, fresh_test_lab, one_line_error, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def fresh_lab(request, suite):
    callspec = getattr(request.node, "callspec", None)
    tag = callspec.id if callspec else request.node.name.rsplit("_", 1)[-1]
    yield from fresh_test_lab(f"t{os.getpid()}-ex-{tag}", suite)


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.id for e in EXERCISES])
def test_exercise_fails_fresh_and_passes_after_solve(fresh_lab, ex, capsys):
    ex.setup(fresh_lab)
    problems = ex.problems(fresh_lab)
    assert problems, f"{ex.id}: a fresh lab already passes"
    assert not any(p.startswith("could not check") for p in problems), problems
    assert not ex.check(fresh_lab)
    assert "✘" in capsys.readouterr().out
    ex.solve(fresh_lab)
    assert ex.problems(fresh_lab) == []
    assert ex.check(fresh_lab)
    out = capsys.readouterr().out
    assert "✘" not in out and "Done." in out


def test_fix_the_queue_hides_its_second_cause_behind_the_first(fresh_lab):
    """08: the message waits at the port-25 block; with the mailertable fixed it waits for AUTH."""
    from helpers.exercises.checks import STUCK_SUBJECT
    from labenv import mail

    lab, ex = fresh_lab, exercise("08", "fix-the-queue")
    ex.setup(lab)
    assert all(problems for _, problems in ex.results(lab))
    assert [m["reason"] for m in mail.queue(lab)] == ["Deferred: Connection refused by mx.example.com."]

    def sh(script):
        lab.exec("mailserver", ["sh", "-ec", script], timeout=120).check()

    sh("sed -i 's/mailertabel/mailertable/' /etc/mail/sendmail.mc; cd /etc/mail; make >/dev/null; "
       "test ! -s sendmail.cf.errors; /etc/init.d/sendmail reload; sendmail -qf")
    assert [m["reason"] for m in mail.queue(lab)] == ["Deferred: Temporary AUTH failure"]
    # -qf: the queue run in the foreground (a plain -q returns while its child still works)
    sh("dpkg -i /var/cache/apt/archives/libsasl2-modules_*.deb >/dev/null; sendmail -qf")
    # a queue run by hand delivered it (the provider writes its record as the session ends)
    wait_until(lambda: [p for p in ex.problems(lab) if "daemon" not in p] == [], timeout=30,
               what="the queued message at the provider")
    assert ex.problems(lab)                                             # ... but the daemon has not
    mail.send(lab, "root", ["bob@example.com"], subject="new mail")
    wait_until(lambda: ex.problems(lab) == [], timeout=30, what="the daemon to deliver new mail")
    subjects = [m["headers"].get("Subject") for m in lab.provider.messages()]
    assert subjects.count(STUCK_SUBJECT) == 1                          # delivered, not resent


def exercises_cli(*args: str) -> subprocess.CompletedProcess:
    """`python -m helpers.exercises ARGS` as an instructor types it."""
    env = {**os.environ, "LABENV_QUIET": "1"}
    return subprocess.run([sys.executable, "-m", "helpers.exercises", *args], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("ex", [exercise("02", "relay-port")], ids=["cli"])
def test_check_verb(fresh_lab, ex):
    run = exercises_cli("check", "02", "--lab", fresh_lab.name)
    assert run.returncode == 1, run.stderr
    assert "✘ the relay mailer connects to port 587" in run.stdout
    assert "not done yet" in one_line_error(run.stderr)
    ex.solve(fresh_lab)
    run = exercises_cli("--lab", fresh_lab.name, "check", "2")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "✔ the relay mailer connects to port 587" in run.stdout and "✘" not in run.stdout
    run = exercises_cli("check", "42", "--lab", fresh_lab.name)
    assert run.returncode == 2 and "notebook 42 has no exercises" in one_line_error(run.stderr)


def test_check_verb_without_the_lab_is_one_line_exit_2():
    run = exercises_cli("check", "02", "--lab", f"t{os.getpid()}-nosuchlab")
    assert run.returncode == 2 and "is not running" in one_line_error(run.stderr)


def test_progress_shows_each_learner_where_they_are(suite):
    from labenv import Lab

    prefix = f"pg{os.getpid()}"
    alice, bob = (Lab.up(f"{prefix}{who}-nb02", suite, say=lambda *_: None) for who in ("alice", "bob"))
    try:
        exercise("02", "relay-port").solve(bob)
        run = exercises_cli("progress", "--prefix", prefix, "--json")
        assert run.returncode == 0, run.stderr
        rows = {row["learner"]: row for row in json.loads(run.stdout)}
        assert rows[f"{prefix}alice-nb"]["02"] == "1 to do"
        assert rows[f"{prefix}bob-nb"]["02"] == "done"
        table = exercises_cli("progress", "--prefix", prefix)
        assert table.returncode == 0 and table.stdout.splitlines()[0].split()[:3] == ["LEARNER", "01", "02"]
    finally:
        alice.down()
        bob.down()
