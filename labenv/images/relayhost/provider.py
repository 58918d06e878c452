#!/usr/bin/env python3
"""The lab's mail provider: Submission on 587, plain SMTP on 25, every session recorded.

Profiles:
  provider  relayhost.somedom.com: 587 requires STARTTLS before AUTH and AUTH before
            MAIL (PLAIN/LOGIN against the configured users); 25 accepts mail for
            anyone, as any Internet mail exchanger does.
  sink      a LAN host (mailhost.private.lan, ...): 25 only, no AUTH, records mail.

Each finished session is appended as one JSON object to SESSIONS. The knobs in
STATE (users, refuse AUTH, fail the next N sessions, stop listening) are read at
the start of every session; `relayhost-ctl` edits them.
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
import sys
import time
from email.parser import BytesHeaderParser

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import providerstate  # noqa: E402  (lives beside this file in the image)

# Reply texts, by the situation that produces them.
AUTH_OK = "235 2.7.0 Authentication successful"
AUTH_BAD = "535 5.7.8 Authentication credentials invalid"
AUTH_REFUSED = "454 4.7.0 Temporary authentication failure"
AUTH_ABORTED = "501 5.7.0 Auth aborted"
BAD_BASE64 = "501 5.5.2 Cannot decode base64"
BAD_PLAIN = "501 5.5.2 Cannot split PLAIN credentials"
AUTHZ_REFUSED = "535 5.7.8 Authorization identity not allowed"
CLOSING = "421 4.3.2 {host} Service not available, closing channel"
LOCAL_ERROR = "451 4.3.0 Temporary local problem, try again later"
QUEUED = "250 2.0.0 Ok: queued as {qid}"

MAX_KEPT_BODY = 256 * 1024
log = logging.getLogger("relayhost")


class _RecordingReader:
    """Wraps the session's stream reader so every client line reaches the record."""

    def __init__(self, inner: asyncio.StreamReader, on_line) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_on_line", on_line)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __setattr__(self, name, value):  # STARTTLS swaps the transport underneath
        setattr(self._inner, name, value)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        line = await self._inner.readuntil(separator)
        self._on_line(line)
        return line

    async def readline(self) -> bytes:
        line = await self._inner.readline()
        self._on_line(line)
        return line


class RecordingSMTP(SMTP):
    """aiosmtpd's SMTP plus a session record, RFC 4954 `AUTH=` on MAIL, and knobs."""

    def __init__(self, handler, *, port: int, state: dict, **kwargs) -> None:
        super().__init__(handler, **kwargs)
        self.port = port
        self.state = state
        self.started = time.time()
        self.record: dict = {
            "port": port,
            "started": self.started,
            "peer": None,
            "tls": None,
            "cipher": None,
            "ehlo": None,
            "auth": None,
            "transcript": [],
            "messages": [],
        }
        self._client_mode = "command"  # command | auth | data
        self._fail_mail = False

    # -- recording ------------------------------------------------------------
    def _note(self, direction: str, text: str) -> None:
        self.record["transcript"].append(
            {"t": round(time.time() - self.started, 3), "dir": direction, "line": text}
        )

    def _client_connected_cb(self, reader, writer):
        super()._client_connected_cb(_RecordingReader(reader, self._on_client_line), writer)

    def _on_client_line(self, raw: bytes) -> None:
        if self._client_mode == "data":
            return
        text = raw.rstrip(b"\r\n").decode("utf-8", "replace")
        if self._client_mode == "auth":
            text = "*" if text == "*" else "<credentials, base64>"
        elif text.upper().startswith("AUTH "):
            words = text.split()
            text = " ".join(words[:2] + (["<credentials, base64>"] if len(words) > 2 else []))
        self._note("C", text)

    async def push(self, status):
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        for line in text.split("\r\n"):
            self._note("S", line)
        await super().push(status)

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if self.record["peer"] is None and self.session.peer:
            self.record["peer"] = list(self.session.peer)[:2]
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self.record["tls"] = ssl_object.version()
            self.record["cipher"] = (ssl_object.cipher() or [None])[0]

    def connection_lost(self, error) -> None:
        super().connection_lost(error)
        self.record["ehlo"] = self.session.host_name
        self.record["ended"] = time.time()
        providerstate.append_session(self.record)

    # -- knobs ----------------------------------------------------------------
    async def _handle_client(self):
        fault = providerstate.take_fault(self.port)
        if fault == 421:
            await self.push(CLOSING.format(host=self.hostname))
            self.transport.close()
            return
        self._fail_mail = fault == 451
        await super()._handle_client()

    # -- protocol additions -----------------------------------------------------
    def _getparams(self, params):
        """Accept RFC 4954's AUTH= on MAIL (real sendmail sends it after AUTH)."""
        result = super()._getparams(params)
        if result is not None and "AUTH" in result:
            self.envelope.auth_param = xtext_decode(str(result.pop("AUTH")))
        return result

    async def smtp_MAIL(self, arg):
        if self._fail_mail:
            await self.push(LOCAL_ERROR)
            return
        await super().smtp_MAIL(arg)

    async def smtp_DATA(self, arg):
        self._client_mode = "data"
        try:
            await super().smtp_DATA(arg)
        finally:
            self._client_mode = "command"

    async def challenge_auth(self, challenge, encode_to_b64=True, log_client_response=False):
        self._client_mode = "auth"
        try:
            return await super().challenge_auth(challenge, encode_to_b64, False)
        finally:
            self._client_mode = "command"

    async def smtp_AUTH(self, arg):
        if self.state.get("reject_auth"):
            self.record["auth"] = {"mechanism": (arg or "").split(" ")[0], "success": False,
                                   "reason": "AUTH refused by the provider's knob"}
            await self.push(AUTH_REFUSED)
            return
        await super().smtp_AUTH(arg)

    async def _credentials(self, args, prompt: str | bytes):
        """The decoded blob given with the command, or asked for with a 334 challenge."""
        if len(args) == 1:
            blob = await self.challenge_auth(prompt)
            return blob if isinstance(blob, bytes) else None
        try:
            return base64.b64decode(args[1].encode(), validate=True)
        except (binascii.Error, ValueError):
            await self.push(BAD_BASE64)
            return None

    async def auth_PLAIN(self, _, args):
        blob = await self._credentials(args, "")
        if blob is None:
            return AuthResult(success=False, handled=True)
        parts = blob.split(b"\x00")
        if len(parts) != 3:
            await self.push(BAD_PLAIN)
            return AuthResult(success=False, handled=True)
        authzid, authcid, password = (p.decode("utf-8", "replace") for p in parts)
        return self._check("PLAIN", authzid, authcid, password)

    async def auth_LOGIN(self, _, args):
        user = await self._credentials(args, "Username:")
        if user is None:
            return AuthResult(success=False, handled=True)
        password = await self.challenge_auth("Password:")
        if not isinstance(password, bytes):
            return AuthResult(success=False, handled=True)
        return self._check("LOGIN", "", user.decode("utf-8", "replace"),
                           password.decode("utf-8", "replace"))

    def _check(self, mechanism: str, authzid: str, authcid: str, password: str) -> AuthResult:
        users = self.state.get("users", {})
        ok = users.get(authcid) == password
        reason = None if ok else "bad credentials"
        if ok and authzid and authzid != authcid and self.state.get("strict_authzid"):
            ok, reason = False, f"authorization identity {authzid!r} differs from {authcid!r}"
        self.record["auth"] = {"mechanism": mechanism, "authzid": authzid or None,
                               "authcid": authcid, "success": ok, "reason": reason}
        if not ok:
            # handled=False makes aiosmtpd send the reply; handled=True would leave
            # the client waiting for one.
            message = AUTHZ_REFUSED if reason and reason.startswith("authorization") else AUTH_BAD
            return AuthResult(success=False, handled=False, message=message)
        return AuthResult(success=True, auth_data=LoginPassword(authcid.encode(), b""),
                          message=AUTH_OK)


def xtext_decode(value: str) -> str:
    """Decode RFC 3461 xtext (`+2B` is `+`)."""
    return re.sub(r"\+([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


class Recorder:
    """The aiosmtpd handler: accepts every recipient and keeps each message."""

    async def handle_DATA(self, server: RecordingSMTP, session, envelope):
        body = envelope.original_content or envelope.content or b""
        headers = BytesHeaderParser().parsebytes(body)
        qid = providerstate.next_queue_id()
        message = {
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
        }
        server.record["messages"].append(message)
        return QUEUED.format(qid=qid)


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class Provider:
    """Owns the listening sockets; follows the `listening` knob."""

    def __init__(self, profile: str, hostname: str, context: ssl.SSLContext | None) -> None:
        self.profile = profile
        self.hostname = hostname
        self.context = context
        self.handler = Recorder()
        self.servers: list[asyncio.base_events.Server] = []

    def factory(self, port: int):
        def make():
            state = providerstate.read_state()
            submission = self.profile == "provider" and port == 587
            return RecordingSMTP(
                self.handler,
                port=port,
                state=state,
                hostname=self.hostname,
                ident="ESMTP lab provider",
                tls_context=self.context,
                require_starttls=submission,
                auth_required=submission,
                auth_require_tls=True,
                decode_data=False,
                authenticator=None,
            )
        return make

    def ports(self) -> list[int]:
        return [25, 587] if self.profile == "provider" else [25]

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        for port in self.ports():
            self.servers.append(await loop.create_server(self.factory(port), port=port,
                                                         reuse_address=True))
        providerstate.write_status(listening=True, ports=self.ports())

    async def stop(self) -> None:
        for server in self.servers:
            server.close()
            await server.wait_closed()
        self.servers = []
        providerstate.write_status(listening=False, ports=[])

    async def run(self) -> None:
        await self.start()
        print(f"relayhost: {self.profile} {self.hostname} listening on "
              f"{', '.join(map(str, self.ports()))}", flush=True)
        while True:
            want = providerstate.read_state().get("listening", True)
            if want and not self.servers:
                await self.start()
            elif not want and self.servers:
                await self.stop()
            await asyncio.sleep(0.1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["provider", "sink"], default="provider")
    parser.add_argument("--hostname", default=os.uname().nodename)
    parser.add_argument("--cert", default="/etc/relayhost/tls/cert.pem")
    parser.add_argument("--key", default="/etc/relayhost/tls/key.pem")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    providerstate.init_state()
    context = tls_context(args.cert, args.key) if os.path.exists(args.cert) else None
    asyncio.run(Provider(args.profile, args.hostname, context).run())


if __name__ == "__main__":
    main()
