"""mailertable and authinfo as tables: DataFrame in, map source text out, and back.

Usage::

    mt = mailertable_frame([(".darknet.lan", "esmtp", "[mailhost.private.lan]"),
                            (".lan", "esmtp", "[%1.lan]"),
                            (".", "relay", "[relayhost.somedom.com]")])
    text = render_mailertable(mt)            # the /etc/mail/mailertable source
    configure.install_mailertable(lab, mt)   # labenv.configure writes it and runs makemap

    auth = AuthInfo("relayhost.somedom.com", I="user_name", P="password", M="PLAIN LOGIN")
    auth                                     # AuthInfo(... P='********' ...) -- masked
    render_authinfo([auth])                  # the real file text, password included

Authinfo fields are written ``"X:value"``; a value sendmail's parser cannot carry
that way (a double quote, a backslash, non-ASCII) is written base64 as ``"X=..."``.
Live check on sendmail 8.17: ``"P:pass word"`` keeps the space, ``"P:pa\\"ss"``
keeps the backslash and quote literally, unquoted fields make authinfo fail.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field, fields

import pandas as pd

from labenv.errors import ConfigError
from labenv.sendmail.secrets import MASK
from labenv.sendmail.validate import check_hostname, check_mailer, check_text

MAILERTABLE_COLUMNS = ["key", "mailer", "host"]
AUTHINFO_COLUMNS = ["server", "U", "I", "P", "R", "M"]
_DSN = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
_PERCENT = re.compile(r"%[0-9]")


# ---------------------------------------------------------------- mailertable

def check_mailertable_key(value: object) -> str:
    """LHS: a full host name, ``.domain`` (matches hosts below it) or ``.`` (everything)."""
    text = check_text("mailertable key", value)
    if text == ".":
        return text
    name = text[1:] if text.startswith(".") else text
    check_hostname("mailertable key", name)
    return text


def check_mailertable_value(mailer: object, host: object) -> str:
    """RHS ``mailer:host``; host may be ``[bracketed]``, use ``%0``..``%9``, or be ``user@host``.

    ``error:`` takes ``D.S.N:message`` or a message; ``local:`` an optional user.
    Returns the RHS text.
    """
    mailer = check_mailer("mailertable mailer", mailer, allow_error=True)
    host = check_text("mailertable host", host, allow_empty=mailer == "local")
    if any(c.isspace() for c in host) and mailer != "error":
        raise ConfigError("mailertable host", f"{host!r}: spaces are not allowed")
    if mailer == "error":
        dsn, sep, message = host.partition(":")
        if sep and _DSN.fullmatch(dsn) and not message.strip():
            raise ConfigError("mailertable host", "error: needs a message after the DSN code")
    elif mailer != "local":
        target = host.rpartition("@")[2]
        check_hostname("mailertable host", _PERCENT.sub("x", target), brackets=True,
                       ip_literal=True)
    return f"{mailer}:{host}"


def mailertable_frame(rows: object = ()) -> pd.DataFrame:
    """A validated mailertable DataFrame (columns key, mailer, host) from rows or a DataFrame."""
    frame = pd.DataFrame(rows, columns=MAILERTABLE_COLUMNS) if not isinstance(
        rows, pd.DataFrame) else rows.loc[:, MAILERTABLE_COLUMNS].copy()
    seen: set[str] = set()
    for key, mailer, host in frame.itertuples(index=False):
        check_mailertable_key(key)
        check_mailertable_value(mailer, host)
        if key.lower() in seen:
            raise ConfigError("mailertable key", f"{key!r} appears twice")
        seen.add(key.lower())
    return frame.reset_index(drop=True)


def render_mailertable(frame: pd.DataFrame) -> str:
    """The mailertable source file text (validated)."""
    frame = mailertable_frame(frame)
    width = max([len(k) for k in frame["key"]] + [0]) + 2
    return "".join(f"{key:<{width}}{mailer}:{host}\n"
                   for key, mailer, host in frame.itertuples(index=False))


def parse_mailertable(text: str) -> pd.DataFrame:
    """The mailertable source file text as a DataFrame (comments and blank lines skipped)."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split(None, 1)
        if len(parts) != 2 or ":" not in parts[1]:
            raise ConfigError("mailertable", f"line {number}: expected 'KEY mailer:host', got {line!r}")
        mailer, _, host = parts[1].strip().partition(":")
        rows.append((parts[0], mailer, host))
    return mailertable_frame(rows)


# ---------------------------------------------------------------- authinfo

@dataclass(frozen=True)
class AuthInfo:
    """One ``AuthInfo:`` entry. ``server`` is the host name or address ("" = default entry).

    U authorization id, I authentication id, P password, R realm, M mechanisms.
    The password never appears in repr/str; :func:`render_authinfo` writes it.
    """

    server: str
    I: str
    P: str = field(repr=False)
    U: str | None = None
    R: str | None = None
    M: str | None = None

    def __post_init__(self) -> None:
        if self.server != "":
            check_hostname("AuthInfo server", self.server, ip_literal=True)
        for name in ("U", "I", "P", "R", "M"):
            value = getattr(self, name)
            if value is None and name in ("U", "R", "M"):
                continue
            if not isinstance(value, str) or not value:
                raise ConfigError(f"AuthInfo {name}", "must not be empty")
            if "\0" in value or "\n" in value or "\r" in value:
                raise ConfigError(f"AuthInfo {name}", "must not contain NUL or a line break "
                                  "(sendmail cannot send it)")
            if len(value) > 256:
                raise ConfigError(f"AuthInfo {name}", "is longer than 256 characters")
        if self.M is not None and not re.fullmatch(r"[A-Z0-9_-]+( [A-Z0-9_-]+)*", self.M):
            raise ConfigError("AuthInfo M", f"{self.M!r}: mechanism names separated by single spaces")

    @property
    def key(self) -> str:
        return f"AuthInfo:{self.server}"

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={MASK if f.name == 'P' else getattr(self, f.name)!r}"
                          for f in fields(self) if getattr(self, f.name) is not None)
        return f"AuthInfo({shown})"

    __str__ = __repr__

    def masked(self) -> dict:
        """The entry as a row with the password masked."""
        return {name: (MASK if name == "P" else getattr(self, name)) for name in AUTHINFO_COLUMNS}


def _needs_base64(value: str) -> bool:
    return any(c in '"\\' or not c.isascii() or not c.isprintable() for c in value)


def _render_field(name: str, value: str) -> str:
    if _needs_base64(value):
        return f'"{name}={base64.b64encode(value.encode("utf-8")).decode("ascii")}"'
    return f'"{name}:{value}"'


def render_authinfo(entries: list[AuthInfo]) -> str:
    """The client-info source file text -- this one contains the passwords."""
    lines = []
    for entry in entries:
        parts = [entry.key] + [_render_field(n, getattr(entry, n)) for n in ("U", "I", "P", "R", "M")
                               if getattr(entry, n) is not None]
        lines.append(" ".join(parts) + "\n")
    return "".join(lines)


def parse_authinfo(text: str) -> list[AuthInfo]:
    """Entries from a client-info source file; ``"X=base64"`` fields are decoded."""
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"line {number}"
        key, _, rest = line.strip().partition(" ")
        if not key.startswith("AuthInfo:"):
            raise ConfigError("authinfo", f"{where}: key must start with 'AuthInfo:'")
        values: dict[str, str] = {}
        for token in re.findall(r'"([^"]*)"|(\S+)', rest):
            quoted, bare = token
            if bare:
                raise ConfigError("authinfo", f"{where}: field {bare!r} is not in double quotes "
                                  "(sendmail then ignores the entry)")
            name, sep, value = quoted[:1], quoted[1:2], quoted[2:]
            if name not in AUTHINFO_COLUMNS[1:] or sep not in (":", "="):
                raise ConfigError("authinfo", f"{where}: {quoted!r} is not U/I/P/R/M followed by : or =")
            decoded = decode_field(sep, value)
            if decoded is None:
                raise ConfigError("authinfo", f"{where}: field {name} is not valid base64")
            values[name] = decoded
        if "I" not in values or "P" not in values:
            raise ConfigError("authinfo", f"{where}: needs at least I and P")
        entries.append(AuthInfo(server=key[len("AuthInfo:"):], **values))
    return entries


def decode_field(sep: str, value: str, *, lenient: bool = False) -> str | None:
    """An AuthInfo field's value: as written after ``X:``, base64-decoded after ``X=``.

    None when a ``X=`` value is not base64, or (unless ``lenient``) not UTF-8 text;
    ``lenient`` replaces bytes that are not UTF-8, as sendmail sends them anyway.
    """
    if sep == ":":
        return value
    try:
        return base64.b64decode(value, validate=True).decode("utf-8", "replace" if lenient else "strict")
    except (binascii.Error, ValueError):
        return None


def field_of(value: str | None, name: str) -> str | None:
    """Field ``name`` of an authinfo line or map value, read leniently as sendmail reads it.

    >>> field_of('"I:user_name" "P:secret" "M:PLAIN LOGIN"', "M")
    'PLAIN LOGIN'
    >>> field_of('"I:user_name" "M=UExBSU4="', "M"), field_of('"I:x"', "M")
    ('PLAIN', None)
    """
    match = re.search(rf'"{name}([:=])([^"]*)"', value or "")
    return decode_field(match.group(1), match.group(2), lenient=True) if match else None


def authinfo_frame(entries: list[AuthInfo]) -> pd.DataFrame:
    """Entries as a DataFrame for display: the password column is masked."""
    return pd.DataFrame([e.masked() for e in entries], columns=AUTHINFO_COLUMNS)


def authinfo_from_frame(frame: pd.DataFrame) -> list[AuthInfo]:
    """Entries from a DataFrame with columns server, U, I, P, R, M (NaN/None/"" = absent)."""
    entries = []
    for row in frame.to_dict("records"):
        values = {k: (None if v is None or (isinstance(v, float) and pd.isna(v)) or
                      (v == "" and k in "URM") else v)
                  for k, v in row.items() if k in AUTHINFO_COLUMNS}
        entries.append(AuthInfo(**values))
    return entries
