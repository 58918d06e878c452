"""Where the class engines keep their things, and their addresses; each can be set by environment.

    LABENV_CLASS_STATE   /var/lib/labenv-class   data roots (docker/, docker-b/ ...), keys (pki/),
                                                 access.json, engines.json (how many engines)
    LABENV_CLASS_RUN     /run/labenv-class       unix sockets, exec roots, pid files (root only)
    LABENV_CLASS_LOG     /var/log/labenv-class   dockerd.log, authz.log (dockerd-b.log ... for b)
    LABENV_CLASS_PORT    2376                    engine a's TLS listener on 127.0.0.1; b has 2377 ...

A class runs 1 to 8 engines, named a, b, c ... Engine a lives where a class's one
engine always lived (network namespace ``labenv-class``, /run/labenv-class/docker.sock,
port 2376); engine b has ``labenv-class-b``, /run/labenv-class/b/docker.sock, 2377,
its own data root, bridge and authorization plugin (``labenv-authz-b``). All share the
class's CA, its members' certificates and access.json, and the lab subnets: each engine's
labs live in a namespace of their own.

>>> where = paths({})
>>> where.netns, where.socket, where.tcp_url
('labenv-class', PosixPath('/run/labenv-class/docker.sock'), 'tcp://127.0.0.1:2376')
>>> b = where.of("b")
>>> b.netns, b.bridge, b.plugin, str(b.socket), b.tcp_url, str(b.data_root)
('labenv-class-b', 'labenv-class-b0', 'labenv-authz-b', '/run/labenv-class/b/docker.sock', \
'tcp://127.0.0.1:2377', '/var/lib/labenv-class/docker-b')
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

#: Engine a's names (the class's first engine keeps them); engine b's end in "-b", and so on.
NETNS = "labenv-class"
BRIDGE = "labenv-class0"
#: Each engine's own bridge, and the pool for networks created without a subnet (in its namespace).
BRIDGE_ADDRESS = "10.215.0.1/24"
ADDRESS_POOL = "10.215.0.0/16"
#: Where labenv picks the two /24 subnets of each class lab (LABENV_SUBNETS for learners).
LAB_SUBNETS = "10.214.0.0/16"
PLUGIN = "labenv-authz"
PLUGIN_DIR = Path("/run/docker/plugins")
PLUGIN_SOCKET = PLUGIN_DIR / f"{PLUGIN}.sock"
#: The engines a class may run, in the order they are added.
ENGINE_NAMES = ("a", "b", "c", "d", "e", "f", "g", "h")
MAX_ENGINES = len(ENGINE_NAMES)
#: Learner and instructor names: they become certificate CNs and lab-name prefixes
#: (``alice`` owns the labs ``alice-*``), so they hold no ``-``.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


def engine_names(count: int) -> tuple[str, ...]:
    """The names of a class's ``count`` engines.

    >>> engine_names(3)
    ('a', 'b', 'c')
    """
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_ENGINES:
        raise ValueError(f"a class runs 1 to {MAX_ENGINES} engines, not {count!r}")
    return ENGINE_NAMES[:count]


def check_engine(name: str) -> str:
    if name not in ENGINE_NAMES:
        raise ValueError(f"engine {name!r} is not one of {', '.join(ENGINE_NAMES)}")
    return name


@dataclass(frozen=True)
class Paths:
    """One class engine's folders, files, names and port (engine a unless ``engine`` says)."""

    state: Path
    run: Path
    log: Path
    port: int
    engine: str = "a"

    def of(self, engine: str) -> Paths:
        """The same class's engine ``engine``: its port counts on from engine a's."""
        check_engine(engine)
        port = self.port - ENGINE_NAMES.index(self.engine) + ENGINE_NAMES.index(engine)
        if not 0 < port < 65536:
            raise ValueError(f"engine {engine} would listen on {port}, which is not a TCP port")
        return replace(self, engine=engine, port=port)

    @property
    def suffix(self) -> str:
        """What engine b's names and files carry ("-b"); nothing for engine a."""
        return "" if self.engine == "a" else f"-{self.engine}"

    # -- shared by every engine of the class
    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def users(self) -> Path:
        return self.state / "users"

    @property
    def access(self) -> Path:
        return self.state / "access.json"

    @property
    def record(self) -> Path:
        """How many engines the class runs (written by `engine up`)."""
        return self.state / "engines.json"

    # -- this engine's own
    @property
    def netns(self) -> str:
        return NETNS + self.suffix

    @property
    def bridge(self) -> str:
        return BRIDGE if self.engine == "a" else f"{NETNS}{self.suffix}0"

    @property
    def plugin(self) -> str:
        return PLUGIN + self.suffix

    @property
    def plugin_socket(self) -> Path:
        return PLUGIN_DIR / f"{self.plugin}.sock"

    @property
    def server_cert(self) -> str:
        """The name of this engine's TLS certificate in pki/ (server.pem, server-b.pem ...)."""
        return f"server{self.suffix}"

    @property
    def data_root(self) -> Path:
        return self.state / f"docker{self.suffix}"

    @property
    def daemon_config(self) -> Path:
        return self.state / f"daemon{self.suffix}.json"

    @property
    def engine_run(self) -> Path:
        """Where this engine's socket, exec root and pid files are (engine b: run/b)."""
        return self.run if self.engine == "a" else self.run / self.engine

    @property
    def exec_root(self) -> Path:
        return self.engine_run / "exec"

    @property
    def socket(self) -> Path:
        return self.engine_run / "docker.sock"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def dockerd_pid(self) -> Path:
        return self.engine_run / "dockerd.pid"

    @property
    def plugin_pid(self) -> Path:
        return self.engine_run / "authz.pid"

    @property
    def dockerd_log(self) -> Path:
        return self.log / f"dockerd{self.suffix}.log"

    @property
    def authz_log(self) -> Path:
        return self.log / f"authz{self.suffix}.log"

    @property
    def plugin_log(self) -> Path:
        return self.log / f"authz-server{self.suffix}.log"


def paths(environ: Mapping[str, str] | None = None, engine: str = "a") -> Paths:
    """Engine ``engine``'s paths and port from `environ` (by default this process's environment)."""
    env = os.environ if environ is None else environ
    port = env.get("LABENV_CLASS_PORT", "2376")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"LABENV_CLASS_PORT={port!r} is not a TCP port")
    where = Paths(state=Path(env.get("LABENV_CLASS_STATE", "/var/lib/labenv-class")),
                  run=Path(env.get("LABENV_CLASS_RUN", "/run/labenv-class")),
                  log=Path(env.get("LABENV_CLASS_LOG", "/var/log/labenv-class")),
                  port=int(port))
    return where if engine == "a" else where.of(engine)


def class_engines(where: Paths | None = None) -> tuple[str, ...]:
    """The names of the class's engines, as `engine up` recorded them; ("a",) before any."""
    where = where or paths()
    try:
        count = json.loads(where.record.read_text())["engines"]
        return engine_names(count)
    except (OSError, ValueError, KeyError, TypeError):
        return ENGINE_NAMES[:1]


def write_class_engines(where: Paths, names: Sequence[str]) -> None:
    where.state.mkdir(parents=True, exist_ok=True)
    tmp = where.record.with_suffix(".tmp")
    tmp.write_text(json.dumps({"engines": len(names)}) + "\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, where.record)


def lab_subnets() -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(LAB_SUBNETS)


def engines_value(where: Paths, names: Sequence[str]) -> str:
    """LABENV_ENGINES for these engines of the class.

    >>> engines_value(paths({}), ("a", "b"))
    'a=tcp://127.0.0.1:2376 b=tcp://127.0.0.1:2377'
    """
    return " ".join(f"{name}={where.of(name).tcp_url}" for name in names)


#: The hot-start pool of a class's engines (LABENV_POOL): its keepers fill it, learners claim from it.
CLASS_POOL = "class"


def learner_env(name: str, cert_dir: Path, where: Paths | None = None,
                engines: Sequence[str] | None = None) -> dict[str, str]:
    """The environment a learner's kernel needs for labenv to use the class's engines.

    DOCKER_HOST names the first of ``engines`` (the learner's home engine, which the
    hub puts first; engine a by default), what a client that knows one engine uses;
    LABENV_ENGINES names every engine in that order (by default the class's record),
    and DOCKER_TLS_VERIFY and DOCKER_CERT_PATH hold for each.

    The caller must also remove REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE: requests
    verifies the engine against them instead of DOCKER_CERT_PATH's ca.pem (even
    with an explicit docker.tls.TLSConfig), and the class CA is not in them.
    """
    where = (where or paths()).of("a")
    names = tuple(engines) if engines else class_engines(where)
    return {"DOCKER_HOST": where.of(names[0]).tcp_url, "LABENV_ENGINES": engines_value(where, names),
            "LABENV_POOL": CLASS_POOL,
            "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(cert_dir),
            "LABENV_SUBNETS": LAB_SUBNETS, "LABENV_LAB_PREFIX": f"{name}-nb", "LABENV_LEARNER": name}
