"""Every exercise, in notebook order, and how to find them by notebook and id.

    exercise("02", "relay-port")     # one exercise
    exercises_for("05")              # a notebook's exercises, in order
    notebook_number("05-Routing")    # "05"

An exercise is its words (``texts/NN-ID.md``, see :mod:`.prose`), the
requirements checked in the lab (:mod:`.checks`), and its solver and optional
starting state (:mod:`.solutions`).
"""
from __future__ import annotations

import re

from labenv.errors import LabError

from . import checks as c
from . import solutions as s
from .framework import Exercise, Requirement
from .prose import load


class NoSuchExercise(LabError, LookupError):
    """No notebook or exercise of that number or id (exit code 2 in the CLI)."""


def _exercise(notebook: str, id: str, requirements: list[Requirement], solver, starter=None) -> Exercise:
    return Exercise(notebook, id, load(notebook, id), requirements, solver, starter)


R = Requirement
_RELAY_587 = R("the relay mailer connects to port 587", c.relay_on_587)
_AUTH_MECHANISMS = R("sendmail may use PLAIN or LOGIN with the provider's entry", c.authinfo_mechanisms)
_PROVIDER_AUTH = R("the provider received a message after SMTP AUTH", c.provider_got_authenticated)
_QUEUE_EMPTY = R("nothing waits in the mailserver's queue", c.queue_empty)

EXERCISES: list[Exercise] = [
    _exercise("01", "find-the-block", [
        R("the waiting report reached mx.example.com", c.blocked_report_arrived),
        R("the lab is as it was: the ISP's filter on, nothing waiting in the queue", c.lab_as_it_was),
    ], s.solve_find_the_block, s.setup_find_the_block),
    _exercise("02", "relay-port", [
        R("the relay mailer connects to port 587 (=M: A=TCP $h 587)", c.relay_on_587),
        R("no relay knob in sendmail.mc sits where sendmail ignores it", c.mc_without_ignored_knobs),
    ], s.solve_relay_port, s.setup_relay_port),
    _exercise("03", "authinfo", [
        R(f"sendmail finds {c.PROVIDER_KEY}, may use PLAIN or LOGIN with it, and it stays private "
          "(/etc/mail/auth 700, no file readable by others)", c.authinfo_usable),
        R("the message deferred with Temporary AUTH failure was delivered, not sent again",
          c.auth_deferred_message_delivered),
        _PROVIDER_AUTH,
        _QUEUE_EMPTY,
    ], s.solve_authinfo, s.setup_authinfo),
    _exercise("04", "starttls", [
        R("sendmail.mc includes starttls.m4 and sendmail.cf has its certificates", c.starttls_included),
        R("the mailserver's own port 25 offers STARTTLS", c.local_daemon_offers_starttls),
        R(f"sendmail refuses {c.PROVIDER} without encryption (ruleset tls_server)",
          c.tls_required_for_provider),
        R("a message held back for want of encryption reached the provider over TLS; nothing waits",
          c.held_message_arrived_encrypted),
    ], s.solve_starttls, s.setup_starttls),
    _exercise("05", "mailertable", [
        R("sendmail.cf has FEATURE(`mailertable')", c.mailertable_feature),
        _RELAY_587,
        R("LAN hosts get their mail directly, the rest goes to the provider (sendmail -bt /parse)",
          c.routes_like(c.HOWTO_ROUTES)),
    ], s.solve_mailertable, s.setup_mailertable),
    _exercise("06", "masquerade", [
        R("the header sender is masqueraded", c.masquerades("HS", "header")),
        R("the envelope sender is masqueraded", c.masquerades("ES", "envelope")),
        R(f"the provider received a message with both senders @{c.MASQUERADE_DOMAIN}",
          c.provider_got_masqueraded),
    ], s.solve_masquerade, s.setup_masquerade),
    _exercise("07", "end-to-end", [
        _RELAY_587,
        R("Internet mail goes to the provider via relay",
          c.routes_like({c.INTERNET_RCPT: c.HOWTO_ROUTES[c.INTERNET_RCPT]})),
        _AUTH_MECHANISMS,
        R("the envelope sender is masqueraded", c.masquerades("ES", "envelope")),
        R("the provider received it: 587, TLS, AUTH, @somedom.com", c.provider_end_to_end),
        _QUEUE_EMPTY,
    ], s.solve_end_to_end, s.setup_end_to_end),
    _exercise("08", "fix-the-queue", [
        R(f"the waiting message ({c.STUCK_SUBJECT}) reached the provider after SMTP AUTH",
          c.stuck_message_arrived),
        _QUEUE_EMPTY,
        R("new mail goes out at once: the daemon's own last attempt was delivered", c.daemon_delivers),
    ], s.solve_fix_the_queue, s.setup_fix_the_queue),
    # One requirement, on the outcome only: whatever the fault, it is ✘ at the start and
    # says nothing of where the fault is.
    _exercise("09", "capstone", [
        R("mail flows: what root sends reaches the provider at once (587, TLS, SMTP AUTH, "
          "sender @somedom.com), and nothing waits", c.mail_flows),
    ], s.solve_capstone, s.setup_capstone),
]

_BY_KEY: dict[tuple[str, str], Exercise] = {(e.notebook, e.id): e for e in EXERCISES}


def notebook_number(notebook: object) -> str:
    """``"2"``, ``"02"``, ``2`` or ``"02-The-Relay-..."`` -> ``"02"``; NoSuchExercise otherwise.

    >>> notebook_number("05-Routing-With-Smart-Host-And-Mailertable")
    '05'
    """
    text = str(notebook).strip()
    match = re.match(r"^(\d{1,2})(?:-.*)?$", text)
    if not match:
        raise NoSuchExercise(f"{text!r} is not a notebook number (like 02)")
    return f"{int(match.group(1)):02d}"


def notebooks() -> list[str]:
    """The numbers of the notebooks that have exercises, in order."""
    return sorted({e.notebook for e in EXERCISES})


def exercises_for(notebook: object) -> list[Exercise]:
    """The exercises of one notebook, in order; NoSuchExercise if it has none."""
    number = notebook_number(notebook)
    found = [e for e in EXERCISES if e.notebook == number]
    if not found:
        raise NoSuchExercise(f"notebook {number} has no exercises "
                          f"(notebooks with exercises: {', '.join(notebooks())})")
    return found


def exercise(notebook: object, id: str) -> Exercise:
    """The exercise ``id`` of ``notebook`` (e.g. ``exercise("02", "relay-port")``)."""
    number = notebook_number(notebook)
    try:
        return _BY_KEY[(number, id)]
    except KeyError:
        ids = ", ".join(e.id for e in exercises_for(number))
        raise NoSuchExercise(f"notebook {number} has no exercise {id!r} (it has: {ids})") from None
