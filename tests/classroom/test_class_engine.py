"""The class engine as a class uses it: two learners (other Unix users) and an instructor.

Needs root, dockerd and the bookworm lab images on the host's engine. The module
starts its own class engine (state in a folder of its own, port 23761), and at
the end stops it, removes everything it made (its logs too, unless
LABENV_CLASS_TEST_KEEP_LOGS is set), and checks that the host's engine still
runs containers on its default bridge and a lab.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest
from docker.errors import APIError, DockerException
from docker.tls import TLSConfig
from requests.exceptions import RequestException

from classroom import certs, enginecfg
from labenv import build
from tests.classroom.hubclass import run_classroom
from tests.support import ROOT

pytestmark = pytest.mark.timeout(900)

PORT = 23761
STATE = Path("/var/lib/labenv-class-test")
RUN = Path("/run/labenv-class-test")
LOG = Path("/var/log/labenv-class-test")
USERS = {"alice": 60001, "bob": 60002}
CLASS_ENV = {"LABENV_CLASS_STATE": str(STATE), "LABENV_CLASS_RUN": str(RUN), "LABENV_CLASS_LOG": str(LOG),
             "LABENV_CLASS_PORT": str(PORT)}
#: requests prefers these to DOCKER_CERT_PATH's ca.pem, even with an explicit TLSConfig.
CA_BUNDLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
DENIED = "authorization denied by plugin labenv-authz"
TIMINGS: dict[str, float] = {}


def _skip_unless_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("the class engine needs root")
    if not shutil.which("dockerd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
        pytest.skip("dockerd is not installed")
    if Path("/run/netns", enginecfg.NETNS).exists():
        pytest.skip("a class engine runs on this host already; the test would take its namespace")
    host = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    missing = [t for t in (build.tag_for(n, build.DEFAULT_SUITE) for n in build.IMAGES)
               if not host.images.list(name=t)]
    if missing:
        pytest.skip(f"the host's engine lacks {', '.join(missing)} (make setup)")


def classroom(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run_classroom(CLASS_ENV, *args, check=check)


def host_rules() -> list[str]:
    out = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line and not line.startswith(("#", ":"))]


def learner(name: str, *labenv_args: str) -> subprocess.Popen:
    """`python -m labenv ARGS` as the learner's own Unix user, with the environment a class gives."""
    uid = USERS[name]
    env = {k: v for k, v in os.environ.items() if k not in CA_BUNDLES and not k.startswith("DOCKER_")}
    env.update(enginecfg.learner_env(name, STATE / "users" / name, enginecfg.paths(CLASS_ENV)))
    env.update(HOME="/nonexistent", LABENV_QUIET="1", LABENV_PROGRESS_DB="/dev/null")
    return subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                             sys.executable, "-m", "labenv", *labenv_args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def as_learner(name: str, *labenv_args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = learner(name, *labenv_args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def tls_client(name: str) -> docker.DockerClient:
    folder = STATE / "users" / name
    tls = TLSConfig(ca_cert=str(folder / "ca.pem"), client_cert=(str(folder / "cert.pem"), str(folder / "key.pem")),
                    verify=True)
    return docker.DockerClient(base_url=f"https://127.0.0.1:{PORT}", tls=tls, version="1.41", timeout=60)


@pytest.fixture(scope="module")
def klass():
    _skip_unless_possible()
    saved = {k: os.environ.pop(k) for k in CA_BUNDLES if k in os.environ}
    rules_before = host_rules()
    try:
        started = time.monotonic()
        up = classroom("engine", "up")
        TIMINGS["engine_up_total_s"] = time.monotonic() - started
        line = next(line for line in up.stdout.splitlines() if line.startswith("started in"))
        TIMINGS["engine_start_s"] = float(line.split()[2])
        TIMINGS["image_load_s"] = float(line.split()[-2])
        for name, uid in USERS.items():
            classroom("certs", name, "--owner", f"{uid}:{uid}")
        classroom("certs", "--instructor", "carol", "--owner", "0:0")
        # Both learners start a lab at the same moment, each as their own Unix user.
        started = time.monotonic()
        procs = {name: learner(name, "up", "--lab", f"{name}-nb01", "--no-install-engine") for name in USERS}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"{name}: {err}"
            TIMINGS[f"lab_up_{name}_s"] = float(out.split(" is up in ")[1].split()[0])
        TIMINGS["two_labs_wall_s"] = time.monotonic() - started
        yield {"rules_before": rules_before}
    finally:
        if Path("/run/netns", enginecfg.NETNS).exists() or (RUN / "dockerd.pid").exists():
            classroom("engine", "down", "--purge", check=False)
        if not os.environ.get("LABENV_CLASS_TEST_KEEP_LOGS"):  # set it to read the plugin's decisions
            shutil.rmtree(LOG, ignore_errors=True)
        os.environ.update(saved)
        print("\nclass engine timings:", json.dumps(TIMINGS))


def denied(call, *args, **kwargs) -> str:
    with pytest.raises(APIError) as caught:
        call(*args, **kwargs)
    assert caught.value.status_code == 403 and DENIED in str(caught.value), caught.value
    return str(caught.value)


# -- a learner's own labs work as today ---------------------------------------------------
def test_learner_runs_commands_in_their_own_lab(klass):
    done = as_learner("alice", "exec", "--lab", "alice-nb01", "mailserver", "--", "hostname")
    assert done.returncode == 0 and done.stdout.strip() == "mailserver.private.lan", done.stderr
    client = tls_client("alice")
    result = client.containers.get("labenv-alice-nb01-router").exec_run(["cat", "/etc/hostname"])
    assert result.exit_code == 0 and b"router" in result.output


def test_learner_relays_mail_through_their_lab(klass):
    """The howto applied and a message sent: stdin over TLS, and the lab's own networks."""
    assert as_learner("alice", "apply", "howto", "--lab", "alice-nb01").returncode == 0
    sent = as_learner("alice", "send", "--lab", "alice-nb01", "--from", "root", "--to", "friend@example.com")
    assert sent.returncode == 0, sent.stderr
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        inbox = as_learner("alice", "inbox", "--lab", "alice-nb01", "--json")
        if "friend@example.com" in inbox.stdout:
            break
        time.sleep(2)
    assert "friend@example.com" in inbox.stdout, inbox.stdout + inbox.stderr


def test_learner_lists_only_their_own_labs(klass):
    done = as_learner("alice", "labs")
    assert done.returncode == 0, done.stderr
    assert "alice-nb01" in done.stdout and "bob-nb01" not in done.stdout
    status = as_learner("bob", "status", "--lab", "bob-nb01")
    assert status.returncode == 0 and "running" in status.stdout, status.stderr


# -- another learner's labs are out of reach ----------------------------------------------
def test_learner_cannot_touch_another_learners_lab(klass):
    alice = tls_client("alice")
    carol = tls_client("carol")
    bob_router = carol.containers.get("labenv-bob-nb01-router")
    for ref in (bob_router.id, "labenv-bob-nb01-router", bob_router.id[:12]):
        denied(alice.api.exec_create, ref, ["true"])
        denied(alice.api.stop, ref)
        denied(alice.api.kill, ref)
        denied(alice.api.remove_container, ref, force=True)
        denied(alice.api.logs, ref)
        denied(alice.api.inspect_container, ref)
        denied(alice.api.get_archive, ref, "/etc/hostname")
    exec_id = carol.api.exec_create(bob_router.id, ["true"])["Id"]   # the instructor's exec in bob's lab
    denied(alice.api.exec_start, exec_id)
    denied(alice.api.exec_inspect, exec_id)
    denied(alice.api.inspect_network, "labenv-bob-nb01-lan")
    denied(alice.api.remove_network, "labenv-bob-nb01-lan")
    denied(alice.api.connect_container_to_network, "labenv-alice-nb01-router", "labenv-bob-nb01-lan")
    denied(alice.api.connect_container_to_network, "labenv-bob-nb01-router", "labenv-alice-nb01-lan")
    assert bob_router.reload() is None and bob_router.status == "running"


def test_learner_cannot_list_everyones_labs(klass):
    alice = tls_client("alice")
    reason = denied(alice.containers.list, all=True)
    assert "not alice's" in reason
    denied(alice.networks.list)
    mine = alice.containers.list(all=True, filters={"label": "labenv.lab=alice-nb01"})
    assert len(mine) == 4
    denied(alice.containers.list, all=True, filters={"label": "labenv.lab=bob-nb01"})


def test_learner_clean_all_is_refused(klass):
    done = as_learner("alice", "clean", "--all")
    assert done.returncode != 0 and DENIED in done.stderr
    assert as_learner("bob", "status", "--lab", "bob-nb01").returncode == 0


def _isolation_drops(bridge: str) -> int:
    """Packets the class engine's isolation rules dropped on their way into `bridge`."""
    out = subprocess.run(["nsenter", f"--net=/run/netns/{enginecfg.NETNS}", "--", "iptables", "-v", "-x",
                          "-n", "-L", "DOCKER-ISOLATION-STAGE-2"], capture_output=True, text=True, check=True)
    return sum(int(line.split()[0]) for line in out.stdout.splitlines() if bridge in line and "DROP" in line)


def test_learner_cannot_reach_another_lab_over_the_network(klass):
    carol = tls_client("carol")
    (bob_net, bob_end), = carol.containers.get("labenv-bob-nb01-relayhost").attrs["NetworkSettings"]["Networks"].items()
    network = carol.networks.get(bob_net)
    subnet, bridge = network.attrs["IPAM"]["Config"][0]["Subnet"], f"br-{network.id[:12]}"
    alice_lan = carol.containers.get("labenv-alice-nb01-router").attrs["NetworkSettings"]["Networks"]
    gateway = alice_lan["labenv-alice-nb01-lan"]["Gateway"]
    dropped = _isolation_drops(bridge)
    # Alice's router (it has NET_ADMIN) sends to Bob's provider through the class engine's namespace.
    probe = (f"ip route add {subnet} via {gateway}; "
             f"timeout 4 bash -c 'exec 3<>/dev/tcp/{bob_end['IPAddress']}/587' && echo REACHED || echo BLOCKED")
    done = as_learner("alice", "exec", "--lab", "alice-nb01", "router", "--", "sh", "-c", probe)
    assert "BLOCKED" in done.stdout and "REACHED" not in done.stdout, done.stdout + done.stderr
    assert _isolation_drops(bridge) > dropped, "the packets were not dropped by the engine's isolation rules"
    # From the host, where a learner's server runs, no route leads into the class's namespace:
    # an address of Bob's lab goes the way of any address off this machine.
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True).stdout
    assert not any(line.startswith(("10.214.", "10.215.")) for line in routes.splitlines()), routes
    addresses = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    assert " 10.214." not in addresses and " 10.215." not in addresses
    way = subprocess.run(["ip", "route", "get", bob_end["IPAddress"]], capture_output=True, text=True).stdout
    off_machine = subprocess.run(["ip", "route", "get", "198.51.100.7"], capture_output=True, text=True).stdout
    assert way.split(" dev ")[1].split()[0] == off_machine.split(" dev ")[1].split()[0], way


def test_learner_cannot_reach_the_engines_sockets_or_others_keys(klass):
    code = ("import socket,sys\nfor p in sys.argv[1:]:\n    s = socket.socket(socket.AF_UNIX)\n"
            "    try:\n        s.connect(p); print('OPEN', p)\n    except OSError as e:\n        print('CLOSED', p, e.errno)\n")
    sockets = ["/var/run/docker.sock", str(RUN / "docker.sock"), str(enginecfg.PLUGIN_SOCKET)]
    done = subprocess.run(["setpriv", "--reuid=60001", "--regid=60001", "--clear-groups",
                           sys.executable, "-c", code, *sockets], capture_output=True, text=True)
    assert done.stdout.count("CLOSED") == 3, done.stdout + done.stderr
    peek = subprocess.run(["setpriv", "--reuid=60001", "--regid=60001", "--clear-groups", "cat",
                           str(STATE / "users" / "bob" / "key.pem")], capture_output=True, text=True)
    assert peek.returncode != 0 and "Permission denied" in peek.stderr


# -- only a lab's own containers ------------------------------------------------------------
def _router(client, **host) -> dict:
    """A create as labenv makes alice's router, changed by `host`; through the plain API."""
    tag = build.tag_for("router", build.DEFAULT_SUITE)
    config = client.api.create_host_config(**{"network_mode": "labenv-alice-nb01-lan", "cap_add": ["NET_ADMIN"],
                                              "init": True, **host})
    return {"image": tag, "name": "labenv-alice-nb01-router", "host_config": config,
            "labels": {"labenv.lab": "alice-nb01", "labenv.role": "router", "labenv.id": "probe"}}


def test_only_a_labs_own_containers_may_be_created(klass):
    alice = tls_client("alice")
    # The lab's own settings pass the plugin (the engine then refuses the name, which is taken).
    with pytest.raises(APIError) as taken:
        alice.api.create_container(**_router(alice))
    assert taken.value.status_code == 409
    for host, why in [({"privileged": True}, "Privileged"), ({"binds": ["/etc:/host-etc"]}, "Binds"),
                      ({"network_mode": "host"}, "host"), ({"pid_mode": "host"}, "PidMode"),
                      ({"cap_add": ["NET_ADMIN", "SYS_ADMIN"]}, "SYS_ADMIN"),
                      ({"devices": ["/dev/kmsg:/dev/kmsg"]}, "Devices"),
                      ({"security_opt": ["apparmor=unconfined"]}, "SecurityOpt")]:
        assert why in denied(alice.api.create_container, **_router(alice, **host))
    other = _router(alice)
    other["image"] = "debian:bookworm-slim"
    assert "labenv/router" in denied(alice.api.create_container, **other)
    bobs = _router(alice)
    bobs["labels"] = {"labenv.lab": "bob-nb01", "labenv.role": "router"}
    denied(alice.api.create_container, **bobs)
    # The engine's older form: HostConfig's fields at the top level of the body.
    body = {"Image": other["image"].replace("debian:bookworm-slim", build.tag_for("router", build.DEFAULT_SUITE)),
            "Labels": _router(alice)["labels"], "Privileged": True, "Binds": ["/:/host"],
            "NetworkMode": "labenv-alice-nb01-lan"}
    response = alice.api._post_json(alice.api._url("/containers/create"), data=body,
                                    params={"name": "labenv-alice-nb01-router"})
    assert response.status_code == 403 and DENIED in response.text
    # A start in an API version that still took a HostConfig with it.
    old = alice.api.post(f"https://127.0.0.1:{PORT}/v1.23/containers/labenv-alice-nb01-router/start",
                         json={"Privileged": True, "Binds": ["/:/host"]})
    assert old.status_code == 403 and DENIED in old.text
    # And a privileged exec into her own container.
    denied(alice.api.exec_create, "labenv-alice-nb01-router", ["true"], privileged=True)


def test_learner_cannot_build_pull_or_manage_the_engine(klass):
    alice = tls_client("alice")
    with pytest.raises((APIError, DockerException)) as built:
        alice.images.build(fileobj=io.BytesIO(b"FROM scratch\n"), tag="labenv/evil:x")
    assert DENIED in str(built.value)
    denied(alice.images.pull, "debian", tag="bookworm-slim")
    denied(alice.volumes.create, "evil")
    denied(alice.info)
    denied(alice.api.df)
    denied(alice.containers.prune)
    denied(alice.api.plugins)
    events = alice.api.get(alice.api._url("/events"), params={"until": int(time.time())})
    assert events.status_code == 403 and DENIED in events.text


def test_clients_without_a_class_certificate_are_refused(klass, tmp_path):
    folder = STATE / "users" / "alice"
    anonymous = docker.DockerClient(base_url=f"https://127.0.0.1:{PORT}", version="1.41", timeout=10,
                                    tls=TLSConfig(ca_cert=str(folder / "ca.pem"), verify=True))
    with pytest.raises(RequestException):    # the engine asks for a certificate in the handshake
        anonymous.ping()
    plain = docker.DockerClient(base_url=f"tcp://127.0.0.1:{PORT}", version="1.41", timeout=10)
    with pytest.raises(APIError, match="HTTP request to an HTTPS server"):
        plain.ping()
    # A certificate from another CA, with an instructor's name.
    certs.issue(tmp_path / "other-pki", "carol", tmp_path / "forged")
    forged = docker.DockerClient(base_url=f"https://127.0.0.1:{PORT}", version="1.41", timeout=10,
                                 tls=TLSConfig(ca_cert=str(folder / "ca.pem"), verify=True,
                                               client_cert=(str(tmp_path / "forged" / "cert.pem"),
                                                            str(tmp_path / "forged" / "key.pem"))))
    with pytest.raises(RequestException):
        forged.ping()
    # The class's own CA, but a name not in the class.
    certs.issue(STATE / "pki", "mallory", tmp_path / "mallory")
    mallory = docker.DockerClient(base_url=f"https://127.0.0.1:{PORT}", version="1.41", timeout=10,
                                  tls=TLSConfig(ca_cert=str(folder / "ca.pem"), verify=True,
                                                client_cert=(str(tmp_path / "mallory" / "cert.pem"),
                                                             str(tmp_path / "mallory" / "key.pem"))))
    with pytest.raises(APIError) as stranger:
        mallory.containers.list()
    assert "not a member of this class" in str(stranger.value)


def test_every_decision_is_logged(klass):
    log = (LOG / "authz.log").read_text().splitlines()
    assert any(" alice req " in line and " deny " in line for line in log)
    assert any(" bob req POST " in line and "/containers/create" in line and " allow " in line for line in log)


# -- the learner's own lab comes and goes; the instructor sees and removes everything ----------
def test_learner_removes_their_own_lab(klass):
    done = as_learner("alice", "down", "--lab", "alice-nb01")
    assert done.returncode == 0, done.stderr
    assert tls_client("carol").containers.list(all=True, filters={"label": "labenv.lab=alice-nb01"}) == []


def test_instructor_lists_and_removes_everything(klass):
    carol = tls_client("carol")
    assert {c.labels["labenv.lab"] for c in carol.containers.list(all=True)} >= {"bob-nb01"}
    assert carol.info()["Containers"] >= 4
    for container in carol.containers.list(all=True):
        container.remove(force=True)
    for network in carol.networks.list(filters={"label": "labenv.lab"}):
        network.remove()
    assert carol.containers.list(all=True) == []
    assert carol.networks.list(filters={"label": "labenv.lab"}) == []


# -- and afterwards the host's engine is as it was -------------------------------------------
def test_zz_host_engine_works_after_the_class_engine_stops(klass):
    assert not any(mark in rule for rule in host_rules()
                   for mark in ("labenv-class", "10.214.", "10.215.")), "the class engine wrote host rules"
    down = classroom("engine", "down", "--purge")
    assert "class engine down" in down.stderr
    assert not Path("/run/netns", enginecfg.NETNS).exists()
    assert not RUN.exists() and not STATE.exists() and not enginecfg.PLUGIN_SOCKET.exists()
    assert subprocess.run(["ip", "link", "show", enginecfg.BRIDGE], capture_output=True).returncode != 0
    assert not any(str(STATE) in line or str(RUN) in line for line in Path("/proc/mounts").read_text().splitlines())
    before = [r for r in klass["rules_before"] if "docker0" in r]
    assert [r for r in host_rules() if "docker0" in r] == before
    host = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    tag = build.tag_for("router", build.DEFAULT_SUITE)
    host.containers.run(tag, entrypoint=["true"], remove=True, network_mode="bridge")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKER_", "LABENV_LAB_PREFIX"))}
    lab = f"t{os.getpid()}-after-class"
    try:
        up = subprocess.run([sys.executable, "-m", "labenv", "up", "--lab", lab, "--no-install-engine"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert up.returncode == 0, up.stderr
        done = subprocess.run([sys.executable, "-m", "labenv", "exec", "--lab", lab, "mailserver", "--",
                               "hostname"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.stdout.strip() == "mailserver.private.lan"
    finally:
        subprocess.run([sys.executable, "-m", "labenv", "clean", "--lab", lab], cwd=ROOT, env=env,
                       capture_output=True)
