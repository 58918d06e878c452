"""Debian's sendmail.mc as a model: read the howto's knobs, set or clear them, render, diff.

The file is kept line for line, so ``SendmailMc.parse(text).text == text``. Knobs
set through :meth:`SendmailMc.with_config` live in one marked block placed right
above ``MAILER_DEFINITIONS`` (sendmail ignores ``define``s after ``MAILER()`` and
refuses ``FEATURE()`` there)::

    >>> mc = SendmailMc.parse(open("tests/fixtures/sendmail.mc--default-bookworm").read())
    >>> new = mc.with_config(RelayConfig(relay_port=587, mailertable=True))
    >>> print(new.diff(context=0))   # unified diff against the file as read
    --- a/sendmail.mc
    +++ b/sendmail.mc
    @@ -100,0 +101,4 @@
    +dnl # BEGIN relay settings
    +define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl
    +FEATURE(`mailertable')dnl
    +dnl # END relay settings
    <BLANKLINE>
    >>> new.config().relay_port
    587
"""
from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass

from labenv.errors import ConfigError
from labenv.sendmail.paths import AUTHINFO_DB, STARTTLS_M4
from labenv.sendmail.validate import check_domain, check_hostname, check_m4_safe, check_mailer, check_port

#: sendmail ignores a define after MAILER() and m4 refuses a FEATURE there, so every
#: knob line goes into one marked block right above this line.
ANCHOR = "MAILER_DEFINITIONS"
BLOCK_BEGIN = "dnl # BEGIN relay settings\n"
BLOCK_END = "dnl # END relay settings\n"

_Q = r"\s*`([^`']*)'\s*"          # one m4-quoted argument, captured
_TAIL = r"\)\s*(?:dnl\b.*)?$"


def _define(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\s*define\(\s*`{name}'\s*,{_Q}{_TAIL}")


_PATTERNS: dict[str, re.Pattern[str]] = {
    "starttls": re.compile(rf"^\s*include\(\s*`{re.escape(STARTTLS_M4)}'\s*{_TAIL}"),
    "relay_mailer": _define("RELAY_MAILER"),
    "relay_port": _define("RELAY_MAILER_ARGS"),
    "smart_host": _define("SMART_HOST"),
    "mailertable": re.compile(rf"^\s*FEATURE\(\s*`mailertable'\s*(?:,{_Q})?{_TAIL}"),
    "masquerade_as": re.compile(rf"^\s*MASQUERADE_AS\({_Q}{_TAIL}"),
    "masquerade_envelope": re.compile(rf"^\s*FEATURE\(\s*`masquerade_envelope'\s*{_TAIL}"),
    "authinfo": re.compile(rf"^\s*FEATURE\(\s*`authinfo'\s*(?:,{_Q})?{_TAIL}"),
    "auth_mechanisms": _define("confAUTH_MECHANISMS"),
}
_RELAY_ARGS = re.compile(r"^TCP \$h(?: (\d+))?$")


@dataclass(frozen=True)
class RelayConfig:
    """The howto's sendmail.mc knobs; ``None``/``False`` means the line is absent.

    Values are validated on construction (a ``ConfigError`` names the field).

    - ``relay_port``: ``define(`RELAY_MAILER_ARGS',`TCP $h PORT')`` (changes the *relay* mailer only)
    - ``relay_mailer``: ``define(`RELAY_MAILER',`esmtp')`` -- representable, but no cf macro reads it
    - ``smart_host``: ``define(`SMART_HOST',`[mailer:]host')``, host may be ``[bracketed]``
    - ``mailertable``: ``FEATURE(`mailertable')``
    - ``authinfo``: ``FEATURE(`authinfo',`hash /etc/mail/auth/client-info.db')``
    - ``starttls``: ``include(`/etc/mail/tls/starttls.m4')``
    - ``masquerade_as``: ``MASQUERADE_AS(`domain')``
    - ``masquerade_envelope``: ``FEATURE(`masquerade_envelope')``
    - ``auth_mechanisms``: ``define(`confAUTH_MECHANISMS',`PLAIN LOGIN')``
    """

    starttls: bool = False
    relay_mailer: str | None = None
    relay_port: int | None = None
    smart_host: str | None = None
    mailertable: bool = False
    masquerade_as: str | None = None
    masquerade_envelope: bool = False
    authinfo: bool = False
    auth_mechanisms: str | None = None

    def __post_init__(self) -> None:
        for name in ("starttls", "mailertable", "masquerade_envelope", "authinfo"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, "must be True or False")
        if self.relay_mailer is not None:
            check_mailer("relay_mailer", self.relay_mailer)
        if self.relay_port is not None:
            object.__setattr__(self, "relay_port", check_port("relay_port", self.relay_port))
        if self.smart_host is not None:
            check_smart_host(self.smart_host)
        if self.masquerade_as is not None:
            check_domain("masquerade_as", self.masquerade_as)
            check_m4_safe("masquerade_as", self.masquerade_as)
        if self.auth_mechanisms is not None:
            check_m4_safe("auth_mechanisms", self.auth_mechanisms)
            for mech in self.auth_mechanisms.split(" "):
                if not re.fullmatch(r"[A-Z0-9_-]{1,20}", mech):
                    raise ConfigError("auth_mechanisms", f"{mech!r} is not a SASL mechanism name "
                                      "(upper-case letters, digits, - and _, separated by one space)")

    def replace(self, **changes: object) -> RelayConfig:
        """A copy with some knobs changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def lines(self) -> list[str]:
        """The sendmail.mc lines for the knobs that are set, in the howto's order."""
        out = []
        if self.starttls:
            out.append(f"include(`{STARTTLS_M4}')dnl")
        if self.relay_mailer is not None:
            out.append(f"define(`RELAY_MAILER',`{self.relay_mailer}')dnl")
        if self.relay_port is not None:
            out.append(f"define(`RELAY_MAILER_ARGS',`TCP $h {self.relay_port}')dnl")
        if self.smart_host is not None:
            out.append(f"define(`SMART_HOST',`{self.smart_host}')dnl")
        if self.mailertable:
            out.append("FEATURE(`mailertable')dnl")
        if self.masquerade_as is not None:
            out.append(f"MASQUERADE_AS(`{self.masquerade_as}')dnl")
        if self.masquerade_envelope:
            out.append("FEATURE(`masquerade_envelope')dnl")
        if self.authinfo:
            out.append(f"FEATURE(`authinfo',`hash {AUTHINFO_DB}')dnl")
        if self.auth_mechanisms is not None:
            out.append(f"define(`confAUTH_MECHANISMS',`{self.auth_mechanisms}')dnl")
        return out


def check_smart_host(value: object, field: str = "smart_host") -> str:
    """``[mailer:]host`` where host may be ``[bracketed]``, e.g. ``relay:[relayhost.somedom.com]``."""
    text = check_m4_safe(field, value)
    mailer, sep, host = text.rpartition(":")
    if sep:
        check_mailer(field, mailer)
    check_hostname(field, host, brackets=True, ip_literal=True)
    return text


def _is_active(line: str) -> bool:
    return not line.lstrip().startswith("dnl")


class SendmailMc:
    """An immutable sendmail.mc: the original text plus the current lines."""

    def __init__(self, lines: list[str], original: str) -> None:
        self._lines = tuple(lines)
        self.original = original

    @classmethod
    def parse(cls, text: str) -> SendmailMc:
        """Read sendmail.mc text; refuses text without a ``MAILER_DEFINITIONS`` line."""
        if not isinstance(text, str):
            raise ConfigError("sendmail.mc", "must be text")
        lines = text.splitlines(keepends=True)
        if not any(line.strip() == ANCHOR for line in lines):
            raise ConfigError("sendmail.mc", f"no {ANCHOR} line: not a Debian sendmail.mc")
        return cls(lines, text)

    @property
    def text(self) -> str:
        """The file as it would be written."""
        return "".join(self._lines)

    @property
    def lines(self) -> tuple[str, ...]:
        return self._lines

    def _anchor_index(self) -> int:
        return next(i for i, line in enumerate(self._lines) if line.strip() == ANCHOR)

    def _knob_hits(self) -> list[tuple[int, str, re.Match[str]]]:
        hits = []
        for i, line in enumerate(self._lines):
            if not _is_active(line):
                continue
            for knob, pattern in _PATTERNS.items():
                match = pattern.match(line.rstrip("\n"))
                if match:
                    hits.append((i, knob, match))
        return hits

    def config(self) -> RelayConfig:
        """The knobs as the file sets them (anywhere in the file; a later line wins, as in m4)."""
        values: dict[str, object] = {}
        for _, knob, match in self._knob_hits():
            if knob in ("starttls", "mailertable", "masquerade_envelope", "authinfo"):
                values[knob] = True
            elif knob == "relay_port":
                args = _RELAY_ARGS.match(match.group(1))
                values[knob] = int(args.group(1)) if args and args.group(1) else None
            else:
                values[knob] = match.group(1)
        return RelayConfig(**values)

    def problems(self) -> list[str]:
        """Knob lines sendmail will not honour where they stand (after MAILER_DEFINITIONS)."""
        anchor = self._anchor_index()
        out = []
        for i, _knob, _ in self._knob_hits():
            if i > anchor:
                out.append(f"line {i + 1}: {self._lines[i].strip()} comes after {ANCHOR}; "
                           "sendmail ignores a define there and m4 refuses a FEATURE there")
        for _, knob, match in self._knob_hits():
            if knob == "relay_port" and not _RELAY_ARGS.match(match.group(1)):
                out.append(f"RELAY_MAILER_ARGS is {match.group(1)!r}, not 'TCP $h PORT'")
        return out

    def with_config(self, config: RelayConfig) -> SendmailMc:
        """A new model with exactly ``config``'s knob lines in the marked block.

        Knob lines found elsewhere in the file are removed (they would fight the
        block); everything else is kept. Applying the same config twice changes nothing.
        """
        knob_lines = {i for i, _, _ in self._knob_hits()}
        kept: list[str] = []
        in_block = False
        for i, line in enumerate(self._lines):
            if line == BLOCK_BEGIN:
                in_block = True
            elif line == BLOCK_END:
                in_block = False
            elif not in_block and i not in knob_lines:
                kept.append(line)
        block = [line + "\n" for line in config.lines()]
        if block:
            block = [BLOCK_BEGIN, *block, BLOCK_END]
        anchor = next(i for i, line in enumerate(kept) if line.strip() == ANCHOR)
        return SendmailMc(kept[:anchor] + block + kept[anchor:], self.original)

    def diff(self, against: str | None = None, *, context: int = 3) -> str:
        """Unified diff from ``against`` (default: the text this model was parsed from)."""
        before = (self.original if against is None else against).splitlines(keepends=True)
        return "".join(difflib.unified_diff(before, list(self._lines), "a/sendmail.mc",
                                            "b/sendmail.mc", n=context))

    def __repr__(self) -> str:
        return f"SendmailMc({len(self._lines)} lines, {self.config()!r})"
