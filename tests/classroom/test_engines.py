"""A class with two engines, a and b: both real, each in a network namespace of its own.

The first tests need nothing (names, paths, the learner's environment, the roster's
``engines``). The rest need root, dockerd and the bookworm lab images on the host's
engine: the module starts a class of its own with `python -m classroom engine up
--engines 2` (state, run and log folders of its own; engine a on 127.0.0.1:23764,
b on 23765), then, as a class would see it:

    both engines answer over TLS with a learner's certificate, each with its own key;
    two learners' labs on b, and b's plugin keeps them apart as a's does;
    `classroom status` shows each engine, its labs and whose they are;
    `engine stop b`: a goes on (a learner's plain `labenv up` on DOCKER_HOST), the host's
    engine still runs containers; a member's labs are removed where engines answer, and
    the one that did not is named; learners of b get a lab on a (needs labenv/engines.py);
    `engine start b`: b answers again, its images kept;
    `engine down --purge`: no namespace, mount, process, socket, folder or listener left.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from docker.errors import APIError
from docker.tls import TLSConfig
from requests.exceptions import RequestException

from classroom import enginecfg, hub
from classroom.__main__ import main as classroom_main
from classroom.roster import parse
from labenv import build
from labenv.errors import ConfigError
from tests.classroom.hubclass import run_classroom
from tests.support import ROOT

PORT = 23764            # engine a; b listens on the next port
STATE = Path("/var/lib/labenv-class-engines")
RUN = Path("/run/labenv-class-engines")
LOG = Path("/var/log/labenv-class-engines")
CLASS_ENV = {"LABENV_CLASS_STATE": str(STATE), "LABENV_CLASS_RUN": str(RUN), "LABENV_CLASS_LOG": str(LOG),
             "LABENV_CLASS_PORT": str(PORT)}
A = enginecfg.paths(CLASS_ENV)
B = A.of("b")
USERS = {"alice": 60001, "bob": 60002}
CA_BUNDLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
DENIED = "authorization denied by plugin labenv-authz-b"
TIMINGS: dict[str, float] = {}


# -- names, paths and the learner's environment (no engine needed) ---------------------------
def test_engine_a_is_where_the_one_engine_always_was():
    a = enginecfg.paths({})
    assert (a.engine, a.netns, a.bridge, a.plugin, a.port) == ("a", "labenv-class", "labenv-class0", "labenv-authz", 2376)
    assert a.plugin_socket == enginecfg.PLUGIN_SOCKET == Path("/run/docker/plugins/labenv-authz.sock")
    assert (a.socket, a.exec_root, a.dockerd_pid) == (Path("/run/labenv-class/docker.sock"),
                                                      Path("/run/labenv-class/exec"), Path("/run/labenv-class/dockerd.pid"))
    assert (a.data_root, a.dockerd_log, a.server_cert) == (Path("/var/lib/labenv-class/docker"),
                                                           Path("/var/log/labenv-class/dockerd.log"), "server")


def test_each_engine_has_names_and_files_of_its_own():
    every = [enginecfg.paths({}, name) for name in enginecfg.ENGINE_NAMES]
    for field in ("netns", "bridge", "plugin", "plugin_socket", "socket", "exec_root", "data_root", "port",
                  "dockerd_pid", "plugin_pid", "dockerd_log", "authz_log", "daemon_config", "server_cert"):
        values = [getattr(p, field) for p in every]
        assert len(set(values)) == len(values), field
    assert [p.port for p in every] == list(range(2376, 2384))
    assert all(len(p.bridge) <= 15 for p in every), "a Linux interface name has 15 characters at most"
    h = every[-1]
    assert (h.netns, h.bridge, h.plugin, h.tcp_url) == ("labenv-class-h", "labenv-class-h0", "labenv-authz-h",
                                                        "tcp://127.0.0.1:2383")
    assert {p.pki for p in every} == {Path("/var/lib/labenv-class/pki")}      # one CA, one access list
    assert {p.access for p in every} == {Path("/var/lib/labenv-class/access.json")}
    assert B.of("a") == A and B.port == PORT + 1
    with pytest.raises(ValueError, match="not one of"):
        A.of("z")
    with pytest.raises(ValueError, match="1 to 8 engines"):
        enginecfg.engine_names(9)


def test_learner_env_names_every_engine(tmp_path):
    where = enginecfg.paths({"LABENV_CLASS_STATE": str(tmp_path), "LABENV_CLASS_PORT": "2376"})
    env = enginecfg.learner_env("alice", tmp_path / "certs", where)
    assert env["DOCKER_HOST"] == "tcp://127.0.0.1:2376"
    assert env["LABENV_ENGINES"] == "a=tcp://127.0.0.1:2376"             # before any `engine up`
    enginecfg.write_class_engines(where, enginecfg.engine_names(2))
    env = enginecfg.learner_env("alice", tmp_path / "certs", where.of("b"))
    assert env["DOCKER_HOST"] == "tcp://127.0.0.1:2376"                   # engine a, for clients of one
    assert env["LABENV_ENGINES"] == "a=tcp://127.0.0.1:2376 b=tcp://127.0.0.1:2377"
    assert (env["DOCKER_TLS_VERIFY"], env["DOCKER_CERT_PATH"]) == ("1", str(tmp_path / "certs"))
    engines = pytest.importorskip("labenv.engines", reason="labenv/engines.py reads LABENV_ENGINES")
    assert [(e.name, e.url) for e in engines.parse(env["LABENV_ENGINES"])] == \
        [("a", "tcp://127.0.0.1:2376"), ("b", "tcp://127.0.0.1:2377")]


def test_roster_says_how_many_engines():
    base = 'name = "c1"\ninstructors = ["ines"]\nlearners = ["alice"]\n'
    assert parse(base).engines == 1
    assert parse(base + "engines = 3\n").engines == 3
    for wrong in ("0", "9", '"2"', "true", "1.5"):
        with pytest.raises(ConfigError) as caught:
            parse(base + f"engines = {wrong}\n")
        assert "engines" in str(caught.value) and "1 to 8" in str(caught.value)
        assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize("args, says", [
    (["engine", "up", "--engines", "9"], "a class runs 1 to 8 engines"),
    (["engine", "up", "--engines", "two"], "a class runs 1 to 8 engines"),
    (["engine", "stop"], "engine stop needs the engine's name"),
    (["engine", "start", "z"], "invalid choice"),
    (["engine", "status", "b"], "engine status takes no engine name"),
    (["engine", "down", "--engines", "2"], "--engines goes with engine up"),
])
def test_engine_verbs_refuse_bad_input_in_one_line(args, says, capsys):
    try:
        code = classroom_main(args)
    except SystemExit as exit:          # argparse's own refusals
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err


# -- two real engines ---------------------------------------------------------------------
def _skip_unless_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("the class engines need root")
    if not shutil.which("dockerd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
        pytest.skip("dockerd is not installed")
    taken = [n for n in (A.netns, B.netns) if Path("/run/netns", n).exists()]
    if taken:
        pytest.skip(f"a class runs on this host already (network namespace {taken[0]})")
    for port in (A.port, B.port):
        if _listening(port):
            pytest.skip(f"port {port} is taken; the test class needs {A.port} and {B.port}")
    host = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    missing = [t for t in (build.tag_for(n, build.DEFAULT_SUITE) for n in build.IMAGES)
               if not host.images.list(name=t)]
    if missing:
        pytest.skip(f"the host's engine lacks {', '.join(missing)} (make setup)")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def classroom(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run_classroom(CLASS_ENV, *args, check=check)


def _seconds(out: str) -> tuple[float, float]:
    """The engine and image seconds of `engine up|start`'s "started in X s; ... loaded in Y s"."""
    line = next(line for line in out.splitlines() if line.startswith("started in"))
    return float(line.split()[2]), float(line.split()[-2])


def host_rules() -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line and not line.startswith(("#", ":"))]


def as_learner(name: str, *labenv_args: str, on: str | None = None, engines: bool = True,
               timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m labenv ARGS` as the learner's own Unix user, with the environment a class gives;
    ``on="b"``: DOCKER_HOST and LABENV_ENGINES name engine b alone; ``engines=False``: no
    LABENV_ENGINES (a client that knows DOCKER_HOST only)."""
    uid = USERS[name]
    env = {k: v for k, v in os.environ.items() if k not in CA_BUNDLES and not k.startswith(("DOCKER_", "LABENV_"))}
    env.update(enginecfg.learner_env(name, STATE / "users" / name, A))
    if on:
        env.update(DOCKER_HOST=A.of(on).tcp_url, LABENV_ENGINES=f"{on}={A.of(on).tcp_url}")
    if not engines:
        del env["LABENV_ENGINES"]
    env.update(HOME="/nonexistent", LABENV_QUIET="1", LABENV_PROGRESS_DB="/dev/null")
    return subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                           sys.executable, "-m", "labenv", *labenv_args], cwd=ROOT, env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout)


def tls_client(name: str, where: enginecfg.Paths, timeout: int = 60) -> docker.DockerClient:
    folder = STATE / "users" / name
    tls = TLSConfig(ca_cert=str(folder / "ca.pem"), client_cert=(str(folder / "cert.pem"), str(folder / "key.pem")),
                    verify=True)
    return docker.DockerClient(base_url=f"https://127.0.0.1:{where.port}", tls=tls, version="1.41", timeout=timeout)


def root_client(where: enginecfg.Paths) -> docker.DockerClient:
    return docker.DockerClient(base_url=where.unix_url, timeout=60)


def labs_on(where: enginecfg.Paths) -> set[str]:
    return {c.labels["labenv.lab"] for c in root_client(where).containers.list(all=True, filters={"label": "labenv.lab"})}


def objects_of(where: enginecfg.Paths, owner: str = "") -> int:
    """The containers and networks of the labs (of ``owner``'s labs) on an engine, as root counts them."""
    engine = root_client(where)
    labels = [c.labels for c in engine.containers.list(all=True, filters={"label": "labenv.lab"})]
    labels += [n.attrs.get("Labels") or {} for n in engine.networks.list(filters={"label": "labenv.lab"})]
    return sum(1 for lab in labels if lab["labenv.lab"].startswith(f"{owner}-" if owner else ""))


def denied(call, *args, **kwargs) -> str:
    with pytest.raises(APIError) as caught:
        call(*args, **kwargs)
    assert caught.value.status_code == 403 and DENIED in str(caught.value), caught.value
    return str(caught.value)


def server_name(where: enginecfg.Paths) -> str:
    """The CN of the certificate the engine shows (with alice's client certificate)."""
    folder = STATE / "users" / "alice"
    context = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    context.load_cert_chain(str(folder / "cert.pem"), str(folder / "key.pem"))
    with socket.create_connection(("127.0.0.1", where.port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        subject = dict(pair[0] for pair in tls.getpeercert()["subject"])
    return subject["commonName"]


def class_processes() -> list[str]:
    """Processes with the class's folders or ports in their command line or environment."""
    marks = [str(STATE), str(RUN), f"127.0.0.1:{A.port}", f"127.0.0.1:{B.port}"]
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            text = ((proc / "cmdline").read_bytes() + b"\0" + (proc / "environ").read_bytes()).decode(errors="replace")
        except OSError:
            continue
        if any(mark in text for mark in marks):
            found.append(f"{proc.name} {text[:120]!r}")
    return found


@pytest.fixture(scope="module")
def engines():
    _skip_unless_possible()
    saved = {k: os.environ.pop(k) for k in CA_BUNDLES if k in os.environ}
    before = {"rules": host_rules()}
    try:
        started = time.monotonic()
        up = classroom("engine", "up", "--engines", "2")
        TIMINGS["up_two_engines_total_s"] = round(time.monotonic() - started, 1)
        TIMINGS["engines_start_s"], TIMINGS["images_into_both_s"] = _seconds(up.stdout)
        for name, uid in USERS.items():
            classroom("certs", name, "--owner", f"{uid}:{uid}")
        classroom("certs", "--instructor", "carol", "--owner", "0:0")
        yield before
    finally:
        if any(Path("/run/netns", w.netns).exists() for w in (A, B)) or RUN.exists():
            classroom("engine", "down", "--purge", check=False)
        if not os.environ.get("LABENV_CLASS_TEST_KEEP_LOGS"):
            shutil.rmtree(LOG, ignore_errors=True)
        os.environ.update(saved)
        print("\nclass engines timings:", json.dumps(TIMINGS))


def test_up_starts_both_engines_each_in_its_own_namespace(engines):
    up_lines = classroom("engine", "status", "--json").stdout
    state = json.loads(up_lines)["engines"]
    assert set(state) == {"a", "b"}
    tags = sorted(build.tag_for(n, build.DEFAULT_SUITE) for n in build.IMAGES)
    for name, where in (("a", A), ("b", B)):
        assert state[name]["running"] and state[name]["netns"] == where.netns, state[name]
        assert state[name]["images"] == tags
        assert state[name]["tcp"] == where.tcp_url and state[name]["unix"] == where.unix_url
        assert Path("/run/netns", where.netns).exists() and where.plugin_socket.exists()
        link = subprocess.run(["ip", "-n", where.netns, "-4", "-o", "addr", "show", where.bridge],
                              capture_output=True, text=True)
        assert "10.215.0.1/24" in link.stdout, link.stdout + link.stderr
        assert subprocess.run(["ip", "link", "show", where.bridge], capture_output=True).returncode != 0
    assert json.loads((STATE / "engines.json").read_text()) == {"engines": 2}


def test_both_engines_answer_over_tls_with_a_learners_certificate(engines):
    for where in (A, B):
        alice = tls_client("alice", where)
        assert alice.ping()
        assert alice.version()["ApiVersion"]
    # One CA for the class, a key and certificate of its own for each engine.
    assert server_name(A) == "labenv class engine" and server_name(B) == "labenv class engine b"
    plain = docker.DockerClient(base_url=f"tcp://127.0.0.1:{B.port}", version="1.41", timeout=10)
    with pytest.raises(APIError, match="HTTP request to an HTTPS server"):
        plain.ping()


def test_learner_env_of_the_class_names_both_engines(engines):
    env = enginecfg.learner_env("alice", STATE / "users" / "alice", A)
    assert env["DOCKER_HOST"] == f"tcp://127.0.0.1:{PORT}"
    assert env["LABENV_ENGINES"] == f"a=tcp://127.0.0.1:{PORT} b=tcp://127.0.0.1:{PORT + 1}"
    printed = classroom("certs", "bob", "--owner", f"{USERS['bob']}:{USERS['bob']}").stdout
    assert f"LABENV_ENGINES='a=tcp://127.0.0.1:{PORT} b=tcp://127.0.0.1:{PORT + 1}'" in printed


def test_learners_labs_on_b_are_kept_apart_by_bs_plugin(engines):
    started = time.monotonic()
    for name in USERS:
        done = as_learner(name, "up", "--lab", f"{name}-nb01", "--no-install-engine", on="b")
        assert done.returncode == 0, f"{name}: {done.stderr}"
    TIMINGS["two_labs_on_b_s"] = round(time.monotonic() - started, 1)
    assert labs_on(B) == {"alice-nb01", "bob-nb01"} and labs_on(A) == set()
    own = as_learner("alice", "exec", "--lab", "alice-nb01", "mailserver", "--", "hostname", on="b")
    assert own.returncode == 0 and own.stdout.strip() == "mailserver.private.lan", own.stderr
    alice = tls_client("alice", B)
    assert alice.containers.get("labenv-alice-nb01-router").exec_run(["true"]).exit_code == 0
    bob_router = tls_client("carol", B).containers.get("labenv-bob-nb01-router")
    for ref in (bob_router.id, "labenv-bob-nb01-router"):
        denied(alice.api.exec_create, ref, ["true"])
        denied(alice.api.stop, ref)
        denied(alice.api.remove_container, ref, force=True)
        denied(alice.api.inspect_container, ref)
    denied(alice.api.inspect_network, "labenv-bob-nb01-lan")
    assert "not alice's" in denied(alice.containers.list, all=True)
    denied(alice.images.pull, "debian", tag="bookworm-slim")
    denied(alice.api.create_container, build.tag_for("router", build.DEFAULT_SUITE), name="labenv-bob-nb01-x",
           labels={"labenv.lab": "bob-nb01", "labenv.role": "router"})
    assert bob_router.reload() is None and bob_router.status == "running"
    # b's own plugin decided, and wrote it in b's own log.
    log = B.authz_log.read_text().splitlines()
    assert any(" alice req " in line and " deny " in line for line in log)
    assert not any(" alice req " in line and "bob-nb01" in line for line in A.authz_log.read_text().splitlines())


def test_status_shows_each_engine_its_labs_and_whose(engines):
    out = classroom("status").stdout
    lines = out.splitlines()
    assert lines[0] == "hub: not running"
    line_a = next(line for line in lines if line.startswith("engine a "))
    line_b = next(line for line in lines if line.startswith("engine b "))
    assert f"tcp://127.0.0.1:{PORT} " in line_a and "answers" in line_a and "0 lab(s), 0 learner(s)" in line_a
    assert "answers" in line_b and "2 lab(s), 2 learner(s) (alice, bob)" in line_b, out
    assert any(line.strip().startswith("alice-nb01") and "router" in line for line in lines)


def test_stopping_b_leaves_a_and_the_hosts_engine_working(engines):
    on_b = objects_of(B)
    assert on_b >= 12                     # two labs: 4 containers and 2 networks each
    started = time.monotonic()
    stop = classroom("engine", "stop", "b")
    TIMINGS["engine_stop_b_s"] = round(time.monotonic() - started, 1)
    assert f"engine b: removed {on_b} containers and networks" in stop.stderr, stop.stderr
    assert "class engine b stopped" in stop.stderr
    assert not Path("/run/netns", B.netns).exists() and not B.plugin_socket.exists()
    assert not B.socket.exists() and not B.engine_run.exists() and not _listening(B.port)
    assert not any(str(B.engine_run) in line or str(B.data_root) in line
                   for line in Path("/proc/mounts").read_text().splitlines())
    with pytest.raises(RequestException):
        tls_client("alice", B, timeout=5).ping()
    # a still answers, and a learner whose client knows one engine (DOCKER_HOST) starts a lab there.
    assert tls_client("alice", A).ping() and A.plugin_socket.exists()
    started = time.monotonic()
    done = as_learner("alice", "up", "--lab", "alice-nb02", "--no-install-engine", engines=False)
    assert done.returncode == 0, done.stderr
    TIMINGS["lab_on_a_after_b_stopped_s"] = round(time.monotonic() - started, 1)
    assert labs_on(A) == {"alice-nb02"}
    ran = as_learner("alice", "exec", "--lab", "alice-nb02", "mailserver", "--", "hostname", engines=False)
    assert ran.stdout.strip() == "mailserver.private.lan", ran.stderr
    # The host's own engine (once, a second dockerd took docker0 away): a container on its bridge.
    host = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    host.containers.run(build.tag_for("router", build.DEFAULT_SUITE), entrypoint=["true"], remove=True,
                        network_mode="bridge")
    assert subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0
    status = classroom("engine", "status").stdout
    assert f"engine b  {B.tcp_url}  does not answer (stopped)" in status, status


def test_learner_of_a_stopped_engine_gets_a_clear_message_and_a_lab_on_the_other(engines):
    """Needs labenv/engines.py (LABENV_ENGINES): bob's lab was on b, which stopped."""
    pytest.importorskip("labenv.engines", reason="labenv/engines.py places labs over LABENV_ENGINES")
    lost = as_learner("bob", "status", "--lab", "bob-nb01")
    assert lost.returncode != 0
    message = lost.stderr.strip().splitlines()[-1]
    assert f"engine b ({B.tcp_url})" in message and ("does not answer" in message or "not answering" in message), \
        lost.stderr
    done = as_learner("bob", "up", "--lab", "bob-nb02", "--no-install-engine")
    assert done.returncode == 0, done.stderr
    assert "bob-nb02" in labs_on(A)
    again = as_learner("bob", "exec", "--lab", "bob-nb02", "mailserver", "--", "hostname")
    assert again.stdout.strip() == "mailserver.private.lan", again.stderr


def test_removing_a_members_labs_names_the_engine_that_did_not_answer(engines):
    alices = objects_of(A, "alice")
    assert alices >= 6                    # alice-nb02: 4 containers, 2 networks
    removed, silent = hub.remove_labs_of("alice", A)
    assert silent == ["b"] and removed == alices, (removed, silent)
    assert "alice-nb02" not in labs_on(A)


def test_starting_b_again_keeps_its_images_and_it_takes_labs(engines):
    started = time.monotonic()
    start = classroom("engine", "start", "b")
    TIMINGS["engine_start_b_again_total_s"] = round(time.monotonic() - started, 1)
    TIMINGS["engine_start_b_again_s"], images = _seconds(start.stdout)
    assert images == 0.0, "b's data root kept its images"
    assert tls_client("alice", B).ping() and labs_on(B) == set()
    done = as_learner("alice", "up", "--lab", "alice-nb03", "--no-install-engine", on="b")
    assert done.returncode == 0, done.stderr
    assert labs_on(B) == {"alice-nb03"}
    denied(tls_client("bob", B).api.exec_create, "labenv-alice-nb03-router", ["true"])
    alices = objects_of(B, "alice")
    removed, silent = hub.remove_labs_of("alice", A)
    assert silent == [] and removed == alices and "alice-nb03" not in labs_on(B)


def spares_on(where: enginecfg.Paths) -> list[str]:
    """The class pool's ready spares on an engine, as root sees them (their mailservers)."""
    return [c.name for c in root_client(where).containers.list(
        all=True, filters={"label": ["labenv.spare", "labenv.pool=class", "labenv.role=mailserver"],
                           "name": "^/?labenv-_spare-"})]


def test_a_learner_claims_a_spare_of_the_class_pool_and_it_is_hers_alone(engines):
    """The hot-start pool on a class engine: its keeper fills it, a learner's `up` claims one
    through the plugin, the lab is hers alone, and what she leaves is taken away."""
    from classroom import engine as class_engine

    class_engine.set_pool(2, where=A)
    try:
        class_engine.start_keeper(A, say=lambda *_: None)
        deadline = time.monotonic() + 240
        while len(spares_on(A)) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        assert len(spares_on(A)) == 2, (A.log / "pool-a.log").read_text()[-1500:]
        started = time.monotonic()
        done = as_learner("alice", "up", "--lab", "alice-hot", "--no-install-engine", on="a")
        TIMINGS["class_claim_cli_s"] = round(time.monotonic() - started, 2)
        assert done.returncode == 0, done.stderr
        mailserver = root_client(A).containers.get("labenv-alice-hot-mailserver")
        assert "labenv.spare" in mailserver.labels                      # a spare it was
        assert {c.name for c in root_client(A).containers.list(
            filters={"label": f"labenv.id={mailserver.labels['labenv.id']}"})} == \
            {f"labenv-alice-hot-{role}" for role in ("router", "mailserver", "mailhost", "relayhost")}
        works = as_learner("alice", "exec", "--lab", "alice-hot", "mailserver", "--", "hostname", on="a")
        assert works.stdout.strip() == "mailserver.private.lan", works.stderr
        # bob can neither use it, nor take it as a spare, nor rename a spare into alice's name
        refused = as_learner("bob", "exec", "--lab", "alice-hot", "mailserver", "--", "hostname", on="a")
        assert refused.returncode == 2 and "refused by the engine" in refused.stderr, refused.stderr
        denied_a = tls_client("bob", A)
        for call, args in ((denied_a.api.exec_create, ("labenv-alice-hot-router", ["true"])),
                           (denied_a.api.rename, ("labenv-alice-hot-router", "labenv-bob-x-router"))):
            with pytest.raises(APIError) as caught:
                call(*args)
            assert caught.value.status_code == 403
        spare = spares_on(A)[0] if spares_on(A) else None
        if spare:
            with pytest.raises(APIError):
                denied_a.api.rename(spare, "labenv-alice-y-mailserver")
        # her `down` removes the lab; the keeper sweeps the spare's networks and tops the pool up
        gone = as_learner("alice", "down", "--lab", "alice-hot", on="a")
        assert gone.returncode == 0, gone.stderr
        lab_id = mailserver.labels["labenv.id"]
        assert not root_client(A).containers.list(all=True, filters={"label": f"labenv.id={lab_id}"})
        deadline = time.monotonic() + 120
        while root_client(A).networks.list(filters={"label": f"labenv.id={lab_id}"}) and \
                time.monotonic() < deadline:
            time.sleep(1)
        assert not root_client(A).networks.list(filters={"label": f"labenv.id={lab_id}"})
        deadline = time.monotonic() + 240
        while len(spares_on(A)) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        assert len(spares_on(A)) == 2
        # a claimed lab goes with its member's other labs (a server stopped, the class down)
        assert as_learner("bob", "up", "--lab", "bob-hot", "--no-install-engine", on="a").returncode == 0
        assert "labenv.spare" in root_client(A).containers.get("labenv-bob-hot-mailserver").labels
        removed, silent = hub.remove_labs_of("bob", A)
        assert removed >= 4 and not silent
        assert not root_client(A).containers.list(all=True, filters={"name": "^/?labenv-bob-"})
    finally:
        class_engine.stop_keeper(A)
        class_engine.set_pool(0, where=A)


def test_a_new_learner_goes_to_the_least_loaded_engine_and_stays_there(engines):
    from classroom import engine as class_engine

    assert class_engine.home_order("carol", A)[0] in ("a", "b")
    done = as_learner("alice", "up", "--lab", "alice-home", "--no-install-engine", on="b")
    assert done.returncode == 0, done.stderr
    try:
        assert class_engine.home_order("alice", A) == ("b", "a")        # where her labs are
        load = {w.engine: len(root_client(w).containers.list(all=True, filters={"label": "labenv.lab"}))
                for w in (A, B)}
        lighter = min(("a", "b"), key=lambda n: (load[n], n))
        assert class_engine.home_order("dave", A)[0] == lighter          # a new learner: least loaded
    finally:
        hub.remove_labs_of("alice", A)


def test_zz_down_leaves_nothing_and_the_hosts_engine_works(engines):
    down = classroom("engine", "down", "--purge")
    assert "class engines a, b down" in down.stderr, down.stderr
    assert not [w.netns for w in (A, B) if Path("/run/netns", w.netns).exists()]
    assert not [str(w.plugin_socket) for w in (A, B) if w.plugin_socket.exists()]
    assert not RUN.exists() and not STATE.exists()
    assert not [p for p in (A.port, B.port) if _listening(p)]
    assert not any(str(STATE) in line or str(RUN) in line for line in Path("/proc/mounts").read_text().splitlines())
    deadline = time.monotonic() + 10
    while class_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert class_processes() == []
    assert not any(mark in rule for rule in host_rules() for mark in ("labenv-class", "10.214.", "10.215."))
    assert [r for r in host_rules() if "docker0" in r] == [r for r in engines["rules"] if "docker0" in r]
    host = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    out = host.containers.run(build.tag_for("router", build.DEFAULT_SUITE), entrypoint=["hostname"],
                              hostname="after-two-engines", remove=True, network_mode="bridge")
    assert out.strip() == b"after-two-engines"


# -- a whole class from its roster: `engines = 2` ---------------------------------------------
KERNEL_SEES_ENGINES = '''
import json, os
import docker
from docker.tls import TLSConfig
d = os.environ["DOCKER_CERT_PATH"]
tls = TLSConfig(ca_cert=f"{d}/ca.pem", client_cert=(f"{d}/cert.pem", f"{d}/key.pem"), verify=True)
ping = {}
for entry in os.environ["LABENV_ENGINES"].split():
    name, url = entry.split("=", 1)
    ping[name] = docker.DockerClient(base_url=url.replace("tcp://", "https://"), tls=tls, timeout=30).ping()
try:
    from labenv import engines
    placed = {e.name: e.answers() for e in engines.configured()}
except ImportError:
    placed = None
from labenv import Lab
lab = Lab.up("hube_ann-nb01", say=lambda *_: None)
hot = lab.from_pool and lab.exec("mailserver", ["hostname"]).stdout.strip()
lab.down()
print(json.dumps({"engines": os.environ["LABENV_ENGINES"], "host": os.environ["DOCKER_HOST"], "ping": ping,
                  "labenv": placed, "claimed": hot}))
'''


def test_a_class_up_from_a_roster_with_two_engines(tmp_path):
    """`python -m classroom up` with ``engines = 2`` and ``pool = 1``: both engines run, each keeps
    a spare lab ready, and a learner's own kernel (their server as the hub starts it) is given
    both engines, reaches each with their certificate, and claims a spare for its first lab."""
    _skip_unless_possible()
    from tests.classroom.hubclass import HubUser, TestClass

    klass = TestClass("hubengines", learners=("hube_ann",), instructors=("hube_ines",),
                      passwords={"hube_ines": "handed-out-to-ines"}, port=28810, engine_port=23766, engines=2,
                      pool=1, work=tmp_path)
    for port in (klass.port, *klass.ports.values(), *klass.engine_ports):
        if _listening(port):
            pytest.skip(f"port {port} is taken; this test class needs 28810-28813, 23766 and 23767")
    klass.write_roster()
    klass.learner_copy()
    uids: set[int] = set()
    try:
        started = time.monotonic()
        klass.up()
        print(f"\nclass of two engines up in {time.monotonic() - started:.1f} s")
        uids = {entry.pw_uid for entry in klass.accounts().values()}
        status = klass.classroom("status").stdout
        assert status.startswith(f"hub: running at {klass.url}/"), status
        for name, port in zip("ab", klass.engine_ports, strict=True):
            assert f"engine {name}  tcp://127.0.0.1:{port}  answers: 3 lab images" in status, status
        spare = {"label": ["labenv.spare", "labenv.role=mailserver"], "name": "^/?labenv-_spare-"}
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not all(
                docker.DockerClient(base_url=klass.paths.of(n).unix_url).containers.list(filters=spare)
                for n in "ab"):
            time.sleep(1)
        ann = HubUser(klass.url, "hube_ann", "ann-chooses-this")
        ann.login()
        ann.wait_server()
        seen = json.loads(ann.run(ann.start_kernel(), KERNEL_SEES_ENGINES).strip().splitlines()[-1])
        a_url, b_url = (f"tcp://127.0.0.1:{port}" for port in klass.engine_ports)
        assert seen["engines"] == f"a={a_url} b={b_url}" and seen["host"] == a_url, seen
        assert seen["ping"] == {"a": True, "b": True}, seen
        assert seen["labenv"] in (None, {"a": True, "b": True}), seen
        assert seen["claimed"] == "mailserver.private.lan", seen        # a spare of the class's pool
    finally:
        down = klass.down(purge=True)
        shutil.rmtree(klass.env["LABENV_CLASS_LOG"], ignore_errors=True)
    assert "class engines a, b down" in down.stderr, down.stderr
    assert klass.leftovers(uids) == {}
