"""Who is in a lab, on which network, under which names.

    private LAN (lan)                              Internet side (internet)
    mailserver.private.lan .10 ─┐               ┌─ relayhost.somedom.com .10
    mailhost.private.lan   .20 ─┼─ router .254 ─┤  (also mx.example.com, ...)
      (hosta.private.lan, ...)  │  NAT, ISP's   │
                                │  port-25 block│
                                └─ DNS .254     ┘

Every lab gets two /24 subnets of its own from LABENV_SUBNETS (default
10.213.0.0/16), so many labs share one engine without touching each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LAN, INTERNET = "lan", "internet"
ROUTER_HOST = 254
PROVIDER_DOMAIN = "somedom.com"
# The Internet the lab knows: each domain's mail exchanger is the provider container.
MX_RECORDS = {
    "somedom.com": "relayhost.somedom.com",
    "example.com": "mx.example.com",
    "example.org": "mx.example.org",
    "example.net": "mx.example.net",
}


@dataclass(frozen=True)
class Role:
    """One container of the lab."""

    name: str
    image: str
    hostname: str
    network: str
    host: int  # last octet of its address on `network`
    aliases: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    ready: str = ""  # a line its log prints once it serves
    # NET_ADMIN: set its own routes (and the router's filter); SYS_PTRACE: Debian's
    # init script finds the running sendmail through /proc to reload it.
    caps: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, hash=False, compare=False)


ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role("router", "router", "router.private.lan", LAN, ROUTER_HOST,
             aliases=("router.private.lan", "gateway.private.lan"),
             ready=r"labenv: router ready", caps=("NET_ADMIN",)),
        Role("mailserver", "mailserver", "mailserver.private.lan", LAN, 10,
             aliases=("mailserver.private.lan",),
             ready=r"labenv: mailserver ready", caps=("NET_ADMIN", "SYS_PTRACE")),
        Role("mailhost", "relayhost", "mailhost.private.lan", LAN, 20,
             aliases=("mailhost.private.lan", "hosta.private.lan", "hostb.private.lan",
                      "darknet.lan"),
             command=("--profile", "sink", "--hostname", "mailhost.private.lan"),
             ready=r"relayhost: sink .* listening", caps=("NET_ADMIN",)),
        Role("relayhost", "relayhost", "relayhost.somedom.com", INTERNET, 10,
             aliases=("relayhost.somedom.com", *sorted(set(MX_RECORDS.values()) - {"relayhost.somedom.com"})),
             command=("--profile", "provider", "--hostname", "relayhost.somedom.com"),
             ready=r"relayhost: provider .* listening", caps=("NET_ADMIN",)),
    )
}
# The router is also on the Internet side, under this name.
ROUTER_INTERNET_ALIASES = ("isp-gateway.net",)


def role(name: str) -> Role:
    from .errors import LabError

    if name not in ROLES:
        raise LabError(f"unknown role {name!r}; roles: {', '.join(ROLES)}")
    return ROLES[name]


def canonical_names() -> dict[str, str]:
    """What the lab's DNS knows, as sendmail on the mailserver canonifies names.

    Every host name and alias (and each mail domain) is its own canonical name;
    a short name under the mailserver's domain (private.lan) is qualified with it.
    """
    names = {name: name for spec in ROLES.values() for name in (spec.hostname, *spec.aliases)}
    names.update({domain: domain for domain in MX_RECORDS})
    names.update({name.split(".")[0]: name for name in list(names)
                  if name.endswith(".private.lan") and name.count(".") == 2})
    return names
