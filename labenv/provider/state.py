"""The provider's knobs and its record of sessions: files shared by the server and `relayhost-ctl`.

Under ``var`` (``$RELAYHOST_VAR``, default /var/lib/relayhost):

    state.json      the knobs: users, reject_auth, strict_authzid, strip_starttls,
                    listening, faults {"code": 421|451, "count": N}
    sessions.jsonl  one finished SMTP session per line
    queue-id        the last queue id handed out

and under ``run`` (``$RELAYHOST_RUN``, default /run/relayhost) status.json: what the
server does now (listening, ports). Standard library only.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_KNOBS = {
    "users": {"user_name": "password"},
    "reject_auth": False,
    "strict_authzid": False,
    "strip_starttls": False,
    "listening": True,
    "faults": {"code": None, "count": 0},
}


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


class Store:
    """The provider's files; every change is made under one lock, so server and ctl never race."""

    def __init__(self, var: str | Path | None = None, run: str | Path | None = None) -> None:
        self.var = Path(var or os.environ.get("RELAYHOST_VAR", "/var/lib/relayhost"))
        self.run = Path(run or os.environ.get("RELAYHOST_RUN", "/run/relayhost"))
        self.state_file = self.var / "state.json"
        self.sessions_file = self.var / "sessions.jsonl"
        self.counter_file = self.var / "queue-id"
        self.status_file = self.run / "status.json"

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.var.mkdir(parents=True, exist_ok=True)
        with open(self.var / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def init(self) -> None:
        """Default knobs if there are none yet, and an empty record."""
        with self.locked():
            if not self.state_file.exists():
                _write_json(self.state_file, DEFAULT_KNOBS)
            self.sessions_file.touch()

    def knobs(self) -> dict:
        try:
            knobs = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            knobs = {}
        return {**DEFAULT_KNOBS, **knobs}

    def update(self, **changes) -> dict:
        """Change some knobs; returns all of them."""
        with self.locked():
            knobs = {**self.knobs(), **changes}
            _write_json(self.state_file, knobs)
            return knobs

    def reset(self) -> dict:
        with self.locked():
            _write_json(self.state_file, DEFAULT_KNOBS)
            return dict(DEFAULT_KNOBS)

    def take_fault(self) -> int | None:
        """Consume one queued fault for a new session (on any port); its code, or None."""
        with self.locked():
            knobs = self.knobs()
            faults = dict(knobs.get("faults") or {})
            if not faults.get("count"):
                return None
            faults["count"] -= 1
            code = faults.get("code")
            knobs["faults"] = faults if faults["count"] > 0 else {"code": None, "count": 0}
            _write_json(self.state_file, knobs)
            return code

    def next_queue_id(self) -> str:
        with self.locked():
            try:
                n = int(self.counter_file.read_text()) + 1
            except (OSError, ValueError):
                n = 1
            self.counter_file.write_text(str(n))
        return f"R{n:06d}"

    def append_session(self, record: dict) -> None:
        with self.locked(), open(self.sessions_file, "a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")

    def sessions(self) -> list[dict]:
        """The recorded sessions, oldest first."""
        try:
            lines = self.sessions_file.read_text().splitlines()
        except OSError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def clear_sessions(self) -> None:
        with self.locked():
            self.sessions_file.write_text("")

    def write_status(self, **status) -> None:
        _write_json(self.status_file, {**status, "time": time.time()})

    def status(self) -> dict:
        try:
            return json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}
