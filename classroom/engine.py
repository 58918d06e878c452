"""Start, stop and look at the class engine (root only).

    up()        network namespace and bridge, the plugin, dockerd, the lab images
    down()      every class lab, dockerd, the plugin, the namespace, the sockets
                (the data root stays, so the next `up` needs no image load; purge=True
                removes it, the keys, the certificates under users/ and access.json)
    status()    what is running, where, and which labs

The engine's network namespace ``labenv-class`` holds its bridge ``labenv-class0``
(10.215.0.1/24), every lab network (10.214.0.0/16, labenv's LABENV_SUBNETS for
class learners) and every iptables rule dockerd writes; the host's namespace
gets nothing. The TLS listener on 127.0.0.1 is a socket opened here, in the
host's namespace, and handed to dockerd as systemd would (LISTEN_FDS, ``-H fd://``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
from docker.errors import APIError, DockerException, NotFound

from labenv import build
from labenv import engine as host_engine

from . import certs, enginecfg
from .enginecfg import BRIDGE, BRIDGE_ADDRESS, NETNS, PLUGIN, Paths

#: The host's own engine, where the lab images are built.
SOURCE = os.environ.get("LABENV_CLASS_SOURCE", "unix:///var/run/docker.sock")
START_TIMEOUT = 60


class EngineError(Exception):
    """One line: what went wrong and where to look."""


def _run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(list(cmd), capture_output=True, text=True, env=host_engine.system_env())
    if check and done.returncode != 0:
        raise EngineError(f"`{' '.join(cmd)}` failed: {(done.stderr or done.stdout).strip()[:200]}")
    return done


def _require_root() -> None:
    if os.geteuid() != 0:
        raise EngineError("the class engine is root's to start and stop (run it with sudo)")
    for program in ("dockerd", "ip", "nsenter", "docker"):
        if not host_engine.find_program(program):
            raise EngineError(f"{program} is missing (Debian: apt-get install docker.io iproute2 util-linux)")


def _pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def client(where: Paths | None = None, timeout: int = 120) -> docker.DockerClient:
    """Root's client for the class engine, over its unix socket."""
    where = where or enginecfg.paths()
    return docker.DockerClient(base_url=where.unix_url, timeout=timeout)


def _answers(where: Paths) -> bool:
    if not where.socket.exists():
        return False
    try:
        client(where, timeout=5).ping()
        return True
    except (DockerException, OSError):
        return False


def running(where: Paths | None = None) -> bool:
    where = where or enginecfg.paths()
    return _pid(where.dockerd_pid) is not None and _answers(where)


# -- the network namespace ----------------------------------------------------------
def netns_exists() -> bool:
    return Path("/run/netns", NETNS).exists()


def _netns_up() -> None:
    if not netns_exists():
        _run("ip", "netns", "add", NETNS)
    _run("ip", "-n", NETNS, "link", "set", "lo", "up")
    if _run("ip", "-n", NETNS, "link", "show", BRIDGE, check=False).returncode != 0:
        _run("ip", "-n", NETNS, "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "-n", NETNS, "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE)
    _run("ip", "-n", NETNS, "link", "set", BRIDGE, "up")
    # Nothing is routed in the namespace unless dockerd's own rules allow it.
    _run(host_engine.find_program("nsenter") or "nsenter", f"--net=/run/netns/{NETNS}", "--",
         host_engine.find_program("iptables") or "iptables", "-P", "FORWARD", "DROP")


def _netns_down() -> None:
    if not netns_exists():
        return
    pids = _run("ip", "netns", "pids", NETNS, check=False).stdout.split()
    for pid in pids:  # what is left of the class engine's processes (shims of killed containers)
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    _run("ip", "netns", "del", NETNS)


# -- the plugin ------------------------------------------------------------------------
def _start_plugin(where: Paths) -> None:
    if _pid(where.plugin_pid) and enginecfg.PLUGIN_SOCKET.exists():
        return
    root = Path(__file__).resolve().parents[1]
    with open(where.log / "authz-server.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "classroom", "plugin"],
                                cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, "PYTHONPATH": str(root)})
    where.plugin_pid.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if enginecfg.PLUGIN_SOCKET.exists():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise EngineError(f"the plugin did not start; see {where.log / 'authz-server.log'}")


def _stop(pid_file: Path, timeout: float) -> None:
    pid = _pid(pid_file)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


# -- dockerd -----------------------------------------------------------------------------
def dockerd_args(where: Paths, tls: dict[str, Path]) -> list[str]:
    config = where.state / "daemon.json"
    return [
        "--config-file", str(config),          # not the host engine's /etc/docker/daemon.json
        "--data-root", str(where.data_root), "--exec-root", str(where.exec_root),
        "--pidfile", str(where.dockerd_pid),
        "-H", where.unix_url, "-H", "fd://", "--group", "root",
        "--tlsverify", "--tlscacert", str(tls["ca"]), "--tlscert", str(tls["cert"]),
        "--tlskey", str(tls["key"]),
        "--authorization-plugin", PLUGIN,
        "--bridge", BRIDGE, "--default-address-pool", f"base={enginecfg.ADDRESS_POOL},size=24",
        "--iptables=true", "--userland-proxy=false",
    ]


def _start_dockerd(where: Paths, tls: dict[str, Path]) -> None:
    (where.state / "daemon.json").write_text("{}\n")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", where.port))
    except OSError as error:
        listener.close()
        raise EngineError(f"127.0.0.1:{where.port} is taken ({error.strerror}); set LABENV_CLASS_PORT") from None
    listener.listen(128)
    fd = listener.fileno()
    os.set_inheritable(fd, True)
    # nsenter and bash exec in place: the pid bash gives LISTEN_PID is dockerd's.
    script = (f"exec 3<&{fd} {fd}<&-; " if fd != 3 else "") + 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"'
    cmd = [host_engine.find_program("nsenter"), f"--net=/run/netns/{NETNS}", "--",
           "bash", "-c", script, "bash", host_engine.find_program("dockerd"), *dockerd_args(where, tls)]
    with open(where.dockerd_log, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                pass_fds=(fd,), start_new_session=True, env=host_engine.system_env())
    listener.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _answers(where):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = where.dockerd_log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
    raise EngineError(f"the class engine did not start: {tail[0][-200:]} (log: {where.dockerd_log})")


# -- images -------------------------------------------------------------------------------
def lab_tags(suites: tuple[str, ...]) -> list[str]:
    return [build.tag_for(name, suite) for suite in suites for name in build.IMAGES]


def load_images(where: Paths, suites: tuple[str, ...] = (build.DEFAULT_SUITE,), say=print) -> float:
    """`docker save` the current lab images on the host's engine, `docker load` them here; seconds taken."""
    wanted = lab_tags(suites)
    source = docker.DockerClient(base_url=SOURCE, timeout=300)
    target = client(where)
    missing_source = [t for t in wanted if not _has(source, t)]
    if missing_source:
        raise EngineError(f"the host's engine lacks {', '.join(missing_source)}: build them first "
                          f"(`make setup`, or `python -m labenv setup --suite SUITE`)")
    todo = [t for t in wanted if not _has(target, t)]
    if not todo:
        return 0.0
    say(f"classroom: loading {len(todo)} lab image(s) into the class engine")
    started = time.monotonic()
    docker_cli = host_engine.find_program("docker")
    save = subprocess.Popen([docker_cli, "-H", SOURCE, "save", *todo], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    load = subprocess.run([docker_cli, "-H", where.unix_url, "load", "-q"], stdin=save.stdout,
                          capture_output=True, text=True)
    save.stdout.close()
    save_err = save.stderr.read().decode(errors="replace")
    save.wait()
    if save.returncode != 0 or load.returncode != 0:
        raise EngineError(f"loading the lab images failed: {(save_err or load.stderr).strip()[:200]}")
    return time.monotonic() - started


def _has(engine: docker.DockerClient, tag: str) -> bool:
    try:
        engine.images.get(tag)
        return True
    except NotFound:
        return False


# -- up, down, status ---------------------------------------------------------------------
def up(where: Paths | None = None, suites: tuple[str, ...] = (build.DEFAULT_SUITE,), say=print) -> dict:
    """Start everything (what runs already is kept); returns the seconds each part took."""
    _require_root()
    where = where or enginecfg.paths()
    timings = {"engine_s": 0.0, "images_s": 0.0}
    for folder, mode in ((where.state, 0o711), (where.run, 0o700), (where.log, 0o700)):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, mode)
    started = time.monotonic()
    _start_plugin(where)  # first: the engine answers nothing, not even root, without its plugin
    if not running(where):
        tls = certs.ensure_server(where.pki)
        _netns_up()
        _start_dockerd(where, tls)
        timings["engine_s"] = time.monotonic() - started
        say(f"classroom: class engine up in {timings['engine_s']:.1f} s at {where.tcp_url} (TLS)")
    else:
        say(f"classroom: class engine already running at {where.tcp_url}")
    timings["images_s"] = load_images(where, suites, say)
    return timings


def remove_everything(where: Paths, owner: str | None = None) -> int:
    """Every container and every lab network on the class engine (root, unix socket); with
    ``owner``, only that member's labs (``owner-*``)."""
    engine = client(where)

    def wanted(labels: dict | None) -> bool:
        return owner is None or (labels or {}).get("labenv.lab", "").startswith(f"{owner}-")

    def remove(container) -> int:
        try:
            container.remove(force=True, v=True)
            return 1
        except NotFound:
            return 0

    # All at once: a hub that stops stops every member's server, and each one's labs go then.
    mine = [c for c in engine.containers.list(all=True, ignore_removed=True) if wanted(c.labels)]
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(mine)))) as pool:
        count = sum(pool.map(remove, mine))
    for network in engine.networks.list():
        if network.name in ("bridge", "host", "none") or not wanted(network.attrs.get("Labels")):
            continue
        try:
            network.remove()
            count += 1
        except (NotFound, APIError):
            pass
    return count


def down(where: Paths | None = None, purge: bool = False, say=print) -> None:
    """Stop the class: its labs, dockerd, the plugin, the namespace with its bridge and rules, the sockets."""
    _require_root()
    where = where or enginecfg.paths()
    if _answers(where):
        removed = remove_everything(where)
        say(f"classroom: removed {removed} containers and networks of the class")
    _stop(where.dockerd_pid, 40)
    _wait_gone(where.exec_root / "containerd" / "containerd.pid", 15)
    _stop(where.plugin_pid, 10)
    _netns_down()
    _unmount_under(where.exec_root)
    _unmount_under(where.data_root)
    shutil.rmtree(where.run, ignore_errors=True)
    try:
        enginecfg.PLUGIN_SOCKET.unlink()
    except FileNotFoundError:
        pass
    if purge:
        _unmount_under(where.data_root)
        for made in (where.data_root, where.pki, where.users):
            shutil.rmtree(made, ignore_errors=True)
        for made in (where.access, where.state / "daemon.json"):
            made.unlink(missing_ok=True)
        try:
            where.state.rmdir()  # only when nothing else (a hub's record, say) lives there
        except OSError:
            pass
        say(f"classroom: removed the class engine's data root, keys, certificates and access list "
            f"from {where.state}")
    say("classroom: class engine down")


def _wait_gone(pid_file: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _pid(pid_file) is not None and time.monotonic() < deadline:
        time.sleep(0.1)


def _unmount_under(folder: Path) -> None:
    prefix = str(folder).rstrip("/") + "/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        _run("umount", "-l", point, check=False)


def status(where: Paths | None = None) -> dict:
    where = where or enginecfg.paths()
    answer = {"running": False, "tcp": where.tcp_url, "unix": where.unix_url,
              "dockerd_pid": _pid(where.dockerd_pid), "plugin_pid": _pid(where.plugin_pid),
              "netns": netns_exists(), "data_root": str(where.data_root), "images": [], "labs": {}}
    if answer["dockerd_pid"] and _answers(where):
        engine = client(where)
        answer["running"] = True
        answer["images"] = sorted(t for i in engine.images.list() for t in i.tags if t.startswith("labenv/"))
        for c in engine.containers.list(all=True, filters={"label": "labenv.lab"}):
            answer["labs"].setdefault(c.labels["labenv.lab"], []).append(c.labels.get("labenv.role", "?"))
    return answer


def status_text(where: Paths | None = None) -> str:
    return json.dumps(status(where), indent=1)
