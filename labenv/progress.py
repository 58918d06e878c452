"""The record of what learners did: every check, hint, skip and break, kept after the lab is gone.

    record("check", notebook="03", exercise="authinfo", result="open", open=2, lab="nb03")
    events()                       # every event, oldest first
    matrix(events())               # one row per learner and exercise: done, open, hints, skipped
    python -m labenv progress [--csv]

A self-paced learner's record is an SQLite file of their own:
``$LABENV_PROGRESS_DB``, else ``$XDG_DATA_HOME/labenv/progress.sqlite3`` (by default
under ``~/.local/share``). In a class on JupyterHub (``$LABENV_PROGRESS_URL`` and the
server's ``$JUPYTERHUB_API_TOKEN`` set), events go to the class's progress service,
which records them under the token's owner. Recording never stops a lesson: when
the record cannot be written, one line on stderr says why (a class event is then
kept in the learner's own record) and the notebook goes on.

The learner is ``$LABENV_LEARNER``, else ``$JUPYTERHUB_USER``, else the login name.
"""
from __future__ import annotations

import contextlib
import csv
import getpass
import io
import json
import os
import sqlite3
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConfigError

#: What an event can be: a check (by code or the Check button), a hint, Skip (the
#: solution applied by the button), solve (the same from code), break (a fault injected).
ACTIONS = ("check", "hint", "skip", "solve", "break")
#: ``open`` when the number of checks still open is not known (a hint, a break).
UNKNOWN = -1


@dataclass(frozen=True)
class Event:
    """One thing a learner did: who, where, what came of it, how many checks were still open, when."""

    learner: str
    notebook: str
    exercise: str
    action: str
    result: str
    open: int = UNKNOWN
    time: str = ""
    lab: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ConfigError("action", f"{self.action!r} is not one of {', '.join(ACTIONS)}")


FIELDS = [f.name for f in fields(Event)]


def learner() -> str:
    """Who is at the keyboard: $LABENV_LEARNER, $JUPYTERHUB_USER or the login name."""
    for variable in ("LABENV_LEARNER", "JUPYTERHUB_USER"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return f"uid{os.getuid()}"


def now() -> str:
    """The time of an event: UTC, to the second, ISO 8601."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def default_path() -> Path:
    """Where a self-paced learner's record lives (see the module docstring)."""
    if os.environ.get("LABENV_PROGRESS_DB"):
        return Path(os.environ["LABENV_PROGRESS_DB"])
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "labenv" / "progress.sqlite3"


class Record:
    """The events in one SQLite file (made on first use); safe for several kernels at once."""

    SCHEMA = ("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, learner TEXT NOT NULL, "
              "notebook TEXT NOT NULL, exercise TEXT NOT NULL, action TEXT NOT NULL, "
              "result TEXT NOT NULL, open INTEGER NOT NULL, time TEXT NOT NULL, lab TEXT NOT NULL)")

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else default_path()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(self.SCHEMA)
        return connection

    def add(self, event: Event) -> None:
        with self._connect() as connection:
            connection.execute(f"INSERT INTO events ({', '.join(FIELDS)}) VALUES "
                               f"({', '.join('?' * len(FIELDS))})", [getattr(event, f) for f in FIELDS])
        connection.close()

    def events(self, learner: str | None = None) -> list[Event]:
        """Every event (or one learner's), oldest first; [] when there is no record yet."""
        if not self.path.exists():
            return []
        connection = self._connect()
        try:
            query = f"SELECT {', '.join(FIELDS)} FROM events"
            rows = (connection.execute(query + " WHERE learner = ? ORDER BY id", (learner,)) if learner
                    else connection.execute(query + " ORDER BY id"))
            return [Event(*row) for row in rows]
        finally:
            connection.close()


class ServiceRecord:
    """The class's record, kept by the hub's progress service (classroom.progress_service)."""

    def __init__(self, url: str, token: str) -> None:
        self.path = url.rstrip("/") + "/api/events"   # what a warning names
        self.token = token

    def add(self, event: Event) -> None:
        body = {f: getattr(event, f) for f in FIELDS if f not in ("learner", "time")}
        request = urllib.request.Request(self.path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answer.read()
        except urllib.error.HTTPError as error:
            raise OSError(f"{error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise OSError(str(error.reason)) from None


def default_store() -> Record | ServiceRecord:
    """The class's service when this kernel runs in a class, else the learner's own file."""
    url, token = os.environ.get("LABENV_PROGRESS_URL"), os.environ.get("JUPYTERHUB_API_TOKEN")
    return ServiceRecord(url, token) if url and token else Record()


_warned: set[str] = set()


def record(action: str, *, notebook: str = "", exercise: str = "", result: str = "",
           open: int = UNKNOWN, lab: str = "", store: Record | ServiceRecord | None = None) -> Event:
    """Add one event for the learner at the keyboard; a record that cannot be written is one warning."""
    event = Event(learner(), notebook, exercise, action, result, open, now(), lab)
    target = store or default_store()
    try:
        target.add(event)
    except (OSError, sqlite3.Error) as error:
        if str(target.path) not in _warned:  # once per record, not at every click
            _warned.add(str(target.path))
            kept = " (kept in your own record)" if isinstance(target, ServiceRecord) else ""
            print(f"labenv: progress not recorded in {target.path}: {error}{kept}", file=sys.stderr)
        if isinstance(target, ServiceRecord):
            with contextlib.suppress(OSError, sqlite3.Error):
                Record().add(event)
    return event


def events(path: Path | str | None = None) -> list[Event]:
    """Every event in the record at ``path`` (default: this learner's own)."""
    return Record(path).events()


def matrix(found: list[Event]) -> list[dict]:
    """One row per learner and exercise, in order of learner, notebook and exercise.

    ``status`` is done (a check found nothing open, or Skip applied the solution),
    open (checked, not done), or started (only hints so far); ``open`` is the
    number of checks open at the last check; ``hints`` counts the hints asked;
    ``skipped`` says whether the solution was applied for the learner.

    >>> e = [Event("ann", "02", "relay-port", "check", "open", 2, "t1"),
    ...      Event("ann", "02", "relay-port", "hint", "hint 1", time="t2"),
    ...      Event("ann", "02", "relay-port", "check", "done", 0, "t3")]
    >>> matrix(e)
    [{'learner': 'ann', 'notebook': '02', 'exercise': 'relay-port', 'status': 'done', 'open': 0, 'hints': 1, 'skipped': False, 'checks': 2, 'last': 't3'}]
    """
    rows: dict[tuple[str, str, str], dict] = {}
    for event in found:
        if not event.exercise or event.action == "break":
            continue
        key = (event.learner, event.notebook, event.exercise)
        row = rows.setdefault(key, {"learner": event.learner, "notebook": event.notebook,
                                    "exercise": event.exercise, "status": "started", "open": UNKNOWN,
                                    "hints": 0, "skipped": False, "checks": 0, "last": event.time})
        row["last"] = event.time
        if event.action == "hint":
            row["hints"] += 1
        elif event.action in ("skip", "solve"):
            row["skipped"] = True
            row["status"] = "done"
            row["open"] = max(event.open, 0)
        elif event.action == "check":
            row["checks"] += 1
            row["open"] = event.open
            if event.result == "done":
                row["status"] = "done"
            elif row["status"] != "done":
                row["status"] = "open"
    return [rows[key] for key in sorted(rows)]


def cell(row: dict) -> str:
    """One learner's state of one exercise in a few characters: ``done``, ``2 open``, ``skipped``, ``+h3``.

    >>> cell({"status": "open", "open": 2, "hints": 3, "skipped": False})
    '2 open +h3'
    """
    text = ("skipped" if row["skipped"] else "done" if row["status"] == "done"
            else f"{row['open']} open" if row["open"] >= 0 else "started")
    return text + (f" +h{row['hints']}" if row["hints"] else "")


def class_table(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """The matrix as a table learner x exercise (columns ``NN/id``) and its column names."""
    columns = sorted({f"{r['notebook']}/{r['exercise']}" for r in rows})
    table: dict[str, dict] = {}
    for row in rows:
        table.setdefault(row["learner"], {"learner": row["learner"]})[
            f"{row['notebook']}/{row['exercise']}"] = cell(row)
    return [table[name] for name in sorted(table)], ["learner", *columns]


def to_csv(rows: list[dict]) -> str:
    """The matrix as CSV, one line per learner and exercise, with a header line."""
    out = io.StringIO()
    columns = ["learner", "notebook", "exercise", "status", "open", "hints", "skipped", "checks", "last"]
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
