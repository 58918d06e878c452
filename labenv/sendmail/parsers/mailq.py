"""Parser for ``mailq`` (Debian's wrapper prints the MSP queue, then the MTA queue).

Usage::

    from labenv.sendmail.parsers import mailq
    rows = mailq.parse(lab.exec("mailserver", ["mailq"]).stdout)
    mailq.to_frame(rows)

Row schema, one row per queued message::

    {"queue": "MTA" | "MSP",          # which section of the output
     "directory": "/var/spool/mqueue",
     "id": "6APCaRMd000558",
     "flag": "" | "*" | "X" | "-",    # * being delivered, X load too high, - too young
     "size": 6, "time": "Wed Nov 25 12:36", "sender": "root",
     "reason": "Deferred: Temporary AUTH failure" | None,
     "recipients": ["bob@somedom.com"]}

An empty queue gives no rows; ``parse("")`` is ``[]``.
"""
from __future__ import annotations

import re

import pandas as pd

_SECTION = re.compile(r"^(MSP|MTA) Queue status\.\.\.$")
_DIRECTORY = re.compile(r"^\s*(/\S+?)(?: is empty| \(\d+ requests?\))")
_ENTRY = re.compile(r"^(\w{8,})([*X-]?)\s+(\d+)\s+(\w{3} \w{3} [ \d]\d \d\d:\d\d)\s+(.*)$")
_REASON = re.compile(r"^ +\((.*)\)$")
_TOTAL = re.compile(r"^\s*Total requests: \d+$")


def parse(text: str) -> list[dict]:
    """Queued messages in ``mailq`` output."""
    rows: list[dict] = []
    queue = directory = None
    current: dict | None = None
    for line in text.splitlines():
        if match := _SECTION.match(line):
            queue, current = match.group(1), None
        elif match := _DIRECTORY.match(line):
            directory, current = match.group(1), None
        elif match := _ENTRY.match(line):
            current = {"queue": queue, "directory": directory, "id": match.group(1),
                       "flag": match.group(2), "size": int(match.group(3)),
                       "time": match.group(4), "sender": match.group(5).strip(),
                       "reason": None, "recipients": []}
            rows.append(current)
        elif _TOTAL.match(line):
            current = None
        elif current is not None and (match := _REASON.match(line)):
            current["reason"] = match.group(1)
        elif current is not None and line.startswith("\t") and line.strip():
            current["recipients"].append(line.strip())
    return rows


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """One row per message; recipients joined by ", "."""
    frame = pd.DataFrame(rows, columns=["queue", "directory", "id", "flag", "size", "time",
                                        "sender", "reason", "recipients"])
    frame["recipients"] = frame["recipients"].map(", ".join)
    return frame
