"""The howto's configuration (its section 3.1) in two variants, as the files it writes.

  fixed    what current Debian needs for the howto to work: AuthInfo with
           "M:PLAIN LOGIN" (sendmail's default client mechanisms lack PLAIN and
           LOGIN) and without "U:root"; the RELAY_MAILER line, which no cf macro
           reads, left out.
  literal  the howto word for word (adapted only to the lab's provider name):
           it defers every message with a temporary AUTH failure.

    >>> CONFIG["fixed"].relay_port, CONFIG["literal"].relay_mailer
    (587, 'esmtp')
    >>> sorted(files("fixed", DEBIAN_MC_EXAMPLE))
    ['/etc/mail/auth/client-info', '/etc/mail/mailertable', '/etc/mail/sendmail.mc']

``labenv.configure.apply_howto(lab, variant)`` installs them in a lab.
"""
from __future__ import annotations

from labenv.errors import ConfigError
from labenv.sendmail.maps import AuthInfo, mailertable_frame, render_authinfo, render_mailertable
from labenv.sendmail.mc import RelayConfig, SendmailMc
from labenv.sendmail.paths import AUTHINFO, MAILERTABLE, MC

PROVIDER = "relayhost.somedom.com"
MASQUERADE_DOMAIN = "somedom.com"
USER, PASSWORD = "user_name", "password"

CONFIG = {
    "literal": RelayConfig(starttls=True, relay_mailer="esmtp", relay_port=587, mailertable=True,
                           masquerade_as=MASQUERADE_DOMAIN, masquerade_envelope=True,
                           authinfo=True),
}
CONFIG["fixed"] = CONFIG["literal"].replace(relay_mailer=None)
VARIANTS = tuple(CONFIG)

MAILERTABLE_ROWS = [
    (".darknet.lan", "esmtp", "[mailhost.private.lan]"),
    (".lan", "esmtp", "[%1.lan]"),
    (".", "relay", f"[{PROVIDER}]"),
]
AUTHINFO_ENTRIES = {
    "literal": [AuthInfo(PROVIDER, U="root", I=USER, P=PASSWORD)],
    "fixed": [AuthInfo(PROVIDER, U=USER, I=USER, P=PASSWORD, M="PLAIN LOGIN")],
}

DEBIAN_MC_EXAMPLE = "divert(-1)dnl\nMAILER_DEFINITIONS\nMAILER(`smtp')dnl\n"


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ConfigError("howto variant", f"unknown variant {variant!r}; choose one of "
                          f"{', '.join(VARIANTS)}")
    return variant


def mc_lines(variant: str) -> list[str]:
    """The lines the howto adds to sendmail.mc, in its order."""
    return CONFIG[check_variant(variant)].lines()


def mailertable_text() -> str:
    """The howto's /etc/mail/mailertable."""
    return render_mailertable(mailertable_frame(MAILERTABLE_ROWS))


def files(variant: str, current_mc: str) -> dict[str, str]:
    """sendmail.mc (``current_mc`` with the howto's block), mailertable and client-info."""
    config = CONFIG[check_variant(variant)]
    return {
        MC: SendmailMc.parse(current_mc).with_config(config).text,
        MAILERTABLE: mailertable_text(),
        AUTHINFO: render_authinfo(AUTHINFO_ENTRIES[variant]),
    }
