"""The lab's mail provider: Submission on 587, plain SMTP on 25, every session recorded.

Profiles:
  provider  relayhost.somedom.com: 587 requires STARTTLS before AUTH and AUTH before
            MAIL (PLAIN/LOGIN against the users knob); 25 accepts mail for anyone, as
            any Internet mail exchanger does. With the strip-starttls knob on, both
            ports answer as a man in the middle would: no STARTTLS, AUTH in the clear.
  sink      a LAN host (mailhost.private.lan, ...): 25 only, no AUTH, records mail.

Built on aiosmtpd: authentication is the `authenticate` function (aiosmtpd's
``authenticator``) plus the handler's ``auth_PLAIN``, which keeps the authorization
identity; the knobs act in the handler's ``handle_AUTH`` and ``handle_MAIL`` hooks
and in `Provider.protocol`. `RecordingSMTP` adds only what aiosmtpd has no hook for:
the session record and RFC 4954's ``AUTH=`` on MAIL.

Each finished session is appended to the `Store`; the knobs are read when a
session starts. Imports only the standard library, aiosmtpd and the lab's masker.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import logging
import os
import re
import ssl
import time
import warnings
from email.parser import BytesHeaderParser
from typing import NamedTuple

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

from labenv.provider.state import Store
from labenv.sendmail.secrets import CREDENTIALS, mask_smtp_line

# Replies, by the situation that produces them.
AUTH_OK = "235 2.7.0 Authentication successful"
AUTH_BAD = "535 5.7.8 Authentication credentials invalid"
AUTHZ_REFUSED = "535 5.7.8 Authorization identity not allowed"
AUTH_REFUSED = "454 4.7.0 Temporary authentication failure"
BAD_BASE64 = "501 5.5.2 Can't decode base64"
BAD_PLAIN = "501 5.5.2 Can't split auth value"
CLOSING = "421 4.3.2 {host} Service not available, closing channel"
LOCAL_ERROR = "451 4.3.0 Temporary local problem, try again later"
QUEUED = "250 2.0.0 Ok: queued as {qid}"

MX, SUBMISSION = 25, 587
PROFILES = {"provider": (MX, SUBMISSION), "sink": (MX,)}
IDENT = "ESMTP lab provider"
MAX_KEPT_BODY = 256 * 1024
_AUTH_PARAM = re.compile(r"\sAUTH=(\S+)", re.IGNORECASE)


def new_record(port: int) -> dict:
    """An empty session record: what `relayhost-ctl sessions` shows for one connection."""
    return {"port": port, "started": time.time(), "peer": None, "tls": None, "cipher": None,
            "ehlo": None, "auth": None, "transcript": [], "messages": []}


def note(record: dict, direction: str, line: str) -> None:
    """One transcript line: C (client) or S (server), seconds since the session started."""
    record["transcript"].append({"t": round(time.time() - record["started"], 3),
                                 "dir": direction, "line": line})


def xtext_decode(value: str) -> str:
    """RFC 3461 xtext decoded (``+2B`` is ``+``)."""
    return re.sub(r"\+([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


class PlainLogin(NamedTuple):
    """PLAIN's three fields; aiosmtpd's LoginPassword has no room for the authorization identity."""

    login: bytes
    password: bytes
    authzid: bytes = b""


def authenticate(server: RecordingSMTP, session, envelope, mechanism: str, auth_data) -> AuthResult:
    """aiosmtpd's ``authenticator``: the login against the users knob, the authzid against
    strict-authzid; the outcome (never the password) goes to the session record."""
    authzid = getattr(auth_data, "authzid", b"").decode("utf-8", "replace")
    authcid = auth_data.login.decode("utf-8", "replace")
    password = auth_data.password.decode("utf-8", "replace")
    reason = None
    if server.knobs.get("users", {}).get(authcid) != password:
        reason = "bad credentials"
    elif authzid and authzid != authcid and server.knobs.get("strict_authzid"):
        reason = f"authorization identity {authzid!r} differs from {authcid!r}"
    server.record["auth"] = {"mechanism": mechanism, "authzid": authzid or None, "authcid": authcid,
                             "success": reason is None, "reason": reason}
    if reason is None:
        return AuthResult(success=True, auth_data=LoginPassword(authcid.encode(), b""), message=AUTH_OK)
    # handled=False: aiosmtpd sends the message (handled=True would leave the client waiting).
    message = AUTH_BAD if reason == "bad credentials" else AUTHZ_REFUSED
    return AuthResult(success=False, handled=False, message=message)


class Recorder:
    """The aiosmtpd handler: the knobs' refusals, PLAIN with its authzid, and every message kept."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def handle_AUTH(self, server: RecordingSMTP, session, envelope, args: list[str]):
        if not server.knobs.get("reject_auth"):
            return MISSING  # go on with the mechanism
        server.record["auth"] = {"mechanism": args[0], "success": False,
                                 "reason": "AUTH refused by the provider's knob"}
        return AUTH_REFUSED

    async def auth_PLAIN(self, server: RecordingSMTP, args: list[str]) -> AuthResult:
        """RFC 4616 PLAIN, given with the command or after a 334 challenge."""
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:  # aiosmtpd has answered the '*' or the bad base64
                return AuthResult(success=False, handled=True)
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except (binascii.Error, ValueError):
                await server.push(BAD_BASE64)
                return AuthResult(success=False, handled=True)
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await server.push(BAD_PLAIN)
            return AuthResult(success=False, handled=True)
        authzid, login, password = parts
        return authenticate(server, server.session, server.envelope, "PLAIN",
                            PlainLogin(login, password, authzid))

    def handle_STARTTLS(self, server: RecordingSMTP, session, envelope) -> bool:
        """(aiosmtpd calls this hook synchronously.) Notes the TLS version and cipher."""
        ssl_object = (session.ssl or {}).get("ssl_object")
        if ssl_object is not None:
            server.record["tls"] = ssl_object.version()
            server.record["cipher"] = (ssl_object.cipher() or [None])[0]
        return True

    async def handle_MAIL(self, server: RecordingSMTP, session, envelope, address: str,
                          mail_options: list[str]) -> str:
        if server.fail_mail:
            return LOCAL_ERROR
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: RecordingSMTP, session, envelope) -> str:
        body = envelope.original_content or envelope.content or b""
        headers = BytesHeaderParser().parsebytes(body)
        qid = self.store.next_queue_id()
        server.record["messages"].append({
            "queue_id": qid,
            "received": time.time(),
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "auth_param": getattr(envelope, "auth_param", None),
            "rcpt_tos": envelope.rcpt_tos,
            "authenticated_as": (server.record.get("auth") or {}).get("authcid")
            if session.authenticated else None,
            "tls": server.record["tls"],
            "size": len(body),
            "headers": {k: str(v) for k, v in headers.items()},
            "data": body[:MAX_KEPT_BODY].decode("utf-8", "replace"),
        })
        return QUEUED.format(qid=qid)


class RecordingSMTP(SMTP):
    """aiosmtpd's SMTP plus the session record and RFC 4954's ``AUTH=`` on MAIL.

    Client lines are recorded as they arrive (``data_received``, the asyncio protocol's
    entry point; after STARTTLS it sees the decrypted stream). A reply 334 makes the
    next client line an AUTH answer, recorded as CREDENTIALS; a reply 354 makes the
    message body go unrecorded up to its final dot.
    """

    AuthLoginUsernameChallenge = "Username:"
    AuthLoginPasswordChallenge = "Password:"

    def __init__(self, handler, *, port: int, store: Store, knobs: dict, fail_mail: bool = False,
                 **kwargs) -> None:
        super().__init__(handler, **kwargs)
        self.port = port
        self.store = store
        self.knobs = knobs
        self.fail_mail = fail_mail
        self.record = new_record(port)
        self._pending = b""
        self._client_mode = "command"  # command | auth | data

    def data_received(self, data: bytes) -> None:
        *lines, self._pending = (self._pending + data).split(b"\n")
        self._pending = self._pending[-4096:]
        for raw in lines:
            self._client_line(raw.rstrip(b"\r").decode("utf-8", "replace"))
        super().data_received(data)

    def _client_line(self, text: str) -> None:
        if self._client_mode == "data":
            if text == ".":
                self._client_mode = "command"
            return
        if self._client_mode == "auth":
            self._client_mode = "command"
            text = text if text == "*" else CREDENTIALS
        note(self.record, "C", mask_smtp_line(text))

    async def push(self, status) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        for line in text.split("\r\n"):
            note(self.record, "S", line)
        if text.startswith("334"):
            self._client_mode = "auth"
        elif text.startswith("354"):
            self._client_mode = "data"
        await super().push(status)

    async def smtp_MAIL(self, arg: str | None) -> None:
        """MAIL with RFC 4954's ``AUTH=<identity>`` (sendmail sends it after AUTH), which
        aiosmtpd would refuse as an unknown parameter: kept on the envelope as ``auth_param``."""
        match = _AUTH_PARAM.search(arg or "")
        if match:
            arg = arg[:match.start()] + arg[match.end():]
        await super().smtp_MAIL(arg)
        if match and self.envelope.mail_from:
            self.envelope.auth_param = xtext_decode(match.group(1))
            self.envelope.mail_options.append(match.group(0).strip().upper())

    def connection_lost(self, error) -> None:
        super().connection_lost(error)
        self.record["peer"] = list(self.session.peer or [])[:2] or None
        self.record["ehlo"] = self.session.host_name
        self.record["ended"] = time.time()
        self.store.append_session(self.record)


class Refusal(asyncio.Protocol):
    """A connection the `fail 421` knob turns away: 421 instead of the greeting, then closed."""

    def __init__(self, store: Store, port: int, hostname: str) -> None:
        self.store = store
        self.port = port
        self.hostname = hostname

    def connection_made(self, transport) -> None:
        record = new_record(self.port)
        record["peer"] = list(transport.get_extra_info("peername") or [])[:2] or None
        line = CLOSING.format(host=self.hostname)
        note(record, "S", line)
        transport.write(line.encode() + b"\r\n")
        transport.close()
        record["ended"] = time.time()
        self.store.append_session(record)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class Provider:
    """One profile's listening sockets, following the `listening` knob.

    ``listen`` maps each of the profile's ports to the port to bind (tests bind others).
    """

    def __init__(self, profile: str, hostname: str, context: ssl.SSLContext | None, store: Store, *,
                 host: str | None = None, listen: dict[int, int] | None = None) -> None:
        self.profile = profile
        self.hostname = hostname
        self.context = context
        self.store = store
        self.host = host
        self.listen = listen or {port: port for port in PROFILES[profile]}
        self.handler = Recorder(store)
        self.servers: list[asyncio.AbstractServer] = []

    def protocol(self, port: int) -> asyncio.Protocol:
        """The protocol for one new connection to `port`, made with the knobs as they are now."""
        fault = self.store.take_fault()
        if fault == 421:
            return Refusal(self.store, port, self.hostname)
        submission = self.profile == "provider" and port == SUBMISSION
        knobs = self.store.knobs()
        # strip-starttls: what a man in the middle shows the client when it keeps the TLS
        # to the provider to itself: no STARTTLS, and the provider's AUTH in the clear.
        stripped = bool(knobs.get("strip_starttls"))
        with warnings.catch_warnings():  # aiosmtpd warns of AUTH without TLS: here it is the point
            warnings.simplefilter("ignore", UserWarning)
            return RecordingSMTP(
                self.handler, port=port, store=self.store, knobs=knobs, fail_mail=fault == 451,
                hostname=self.hostname, ident=IDENT, tls_context=None if stripped else self.context,
                require_starttls=submission and not stripped, auth_required=submission,
                auth_require_tls=not stripped, authenticator=authenticate,
            )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for port, bind in self.listen.items():
            self.servers.append(await loop.create_server(
                lambda port=port: self.protocol(port), host=self.host, port=bind, reuse_address=True))
        self.store.write_status(listening=True, ports=list(self.listen))

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
            await server.wait_closed()
        self.servers = []
        self.store.write_status(listening=False, ports=[])

    async def run(self, poll: float = 0.1) -> None:
        """Serve until cancelled, printing the ready line once, stopping and resuming with the knob."""
        await self.start()
        print(f"relayhost: {self.profile} {self.hostname} listening on "
              f"{', '.join(map(str, self.listen))}", flush=True)
        try:
            while True:
                want = self.store.knobs().get("listening", True)
                if want and not self.servers:
                    await self.start()
                elif not want and self.servers:
                    await self.stop()
                await asyncio.sleep(poll)
        finally:
            for server in self.servers:
                server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="provider")
    parser.add_argument("--hostname", default=os.uname().nodename)
    parser.add_argument("--cert", default="/etc/relayhost/tls/cert.pem")
    parser.add_argument("--key", default="/etc/relayhost/tls/key.pem")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    store = Store()
    store.init()
    context = tls_context(args.cert, args.key) if os.path.exists(args.cert) else None
    asyncio.run(Provider(args.profile, args.hostname, context, store).run())
