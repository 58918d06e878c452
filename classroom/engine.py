"""Start, stop and look at the class's engines (root only).

    up(engines=N)   engines a, b ... : each its network namespace and bridge, its plugin,
                    its dockerd; then the lab images, loaded into every engine at once
    start("b")      one engine of the class started again (stop("b") stops it: its labs go)
    down()          every engine: its labs, dockerd, plugin, namespace and sockets
                    (the data roots stay, so the next `up` needs no image load; purge=True
                    removes them, the keys, the certificates under users/ and access.json)
    status()        each engine: whether it answers, its labs and whose they are

Engine a's network namespace ``labenv-class`` holds its bridge ``labenv-class0``
(10.215.0.1/24), every lab network (10.214.0.0/16, labenv's LABENV_SUBNETS for
class learners) and every iptables rule dockerd writes; the host's namespace
gets nothing. Engine b has the same in ``labenv-class-b`` (bridge ``labenv-class-b0``),
and so on: the same addresses in every namespace, none of them seen by another.
Each TLS listener on 127.0.0.1 is a socket opened here, in the host's namespace,
and handed to its dockerd as systemd would (LISTEN_FDS, ``-H fd://``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docker
from docker.errors import APIError, DockerException, NotFound

from labenv import build
from labenv import engine as host_engine
from labenv import engines as lab_engines
from labenv import pool as lab_pool

from . import certs, enginecfg, system
from .enginecfg import BRIDGE_ADDRESS, ENGINE_NAMES, Paths

#: The host's own engine, where the lab images are built.
SOURCE = os.environ.get("LABENV_CLASS_SOURCE", "unix:///var/run/docker.sock")
START_TIMEOUT = 60


#: What went wrong with a class engine, in one line (the classroom's one error class).
EngineError = system.ClassError
_run = system.run


def _require_root() -> None:
    system.require_root("the class engine is root's to start and stop", ("dockerd", "ip", "nsenter", "docker"))


def _pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _base(where: Paths | None) -> Paths:
    """Engine a's paths of the class ``where`` belongs to (this process's class by default)."""
    return (where or enginecfg.paths()).of("a")


def client(where: Paths | None = None, timeout: int = 120) -> docker.DockerClient:
    """Root's client for a class engine (engine a by default), over its unix socket."""
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


def _traces(where: Paths) -> bool:
    """Whether anything of this engine is there to stop (in the class's own folders)."""
    try:
        return any(p.exists() for p in (where.dockerd_pid, where.plugin_pid, where.socket, where.exec_root))
    except PermissionError:   # not root: the run folder is root's
        return False


def known_engines(where: Paths | None = None) -> tuple[str, ...]:
    """The class's engines (its record), and any other engine of it that left something running."""
    base = _base(where)
    names = set(enginecfg.class_engines(base))
    names |= {name for name in ENGINE_NAMES if _traces(base.of(name))}
    return tuple(n for n in ENGINE_NAMES if n in names)


def _class_engine(where: Paths | None, name: str) -> Paths:
    """Engine ``name`` of the class, which must be one of its engines."""
    base = _base(where)
    enginecfg.check_engine(name)
    names = enginecfg.class_engines(base)
    if name not in names:
        raise EngineError(f"engine {name} is not one of this class's engines ({', '.join(names)}); "
                          f"`engine up --engines {ENGINE_NAMES.index(name) + 1}` adds it")
    return base.of(name)


# -- the network namespace ----------------------------------------------------------
def netns_exists(where: Paths | None = None) -> bool:
    return Path("/run/netns", (where or enginecfg.paths()).netns).exists()


def _netns_up(where: Paths) -> None:
    netns, bridge = where.netns, where.bridge
    if not netns_exists(where):
        _run("ip", "netns", "add", netns)
    _run("ip", "-n", netns, "link", "set", "lo", "up")
    if _run("ip", "-n", netns, "link", "show", bridge, check=False).returncode != 0:
        _run("ip", "-n", netns, "link", "add", bridge, "type", "bridge")
        _run("ip", "-n", netns, "addr", "add", BRIDGE_ADDRESS, "dev", bridge)
    _run("ip", "-n", netns, "link", "set", bridge, "up")
    # Nothing is routed in the namespace unless dockerd's own rules allow it.
    _run(host_engine.find_program("nsenter") or "nsenter", f"--net=/run/netns/{netns}", "--",
         host_engine.find_program("iptables") or "iptables", "-w", "10", "-P", "FORWARD", "DROP")


def _netns_down(where: Paths) -> None:
    if not netns_exists(where):
        return
    pids = _run("ip", "netns", "pids", where.netns, check=False).stdout.split()
    for pid in pids:  # what is left of the engine's processes (shims of killed containers)
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    _run("ip", "netns", "del", where.netns)


# -- the plugin ------------------------------------------------------------------------
def _start_plugin(where: Paths) -> None:
    """The engine's own authorization plugin (it asks its own engine who owns what)."""
    if _pid(where.plugin_pid) and where.plugin_socket.exists():
        return
    root = Path(__file__).resolve().parents[1]
    with open(where.plugin_log, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "classroom", "plugin", "--engine", where.engine],
                                cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env={**os.environ, "PYTHONPATH": str(root)})
    where.plugin_pid.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if where.plugin_socket.exists():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise EngineError(f"engine {where.engine}'s plugin did not start; see {where.plugin_log}")


def _stop(pid_file: Path, timeout: float) -> None:
    pid = _pid(pid_file)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:   # our own child (a keeper this process started)
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


# -- dockerd -----------------------------------------------------------------------------
def dockerd_args(where: Paths, tls: dict[str, Path]) -> list[str]:
    return [
        "--config-file", str(where.daemon_config),   # not the host engine's /etc/docker/daemon.json
        "--data-root", str(where.data_root), "--exec-root", str(where.exec_root),
        "--pidfile", str(where.dockerd_pid),
        "-H", where.unix_url, "-H", "fd://", "--group", "root",
        "--tlsverify", "--tlscacert", str(tls["ca"]), "--tlscert", str(tls["cert"]),
        "--tlskey", str(tls["key"]),
        "--authorization-plugin", where.plugin,
        "--bridge", where.bridge, "--default-address-pool", f"base={enginecfg.ADDRESS_POOL},size=24",
        "--iptables=true", "--userland-proxy=false",
    ]


def _start_dockerd(where: Paths, tls: dict[str, Path]) -> None:
    where.daemon_config.write_text("{}\n")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", where.port))
    except OSError as error:
        listener.close()
        raise EngineError(f"127.0.0.1:{where.port} (engine {where.engine}) is taken ({error.strerror}); "
                          "set LABENV_CLASS_PORT (engine a's; b has the next port, and so on)") from None
    listener.listen(128)
    fd = listener.fileno()
    os.set_inheritable(fd, True)
    # nsenter and bash exec in place: the pid bash gives LISTEN_PID is dockerd's.
    script = (f"exec 3<&{fd} {fd}<&-; " if fd != 3 else "") + 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"'
    cmd = [host_engine.find_program("nsenter"), f"--net=/run/netns/{where.netns}", "--",
           "bash", "-c", script, "bash", host_engine.find_program("dockerd"), *dockerd_args(where, tls)]
    try:
        with open(where.dockerd_log, "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    pass_fds=(fd,), start_new_session=True, env=host_engine.system_env())
    finally:
        listener.close()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _answers(where):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = where.dockerd_log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
    raise EngineError(f"class engine {where.engine} did not start: {tail[0][-200:]} (log: {where.dockerd_log})")


def _prepare(wheres: Sequence[Paths]) -> dict[str, dict[str, Path]]:
    """Folders, keys and namespaces, one engine after the other (they share the CA and /run/netns)."""
    base = wheres[0].of("a")
    for folder, mode in ((base.state, 0o711), (base.run, 0o700), (base.log, 0o700)):
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, mode)
    tls = {}
    for where in wheres:
        where.engine_run.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not running(where):
            subject = "labenv class engine" + ("" if where.engine == "a" else f" {where.engine}")
            tls[where.engine] = certs.ensure_server(where.pki, name=where.server_cert, subject=subject)
            _netns_up(where)
    return tls


def _start(where: Paths, tls: dict[str, Path] | None, say=print) -> float:
    """The plugin, then dockerd (the engine answers nothing, not even root, without its plugin)."""
    started = time.monotonic()
    _start_plugin(where)
    if tls is None or running(where):
        say(f"classroom: class engine {where.engine} already running at {where.tcp_url}")
        return 0.0
    _start_dockerd(where, tls)
    seconds = time.monotonic() - started
    say(f"classroom: class engine {where.engine} up in {seconds:.1f} s at {where.tcp_url} (TLS)")
    return seconds


# -- images -------------------------------------------------------------------------------
def lab_tags(suites: tuple[str, ...]) -> list[str]:
    return [build.tag_for(name, suite) for suite in suites for name in build.IMAGES]


def load_images(wheres: Paths | Sequence[Paths], suites: tuple[str, ...] = (build.DEFAULT_SUITE,),
                say=print) -> float:
    """`docker save` the current lab images on the host's engine once, `docker load` them into
    every engine of ``wheres`` that lacks them, all at once; the seconds taken."""
    wheres = [wheres] if isinstance(wheres, Paths) else list(wheres)
    wanted = lab_tags(suites)
    source = docker.DockerClient(base_url=SOURCE, timeout=300)
    missing_source = [t for t in wanted if not _has(source, t)]
    if missing_source:
        raise EngineError(f"the host's engine lacks {', '.join(missing_source)}: build them first "
                          f"(`make setup`, or `python -m labenv setup --suite SUITE`)")
    groups: dict[tuple[str, ...], list[Paths]] = {}
    for where in wheres:
        target = client(where)
        todo = tuple(t for t in wanted if not _has(target, t))
        if todo:
            groups.setdefault(todo, []).append(where)
    if not groups:
        return 0.0
    started = time.monotonic()
    for todo, group in groups.items():
        say(f"classroom: loading {len(todo)} lab image(s) into class engine(s) "
            f"{', '.join(w.engine for w in group)}")
        _save_load(todo, group)
    return time.monotonic() - started


def _save_load(tags: Sequence[str], wheres: Sequence[Paths]) -> None:
    """One `docker save` on the host's engine, its stream fed to a `docker load` per engine."""
    docker_cli = host_engine.find_program("docker")
    save = subprocess.Popen([docker_cli, "-H", SOURCE, "save", *tags], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    loads = {w.engine: subprocess.Popen([docker_cli, "-H", w.unix_url, "load", "-q"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for w in wheres}
    outputs: dict[str, tuple[bytes, bytes]] = {}

    def drain(name: str, proc: subprocess.Popen) -> None:  # a load's output, so it never blocks
        outputs[name] = (proc.stdout.read(), proc.stderr.read())

    drains = [threading.Thread(target=drain, args=item, daemon=True) for item in loads.items()]
    for thread in drains:
        thread.start()
    save_err: list[bytes] = []
    reader = threading.Thread(target=lambda: save_err.append(save.stderr.read()), daemon=True)
    reader.start()
    open_ = dict(loads)
    while open_ and (chunk := save.stdout.read(1 << 20)):
        for name, proc in list(open_.items()):
            try:
                proc.stdin.write(chunk)
            except (BrokenPipeError, OSError):
                del open_[name]    # that load failed; its own message says why
    for proc in loads.values():
        try:
            proc.stdin.close()
        except OSError:
            pass
    if not open_:
        save.kill()
    save.stdout.close()
    save.wait()
    reader.join()
    for proc in loads.values():
        proc.wait()
    for thread in drains:
        thread.join()
    failed = []
    for name, proc in loads.items():
        if proc.returncode != 0:
            failed.append(f"engine {name}: {outputs.get(name, (b'', b''))[1].decode(errors='replace').strip()[:160]}")
    if save.returncode != 0 and open_:
        failed.insert(0, f"docker save: {b''.join(save_err).decode(errors='replace').strip()[:160]}")
    if failed:
        raise EngineError(f"loading the lab images failed: {'; '.join(failed)}")


def _has(engine: docker.DockerClient, tag: str) -> bool:
    try:
        engine.images.get(tag)
        return True
    except NotFound:
        return False


# -- up, start, stop, down, status --------------------------------------------------------
def up(where: Paths | None = None, suites: tuple[str, ...] = (build.DEFAULT_SUITE,), say=print,
       engines: int | None = None) -> dict:
    """Start the class's engines (what runs already is kept): ``engines`` of them, by default
    as many as the class had (one at first). Engines past that number are stopped.

    Returns the seconds each part took: engine_s (every engine, started side by side),
    images_s (the lab images into every engine that lacks them) and per engine.
    """
    _require_root()
    base = _base(where)
    names = enginecfg.engine_names(engines) if engines is not None else enginecfg.class_engines(base)
    wheres = [base.of(name) for name in names]
    started = time.monotonic()
    tls = _prepare(wheres)
    enginecfg.write_class_engines(base, names)
    for extra in (n for n in ENGINE_NAMES if n not in names and _traces(base.of(n))):
        say(f"classroom: the class runs {len(names)} engine(s) now; stopping engine {extra}")
        stop_engine(base.of(extra), say)
    with ThreadPoolExecutor(max_workers=len(wheres)) as pool:
        each = list(pool.map(lambda w: _start(w, tls.get(w.engine), say), wheres))
    timings = {"engine_s": time.monotonic() - started if any(each) else 0.0, "images_s": 0.0,
               "engines": {w.engine: round(s, 2) for w, s in zip(wheres, each, strict=True)}}
    timings["images_s"] = load_images(wheres, suites, say)
    for w in wheres:
        start_keeper(w, say)
    return timings


def start(name: str, where: Paths | None = None, suites: tuple[str, ...] = (build.DEFAULT_SUITE,),
          say=print) -> dict:
    """Engine ``name`` of the class started (again), with the lab images it lacks."""
    _require_root()
    engine = _class_engine(where, name)
    tls = _prepare([engine])
    timings = {"engine_s": _start(engine, tls.get(engine.engine), say)}
    timings["images_s"] = load_images([engine], suites, say)
    start_keeper(engine, say)
    return timings


def stop(name: str, where: Paths | None = None, say=print) -> None:
    """Engine ``name`` of the class stopped (its labs removed first); the others go on."""
    _require_root()
    stop_engine(_class_engine(where, name), say)


def remove_everything(where: Paths, owner: str | None = None) -> int:
    """Every container and every lab network on one class engine (root, unix socket); with
    ``owner``, only that member's labs (``owner-*``)."""
    engine = client(where)

    def wanted(labels: dict | None, name: str = "") -> bool:
        labels = labels or {}
        if owner is None:
            return True
        # a spare of the pool that the member claimed keeps its labels and carries their name
        return (labels.get("labenv.lab", "").startswith(f"{owner}-")
                or ("labenv.spare" in labels and name.startswith(f"labenv-{owner}-")))

    def remove(container) -> int:
        try:
            container.remove(force=True, v=True)
            return 1
        except NotFound:
            return 0

    # All at once: a hub that stops stops every member's server, and each one's labs go then.
    mine = [c for c in engine.containers.list(all=True, ignore_removed=True) if wanted(c.labels, c.name)]
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
    if owner is not None:  # the networks of the spares the member had claimed, now unused
        count += lab_pool.sweep(_lab_engine(where), older_than=60)
    return count


def _lab_engine(where: Paths) -> lab_engines.Engine:
    """labenv's view of a class engine, as root on its unix socket."""
    return lab_engines.Engine(where.engine, where.unix_url)


def home_order(owner: str, where: Paths | None = None) -> tuple[str, ...]:
    """The class's engines for ``owner``, their home engine first: where their labs are, else
    the least loaded one that answers (labenv.engines.place, asked as root)."""
    base = _base(where)
    names = enginecfg.class_engines(base)
    if len(names) == 1:
        return names
    try:
        home = lab_engines.place(f"{owner}-", [_lab_engine(base.of(n)) for n in names]).name
    except Exception:  # no engine answers: the class's order, and labenv says what is wrong
        return names
    return (home, *(n for n in names if n != home))


# -- the hot-start pool: a keeper per engine tops its spares up (labenv pool keep)

def _pool_folder(where: Paths | None) -> Path:
    """The class pool's size, and each keeper's own record and locks (labenv.pool's state)."""
    return _base(where).state / "pool"


def pool_record(where: Paths | None = None) -> dict:
    """The class's pool: {"size": spares per engine, "suite": ...}; size 0 without one."""
    try:
        data = json.loads((_pool_folder(where) / "size.json").read_text())
        return {"size": int(data["size"]), "suite": str(data["suite"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {"size": 0, "suite": build.DEFAULT_SUITE}


def set_pool(size: int, suite: str = build.DEFAULT_SUITE, where: Paths | None = None) -> None:
    folder = _pool_folder(where)
    if not size:
        shutil.rmtree(folder, ignore_errors=True)
        return
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    (folder / "size.json").write_text(json.dumps({"size": size, "suite": suite}))


def _keeper_pid(where: Paths) -> Path:
    return where.dockerd_pid.with_name("pool-keeper.pid")


def start_keeper(where: Paths, say=print) -> None:
    """The pool's keeper for one engine, if the class has a pool and none runs."""
    record = pool_record(where)
    if not record["size"] or _pid(_keeper_pid(where)) is not None:
        return
    env = {**host_engine.system_env(), "DOCKER_HOST": where.unix_url, "LABENV_SUBNETS": enginecfg.LAB_SUBNETS,
           "LABENV_POOL": enginecfg.CLASS_POOL, "LABENV_POOL_STATE": str(_pool_folder(where) / f"{where.engine}.json"),
           "LABENV_NO_PULL": "1"}
    for name in ("LABENV_ENGINES", "LABENV_LAB_PREFIX", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        env.pop(name, None)
    where.log.mkdir(parents=True, exist_ok=True)
    with open(where.log / f"pool-{where.engine}.log", "ab") as log:
        keeper = subprocess.Popen([sys.executable, "-m", "labenv", "pool", "keep", str(record["size"]),
                                   "--debian", record["suite"]], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True,
                                  cwd=str(Path(__file__).resolve().parent.parent))
    _keeper_pid(where).parent.mkdir(parents=True, exist_ok=True)
    _keeper_pid(where).write_text(str(keeper.pid))
    say(f"classroom: engine {where.engine} keeps {record['size']} spare lab(s) ready")


def stop_keeper(where: Paths) -> None:
    _stop(_keeper_pid(where), 10)
    _keeper_pid(where).unlink(missing_ok=True)


def remove_everywhere(where: Paths | None = None, owner: str | None = None) -> tuple[int, list[str]]:
    """:func:`remove_everything` on every engine of the class that answers, side by side: the
    containers and networks removed, and the engines that did not answer (their labs stay)."""
    base = _base(where)
    names = known_engines(base)
    answering = [n for n in names if _answers(base.of(n))]
    silent = [n for n in names if n not in answering]
    if not answering:
        return 0, silent
    with ThreadPoolExecutor(max_workers=len(answering)) as pool:
        counts = list(pool.map(lambda n: _remove_or_none(base.of(n), owner), answering))
    silent += [n for n, c in zip(answering, counts, strict=True) if c is None]
    return sum(c for c in counts if c), [n for n in names if n in silent]


def _remove_or_none(where: Paths, owner: str | None) -> int | None:
    try:
        return remove_everything(where, owner)
    except (DockerException, OSError):
        return None   # it stopped answering on the way


def stop_engine(where: Paths, say=print) -> None:
    """One engine: its labs, dockerd, its plugin, its namespace with its bridge and rules, its sockets.
    Its data root stays (the next start needs no image load)."""
    name = where.engine
    stop_keeper(where)
    if _answers(where):
        removed = _remove_or_none(where, None)
        if removed is None:
            say(f"classroom: engine {name} stopped answering; its labs were not removed")
        else:
            say(f"classroom: engine {name}: removed {removed} containers and networks of the class")
    elif _pid(where.dockerd_pid) is not None:
        say(f"classroom: engine {name} does not answer; its labs were not removed (they stop with it)")
    _stop(where.dockerd_pid, 40)
    _wait_gone(where.exec_root / "containerd" / "containerd.pid", 15)
    _stop(where.plugin_pid, 10)
    _netns_down(where)
    _unmount_under(where.exec_root)
    _unmount_under(where.data_root)
    shutil.rmtree(where.exec_root, ignore_errors=True)
    for made in (where.socket, where.dockerd_pid, where.plugin_pid, where.plugin_socket):
        made.unlink(missing_ok=True)
    if where.engine_run != where.run:
        shutil.rmtree(where.engine_run, ignore_errors=True)
    say(f"classroom: class engine {name} stopped")


def down(where: Paths | None = None, purge: bool = False, say=print) -> None:
    """Stop the class: every engine (side by side), then its run folder; with ``purge`` its data."""
    _require_root()
    base = _base(where)
    names = known_engines(base)
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        list(pool.map(lambda n: stop_engine(base.of(n), say), names))
    shutil.rmtree(base.run, ignore_errors=True)
    if purge:
        for name in ENGINE_NAMES:
            engine = base.of(name)
            _unmount_under(engine.data_root)
            shutil.rmtree(engine.data_root, ignore_errors=True)
            engine.daemon_config.unlink(missing_ok=True)
        for made in (base.pki, base.users):
            shutil.rmtree(made, ignore_errors=True)
        for made in (base.access, base.record):
            made.unlink(missing_ok=True)
        shutil.rmtree(_pool_folder(base), ignore_errors=True)
        try:
            base.state.rmdir()  # only when nothing else (a hub's record, say) lives there
        except OSError:
            pass
        say(f"classroom: removed the class engines' data roots, keys, certificates and access list "
            f"from {base.state}")
    say("classroom: class engine down" if len(names) == 1 else f"classroom: class engines {', '.join(names)} down")


def _wait_gone(pid_file: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _pid(pid_file) is not None and time.monotonic() < deadline:
        time.sleep(0.1)


def _unmount_under(folder: Path) -> None:
    prefix = str(folder).rstrip("/") + "/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        _run("umount", "-l", point, check=False)


def engine_status(where: Paths) -> dict:
    """One engine: whether it answers, its processes, its lab images, its labs and whose they are."""
    answer = {"engine": where.engine, "running": False, "tcp": where.tcp_url, "unix": where.unix_url,
              "dockerd_pid": _pid(where.dockerd_pid), "plugin_pid": _pid(where.plugin_pid),
              "netns": where.netns if netns_exists(where) else None, "data_root": str(where.data_root),
              "images": [], "labs": {}, "learners": []}
    if answer["dockerd_pid"] and _answers(where):
        try:
            engine = client(where, timeout=30)
            images = sorted(t for i in engine.images.list() for t in i.tags if t.startswith("labenv/"))
            labs: dict[str, list[str]] = {}
            for c in engine.containers.list(all=True, filters={"label": "labenv.lab"}):
                labs.setdefault(c.labels["labenv.lab"], []).append(c.labels.get("labenv.role", "?"))
        except (DockerException, OSError):
            return answer
        answer.update(running=True, images=images, labs={lab: sorted(roles) for lab, roles in sorted(labs.items())},
                      learners=sorted({lab.split("-", 1)[0] for lab in labs}))
    return answer


def status(where: Paths | None = None) -> dict:
    """Every engine of the class: {"engines": {"a": engine_status(a), "b": ...}}."""
    base = _base(where)
    names = known_engines(base)
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        each = list(pool.map(lambda n: engine_status(base.of(n)), names))
    return {"engines": dict(zip(names, each, strict=True))}


def status_text(where: Paths | None = None, as_json: bool = False) -> str:
    """status() for a person: a line per engine (does it answer, its labs, whose), then its labs."""
    state = status(where)
    if as_json:
        return json.dumps(state, indent=1)
    lines = []
    for name, one in state["engines"].items():
        if one["running"]:
            labs, learners = one["labs"], one["learners"]
            who = f" ({', '.join(learners)})" if learners else ""
            lines.append(f"engine {name}  {one['tcp']}  answers: {len(one['images'])} lab images, "
                         f"{len(labs)} lab(s), {len(learners)} learner(s){who}")
            lines += [f"  {lab}  {' '.join(roles)}" for lab, roles in labs.items()]
        elif one["dockerd_pid"]:
            lines.append(f"engine {name}  {one['tcp']}  does not answer (dockerd {one['dockerd_pid']} runs)")
        else:
            lines.append(f"engine {name}  {one['tcp']}  does not answer (stopped)")
    return "\n".join(lines)
