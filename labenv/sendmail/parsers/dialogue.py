"""Parser for the SMTP dialogue ``sendmail -v`` (or ``sendmail -q -v``) prints.

Usage::

    from labenv.sendmail.parsers import dialogue
    out = lab.exec("mailserver", ["sendmail", "-Am", "-v", "bob@somedom.com"], stdin=msg).output
    dialogue.to_frame(dialogue.parse(out))
    dialogue.steps_from_verbose(out)                   # rows for a sequence diagram
    dialogue.steps_from_session(lab.provider.sessions()[-1])

Row schema of :func:`parse`, one row per line::

    {"direction": "client" | "server" | "note",
     "command": "EHLO" | "AUTH" | ... | None,   # client verb, upper-cased
     "code": 250 | None,                       # server reply code
     "last": True | False | None,              # False on "250-" continuation lines
     "text": "..."}                            # the rest of the line

``>>> EHLO mailserver.private.lan`` is a client line, ``250-PIPELINING`` a server
line, and sendmail's own status lines (``bob@somedom.com... Deferred: ...``,
``Connecting to ...``) are notes. Beware: ``AUTH PLAIN <base64>`` carries the
password; :func:`decode_auth_plain` shows what is in it.

The steps of a sequence diagram, from either source, are ``{"from": "client" |
"server" | "note", "line": ..., "note": None | "..."}``: each line that carries
credentials has a note saying so, and a note row marks where TLS starts.
"""
from __future__ import annotations

import base64
import binascii
import re

import pandas as pd

from labenv.errors import ConfigError
from labenv.sendmail.secrets import mask_dialogue

#: A step of its own after the server's 220 answer to STARTTLS.
TLS_NOTE = "TLS handshake: from here on the connection is encrypted"
#: The notes on lines that carry credentials, one per situation.
AUTH_PLAIN_NOTE = "carries credentials: base64 of authzid\\0user\\0password, trivially decodable"
AUTH_LOGIN_NOTE = "AUTH LOGIN: user name and password follow, each in base64, trivially decodable"
AUTH_START_NOTE = "starts a login: the credentials follow in base64"
AUTH_ANSWER_NOTE = "credentials (base64), decodable"
STEP_COLUMNS = ["from", "line", "note"]

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
        raise ConfigError("AUTH PLAIN", f"not base64 of three NUL-separated parts: {exc}") from None
    if len(parts) != 3:
        raise ConfigError("AUTH PLAIN", "the response must hold three NUL-separated parts")
    return parts[0], parts[1], parts[2]


def to_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["direction", "command", "code", "last", "text"])


def steps_from_session(session: dict) -> list[dict]:
    """Steps of a provider session record (its transcript already hides the credentials)."""
    lines = [("client" if entry["dir"] == "C" else "server", entry["line"])
             for entry in session.get("transcript", []) if entry["dir"] == "C" or entry["line"]]
    return _steps(lines)


def steps_from_verbose(text: str, *, mask_credentials: bool = True) -> list[dict]:
    """Steps of what ``sendmail -v`` printed; credentials masked unless ``mask_credentials=False``.

    Through the MSP, ``sendmail -v`` relays the MTA's dialogue as ``050 `` lines.
    """
    if mask_credentials:
        text = mask_dialogue(text)
    text = "\n".join(line[4:] if line.startswith("050 ") else line for line in text.splitlines())
    return _steps([(row["direction"], _line(row)) for row in parse(text)])


def _line(row: dict) -> str:
    """A parsed row as the line it came from (``250-STARTTLS``, ``EHLO ...``)."""
    if row["direction"] != "server":
        return row["text"]
    separator = "-" if not row["last"] else (" " if row["text"] else "")
    return f"{row['code']}{separator}{row['text']}"


def _steps(lines: list[tuple[str, str]]) -> list[dict]:
    """(from, line) pairs as steps: notes on credentials, a note row where TLS starts."""
    steps: list[dict] = []
    challenged = False      # the server's last line was a 334 challenge
    for who, line in lines:
        note = None
        if who == "client":
            if line.upper().startswith("AUTH "):
                note = _auth_note(line)
            elif challenged:
                note = AUTH_ANSWER_NOTE
        elif who == "server":
            challenged = line.startswith("334")
        previous = steps[-1] if steps else None
        steps.append({"from": who, "line": line, "note": note})
        if (who == "server" and line.startswith("220") and previous and previous["from"] == "client"
                and previous["line"].strip().upper() == "STARTTLS"):
            steps.append({"from": "note", "line": TLS_NOTE, "note": None})
    return steps


def _auth_note(line: str) -> str:
    words = line.split()
    mechanism = words[1].upper() if len(words) > 1 else ""
    if mechanism == "PLAIN" and len(words) > 2:
        return AUTH_PLAIN_NOTE
    if mechanism == "LOGIN":
        return AUTH_LOGIN_NOTE
    return AUTH_START_NOTE
