"""Small things the notebooks show again and again: the lab's map, tables of what happened.

    from helpers.lessons import topology_svg, queue_frame, log_frame, inbox_frame, mask_secrets
    SVG(topology_svg(lab.status()))      # the lab as a picture, addresses from the live lab
    queue_frame(lab)                     # mailq as a table: id, sender, recipients, reason
    log_frame(lab)                       # the delivery lines of /var/log/mail.log
    inbox_frame(lab)                     # what the provider received: port, TLS, login, envelope
    print(mask_secrets(dialogue_text))   # AUTH PLAIN/LOGIN credentials replaced by a marker

Everything here only reads; nothing changes the lab.
"""
from __future__ import annotations

import html
import re

import pandas as pd

from helpers.parsers import maillog, mailq
from labenv.topology import INTERNET, LAN, MX_RECORDS, ROLES, ROUTER_INTERNET_ALIASES

SECRET = "<credentials, base64>"
_AUTH_PLAIN = re.compile(r"(AUTH PLAIN )[A-Za-z0-9+/=]{8,}")
_PASSWORD_PROMPT = "334 UGFzc3dvcmQ6"          # base64 of "Password:"
_CLIENT_LINE = re.compile(r"^((?:050 )?(?:>>>| ~>|  ->) ?)\S+$")
_AUTHINFO_P = re.compile(r'("P[:=])[^"]*(")')


def mask_secrets(text: str) -> str:
    """``text`` with the credentials of an SMTP dialogue or an authinfo file masked.

    Masks the base64 of ``AUTH PLAIN``, the client's answer to the LOGIN password
    prompt (``334 UGFzc3dvcmQ6``), and ``"P:..."`` fields of AuthInfo lines.
    """
    out, hide_next = [], False
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        if hide_next and (match := _CLIENT_LINE.match(body)):
            line = match.group(1) + SECRET + line[len(body):]
        hide_next = _PASSWORD_PROMPT in body
        line = _AUTH_PLAIN.sub(lambda m: m.group(1) + SECRET, line)
        line = _AUTHINFO_P.sub(lambda m: m.group(1) + "********" + m.group(2), line)
        out.append(line)
    return "".join(out)


def queue_frame(lab) -> pd.DataFrame:
    """The mailserver's queues (``mailq``): one row per message, with the reason it waits."""
    frame = mailq.to_frame(mailq.parse(lab.exec("mailserver", ["mailq"]).stdout))
    return frame[["queue", "id", "sender", "recipients", "reason"]]


_RELAY_ADDRESS = re.compile(r"(?<=\S) \[[0-9.]+\]$")
LOG_COLUMNS = ["queue_id", "program", "to", "mailer", "relay", "dsn", "stat"]


def log_frame(lab, *, columns: list[str] | None = None, handover: bool = False) -> pd.DataFrame:
    """Delivery attempts in /var/log/mail.log (lines with ``to=``), oldest first.

    Includes the daemon's attempts (``sm-mta``) and queue runs started by hand
    (``sendmail -q``). ``handover=False`` leaves out the local MSP's hand-over of each
    submitted message to the MTA on 127.0.0.1. ``relay`` keeps the host name and
    drops the address after it (each lab has its own addresses).
    """
    rows = maillog.parse(lab.exec("mailserver", ["cat", "/var/log/mail.log"]).stdout)
    flat = []
    for r in rows:
        if "to" not in r["fields"]:
            continue
        relay = r["fields"].get("relay", "")
        if not handover and relay.startswith("[127.0.0.1]"):
            continue
        flat.append({"queue_id": r["queue_id"], "program": r["program"], **r["fields"],
                     "relay": _RELAY_ADDRESS.sub("", relay)})
    columns = columns or LOG_COLUMNS
    return pd.DataFrame(flat, columns=columns).fillna("")


def inbox_frame(lab, role: str = "relayhost") -> pd.DataFrame:
    """What the provider (or the LAN's mailhost) received, one row per message."""
    source = lab.mailhost if role == "mailhost" else lab.provider
    rows = [{"port": m["port"], "tls": m["tls"] or "none", "login": m["authenticated_as"] or "",
             "mail_from": m["mail_from"], "rcpt_to": ", ".join(m["rcpt_tos"]),
             "header_from": m["headers"].get("From", ""), "subject": m["headers"].get("Subject", "")}
            for m in source.messages()]
    return pd.DataFrame(rows, columns=["port", "tls", "login", "mail_from", "rcpt_to",
                                       "header_from", "subject"])


# ------------------------------------------------------------------ the lab as a picture

_ROLE_NOTES = {
    "mailserver": ["Debian sendmail (as installed)", "listens on 127.0.0.1 only"],
    "mailhost": ["LAN mail sink, port 25"],
    "relayhost": ["the provider: Submission 587", "(STARTTLS, AUTH) and SMTP 25"],
}


def _addresses(status: dict | None, role: str) -> dict[str, str]:
    if not status:
        spec = ROLES[role]
        return {spec.network: f"x.x.x.{spec.host}"}
    return {net: addr for net, addr in status["roles"].get(role, {}).get("addresses", {}).items() if addr}


def _text(x: float, y: float, text: str, *, size: int = 13, weight: str = "normal",
          anchor: str = "start", fill: str = "#222") -> str:
    return (f'<text x="{x:.0f}" y="{y:.0f}" font-size="{size}" font-weight="{weight}" '
            f'text-anchor="{anchor}" fill="{fill}">{html.escape(text)}</text>')


def _card(x: float, y: float, w: float, h: float, title: str, lines: list[str],
          fill: str = "#ffffff") -> list[str]:
    out = [f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" fill="{fill}" stroke="#555"/>',
           _text(x + 8, y + 18, title, weight="bold")]
    out += [_text(x + 8, y + 36 + 16 * i, line, size=12, fill="#444") for i, line in enumerate(lines)]
    return out


def topology_svg(status: dict | None = None) -> str:
    """An SVG drawing of the lab from ``labenv.topology`` (addresses from ``lab.status()`` if given)."""
    ms, mh, rh = ROLES["mailserver"], ROLES["mailhost"], ROLES["relayhost"]
    router = _addresses(status, "router")
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="360" '
        'font-family="DejaVu Sans, Arial, sans-serif" viewBox="0 0 900 360">',
        '<rect x="10" y="30" width="330" height="320" rx="10" fill="#eef5ff" stroke="#6a8fc7"/>',
        _text(20, 22, f"private LAN ({LAN}): private.lan", weight="bold", fill="#2b4f8a"),
        '<rect x="560" y="30" width="330" height="320" rx="10" fill="#fff4e8" stroke="#c7926a"/>',
        _text(570, 22, f"Internet side ({INTERNET})", weight="bold", fill="#8a552b"),
    ]
    parts += _card(25, 50, 300, 96, ms.hostname,
                   [f"{net}: {addr}" for net, addr in _addresses(status, "mailserver").items()]
                   + _ROLE_NOTES["mailserver"], fill="#ffffff")
    mh_aliases = [a for a in mh.aliases if a != mh.hostname]
    parts += _card(25, 170, 300, 112, mh.hostname,
                   [f"{net}: {addr}" for net, addr in _addresses(status, "mailhost").items()]
                   + _ROLE_NOTES["mailhost"] + ["also: " + ", ".join(mh_aliases[:2]),
                                                "      " + ", ".join(mh_aliases[2:])])
    parts += _card(350, 110, 200, 150, "router / ISP",
                   [f"{net}: {addr}" for net, addr in router.items()]
                   + [f"({ROUTER_INTERNET_ALIASES[0]})", "NAT + DNS for the lab",
                      "blocks outbound port 25"],
                   fill="#f4f4f4")
    parts += _card(575, 50, 300, 130, rh.hostname,
                   [f"{net}: {addr}" for net, addr in _addresses(status, "relayhost").items()]
                   + _ROLE_NOTES["relayhost"] + ["MX of " + ", ".join(sorted(MX_RECORDS)[:2]),
                                                 "   and " + ", ".join(sorted(MX_RECORDS)[2:])])
    # connections: LAN hosts to the router, router to the provider (587 passes, 25 blocked)
    parts += [
        '<line x1="325" y1="98" x2="350" y2="150" stroke="#555" stroke-width="2"/>',
        '<line x1="325" y1="225" x2="350" y2="215" stroke="#555" stroke-width="2"/>',
        '<line x1="550" y1="135" x2="575" y2="100" stroke="#2e8b57" stroke-width="3"/>',
        '<line x1="550" y1="175" x2="575" y2="150" stroke="#c0392b" stroke-width="3" '
        'stroke-dasharray="5 3"/>',
        _text(575, 215, "\u2714 587 Submission from the LAN: passes", size=12, fill="#2e8b57"),
        _text(575, 235, "\u2718 25 SMTP from the LAN: refused by", size=12, fill="#c0392b"),
        _text(575, 251, "   the ISP (TCP reset)", size=12, fill="#c0392b"),
        _text(575, 285, "Mail for example.com/.org/.net also", size=12, fill="#8a552b"),
        _text(575, 301, "lands here, so 'the Internet' is visible.", size=12, fill="#8a552b"),
        _text(20, 305, "mailserver -> mailhost (port 25) stays", size=12, fill="#2b4f8a"),
        _text(20, 321, "inside the LAN: never blocked", size=12, fill="#2b4f8a"),
        "</svg>",
    ]
    return "\n".join(parts)
