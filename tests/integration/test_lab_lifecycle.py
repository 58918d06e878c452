"""One lab at a time through the CLI: up, status, down, doctor, and the errors a user meets.

(Stress: many up/down cycles and killed kernels, is tests/robustness/test_lifecycle_under_stress.py.)
"""

from __future__ import annotations

import os

import pytest

from labenv import Lab, LabError
from labenv.lab import _starting
from tests.support import cli, leftovers

pytestmark = pytest.mark.integration
PREFIX = f"lc{os.getpid()}"


def test_two_labs_run_side_by_side_without_touching_each_other(suite):
    a, b = Lab.up(f"{PREFIX}-a", suite, say=lambda *_: None), Lab.up(f"{PREFIX}-b", suite, say=lambda *_: None)
    try:
        a.provider.ctl("down")           # a fault in lab a ...
        b_banner = b.exec("mailserver", ["sh", "-c", "printf 'QUIT\\r\\n' | nc -w 3 relayhost.somedom.com 587"])
        assert b_banner.stdout.startswith("220 relayhost.somedom.com")   # ... is not lab b's
        a_banner = a.exec("mailserver", ["sh", "-c", "printf 'QUIT\\r\\n' | nc -w 3 relayhost.somedom.com 587"])
        assert "220" not in a_banner.stdout
        addresses = {a.status()["roles"]["mailserver"]["addresses"]["lan"],
                     b.status()["roles"]["mailserver"]["addresses"]["lan"]}
        assert len(addresses) == 2
    finally:
        a.down()
        b.down()
    assert not any(leftovers(f"{PREFIX}-a").values()) and not any(leftovers(f"{PREFIX}-b").values())


def test_down_removes_everything_and_the_cli_says_so(suite):
    name = f"{PREFIX}-c"
    up = cli("up", "--lab", name, "--suite", suite)
    assert up.returncode == 0, up.stderr
    assert f"lab {name} ({suite}) is up" in up.stdout
    status = cli("status", "--lab", name)
    assert status.returncode == 0 and "running" in status.stdout and "port 25 blocked" in status.stdout
    down = cli("down", "--lab", name)
    assert down.returncode == 0 and "removed 6 containers and networks" in down.stdout
    assert not any(leftovers(name).values()), leftovers(name)
    gone = cli("status", "--lab", name)
    assert gone.returncode == 2 and gone.stderr.strip() == (
        f"labenv: lab '{name}' is not running; start it with `python -m labenv up --lab {name}`")


def test_environment_errors_are_one_line(suite):
    for args, message in [
        (["status", "--lab", "Bad Name!"], "is not valid"),
        (["up", "--lab", f"{PREFIX}-x", "--debian", "jessie"], "invalid choice: 'jessie'"),
        (["exec", "--lab", f"{PREFIX}-none", "mailserver", "--", "true"], "is not running"),
        (["bt", "--lab", f"{PREFIX}-none", "a@b;rm -rf /"], "is not a mail address"),
    ]:
        result = cli(*args)
        assert result.returncode == 2, (args, result)
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_no_engine_is_one_line_with_the_way_out(monkeypatch):
    result = cli("status", env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, timeout=60)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("labenv: no Docker engine answers: start one")


def test_a_lab_that_cannot_start_reports_why_and_leaves_nothing(monkeypatch, suite):
    from labenv import containers

    name = f"{PREFIX}-f"
    # The router is ready in about a second; make its ready line one it never prints.
    monkeypatch.setattr(containers, "STARTUP_TIMEOUT", 8)
    monkeypatch.setitem(containers.ROLES, "router",
                        containers.ROLES["router"].__class__(**{**containers.ROLES["router"].__dict__,
                                                                "ready": "a line the router never prints"}))
    with pytest.raises(LabError) as info:
        Lab.up(name, suite, say=lambda *_: None)
    assert str(info.value) == (f"lab '{name}' did not start: the router container did not report "
                               "ready within 8 s (its log follows)")
    assert "labenv: router ready" in info.value.details   # the logs come with the error
    assert not any(leftovers(name).values()), leftovers(name)


def test_a_second_up_of_a_lab_being_started_says_so_in_one_line(suite):
    name = f"{PREFIX}-twin"
    with _starting(name):                    # another `up --lab twin` is half-way
        second = cli("up", "--lab", name, "--suite", suite)
    assert second.returncode == 2
    assert second.stderr.strip() == (
        f"labenv: lab '{name}' is being started by another command right now; "
        f"use it once that is done (`python -m labenv status --lab {name}`)")
    assert not any(leftovers(name).values()), leftovers(name)


def test_lab_given_after_the_verb_and_its_arguments_is_the_lab_used(suite):
    name = f"{PREFIX}-probe"
    assert cli("up", "--suite", suite, "--lab", name).returncode == 0
    try:
        done = cli("exec", "mailserver", "--lab", name, "--", "hostname", "-f")
        assert (done.returncode, done.stdout.strip()) == (0, "mailserver.private.lan")
        missing = cli("exec", "mailserver", "--lab", f"{PREFIX}-none", "--", "true")
        assert missing.returncode == 2 and f"lab '{PREFIX}-none' is not running" in missing.stderr
    finally:
        cli("down", "--lab", name)


def test_doctor_without_a_lab_informs_and_succeeds(suite):
    done = cli("doctor", "--lab", f"{PREFIX}-absent", "--suite", suite)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ok   docker engine: version ")
    assert lines[1] == f"ok   images for {suite}: up to date"
    assert lines[2] == (f"info lab {PREFIX}-absent: no lab running "
                        f"(`python -m labenv up --lab {PREFIX}-absent` starts one)")
