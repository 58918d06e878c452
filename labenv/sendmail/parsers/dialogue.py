"""Parser for the SMTP dialogue ``sendmail -v`` (or ``sendmail -q -v``) prints.

Usage::

    from labenv.sendmail.parsers import dialogue
    out = lab.exec("mailserver", ["sendmail", "-Am", "-v", "bob@somedom.com"], stdin=msg).output
    dialogue.to_frame(dialogue.parse(out))

Row schema, one row per line::

    {"direction": "client" | "server" | "note",
     "command": "EHLO" | "AUTH" | ... | None,   # client verb, upper-cased
     "code": 250 | None,                       # server reply code
     "last": True | False | None,              # False on "250-" continuation lines
     "text": "..."}                            # the rest of the line

``>>> EHLO mailserver.private.lan`` is a client line, ``250-PIPELINING`` a server
line, and sendmail's own status lines (``bob@somedom.com... Deferred: ...``,
``Connecting to ...``) are notes. Beware: ``AUTH PLAIN <base64>`` carries the
password; :func:`decode_auth_plain` shows what is in it.
"""
from __future__ import annotations

import base64
import binascii
import re

import pandas as pd

_CLIENT = re.compile(r"^>>> ?(.*)$")
_SERVER = re.compile(r"^(\d{3})([ -]?)(.*)$")


def parse(text: str) -> list[dict]:
    """Rows of the dialogue; blank lines are skipped."""
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if match := _CLIENT.match(line):
            body = match.group(1)
            verb = body.split(" ", 1)[0].split(":", 1)[0].upper() if body else ""
            rows.append({"direction": "client", "command": verb or None, "code": None,
                         "last": None, "text": body})
        elif match := _SERVER.match(line):
            rows.append({"direction": "server", "command": None, "code": int(match.group(1)),
                         "last": match.group(2) != "-", "text": match.group(3)})
        else:
            rows.append({"direction": "note", "command": None, "code": None, "last": None,
                         "text": line})
    return rows


def decode_auth_plain(line: str) -> tuple[str, str, str]:
    """``(authzid, authcid, password)`` from an ``AUTH PLAIN <base64>`` line or its base64."""
    token = line.split()[-1]
    try:
        parts = base64.b64decode(token, validate=True).decode("utf-8").split("\0")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"not an AUTH PLAIN response: {exc}") from None
    if len(parts) != 3:
        raise ValueError("AUTH PLAIN response must hold three NUL-separated parts")
    return parts[0], parts[1], parts[2]


def to_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["direction", "command", "code", "last", "text"])
