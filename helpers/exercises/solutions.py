"""What ``ex.solve(lab)`` and ``ex.setup(lab)`` do: each exercise's solution, and broken starts.

A solver leaves the lab as the exercise's solution describes, so the notebook's
next step works; where the task is about delivery it also gets a message to the
provider and waits until the queue is empty. A setup puts a fresh lab into an
exercise's starting state. Every wait is ``labenv.wait.until`` (``TimedOut``).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable

from labenv import mail
from labenv.configure import apply_howto, install_authinfo, install_mailertable, read_mc, set_knobs
from labenv.errors import TimedOut
from labenv.sendmail.howto import AUTHINFO_ENTRIES, MAILERTABLE_ROWS, MASQUERADE_DOMAIN, PROVIDER
from labenv.sendmail.maps import mailertable_frame
from labenv.wait import until

from .checks import INTERNET_RCPT, queue_has_block
from .probes import Live

SENDER = "root"
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


# -- solvers, one per exercise

def solve_find_the_block(lab) -> None:
    _send(lab, "stuck behind the port-25 block")
    until(lambda: not queue_has_block(Live(lab)), 30, "the message to be deferred")


def solve_relay_port(lab) -> None:
    set_knobs(lab, relay_port=587)


def solve_authinfo(lab) -> None:
    _install_credentials(lab)
    set_knobs(lab, relay_port=587, authinfo=True)
    _route_to_provider(lab)
    _deliver(lab, _authenticated)


def solve_starttls(lab) -> None:
    _install_credentials(lab)
    set_knobs(lab, relay_port=587, authinfo=True, starttls=True)
    _route_to_provider(lab)
    _deliver(lab, lambda m: m.get("tls") and m.get("port") == 587)


def solve_mailertable(lab) -> None:
    install_mailertable(lab, mailertable_frame(MAILERTABLE_ROWS))
    set_knobs(lab, relay_port=587, mailertable=True, smart_host=None)


def solve_masquerade(lab) -> None:
    set_knobs(lab, masquerade_as=MASQUERADE_DOMAIN, masquerade_envelope=True)


def solve_end_to_end(lab) -> None:
    apply_howto(lab, "fixed")
    _deliver(lab, lambda m: m.get("authenticated_as") and m.get("tls") and
             (m.get("mail_from") or "").endswith("@" + MASQUERADE_DOMAIN))


def solve_fix_the_queue(lab) -> None:
    _install_credentials(lab)
    set_knobs(lab, relay_port=587, authinfo=True)
    _route_to_provider(lab)
    _deliver(lab, _authenticated)


# -- starting states

def setup_fix_the_queue(lab) -> None:
    """The howto word for word (no M:, U:root): a message deferred with a temporary AUTH failure."""
    apply_howto(lab, "literal")
    _send(lab, "waiting for a working AuthInfo")
    until(lambda: any("AUTH" in (m["reason"] or "") for m in mail.queue(lab)), 30,
          "the message to be deferred with an AUTH failure")
