"""sendmail's address test mode (``sendmail -bt``) in the lab's mailserver, many probes in one process.

Usage::

    route_table(lab, ["foo@somedom.com", "x@hosta.private.lan", "root"])
    mailers(lab)                         # =M as a DataFrame
    mailer_lines(lab)                    # {"esmtp": "mailer 5 (esmtp): ... A=TCP $h", "relay": ...}
    lookup(lab, "mailertable", ".lan")   # {"found": True, "value": "esmtp:[.lan]", ...}
    class_members(lab, "w")              # ["[10.213.0.10]", "localhost", "mailserver", ...]
    try_mailer(lab, "relay", "root@mailserver.private.lan", flags="ES")

Every script line is validated first, so an address cannot smuggle in a second
command (no line breaks, printable ASCII only).
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from .errors import ConfigError, NotSo
from .sendmail.parsers import bt as bt_parser
from .sendmail.validate import check_address, check_text

ROLE = "mailserver"
_MAP_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_CLASS_NAME = re.compile(r"[A-Za-z]|\{[A-Za-z_]{1,32}\}")
_FLAGS = re.compile(r"[HESR]{1,4}", re.IGNORECASE)


def run_bt(lab, commands: list[str], *, debug: str | None = None) -> list[dict]:
    """Feed ``commands`` to one ``sendmail -bt``; one parsed result per command.

    ``debug`` adds sendmail's ``-dX.Y`` (``60.5`` shows every map lookup).
    """
    for command in commands:
        check_text("sendmail -bt command", command)
    if debug is not None and not re.fullmatch(r"\d{1,2}\.\d{1,2}", debug):
        raise ConfigError("debug", f"{debug!r} is not a sendmail debug flag like 60.5")
    argv = ["sendmail", "-bt"] + ([f"-d{debug}"] if debug else [])
    result = lab.exec(ROLE, argv, stdin="".join(c + "\n" for c in commands))
    # No result.check(): -bt exits non-zero whenever an address resolves to the
    # error mailer (64 for a bad route address, 68 for an error: mailertable row),
    # and still answers every command. What counts is one answer per command.
    rows = bt_parser.parse(result.stdout)
    if len(rows) != len(commands):
        raise NotSo(f"sendmail -bt answered {len(rows)} of {len(commands)} commands",
                    details=result.output)
    return rows


def route_table(lab, addresses: Iterable[str]) -> pd.DataFrame:
    """Route every address with ``/parse`` in ONE ``sendmail -bt -d60.5`` process.

    Columns: address, mailer, host, user, key (the mailertable key that matched,
    as sendmail's own map lookups show it; None for local names, address literals
    and when nothing matched), lookups (every map lookup the address caused, e.g.
    ``host`` for the canonification, then ``mailertable`` from the full host down
    to ``.``) and trace (the ruleset trace).
    """
    addresses = [check_address("address", a) for a in addresses]
    rows = run_bt(lab, [f"/parse {a}" for a in addresses], debug="60.5")
    table = []
    for address, parse in zip(addresses, rows):
        hits = [l["key"] for l in parse["lookups"] if l["map"] == "mailertable" and l["result"]]
        table.append({"address": address, "mailer": parse["mailer"], "host": parse["host"],
                      "user": parse["user"], "key": hits[0] if hits else None,
                      "lookups": parse["lookups"], "trace": parse["trace"]})
    return pd.DataFrame(table, columns=["address", "mailer", "host", "user", "key", "lookups", "trace"],
                        dtype=object)


def mailers(lab) -> pd.DataFrame:
    """The mailer definitions (``=M``), one row per mailer, columns number, name, P, ... A."""
    return bt_parser.mailers_frame(run_bt(lab, ["=M"]))


def mailer_lines(lab, names: Iterable[str] = ("esmtp", "relay")) -> dict[str, str]:
    """The ``=M`` line of each named mailer, e.g. to show that RELAY_MAILER_ARGS changed only relay."""
    frame = mailers(lab)
    out = {}
    for name in names:
        row = frame[frame["name"] == name]
        if row.empty:
            raise ConfigError("mailer", f"{name!r} is not defined in sendmail.cf")
        rec = row.iloc[0]
        fields = " ".join(f"{k}={rec[k]}" for k in frame.columns[2:] if isinstance(rec[k], str))
        out[name] = f"mailer {rec['number']} ({name}): {fields}"
    return out


def lookup(lab, map_name: str, key: str) -> dict:
    """``/map MAP KEY``: ``{"map", "key", "found", "value", "error"}``."""
    if not isinstance(map_name, str) or not _MAP_NAME.fullmatch(map_name):
        raise ConfigError("map", f"{map_name!r} is not a map name")
    key = check_text("map key", key)
    if " " in key:
        raise ConfigError("map key", f"{key!r}: -bt reads the key up to the first space")
    return run_bt(lab, [f"/map {map_name} {key}"])[0]


def class_members(lab, name: str) -> list[str]:
    """Members of class ``$=name`` (``w`` = the names sendmail treats as itself), sorted."""
    if not isinstance(name, str) or not _CLASS_NAME.fullmatch(name):
        raise ConfigError("class", f"{name!r} is not a class name (one letter or {{name}})")
    return sorted(run_bt(lab, [f"$={name}"])[0]["members"])


def try_mailer(lab, mailer: str, address: str, *, flags: str | None = None) -> dict:
    """``/try MAILER ADDRESS`` (after ``/tryflags FLAGS``, e.g. ``ES`` = envelope sender)."""
    if not isinstance(mailer, str) or not _MAP_NAME.fullmatch(mailer):
        raise ConfigError("mailer", f"{mailer!r} is not a mailer name")
    address = check_address("address", address)
    commands = [f"/try {mailer} {address}"]
    if flags is not None:
        if not isinstance(flags, str) or not _FLAGS.fullmatch(flags):
            raise ConfigError("flags", f"{flags!r}: use letters from H, E (header/envelope) "
                              "and S, R (sender/recipient)")
        commands.insert(0, f"/tryflags {flags}")
    return run_bt(lab, commands)[-1]
