"""A class on Kubernetes (Zero to JupyterHub): a learner's pod, from the class's own settings.

The runbook is deploy/README.md; the chart's values are deploy/values.yaml. What a
learner's pod gets is said once, here, from the same Settings and roster that
``python -m classroom up`` uses (``hubconfig.configure`` fills a Config for it, and
its command, arguments and start page are read from there):

    engines = {"a": "tcp://engine-a.class.internal:2376", "b": "tcp://engine-b.class.internal:2376"}
    spawner_config(settings, roster, engines)   # KubeSpawner's traits: what the hub sets
    singleuser_values(settings, roster, engines)   # the chart's ``singleuser:`` part
    hub_values(settings, roster)                # the chart's ``hub:`` part (login, admins, services)
    cull_values(settings)                       # the chart's ``cull:`` part (the kit's culler settings)
    from_values(values)                         # the traits the chart makes of its values
    cert_secret(name, folder)                   # a member's client certificate as a Secret

tests/unit/test_deploy.py renders a learner's pod with KubeSpawner itself from both
(from this module and from deploy/values.yaml) and checks what an operator would.

From a shell:

    python -m classroom.kube values --roster FILE --engine a=tcp://HOST:2376 [--engine b=...] [--image NAME:TAG]
    python -m classroom.kube secret NAME FOLDER   # a Secret (YAML) from a folder `classroom certs` wrote
    python -m classroom.kube stop-labs            # in a learner's pod, as it stops: their labs go

A learner's pod, as rendered: the class's single-user image (deploy/singleuser/Dockerfile)
as uid 1000, never root, no privilege escalation, no capabilities; its home on a volume
of its own; the member's client certificate from the Secret ``labenv-cert-NAME``, mounted
read-only where DOCKER_CERT_PATH says; DOCKER_HOST and LABENV_ENGINES naming the class's
engines over TLS; the lab prefix ``NAME-nb`` of the member's own (unescaped) name, which
is the name in their certificate; memory and CPU as :data:`RESOURCES` says.
"""
from __future__ import annotations

import argparse
import base64
import dataclasses
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labenv.errors import ConfigError, LabenvError

from . import enginecfg
from .hubconfig import Settings
from .roster import Roster

#: Where the single-user image (deploy/singleuser/Dockerfile) has the kit, and what runs it.
VENV = "/opt/labenv-class/venv"
NOTEBOOKS = "/opt/labenv-class/notebooks"      # the learner's copy (`make student`) in the image
HOME = "/home/learner"
UID = 1000
GID = 100                                      # Debian's group "users"
DEFAULT_IMAGE = "labenv/singleuser:0.1.0"
#: A member's certificate folder (ca.pem, cert.pem, key.pem), read-only, from their Secret.
CERT_MOUNT = "/etc/labenv/engine-cert"
CERT_VOLUME = "engine-cert"
#: KubeSpawner names the Secret per user: the member's name made safe for Kubernetes
#: (``alice`` stays ``alice``; ``a_b`` becomes ``a-b---<hash>``): see :func:`secret_name`.
SECRET_TEMPLATE = "labenv-cert-{safe_username}"
#: The member's name as the hub knows it: their certificate's CN and the prefix of their labs.
USERNAME = "{unescaped_username}"
#: The progress service seen from a learner's pod: through the proxy, as on one host.
PROGRESS_URL = "http://proxy-public/services/progress/"
#: The progress service's own address (deploy/progress.yaml), for the hub and the proxy.
PROGRESS_SERVICE_URL = "http://labenv-progress:8090"
#: A pod on Kubernetes waits for its volume and, the first time on a node, its image.
START_TIMEOUT = 300
#: Seconds a stopping pod has for its preStop hook (its labs removed) before it is killed.
STOP_GRACE = 30
ENGINE_PORT = 2376
_TCP = re.compile(r"^tcp://[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")
_ENGINE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,19}$")


@dataclass(frozen=True)
class Resources:
    """Memory and CPU for one learner's pod (server, kernels and Terminals; labs run on the engines).

    From bench/out/latest.json, on a 2-CPU, 24 GiB host: ``classroom_memory_per_learner``
    is 232 MiB, of which the server and one kernel are 196 MiB RSS (155 MiB PSS) and the
    lab 36 MiB (``lab_memory``; on an engine, not in this pod). The guarantee is that
    196 MiB with a third more; the limit leaves room for the server and about nine
    kernels (one per open notebook, about 90 MiB each), past which the kernel that asks
    for more is killed, in this pod only. ``classroom_login_*`` show a login is one core
    busy for 4.3-4.5 s: the limit of one core keeps that time; the guarantee is what an
    idle JupyterLab needs, so that a node's CPU is shared by the learners who use it.
    """

    mem_guarantee: str = "256M"
    mem_limit: str = "1G"
    cpu_guarantee: float = 0.05
    cpu_limit: float = 1.0


RESOURCES = Resources()


def check_engines(engines: Mapping[str, str]) -> dict[str, str]:
    """The class's engines as LABENV_ENGINES names them; ConfigError (one line) otherwise.

    A learner's pod reaches each over TCP with TLS (tcp://HOST:PORT), never a socket.

    >>> check_engines({"a": "tcp://10.0.5.11:2376"})
    {'a': 'tcp://10.0.5.11:2376'}
    >>> check_engines({"a": "unix:///var/run/docker.sock"})
    Traceback (most recent call last):
    ...
    labenv.errors.ConfigError: engine a: 'unix:///var/run/docker.sock' is not tcp://HOST:PORT (a pod reaches an engine over TLS)
    """
    if not engines:
        raise ConfigError("engines", "a class on Kubernetes names at least one engine (NAME=tcp://HOST:PORT)")
    for name, url in engines.items():
        if not _ENGINE_NAME.match(name):
            raise ConfigError(f"engine {name!r}", "is not a name (1-20 of a-z, 0-9, '-')")
        if not isinstance(url, str) or not _TCP.match(url):
            raise ConfigError(f"engine {name}", f"{url!r} is not tcp://HOST:PORT (a pod reaches an engine over TLS)")
    return dict(engines)


def learner_environment(engines: Mapping[str, str], progress_url: str = PROGRESS_URL) -> dict[str, str]:
    """What a learner's server gets, as KubeSpawner's ``environment`` (it fills in the name).

    The same variables the kit gives a learner on one host (``enginecfg.learner_env``),
    with the class's engines as the cluster reaches them.

    >>> env = learner_environment({"a": "tcp://10.0.5.11:2376"})
    >>> env["DOCKER_HOST"], env["LABENV_ENGINES"], env["LABENV_LAB_PREFIX"]
    ('tcp://10.0.5.11:2376', 'a=tcp://10.0.5.11:2376', '{unescaped_username}-nb')
    """
    engines = check_engines(engines)
    env = enginecfg.learner_env(USERNAME, Path(CERT_MOUNT), enginecfg.paths({}))
    env.update({"DOCKER_HOST": next(iter(engines.values())),
                "LABENV_ENGINES": " ".join(f"{name}={url}" for name, url in engines.items()),
                "LABENV_PROGRESS_URL": progress_url})
    return env


def hub_config(settings: Settings, roster: Roster):
    """The Config ``python -m classroom up`` gives its hub, for the image's paths."""
    from traitlets.config import Config

    from . import hubconfig

    config = Config()
    running = hubconfig.ClassSpawner.settings      # configure() sets it for a hub on this host
    try:
        hubconfig.configure(config, dataclasses.replace(settings, venv=VENV), roster)
    finally:
        hubconfig.ClassSpawner.settings = running
    return config


def _lifecycle_hooks() -> dict[str, Any]:
    # postStart: the learner's copy of the notebooks, once (their work is kept on their volume).
    # preStop: their labs go with their server, as a hub on one host does after a server stops.
    return {
        "postStart": {"exec": {"command": [
            "sh", "-c", f"[ -e {HOME}/notebooks ] || cp -r {NOTEBOOKS} {HOME}/notebooks"]}},
        "preStop": {"exec": {"command": [f"{VENV}/bin/python", "-m", "classroom.kube", "stop-labs"]}},
    }


def _cert_volume() -> tuple[dict[str, Any], dict[str, Any]]:
    volume = {"name": CERT_VOLUME, "secret": {"secretName": SECRET_TEMPLATE, "defaultMode": 0o440}}
    mount = {"name": CERT_VOLUME, "mountPath": CERT_MOUNT, "readOnly": True}
    return volume, mount


def singleuser_values(settings: Settings, roster: Roster, engines: Mapping[str, str],
                      image: str = DEFAULT_IMAGE, resources: Resources = RESOURCES) -> dict[str, Any]:
    """The chart's ``singleuser:`` values for the class (those deploy/values.yaml must have)."""
    hub = hub_config(settings, roster)
    name, tag = image.rsplit(":", 1) if ":" in image.rsplit("/", 1)[-1] else (image, "latest")
    volume, mount = _cert_volume()
    return {
        "image": {"name": name, "tag": tag, "pullPolicy": "IfNotPresent"},
        "uid": UID,
        "fsGid": GID,
        "cmd": list(hub.Spawner.cmd),
        "defaultUrl": hub.Spawner.default_url,
        "startTimeout": START_TIMEOUT,
        "extraEnv": learner_environment(engines),
        "memory": {"guarantee": resources.mem_guarantee, "limit": resources.mem_limit},
        "cpu": {"guarantee": resources.cpu_guarantee, "limit": resources.cpu_limit},
        "allowPrivilegeEscalation": False,
        "lifecycleHooks": _lifecycle_hooks(),
        # The chart blocks the cloud's metadata address with a privileged init container
        # unless told not to; the network policy (egressAllowRules) blocks it instead.
        "cloudMetadata": {"blockWithIptables": False},
        "storage": {"type": "dynamic", "capacity": "1Gi", "homeMountPath": HOME,
                    "extraVolumes": [volume], "extraVolumeMounts": [mount]},
    }


def kubespawner_settings(settings: Settings, roster: Roster) -> dict[str, Any]:
    """KubeSpawner's traits the chart has no ``singleuser`` value for: ``hub.config.KubeSpawner``."""
    hub = hub_config(settings, roster)
    return {
        "gid": GID,
        "notebook_dir": hub.Spawner.notebook_dir,
        "args": list(hub.Spawner.args),
        "http_timeout": hub.Spawner.http_timeout,
        "container_security_context": {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]},
                                       "seccompProfile": {"type": "RuntimeDefault"}},
        "automount_service_account_token": False,
        "delete_grace_period": STOP_GRACE,
    }


def hub_values(settings: Settings, roster: Roster) -> dict[str, Any]:
    """The chart's ``hub:`` values: logins, admins, the progress service, the spawner's extras."""
    hub = hub_config(settings, roster)
    progress = next(s for s in hub.JupyterHub.services if s["name"] == "progress")
    role = next(r for r in hub.JupyterHub.load_roles if r["name"] == "progress")
    return {
        "config": {
            "JupyterHub": {"authenticator_class": "firstuseauthenticator"},
            "Authenticator": {"admin_users": sorted(hub.Authenticator.admin_users),
                              "allowed_users": sorted(hub.Authenticator.allowed_users)},
            "FirstUseAuthenticator": {"create_users": hub.FirstUseAuthenticator.create_users,
                                      "min_password_length": hub.FirstUseAuthenticator.min_password_length,
                                      "dbm_path": "/srv/jupyterhub/passwords.dbm"},
            "KubeSpawner": kubespawner_settings(settings, roster),
        },
        # Run beside the hub (deploy/progress.yaml), not by it: the chart's hub image lacks the kit.
        "services": {"progress": {"url": PROGRESS_SERVICE_URL,
                                  "oauth_no_confirm": progress["oauth_no_confirm"]}},
        "loadRoles": {"progress": {"services": ["progress"], "scopes": list(role["scopes"])}},
    }


def cull_values(settings: Settings) -> dict[str, Any]:
    """The chart's ``cull:`` values: the kit's idle culler settings."""
    return {"enabled": True, "timeout": settings.cull_timeout, "every": settings.cull_every,
            "users": False, "adminUsers": True}


def _list_to_dict(items, key) -> dict[str, Any]:
    if isinstance(items, dict):
        return dict(items)
    return {key(i, item): item for i, item in enumerate(items or [])}


def from_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """KubeSpawner's traits as the chart (4.x, files/hub/jupyterhub_config.py) makes them from
    its values, for the values a class sets; with ``hub.config.KubeSpawner`` on top."""
    su = values.get("singleuser", {})
    traits: dict[str, Any] = {}
    image = su.get("image", {})
    if image.get("name"):
        traits["image"] = f"{image['name']}:{image['tag']}" if image.get("tag") else image["name"]
    if image.get("pullPolicy"):
        traits["image_pull_policy"] = image["pullPolicy"]
    for trait, key in (("uid", "uid"), ("fs_gid", "fsGid"), ("start_timeout", "startTimeout"),
                       ("environment", "extraEnv"), ("lifecycle_hooks", "lifecycleHooks"),
                       ("default_url", "defaultUrl"), ("cmd", "cmd")):
        if su.get(key) is not None:
            traits[trait] = su[key]
    for trait, (group, key) in (("mem_guarantee", ("memory", "guarantee")), ("mem_limit", ("memory", "limit")),
                                ("cpu_guarantee", ("cpu", "guarantee")), ("cpu_limit", ("cpu", "limit"))):
        if (su.get(group) or {}).get(key) is not None:
            traits[trait] = su[group][key]
    traits["allow_privilege_escalation"] = su.get("allowPrivilegeEscalation", False)
    storage = su.get("storage", {})
    volumes: dict[str, Any] = {}
    mounts: dict[str, Any] = {}
    if storage.get("type", "dynamic") == "dynamic":
        name = (storage.get("dynamic") or {}).get("volumeNameTemplate", "volume-{user_server}")
        volumes[name] = {"name": name, "persistentVolumeClaim": {"claimName": "{pvc_name}"}}
        mounts[name] = {"mountPath": storage.get("homeMountPath", "/home/jovyan"), "name": name,
                        "subPath": (storage.get("dynamic") or {}).get("subPath")}
        traits["storage_pvc_ensure"] = True
        if storage.get("capacity"):
            traits["storage_capacity"] = storage["capacity"]
    volumes.update(_list_to_dict(storage.get("extraVolumes"), lambda _i, v: v["name"]))
    mounts.update(_list_to_dict(storage.get("extraVolumeMounts"), lambda i, m: f"{i}-{m['name']}"))
    traits["volumes"], traits["volume_mounts"] = volumes, mounts
    if (su.get("cloudMetadata") or {}).get("blockWithIptables", True):
        # What the chart adds then: a privileged init container (iptables as root).
        traits["init_containers"] = [{"name": "block-cloud-metadata", "image": "k8s-network-tools",
                                      "securityContext": {"privileged": True, "runAsUser": 0,
                                                          "capabilities": {"add": ["NET_ADMIN"]}}}]
    traits.update(((values.get("hub") or {}).get("config") or {}).get("KubeSpawner") or {})
    return traits


def spawner_config(settings: Settings, roster: Roster, engines: Mapping[str, str],
                   image: str = DEFAULT_IMAGE, resources: Resources = RESOURCES) -> dict[str, Any]:
    """KubeSpawner's traits for a learner's pod: what the chart makes of :func:`singleuser_values`
    and :func:`kubespawner_settings` (the hub's ``c.KubeSpawner``)."""
    return from_values({"singleuser": singleuser_values(settings, roster, engines, image, resources),
                        "hub": {"config": {"KubeSpawner": kubespawner_settings(settings, roster)}}})


def secret_name(member: str) -> str:
    """The Secret that holds ``member``'s certificate, as KubeSpawner names it for their pod."""
    from kubespawner.slugs import safe_slug

    return SECRET_TEMPLATE.format(safe_username=safe_slug(member, max_length=48))


def cert_secret(member: str, folder: Path) -> dict[str, Any]:
    """A Kubernetes Secret with ``member``'s certificate folder (ca.pem, cert.pem, key.pem)."""
    from .certs import check_name, common_name

    check_name(member)
    folder = Path(folder)
    files = {f: folder / f for f in ("ca.pem", "cert.pem", "key.pem")}
    missing = [f for f, p in files.items() if not p.is_file()]
    if missing:
        raise ConfigError(str(folder), f"has no {', '.join(missing)} (`python -m classroom certs {member} --dir DIR`)")
    if common_name(files["cert.pem"]) != member:
        raise ConfigError(str(files["cert.pem"]), f"is {common_name(files['cert.pem'])!r}'s certificate, not {member!r}'s")
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": secret_name(member),
                         "labels": {"app.kubernetes.io/part-of": "labenv-class", "labenv.member": member}},
            "data": {f: base64.b64encode(p.read_bytes()).decode() for f, p in files.items()}}


def remove_own_labs(say=print) -> int:
    """Every lab of this learner (LABENV_LAB_PREFIX) on every engine: a pod's preStop hook."""
    if not os.environ.get("LABENV_LAB_PREFIX"):
        raise ConfigError("LABENV_LAB_PREFIX", "is not set: stop-labs removes a learner's own labs, in their pod")
    from labenv import cli
    from labenv.lab import list_labs

    names = sorted(list_labs())
    for name in names:
        cli.main(["clean", "--lab", name])
    say(f"removed {len(names)} lab(s)" + (f": {', '.join(names)}" if names else ""))
    return len(names)


def _engine_arg(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=tcp://HOST:PORT")
    return name, url


def main(argv: list[str] | None = None) -> int:
    import yaml

    from .roster import load

    p = argparse.ArgumentParser(prog="python -m classroom.kube", description=__doc__.splitlines()[0])
    verbs = p.add_subparsers(dest="verb", required=True)
    values = verbs.add_parser("values", help="the chart's values for a class (YAML, after deploy/values.yaml)")
    values.add_argument("--roster", required=True)
    values.add_argument("--engine", action="append", type=_engine_arg, required=True,
                        help="NAME=tcp://HOST:PORT, once per engine")
    values.add_argument("--image", default=DEFAULT_IMAGE)
    secret = verbs.add_parser("secret", help="a member's certificate folder as a Secret (YAML)")
    secret.add_argument("name")
    secret.add_argument("folder")
    verbs.add_parser("stop-labs", help="remove this learner's labs (a pod's preStop hook)")
    args = p.parse_args(argv)
    try:
        if args.verb == "values":
            roster = load(args.roster)
            settings = Settings(roster=str(Path(args.roster).resolve()), state="/srv/jupyterhub")
            engines = dict(args.engine)
            out = {"hub": hub_values(settings, roster), "cull": cull_values(settings),
                   "singleuser": singleuser_values(settings, roster, engines, args.image)}
            print(yaml.safe_dump(out, sort_keys=False), end="")
        elif args.verb == "secret":
            print(yaml.safe_dump(cert_secret(args.name, Path(args.folder)), sort_keys=False), end="")
        else:
            remove_own_labs()
    except (LabenvError, ValueError) as error:
        print(f"classroom.kube: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
