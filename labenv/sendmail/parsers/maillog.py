"""Parser for sendmail lines in /var/log/mail.log (rsyslog; RFC 3339 or classic BSD time).

Usage::

    from labenv.sendmail.parsers import maillog
    rows = maillog.parse(lab.exec("mailserver", ["cat", "/var/log/mail.log"]).stdout)
    maillog.to_frame(rows)        # one column per field (to, from, stat, dsn, relay, ...)

Row schema::

    {"time": "2026-11-25T12:36:27.380458+00:00", "host": "mailserver",
     "program": "sendmail" | "sm-mta" | ..., "pid": 558,
     "queue_id": "6APCaRMd000558" | None,
     "message": "...",                       # everything after "program[pid]: " and the queue id
     "fields": {"to": "bob@somedom.com", "dsn": "4.3.0", "stat": "Deferred: ...", ...},
     "notes": ["temporary failure", ...]}     # comma-separated parts that are not key=value

``AUTH=client`` and ``STARTTLS=client`` lines carry ``AUTH``/``STARTTLS`` fields.
Lines that are not syslog lines are skipped.
"""
from __future__ import annotations

import re

import pandas as pd

_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\S+|\w{3} [ \d]\d \d\d:\d\d:\d\d) (?P<host>\S+) "
    r"(?P<program>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<message>.*)$")
_QUEUE_ID = re.compile(r"^([0-9A-Za-z]{14}): (.*)$")
_FIELD = re.compile(r"^([A-Za-z][\w.-]*)=(.*)$", re.DOTALL)
_OPEN, _CLOSE = "([<", ")]>"


def split_fields(message: str) -> list[str]:
    """Split on ", " outside parentheses, brackets and angle brackets."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(message):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE and depth:
            depth -= 1
        elif ch == "," and depth == 0 and message[i + 1:i + 2] == " ":
            parts.append(message[start:i])
            start = i + 2
    parts.append(message[start:])
    return [p for p in parts if p]


def parse_line(line: str) -> dict | None:
    """One row, or None when the line is not a syslog line."""
    match = _LINE.match(line)
    if not match:
        return None
    message = match.group("message")
    queue_id = None
    if qid := _QUEUE_ID.match(message):
        queue_id, message = qid.groups()
    fields: dict[str, str] = {}
    notes: list[str] = []
    for part in split_fields(message):
        if field := _FIELD.match(part):
            fields[field.group(1)] = field.group(2)
        else:
            notes.append(part)
    pid = match.group("pid")
    return {"time": match.group("time"), "host": match.group("host"),
            "program": match.group("program"), "pid": int(pid) if pid else None,
            "queue_id": queue_id, "message": message, "fields": fields, "notes": notes}


def parse(text: str) -> list[dict]:
    """Rows for every syslog line in ``text``."""
    return [row for line in text.splitlines() if (row := parse_line(line)) is not None]


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Flat table: the fixed columns, then one column per field name seen."""
    flat = [{k: v for k, v in row.items() if k not in ("fields", "notes")} | row["fields"]
            | {"notes": "; ".join(row["notes"])} for row in rows]
    return pd.DataFrame(flat)
