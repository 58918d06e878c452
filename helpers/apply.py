"""Install a new sendmail.mc in the lab: write, Debian's `make`, reload, or roll back.

Usage::

    new = SendmailMc.parse(read_mc(lab)).with_config(RelayConfig(relay_port=587, mailertable=True))
    result = apply_mc(lab, new.text)     # raises ApplyError, and the lab keeps its old config
    print(result.make_output)

The work is done by labenv (`Lab.apply_files` and the image's `lab-apply`): /etc/mail
is archived, the file written, `make` run in /etc/mail, and the result checked the
way Debian's make does not check it -- its exit code is 0 even when m4 reported
errors (they land in sendmail.cf.errors) or a map failed to build. On any error
/etc/mail is restored and the running sendmail keeps its last good configuration;
on success `/etc/init.d/sendmail reload` restarts the daemon on the new sendmail.cf.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from labenv.errors import NotSo

from helpers.mc import SendmailMc
from helpers.validate import ConfigError

ROLE = "mailserver"
MC = "/etc/mail/sendmail.mc"


class ApplyError(RuntimeError):
    """The new configuration was refused; the previous one is back in place."""


@dataclass(frozen=True)
class ApplyResult:
    make_output: str


def read_mc(lab) -> str:
    """The lab's current /etc/mail/sendmail.mc."""
    return lab.exec(ROLE, ["cat", MC]).check().stdout


def make_errors(make_output: str, cf_errors: str = "") -> list[str]:
    """The error lines of a Debian `make` run and of sendmail.cf.errors (pure)."""
    lines = [line for line in cf_errors.splitlines() if line.strip()]
    lines += [line for line in make_output.splitlines()
              if re.match(r"^(makemap|m4|make(\[\d+\])?):|^\*\*\* ERROR", line)
              and line not in lines]
    return lines


def apply_files(lab, files: dict[str, str], *, modes: dict[str, int] | None = None,
                reload: bool = True) -> ApplyResult:
    """Install `files` (path -> text) on the mailserver and rebuild; all or nothing."""
    try:
        return ApplyResult(lab.apply_files(files, modes=modes, reload=reload))
    except NotSo as error:
        text = str(error)
        detail = "\n".join(make_errors(text)) or text
        raise ApplyError(f"{text.splitlines()[0]}\n{detail}") from None


def apply_mc(lab, new_text: str) -> ApplyResult:
    """Write `new_text` as sendmail.mc, rebuild with `make`, reload; refused text changes nothing."""
    if not isinstance(new_text, str) or "\0" in new_text or not new_text.strip():
        raise ConfigError("sendmail.mc", "refusing to write empty or binary text")
    SendmailMc.parse(new_text)  # a file without MAILER_DEFINITIONS is not one we write
    return apply_files(lab, {MC: new_text})
