"""The provider's knobs and its record of sessions, shared by the server and `relayhost-ctl`.

STATE    /var/lib/relayhost/state.json    users, reject_auth, strict_authzid, listening,
                                         faults: {"code": 421|451, "count": N}
SESSIONS /var/lib/relayhost/sessions.jsonl one finished SMTP session per line
STATUS   /run/relayhost/status.json       what the server is doing now (listening, ports)
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

VAR = Path(os.environ.get("RELAYHOST_VAR", "/var/lib/relayhost"))
STATE = VAR / "state.json"
SESSIONS = VAR / "sessions.jsonl"
COUNTER = VAR / "queue-id"
STATUS = Path(os.environ.get("RELAYHOST_RUN", "/run/relayhost")) / "status.json"
LOCK = VAR / ".lock"

DEFAULT_STATE = {
    "users": {"user_name": "password"},
    "reject_auth": False,
    "strict_authzid": False,
    "listening": True,
    "faults": {"code": None, "count": 0},
}


@contextmanager
def locked():
    VAR.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


def init_state() -> None:
    with locked():
        if not STATE.exists():
            _write_json(STATE, DEFAULT_STATE)
        SESSIONS.touch()


def read_state() -> dict:
    try:
        state = json.loads(STATE.read_text())
    except (OSError, ValueError):
        state = {}
    return {**DEFAULT_STATE, **state}


def update_state(**changes) -> dict:
    with locked():
        state = read_state()
        state.update(changes)
        _write_json(STATE, state)
        return state


def take_fault(port: int) -> int | None:
    """Consume one queued fault for a new session; 25 and 587 both count."""
    with locked():
        state = read_state()
        faults = state.get("faults") or {}
        if not faults.get("count"):
            return None
        faults["count"] -= 1
        code = faults.get("code")
        if faults["count"] <= 0:
            faults = {"code": None, "count": 0}
        state["faults"] = faults
        _write_json(STATE, state)
        return code


def next_queue_id() -> str:
    with locked():
        try:
            n = int(COUNTER.read_text()) + 1
        except (OSError, ValueError):
            n = 1
        COUNTER.write_text(str(n))
    return f"R{n:06d}"


def append_session(record: dict) -> None:
    with locked():
        with open(SESSIONS, "a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def read_sessions() -> list[dict]:
    try:
        lines = SESSIONS.read_text().splitlines()
    except OSError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def clear_sessions() -> None:
    with locked():
        SESSIONS.write_text("")


def write_status(**status) -> None:
    _write_json(STATUS, {**status, "time": time.time()})


def read_status() -> dict:
    try:
        return json.loads(STATUS.read_text())
    except (OSError, ValueError):
        return {}
