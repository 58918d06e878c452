"""Change the mailserver's configuration: every write goes through one all-or-nothing apply.

    mc = SendmailMc.parse(read_mc(lab))
    apply_mc(lab, mc.with_config(RelayConfig(relay_port=587)).text)   # Refused keeps the old one
    install_mailertable(lab, mailertable_frame(howto.MAILERTABLE_ROWS))
    install_authinfo(lab, howto.AUTHINFO_ENTRIES["fixed"])
    apply_howto(lab, "fixed")                                       # all of section 3.1

The work is done by `Lab.apply_files` and the image's `lab-apply`: /etc/mail is
archived, the files written, the hash maps among them built, Debian's `make` run,
and the result checked the way Debian's make does not check it (its exit code is 0
even when m4 reported errors or a map failed). On any error /etc/mail is restored,
sendmail keeps its last good configuration, and ``Refused`` says why.
"""
from __future__ import annotations

import pandas as pd

from .errors import ConfigError
from .sendmail import howto
from .sendmail.maps import AuthInfo, render_authinfo, render_mailertable
from .sendmail.mc import RelayConfig, SendmailMc
from .sendmail.paths import AUTH_DIR, AUTHINFO, MAILERTABLE, MC

ROLE = "mailserver"


def read_mc(lab) -> SendmailMc:
    """The lab's current /etc/mail/sendmail.mc as a model."""
    return SendmailMc.parse(lab.read_file(ROLE, MC))


def apply_mc(lab, new_text: str) -> str:
    """Write ``new_text`` as sendmail.mc, make, reload; returns make's output."""
    if not isinstance(new_text, str) or "\0" in new_text or not new_text.strip():
        raise ConfigError("sendmail.mc", "refusing to write empty or binary text")
    SendmailMc.parse(new_text)  # a file without MAILER_DEFINITIONS is not one we write
    return lab.apply_files({MC: new_text})


def apply_config(lab, config: RelayConfig) -> str | None:
    """Put exactly ``config``'s knobs in sendmail.mc and apply; None when nothing changes."""
    current = read_mc(lab)
    new = current.with_config(config)
    return apply_mc(lab, new.text) if new.text != current.text else None


def set_knobs(lab, **knobs) -> str | None:
    """Change some sendmail.mc knobs, keep the others, and apply (None if nothing changes)."""
    return apply_config(lab, read_mc(lab).config().replace(**knobs))


def install_mailertable(lab, frame: pd.DataFrame) -> str:
    """Write /etc/mail/mailertable from ``frame``, build mailertable.db; returns the text.

    sendmail re-reads a hash map when its file changes: no reload needed.
    """
    text = render_mailertable(frame)
    lab.apply_files({MAILERTABLE: text}, reload=False)
    return text


def install_authinfo(lab, entries: list[AuthInfo]) -> None:
    """Create /etc/mail/auth (700), write client-info (600) and build client-info.db (600)."""
    text = render_authinfo(entries)
    lab.exec(ROLE, ["install", "-d", "-m", "700", AUTH_DIR]).check()
    lab.apply_files({AUTHINFO: text}, modes={AUTHINFO: 0o600}, reload=False)


def auth_permission_problems(lab) -> list[str]:
    """What leaves the credentials readable: /etc/mail/auth missing or not 700, files others read."""
    result = lab.exec(ROLE, ["stat", "-c", "%a", AUTH_DIR])
    if result.exit_code != 0:
        return [f"{AUTH_DIR} does not exist"]
    problems = []
    mode = result.stdout.strip()
    if int(mode, 8) & 0o777 != 0o700:      # /etc/mail is setgid, so 2700 is fine
        problems.append(f"{AUTH_DIR} has mode {mode}, should be 700")
    files = lab.exec(ROLE, ["find", AUTH_DIR, "-type", "f", "-printf", "%m %p\\n"])
    for line in files.stdout.splitlines():
        mode, _, path = line.partition(" ")
        if int(mode, 8) & 0o004:
            problems.append(f"{path} is readable by every user (mode {mode})")
    return problems


def apply_howto(lab, variant: str = "fixed") -> str:
    """The howto's section 3.1 in the lab: sendmail.mc, mailertable, client-info; make's output."""
    howto.check_variant(variant)
    files = howto.files(variant, lab.read_file(ROLE, MC))
    # The howto: mkdir /etc/mail/auth; chmod 700 (Debian ships no such directory).
    lab.exec(ROLE, ["install", "-d", "-m", "700", AUTH_DIR]).check()
    return lab.apply_files(files, modes={AUTHINFO: 0o600})
