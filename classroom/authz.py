"""The authorization plugin ``labenv-authz``: an HTTP server on a unix socket the engine calls.

    python -m classroom plugin        # in the foreground (``engine up`` starts it detached)

The engine finds it at /run/docker/plugins/labenv-authz.sock and asks three things:

    POST /Plugin.Activate            -> {"Implements": ["authz"]}
    POST /AuthZPlugin.AuthZReq       -> {"Allow": bool, "Msg": "..."}   before a request
    POST /AuthZPlugin.AuthZRes       -> {"Allow": bool, "Msg": "..."}   before its answer goes out

The decisions are ``classroom.policy``'s. To know who owns an object the plugin
asks the engine over its root-only unix socket (those requests come back to the
plugin with no user, and are allowed). Every decision is one line of the log:
time, user, phase, method, URI, allow or deny, reason. Any error inside the
plugin denies the request.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import quote

from . import access, enginecfg
from .policy import Decision, LookupFailed, Policy

CONTENT_TYPE = "application/vnd.docker.plugins.v1.2+json"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 10.0) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class EngineLookups:
    """Inspect containers, execs and networks through the engine's unix socket."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = str(socket_path)

    def _get(self, path: str) -> dict | None:
        conn = _UnixConnection(self.socket_path)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
        except OSError as error:
            raise LookupFailed(f"the engine does not answer ({error})") from None
        finally:
            conn.close()
        if response.status == 404:
            return None
        if response.status != 200:
            raise LookupFailed(f"the engine answered {response.status} to {path}")
        return json.loads(body)

    def container(self, ref: str) -> dict | None:
        return self._get(f"/containers/{quote(ref, safe='')}/json") if ref else None

    def exec(self, exec_id: str) -> dict | None:
        return self._get(f"/exec/{quote(exec_id, safe='')}/json") if exec_id else None

    def network(self, ref: str) -> dict | None:
        return self._get(f"/networks/{quote(ref, safe='')}") if ref else None


class DecisionLog:
    """One line per decision, appended to a file (or stderr)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, phase: str, message: dict, decision: Decision) -> None:
        user = message.get("User") or "(root)"
        uri = message.get("RequestUri") or message.get("RequestURI") or ""
        line = (f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {user} {phase} {message.get('RequestMethod', '?')} "
                f"{uri} {'allow' if decision.allow else 'deny'} {decision.reason or '-'}\n")
        with self._lock:
            if self.path is None:
                sys.stderr.write(line)
                return
            with open(self.path, "a") as out:
                out.write(line)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PluginServer

    def log_message(self, format: str, *args) -> None:  # the decision log says what matters
        pass

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if self.path == "/Plugin.Activate":
            self._answer(200, {"Implements": ["authz"]})
            return
        phase = {"/AuthZPlugin.AuthZReq": "req", "/AuthZPlugin.AuthZRes": "res"}.get(self.path)
        if phase is None:
            self._answer(404, {"Err": f"unknown endpoint {self.path}"})
            return
        try:
            message = json.loads(raw or b"{}")
            policy = self.server.policy
            decision = policy.request(message) if phase == "req" else policy.response(message)
        except Exception as error:  # fail closed, and say why in one line
            message = message if isinstance(locals().get("message"), dict) else {}
            decision = Decision(False, f"the plugin failed: {type(error).__name__}: {str(error)[:120]}")
        # The answer's decision is logged for a member's listing, and whenever it denies.
        uri = (message.get("RequestUri") or "").split("?")[0]
        listing = message.get("User") and uri.endswith(("/containers/json", "/networks"))
        if phase == "req" or not decision.allow or listing:
            self.server.log.write(phase, message, decision)
        self._answer(200, decision.answer())


class PluginServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: Path, policy: Policy, log: DecisionLog) -> None:
        self.policy = policy
        self.log = log
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        old = os.umask(0o077)
        try:
            super().__init__(str(path), _Handler)
        finally:
            os.umask(old)


def serve(where: enginecfg.Paths | None = None, socket_path: Path | None = None) -> None:
    """Serve until killed; the socket is removed on the way out."""
    where = where or enginecfg.paths()
    socket_path = socket_path or enginecfg.PLUGIN_SOCKET
    where.log.mkdir(parents=True, exist_ok=True)
    watched = access.Watched(where.access)
    policy = Policy(watched.get, EngineLookups(where.socket), enginecfg.lab_subnets())
    server = PluginServer(socket_path, policy, DecisionLog(where.authz_log))

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        try:
            socket_path.unlink()
        except FileNotFoundError:
            pass
