"""The lab images: how big they are, and how long an empty engine takes to a first lab.

    python -m bench --only image_sizes,engine_provision

* ``image_sizes``: each lab image's size as `docker images` reports it (MB, 10^6 bytes),
  and whether the three share their base layers; the floor is `debian:<suite>-slim`, the
  Debian base every image carries. One informational figure per image beside it.
* ``engine_provision`` (root): a second dockerd of its own, started empty in a network
  namespace of its own (``labenv-provbench``, as a class engine is), the lab images
  shipped to it (`labenv.build.ship`), then ``python -m labenv up --lab provbench`` with
  DOCKER_HOST on its socket; seconds for the whole and for each part. The floor is the
  same ``labenv up`` on the warm main engine (images there, engine running): the same
  result, a lab ready for a learner, had the plainest way. Everything is removed after:
  dockerd, its namespace, its data and exec roots and their mounts.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import docker
from docker.errors import DockerException

from labenv import LabError, build, engine
from labenv.lab import LABEL_LAB, remove_by_label

from .figures import PYTHON, ROOT, Figure

MB = 1000 * 1000   # what `docker images` calls a MB
GOAL_MB = 200

NETNS = "labenv-provbench"
BRIDGE = "provbench0"             # an interface name has at most 15 characters
BRIDGE_ADDRESS = "10.219.0.1/24"
ADDRESS_POOL = "10.219.0.0/16"
LAB = "provbench"                 # the lab on the throwaway engine
WARM_LAB = "provbench-warm"       # the floor's lab, on the main engine
START_TIMEOUT = 60


# -- image_sizes ------------------------------------------------------------------------------
def _common_prefix(lists: list[list[str]]) -> int:
    count = 0
    for column in zip(*lists):
        if len(set(column)) != 1:
            break
        count += 1
    return count


def image_sizes(suite: str) -> list[Figure]:
    """Sizes of the lab images for `suite` (built if missing) and of the images under them."""
    tags = build.ensure_all(suite, say=lambda _: None)
    client = engine.connect()
    images = {name: client.images.get(tag) for name, tag in tags.items()}
    debian = client.images.get(f"debian:{suite}-slim")
    base = client.images.get(build.tag_for(build.BASE, suite))
    layers = {name: image.attrs["RootFS"]["Layers"] for name, image in images.items()}
    shared = _common_prefix(list(layers.values()))
    on_debian = all(ls[0] == debian.attrs["RootFS"]["Layers"][0] for ls in layers.values())
    on_base = all(ls[:len(base.attrs["RootFS"]["Layers"])] == base.attrs["RootFS"]["Layers"]
                  for ls in layers.values())
    sizes = {name: image.attrs["Size"] / MB for name, image in images.items()}
    base_mb, debian_mb = base.attrs["Size"] / MB, debian.attrs["Size"] / MB
    # What the three take on disk together: the shared base once, then each one's own layers.
    together = base_mb + sum(size - base_mb for size in sizes.values())
    largest = max(sizes, key=sizes.get)
    figures = [Figure(f"image_size:{name}", size, "MB", debian_mb,
                      f"informational: labenv/{name} for {suite}", met=size < GOAL_MB,
                      detail={"tag": tags[name], "layers": len(layers[name]),
                              "own_mb": round(size - base_mb, 1)})
               for name, size in sizes.items()]
    figures.append(Figure(
        "image_sizes", sizes[largest], "MB", debian_mb,
        f"every lab image under {GOAL_MB} MB, all three on one shared base",
        met=all(size < GOAL_MB for size in sizes.values()) and on_debian and on_base,
        detail={"suite": suite, "largest": largest,
                "sizes_mb": {name: round(size, 1) for name, size in sizes.items()},
                "debian_slim_mb": round(debian_mb, 1), "labenv_base_mb": round(base_mb, 1),
                "shared_layers": shared, "share_debian_layer": on_debian,
                "share_labenv_base": on_base, "three_together_mb": round(together, 1),
                "floor_is": f"debian:{suite}-slim, the one base layer every image carries"}))
    return figures


# -- engine_provision ------------------------------------------------------------------------
def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(list(cmd), capture_output=True, text=True, env=engine.system_env())
    if check and done.returncode != 0:
        raise LabError(f"`{' '.join(cmd)}` failed: {(done.stderr or done.stdout).strip()[:200]}")
    return done


def _program(name: str) -> str:
    found = engine.find_program(name)
    if not found:
        raise LabError(f"engine_provision needs {name} (Debian: docker.io, iproute2, util-linux, iptables)")
    return found


class ThrowawayEngine:
    """A dockerd with nothing in it, in the network namespace ``labenv-provbench``: its own
    bridge, address pool, iptables rules, data root and exec root (under one temporary
    folder), reached on a unix socket there. ``stop()`` removes every trace."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix=f"{NETNS}-"))
        self.data_root = self.folder / "data"
        # Unix socket paths are short (108 bytes): the exec root lives under /run.
        self.exec_root = Path(f"/run/{NETNS}-{os.getpid()}")
        self.socket = self.exec_root / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.log = self.folder / "dockerd.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> docker.DockerClient:
        for program in ("dockerd", "ip", "nsenter", "iptables"):
            _program(program)
        self.exec_root.mkdir(mode=0o700, parents=True, exist_ok=True)
        if Path("/run/netns", NETNS).exists():
            _netns_down()    # what a crashed earlier run left
        _run("ip", "netns", "add", NETNS)
        _run("ip", "-n", NETNS, "link", "set", "lo", "up")
        _run("ip", "-n", NETNS, "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "-n", NETNS, "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE)
        _run("ip", "-n", NETNS, "link", "set", BRIDGE, "up")
        _run(_program("nsenter"), f"--net=/run/netns/{NETNS}", "--", _program("iptables"), "-P", "FORWARD", "DROP")
        config = self.folder / "daemon.json"
        config.write_text("{}\n")    # not the main engine's /etc/docker/daemon.json
        cmd = [_program("nsenter"), f"--net=/run/netns/{NETNS}", "--", _program("dockerd"),
               "--config-file", str(config), "--data-root", str(self.data_root),
               "--exec-root", str(self.exec_root), "--pidfile", str(self.exec_root / "dockerd.pid"),
               "-H", self.url, "--bridge", BRIDGE,
               "--default-address-pool", f"base={ADDRESS_POOL},size=24",
               "--iptables=true", "--userland-proxy=false"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, env=engine.system_env())
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.socket.exists():
                try:
                    client = docker.DockerClient(base_url=self.url, timeout=300)
                    client.ping()
                    return client
                except (DockerException, OSError):
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        tail = self.log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise LabError(f"the throwaway engine did not start: {tail[0][-200:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        _netns_down()
        for folder in (self.exec_root, self.data_root):
            _unmount_under(folder)
        shutil.rmtree(self.exec_root, ignore_errors=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def _netns_down() -> None:
    if not Path("/run/netns", NETNS).exists():
        return
    for pid in _run("ip", "netns", "pids", NETNS, check=False).stdout.split():
        try:   # what is left in the namespace: shims of the engine's containers
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    _run("ip", "netns", "del", NETNS, check=False)


def _unmount_under(folder: Path) -> None:
    prefix = str(folder).rstrip("/") + "/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(prefix) or m == str(folder)), key=len, reverse=True):
        _run("umount", "-l", point, check=False)


def _labenv_up(lab: str, suite: str, env: dict) -> tuple[float, str]:
    """`python -m labenv up` as a learner types it; seconds, and its last line."""
    started = time.monotonic()
    done = subprocess.run([PYTHON, "-m", "labenv", "up", "--lab", lab, "--debian", suite,
                           "--no-install-engine"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    seconds = time.monotonic() - started
    last = ((done.stderr.strip() or done.stdout.strip()).splitlines() or [""])[-1][:200]
    if done.returncode != 0:
        raise LabError(f"labenv up --lab {lab} failed: {last}")
    return seconds, (done.stdout.strip().splitlines() or [""])[0]


def _lab_env(**engine_env: str) -> dict:
    """The environment of a `labenv up`: one engine, the one of DOCKER_HOST (this process's
    own unless `engine_env` names another), and no pulls."""
    env = {k: v for k, v in os.environ.items()
           if k != "LABENV_ENGINES" and not (engine_env and k.startswith("DOCKER_"))}
    return {**env, "LABENV_QUIET": "1", "LABENV_NO_PULL": "1", **engine_env}


def engine_provision(suite: str) -> Figure:
    """An empty engine to a first lab: engine start, images shipped, `labenv up` on it."""
    if os.geteuid() != 0:
        return Figure("engine_provision", None, "s", None, "skipped: a second dockerd needs root",
                      met=None, detail={"skipped": "not root"})
    tags = build.ensure_all(suite, say=lambda _: None)
    source = engine.connect()
    # The floor first, on the warm main engine.
    remove_by_label(f"{LABEL_LAB}={WARM_LAB}")
    try:
        floor, _ = _labenv_up(WARM_LAB, suite, _lab_env())
    finally:
        remove_by_label(f"{LABEL_LAB}={WARM_LAB}")
    throwaway = ThrowawayEngine()
    parts: dict[str, float] = {}
    try:
        started = time.monotonic()
        target = throwaway.start()
        parts["engine_start_s"] = time.monotonic() - started
        t0 = time.monotonic()
        sent = build.ship(list(tags.values()), source, target, say=lambda _: None)
        parts["ship_s"] = time.monotonic() - t0
        parts["first_lab_s"], line = _labenv_up(LAB, suite, _lab_env(DOCKER_HOST=throwaway.url))
        total = time.monotonic() - started
        running = sorted(c.labels.get("labenv.role", c.name) for c in
                         target.containers.list(filters={"label": f"{LABEL_LAB}={LAB}"}))
        if len(running) != 4:
            raise LabError(f"the lab on the throwaway engine runs {running}, not four containers")
        on_target = {t: target.images.get(t).attrs["Size"] for t in tags.values()}
    finally:
        throwaway.stop()
    return Figure(
        "engine_provision", total, "s", floor,
        "an empty engine to a first lab: informational (the floor is a lab on a warm engine)",
        met=None,
        detail={**{k: round(v, 2) for k, v in parts.items()},
                "shipped_mb": round(sent["bytes"] / MB, 1), "layers_sent": sent["layers_sent"],
                "images": len(sent["images"]), "first_lab_says": line,
                "images_mb_on_target": {t: round(s / MB, 1) for t, s in on_target.items()},
                "running": running,
                "floor_is": "`python -m labenv up` of the same lab on the warm main engine"})
