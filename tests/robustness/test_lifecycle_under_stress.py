"""Labs come and go without leaving anything behind, even when their kernel is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from labenv import Lab, LabError, engine
from labenv.lab import LABEL_LAB, list_labs
from tests.support import ROOT, cli, leftovers, wait_until

pytestmark = pytest.mark.integration

CYCLES = 20


def volumes_of(name: str) -> set[str]:
    client = engine.connect()
    out = set()
    for c in client.containers.list(all=True, ignore_removed=True, filters={"label": f"{LABEL_LAB}={name}"}):
        out |= {m["Name"] for m in c.attrs.get("Mounts", []) if m.get("Type") == "volume"}
    return out


def existing_volumes() -> set[str]:
    return {v.name for v in engine.connect().volumes.list()}


def test_twenty_up_down_cycles_leave_nothing(suite):
    names = [f"rb{os.getpid()}-cyc-a", f"rb{os.getpid()}-cyc-b"]
    seen_volumes: set[str] = set()

    def cycles(name: str) -> int:
        done = 0
        for i in range(CYCLES // len(names)):
            lab = Lab.up(name, suite, say=lambda *_: None)
            assert lab.status()["running"]
            seen_volumes.update(volumes_of(name))
            # Half the cycles go down through the CLI, as an instructor would.
            if i % 2:
                assert cli("down", "--lab", name).returncode == 0
            else:
                lab.down()
            assert not any(leftovers(name).values()), leftovers(name)
            done += 1
        return done

    try:
        with ThreadPoolExecutor(max_workers=len(names)) as pool:
            assert sum(pool.map(cycles, names)) == CYCLES
    finally:
        for name in names:
            cli("clean", "--lab", name)
    for name in names:
        assert not any(leftovers(name).values()), leftovers(name)
        assert name not in list_labs()
    assert not seen_volumes & existing_volumes(), "a lab's volume outlived it"


def start_in_subprocess(name: str, suite: str) -> subprocess.Popen:
    code = (f"from labenv import Lab; Lab.up({name!r}, {suite!r}, say=lambda *a: None); "
            "import time; time.sleep(600)")
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def is_up(name: str) -> bool:
    try:
        lab = Lab.attach(name)
        return lab.status()["running"] and \
            b"labenv: mailserver ready" in lab.container("mailserver").logs()
    except LabError:  # networks made, containers not yet
        return False


def settled(name: str):
    """The lab's resources stopped changing (requests in flight when the kernel died landed)."""
    first = leftovers(name)
    time.sleep(0.5)
    return first if leftovers(name) == first else None


@pytest.mark.parametrize("when", ["mid-start", "after-start"])
def test_killed_kernel_is_cleaned_by_clean(when, suite):
    name = f"rb{os.getpid()}-killed-{when[:3]}"
    proc = start_in_subprocess(name, suite)
    try:
        if when == "mid-start":
            wait_until(lambda: leftovers(name)["containers"], timeout=60, interval=0.05,
                       what="the lab's first container")
        else:
            wait_until(lambda: is_up(name), timeout=90, interval=0.2, what="the lab to be up")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        wait_until(lambda: settled(name), timeout=30, what="the dead kernel's lab to settle")
        assert any(leftovers(name).values()), "the killed kernel left nothing to clean"
        done = cli("clean", "--lab", name)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"lab {name}: removed ")
        assert not any(leftovers(name).values()), leftovers(name)
        assert name not in list_labs()
    finally:
        if proc.poll() is None:
            proc.kill()
        cli("clean", "--lab", name)
