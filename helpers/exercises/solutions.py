"""What ``ex.solve(lab)`` and ``ex.setup(lab)`` do: each exercise's solution, and broken starts.

A solver leaves the lab as the exercise's solution describes, so the notebook's
next step works; where the task is about delivery it also gets a message to the
provider and waits until the queue is empty. A setup puts a fresh lab into an
exercise's starting state. Every wait is ``labenv.wait.until`` (``TimedOut``).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from email.utils import parseaddr

from labenv import faults, mail
from labenv.configure import apply_howto, apply_mc, install_authinfo, install_mailertable, read_mc, set_knobs
from labenv.errors import TimedOut
from labenv.sendmail.howto import AUTHINFO_ENTRIES, MAILERTABLE_ROWS, MASQUERADE_DOMAIN, PROVIDER
from labenv.sendmail.maps import mailertable_frame
from labenv.wait import until

from .checks import (
    BLOCKED_SUBJECT,
    INTERNET_RCPT,
    STUCK_SUBJECT,
    blocked_report_arrived,
    daemon_delivers,
    held_message_arrived_encrypted,
    queue_has_block,
)
from .probes import Live

SENDER = "root"
LAN_RCPT = "x@hosta.private.lan"
BODY = "Sent by the lab's exercises."


def _send(lab, subject: str) -> None:
    mail.send(lab, SENDER, [INTERNET_RCPT], subject=subject, body=BODY)


def _install_credentials(lab) -> None:
    install_authinfo(lab, AUTHINFO_ENTRIES["fixed"])


def _route_to_provider(lab) -> None:
    """Make Internet mail go to the provider: the howto's mailertable, else a smart host."""
    if read_mc(lab).config().mailertable:
        install_mailertable(lab, mailertable_frame(MAILERTABLE_ROWS))
    else:
        set_knobs(lab, smart_host=f"[{PROVIDER}]")


def _deliver(lab, fits: Callable[[dict], object]) -> None:
    """Run the queue; if the provider still has no fitting message, send one; wait for an empty queue."""
    def arrived() -> bool:
        return any(fits(m) for m in lab.provider.messages())

    queued = bool(mail.queue(lab))
    mail.run_queue(lab)
    if queued:
        # the provider writes its record when the session ends, just after sendmail's QUIT
        with contextlib.suppress(TimedOut):
            until(arrived, 10, "the queued message at the provider")
    if not arrived():
        _send(lab, "lab exercise")
        until(arrived, 45, "the provider to receive the message")
    until(lambda: not mail.queue(lab), 30, "the mailserver's queue to empty")


def _authenticated(message: dict) -> bool:
    return bool(message.get("authenticated_as"))


def _masqueraded(message: dict) -> bool:
    """Envelope and header sender both in the masquerade domain."""
    senders = (message.get("mail_from") or "", parseaddr(message["headers"].get("From", ""))[1])
    return all(s.lower().endswith("@" + MASQUERADE_DOMAIN) for s in senders)


# -- solvers, one per exercise

def _isp_block(lab, word: str) -> None:
    lab.exec("router", ["isp-block", word]).check()


def solve_find_the_block(lab) -> None:
    """The diagnosis tested: the ISP's filter off for one queue run, then on again."""
    def arrived() -> bool:
        return not blocked_report_arrived(Live(lab))

    _isp_block(lab, "off")
    try:
        mail.run_queue(lab)
        until(arrived, 30, f"the {BLOCKED_SUBJECT!r} at mx.example.com")
    finally:
        _isp_block(lab, "on")


def solve_relay_port(lab) -> None:
    set_knobs(lab, relay_port=587)


def solve_authinfo(lab) -> None:
    _install_credentials(lab)
    set_knobs(lab, relay_port=587, authinfo=True)
    _route_to_provider(lab)
    _deliver(lab, _authenticated)


ACCESS = "/etc/mail/access"
#: 04: the access-map entry that makes sendmail demand encryption from the provider.
TLS_SRV_ENTRY = f"TLS_Srv:{PROVIDER}\tENCR:112"
HELD_REASON = "encryption too weak"


def _require_tls_to_provider(lab) -> None:
    """Replace any TLS_Srv entry for the provider with ENCR:112 and rebuild access.db."""
    script = (f"sed -i '/^TLS_Srv:{PROVIDER}[[:space:]]/d' {ACCESS} && "
              f"printf '%s\\n' '{TLS_SRV_ENTRY}' >> {ACCESS} && makemap hash {ACCESS}.db < {ACCESS}")
    lab.exec("mailserver", ["sh", "-c", script], timeout=60).check()


def solve_starttls(lab) -> None:
    """The include and TLS_Srv; a message held back while STARTTLS is stripped, delivered once it is back."""
    _install_credentials(lab)
    set_knobs(lab, relay_port=587, authinfo=True, starttls=True)
    _route_to_provider(lab)
    _require_tls_to_provider(lab)
    if not any(HELD_REASON in (row.get("stat") or "") for row in mail.deliveries(lab)):
        lab.provider.ctl("strip-starttls", "on")
        _send(lab, "held back without STARTTLS")
        until(lambda: any(HELD_REASON in (m["reason"] or "") for m in mail.queue(lab)), 30,
              "the message to be held back for want of encryption")
    lab.provider.ctl("strip-starttls", "off")
    _deliver(lab, lambda m: m.get("tls") and m.get("port") == 587)
    until(lambda: not held_message_arrived_encrypted(Live(lab)), 30,
          "the held message at the provider, over TLS")


def solve_mailertable(lab) -> None:
    install_mailertable(lab, mailertable_frame(MAILERTABLE_ROWS))
    set_knobs(lab, relay_port=587, mailertable=True, smart_host=None)


def solve_masquerade(lab) -> None:
    set_knobs(lab, masquerade_as=MASQUERADE_DOMAIN, masquerade_envelope=True)
    _deliver(lab, _masqueraded)


def solve_end_to_end(lab) -> None:
    apply_howto(lab, "fixed")
    _deliver(lab, lambda m: m.get("authenticated_as") and m.get("tls") and
             (m.get("mail_from") or "").endswith("@" + MASQUERADE_DOMAIN))


def _end_to_end(message: dict) -> bool:
    return bool(message.get("port") == 587 and message.get("authenticated_as") and message.get("tls")
                and (message.get("mail_from") or "").endswith("@" + MASQUERADE_DOMAIN))


def _new_mail_goes_out(lab) -> None:
    """If the daemon's own last attempt failed, send a new message and wait until the daemon delivers it."""
    if daemon_delivers(Live(lab)):
        _send(lab, "new mail, after the fix")
        until(lambda: not daemon_delivers(Live(lab)), 30, "the daemon to deliver a new message")


def solve_fix_the_queue(lab) -> None:
    faults.restore(lab)
    _deliver(lab, lambda m: m["headers"].get("Subject") == STUCK_SUBJECT and _authenticated(m))
    _new_mail_goes_out(lab)


def solve_capstone(lab) -> None:
    faults.restore(lab)
    _deliver(lab, _end_to_end)
    _new_mail_goes_out(lab)


# -- starting states

def setup_find_the_block(lab) -> None:
    """A report for the Internet, submitted and deferred behind the ISP's filter."""
    _isp_block(lab, "on")
    mail.send(lab, SENDER, [INTERNET_RCPT], subject=BLOCKED_SUBJECT,
              body="Disks 41% full, backups done, 0 errors.")
    until(lambda: not queue_has_block(Live(lab)), 30, "the report to be deferred")


#: Section 2.1's two lines as a colleague appends them: at the end of sendmail.mc.
HOWTO_21_AT_THE_END = "define(`RELAY_MAILER',`esmtp')dnl\ndefine(`RELAY_MAILER_ARGS',`TCP $h 587')dnl\n"


def setup_relay_port(lab) -> None:
    """Section 2.1's lines after MAILER(`smtp'), made and reloaded: the relay mailer stays on 25."""
    mc = read_mc(lab)
    text = mc.with_config(mc.config().replace(relay_mailer=None, relay_port=None)).text
    apply_mc(lab, text + ("" if text.endswith("\n") else "\n") + HOWTO_21_AT_THE_END)


def setup_authinfo(lab) -> None:
    """03's start: the howto's AuthInfo line as written (U:root, no M:) and a message deferred by it."""
    set_knobs(lab, relay_port=587, smart_host=f"[{PROVIDER}]")
    install_authinfo(lab, AUTHINFO_ENTRIES["literal"])    # before the FEATURE: make needs the map
    set_knobs(lab, authinfo=True)
    _send(lab, "waiting in the queue")
    until(lambda: any("AUTH" in (m["reason"] or "") for m in mail.queue(lab)), 30,
          "the message to be deferred with a temporary AUTH failure")


def setup_starttls(lab) -> None:
    """04's start: working credentials, no starttls.m4, and STARTTLS stripped: a login in the clear."""
    _install_credentials(lab)
    set_knobs(lab, relay_port=587, smart_host=f"[{PROVIDER}]", authinfo=True)
    lab.provider.ctl("strip-starttls", "on")
    _send(lab, "STARTTLS stripped")
    until(lambda: any(not m.get("tls") for m in lab.provider.messages()), 45,
          "the provider to receive the message in the clear")


def setup_mailertable(lab) -> None:
    """The howto's smart host as section 2.3.1 writes it, and a message for a LAN host stuck behind it."""
    set_knobs(lab, smart_host=f"esmtp:{PROVIDER}")
    mail.send(lab, SENDER, [LAN_RCPT], subject="for a host in the LAN", body=BODY)
    until(lambda: any("refused" in (m["reason"] or "").lower() for m in mail.queue(lab)), 30,
          "the message to be deferred at the ISP's block")


def setup_masquerade(lab) -> None:
    """The howto without its two masquerading lines, and a message at the provider from the private name."""
    apply_howto(lab, "fixed")
    set_knobs(lab, masquerade_as=None, masquerade_envelope=False)
    _send(lab, "sent before masquerading")
    until(lambda: lab.provider.messages(), 45, "the provider to receive the message")


def setup_end_to_end(lab) -> None:
    """A fresh lab and root's message to the Internet, waiting behind the port-25 block."""
    _send(lab, "from the private LAN")
    until(lambda: not queue_has_block(Live(lab)), 30, "the message to be deferred")


def setup_fix_the_queue(lab) -> None:
    """Two faults of labenv.faults at once, and a message for the Internet waiting behind them.

    FEATURE(`mailertable') misspelt in sendmail.mc, built by Debian's make (exit 0) and
    reloaded; and the SASL plugins for PLAIN and LOGIN gone. The first keeps the message
    at the ISP's port-25 block; once it is fixed, the second defers it with a temporary
    AUTH failure. The provider's record starts empty.
    """
    faults.inject(lab, "feature-typo")
    faults.CATALOGUE["sasl-modules-missing"].inject(lab)
    lab.provider.clear()
    _send(lab, STUCK_SUBJECT)
    until(lambda: any("Connection refused" in (m["reason"] or "") for m in mail.queue(lab)), 30,
          "the message to be deferred at the port-25 block")


def _daemon_attempts(lab) -> int:
    return sum(1 for row in mail.deliveries(lab) if row["program"] == "sm-mta" and row.get("to") == f"<{INTERNET_RCPT}>")


#: The message root sends in the capstone's lab once the fault is in.
CAPSTONE_SUBJECT = "quarterly figures"


def setup_capstone(lab, seed: int | None = None, fault: str | None = None) -> None:
    """The howto with one fault of labenv.faults in it, and root's message tried once since.

    ``fault`` names it; otherwise ``seed`` chooses it (the same seed, the same fault), and
    without a seed it is chosen at random. The queue and the provider's record start
    empty. Nothing printed says which fault it is.
    """
    faults.inject(lab, fault or faults.choose(seed))
    lab.exec("mailserver", ["sh", "-c", "rm -f /var/spool/mqueue/* /var/spool/mqueue-client/*"]).check()
    lab.provider.clear()
    before = _daemon_attempts(lab)
    _send(lab, CAPSTONE_SUBJECT)
    until(lambda: _daemon_attempts(lab) > before, 30, "the daemon's attempt to deliver root's message")
    print(f"lab {lab.name}: the howto is applied with one fault in it; root has sent a message "
          f"to {INTERNET_RCPT} (Subject: {CAPSTONE_SUBJECT}).")
