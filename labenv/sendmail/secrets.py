"""Credentials masked wherever the lab shows text: one marker for each kind of secret.

Standard library only: the provider's image carries this module too, so the
provider never records a credential and the notebooks never print one.

    >>> mask_authinfo('AuthInfo:relayhost.somedom.com "U:user_name" "I:user_name" "P:password"')
    'AuthInfo:relayhost.somedom.com "U:user_name" "I:user_name" "P:********"'
    >>> mask_smtp_line("AUTH PLAIN AHVzZXJfbmFtZQBwYXNzd29yZA==")
    'AUTH PLAIN <credentials, base64>'
    >>> mask_users({"user_name": "password"})
    {'user_name': '********'}
"""
from __future__ import annotations

import re

#: What stands in for a password.
MASK = "********"
#: What stands in for base64 credentials in an SMTP dialogue.
CREDENTIALS = "<credentials, base64>"
#: The LOGIN mechanism's first challenge, "Username:" in base64: the answer is no secret.
USERNAME_CHALLENGE = "VXNlcm5hbWU6"

_AUTHINFO_P = re.compile(r'"P([:=])[^"]*"')
_CLIENT = re.compile(r"^((?:050 )?(?:>>>| ~>|  ->) ?)(.*)$")
_SERVER = re.compile(r"^(?:050 )?\s*(?:<<<|<~|<-)?\s*(\d{3})[ -]?(\S*)")


def mask_authinfo(text: str) -> str:
    """An AuthInfo line, client-info file or map value with every P field masked (plain or base64)."""
    return _AUTHINFO_P.sub(lambda m: f'"P{m.group(1)}{MASK}"', text or "")


def mask_smtp_line(line: str) -> str:
    """One client line of an SMTP dialogue with the credentials of ``AUTH <mech> <blob>`` masked."""
    words = line.split(" ")
    if len(words) > 2 and words[0].upper() == "AUTH":
        return " ".join(words[:2] + [CREDENTIALS])
    return line


def mask_dialogue(text: str) -> str:
    """A dialogue as ``sendmail -v`` (or swaks) prints it, every credential masked.

    Masks the blob given with ``AUTH <mechanism>``, each client answer to a ``334``
    challenge (except the LOGIN user name, which is no secret), and the P fields of
    AuthInfo lines. Line count and every other line stay as they were.
    """
    out, challenge = [], None
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        end = line[len(body):]
        client = _CLIENT.match(body)
        if client:
            said = client.group(2)
            if challenge is not None and challenge != USERNAME_CHALLENGE and said not in ("", "*"):
                said = CREDENTIALS
            body = client.group(1) + mask_smtp_line(said)
            challenge = None
        elif server := _SERVER.match(body):
            challenge = server.group(2) if server.group(1) == "334" else None
        out.append(mask_authinfo(body) + end)
    return "".join(out)


def mask_users(users: dict[str, str]) -> dict[str, str]:
    """Logins with their passwords masked: who may log in is shown, the secrets are not."""
    return {user: MASK for user in users}
