"""What a member of the class may ask of the class engine: the authorization plugin's decisions.

    policy = Policy(access=lambda: access, engine=lookups)
    policy.request({"User": "alice", "UserAuthNMethod": "TLS", "RequestMethod": "POST",
                    "RequestUri": "/v1.41/containers/abc/exec", "RequestBody": "..."})
    # -> Decision(allow=False, reason="container abc is not one of alice's labs")

The rules:

* No user on the engine's unix socket (root): everything.
* An instructor (``access.json``): everything.
* A name not in ``access.json``: nothing.
* A learner ``alice`` owns the labs whose name begins with ``alice-``, that is the
  containers and networks labelled ``labenv.lab=alice-...``, and the containers of a
  spare lab (labelled ``labenv.spare``, from the hot-start pool) that she claimed:
  those named ``labenv-alice-...``, since a spare's labels cannot change. She may
  claim an unclaimed spare (``labenv-_spare-...``) by renaming each of its containers
  to ``labenv-alice-<lab>-<role>``; its networks stay the pool's, and the pool's
  keeper removes them once the lab is gone. She may inspect,
  start, stop, exec into, copy to and from, read the logs of and remove them; she
  may create a lab's containers and networks only as labenv makes them (the
  role's image, name, network and capabilities, nothing from the host), and she
  may list containers and networks when the answer shows nothing of anyone else
  (decided on the answer). Everything else (build, pull, images, volumes, swarm,
  plugins, prune, events, system) is refused with a one-line reason.

The engine is asked (``Lookups``) who owns an object named in a request; the
request's own JSON body is read for creates. A request that needs its body
and arrives without a readable one is refused.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from labenv.topology import ROLES

from .access import Access

LABEL_LAB = "labenv.lab"
LABEL_ROLE = "labenv.role"
LABEL_SPARE = "labenv.spare"
#: An unclaimed spare lab's containers, ready or still starting (labenv.pool).
UNCLAIMED = re.compile(r"^/?labenv-_(spare|warm)-")
#: A lab's name, as labenv.lab.check_name has it.
LAB_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
LABEL_NETWORK = "labenv.network"
LAB_NETWORK_KINDS = ("lan", "internet")
#: The lab images: a role runs the image named in labenv.topology.
IMAGE = re.compile(r"^labenv/(?P<repo>[a-z]+):(?P<tag>[A-Za-z0-9_.-]+)$")
#: Network options labenv sets; any other could bend the engine's bridge set-up.
NETWORK_OPTIONS = {"com.docker.network.bridge.enable_ip_masquerade"}
#: Kernel settings a lab container may set: the router forwards between its networks.
SYSCTLS = {"net.ipv4.ip_forward"}
#: HostConfig fields a lab container may set, each checked below where it matters;
#: every other HostConfig field must be empty (no binds, mounts, devices, privileges...).
#: Go's encoding/json matches field names without regard to case: they are kept folded.
HOST_CONFIG_ALLOWED = {name.casefold() for name in (
    "NetworkMode", "CapAdd", "CapDrop", "Init", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts",
    "Sysctls", "RestartPolicy", "AutoRemove", "LogConfig", "Memory", "MemorySwap", "MemoryReservation",
    "NanoCpus", "CpuShares", "CpuQuota", "CpuPeriod", "PidsLimit", "ShmSize", "ReadonlyRootfs",
    "OomScoreAdj", "GroupAdd", "IpcMode", "PidMode", "UTSMode", "UsernsMode", "CgroupnsMode",
    "ConsoleSize", "Isolation", "OomKillDisable", "Ulimits", "StorageOpt",
)}
#: HostConfig fields whose mere presence changes the container (an empty list unmasks /proc).
NOT_EVEN_EMPTY = {"maskedpaths", "readonlypaths"}
#: The fields of a create's body besides HostConfig's (container.Config, and the two wrappers).
TOP_LEVEL_ONLY = {name.casefold() for name in (
    "Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "ExposedPorts",
    "Tty", "OpenStdin", "StdinOnce", "Env", "Cmd", "Healthcheck", "ArgsEscaped", "Image", "Volumes",
    "WorkingDir", "Entrypoint", "NetworkDisabled", "MacAddress", "OnBuild", "Labels", "StopSignal",
    "StopTimeout", "Shell", "HostConfig", "NetworkingConfig",
)}
TOP_LEVEL_ALLOWED = (TOP_LEVEL_ONLY - {"volumes"}) | HOST_CONFIG_ALLOWED
#: Older API versions let a container's start carry a HostConfig: learners get 1.24 and later.
MIN_API = (1, 24)
NAMESPACE_MODES = ("IpcMode", "PidMode", "UTSMode", "UsernsMode", "CgroupnsMode")
#: Actions on one of their own containers that a learner may take.
CONTAINER_ACTIONS = {
    ("GET", "json"), ("GET", "logs"), ("GET", "top"), ("GET", "changes"), ("GET", "stats"),
    ("GET", "archive"), ("HEAD", "archive"), ("PUT", "archive"),
    ("POST", "start"), ("POST", "stop"), ("POST", "restart"), ("POST", "kill"), ("POST", "wait"),
    ("POST", "pause"), ("POST", "unpause"), ("POST", "resize"), ("POST", "attach"), ("POST", "exec"),
}
EXEC_ACTIONS = {("POST", "start"), ("GET", "json"), ("POST", "resize")}
#: Refusals by the first part of the path, for what no learner needs.
REFUSED = {
    "build": "building images is for the instructor",
    "images": "pulling, loading, tagging or removing images is for the instructor",
    "volumes": "volumes are not part of a lab",
    "swarm": "swarm is not part of a lab", "nodes": "swarm is not part of a lab",
    "services": "swarm is not part of a lab", "tasks": "swarm is not part of a lab",
    "secrets": "swarm is not part of a lab", "configs": "swarm is not part of a lab",
    "plugins": "engine plugins are for the instructor",
    "system": "the engine's system view is for the instructor",
    "events": "the engine's events show everyone's labs",
    "info": "the engine's details are for the instructor",
    "commit": "committing a container to an image is for the instructor",
    "auth": "registry logins are for the instructor",
    "session": "build sessions are for the instructor",
    "distribution": "registry look-ups are for the instructor",
    "grpc": "build sessions are for the instructor",
}
HEX_ID = re.compile(r"^[0-9a-f]{12,64}$")
DEFAULT_NETWORKS = {"bridge", "host", "none"}


@dataclass(frozen=True)
class Decision:
    allow: bool
    reason: str

    def answer(self) -> dict:
        return {"Allow": self.allow, "Msg": self.reason} if not self.allow else {"Allow": True}


ALLOW = Decision(True, "")


class Lookups(Protocol):
    """The engine's view of an object, over its unix socket: its inspect JSON, None if there is none."""

    def container(self, ref: str) -> dict | None: ...

    def exec(self, exec_id: str) -> dict | None: ...

    def network(self, ref: str) -> dict | None: ...


@dataclass
class Request:
    user: str
    authn: str
    method: str
    path: str          # decoded, without the /vX.YZ prefix
    query: dict[str, list[str]]
    body: bytes
    status: int
    response: bytes
    _version: tuple[int, ...] | None = None

    @classmethod
    def parse(cls, message: dict) -> Request:
        uri = message.get("RequestUri") or message.get("RequestURI") or ""
        parts = urlsplit(uri)
        path = re.sub(r"^/v[0-9.]+(?=/)", "", unquote(parts.path))
        version = re.match(r"^/v([0-9]+)\.([0-9]+)(?=/)", unquote(parts.path))
        req = cls(user=message.get("User") or "", authn=message.get("UserAuthNMethod") or "",
                  method=(message.get("RequestMethod") or "").upper(), path=path,
                  query=parse_qs(parts.query), body=_b64(message.get("RequestBody")),
                  status=int(message.get("ResponseStatusCode") or 0),
                  response=_b64(message.get("ResponseBody")))
        req._version = (int(version[1]), int(version[2])) if version else None
        return req

    @property
    def version(self) -> tuple[int, ...] | None:
        return self._version

    def json_body(self) -> dict | None:
        """The body as a JSON object, or None when there is none or it is ambiguous.

        The engine reads it with Go's encoding/json, which matches a struct's field
        names without regard to case (and with Unicode folding), and which merges a
        key given twice. A body whose keys differ only that way is refused here, so
        what the plugin checks is what the engine reads; fields are then found with
        ``field()``.
        """
        try:
            data = json.loads(self.body, object_pairs_hook=_unique_keys) if self.body else None
        except (ValueError, UnicodeDecodeError, AmbiguousKeys):
            return None
        return data if isinstance(data, dict) else None


class AmbiguousKeys(ValueError):
    """Two keys of one JSON object that Go's encoding/json takes for the same field."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    folded = [key.casefold() for key, _ in pairs]
    if len(set(folded)) != len(folded):
        raise AmbiguousKeys(", ".join(key for key, _ in pairs))
    return dict(pairs)


def field(obj, name: str, default=None):
    """A struct field of a JSON object as Go's encoding/json finds it: by name, without regard to case."""
    if not isinstance(obj, dict):
        return default
    want = name.casefold()
    for key, value in obj.items():
        if key.casefold() == want:
            return value
    return default


def _b64(value) -> bytes:
    if not value:
        return b""
    try:
        return base64.b64decode(value)
    except (ValueError, TypeError):
        return b""


def owns(user: str, lab: str | None) -> bool:
    """A learner owns the labs whose name starts with their name and '-'."""
    return bool(lab) and lab.startswith(f"{user}-") and len(lab) > len(user) + 1


def _name(obj: dict | None) -> str:
    """A container's name from its inspect JSON ("Name") or a listing's ("Names")."""
    if not obj:
        return ""
    name = obj.get("Name") or next(iter(obj.get("Names") or []), "")
    return name if isinstance(name, str) else ""


def owns_container(user: str, obj: dict | None) -> bool:
    """A learner's container: of a lab labelled theirs, or a spare they renamed into their name."""
    labels = _labels(obj)
    if owns(user, labels.get(LABEL_LAB)):
        return True
    return LABEL_SPARE in labels and _name(obj).lstrip("/").startswith(f"labenv-{user}-")


def _labels(obj: dict | None) -> dict:
    if not obj:
        return {}
    return (obj.get("Config") or {}).get("Labels") or obj.get("Labels") or {}


def _empty(value) -> bool:
    return value in (None, False, "", 0, [], {})


class Policy:
    def __init__(self, access: Callable[[], Access], engine: Lookups,
                 lab_subnets: ipaddress.IPv4Network | None = None) -> None:
        self.access = access
        self.engine = engine
        self.lab_subnets = lab_subnets

    # -- the plugin's two questions ----------------------------------------------
    def request(self, message: dict) -> Decision:
        req = Request.parse(message)
        who = self._who(req)
        if who is not None:
            return who
        try:
            return self._learner_request(req)
        except LookupFailed as error:
            return Decision(False, f"cannot check the request: {error}")
        except (TypeError, AttributeError, ValueError):
            return Decision(False, "a request the plugin cannot read")

    def response(self, message: dict) -> Decision:
        req = Request.parse(message)
        who = self._who(req)
        if who is not None:
            return who
        if req.status >= 400 or req.method != "GET":
            return ALLOW
        if req.path in ("/containers/json", "/networks", "/networks/"):
            try:
                return self._listing(req)
            except (TypeError, AttributeError, ValueError):
                return Decision(False, "a listing the plugin cannot read")
        return ALLOW

    # -- who is asking ---------------------------------------------------------------
    def _who(self, req: Request) -> Decision | None:
        """A decision for root, instructors and strangers; None for a learner."""
        if not req.user:
            if req.authn:
                return Decision(False, "a certificate without a name (CN) is not a member of this class")
            return Decision(True, "root on the engine's unix socket")
        role = self.access().role(req.user)
        if role == "instructor":
            return Decision(True, "instructor")
        if role is None:
            return Decision(False, f"{req.user} is not a member of this class")
        return None

    # -- a learner's request -----------------------------------------------------------
    def _learner_request(self, req: Request) -> Decision:
        m, path, user = req.method, req.path, req.user
        if req.version is not None and req.version < MIN_API:
            # Before 1.24 a container's start could carry a new HostConfig.
            return Decision(False, f"API versions before {'.'.join(map(str, MIN_API))} are not served")
        if path in ("/_ping", "/version") and m in ("GET", "HEAD"):
            return Decision(True, "engine version")
        if path == "/containers/json" and m == "GET":
            return Decision(True, "listing: decided on the answer")
        if path == "/containers/create" and m == "POST":
            return self._create_container(req)
        if path in ("/networks", "/networks/") and m == "GET":
            return Decision(True, "listing: decided on the answer")
        if path == "/networks/create" and m == "POST":
            return self._create_network(req)
        if path in ("/containers/prune", "/networks/prune"):
            return Decision(False, "prune is for the instructor")
        if path == "/images/json" and m == "GET":
            return Decision(True, "the list of images holds no one's work")
        image = re.match(r"^/images/(?P<name>.+)/json$", path)
        if image and m == "GET":
            if IMAGE.match(image["name"]):
                return Decision(True, "a lab image")
            return Decision(False, f"image {image['name']} is not a lab image")

        action = re.match(r"^/containers/(?P<ref>.+)/(?P<action>[a-z]+)$", path)
        if action and action["action"] == "rename" and m == "POST":
            return self._rename(user, action["ref"], (req.query.get("name") or [""])[0])
        if action:
            if (m, action["action"]) not in CONTAINER_ACTIONS:
                return Decision(False, f"{action['action']} on a container is not part of a lab's work")
            if action["action"] == "exec":
                body = req.json_body()
                if body is None:
                    return Decision(False, "an exec without a readable JSON body")
                if field(body, "Privileged"):
                    return Decision(False, "a privileged exec is not part of a lab")
            return self._own_container(user, action["ref"])
        remove = re.match(r"^/containers/(?P<ref>[^/]+)$", path)
        if remove and m == "DELETE":
            return self._own_container(user, remove["ref"])

        exec_action = re.match(r"^/exec/(?P<id>[^/]+)/(?P<action>[a-z]+)$", path)
        if exec_action and (m, exec_action["action"]) in EXEC_ACTIONS:
            found = self.engine.exec(exec_action["id"])
            if found is None:
                return Decision(True, "no such exec: the engine answers")
            return self._own_container(user, found.get("ContainerID", ""), what="exec's container")

        net = re.match(r"^/networks/(?P<ref>[^/]+)(?:/(?P<action>connect|disconnect))?$", path)
        if net and ((m in ("GET", "DELETE") and not net["action"]) or (m == "POST" and net["action"])):
            decision = self._own_network(user, net["ref"])
            if not decision.allow or not net["action"]:
                return decision
            body = req.json_body()
            container = field(body, "Container") if body else None
            if not isinstance(container, str) or not container:
                return Decision(False, f"a network {net['action']} without a readable container")
            return self._same_lab_container(user, container, self._lab_of_network(net["ref"]))

        first = path.strip("/").split("/", 1)[0]
        if first in REFUSED:
            return Decision(False, REFUSED[first])
        return Decision(False, f"{m} {path} is not part of a lab's work")

    # -- objects and their owners -----------------------------------------------------
    def _own_container(self, user: str, ref: str, what: str = "container") -> Decision:
        found = self.engine.container(ref)
        if found is None:
            if ref.startswith(f"labenv-{user}-") or HEX_ID.match(ref):
                return Decision(True, f"no such {what}: the engine answers")
            return Decision(False, f"{what} {ref[:40]} is not one of {user}'s labs")
        if owns_container(user, found):
            return Decision(True, f"{what} of {user}'s lab {_name(found).lstrip('/')}")
        return Decision(False, f"{what} {ref[:40]} is not one of {user}'s labs")

    def _rename(self, user: str, ref: str, new_name: str) -> Decision:
        """A claim of a spare lab: each container renamed labenv-<user>-<lab>-<role>."""
        found = self.engine.container(ref)
        if found is None:
            return Decision(True, "no such container: the engine answers")
        labels = _labels(found)
        if not (UNCLAIMED.match(_name(found)) and LABEL_SPARE in labels) and not owns_container(user, found):
            return Decision(False, f"container {ref[:40]} is neither a spare lab nor one of {user}'s labs")
        role = labels.get(LABEL_ROLE, "")
        lab = new_name.lstrip("/").removeprefix("labenv-").removesuffix(f"-{role}")
        if (role not in ROLES or new_name.lstrip("/") != f"labenv-{lab}-{role}"
                or not LAB_NAME.match(lab) or not owns(user, lab)):
            return Decision(False, f"a claimed {role or 'lab'} container is named labenv-{user}-<lab>-{role}")
        return Decision(True, f"{user} claims a spare lab as {lab}")

    def _own_network(self, user: str, ref: str) -> Decision:
        found = self.engine.network(ref)
        if found is None:
            if ref.startswith(f"labenv-{user}-") or HEX_ID.match(ref):
                return Decision(True, "no such network: the engine answers")
            return Decision(False, f"network {ref[:40]} is not one of {user}'s labs")
        lab = _labels(found).get(LABEL_LAB)
        if owns(user, lab):
            return Decision(True, f"network of {user}'s lab {lab}")
        return Decision(False, f"network {ref[:40]} is not one of {user}'s labs")

    def _lab_of_network(self, ref: str) -> str | None:
        if not isinstance(ref, str) or not ref:
            return None
        return _labels(self.engine.network(ref)).get(LABEL_LAB)

    def _same_lab_container(self, user: str, ref: str, lab: str | None) -> Decision:
        found = self.engine.container(ref)
        theirs = _labels(found).get(LABEL_LAB)
        if found is not None and owns(user, theirs) and theirs == lab:
            return Decision(True, f"container and network of {user}'s lab {lab}")
        return Decision(False, f"container {ref[:40]} and the network are not of one lab of {user}'s")

    # -- creating a lab's containers and networks ---------------------------------------
    def _create_container(self, req: Request) -> Decision:
        user = req.user
        body = req.json_body()
        if body is None:
            return Decision(False, "a container create without a readable JSON body")
        labels = field(body, "Labels") or {}
        lab, role = labels.get(LABEL_LAB), labels.get(LABEL_ROLE)
        if not owns(user, lab):
            return Decision(False, f"a container must carry the label {LABEL_LAB}={user}-... "
                                   f"(one of {user}'s labs)")
        if role not in ROLES:
            return Decision(False, f"a lab container's {LABEL_ROLE} is one of {', '.join(ROLES)}")
        name = (req.query.get("name") or [""])[0].lstrip("/")
        if name != f"labenv-{lab}-{role}":
            return Decision(False, f"the {role} container of lab {lab} is named labenv-{lab}-{role}")
        image = IMAGE.match(field(body, "Image") or "")
        if not image or image["repo"] != ROLES[role].image:
            return Decision(False, f"the {role} container runs a labenv/{ROLES[role].image} image, "
                                   f"not {field(body, 'Image')!r}")
        # The engine also takes HostConfig's fields at the top level (an old API's form).
        for key, value in body.items():
            folded = key.casefold()
            if folded not in TOP_LEVEL_ALLOWED and not _empty(value):
                return Decision(False, f"{key} is not a lab setting "
                                       "(no privileges, mounts, devices or host resources)")
        inner = field(body, "HostConfig") or {}
        if not isinstance(inner, dict):
            return Decision(False, "HostConfig is not an object")
        for host in (body, inner):
            decision = self._host_config(host, role)
            if decision is not None:
                return decision
        networks = [field(inner, "NetworkMode") or field(body, "NetworkMode") or ""]
        networks += list(field(field(body, "NetworkingConfig") or {}, "EndpointsConfig") or {})
        for net in networks:
            if self._lab_of_network(net) != lab:
                return Decision(False, f"the container joins {net or 'the default network'}, "
                                       f"not a network of lab {lab}")
        return Decision(True, f"the {role} container of {user}'s lab {lab}")

    def _host_config(self, host: dict, role: str) -> Decision | None:
        """The refusal for one HostConfig (inner or top level), or None when it holds only lab settings."""
        for key, value in host.items():
            folded = key.casefold()
            if folded in HOST_CONFIG_ALLOWED or folded in TOP_LEVEL_ONLY:
                continue
            if not _empty(value) or (folded in NOT_EVEN_EMPTY and value is not None):
                return Decision(False, f"HostConfig.{key} is not a lab setting "
                                       "(no privileges, mounts, devices or host resources)")
        for key in NAMESPACE_MODES:
            mode = field(host, key) or ""
            if not isinstance(mode, str) or mode == "host" or mode.startswith("container:"):
                return Decision(False, f"{key}={mode} shares a namespace outside the lab")
        caps = {str(c).upper().removeprefix("CAP_") for c in field(host, "CapAdd") or []}
        extra = caps - set(ROLES[role].caps)
        if extra:
            return Decision(False, f"the {role} container may add only "
                                   f"{', '.join(ROLES[role].caps) or 'no'} capabilities, "
                                   f"not {', '.join(sorted(extra))}")
        odd = set(field(host, "Sysctls") or {}) - SYSCTLS
        if odd:
            return Decision(False, f"kernel settings {', '.join(sorted(odd))} are not lab settings")
        log_type = field(field(host, "LogConfig") or {}, "Type") or ""
        if log_type not in ("", "json-file", "local"):
            return Decision(False, f"log driver {log_type} is not a lab setting")
        return None

    def _create_network(self, req: Request) -> Decision:
        user = req.user
        body = req.json_body()
        if body is None:
            return Decision(False, "a network create without a readable JSON body")
        labels = field(body, "Labels") or {}
        lab, kind = labels.get(LABEL_LAB), labels.get(LABEL_NETWORK)
        if not owns(user, lab):
            return Decision(False, f"a network must carry the label {LABEL_LAB}={user}-... "
                                   f"(one of {user}'s labs)")
        if kind not in LAB_NETWORK_KINDS or field(body, "Name") != f"labenv-{lab}-{kind}":
            return Decision(False, f"a lab's networks are labenv-{lab}-lan and labenv-{lab}-internet")
        if (field(body, "Driver") or "bridge") != "bridge":
            return Decision(False, "a lab network is a bridge")
        for key in ("Attachable", "Ingress", "ConfigOnly", "EnableIPv6"):
            if field(body, key):
                return Decision(False, f"{key} is not a lab network setting")
        if not _empty(field(body, "ConfigFrom")) or (field(body, "Scope") or "local") != "local":
            return Decision(False, "a lab network is local to the engine")
        odd = set(field(body, "Options") or {}) - NETWORK_OPTIONS
        if odd:
            return Decision(False, f"network options {', '.join(sorted(odd))} are not lab settings")
        ipam = field(body, "IPAM") or {}
        if (field(ipam, "Driver") or "default") != "default" or not _empty(field(ipam, "Options")):
            return Decision(False, "a lab network uses the engine's own address management")
        for cfg in field(ipam, "Config") or []:
            try:
                subnet = ipaddress.IPv4Network(field(cfg, "Subnet") or "", strict=False)
            except ValueError:
                return Decision(False, f"subnet {field(cfg, 'Subnet')!r} is not an IPv4 network")
            if self.lab_subnets is not None and not subnet.subnet_of(self.lab_subnets):
                return Decision(False, f"a lab subnet lies in {self.lab_subnets} (LABENV_SUBNETS)")
        return Decision(True, f"the {kind} network of {user}'s lab {lab}")

    # -- listings, on the answer --------------------------------------------------------
    def _listing(self, req: Request) -> Decision:
        items = json.loads(req.response) if req.response else []
        if not isinstance(items, list):
            return Decision(False, "a listing the plugin cannot read")
        for item in items:
            labels = item.get("Labels") or {}
            if owns(req.user, labels.get(LABEL_LAB)):
                continue
            if LABEL_SPARE in labels and ("Driver" in item or UNCLAIMED.match(_name(item))
                                          or owns_container(req.user, item)):
                continue  # the pool's spares and their networks hold no one's work
            if "Driver" in item and item.get("Name") in DEFAULT_NETWORKS and not labels:
                continue  # the engine's own networks belong to no one
            return Decision(False, f"the answer shows labs that are not {req.user}'s: list your own "
                                   f"with a filter (labenv does when LABENV_LAB_PREFIX is set)")
        return Decision(True, f"the answer shows only {req.user}'s labs")


class LookupFailed(Exception):
    """The engine could not say who owns an object."""
