"""The CLI without Docker: usage errors in one line, --lab anywhere, the tables it prints."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labenv import cli, engine


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: verb"),
    (["up", "--debian", "jessie"], "invalid choice: 'jessie'"),
    (["exec", "nosuchrole", "--", "true"], "invalid choice: 'nosuchrole'"),
    (["bt"], "the following arguments are required: addresses"),
    (["send", "--to", "a@b"], "the following arguments are required: --from"),
    (["status", "--lab", "UPPER"], "is not valid"),
    (["apply", "everything"], "invalid choice: 'everything'"),
])
def test_usage_errors_exit_2_with_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


@pytest.mark.parametrize("address", ["a@b;rm -rf /", "x\n/try esmtp y", "", "a b@c", "$(id)@x", "a@b`c`"])
def test_hostile_addresses_are_refused_before_any_lab_is_touched(address, capsys):
    assert cli.main(["bt", "--lab", "nosuchlab", address]) == 2
    assert "is not a mail address" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["exec", "--lab", "probe", "mailserver", "--", "hostname"],
    ["exec", "mailserver", "--lab", "probe", "--", "hostname"],
    ["--lab", "probe", "exec", "mailserver", "--", "hostname"],
    ["exec", "mailserver", "--lab=probe", "--", "hostname"],
])
def test_lab_is_taken_before_or_after_the_verb_and_its_arguments(argv):
    args = cli.parse(argv)
    assert (args.lab, args.role, args.cmd) == ("probe", "mailserver", ["hostname"])


def test_lab_after_the_double_dash_belongs_to_the_command():
    args = cli.parse(["exec", "--lab", "a", "mailserver", "--", "echo", "--lab", "b"])
    assert args.lab == "a" and args.cmd == ["echo", "--lab", "b"]


def test_lab_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("LABENV_LAB", "fromenv")
    assert cli.parse(["status"]).lab == "fromenv"


@pytest.mark.parametrize("argv, message", [
    (["status", "--lab", "a", "--lab", "b"], "--lab given twice with different names: a, b"),
    (["labs", "--lab", "a"], "labs does not act on one lab; it takes no --lab"),
    (["setup", "--lab", "a"], "setup does not act on one lab"),
    (["status", "--lab"], "--lab needs a lab name"),
])
def test_lab_is_never_silently_ignored(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_table_lines_up_columns():
    text = cli.table([{"a": "x", "b": None}, {"a": "longer", "b": 2}], ["a", "b"])
    assert text.splitlines() == ["A       B", "x       -", "longer  2"]


DENIED = ("authorization denied by plugin labenv-authz: container listing labenv.lab is not "
          "alice's (only her own labs)")


class _EngineWithAPlugin(BaseHTTPRequestHandler):
    """An engine whose authorization plugin lets a learner ping it and nothing else, as a
    class engine answers a learner's `clean --all` (the same status and body)."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path.endswith("/_ping"):
            self._answer(200, b"OK", "text/plain", {"Api-Version": "1.45"})
        elif path.endswith("/version"):
            self._answer(200, json.dumps({"ApiVersion": "1.45", "Version": "stand-in"}).encode())
        else:
            self._answer(403, json.dumps({"message": DENIED}).encode())

    do_POST = do_DELETE = do_GET

    def _answer(self, status: int, body: bytes, kind: str = "application/json", headers=None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": kind, "Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def refusing_engine(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EngineWithAPlugin)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for variable in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT", "LABENV_LAB_PREFIX"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setattr(engine, "_client", None)
    yield
    server.shutdown()
    server.server_close()


def test_a_request_the_engine_refuses_is_one_line_and_exit_2(refusing_engine, capsys):
    assert cli.main(["clean", "--all"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"labenv: refused by the engine: {DENIED}"]
