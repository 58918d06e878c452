"""A class of its own for the tests and the bench, and a learner's browserless way in.

    klass = TestClass("hubt", learners=("hubt_ann", "hubt_ben"), instructors=("hubt_ines",), ...)
    klass.up()                        # `python -m classroom up` with its own folders and ports
    ann = HubUser(klass.url, "hubt_ann", "a-password")
    ann.login(); ann.wait_server()    # first use: the password is chosen by logging in with it
    kernel = ann.start_kernel()
    ann.run(kernel, "1 + 1")          # code in the learner's own kernel (REST + websocket)
    klass.down(purge=True); klass.leftovers()   # {} when nothing of the class is left

A test class never meets a real one: its engine's folders and port (LABENV_CLASS_*),
its hub's ports, its record and its members' names (and so their accounts
``lab-NAME`` and labs ``NAME-nb..``) are its own. The class engine's network
namespace has one name on a host, so a test class starts only where no class runs.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import docker
import requests
import websocket

from classroom import enginecfg, hub

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_PREFIX = "lab-"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def run_classroom(env: dict[str, str], *args: str, check: bool = True,
                  timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m classroom ARGS` with a test class's folders and ports (`env`); with `check`,
    a command that fails fails the test with its error output."""
    done = subprocess.run([sys.executable, "-m", "classroom", *args], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"classroom {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done


@dataclass
class TestClass:
    """A class started by `python -m classroom up` in folders and on ports of its own."""

    __test__ = False  # not a pytest test class

    tag: str
    learners: tuple[str, ...]
    instructors: tuple[str, ...]
    passwords: dict[str, str] = field(default_factory=dict)
    port: int = 28800          # the class's URL; the hub's own ports follow it
    engine_port: int = 23762   # engine a's; b (engines=2) has the next one
    engines: int = 1
    pool: int = 0              # spare labs its engines keep ready (hot start)
    work: Path = Path("/tmp")

    def __post_init__(self) -> None:
        self.env = {"LABENV_CLASS_STATE": f"/var/lib/labenv-class-{self.tag}",
                    "LABENV_CLASS_RUN": f"/run/labenv-class-{self.tag}",
                    "LABENV_CLASS_LOG": f"/var/log/labenv-class-{self.tag}",
                    "LABENV_CLASS_PORT": str(self.engine_port)}
        self.ports = {"hub_port": self.port + 1, "proxy_api_port": self.port + 2,
                      "progress_port": self.port + 3}
        self.roster = self.work / f"{self.tag}-roster.toml"
        self.notebooks = self.work / f"{self.tag}-student"

    # -- where things are
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def state(self) -> Path:
        return Path(self.env["LABENV_CLASS_STATE"])

    @property
    def hub_state(self) -> Path:
        return self.state / "hub"

    @property
    def engine_ports(self) -> list[int]:
        return [self.engine_port + i for i in range(self.engines)]

    @property
    def everyone(self) -> tuple[str, ...]:
        return self.instructors + self.learners

    @property
    def paths(self) -> enginecfg.Paths:
        return enginecfg.paths(self.env)

    def engine(self) -> docker.DockerClient:
        """Root's client for this class's engine (its unix socket)."""
        return docker.DockerClient(base_url=self.paths.unix_url, timeout=60)

    # -- the class's commands
    def classroom(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess:
        return run_classroom(self.env, *args, check=check, timeout=timeout)

    def write_roster(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        lines = [f'name = "{self.tag}"', f"instructors = {json.dumps(list(self.instructors))}",
                 f"learners = {json.dumps(list(self.learners))}", f"engines = {self.engines}",
                 f"pool = {self.pool}", "[passwords]"]
        lines += [f'{name} = "{password}"' for name, password in self.passwords.items()]
        self.roster.write_text("\n".join(lines) + "\n")

    def learner_copy(self) -> None:
        """A fresh learner's copy of the notebooks (what `make student` writes), for this class only."""
        done = subprocess.run([sys.executable, "tools/make_student.py", "--force", str(self.notebooks)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise AssertionError(f"make_student failed:\n{done.stderr}")

    def up(self, **settings: int) -> subprocess.CompletedProcess:
        """`python -m classroom up` for this class; ``settings``: cull_timeout=..., cull_every=..."""
        options = {**self.ports, **settings}
        args = ["up", "--roster", str(self.roster), "--port", str(self.port), "--notebooks", str(self.notebooks)]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        return self.classroom(*args)

    def down(self, purge: bool = False) -> subprocess.CompletedProcess:
        return self.classroom("down", *(["--purge"] if purge else []), check=False)

    # -- the hub alone
    def hub_pid(self) -> int | None:
        try:
            pid = int((self.hub_state / "jupyterhub.pid").read_text())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def stop_hub(self, timeout: float = hub.STOP_TIMEOUT) -> None:
        """The hub stopped as a host's shutdown stops it (SIGTERM): it stops every server first."""
        pid = self.hub_pid()
        assert pid, "the hub does not run"
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.hub_pid() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert not self.hub_pid(), f"the hub did not stop in {timeout} s:\n{self.hub_log()[-3000:]}"

    def hub_log(self) -> str:
        try:
            return (self.hub_state / "jupyterhub.log").read_text(errors="replace")
        except OSError:
            return ""

    # -- what is there
    def accounts(self) -> dict[str, pwd.struct_passwd]:
        found = {}
        for name in self.everyone:
            try:
                found[name] = pwd.getpwnam(ACCOUNT_PREFIX + name)
            except KeyError:
                pass
        return found

    def processes(self, uids: set[int] = frozenset()) -> list[str]:
        """Processes of this class: its members' (by uid), and any that runs with its folders or
        ports in its environment or command line (hub, proxy, services, engine, plugin)."""
        marks = [self.env["LABENV_CLASS_STATE"], self.env["LABENV_CLASS_RUN"], str(self.hub_state),
                 f":{self.port}", f":{self.ports['hub_port']}", f":{self.ports['proxy_api_port']}",
                 f":{self.ports['progress_port']}", *(f"127.0.0.1:{p}" for p in self.engine_ports)]
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                uid = proc.stat().st_uid
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                environ = (proc / "environ").read_bytes().decode(errors="replace")
            except OSError:
                continue
            text = cmdline + "\0" + environ
            if uid in uids or any(mark in text for mark in marks):
                found.append(f"{proc.name} uid={uid} {cmdline[:120]}")
        return found

    def leftovers(self, uids: set[int]) -> dict[str, list[str]]:
        """What of the class is still on this host after `down --purge`; {} when nothing."""
        where = self.paths
        engines = [where.of(name) for name in enginecfg.ENGINE_NAMES]   # every engine a class may run
        left = {
            "processes": self.processes(uids),
            "accounts": [ACCOUNT_PREFIX + n for n in self.accounts()],
            "homes": [str(p) for n in self.everyone if (p := Path("/home", ACCOUNT_PREFIX + n)).exists()],
            "listening": [str(p) for p in (self.port, *self.ports.values(), *self.engine_ports) if _listening(p)],
            "netns": [e.netns for e in engines if Path("/run/netns", e.netns).exists()],
            "folders": [str(p) for p in (where.run, where.state) if p.exists()],
            "plugin socket": [str(e.plugin_socket) for e in engines if e.plugin_socket.exists()],
            "mounts": [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                       if str(where.state) in line or str(where.run) in line],
        }
        return {k: v for k, v in left.items() if v}


class HubUser:
    """One member at the hub, as a browser is, with requests and a websocket."""

    def __init__(self, url: str, name: str, password: str) -> None:
        self.url, self.name, self.password = url.rstrip("/"), name, password
        self.session = requests.Session()

    @property
    def server(self) -> str:
        return f"{self.url}/user/{self.name}"

    def login(self) -> requests.Response:
        """The hub's login form (FirstUseAuthenticator: the first login sets the password)."""
        self.login_page()
        return self.submit_login()

    def login_page(self) -> None:
        self.session.get(f"{self.url}/hub/login", timeout=30)

    def submit_login(self) -> requests.Response:
        """The form's POST; the hub answers with the way to the member's server (it starts it)."""
        return self.session.post(f"{self.url}/hub/login?next=", timeout=120,
                                 data={"username": self.name, "password": self.password,
                                       "_xsrf": self.session.cookies.get("_xsrf", path="/hub/")})

    def wait_server(self, timeout: float = 180) -> float:
        """Seconds until the member's JupyterLab answers (the hub starts it at login)."""
        started = time.monotonic()
        answer = None
        while time.monotonic() - started < timeout:
            # The page a browser opens: the hub starts the server if it is not running, and
            # the server logs the member in (OAuth with the hub) and sets its _xsrf cookie.
            answer = self.session.get(f"{self.server}/lab", timeout=60)
            if answer.status_code == 200 and f"/user/{self.name}/" in answer.url and "JupyterLab" in answer.text:
                return time.monotonic() - started
            time.sleep(0.5)
        raise AssertionError(f"{self.name}'s server did not answer in {timeout} s: "
                             f"{answer.status_code if answer is not None else '-'} {answer.url if answer else ''}")

    def _xsrf(self) -> str:
        return (self.session.cookies.get("_xsrf", path=f"/user/{self.name}/")
                or self.session.cookies.get("_xsrf", path="/hub/") or "")

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        """The member's own server's REST API (/user/NAME/api/...)."""
        return self.session.request(method, f"{self.server}/api/{path}", timeout=60,
                                    headers={"X-XSRFToken": self._xsrf()}, **kwargs)

    def hub_api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.url}/hub/api/{path}", timeout=60,
                                    headers={"X-XSRFToken": self.session.cookies.get("_xsrf", path="/hub/") or ""},
                                    **kwargs)

    def start_kernel(self) -> str:
        answer = self.api("POST", "kernels", json={"name": "python3"})
        assert answer.status_code == 201, f"{self.name}: no kernel ({answer.status_code} {answer.text[:200]})"
        return answer.json()["id"]

    def restart_kernel(self, kernel: str) -> None:
        answer = self.api("POST", f"kernels/{kernel}/restart")
        assert answer.status_code == 200, f"{self.name}: restart refused ({answer.status_code})"

    def terminal(self, command: str, timeout: float = 120) -> tuple[int, str]:
        """``command`` typed into a new Terminal of the member's JupyterLab; its exit code and output."""
        answer = self.api("POST", "terminals")
        assert answer.status_code == 200, f"{self.name}: no terminal ({answer.status_code} {answer.text[:200]})"
        name = answer.json()["name"]
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        ws = websocket.create_connection(self.server.replace("http://", "ws://", 1) + f"/terminals/websocket/{name}",
                                         header=[f"Cookie: {cookie}"], timeout=timeout)
        try:
            # The marker is split in what is typed, so only its output matches.
            ws.send(json.dumps(["stdin", f'{command}; echo "__E""ND__ $?"\r']))
            out = ""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                message = json.loads(ws.recv())
                if message[0] == "stdout":
                    out += message[1]
                    found = re.search(r"__END__ (\d+)", out)
                    if found:
                        return int(found.group(1)), out[:found.start()]
            raise AssertionError(f"{self.name}'s terminal did not finish {command!r}:\n{out[-500:]}")
        finally:
            ws.close()
            self.api("DELETE", f"terminals/{name}")

    def run(self, kernel: str, code: str, timeout: float = 300) -> str:
        """Run ``code`` in the kernel; what it printed (and any error, as ``ERROR name: value``)."""
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.session.cookies)
        ws_url = self.server.replace("http://", "ws://", 1) + f"/api/kernels/{kernel}/channels"
        deadline = time.monotonic() + timeout
        while True:   # a kernel just started or restarted may not take a connection yet
            try:
                ws = websocket.create_connection(ws_url, header=[f"Cookie: {cookie}"], timeout=timeout)
                break
            except (websocket.WebSocketException, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        msg_id = uuid.uuid4().hex
        try:
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": self.name, "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                            "allow_stdin": False}}))
            out = []
            while True:
                message = json.loads(ws.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = message["msg_type"]
                if kind == "stream":
                    out.append(message["content"]["text"])
                elif kind in ("execute_result", "display_data"):
                    out.append(message["content"]["data"].get("text/plain", "") + "\n")
                elif kind == "error":
                    out.append(f"ERROR {message['content']['ename']}: {message['content']['evalue']}\n")
                elif kind == "status" and message["content"]["execution_state"] == "idle":
                    return "".join(out)
        finally:
            ws.close()
