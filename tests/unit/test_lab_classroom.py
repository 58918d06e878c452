"""What labenv does for a learner of a class: its own start locks, and listings of its own labs only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from labenv import LabError
from labenv.lab import _lock_folder, _starting, own_labs_filter


def test_no_prefix_lists_everything(monkeypatch):
    monkeypatch.delenv("LABENV_LAB_PREFIX", raising=False)
    assert own_labs_filter() == {}


def test_prefix_lists_only_its_labs_by_name(monkeypatch):
    monkeypatch.setenv("LABENV_LAB_PREFIX", "alice-nb")
    pattern = own_labs_filter()["name"]
    # Docker matches the name filter as a regular expression; Go's syntax agrees with Python's here.
    mine = ["labenv-alice-nb01-router", "/labenv-alice-nb01-mailserver", "labenv-alice-nb01-lan"]
    others = ["labenv-bob-nb01-router", "labenv-bob-alice-nb01-lan", "/labenv-alicenb01-router",
              "labenv-malice-nb01-lan", "alice-nb01"]
    assert all(re.search(pattern, name) for name in mine)
    assert not any(re.search(pattern, name) for name in others)


def test_lock_folder_is_the_users_own(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = _lock_folder()
    assert folder == tmp_path / f"labenv-locks-{os.getuid()}"
    assert folder.stat().st_mode & 0o777 == 0o700
    with _starting("x1"):
        assert (folder / next(iter(os.listdir(folder)))).name.endswith("-x1.lock")


def test_lock_folder_open_to_others_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = tmp_path / f"labenv-locks-{os.getuid()}"
    folder.mkdir(mode=0o700)
    folder.chmod(0o777)
    with pytest.raises(LabError, match="not this user's own folder"):
        _lock_folder()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as two Unix users")
def test_two_unix_users_each_get_a_lock_folder():
    """Root starts first; another user (uid 65534) can still take its own lock in the same place."""
    shared = Path(tempfile.mkdtemp(prefix="labenv-test-tmp-", dir="/tmp"))
    try:
        shared.chmod(0o1777)  # like /tmp: everyone may make a folder here
        env = {**os.environ, "TMPDIR": str(shared), "XDG_RUNTIME_DIR": ""}
        code = "from labenv.lab import _starting\nwith _starting('x2'):\n    print('locked')\n"
        for prefix in ([], ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]):
            done = subprocess.run([*prefix, sys.executable, "-c", code], env=env, capture_output=True,
                                  text=True, cwd=os.getcwd())
            assert done.stdout.strip() == "locked", done.stderr
        assert sorted(p.name for p in shared.iterdir()) == ["labenv-locks-0", "labenv-locks-65534"]
    finally:
        shutil.rmtree(shared)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a folder for another uid")
def test_lock_folder_of_another_user_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = tmp_path / f"labenv-locks-{os.getuid()}"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(LabError, match="owner uid 65534"):
        _lock_folder()


def test_counted_stdin_ends_the_input_without_a_half_close():
    """Over TLS labenv cannot half-close an exec's input; the command reads its length instead."""
    from labenv.lab import _counted_stdin

    proc = subprocess.Popen(_counted_stdin(["wc", "-c"], 5), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    proc.stdin.write(b"hello, and more that is never read")
    proc.stdin.flush()                      # the input stays open, as the engine's stream does
    assert proc.wait(timeout=10) == 0
    assert proc.stdout.read().strip() == b"5"
    proc.stdin.close()
