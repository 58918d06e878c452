"""The howto's configuration (section 3.1), as files for the mailserver.

Two variants:
  fixed    what current Debian needs for the howto to work: AuthInfo with
           "M:PLAIN LOGIN" (sendmail's default client mechanisms lack PLAIN and
           LOGIN) and without "U:root"; the no-op RELAY_MAILER line left out.
  literal  the howto word for word (adapted only to the lab's provider name):
           it defers every message with a temporary AUTH failure.

    lab.apply_files(howto.files("fixed", current_mc))
"""

from __future__ import annotations

from .errors import LabError

MC = "/etc/mail/sendmail.mc"
MAILERTABLE = "/etc/mail/mailertable"
AUTH_DIR = "/etc/mail/auth"
CLIENT_INFO = "/etc/mail/auth/client-info"
ANCHOR = "MAILER_DEFINITIONS"
# The marked block of knob lines right above MAILER_DEFINITIONS; helpers.mc edits
# the same block.
BLOCK_BEGIN = "dnl # BEGIN relay settings\n"
BLOCK_END = "dnl # END relay settings\n"

PROVIDER = "relayhost.somedom.com"
USER, PASSWORD = "user_name", "password"

MC_LINES = {
    "literal": [
        "include(`/etc/mail/tls/starttls.m4')dnl",
        "define(`RELAY_MAILER',`esmtp')dnl",
        "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl",
        "FEATURE(`mailertable')dnl",
        "MASQUERADE_AS(`somedom.com')dnl",
        "FEATURE(`masquerade_envelope')dnl",
        "FEATURE(`authinfo',`hash /etc/mail/auth/client-info.db')dnl",
    ],
}
MC_LINES["fixed"] = [line for line in MC_LINES["literal"] if "`RELAY_MAILER'" not in line]

MAILERTABLE_TEXT = (
    ".darknet.lan             esmtp:[mailhost.private.lan]\n"
    ".lan                     esmtp:[%1.lan]\n"
    ".                        relay:[relayhost.somedom.com]\n"
)
CLIENT_INFO_TEXT = {
    "literal": f'AuthInfo:{PROVIDER} "U:root" "I:{USER}" "P:{PASSWORD}"\n',
    "fixed": f'AuthInfo:{PROVIDER} "U:{USER}" "I:{USER}" "P:{PASSWORD}" "M:PLAIN LOGIN"\n',
}
VARIANTS = tuple(CLIENT_INFO_TEXT)


def with_block(mc_text: str, lines: list[str]) -> str:
    """`mc_text` with the marked block holding `lines`, right above MAILER_DEFINITIONS."""
    kept, in_block = [], False
    for line in mc_text.splitlines(keepends=True):
        if line == BLOCK_BEGIN:
            in_block = True
        elif line == BLOCK_END:
            in_block = False
        elif not in_block:
            kept.append(line)
    anchors = [i for i, line in enumerate(kept) if line.strip() == ANCHOR]
    if not anchors:
        raise LabError(f"the mailserver's sendmail.mc has no {ANCHOR} line; "
                       "`python -m labenv up` gives a fresh one")
    block = [BLOCK_BEGIN, *(line + "\n" for line in lines), BLOCK_END] if lines else []
    return "".join(kept[:anchors[0]] + block + kept[anchors[0]:])


def files(variant: str, current_mc: str) -> dict[str, str]:
    """sendmail.mc, mailertable and client-info for `variant`."""
    if variant not in VARIANTS:
        raise LabError(f"unknown howto variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return {
        MC: with_block(current_mc, MC_LINES[variant]),
        MAILERTABLE: MAILERTABLE_TEXT,
        CLIENT_INFO: CLIENT_INFO_TEXT[variant],
    }


def apply(lab, variant: str = "fixed") -> str:
    """Apply the howto to the lab's mailserver; returns the make/reload output."""
    current = lab.read_file("mailserver", MC)
    # The howto: mkdir /etc/mail/auth; chmod 700 (Debian ships no such directory).
    lab.exec("mailserver", ["install", "-d", "-m", "700", AUTH_DIR]).check()
    return lab.apply_files(files(variant, current), modes={CLIENT_INFO: 0o600})
