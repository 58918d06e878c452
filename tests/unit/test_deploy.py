"""A class on Kubernetes, checked where no cluster is needed (deploy/, classroom/kube.py).

KubeSpawner itself renders a learner's pod from the kit's configuration (classroom.kube)
and from deploy/values.yaml, as the chart would hand it to the hub; the checks are an
operator's: the learner reaches the engines over TLS with their own certificate, read-only;
nothing runs privileged or as root; memory and CPU are the runbook's; the image is the
class's. Nothing here talks to a cluster: KubeSpawner is given a kubeconfig naming an
address where nothing listens, and only renders.
"""
from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import os
import re
from pathlib import Path

import docker
import pytest
import yaml
from jupyterhub.objects import Hub
from kubernetes_asyncio.client import ApiClient
from kubernetes_asyncio.config import kube_config
from kubespawner import KubeSpawner
from traitlets.config import Config

from classroom import certs, enginecfg, kube
from classroom.hubconfig import Settings
from classroom.roster import load
from labenv import engines as labenv_engines
from labenv.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ROSTER = ROOT / "classroom" / "roster.example.toml"
ENGINES = {"a": "tcp://10.0.5.11:2376", "b": "tcp://10.0.5.12:2376"}
MIB, GIB = 1024 ** 2, 1024 ** 3
#: What the runbook says a learner's pod gets; classroom.kube must say the same.
RUNBOOK_RESOURCES = "memory guarantee 256M, limit 1G; CPU guarantee 0.05, limit 1.0"


class Member:
    """What KubeSpawner reads of the hub's user: the name, the id, the URL."""

    def __init__(self, name: str) -> None:
        self.name = self.escaped_name = name
        self.id = 7
        self.url = f"/user/{name}/"
        self.server = None


@pytest.fixture(scope="module", autouse=True)
def no_cluster(tmp_path_factory):
    """A kubeconfig naming an address where nothing listens: KubeSpawner loads it and renders.

    (kubernetes_asyncio reads $KUBECONFIG once, when imported: its default location is set here.)
    """
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "class",
        "clusters": [{"name": "class", "cluster": {"server": "https://127.0.0.1:9"}}],
        "users": [{"name": "class", "user": {"token": "unused"}}],
        "contexts": [{"name": "class", "context": {"cluster": "class", "user": "class", "namespace": "relay101"}}]}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(path))
        patch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        yield


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(roster=str(ROSTER), state="/srv/jupyterhub")


@pytest.fixture(scope="module")
def roster():
    return load(ROSTER)


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((DEPLOY / "values.yaml").read_text())


def render(traits: dict, member: str = "alice") -> dict:
    """The pod KubeSpawner would create for ``member``, as the API server would get it."""
    async def manifest():
        # the hub as the chart's pods reach it (hub_connect_url http://hub:8081)
        hub = Hub(ip="hub", port=8081, base_url="/hub/")
        spawner = KubeSpawner(config=Config({"KubeSpawner": traits}), user=Member(member), hub=hub, _mock=True)
        pod = await spawner.get_pod_manifest()
        async with ApiClient() as api:
            found = api.sanitize_for_serialization(pod)
        await spawner.api.api_client.close()
        return found

    return asyncio.run(manifest())


def notebook(pod: dict) -> dict:
    (container,) = [c for c in pod["spec"]["containers"] if c["name"] == "notebook"]
    return container


def env_of(pod: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in notebook(pod)["env"]}


@pytest.fixture(scope="module")
def pod(settings, roster) -> dict:
    return render(kube.spawner_config(settings, roster, ENGINES))


# -- the learner's way to the engines


def test_the_learner_reaches_the_engines_over_tls_with_their_certificate(pod, tmp_path):
    env = env_of(pod)
    assert env["DOCKER_HOST"] == ENGINES["a"]
    assert [(e.name, e.url) for e in labenv_engines.parse(env["LABENV_ENGINES"])] == list(ENGINES.items())
    assert env["DOCKER_TLS_VERIFY"] == "1"
    mounts = {m["mountPath"]: m for m in notebook(pod)["volumeMounts"]}
    assert env["DOCKER_CERT_PATH"] in mounts
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        assert variable not in env          # requests would check the engine against those

    # docker-py, given that environment and the files of the learner's Secret, speaks TLS with them
    pki, folder = tmp_path / "pki", tmp_path / "issued"
    certs.issue(pki, "alice", folder)
    secret = kube.cert_secret("alice", folder)
    cert_dir = tmp_path / "mounted"
    cert_dir.mkdir()
    for name, data in secret["data"].items():
        (cert_dir / name).write_bytes(base64.b64decode(data))
    client = docker.utils.kwargs_from_env(environment={**env, "DOCKER_CERT_PATH": str(cert_dir)})
    assert client["base_url"] == ENGINES["a"]
    assert client["tls"].cert == (str(cert_dir / "cert.pem"), str(cert_dir / "key.pem"))
    assert client["tls"].verify is True and client["tls"].ca_cert == str(cert_dir / "ca.pem")
    assert certs.common_name(cert_dir / "cert.pem") == "alice"


def test_the_environment_is_the_kits_own(pod):
    """Every variable a learner gets on one host, with the member's own name filled in."""
    env = env_of(pod)
    kit = enginecfg.learner_env("alice", Path(kube.CERT_MOUNT), enginecfg.paths({}))
    assert set(kit) <= set(env)
    for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "LABENV_SUBNETS", "LABENV_LAB_PREFIX", "LABENV_LEARNER"):
        assert env[name] == kit[name]
    assert env["LABENV_LAB_PREFIX"] == "alice-nb"
    assert env["LABENV_PROGRESS_URL"].endswith("/services/progress/")
    assert env["JUPYTERHUB_USER"] == "alice"


def test_a_name_kubernetes_must_escape_keeps_its_labs_and_finds_its_secret(settings, roster, tmp_path):
    """The lab prefix is the name in the certificate (a_b), not the pod's escaped name (a-b---...),
    and the pod mounts the Secret that `classroom.kube secret` makes for that member."""
    pod = render(kube.spawner_config(settings, roster, ENGINES), member="a_b")
    env = env_of(pod)
    assert env["LABENV_LAB_PREFIX"] == "a_b-nb" and env["LABENV_LEARNER"] == "a_b"
    certs.issue(tmp_path / "pki", "a_b", tmp_path / "a_b")
    secret = kube.cert_secret("a_b", tmp_path / "a_b")
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == kube.CERT_VOLUME]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"] == kube.secret_name("a_b")
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", secret["metadata"]["name"])   # a Kubernetes name
    assert secret["metadata"]["name"] != kube.secret_name("ab")


def test_the_certificate_is_mounted_read_only_and_readable_by_the_learner_alone(pod):
    (mount,) = [m for m in notebook(pod)["volumeMounts"] if m["name"] == kube.CERT_VOLUME]
    assert mount["mountPath"] == kube.CERT_MOUNT and mount["readOnly"] is True
    (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == kube.CERT_VOLUME]
    assert volume["secret"]["defaultMode"] == 0o440          # owner root, group fsGroup, no one else
    assert pod["spec"]["securityContext"]["fsGroup"] == notebook(pod)["securityContext"]["runAsGroup"] == 100
    home = [m for m in notebook(pod)["volumeMounts"] if m["mountPath"] == kube.HOME]
    assert len(home) == 1 and home[0]["name"].startswith("volume-alice")


def test_a_certificate_of_someone_else_is_refused(tmp_path):
    certs.issue(tmp_path / "pki", "bob", tmp_path / "bob")
    with pytest.raises(ConfigError, match="'bob''s certificate, not 'alice''s"):
        kube.cert_secret("alice", tmp_path / "bob")
    with pytest.raises(ConfigError, match=re.escape("has no ca.pem, cert.pem, key.pem")):
        kube.cert_secret("alice", tmp_path / "nothing")


# -- what runs, as whom, with what


def test_nothing_runs_privileged_or_as_root(pod):
    containers = pod["spec"]["containers"] + (pod["spec"].get("initContainers") or [])
    assert [c["name"] for c in containers] == ["notebook"]
    context = notebook(pod)["securityContext"]
    assert context.get("privileged") is not True
    assert context["runAsUser"] == kube.UID != 0
    assert context["runAsNonRoot"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert pod["spec"]["automountServiceAccountToken"] is False      # no Kubernetes API for a learner


def test_the_charts_own_metadata_blocker_would_be_privileged(settings, roster, values):
    """Why values.yaml turns cloudMetadata.blockWithIptables off: the chart's way is a privileged
    init container in every learner's pod."""
    su = {**values["singleuser"], "cloudMetadata": {"blockWithIptables": True}}
    pod = render(kube.from_values({**values, "singleuser": su}))
    assert any(c["securityContext"].get("privileged") for c in pod["spec"]["initContainers"])
    assert values["singleuser"]["cloudMetadata"]["blockWithIptables"] is False
    assert values["singleuser"]["networkPolicy"]["egressAllowRules"]["cloudMetadataServer"] is False


def test_memory_and_cpu_are_the_runbooks(pod):
    resources = notebook(pod)["resources"]
    assert resources["requests"] == {"memory": 256 * MIB, "cpu": 0.05}
    assert resources["limits"] == {"memory": 1 * GIB, "cpu": 1.0}
    r = kube.RESOURCES
    said = f"memory guarantee {r.mem_guarantee}, limit {r.mem_limit}; CPU guarantee {r.cpu_guarantee}, limit {r.cpu_limit}"
    assert said == RUNBOOK_RESOURCES
    assert RUNBOOK_RESOURCES in (DEPLOY / "README.md").read_text()


def test_the_image_and_what_it_runs(pod):
    container = notebook(pod)
    assert container["image"] == kube.DEFAULT_IMAGE
    assert container["args"][0] == f"{kube.VENV}/bin/jupyterhub-singleuser"
    assert "--ServerApp.terminado_settings={'shell_command': ['/bin/bash']}" in container["args"]
    dockerfile = (DEPLOY / "singleuser" / "Dockerfile").read_text()
    assert re.search(r"^FROM debian:\S+-slim$", dockerfile, re.M)
    for path in (kube.VENV, kube.NOTEBOOKS, kube.HOME):
        assert path in dockerfile
    assert re.search(rf"useradd --uid {kube.UID} --gid {kube.GID} .*--home-dir {kube.HOME}", dockerfile)
    assert re.search(rf"^USER {kube.UID}$", dockerfile, re.M)
    # the postStart hook copies the image's notebooks into the learner's home, once
    hook = " ".join(container["lifecycle"]["postStart"]["exec"]["command"])
    assert f"[ -e {kube.HOME}/notebooks ] || cp -r {kube.NOTEBOOKS} {kube.HOME}/notebooks" in hook
    assert container["lifecycle"]["preStop"]["exec"]["command"][-2:] == ["classroom.kube", "stop-labs"]


# -- deploy/values.yaml says the same


def test_values_yaml_says_what_the_kit_says(settings, roster, values):
    engines = {e.name: e.url for e in labenv_engines.parse(values["singleuser"]["extraEnv"]["LABENV_ENGINES"])}
    assert engines == ENGINES
    for key, value in kube.singleuser_values(settings, roster, engines).items():
        assert values["singleuser"][key] == value, key
    hub = kube.hub_values(settings, roster)
    for section, config in hub["config"].items():
        assert values["hub"]["config"][section] == config, section
    assert values["hub"]["services"] == hub["services"]
    assert values["hub"]["loadRoles"] == hub["loadRoles"]
    assert values["cull"] == kube.cull_values(settings)
    assert hub["config"]["Authenticator"]["admin_users"] == list(roster.instructors)


def test_values_yaml_renders_the_same_pod(pod, values):
    assert render(kube.from_values(values)) == pod


def test_values_yaml_lets_learners_reach_the_engines_and_nothing_else(values):
    policy = values["singleuser"]["networkPolicy"]
    assert policy["enabled"] is True
    assert policy["egressAllowRules"]["privateIPs"] is False
    (rule,) = policy["egress"]
    assert rule["ports"] == [{"port": kube.ENGINE_PORT, "protocol": "TCP"}]
    blocks = [ipaddress.ip_network(t["ipBlock"]["cidr"]) for t in rule["to"]]
    for url in ENGINES.values():
        host = ipaddress.ip_address(url.removeprefix("tcp://").rsplit(":", 1)[0])
        assert any(host in block for block in blocks), url


def test_the_progress_service_beside_the_hub_is_the_one_values_yaml_registers(values):
    docs = {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / "progress.yaml").read_text())}
    service = values["hub"]["services"]["progress"]
    assert service["url"] == kube.PROGRESS_SERVICE_URL
    host, port = service["url"].removeprefix("http://").split(":")
    assert docs["Service"]["metadata"]["name"] == host
    assert docs["Service"]["spec"]["ports"][0]["port"] == int(port)
    (container,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == kube.DEFAULT_IMAGE
    assert container["command"] == [f"{kube.VENV}/bin/python", "-m", "classroom.progress_service"]
    env = {e["name"]: e for e in container["env"]}
    assert env["JUPYTERHUB_SERVICE_PREFIX"]["value"] == "/services/progress/"
    assert env["JUPYTERHUB_SERVICE_URL"]["value"].endswith(f":{port}")
    assert env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "hub",
                                                                        "key": "hub.services.progress.apiToken"}
    assert docs["Deployment"]["spec"]["replicas"] == 1       # one writer of the SQLite record


def merged(defaults, values):
    """Values over the chart's defaults, as Helm merges them (maps key by key, anything else replaced)."""
    if isinstance(defaults, dict) and isinstance(values, dict):
        return {k: merged(defaults.get(k), values[k]) if k in values else defaults[k]
                for k in {**defaults, **values}}
    return values


@pytest.mark.skipif(not os.environ.get("LABENV_Z2JH_CHART"),
                    reason="the chart's values.schema.json comes with the chart only (`helm pull "
                           "jupyterhub/jupyterhub --version 4.4.0 --untar`), not from PyPI or npm: "
                           "set LABENV_Z2JH_CHART to the chart's folder")
def test_values_yaml_against_the_charts_schema(values):
    import jsonschema

    chart = Path(os.environ["LABENV_Z2JH_CHART"])
    schema = json.loads((chart / "values.schema.json").read_text())
    jsonschema.validate(merged(yaml.safe_load((chart / "values.yaml").read_text()), values), schema)


# -- the command line


def test_values_command_writes_the_class_part(settings, roster, capsys):
    assert kube.main(["values", "--roster", str(ROSTER), "--engine", "a=tcp://10.0.5.11:2376",
                      "--image", "registry.class.internal:5000/labenv/singleuser:7"]) == 0
    out = yaml.safe_load(capsys.readouterr().out)
    assert out["singleuser"]["image"] == {"name": "registry.class.internal:5000/labenv/singleuser", "tag": "7",
                                          "pullPolicy": "IfNotPresent"}
    assert out["singleuser"]["extraEnv"]["LABENV_ENGINES"] == "a=tcp://10.0.5.11:2376"
    assert out["hub"]["config"]["Authenticator"]["allowed_users"] == sorted(roster.everyone)


@pytest.mark.parametrize("engine, says", [
    ("a=unix:///var/run/docker.sock", "engine a: 'unix:///var/run/docker.sock' is not tcp://HOST:PORT"),
    ("A=tcp://10.0.5.11:2376", "engine 'A': is not a name"),
    ("a=tcp://10.0.5.11", "is not tcp://HOST:PORT"),
])
def test_a_bad_engine_is_one_line(engine, says, capsys):
    assert kube.main(["values", "--roster", str(ROSTER), "--engine", engine]) == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1


def test_stop_labs_outside_a_learners_pod_is_one_line(monkeypatch, capsys):
    monkeypatch.delenv("LABENV_LAB_PREFIX", raising=False)
    assert kube.main(["stop-labs"]) == 2
    assert capsys.readouterr().err == ("classroom.kube: LABENV_LAB_PREFIX: is not set: stop-labs removes a "
                                       "learner's own labs, in their pod\n")
