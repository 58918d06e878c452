"""Labs start, run side by side, and leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from labenv import Lab, LabError
from labenv import engine
from labenv.lab import list_labs
from tests.conftest import wait_until

pytestmark = pytest.mark.integration
PREFIX = f"lc{os.getpid()}"


def leftovers(name: str) -> dict[str, list]:
    client = engine.connect()
    label = {"label": f"labenv.lab={name}"}
    return {"containers": client.containers.list(all=True, ignore_removed=True, filters=label),
            "networks": client.networks.list(filters=label),
            "volumes": client.volumes.list(filters=label)}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labenv", *args], capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


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
    assert leftovers(f"{PREFIX}-a") == leftovers(f"{PREFIX}-b") == {"containers": [], "networks": [], "volumes": []}


def test_down_removes_everything_and_the_cli_says_so(suite):
    name = f"{PREFIX}-c"
    up = cli("up", "--lab", name, "--debian", suite)
    assert up.returncode == 0, up.stderr
    assert f"lab {name} ({suite}) is up" in up.stdout
    status = cli("status", "--lab", name)
    assert status.returncode == 0 and "running" in status.stdout and "port 25 blocked" in status.stdout
    down = cli("down", "--lab", name)
    assert down.returncode == 0 and "removed 6 containers and networks" in down.stdout
    assert leftovers(name) == {"containers": [], "networks": [], "volumes": []}
    gone = cli("status", "--lab", name)
    assert gone.returncode == 2 and gone.stderr.strip() == (
        f"labenv: lab '{name}' is not running; start it with `python -m labenv up --lab {name}`")


def test_clean_removes_what_a_killed_process_left_behind(suite):
    name = f"{PREFIX}-k"
    # A kernel that dies mid-lab: the process is killed as the containers come up.
    proc = subprocess.Popen([sys.executable, "-c",
                             f"from labenv import Lab; Lab.up({name!r}, {suite!r}); import time; time.sleep(600)"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: leftovers(name)["containers"], timeout=60, interval=0.05, what="the first container")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert name in list_labs()
    clean = cli("clean", "--lab", name)
    assert clean.returncode == 0, clean.stderr
    assert leftovers(name) == {"containers": [], "networks": [], "volumes": []}
    assert name not in list_labs()


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
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = subprocess.run([sys.executable, "-m", "labenv", "status"], capture_output=True, text=True,
                            env=env, timeout=60)
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
    assert leftovers(name) == {"containers": [], "networks": [], "volumes": []}
