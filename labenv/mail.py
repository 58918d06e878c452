"""Mail through the lab: submit a message, and read what waits, what was logged, what arrived.

    send(lab, "root", ["bob@example.com"], subject="hello")   # sendmail on the mailserver
    queue(lab)                     # mailq as rows: queue, id, sender, recipients, reason
    deliveries(lab)                # the delivery lines of /var/log/mail.log
    inbox(lab)                     # what the provider received, one row per message
    run_queue(lab)                 # `sendmail -q`: try every waiting message now

Rows are plain dicts; ``labenv.cli`` prints them, the notebooks show them as DataFrames.
"""
from __future__ import annotations

import re

from .errors import ConfigError, NotSo
from .sendmail.parsers import maillog, mailq
from .sendmail.paths import MAIL_LOG
from .sendmail.validate import check_mail_address, check_text

ROLE = "mailserver"
SOURCES = ("relayhost", "mailhost")
INBOX_COLUMNS = ["id", "port", "tls", "auth", "mail_from", "rcpt_to", "header_from", "subject"]
QUEUE_COLUMNS = ["queue", "id", "sender", "recipients", "reason"]
DELIVERY_COLUMNS = ["queue_id", "program", "to", "mailer", "relay", "dsn", "stat"]
_RELAY_ADDRESS = re.compile(r"(?<=\S) \[[0-9.]+\]$")


def send(lab, sender: str, recipients: list[str], *, subject: str = "lab message",
         body: str = "Sent from the sendmail Submission-relay lab.") -> None:
    """Submit a message on the mailserver as `sendmail -i -f SENDER -- RCPT...` does."""
    sender = check_mail_address("sender", sender)
    if not recipients:
        raise ConfigError("recipient", "give at least one")
    recipients = [check_mail_address("recipient", r) for r in recipients]
    subject = check_text("subject", subject.replace("\r", " ").replace("\n", " "), allow_empty=True)
    message = (f"From: {sender}\nTo: {', '.join(recipients)}\nSubject: {subject}\n\n"
               f"{body.rstrip()}\n")
    result = lab.exec(ROLE, ["sendmail", "-i", "-f", sender, "--", *recipients],
                      stdin=message, timeout=60)
    if result.exit_code != 0:
        raise NotSo(f"sendmail refused the message: {result.output.strip()}")


def run_queue(lab) -> str:
    """`sendmail -qf` on the mailserver: every waiting message is tried now, and the run has
    ended when this returns (a plain `-q` hands the run to a child and returns at once)."""
    return lab.exec(ROLE, ["sendmail", "-qf"], timeout=90).output


def queue(lab) -> list[dict]:
    """The mailserver's queues (``mailq``), one row per waiting message, with its reason."""
    return mailq.parse(lab.exec(ROLE, ["mailq"]).stdout)


def deliveries(lab, *, handover: bool = False) -> list[dict]:
    """Delivery attempts in /var/log/mail.log (lines with ``to=``), oldest first.

    Both of Debian's sendmail processes log them: the daemon as ``sm-mta`` and a
    queue run started by hand (``sendmail -q``) as ``sendmail``. ``handover=False``
    leaves out the local submission program handing each message to the daemon on
    127.0.0.1. ``relay`` keeps the host name, not the address (each lab has its own).
    """
    rows = []
    for row in maillog.parse(lab.exec(ROLE, ["cat", MAIL_LOG]).stdout):
        if "to" not in row["fields"]:
            continue
        relay = row["fields"].get("relay", "")
        if not handover and relay.startswith("[127.0.0.1]"):
            continue
        rows.append({"queue_id": row["queue_id"], "program": row["program"], **row["fields"],
                     "relay": _RELAY_ADDRESS.sub("", relay)})
    return rows


def inbox_row(message: dict) -> dict:
    """One received message as a row of INBOX_COLUMNS ("none" and "-" where TLS or AUTH was not used)."""
    return {"id": message["queue_id"], "port": message["port"], "tls": message["tls"] or "none",
            "auth": message["authenticated_as"] or "-", "mail_from": message["mail_from"],
            "rcpt_to": ", ".join(message["rcpt_tos"]),
            "header_from": message["headers"].get("From", ""),
            "subject": message["headers"].get("Subject", "")}


def received(lab, role: str = "relayhost") -> list[dict]:
    """Every message the provider (or the LAN's mailhost) recorded, oldest first, as recorded."""
    return (lab.provider if check_source(role) == "relayhost" else lab.mailhost).messages()


def check_source(role: str) -> str:
    """``role`` if it is a receiver the lab records (relayhost or mailhost)."""
    if role not in SOURCES:
        raise ConfigError("role", f"{role!r}: choose {' or '.join(SOURCES)}")
    return role


def inbox(lab, role: str = "relayhost") -> list[dict]:
    """What the provider (or the LAN's mailhost) received, one row per message, oldest first."""
    return [inbox_row(m) for m in received(lab, role)]
