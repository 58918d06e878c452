"""Find a Docker engine, and on a root Debian host with none, install and start one.

    client = engine.connect()               # LabError with a one-line hint if none answers
    client = engine.ensure(install=True)    # bring one up where this host can
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import docker
from docker.errors import DockerException

from . import wait
from .errors import LabError, TimedOut

DOCKERD_LOG = Path("/var/log/labenv-dockerd.log")
HINT = ("no Docker engine answers: start one (`sudo systemctl start docker`), or install it "
        "(Debian/Ubuntu: `sudo apt-get install docker.io`), or run `make lab` as root on Debian")

_client: docker.DockerClient | None = None


def connect() -> docker.DockerClient:
    """A client for the engine that answers now (DOCKER_HOST or the local socket)."""
    global _client
    if _client is not None:
        return _client
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as error:
        raise LabError(f"{HINT} ({reason(error)})") from None
    _client = client
    return client


def reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:160]


SYSTEM_DIRS = "/usr/local/sbin:/usr/sbin:/sbin"


def find_program(name: str) -> str | None:
    """`name` on PATH, or in the system directories root's PATH usually has."""
    return shutil.which(name) or shutil.which(name, path=SYSTEM_DIRS)


def system_env() -> dict[str, str]:
    """The environment with the system directories on PATH (dockerd runs iptables,
    debootstrap runs chroot; both live there)."""
    return {**os.environ, "PATH": f"{os.environ.get('PATH', '')}:{SYSTEM_DIRS}"}


def _is_root_debian() -> bool:
    return os.geteuid() == 0 and Path("/etc/debian_version").exists()


def ensure(install: bool = True, say=print) -> docker.DockerClient:
    """Connect, or install Debian's docker.io and start dockerd where that is possible."""
    try:
        return connect()
    except LabError:
        if not (install and _is_root_debian()):
            raise
    if not find_program("dockerd"):
        say("labenv: installing Debian's docker.io (no Docker engine found)")
        env = {**system_env(), "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "docker.io", "iptables"]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise LabError(f"could not install docker.io: {done.stderr.strip()[-200:]}")
    say(f"labenv: starting dockerd (log: {DOCKERD_LOG})")
    with open(DOCKERD_LOG, "ab") as log:
        subprocess.Popen([find_program("dockerd") or "dockerd"], env=system_env(),
                         stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    def answers():
        try:
            return connect()
        except LabError:
            return None

    try:
        return wait.until(answers, 60, "dockerd to answer", interval=0.5)
    except TimedOut:
        raise LabError(f"dockerd did not answer within 60 s; see {DOCKERD_LOG}") from None
