"""What happened, as tables: the queue, the delivery log, the provider's inbox.

    queue_frame(lab)        # mailq: queue, id, sender, recipients, reason
    log_frame(lab)          # the delivery lines of /var/log/mail.log
    inbox_frame(lab)        # what the provider received: port, TLS, AUTH, envelope, headers

Each is the matching ``labenv.mail`` rows as a DataFrame; nothing here changes the lab.
"""
from __future__ import annotations

import pandas as pd

from labenv import mail
from labenv.sendmail.parsers import mailq


def queue_frame(lab) -> pd.DataFrame:
    """The mailserver's queues (``mailq``): one row per message, with the reason it waits."""
    return mailq.to_frame(mail.queue(lab))[mail.QUEUE_COLUMNS]


def log_frame(lab, *, columns: list[str] | None = None, handover: bool = False) -> pd.DataFrame:
    """Delivery attempts in /var/log/mail.log, oldest first (see ``labenv.mail.deliveries``)."""
    rows = mail.deliveries(lab, handover=handover)
    return pd.DataFrame(rows, columns=columns or mail.DELIVERY_COLUMNS).fillna("")


def inbox_frame(lab, role: str = "relayhost") -> pd.DataFrame:
    """What the provider (or the LAN's mailhost) received, one row per message."""
    return pd.DataFrame(mail.inbox(lab, role), columns=mail.INBOX_COLUMNS)
