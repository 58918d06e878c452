"""Validation of every value that ends up in sendmail.mc, a map file or a ``-bt`` script.

Each check either returns the (normalised) value or raises :class:`ConfigError`,
whose ``str()`` is one line naming the field and the reason::

    >>> check_port("RELAY_MAILER_ARGS port", "25x")
    Traceback (most recent call last):
    ...
    labenv.errors.ConfigError: RELAY_MAILER_ARGS port: '25x' is not a whole number (1..65535)
"""
from __future__ import annotations

import ipaddress
import re

from labenv.errors import ConfigError

MAX_HOSTNAME = 253
MAX_TEXT = 256

#: Mailers Debian's sendmail.mc defines (MAILER(local) and MAILER(smtp)) plus the
#: pseudo-mailer ``error`` that mailertable and SMART_HOST values may name.
KNOWN_MAILERS = ("local", "prog", "smtp", "esmtp", "smtp8", "dsmtp", "relay")
ERROR_MAILER = "error"

#: GNU m4's builtin macros: a word among them inside a sendmail.mc argument is
#: expanded (``x.divnum`` became ``x.0`` in sendmail.cf, ``x.undivert`` ``x.``).
M4_BUILTINS = frozenset(
    ["builtin", "changecom", "changequote", "changeword", "debugfile", "debugmode", "decr", "define", "defn", "divert", "divnum", "dnl", "dumpdef", "errprint", "esyscmd", "eval", "format", "ifdef", "ifelse", "include", "incr", "index", "indir", "len", "m4exit", "m4wrap", "maketemp", "mkstemp", "patsubst", "popdef", "pushdef", "regexp", "shift", "sinclude", "substr", "syscmd", "sysval", "traceoff", "traceon", "translit", "undefine", "undivert"])
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_M4_HAZARDS = {"`": "a backquote", "'": "a single quote", ",": "a comma",
               "(": "a parenthesis", ")": "a parenthesis", "$": "a dollar sign",
               "#": "a hash sign"}


def check_text(field: str, value: object, *, max_len: int = MAX_TEXT,
               allow_empty: bool = False) -> str:
    """A printable ASCII string (spaces allowed) without newlines, NUL or control characters."""
    if not isinstance(value, str):
        raise ConfigError(field, f"must be text, not {type(value).__name__}")
    if not value and not allow_empty:
        raise ConfigError(field, "must not be empty")
    if len(value) > max_len:
        raise ConfigError(field, f"is {len(value)} characters long (at most {max_len})")
    for ch in value:
        if ch == "\n" or ch == "\r":
            raise ConfigError(field, "must not contain a line break")
        if ch == "\0":
            raise ConfigError(field, "must not contain a NUL character")
        if not ch.isascii():
            raise ConfigError(field, f"must be ASCII (found {ch!r})")
        if not ch.isprintable():
            raise ConfigError(field, f"must not contain control character {ch!r}")
    return value


def check_m4_safe(field: str, value: object) -> str:
    """Text that can stand inside m4 quotes in sendmail.mc without changing its meaning."""
    text = check_text(field, value)
    for ch, what in _M4_HAZARDS.items():
        if ch in text:
            raise ConfigError(field, f"must not contain {what} ({ch}): m4 would read it as syntax")
    if re.search(r"dnl", text, re.IGNORECASE):
        raise ConfigError(field, "must not contain 'dnl': m4 would delete the rest of the line")
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text):
        if word in M4_BUILTINS:
            raise ConfigError(field, f"must not contain the word {word!r}: it is an m4 macro, "
                              "and m4 would replace it in sendmail.cf")
    return text


def check_hostname(field: str, value: object, *, brackets: bool = False,
                   ip_literal: bool = False) -> str:
    """A DNS host name (letters, digits, hyphens, dot-separated labels).

    ``brackets=True`` also accepts ``[host]`` (sendmail: no MX lookup);
    ``ip_literal=True`` accepts an IPv4 address inside the brackets.
    """
    text = check_text(field, value, max_len=MAX_HOSTNAME + 2)
    inner = text
    if text.startswith("[") or text.endswith("]"):
        if not brackets:
            raise ConfigError(field, f"{text!r}: square brackets are not allowed here")
        if not (text.startswith("[") and text.endswith("]")):
            raise ConfigError(field, f"{text!r}: unbalanced square brackets")
        inner = text[1:-1]
        if ip_literal:
            try:
                ipaddress.IPv4Address(inner)
                return text
            except ValueError:
                pass
    _check_labels(field, inner, text)
    return text


def _check_labels(field: str, name: str, shown: str) -> None:
    if not name:
        raise ConfigError(field, f"{shown!r}: the host name is empty")
    if len(name) > MAX_HOSTNAME:
        raise ConfigError(field, f"host name is {len(name)} characters long (at most {MAX_HOSTNAME})")
    for label in name.split("."):
        if not label:
            raise ConfigError(field, f"{shown!r}: empty label (two dots, or a dot at the start or end)")
        if not _LABEL.match(label):
            raise ConfigError(field, f"{shown!r}: label {label!r} may hold only letters, digits "
                                     "and inner hyphens (at most 63)")


def check_domain(field: str, value: object) -> str:
    """A domain name such as ``somedom.com`` (same rules as a host name, no brackets)."""
    return check_hostname(field, value)


def check_port(field: str, value: object) -> int:
    """A TCP port 1..65535 given as an int or a string of digits."""
    if isinstance(value, bool):
        raise ConfigError(field, f"{value!r} is not a port number (1..65535)")
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise ConfigError(field, f"{value!r} is not a whole number (1..65535)")
        value = int(value)
    if not isinstance(value, int):
        raise ConfigError(field, f"{value!r} is not a whole number (1..65535)")
    if not 1 <= value <= 65535:
        raise ConfigError(field, f"{value} is outside 1..65535")
    return value


def check_mailer(field: str, value: object, *, allow_error: bool = False) -> str:
    """One of the mailers Debian's sendmail.cf defines (``error`` if allowed)."""
    text = check_text(field, value, max_len=32)
    known = KNOWN_MAILERS + ((ERROR_MAILER,) if allow_error else ())
    if text not in known:
        raise ConfigError(field, f"unknown mailer {text!r} (known: {', '.join(known)})")
    return text


def check_address(field: str, value: object) -> str:
    """An address to hand to ``sendmail -bt`` on one line: printable ASCII, no line breaks."""
    text = check_text(field, value)
    if text != text.strip():
        raise ConfigError(field, f"{text!r}: leading or trailing spaces")
    return text


_MAIL_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}"
                           r"|[A-Za-z0-9._-]{1,64}")


def check_mail_address(field: str, value: object) -> str:
    """An address to send to or from: ``user@domain`` or a local user name, nothing else."""
    if not isinstance(value, str) or not _MAIL_ADDRESS.fullmatch(value):
        raise ConfigError(field, f"{value!r} is not a mail address (user@domain or a local user)")
    return value
