"""Where the class engine keeps its things, and its addresses; each can be set by environment.

    LABENV_CLASS_STATE   /var/lib/labenv-class   data root (docker/), keys (pki/), access.json
    LABENV_CLASS_RUN     /run/labenv-class       unix socket, exec root, pid files (root only)
    LABENV_CLASS_LOG     /var/log/labenv-class   dockerd.log, authz.log
    LABENV_CLASS_PORT    2376                    TLS listener on 127.0.0.1
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

NETNS = "labenv-class"
BRIDGE = "labenv-class0"
#: The class engine's own bridge, and the pool for networks created without a subnet.
BRIDGE_ADDRESS = "10.215.0.1/24"
ADDRESS_POOL = "10.215.0.0/16"
#: Where labenv picks the two /24 subnets of each class lab (LABENV_SUBNETS for learners).
LAB_SUBNETS = "10.214.0.0/16"
PLUGIN = "labenv-authz"
PLUGIN_SOCKET = Path("/run/docker/plugins") / f"{PLUGIN}.sock"
#: Learner and instructor names: they become certificate CNs and lab-name prefixes
#: (``alice`` owns the labs ``alice-*``), so they hold no ``-``.
NAME = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


@dataclass(frozen=True)
class Paths:
    state: Path
    run: Path
    log: Path
    port: int

    @property
    def data_root(self) -> Path:
        return self.state / "docker"

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
    def exec_root(self) -> Path:
        return self.run / "exec"

    @property
    def socket(self) -> Path:
        return self.run / "docker.sock"

    @property
    def unix_url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def tcp_url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def dockerd_pid(self) -> Path:
        return self.run / "dockerd.pid"

    @property
    def plugin_pid(self) -> Path:
        return self.run / "authz.pid"

    @property
    def dockerd_log(self) -> Path:
        return self.log / "dockerd.log"

    @property
    def authz_log(self) -> Path:
        return self.log / "authz.log"


def paths(environ: Mapping[str, str] | None = None) -> Paths:
    """The paths and port from `environ` (by default this process's environment)."""
    env = os.environ if environ is None else environ
    port = env.get("LABENV_CLASS_PORT", "2376")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"LABENV_CLASS_PORT={port!r} is not a TCP port")
    return Paths(state=Path(env.get("LABENV_CLASS_STATE", "/var/lib/labenv-class")),
                 run=Path(env.get("LABENV_CLASS_RUN", "/run/labenv-class")),
                 log=Path(env.get("LABENV_CLASS_LOG", "/var/log/labenv-class")),
                 port=int(port))


def lab_subnets() -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(LAB_SUBNETS)


def learner_env(name: str, cert_dir: Path, where: Paths | None = None) -> dict[str, str]:
    """The environment a learner's kernel needs for labenv to use the class engine.

    The caller must also remove REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE: requests
    verifies the engine against them instead of DOCKER_CERT_PATH's ca.pem (even
    with an explicit docker.tls.TLSConfig), and the class CA is not in them.
    """
    where = where or paths()
    return {"DOCKER_HOST": where.tcp_url, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(cert_dir),
            "LABENV_SUBNETS": LAB_SUBNETS, "LABENV_LAB_PREFIX": f"{name}-nb", "LABENV_LEARNER": name}
