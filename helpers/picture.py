"""The lab as pictures: SVG drawings from labenv.topology (addresses from the live lab), and the
path of a message through it.

    from IPython.display import SVG
    SVG(topology_svg(lab.status()))      # without a status: host parts only (x.x.x.10)
    SVG(flow_svg())                      # MSP, 127.0.0.1:25, MTA and queue, relay, router, 587
"""
from __future__ import annotations

import html

from labenv.topology import INTERNET, LAN, MX_RECORDS, ROLES, ROUTER_INTERNET_ALIASES

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


_ARROW = ('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
          'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
          'fill="context-stroke"/></marker></defs>')


def _arrow(x1: float, y1: float, x2: float, y2: float, color: str = "#555", dashed: bool = False) -> str:
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="2.5"'
            f'{dash} marker-end="url(#arrow)"/>')


def flow_svg() -> str:
    """The path of one message through the lab, as an SVG: the ``sendmail`` command (the MSP),
    SMTP to 127.0.0.1:25, the MTA daemon and its queue, the relay mailer, the router with the
    ISP's block on port 25, and the provider's Submission port 587 (STARTTLS, then AUTH)."""
    ms, rh = ROLES["mailserver"], ROLES["relayhost"]
    ok, blocked, lan, net = "#2e8b57", "#c0392b", "#2b4f8a", "#8a552b"
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="980" height="390" '
        'font-family="DejaVu Sans, Arial, sans-serif" viewBox="0 0 980 390">',
        _ARROW,
        '<rect x="10" y="30" width="560" height="262" rx="10" fill="#eef5ff" stroke="#6a8fc7"/>',
        _text(20, 22, f"{ms.hostname}: one Debian sendmail, two programs", weight="bold", fill=lan),
        '<rect x="772" y="30" width="198" height="262" rx="10" fill="#fff4e8" stroke="#c7926a"/>',
        _text(782, 22, "Internet side", weight="bold", fill=net),
    ]
    parts += _card(25, 48, 220, 158, "1 · sendmail (the MSP)",
                   ["what a MUA (mail, cron) runs", "config: /etc/mail/submit.cf", "log tag: sendmail[pid]",
                    "keeps mail in", "/var/spool/mqueue-client", "only while :25 does not answer"])
    parts += _card(335, 48, 220, 158, "2 · MTA daemon (sm-mta)",
                   ["config: /etc/mail/sendmail.cf", "log tag: sm-mta[pid]", "queue: /var/spool/mqueue",
                    "routes with the mailertable:", f". relay:[{rh.hostname}]", "(or with SMART_HOST)"])
    parts += _card(335, 222, 220, 62, "3 · the relay mailer", ["A=TCP $h 587", "(set by RELAY_MAILER_ARGS)"])
    parts += _card(598, 112, 150, 124, "4 · router / ISP", ["NAT to the Internet"], fill="#f4f4f4")
    parts += [_text(606, 172, "\u2714 587: passes", size=12, fill=ok),
              _text(606, 192, "\u2718 25: refused", size=12, fill=blocked),
              _text(606, 208, "   (TCP reset)", size=12, fill=blocked)]
    parts += _card(782, 48, 178, 230, "5 · the provider",
                   [rh.hostname, "port 587, Submission:", "220 greeting, EHLO", "STARTTLS (encrypts)", "EHLO again",
                    "AUTH PLAIN with the", "AuthInfo credentials", "MAIL FROM, RCPT TO", "DATA: accepted"])
    parts += [
        _arrow(245, 120, 332, 120),
        _text(289, 110, "SMTP to", size=11, anchor="middle"),
        _text(289, 138, "127.0.0.1:25", size=11, anchor="middle"),
        _arrow(445, 206, 445, 219),
        _arrow(555, 250, 595, 210, color=ok),
        _arrow(748, 166, 779, 166, color=ok),
        _text(763, 158, "587", size=11, anchor="middle", fill=ok),
        _arrow(748, 200, 779, 200, color=blocked, dashed=True),
        _text(763, 218, "25", size=11, anchor="middle", fill=blocked),
        _text(20, 318, "1 \u2192 2  The MSP hands each message to the MTA at once, over SMTP on loopback "
              "(never blocked). Its own queue fills only while the daemon is down.", size=12, fill=lan),
        _text(20, 338, "2 \u2192 3  The MTA keeps the message in /var/spool/mqueue until the next hop takes it; "
              "mailq shows both queues.", size=12, fill=lan),
        _text(20, 358, "3 \u2192 4 \u2192 5  The relay mailer dials port 587, which the ISP lets through. "
              "A route through the esmtp mailer dials port 25: refused.", size=12, fill=net),
        _text(20, 378, "At the provider: STARTTLS first, then AUTH with the AuthInfo credentials, "
              "then the envelope (MAIL FROM, RCPT TO) and the message.", size=12, fill=net),
        "</svg>",
    ]
    return "\n".join(parts)
