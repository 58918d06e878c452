"""The Docker engines labs may run on, and which one a learner's lab goes to.

    LABENV_ENGINES="a=tcp://10.0.0.5:2376 b=tcp://10.0.0.6:2376"   # TLS from DOCKER_CERT_PATH
    LABENV_ENGINES="local=unix:///var/run/docker.sock b=unix:///run/labenv-b/docker.sock"

Unset, there is one engine, ``local``: DOCKER_HOST, or the default socket.

    for e in engines.configured(): e.name, e.url, e.answers()
    home = engines.place("alice-")     # where alice's next lab goes

Placement: a learner's labs (the lab names of one LABENV_LAB_PREFIX) stay on the
engine that already holds one of them; a learner with none goes to the answering
engine with the fewest lab containers. An engine that stops answering is left
out, and the learner's next lab goes to another one.
"""

from __future__ import annotations

import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import docker
from docker.errors import DockerException

from . import engine as _local
from .errors import LabError

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")
URL = re.compile(r"^(unix:///\S+|tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5})$")
#: How long a placement waits for an engine's answer before counting it as stopped.
PING_TIMEOUT = 5

_clients: dict[str, docker.DockerClient] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Engine:
    name: str
    url: str  # "" for the default engine (DOCKER_HOST or the local socket)

    def __str__(self) -> str:
        return f"engine {self.name} ({self.url or os.environ.get('DOCKER_HOST') or 'the local socket'})"

    def client(self) -> docker.DockerClient:
        """A client for this engine; LabError in one line if it does not answer."""
        if not self.url:
            return _local.connect()
        with _lock:
            found = _clients.get(self.url)
        if found is not None:
            return found
        try:
            client = _client_for(self.url, timeout=120)
            client.ping()
        except DockerException as error:
            raise self.not_answering(error) from None
        with _lock:
            _clients[self.url] = client
        return client

    def answers(self) -> bool:
        try:
            if self.url:
                _client_for(self.url, timeout=PING_TIMEOUT).ping()
            else:
                self.client().ping()
            return True
        except (DockerException, LabError, OSError):
            return False

    def not_answering(self, error: Exception | None = None) -> LabError:
        why = f": {_local.reason(error)}" if error is not None else ""
        return LabError(f"{self} does not answer{why}; start_lab(...) or `python -m labenv up` "
                        "again puts a fresh lab on another engine")


    def from_env_kw(self) -> dict | None:
        """docker.from_env's keywords for this engine (None: the default one)."""
        return {"environment": environment(self.url), "timeout": 120} if self.url else None


def environment(url: str) -> dict[str, str]:
    """docker.from_env's TLS settings (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) for another URL."""
    env = {k: v for k, v in os.environ.items() if k.startswith("DOCKER_")}
    env["DOCKER_HOST"] = url
    if url.startswith("unix://"):
        env.pop("DOCKER_TLS_VERIFY", None)
        env.pop("DOCKER_CERT_PATH", None)
    return env


def _client_for(url: str, timeout: int) -> docker.DockerClient:
    return docker.from_env(environment=environment(url), timeout=timeout)


def parse(text: str) -> list[Engine]:
    """LABENV_ENGINES' value: ``NAME=URL`` entries separated by spaces or commas."""
    found: list[Engine] = []
    for entry in re.split(r"[\s,]+", text.strip()):
        if not entry:
            continue
        name, sep, url = entry.partition("=")
        if not sep or not NAME.match(name):
            raise LabError(f"LABENV_ENGINES: {entry!r} is not NAME=URL (NAME: 1-20 of a-z, 0-9, '-')")
        if not URL.match(url):
            raise LabError(f"LABENV_ENGINES: engine {name}'s URL {url!r} is not unix:///PATH or tcp://HOST:PORT")
        if any(e.name == name for e in found):
            raise LabError(f"LABENV_ENGINES: engine name {name!r} is given twice")
        found.append(Engine(name, url))
    if not found:
        raise LabError("LABENV_ENGINES is set but names no engine; unset it to use DOCKER_HOST")
    return found


def configured() -> list[Engine]:
    text = os.environ.get("LABENV_ENGINES", "")
    return parse(text) if text.strip() else [Engine("local", "")]


def several() -> bool:
    return len(configured()) > 1


def answering(engines: list[Engine] | None = None) -> tuple[list[Engine], list[Engine]]:
    """(engines that answer, engines that do not), asked all at once."""
    engines = engines if engines is not None else configured()
    if len(engines) == 1:
        return (engines, []) if engines[0].answers() else ([], engines)
    with ThreadPoolExecutor(max_workers=len(engines)) as pool:
        up = list(pool.map(Engine.answers, engines))
    return [e for e, ok in zip(engines, up) if ok], [e for e, ok in zip(engines, up) if not ok]


def each(fn, engines: list[Engine] | None = None) -> tuple[dict[Engine, object], list[Engine]]:
    """``fn(engine)`` on every answering engine at once: ({engine: result}, engines that did not answer)."""
    up, down = answering(engines)
    results: dict[Engine, object] = {}
    if up:
        with ThreadPoolExecutor(max_workers=len(up)) as pool:
            for e, result in zip(up, pool.map(fn, up)):
                results[e] = result
    return results, down


def _lab_containers(e: Engine, name_regex: str) -> int | None:
    """How many lab containers of these names the engine holds; None where it will not say
    (a class engine shows a learner only their own)."""
    try:
        return len(e.client().containers.list(all=True, ignore_removed=True,
                                              filters={"label": "labenv.lab", "name": name_regex}))
    except (DockerException, LabError):
        return None


def place(prefix: str, engines: list[Engine] | None = None) -> Engine:
    """The engine for a lab of `prefix`'s learner: theirs if they have one, else the least loaded."""
    engines = engines if engines is not None else configured()
    if len(engines) == 1:
        return engines[0]
    up, down = answering(engines)
    if not up:
        raise LabError("no engine answers: " + "; ".join(str(e) for e in down))
    mine = f"^/?labenv-{re.escape(prefix)}" if prefix else "^/?labenv-"
    theirs, _ = each(lambda e: _lab_containers(e, mine), up)
    holding = [e for e in up if theirs.get(e)]
    if prefix and holding:
        return holding[0]
    load, _ = each(lambda e: _lab_containers(e, "^/?labenv-"), up)
    # Where the load cannot be read, the order of LABENV_ENGINES decides (a class lists
    # each learner's own engine first).
    return min(up, key=lambda e: (load.get(e) is None, load.get(e) or 0, up.index(e)))
