"""The lab's provider (labenv.provider) in process, as a mail client sees it.

Each test serves the provider's protocol with aiosmtpd's Controller on 127.0.0.1 (a
free port standing for 25 or 587), talks to it with smtplib, and reads the record the
provider keeps in a temporary folder. No Docker.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import tarfile
import threading
import time
from contextlib import contextmanager, suppress

import pytest
from aiosmtpd.controller import Controller

from labenv.provider import ctl
from labenv.provider.server import (
    AUTH_BAD,
    AUTH_REFUSED,
    AUTHZ_REFUSED,
    LOCAL_ERROR,
    MX,
    SUBMISSION,
    Provider,
    tls_context,
)
from labenv.provider.state import Store
from labenv.sendmail.secrets import CREDENTIALS, MASK

USER, PASSWORD = "user_name", "s3cret-Pw"
SECRETS = [PASSWORD, *(base64.b64encode(s.encode()).decode() for s in
                       (PASSWORD, f"\0{USER}\0{PASSWORD}", f"{USER}\0{USER}\0{PASSWORD}",
                        f"other\0{USER}\0{PASSWORD}"))]
MESSAGE = "From: root@somedom.com\r\nTo: bob@example.com\r\nSubject: hello\r\n\r\nthe body line\r\n"


def code_text(reply: str) -> tuple[int, bytes]:
    """A reply constant as smtplib returns it: (code, text)."""
    code, _, text = reply.partition(" ")
    return int(code), text.encode()


@pytest.fixture(scope="module")
def server_tls(tmp_path_factory) -> ssl.SSLContext:
    """The provider's TLS context, from a self-signed certificate made for the module."""
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command to make a certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=relayhost.somedom.com",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return tls_context(str(cert), str(key))


@pytest.fixture
def store(tmp_path) -> Store:
    store = Store(tmp_path / "var", tmp_path / "run")
    store.init()
    store.update(users={USER: PASSWORD})
    return store


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(probe, timeout: float = 3.0):
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return value


def sessions(store: Store, count: int = 1) -> list[dict]:
    """The record once `count` sessions are in it (the server writes it when a client leaves)."""
    return wait_for(lambda: (lambda s: s if len(s) >= count else None)(store.sessions()))


class ProviderController(Controller):
    """aiosmtpd's Controller serving one of a Provider's ports: its protocol for each connection."""

    def __init__(self, provider: Provider, port: int) -> None:
        super().__init__(provider.handler, hostname="127.0.0.1", port=free_port())
        self.provider, self.service_port = provider, port

    def factory(self):
        return self.provider.protocol(self.service_port)


@pytest.fixture
def serve(store, server_tls):
    """serve(port, profile="provider") -> the local port of that profile's `port`."""
    controllers = []

    def start(port: int, profile: str = "provider") -> int:
        hostname = "relayhost.somedom.com" if profile == "provider" else "mailhost.private.lan"
        controller = ProviderController(Provider(profile, hostname, server_tls, store), port)
        controller.start()
        controllers.append(controller)
        sessions(store)  # the Controller's own check that the server answers
        store.clear_sessions()
        return controller.port

    yield start
    for controller in controllers:
        controller.stop()


def client_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


@contextmanager
def client(port: int, *, tls: bool = True):
    smtp = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test", timeout=5)
    try:
        smtp.ehlo()
        if tls:
            smtp.starttls(context=client_tls())
            smtp.ehlo()
        yield smtp
    finally:
        with suppress(smtplib.SMTPServerDisconnected):
            smtp.quit()


def auth(smtp: smtplib.SMTP, mechanism: str = "PLAIN", user: str = USER, password: str = PASSWORD,
         initial: bool = True) -> tuple[int, bytes]:
    smtp.user, smtp.password = user, password
    method = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
    try:
        return smtp.auth(mechanism, method, initial_response_ok=initial)
    except smtplib.SMTPAuthenticationError as error:
        return error.smtp_code, error.smtp_error


def plain(smtp: smtplib.SMTP, authzid: str, user: str = USER, password: str = PASSWORD) -> tuple[int, bytes]:
    blob = base64.b64encode(f"{authzid}\0{user}\0{password}".encode()).decode()
    return smtp.docmd("AUTH", f"PLAIN {blob}")


def lines(session: dict, direction: str) -> list[str]:
    return [entry["line"] for entry in session["transcript"] if entry["dir"] == direction]


# -- Submission on 587 ------------------------------------------------------------------------

def test_587_wants_starttls_before_auth_and_mail(serve, store):
    port = serve(SUBMISSION)
    with client(port, tls=False) as smtp:
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
        assert plain(smtp, "")[0] == 530
        assert smtp.mail("root@somedom.com") == (530, b"Must issue a STARTTLS command first")
        smtp.starttls(context=client_tls())
        smtp.ehlo()
        assert smtp.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
    session = sessions(store)[0]
    assert session["port"] == SUBMISSION and session["tls"].startswith("TLSv1.")
    assert session["ehlo"] == "client.test" and session["peer"][0] == "127.0.0.1"
    assert session["auth"] is None and lines(session, "S")[0].startswith("220 relayhost.somedom.com ESMTP")


def test_587_wants_auth_before_mail(serve):
    with client(serve(SUBMISSION)) as smtp:
        assert smtp.mail("root@somedom.com") == (530, b"5.7.0 Authentication required")


def test_bad_password_is_535(serve, store):
    with client(serve(SUBMISSION)) as smtp:
        assert auth(smtp, "PLAIN", password="wrong") == code_text(AUTH_BAD)
        assert auth(smtp, "LOGIN", user="nobody", initial=False) == code_text(AUTH_BAD)
    assert sessions(store)[0]["auth"] == {"mechanism": "LOGIN", "authzid": None, "authcid": "nobody",
                                          "success": False, "reason": "bad credentials"}


@pytest.mark.parametrize("mechanism, initial", [("PLAIN", True), ("PLAIN", False),
                                                ("LOGIN", True), ("LOGIN", False)])
def test_auth_then_mail_with_auth_param_is_recorded(serve, store, mechanism, initial):
    with client(serve(SUBMISSION)) as smtp:
        assert auth(smtp, mechanism, initial=initial)[0] == 235
        assert smtp.sendmail("root@somedom.com", ["bob@example.com"], MESSAGE,
                             mail_options=["AUTH=<>"]) == {}
    session = sessions(store)[0]
    assert session["auth"] == {"mechanism": mechanism, "authzid": None, "authcid": USER,
                               "success": True, "reason": None}
    message = session["messages"][0]
    assert message["queue_id"] == "R000001" and message["rcpt_tos"] == ["bob@example.com"]
    assert message["auth_param"] == "<>" and "AUTH=<>" in message["mail_options"]
    assert message["authenticated_as"] == USER and message["tls"] == session["tls"]
    assert message["headers"]["Subject"] == "hello" and "the body line" in message["data"]
    if mechanism == "LOGIN":
        assert "334 VXNlcm5hbWU6" in lines(session, "S") or initial  # "Username:"
        assert "334 UGFzc3dvcmQ6" in lines(session, "S")             # "Password:"


def test_the_record_never_holds_a_credential(serve, store):
    port = serve(SUBMISSION)
    for mechanism, initial in [("PLAIN", True), ("PLAIN", False), ("LOGIN", True), ("LOGIN", False)]:
        with client(port) as smtp:
            assert auth(smtp, mechanism, initial=initial)[0] == 235
            smtp.sendmail("root@somedom.com", ["bob@example.com"], MESSAGE)
    with client(port) as smtp:
        assert plain(smtp, "other")[0] == 235
    record = sessions(store, 5)
    shown = io.StringIO()
    ctl.main(["sessions"], store, shown)
    for text in (json.dumps(record), shown.getvalue(), store.sessions_file.read_text()):
        assert not [secret for secret in SECRETS if secret in text]
    client_lines = [line for session in record for line in lines(session, "C")]
    assert "AUTH PLAIN " + CREDENTIALS in client_lines and "AUTH LOGIN " + CREDENTIALS in client_lines
    assert client_lines.count(CREDENTIALS) == 4  # PLAIN after its 334; LOGIN: a user, two passwords
    assert "data" in client_lines and not [line for line in client_lines if "body line" in line]


def test_strict_authzid(serve, store):
    port = serve(SUBMISSION)
    with client(port) as smtp:
        assert plain(smtp, "other")[0] == 235
    store.update(strict_authzid=True)
    with client(port) as smtp:
        assert plain(smtp, "other") == code_text(AUTHZ_REFUSED)
        assert plain(smtp, USER)[0] == 235
    first, second = sessions(store, 2)
    assert first["auth"]["authzid"] == "other" and first["auth"]["success"]
    assert second["auth"] == {"mechanism": "PLAIN", "authzid": USER, "authcid": USER,
                              "success": True, "reason": None}


# -- the fault knobs --------------------------------------------------------------------------

def test_reject_auth_is_454(serve, store):
    store.update(reject_auth=True)
    with client(serve(SUBMISSION)) as smtp:
        assert auth(smtp, "PLAIN") == code_text(AUTH_REFUSED)
        assert auth(smtp, "LOGIN", initial=False) == code_text(AUTH_REFUSED)
    assert sessions(store)[0]["auth"] == {"mechanism": "LOGIN", "success": False,
                                          "reason": "AUTH refused by the provider's knob"}


def test_strip_starttls_offers_auth_in_the_clear_as_a_man_in_the_middle_would(serve, store):
    store.update(strip_starttls=True)
    port = serve(SUBMISSION)
    with client(port, tls=False) as smtp:
        assert not smtp.has_extn("starttls") and smtp.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        assert smtp.mail("root@somedom.com") == (530, b"5.7.0 Authentication required")
        smtp.rset()
        assert auth(smtp, "PLAIN")[0] == 235
        assert smtp.sendmail("root@somedom.com", ["bob@example.com"], MESSAGE) == {}
    session = sessions(store)[0]
    assert session["tls"] is None and session["messages"][0]["authenticated_as"] == USER
    store.update(strip_starttls=False)
    with client(port, tls=False) as smtp:
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")


def test_fail_421_at_connect_then_recovers(serve, store):
    port = serve(SUBMISSION)
    store.update(faults={"code": 421, "count": 2})
    for _ in range(2):
        with pytest.raises(smtplib.SMTPConnectError) as refused:
            smtplib.SMTP("127.0.0.1", port, timeout=5)
        assert refused.value.smtp_code == 421
        assert b"relayhost.somedom.com Service not available" in refused.value.smtp_error
    with client(port) as smtp:
        assert auth(smtp)[0] == 235
    assert store.knobs()["faults"] == {"code": None, "count": 0}
    record = sessions(store, 3)
    assert [s["transcript"][0]["line"][:4] for s in record] == ["421 ", "421 ", "220 "]
    assert record[0]["port"] == SUBMISSION and record[0]["messages"] == []


def test_fail_451_at_mail_then_recovers(serve, store):
    port = serve(SUBMISSION)
    store.update(faults={"code": 451, "count": 1})
    with client(port) as smtp:
        assert auth(smtp)[0] == 235
        assert smtp.mail("root@somedom.com", ["AUTH=<>"]) == code_text(LOCAL_ERROR)
    with client(port) as smtp:
        assert auth(smtp)[0] == 235
        assert smtp.sendmail("root@somedom.com", ["bob@example.com"], MESSAGE) == {}
    failed, delivered = sessions(store, 2)
    assert failed["messages"] == [] and len(delivered["messages"]) == 1


def test_down_and_up_follow_the_listening_knob(store, server_tls):
    listen = {MX: free_port(), SUBMISSION: free_port()}
    provider = Provider("provider", "relayhost.somedom.com", server_tls, store, host="127.0.0.1",
                        listen=listen)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    running = asyncio.run_coroutine_threadsafe(provider.run(poll=0.02), loop)
    try:
        wait_for(lambda: store.status().get("listening"))
        assert store.status()["ports"] == [MX, SUBMISSION]
        out = io.StringIO()
        ctl.main(["down"], store, out)
        assert json.loads(out.getvalue())["listening"] is False
        for port in listen.values():
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
        ctl.main(["up"], store, io.StringIO())
        for port in listen.values():
            with client(port, tls=False) as smtp:
                assert smtp.noop()[0] == 250
        store.update(listening=False, reject_auth=True)
        ctl.main(["reset"], store, io.StringIO())
        assert store.knobs()["reject_auth"] is False and store.status()["listening"] is True
    finally:
        running.cancel()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


# -- port 25 and the sink ---------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["provider", "sink"])
def test_port_25_takes_mail_without_auth(serve, store, profile):
    with client(serve(MX, profile), tls=False) as smtp:
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
        assert smtp.sendmail("root@somedom.com", ["bob@example.com"], MESSAGE) == {}
    session = sessions(store)[0]
    assert session["port"] == MX and session["tls"] is None and session["auth"] is None
    host = "relayhost.somedom.com" if profile == "provider" else "mailhost.private.lan"
    assert lines(session, "S")[0].startswith(f"220 {host} ")
    message = session["messages"][0]
    assert message["authenticated_as"] is None and message["tls"] is None


def test_sink_listens_on_25_only(store, server_tls):
    assert list(Provider("sink", "mailhost.private.lan", server_tls, store).listen) == [MX]
    assert list(Provider("provider", "relayhost.somedom.com", server_tls, store).listen) == [MX, SUBMISSION]


# -- relayhost-ctl ----------------------------------------------------------------------------

def run_ctl(store: Store, *argv: str):
    out = io.StringIO()
    assert ctl.main(list(argv), store, out) == 0
    return out.getvalue(), json.loads(out.getvalue())


def test_ctl_shows_knobs_never_passwords(store):
    text, users = run_ctl(store, "users", "alice=pw-one", "bob=pw-two")
    assert users["users"] == {"alice": MASK, "bob": MASK} and "pw-" not in text
    assert store.knobs()["users"] == {"alice": "pw-one", "bob": "pw-two"}
    text, state = run_ctl(store, "state")
    assert state["users"] == {"alice": MASK, "bob": MASK} and "pw-" not in text
    assert run_ctl(store, "reject-auth", "on")[1]["reject_auth"] is True
    assert run_ctl(store, "strict-authzid", "on")[1]["strict_authzid"] is True
    assert run_ctl(store, "strip-starttls", "on")[1]["strip_starttls"] is True
    assert run_ctl(store, "fail", "451", "3")[1]["faults"] == {"code": 451, "count": 3}
    assert run_ctl(store, "clear")[1] == {"cleared": True} and run_ctl(store, "sessions")[1] == []


@pytest.mark.parametrize("argv, says", [
    (["fail", "500", "1"], "421|451"), (["reject-auth", "maybe"], "on or off"),
    (["users", "nopassword"], "USER=PASSWORD"), (["sessions", "x"], "takes no arguments"),
    (["frobnicate"], "unknown command")])
def test_ctl_refuses_bad_commands(store, argv, says):
    with pytest.raises(SystemExit, match=says):
        ctl.main(argv, store, io.StringIO())


# -- the image's copy -------------------------------------------------------------------------

def test_the_images_tree_imports_with_the_standard_library_and_aiosmtpd_only(tmp_path):
    from labenv import build

    with tarfile.open(fileobj=io.BytesIO(build.context_tar("relayhost"))) as tar:
        tar.extractall(tmp_path, filter="data")
    assert (tmp_path / "labenv" / "__init__.py").read_text() == ""
    probe = ("import sys, labenv, labenv.provider.server, labenv.provider.ctl; "
             "print(labenv.__file__, sorted(m for m in ('docker', 'pandas', 'helpers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=True)
    assert done.stdout.split() == [str(tmp_path / "labenv" / "__init__.py"), "[]"]


def test_the_relayhost_tag_follows_the_package_files(tmp_path, monkeypatch):
    from labenv import build

    for part in ("provider", "sendmail", "images/relayhost"):
        shutil.copytree(build.PACKAGE / part, tmp_path / part, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(build, "PACKAGE", tmp_path)
    monkeypatch.setattr(build, "HERE", tmp_path / "images")
    first = build.tag_for("relayhost", "bookworm")
    assert "labenv/provider/server.py" in build.context("relayhost")
    for changed in ("provider/server.py", "sendmail/secrets.py"):
        (tmp_path / changed).write_text((tmp_path / changed).read_text() + "# changed\n")
        assert build.tag_for("relayhost", "bookworm") != first
        first = build.tag_for("relayhost", "bookworm")
    (tmp_path / "sendmail" / "mc.py").write_text("# not in the image\n")
    assert build.tag_for("relayhost", "bookworm") == first
