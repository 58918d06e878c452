"""Install a new sendmail.mc in the lab the careful way: backup, make, check, reload or roll back.

Usage::

    new = SendmailMc.parse(read_mc(lab)).with_config(RelayConfig(relay_port=587, mailertable=True))
    result = apply_mc(lab, new.text)     # raises ApplyError and restores on failure
    print(result.make_output)

Debian's ``make`` in /etc/mail exits 0 and installs sendmail.cf even when m4
reported errors (they land in sendmail.cf.errors), and a failing ``makemap`` does
not fail make either; :func:`apply_mc` checks all three. The running daemon only
reads a new sendmail.cf when it is signalled: :func:`reload` runs Debian's
``/etc/init.d/sendmail reload`` and confirms the daemon restarted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

ROLE = "mailserver"
MC = "/etc/mail/sendmail.mc"
CF_ERRORS = "/etc/mail/sendmail.cf.errors"
PIDFILE = "/run/sendmail/mta/sendmail.pid"
BACKUP = "/var/backups/helpers-etc-mail.tar"


class ApplyError(RuntimeError):
    """The new configuration was refused; the previous one is back in place."""


@dataclass(frozen=True)
class ApplyResult:
    make_output: str
    reload_output: str


def read_mc(lab) -> str:
    """The lab's current /etc/mail/sendmail.mc."""
    result = lab.exec(ROLE, ["cat", MC])
    result.check()
    return result.stdout


def _sh(lab, script: str, stdin: str | None = None):
    return lab.exec(ROLE, ["sh", "-c", script], stdin=stdin)


def make_errors(make_output: str, cf_errors: str) -> list[str]:
    """Error lines from a Debian ``make`` run and sendmail.cf.errors (pure)."""
    lines = [line for line in cf_errors.splitlines() if line.strip()]
    lines += [line for line in make_output.splitlines()
              if re.match(r"^(makemap|m4|make(\[\d+\])?):", line)]
    return lines


def apply_mc(lab, new_text: str) -> ApplyResult:
    """Write ``new_text`` as sendmail.mc, rebuild with ``make``, reload on success.

    Before writing, /etc/mail is archived; if make fails, m4 reports errors or a
    map does not build, the archive is restored (sendmail.mc, sendmail.cf, maps)
    and :class:`ApplyError` carries the error text. The daemon is not signalled
    then, so it keeps its last good configuration.
    """
    if not isinstance(new_text, str) or "\0" in new_text or not new_text.strip():
        raise ApplyError("sendmail.mc: refusing to write empty or binary text")
    _sh(lab, f"tar -C / -cpf {BACKUP} etc/mail").check()
    _sh(lab, f"cat > {MC}", stdin=new_text).check()
    make = _sh(lab, "cd /etc/mail && make 2>&1")
    errors = _sh(lab, f"cat {CF_ERRORS} 2>/dev/null").stdout
    problems = make_errors(make.output, errors)
    if make.exit_code != 0 or problems:
        _sh(lab, f"rm -f {CF_ERRORS} && tar -C / -xpf {BACKUP}").check()
        detail = "\n".join(problems) or make.output.strip()
        raise ApplyError(f"make in /etc/mail failed (exit {make.exit_code}); "
                         f"previous configuration restored:\n{detail}")
    return ApplyResult(make.output, reload(lab))


def _daemon_pid(lab) -> str:
    return _sh(lab, f"head -n 1 {PIDFILE} 2>/dev/null").stdout.strip()


def reload(lab) -> str:
    """``/etc/init.d/sendmail reload``; returns its output, raises if the daemon did not restart.

    sendmail restarts on SIGHUP under a new process id. In a container without
    CAP_SYS_PTRACE, the init script's start-stop-daemon cannot see which program
    the daemon runs, signals nothing and still prints success -- that case is
    reported as an error rather than passed off as a reload.
    """
    before = _daemon_pid(lab)
    result = lab.exec(ROLE, ["/etc/init.d/sendmail", "reload"])
    after = _daemon_pid(lab)
    if result.exit_code != 0 or not after or after == before:
        raise ApplyError(f"sendmail did not restart on reload (pid {before or '?'} -> "
                         f"{after or '?'}): {result.output.strip()}")
    return result.output
