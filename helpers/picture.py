"""The lab as a picture: an SVG drawn from labenv.topology, addresses from the live lab.

    from IPython.display import SVG
    SVG(topology_svg(lab.status()))      # without a status: host parts only (x.x.x.10)
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
