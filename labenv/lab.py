"""A lab: its networks and containers on one Docker engine, found again by label.

    lab = Lab.up("default", suite="bookworm")    # fresh lab, Debian defaults
    lab = Lab.attach("default")                  # a running lab, from another process
    lab.exec("mailserver", ["sendmail", "-bt"], stdin="/parse a@example.com\\n")
    lab.provider.sessions()                      # what relayhost.somedom.com recorded
    lab.down()
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import ipaddress
import json
import os
import random
import re
import socket
import ssl
import stat
import struct
import tarfile
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests
from docker.errors import APIError, DockerException, NotFound

from . import build, engine, engines, wait
from . import containers as _containers
from .containers import LabContainer, LabNetworkRef, MailserverContainer, ProviderContainer, RouterContainer
from .errors import LabError, NotSo, Refused
from .sendmail.parsers.make import errors as make_errors
from .topology import INTERNET, LAN, MX_RECORDS, ROLES, ROUTER_HOST, ROUTER_INTERNET_ALIASES
from .topology import role as role_spec

LAB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
LABEL_LAB = "labenv.lab"
LABEL_SPARE = "labenv.spare"     # a spare lab of the hot-start pool (labenv.pool)
SUBNET_POOL = "10.213.0.0/16"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not LAB_NAME.match(name):
        raise LabError(f"lab name {name!r} is not valid: use 1-30 of a-z, 0-9, '-', '_', "
                       "starting with a letter or digit")
    return name


@dataclass
class ExecResult:
    """What a command in a lab container did."""

    cmd: list[str]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def check(self) -> ExecResult:
        if self.exit_code != 0:
            tail = (self.stderr or self.stdout).strip().splitlines()[-1:] or ["no output"]
            raise NotSo(f"`{' '.join(self.cmd)}` exited {self.exit_code}: {tail[0]}")
        return self


def _subnet_pool() -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(os.environ.get("LABENV_SUBNETS", SUBNET_POOL))
    except ValueError as error:
        raise LabError(f"LABENV_SUBNETS is not a network: {error}") from None


def own_labs_filter() -> dict[str, str]:
    """With LABENV_LAB_PREFIX set, a listing asks only for the names of that prefix's labs.

    On a class engine a learner's listing that showed another learner's labs is
    refused (the authorization plugin sees the answer), so labenv asks for its
    own: Docker's name filter is a regular expression, and a lab's containers and
    networks are all named ``labenv-<lab>-...``.
    """
    prefix = os.environ.get("LABENV_LAB_PREFIX")
    return {"name": f"^/?labenv-{re.escape(prefix)}"} if prefix else {}


def _used_subnets(client) -> list[ipaddress.IPv4Network]:
    used = []
    for net in client.networks.list(filters=own_labs_filter()):
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
            try:
                used.append(ipaddress.IPv4Network(cfg.get("Subnet", ""), strict=False))
            except ValueError:
                pass
    try:  # the host's own routes: never shadow a network the host really uses
        for line in Path("/proc/net/route").read_text().splitlines()[1:]:
            fields = line.split()
            dest, mask = (ipaddress.IPv4Address(int(f, 16).to_bytes(4, "little")) for f in (fields[1], fields[7]))
            if int(mask):
                used.append(ipaddress.IPv4Network(f"{dest}/{mask}", strict=False))
    except (OSError, ValueError, IndexError):
        pass
    return used


class Provider:
    """relayhost.somedom.com's record and knobs, through `relayhost-ctl` in its container."""

    def __init__(self, lab: Lab, role: str = "relayhost") -> None:
        self.lab = lab
        self.role = role

    def ctl(self, *args: str):
        result = self.lab.exec(self.role, ["relayhost-ctl", *args]).check()
        return json.loads(result.stdout)

    def sessions(self) -> list[dict]:
        return self.ctl("sessions")

    def messages(self) -> list[dict]:
        """Every message received, oldest first, with its session's port/TLS/auth."""
        out = []
        for session in self.sessions():
            for message in session["messages"]:
                out.append({**message, "port": session["port"], "peer": session["peer"],
                            "session_auth": session["auth"]})
        return out

    def clear(self) -> None:
        self.ctl("clear")

    def wait_for_messages(self, count: int, timeout: float = 30.0) -> list[dict]:
        """Wait until at least `count` messages arrived; TimedOut if they do not."""
        def enough() -> list[dict] | None:
            messages = self.messages()
            return messages if len(messages) >= count else None

        return wait.until(enough, timeout, f"{count} message(s) at {self.role}")


class Lab:
    """The containers and networks of one named lab, on one engine.

    A lab is found by its containers' names, ``labenv-<lab>-<role>``: a spare lab of
    the hot-start pool (labenv.pool) becomes someone's lab by renaming its
    containers, since its labels cannot change. ``labenv.id`` names one lab's
    containers and networks whatever the lab is called.
    """

    def __init__(self, name: str, lab_id: str, suite: str, containers: dict,
                 where: engines.Engine | None = None) -> None:
        self.name = name
        self.id = lab_id
        self.suite = suite
        self.engine = where or engines.configured()[0]
        self._containers = containers  # role -> docker Container
        self.provider = Provider(self)
        self.mailhost = Provider(self, "mailhost")

    # -- finding and starting --------------------------------------------------
    @classmethod
    def attach(cls, name: str = "default") -> Lab:
        check_name(name)
        where, found, down = _find(name)
        if down and not found:
            silent = ", ".join(str(e) for e in down)
            raise LabError(f"lab {name!r} is on no engine that answers: {silent} does not answer, and the "
                           f"lab may be there; start_lab(...) or `python -m labenv up --lab {name}` starts a "
                           "fresh one on another engine")
        if not found:
            raise LabError(f"lab {name!r} is not running; start it with `python -m labenv up --lab {name}`")
        return cls._of(name, found, where)

    @classmethod
    def _of(cls, name: str, found: list, where: engines.Engine) -> Lab:
        containers = {c.labels.get("labenv.role"): c for c in found}
        first = found[0]
        suite = first.labels.get("labenv.suite", build.DEFAULT_SUITE)
        return cls(name, first.labels.get("labenv.id", "?"), suite, containers, where)

    @classmethod
    def exists(cls, name: str) -> bool:
        return bool(_find(check_name(name))[1])

    @classmethod
    def up(cls, name: str = "default", suite: str = build.DEFAULT_SUITE, *, replace: bool = True,
           hot: bool = True, say=print) -> Lab:
        """A fresh lab (Debian defaults, nothing of the howto applied).

        With spare labs in the hot-start pool (labenv.pool), one of them is claimed
        and renamed; otherwise one starts cold. `hot=False` always starts one cold.
        """
        check_name(name)
        build.check_suite(suite)
        with _starting(name):
            where = _drop(name, replace)
            if hot:  # a spare made from the suite's images of now proves they are there
                from . import pool

                lab = pool.claim(where, name, suite, build.tags(suite))
                if lab is not None:
                    return lab
            tags = build.ensure_all(suite, say)
            build.ensure_on(where.client(), tags, say)
            return cls._up(where, name, suite, tags)

    @classmethod
    def _up(cls, where: engines.Engine, name: str, suite: str, tags: dict[str, str],
            labels: dict[str, str] | None = None) -> Lab:
        """Start the lab's networks and containers on `where` (nothing of that name may be there)."""
        client = where.client()
        lab_id = uuid.uuid4().hex[:12]
        labels = {LABEL_LAB: name, "labenv.id": lab_id, "labenv.suite": suite, **(labels or {})}
        lan, internet = _create_networks(client, name, labels)
        started: list[LabContainer] = []
        try:
            ids = {"lab": name, "lab_id": lab_id, "suite": suite, "labels": labels,
                   "engine": where.from_env_kw()}
            router = (RouterContainer(tags["router"], **ids)
                      .with_lab_network(lan)
                      .with_subnets(lan, internet)
                      .with_dns(_host_records(lan, internet), MX_RECORDS)
                      .with_second_network(internet, *ROUTER_INTERNET_ALIASES))
            gateway = lan.address(ROUTER_HOST)
            others = [
                MailserverContainer(tags["mailserver"], **ids)
                .with_lab_network(lan).with_gateway(gateway),
                ProviderContainer(tags["relayhost"], role="relayhost", **ids)
                .with_lab_network(internet),
                ProviderContainer(tags["relayhost"], role="mailhost", **ids)
                .with_lab_network(lan),
            ]
            # All at once: the mailserver's entrypoint waits for the router's DNS
            # before it starts sendmail (which asks DNS as it starts).
            _start_all([router, *others], started)
        except Exception as error:
            details = "\n".join(f"--- {c.role.name} log:\n{c.logs_tail()}" for c in started)
            remove_by_label(f"labenv.id={lab_id}", client)
            if isinstance(error, LabError):
                raise
            raise LabError(f"lab {name!r} did not start: {error}", details) from None
        return cls._of(name, _lab_containers(client, name), where)

    @property
    def from_pool(self) -> bool:
        """Whether the lab was a spare of the hot-start pool (labenv.pool) before it was claimed."""
        return any(LABEL_SPARE in ((c.attrs.get("Config") or {}).get("Labels") or c.attrs.get("Labels") or {})
                   for c in self._containers.values())

    # -- running commands ------------------------------------------------------
    def container(self, role: str):
        role_spec(role)
        if role not in self._containers:
            raise LabError(f"lab {self.name!r} has no {role} container; {_start_again(self.name)}")
        return self._containers[role]

    def exec(self, role: str, cmd: list[str] | str, *, stdin: str | bytes | None = None,
             user: str | None = None, timeout: float | None = None,
             env: dict[str, str] | None = None) -> ExecResult:
        """Run `cmd` in the role's container; `timeout` (seconds) kills it if it hangs."""
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        run = (["timeout", "-k", "2", str(int(max(1, timeout))), *argv] if timeout else argv)
        container = self.container(role)
        api = self._client().api
        if stdin is not None and api.base_url.startswith("https://"):
            stdin = stdin.encode() if isinstance(stdin, str) else stdin
            run = _counted_stdin(run, len(stdin))
        try:
            exec_id = api.exec_create(container.id, run, stdin=stdin is not None, stdout=True,
                                      stderr=True, user=user or "", environment=env)["Id"]
            out, err = _exec_io(api, exec_id, stdin)
            code = api.exec_inspect(exec_id)["ExitCode"]
        except NotFound:
            raise self._gone(role) from None
        except _UNREACHABLE as error:
            raise self.engine.not_answering(error) from None
        except APIError as error:
            if "is not running" in str(error):
                raise LabError(f"the {role} container of lab {self.name!r} is not running; "
                               f"{_start_again(self.name)}") from None
            raise LabError(f"exec in {role} failed: {str(error)[:200]}") from None
        return ExecResult(argv, code if code is not None else -1,
                          out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))

    def put_files(self, role: str, files: dict[str, str | bytes], *, mode: int = 0o644,
                  modes: dict[str, int] | None = None, owner: tuple[int, int] = (0, 0)) -> None:
        """Write files (absolute path -> content) into the role's container in one archive."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for path, content in files.items():
                if not path.startswith("/"):
                    raise LabError(f"put_files needs absolute paths, got {path!r}")
                data = content.encode() if isinstance(content, str) else content
                info = tarfile.TarInfo(path.lstrip("/"))
                info.size, info.mtime = len(data), time.time()
                info.mode = (modes or {}).get(path, mode)
                info.uid, info.gid = owner
                tar.addfile(info, io.BytesIO(data))
        try:
            self.container(role).put_archive("/", buf.getvalue())
        except NotFound:
            raise self._gone(role) from None
        except _UNREACHABLE as error:
            raise self.engine.not_answering(error) from None

    def _client(self):
        return self.engine.client()

    def _gone(self, role: str) -> LabError:
        return LabError(f"the {role} container of lab {self.name!r} is gone (finish(lab) or "
                        f"`labenv down` removed the lab); {_start_again(self.name)}")

    def apply_files(self, files: dict[str, str], *, modes: dict[str, int] | None = None,
                    reload: bool = True) -> str:
        """Install sendmail files on the mailserver, rebuild, reload; all or nothing.

        The files are staged, then the image's `lab-apply` builds the hash maps
        among them, runs Debian's `make` in /etc/mail and reloads sendmail. On any
        error /etc/mail is restored and sendmail keeps running its last good
        configuration: Refused says why, with make's and m4's error lines.
        Returns make's output.
        """
        staging = f"/var/lib/lab-apply/staging-{uuid.uuid4().hex[:8]}"
        self.put_files("mailserver", {staging + path: text for path, text in files.items()},
                       modes={staging + p: m for p, m in (modes or {}).items()})
        cmd = ["lab-apply", *([] if reload else ["--no-reload"]), staging]
        result = self.exec("mailserver", cmd, timeout=120)
        if result.exit_code != 0:
            text = result.output.strip()
            first = next((line for line in text.splitlines() if line.startswith("lab-apply: ")),
                         text.splitlines()[0] if text else "lab-apply failed")
            raise Refused(first.removeprefix("lab-apply: "), make_errors(text), details=text)
        return result.output

    def read_file(self, role: str, path: str) -> str:
        return self.exec(role, ["cat", "--", path]).check().stdout

    # -- what the lab is doing -------------------------------------------------
    def status(self) -> dict:
        roles = {}
        for name, container in sorted(self._containers.items()):
            try:
                container.reload()
            except _UNREACHABLE as error:
                raise self.engine.not_answering(error) from None
            nets = container.attrs["NetworkSettings"]["Networks"]
            roles[name] = {
                "state": container.status,
                "hostname": container.attrs["Config"]["Hostname"],
                "image": container.attrs["Config"]["Image"],
                "addresses": {n.rsplit("-", 1)[-1]: v.get("IPAddress") for n, v in nets.items()},
            }
        return {"lab": self.name, "id": self.id, "suite": self.suite, "engine": self.engine.name,
                "roles": roles,
                "running": all(r["state"] == "running" for r in roles.values())
                and set(roles) == set(ROLES)}

    def down(self) -> int:
        try:
            return remove_by_label(f"labenv.id={self.id}", self._client())
        except _UNREACHABLE as error:
            raise self.engine.not_answering(error) from None


#: What a call to an engine that stopped raises (requests' errors are not docker's).
_UNREACHABLE = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)


def lab_filter(name: str) -> dict[str, str]:
    """The engine's filter for lab `name`'s containers, by their names."""
    roles = "|".join(ROLES)
    return {"label": "labenv.id", "name": f"^/?labenv-{re.escape(name)}-({roles})$"}


def _lab_containers(client, name: str) -> list:
    return client.containers.list(all=True, ignore_removed=True, filters=lab_filter(name))


def _find(name: str) -> tuple[engines.Engine | None, list, list[engines.Engine]]:
    """(the engine holding lab `name`, its containers, engines that did not answer)."""
    configured = engines.configured()
    if len(configured) == 1:
        where = configured[0]
        try:
            return where, _lab_containers(where.client(), name), []
        except _UNREACHABLE as error:
            raise where.not_answering(error) from None
    found, down = engines.each(lambda e: _lab_containers(e.client(), name), configured)
    for where, containers in found.items():
        if containers:
            return where, containers, down
    return None, [], down


def _drop(name: str, replace: bool) -> engines.Engine:
    """Remove an earlier lab `name` (or refuse, without `replace`); the engine for the new one."""
    where, found, _down = _find(name)
    if found:
        if not replace:
            raise LabError(f"lab {name!r} is already running; `python -m labenv down --lab {name}` first")
        _remove_found(where, found)
    return engines.place(os.environ.get("LABENV_LAB_PREFIX", ""))


def _start_again(name: str) -> str:
    """How to get a working lab again, the end of an error about a lab that is gone or stopped."""
    return ("start a fresh lab with start_lab(...) in the notebook and run its cells again, "
            f"or `python -m labenv up --lab {name}`")


@contextlib.contextmanager
def _starting(name: str):
    """Hold the lock for starting lab `name` on this engine; a second `up` meanwhile is refused.

    Without it, the second `up` would remove the first one's networks half-way.
    """
    engine_id = hashlib.sha256(os.environ.get("DOCKER_HOST", "local").encode()).hexdigest()[:8]
    folder = _lock_folder()
    with open(folder / f"{engine_id}-{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(f"lab {name!r} is being started by another command right now; "
                           f"use it once that is done (`python -m labenv status --lab {name}`)") from None
        yield


def _lock_folder() -> Path:
    """The calling user's own folder of start locks (each Unix user of a class has one).

    One folder shared by every user would belong to whoever ran first, and be
    closed to the others; a folder of that name made by someone else is refused.
    """
    uid = os.getuid()
    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / f"labenv-locks-{uid}"
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or st.st_mode & 0o022:
        raise LabError(f"{folder} is not this user's own folder (owner uid {st.st_uid}, mode "
                       f"{stat.S_IMODE(st.st_mode):o}); remove it and start again")
    return folder


def _host_records(lan: LabNetworkRef, internet: LabNetworkRef) -> dict[str, str]:
    nets = {LAN: lan, INTERNET: internet}
    records = {}
    for spec in ROLES.values():
        for name in (spec.hostname, *spec.aliases):
            records.setdefault(name, nets[spec.network].address(spec.host))
    return records


def _counted_stdin(argv: list[str], size: int) -> list[str]:
    """`argv` reading exactly `size` bytes of standard input, then end of file.

    Over a TLS connection to the engine (a class engine) the end of the input
    cannot be sent as a half-close: Python's SSLSocket.shutdown drops TLS and
    the answer then reads as noise. `head -c` ends the input after its length.
    """
    return ["sh", "-c", 'head -c "$0" | "$@"', str(size), *argv]


def _exec_io(api, exec_id: str, data: str | bytes | None) -> tuple[bytes, bytes]:
    """Start a created exec, send `data` to its stdin (if any), return (stdout, stderr).

    The multiplexed stream is read through the HTTP response's own buffered reader.
    docker-py's exec_start reads the raw socket beneath that reader, so output the
    engine sent together with the response headers (a fast command, or a client that
    reads the headers late on a busy host) sat in the reader's buffer and was lost:
    the output came back empty, or cut so that its frames no longer parse
    ("ValueError: 48 is not a valid stream").
    """
    headers = {"Connection": "Upgrade", "Upgrade": "tcp"} if data is not None else {}
    response = api._post_json(api._url("/exec/{0}/start", exec_id), headers=headers,
                              data={"Tty": False, "Detach": False}, stream=True)
    api._raise_for_status(response)
    reader = response.raw._fp.fp           # http.client's buffered reader on the socket
    try:
        if data is not None:
            raw = reader.raw._sock
            raw.sendall(data.encode() if isinstance(data, str) else data)
            if not isinstance(raw, ssl.SSLSocket):  # over TLS the command counts its input instead
                raw.shutdown(socket.SHUT_WR)
        out, err = bytearray(), bytearray()
        while len(header := reader.read(8)) == 8:
            stream, length = struct.unpack(">BxxxL", header)
            chunk = reader.read(length)
            (err if stream == 2 else out).extend(chunk)
            if len(chunk) < length:
                break
    finally:
        response.close()
    return bytes(out), bytes(err)


def _create_networks(client, name: str, labels: dict) -> tuple[LabNetworkRef, LabNetworkRef]:
    pool = _subnet_pool()
    # First choice: the two free subnets that rank first for this lab's name (a hash
    # of name and subnet), so a lab gets the same addresses on every start while they
    # are free, and labs of different names, started at the same moment, rarely pick
    # the same ones. A collision is retried with a random free pair.
    def rank(subnet: ipaddress.IPv4Network) -> bytes:
        return hashlib.sha256(f"{name} {subnet}".encode()).digest()

    chooser = random.SystemRandom()
    for attempt in range(12):
        used = _used_subnets(client)
        candidates = [s for s in pool.subnets(new_prefix=24) if not any(s.overlaps(u) for u in used)]
        if attempt == 0:
            free = iter(sorted(candidates, key=rank)[:2])
        else:
            free = iter(chooser.sample(candidates, min(2, len(candidates))) if attempt < 11 else candidates)
        pair = []
        try:
            for kind in (LAN, INTERNET):
                subnet = next(free)
                net_name = f"labenv-{name}-{kind}"
                # Not `internal`: Docker's isolation rules for internal networks drop
                # routed traffic (LAN -> router -> Internet side) on the bridge. The
                # containers delete the default route Docker gives them instead, so
                # nothing in a lab can reach beyond its two networks.
                client.networks.create(
                    net_name, driver="bridge", internal=False, check_duplicate=True,
                    options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
                    labels={**labels, "labenv.network": kind},
                    ipam={"Driver": "default", "Config": [{"Subnet": str(subnet)}]})
                pair.append(LabNetworkRef(net_name, str(subnet)))
            return pair[0], pair[1]
        except StopIteration:
            raise LabError(f"no free /24 left in {pool} for lab networks; set LABENV_SUBNETS") from None
        except APIError as error:  # another lab took the subnet meanwhile: try the next ones
            for ref in pair:
                _remove_network(client, ref.name)
            if "overlap" not in str(error) and "already exists" not in str(error):
                raise LabError(f"cannot create the lab's networks: {str(error)[:200]}") from None
            if "already exists" in str(error):
                remove_by_label(f"{LABEL_LAB}={name}", client)
    raise LabError("cannot find free subnets for the lab's networks")


def _remove_network(client, name: str) -> None:
    try:
        client.networks.get(name).remove()
    except (NotFound, APIError):
        pass


class _StartFailure(Exception):
    """One container of a lab did not come up; says which and why, in one line."""

    def __init__(self, container: LabContainer, error: Exception) -> None:
        if isinstance(error, TimeoutError):
            why = f"did not report ready within {_containers.STARTUP_TIMEOUT} s"
        else:
            why = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        super().__init__(f"the {container.role.name} container {why} (its log follows)")


def _start_all(containers: list[LabContainer], started: list[LabContainer]) -> None:
    """Start every container at once; the first failure is raised."""
    def start(c: LabContainer) -> LabContainer:
        started.append(c)
        try:
            return c.start()
        except Exception as error:
            raise _StartFailure(c, error) from error

    with ThreadPoolExecutor(max_workers=len(containers)) as pool:
        futures = [pool.submit(start, c) for c in containers]
        errors = [f.exception() for f in futures if f.exception()]
    if errors:
        raise errors[0]


def remove_by_label(label: str, client=None) -> int:
    """Remove every container, then every network, carrying `label`; returns how many."""
    client = client or engine.connect()
    count = 0
    containers = client.containers.list(all=True, ignore_removed=True, filters={"label": label})
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(containers)))) as pool:
        for removed in pool.map(_remove_container, containers):
            count += removed
    for net in client.networks.list(filters={"label": label}):
        try:
            net.remove()
            count += 1
        except NotFound:
            pass
        except APIError as error:
            if error.status_code == 403 and LABEL_SPARE in (net.attrs.get("Labels") or {}):
                continue  # a claimed spare's network, on a class engine: the pool's keeper removes it
            # a container attached outside labenv; disconnect it first
            net.reload()
            for cid in net.attrs.get("Containers") or {}:
                try:
                    net.disconnect(cid, force=True)
                except DockerException:
                    pass
            net.remove()
            count += 1
    return count


def remove_lab(name: str) -> tuple[int, list[engines.Engine]]:
    """Remove lab `name` wherever it is (a claimed spare too) and what a failed start of it
    left; (containers and networks removed, engines that did not answer)."""
    where, found, down = _find(name)
    removed = _remove_found(where, found)
    leftovers, more_down = engines.each(lambda e: remove_by_label(f"{LABEL_LAB}={name}", e.client()))
    return removed + sum(leftovers.values()), down + [e for e in more_down if e not in down]


def _remove_found(where: engines.Engine | None, found: list) -> int:
    """Remove the labs (by labenv.id) of containers `_find` found on `where`; how many objects."""
    return sum(remove_by_label(f"labenv.id={lab_id}", where.client())
               for lab_id in {c.labels.get("labenv.id") for c in found})


def _remove_container(container) -> int:
    try:
        container.remove(force=True, v=True)
        return 1
    except NotFound:
        return 0


def list_labs(where: list[engines.Engine] | None = None) -> dict[str, list[str]]:
    """Lab name -> roles found, for every lab on the engines that answer (running or not).

    Spare labs of the hot-start pool are not listed (``python -m labenv pool status``).
    With LABENV_LAB_PREFIX set, only that prefix's labs (see own_labs_filter).
    """
    return {name: roles for _e, name, roles in labs_by_engine(where)}


def labs_by_engine(where: list[engines.Engine] | None = None,
                   everyone: bool = False) -> list[tuple[engines.Engine, str, list[str]]]:
    """(engine, lab name, roles) for every lab, as list_labs finds them (`everyone`: whatever
    LABENV_LAB_PREFIX says)."""
    found, _down = engines.each(lambda e: _labs_on(e, everyone), where)
    return [(e, name, roles) for e, labs in found.items() for name, roles in sorted(labs.items())]


def _labs_on(where: engines.Engine, everyone: bool = False) -> dict[str, list[str]]:
    labs: dict[str, list[str]] = {}
    mine = {"label": LABEL_LAB, **({} if everyone else own_labs_filter())}
    client = where.client()
    for c in client.containers.list(all=True, ignore_removed=True, filters=mine):
        role = c.labels.get("labenv.role", "?")
        name = c.name.removeprefix("labenv-").removesuffix(f"-{role}")
        if not name.startswith("_"):
            labs.setdefault(name, []).append(role)
    for net in client.networks.list(filters=mine):
        name = net.attrs["Labels"][LABEL_LAB]
        if not name.startswith("_"):
            labs.setdefault(name, [])
    return labs
