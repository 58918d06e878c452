"""A class on one Docker host: `make classroom` (up) and `make classroom-down` (down).

    up(roster)      the class's engines, the members' accounts, certificates and notebooks,
                    then JupyterHub in the background; returns the one URL to hand out
    down(purge)     the hub, every member's server and lab, the class's engines; with purge
                    also the accounts, their homes and the class's record
    status()        what runs

Where things live (root's):

    /opt/labenv-class/python    a copy of this kit's Python that every account may run
    /opt/labenv-class/venv      the kit, JupyterLab and JupyterHub, for every account
    /opt/labenv-class/proxy     configurable-http-proxy from npm
    /var/lib/labenv-class/hub   the hub's database, passwords, logs and the progress
                                record (700; the record outlives `down`)

Each member of the roster gets a Unix account ``lab-NAME`` (home 700, not in the
docker group), a client certificate for the class engine in their home, and the
learner's copy of the notebooks (`make student`) in ~/notebooks, kept across
`up`/`down` so their work stays.
"""
from __future__ import annotations

import dbm
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import bcrypt

from labenv import build
from labenv.errors import LabError, TimedOut
from labenv.wait import until

from . import access, certs, enginecfg, system
from .hubconfig import CERT_DIR, NOTEBOOK_DIR, Settings
from .roster import ACCOUNT_PREFIX, Roster, load

ROOT = Path(__file__).resolve().parent.parent
OPT = Path(os.environ.get("LABENV_CLASS_OPT", "/opt/labenv-class"))
STATE = Path(os.environ.get("LABENV_CLASS_STATE", "/var/lib/labenv-class")) / "hub"
PROXY_VERSION = "5.3.0"
#: How long the hub may take to stop every server (and their labs), its services and the proxy.
STOP_TIMEOUT = 180
GROUP = {"learner": "labenv-learners", "instructor": "labenv-instructors"}
_PY = f"python{sys.version_info.major}.{sys.version_info.minor}"


_run = system.run


def require_root() -> None:
    system.require_root("a class is set up by root (it makes accounts and an engine)")


# -- the software every account runs

def runnable_by_all(path: Path) -> bool:
    """Whether any account may run ``path``: it and every folder above it open to others."""
    path = path.resolve()
    return all(p.stat().st_mode & 0o001 for p in [*path.parents, path])


def portable_python(say=print) -> Path:
    """A Python every account may run: this one, or a copy of it under OPT made relocatable."""
    here = Path(sys.base_prefix) / "bin" / _PY
    if runnable_by_all(here):
        return here
    target = OPT / "python"
    if (target / "bin" / _PY).exists():
        return target / "bin" / _PY
    say(f"classroom: copying Python {sys.version.split()[0]} to {target} (other accounts cannot run "
        f"{here})")
    staging = OPT / "python.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    packed = subprocess.Popen(["tar", "-C", sys.base_prefix, f"--exclude=./lib/{_PY}/site-packages",
                               "--exclude=__pycache__", "-cf", "-", "."], stdout=subprocess.PIPE)
    _run("tar", "-C", str(staging), "-xf", "-", stdin=packed.stdout)
    packed.wait()
    (staging / "lib" / _PY / "site-packages").mkdir(parents=True, exist_ok=True)
    if shutil.which("patchelf") is None:
        _run("apt-get", "install", "-y", "-qq", "patchelf", env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    # Its library path pointed into a folder other accounts cannot read; now it is beside it.
    _run("patchelf", "--set-rpath", "$ORIGIN/../lib", str(staging / "bin" / _PY))
    _run("chmod", "-R", "a+rX,go-w", str(staging))
    staging.rename(target)
    return target / "bin" / _PY


def _kit_stamp() -> str:
    """What the copy of the kit in the class's venv was made from: its packages' files."""
    digest = hashlib.sha256()
    for package in ("labenv", "helpers", "classroom"):
        for path in sorted((ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{path.relative_to(ROOT)} {path.stat().st_mtime_ns}\n".encode())
    return digest.hexdigest()


def class_venv(say=print) -> Path:
    """The kit with JupyterLab and JupyterHub in a venv every account may run (made once).

    The venv holds a copy of the kit (not a link to this folder, which other accounts
    may not read): when the kit's code changed since, the copy is replaced.
    """
    venv = OPT / "venv"
    marker = venv / ".labenv-installed"
    kit_marker = venv / ".labenv-kit"
    stamp = str((ROOT / "pyproject.toml").stat().st_mtime_ns) + str((ROOT / "constraints.txt").stat().st_mtime_ns)
    if marker.exists() and marker.read_text() == stamp and (venv / "bin" / "jupyterhub-singleuser").exists():
        kit = _kit_stamp()
        if not kit_marker.exists() or kit_marker.read_text() != kit:
            say(f"classroom: the kit changed; copying it into {venv} again")
            _run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                 "--force-reinstall", str(ROOT))
            _run("chmod", "-R", "a+rX,go-w", str(venv))
            kit_marker.write_text(kit)
        return venv
    python = portable_python(say)
    say(f"classroom: installing the kit into {venv}")
    shutil.rmtree(venv, ignore_errors=True)
    _run(str(python), "-m", "venv", str(venv))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt")]
    _run(*pip, "--upgrade", "pip")
    _run(*pip, f"{ROOT}[lab,classroom]")
    _run("chmod", "-R", "a+rX,go-w", str(venv))
    marker.write_text(stamp)
    kit_marker.write_text(_kit_stamp())
    return venv


def proxy(say=print) -> Path:
    """configurable-http-proxy, installed from npm into OPT (not globally)."""
    folder = OPT / "proxy"
    command = folder / "node_modules" / ".bin" / "configurable-http-proxy"
    if command.exists():
        return command
    if shutil.which("npm") is None:
        _run("apt-get", "install", "-y", "-qq", "nodejs", "npm", env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    say(f"classroom: installing configurable-http-proxy {PROXY_VERSION} from npm into {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    _run("npm", "install", "--silent", "--prefix", str(folder), f"configurable-http-proxy@{PROXY_VERSION}")
    _run("chmod", "-R", "a+rX,go-w", str(folder))
    return command


# -- the members

def account(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(ACCOUNT_PREFIX + name)
    except KeyError:
        return None


def make_accounts(roster: Roster, notebooks: Path, issue_cert, say=print) -> None:
    """An account per member, their certificate and (once) the learner's copy of the notebooks."""
    for group in GROUP.values():
        subprocess.run(["groupadd", "-f", group], check=True)
    for name in roster.everyone:
        role = "instructor" if name in roster.instructors else "learner"
        if account(name) is None:
            _run("useradd", "--create-home", "--shell", "/bin/bash", "--gid", GROUP[role],
                 "--comment", f"labenv class {role}", ACCOUNT_PREFIX + name)
        entry = account(name)
        home = Path(entry.pw_dir)
        home.chmod(0o700)
        issue_cert(name, home / CERT_DIR, (entry.pw_uid, entry.pw_gid), role == "instructor")
        target = home / NOTEBOOK_DIR
        if not target.exists():
            shutil.copytree(notebooks, target)
            _run("chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", str(target))
    say(f"classroom: {len(roster.learners)} learner(s), {len(roster.instructors)} instructor(s)")


def remove_accounts(roster: Roster) -> None:
    for name in roster.everyone:
        if account(name) is not None:
            subprocess.run(["pkill", "-KILL", "-u", ACCOUNT_PREFIX + name], capture_output=True)
            _run("userdel", "--remove", ACCOUNT_PREFIX + name)


def hand_out_passwords(roster: Roster, dbm_path: Path) -> None:
    """The passwords the roster hands out, where FirstUseAuthenticator looks (bcrypt, 600)."""
    with dbm.open(str(dbm_path), "c", 0o600) as db:
        for name, password in roster.passwords.items():
            db[name] = bcrypt.hashpw(password.encode(), bcrypt.gensalt())


# -- the hub

def _pid(settings: Settings) -> int | None:
    try:
        pid = int((Path(settings.state) / "jupyterhub.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "hub/api/", timeout=3) as answer:
            return answer.status == 200
    except OSError:
        return False


def start_hub(settings: Settings, venv: Path, say=print) -> None:
    if _pid(settings):
        say(f"classroom: the hub already runs at {settings.url}")
        return
    log = open(Path(settings.state) / "jupyterhub.log", "ab")  # noqa: SIM115 (the hub writes it)
    # The class engine's folders and port (LABENV_CLASS_STATE ...), when set, go with the hub: its
    # spawner gives learners the way to this class's engines, and removes their labs from them.
    env = {k: v for k, v in os.environ.items() if k.startswith("LABENV_CLASS_")}
    env.update({"PATH": f"{venv}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG": "C.UTF-8", "LABENV_CLASS_SETTINGS": str(Path(settings.state) / "settings.json")})
    subprocess.Popen([str(venv / "bin" / "jupyterhub"), "-f", str(Path(__file__).with_name("jupyterhub_config.py"))],
                     cwd=settings.state, env=env, stdout=log, stderr=subprocess.STDOUT,
                     stdin=subprocess.DEVNULL, start_new_session=True)
    until(lambda: _answers(settings.url), 90, f"JupyterHub at {settings.url}",
          describe=lambda: (Path(settings.state) / "jupyterhub.log").read_text(errors="replace")[-800:])


def stop_hub(settings: Settings, say=print) -> None:
    pid = _pid(settings)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)          # the hub stops every server, its services and the proxy
    try:
        # every member's server stops first, and their labs go: a busy host with a class takes time
        until(lambda: _pid(settings) is None, STOP_TIMEOUT, "the hub to stop")
    except TimedOut:
        os.kill(pid, signal.SIGKILL)
    say("classroom: the hub stopped")


# -- the class's labs

def remove_labs_of(owner: str, where: enginecfg.Paths | None = None) -> tuple[int, list[str]]:
    """Every container and network of ``owner``'s labs (``owner-*``) on every class engine that
    answers: how many were removed, and the engines that did not answer (their labs stay)."""
    from .engine import remove_everywhere

    return remove_everywhere(where or enginecfg.paths(), owner)


# -- the whole class

def settings_path() -> Path:
    return STATE / "settings.json"


def up(roster_path: Path | str, *, ip: str = "127.0.0.1", port: int = 8000,
       suites: tuple[str, ...] = (build.DEFAULT_SUITE,), notebooks: Path | None = None, say=print,
       **ports_and_culling: int) -> Settings:
    """Everything a class needs (as many engines as the roster's ``engines``), then the hub;
    the Settings (``.url`` is the one address).

    ``ports_and_culling``: any of Settings' hub_port, proxy_api_port, progress_port (the
    hub's own ports on 127.0.0.1), cull_timeout and cull_every (seconds).
    """
    from . import engine

    require_root()
    roster = load(roster_path)
    notebooks = notebooks or ROOT / "build" / "student"
    if not any(notebooks.glob("[0-9][0-9]-*.ipynb")):
        raise LabError(f"no learner's notebooks in {notebooks}: run `make student` first")
    venv, command = class_venv(say), proxy(say)
    engine.set_pool(roster.pool, suites[0])
    engine.up(suites=suites, say=say, engines=roster.engines)
    where = enginecfg.paths()
    STATE.mkdir(parents=True, exist_ok=True)
    STATE.chmod(0o700)
    settings = Settings(roster=str(Path(roster_path).resolve()), state=str(STATE), ip=ip, port=port,
                        venv=str(venv), proxy=str(command), engine_tcp=where.tcp_url,
                        engine_socket=where.unix_url, subnets=enginecfg.LAB_SUBNETS, **ports_and_culling)
    settings.save()
    certs.ensure_server(where.pki)

    def issue(name: str, folder: Path, owner: tuple[int, int], instructor: bool) -> None:
        certs.issue(where.pki, name, folder, owner=owner)
        access.add(where.access, name, "instructors" if instructor else "learners")

    make_accounts(roster, notebooks, issue, say)
    hand_out_passwords(roster, STATE / "passwords.dbm")
    start_hub(settings, venv, say)
    say(f"classroom: class {roster.name} is up at {settings.url}")
    return settings


def down(*, purge: bool = False, say=print) -> None:
    """The hub, every server and lab, the class's engines; with ``purge`` the accounts and record too."""
    from . import engine

    require_root()
    settings = Settings.read(settings_path()) if settings_path().exists() else None
    if settings is not None:
        stop_hub(settings, say)
    engine.down(purge=purge, say=say)
    if purge:
        if settings is not None and Path(settings.roster).exists():
            remove_accounts(load(settings.roster))
        for group in GROUP.values():
            subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(STATE, ignore_errors=True)
        try:
            STATE.parent.rmdir()   # the class's state folder, when the engine left nothing else in it
        except OSError:
            pass
        say("classroom: the accounts, their homes and the class's record are removed")
    else:
        say(f"classroom: the accounts, their work and the progress record stay ({STATE}); "
            "`make classroom-down PURGE=1` removes them")


def status() -> dict:
    from . import engine

    settings = Settings.read(settings_path()) if settings_path().exists() else None
    return {"hub": bool(settings and _pid(settings)), "url": settings.url if settings else None,
            "engines": engine.status()["engines"]}
