"""Parser for ``sendmail -bt`` (address test mode) sessions.

Usage::

    from labenv.sendmail.parsers import bt
    out = lab.exec("mailserver", ["sendmail", "-bt"], stdin="/parse foo@somedom.com\\n=M\\n").stdout
    rows = bt.parse(out)          # one row per command, in input order
    bt.to_frame(rows)

``sendmail -bt`` prints a ``> `` prompt before reading each line, so the output
splits into one chunk per input line. Each row has ``kind`` and the fields for it:

- ``parse`` (``/parse ADDR``): ``mailer``, ``host`` (None for local), ``user``,
  ``cracked``, ``trace`` (list of ``{"ruleset", "event", "value"}``; event is
  ``input`` or ``returns``, value the token list as printed) and ``lookups``: with
  ``sendmail -bt -d60.5`` every map lookup the address caused, in order, as
  ``{"map", "key", "args" (%0, %1, %2), "result" (None when NOT FOUND)}`` -- the
  ``host`` lookups show the canonification, the ``mailertable`` ones which key matched
- ``try`` (``/try MAILER ADDR``): ``mailer``, ``address``, ``role`` (``recipient``
  or ``sender``), ``rcode``, ``result`` and ``trace``
- ``mailers`` (``=M``): ``mailers``, list of ``{"number", "name", "P", "S", ... "A"}``
- ``map`` (``/map MAP KEY``): ``map``, ``key``, ``found``, ``value``, ``error``
- ``class`` (``$=w``): ``members``
- ``empty``: a command that prints nothing (``/tryflags ES``)

Example: the howto's mailertable, ``/parse foo@somedom.com`` gives
``{"kind": "parse", "mailer": "relay", "host": "[relayhost.somedom.com]",
"user": "foo@somedom.com", "cracked": "$g", "trace": [...]}`` -- real sendmail
says ``relay`` and ``[relayhost.somedom.com]`` where the howto's transcript shows esmtp.
"""
from __future__ import annotations

import re

import pandas as pd

_TRACE = re.compile(r"^(\S+)\s+(input|returns): ?(.*)$")
_RESULT = re.compile(r"^mailer (\S+?)(?:, host (.*?))?(?:, user (.*))?$")
_MAILER = re.compile(r"^mailer (\d+) \(([^)]*)\): (.*)$")
_MAILER_FIELD = re.compile(r"(?:^| )([A-Za-z])=")
_MAP_HIT = re.compile(r"^map_lookup: (\S+) \((.*)\) returns (.*) \((\d+)\)$")
_MAP_MISS = re.compile(r"^map_lookup: (\S+) \((.*)\) no match \((\d+)\)$")
_MAP_ERROR = re.compile(r'^Map named "(.*)" not found$')
_TRY = re.compile(r"^Trying (?:envelope |header )?(recipient|sender) address (.*) for mailer (\S+)$")
_RCODE = re.compile(r"^Rcode = (-?\d+), addr = (.*)$")
_LOOKUP = re.compile(r"^map_lookup\((\w+), (.*?)((?:, %\d=[^,]*)*)\) => (.*) \(\d+\), ad=\d$")
_LOOKUP_ARG = re.compile(r", %(\d)=([^,]*)")


def split_session(text: str) -> list[str]:
    """The output chunk for each input line (banner and the final prompt dropped)."""
    lines = text.splitlines()
    chunks: list[list[str]] | None = None
    for line in lines:
        if chunks is None:
            if not line.startswith(">"):
                continue            # banner before the first prompt
            chunks = []
        if line.startswith(">"):
            while line.startswith("> ") or line == ">":
                chunks.append([])
                line = line[2:]
            if line:
                chunks[-1].append(line)
        else:
            chunks[-1].append(line)
    if not chunks:
        return []
    return ["\n".join(chunk) for chunk in chunks[:-1]] + (
        ["\n".join(chunks[-1])] if chunks[-1] else [])


def _trace(lines: list[str]) -> list[dict]:
    steps = []
    for line in lines:
        match = _TRACE.match(line)
        if match:
            steps.append({"ruleset": match.group(1), "event": match.group(2),
                          "value": match.group(3)})
    return steps


def _lookups(lines: list[str]) -> list[dict]:
    found = []
    for line in lines:
        match = _LOOKUP.match(line)
        if match:
            name, key, args, result = match.groups()
            found.append({"map": name, "key": key,
                          "args": {f"%{n}": v for n, v in _LOOKUP_ARG.findall(args)},
                          "result": None if result == "NOT FOUND" else result})
    return found


def parse_chunk(chunk: str) -> dict:
    """Parse the output of one ``-bt`` command."""
    lines = chunk.splitlines()
    if not lines:
        return {"kind": "empty"}
    first = lines[0]
    if first.startswith("Cracked address = "):
        result = _RESULT.match(lines[-1]) if lines[-1].startswith("mailer ") else None
        return {"kind": "parse", "cracked": first.split(" = ", 1)[1],
                "mailer": result.group(1) if result else None,
                "host": result.group(2) if result else None,
                "user": result.group(3) if result else None,
                "trace": _trace(lines[1:]), "lookups": _lookups(lines[1:])}
    if _TRY.match(first):
        match = _TRY.match(first)
        rcode = next((_RCODE.match(l) for l in lines if _RCODE.match(l)), None)
        return {"kind": "try", "role": match.group(1), "address": match.group(2),
                "mailer": match.group(3),
                "rcode": int(rcode.group(1)) if rcode else None,
                "result": rcode.group(2) if rcode else None,
                "trace": _trace(lines[1:])}
    if _MAILER.match(first):
        return {"kind": "mailers", "mailers": [_mailer(l) for l in lines if _MAILER.match(l)]}
    for pattern, found in ((_MAP_HIT, True), (_MAP_MISS, False)):
        match = pattern.match(first)
        if match:
            return {"kind": "map", "map": match.group(1), "key": match.group(2), "found": found,
                    "value": match.group(3) if found else None, "error": None}
    match = _MAP_ERROR.match(first)
    if match:
        return {"kind": "map", "map": match.group(1), "key": None, "found": False,
                "value": None, "error": first}
    return {"kind": "class", "members": lines}


def _mailer(line: str) -> dict:
    number, name, rest = _MAILER.match(line).groups()
    row: dict = {"number": int(number), "name": name}
    starts = list(_MAILER_FIELD.finditer(rest))
    for here, after in zip(starts, starts[1:] + [None]):
        end = after.start() if after else len(rest)
        row[here.group(1)] = rest[here.end():end]
    return row


def parse(text: str) -> list[dict]:
    """All command results of one ``sendmail -bt`` session, in order."""
    return [parse_chunk(chunk) for chunk in split_session(text)]


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """``parse`` and ``try`` rows as a table (trace kept as a list column)."""
    return pd.DataFrame(rows)


def mailers_frame(rows: list[dict]) -> pd.DataFrame:
    """The ``=M`` mailer definitions of a session as a table, one row per mailer."""
    mailers = [m for row in rows if row["kind"] == "mailers" for m in row["mailers"]]
    return pd.DataFrame(mailers)
