"""The plugin's decisions on requests as the engine sends them (no engine needed).

The engine's view of objects is a small table here; test_class_engine.py asks
the real engine the same questions.
"""

from __future__ import annotations

import base64
import ipaddress
import json

import pytest

from classroom.access import Access
from classroom.policy import Policy

ALICE_LAN = {"Name": "labenv-alice-nb01-lan", "Labels": {"labenv.lab": "alice-nb01"}}
BOB_LAN = {"Name": "labenv-bob-nb01-lan", "Labels": {"labenv.lab": "bob-nb01"}}
ALICE_ROUTER = {"Id": "a" * 64, "Config": {"Labels": {"labenv.lab": "alice-nb01", "labenv.role": "router"}}}
BOB_ROUTER = {"Id": "b" * 64, "Config": {"Labels": {"labenv.lab": "bob-nb01", "labenv.role": "router"}}}


class Table:
    """The engine's answers to the plugin's look-ups: inspect JSON by name or id."""

    def __init__(self) -> None:
        self.containers = {"labenv-alice-nb01-router": ALICE_ROUTER, "a" * 64: ALICE_ROUTER,
                           "labenv-bob-nb01-router": BOB_ROUTER, "b" * 64: BOB_ROUTER}
        self.networks = {"labenv-alice-nb01-lan": ALICE_LAN, "labenv-bob-nb01-lan": BOB_LAN}
        self.execs = {"e" * 64: {"ContainerID": "b" * 64}, "f" * 64: {"ContainerID": "a" * 64}}

    def container(self, ref):
        return self.containers.get(ref)

    def exec(self, exec_id):
        return self.execs.get(exec_id)

    def network(self, ref):
        return self.networks.get(ref)


@pytest.fixture
def policy() -> Policy:
    access = Access(learners={"alice", "bob"}, instructors={"carol"})
    return Policy(lambda: access, Table(), ipaddress.IPv4Network("10.214.0.0/16"))


def ask(policy, user, method, uri, body=None, raw: bytes | None = None):
    message = {"User": user, "UserAuthNMethod": "TLS" if user else "", "RequestMethod": method,
               "RequestUri": uri}
    if body is not None or raw is not None:
        data = raw if raw is not None else json.dumps(body).encode()
        message["RequestBody"] = base64.b64encode(data).decode()
    return policy.request(message)


def router_create(**changes) -> dict:
    body = {"Image": "labenv/router:bookworm-8639c36cbb04",
            "Labels": {"labenv.lab": "alice-nb01", "labenv.role": "router", "labenv.id": "x"},
            "HostConfig": {"NetworkMode": "labenv-alice-nb01-lan", "CapAdd": ["NET_ADMIN"], "Init": True,
                           "Sysctls": {"net.ipv4.ip_forward": "1"}},
            "NetworkingConfig": {"EndpointsConfig": {"labenv-alice-nb01-lan": {}}}}
    body.update(changes)
    return body


CREATE = "/v1.41/containers/create?name=labenv-alice-nb01-router"


def test_root_and_instructor_may_do_anything(policy):
    assert ask(policy, "", "POST", "/v1.41/build").allow
    assert ask(policy, "carol", "DELETE", "/v1.41/containers/labenv-bob-nb01-router").allow


def test_strangers_and_nameless_certificates_are_refused(policy):
    assert "not a member" in ask(policy, "mallory", "GET", "/_ping").reason
    nameless = policy.request({"User": "", "UserAuthNMethod": "TLS", "RequestMethod": "GET",
                               "RequestUri": "/_ping"})
    assert not nameless.allow


def test_a_lab_container_as_labenv_makes_it_is_allowed(policy):
    decision = ask(policy, "alice", "POST", CREATE, router_create())
    assert decision.allow, decision.reason


@pytest.mark.parametrize(("changes", "reason"), [
    ({"HostConfig": {"Privileged": True, "NetworkMode": "labenv-alice-nb01-lan"}}, "Privileged"),
    ({"HostConfig": {"Binds": ["/etc:/host"], "NetworkMode": "labenv-alice-nb01-lan"}}, "Binds"),
    ({"HostConfig": {"Mounts": [{"Type": "bind", "Source": "/", "Target": "/h"}],
                     "NetworkMode": "labenv-alice-nb01-lan"}}, "Mounts"),
    ({"HostConfig": {"NetworkMode": "host"}}, "host"),
    ({"HostConfig": {"PidMode": "host", "NetworkMode": "labenv-alice-nb01-lan"}}, "PidMode"),
    ({"HostConfig": {"IpcMode": "container:" + "b" * 64, "NetworkMode": "labenv-alice-nb01-lan"}}, "IpcMode"),
    ({"HostConfig": {"CapAdd": ["SYS_ADMIN"], "NetworkMode": "labenv-alice-nb01-lan"}}, "SYS_ADMIN"),
    ({"HostConfig": {"Devices": [{"PathOnHost": "/dev/kmsg"}], "NetworkMode": "labenv-alice-nb01-lan"}}, "Devices"),
    ({"HostConfig": {"SecurityOpt": ["seccomp=unconfined"], "NetworkMode": "labenv-alice-nb01-lan"}}, "SecurityOpt"),
    ({"HostConfig": {"MaskedPaths": [], "NetworkMode": "labenv-alice-nb01-lan"}}, "MaskedPaths"),
    ({"HostConfig": {"NetworkMode": "labenv-bob-nb01-lan"}}, "not a network of lab"),
    ({"Image": "debian:bookworm-slim"}, "labenv/router"),
    ({"Image": "labenv/mailserver:bookworm-0026a6a6955a"}, "labenv/router"),
    ({"Labels": {"labenv.lab": "bob-nb01", "labenv.role": "router"}}, "alice-"),
    ({"Labels": {}}, "alice-"),
    ({"Volumes": {"/data": {}}}, "Volumes"),
])
def test_a_container_with_more_than_the_labs_settings_is_refused(policy, changes, reason):
    decision = ask(policy, "alice", "POST", CREATE, router_create(**changes))
    assert not decision.allow and reason in decision.reason, decision


def test_host_settings_at_the_top_level_count_too(policy):
    """The engine reads HostConfig's fields at the top of the body when HostConfig is absent."""
    body = router_create(Privileged=True)
    del body["HostConfig"]
    assert not ask(policy, "alice", "POST", CREATE, body).allow


def test_field_names_in_another_case_count_too(policy):
    """Go's JSON decoding matches field names without regard to case (and with Unicode folding)."""
    body = router_create()
    body["hostconfig"] = body.pop("HostConfig") | {"privileged": True}
    assert "privileged" in ask(policy, "alice", "POST", CREATE, body).reason
    body = router_create()
    body["HostConfig"]["Bind\u017f"] = ["/:/host"]  # the long s folds to "s": Go reads Binds
    assert not ask(policy, "alice", "POST", CREATE, body).allow


def test_a_key_given_twice_is_refused(policy):
    """Go merges a repeated object key; the plugin would see only the last one."""
    raw = json.dumps(router_create())[:-1] + ', "HostConfig": {"NetworkMode": "labenv-alice-nb01-lan"}}'
    raw = raw.replace('"HostConfig": {"NetworkMode"', '"HostConfig": {"Privileged": true, "NetworkMode"', 1)
    assert "readable" in ask(policy, "alice", "POST", CREATE, raw=raw.encode()).reason


def test_a_create_without_a_body_is_refused(policy):
    assert "readable" in ask(policy, "alice", "POST", CREATE).reason


def test_a_container_must_bear_its_labs_name(policy):
    decision = ask(policy, "alice", "POST", "/v1.41/containers/create?name=labenv-bob-nb01-router",
                   router_create())
    assert not decision.allow and "named labenv-alice-nb01-router" in decision.reason


def test_old_api_versions_are_refused(policy):
    """Before API 1.24 a start could carry a HostConfig of its own."""
    assert "1.24" in ask(policy, "alice", "POST", "/v1.23/containers/labenv-alice-nb01-router/start").reason
    assert ask(policy, "alice", "POST", "/v1.41/containers/labenv-alice-nb01-router/start").allow
    assert ask(policy, "alice", "POST", "/containers/labenv-alice-nb01-router/start").allow


@pytest.mark.parametrize("uri", [
    "/v1.41/containers/labenv-bob-nb01-router/json", "/v1.41/containers/labenv-bob-nb01-router/logs",
    "/v1.41/containers/labenv-bob-nb01-router/stop", "/v1.41/containers/" + "b" * 64 + "/kill",
    "/v1.41/containers/labenv-bob-nb01-router/archive",
])
def test_another_learners_container_is_refused(policy, uri):
    method = "GET" if uri.endswith(("json", "logs", "archive")) else "POST"
    decision = ask(policy, "alice", method, uri)
    assert not decision.allow and "not one of alice's labs" in decision.reason


def test_exec_follows_the_container(policy):
    assert not ask(policy, "alice", "POST", "/v1.41/containers/labenv-bob-nb01-router/exec",
                   {"Cmd": ["true"]}).allow
    assert ask(policy, "alice", "POST", "/v1.41/containers/labenv-alice-nb01-router/exec",
               {"Cmd": ["true"], "Privileged": False}).allow
    assert not ask(policy, "alice", "POST", "/v1.41/exec/" + "e" * 64 + "/start", {}).allow
    assert not ask(policy, "alice", "GET", "/v1.41/exec/" + "e" * 64 + "/json").allow
    assert ask(policy, "alice", "POST", "/v1.41/exec/" + "f" * 64 + "/start", {}).allow


def test_a_privileged_exec_is_refused(policy):
    decision = ask(policy, "alice", "POST", "/v1.41/containers/labenv-alice-nb01-router/exec",
                   {"Cmd": ["sh"], "privileged": True})
    assert not decision.allow and "privileged" in decision.reason


def test_names_are_decoded_as_the_engine_decodes_them(policy):
    assert not ask(policy, "alice", "DELETE", "/v1.41/containers/labenv-bob%2Dnb01-router").allow


def test_networks(policy):
    net = {"Name": "labenv-alice-nb02-lan", "Driver": "bridge", "CheckDuplicate": True,
           "Labels": {"labenv.lab": "alice-nb02", "labenv.network": "lan"},
           "Options": {"com.docker.network.bridge.enable_ip_masquerade": "false"},
           "IPAM": {"Driver": "default", "Config": [{"Subnet": "10.214.7.0/24"}]}}
    assert ask(policy, "alice", "POST", "/v1.41/networks/create", net).allow
    outside = json.loads(json.dumps(net))
    outside["IPAM"]["Config"][0]["Subnet"] = "192.168.1.0/24"
    assert "10.214.0.0/16" in ask(policy, "alice", "POST", "/v1.41/networks/create", outside).reason
    odd = dict(net, Options={"com.docker.network.bridge.name": "docker0"})
    assert not ask(policy, "alice", "POST", "/v1.41/networks/create", odd).allow
    assert not ask(policy, "alice", "DELETE", "/v1.41/networks/labenv-bob-nb01-lan").allow
    assert ask(policy, "alice", "DELETE", "/v1.41/networks/labenv-alice-nb01-lan").allow
    connect = "/v1.41/networks/labenv-alice-nb01-lan/connect"
    assert ask(policy, "alice", "POST", connect, {"Container": "labenv-alice-nb01-router"}).allow
    assert not ask(policy, "alice", "POST", connect, {"Container": "labenv-bob-nb01-router"}).allow


@pytest.mark.parametrize(("method", "uri"), [
    ("POST", "/v1.41/build"), ("POST", "/v1.41/images/create?fromImage=debian"),
    ("POST", "/v1.41/images/load"), ("POST", "/v1.41/volumes/create"), ("GET", "/v1.41/events"),
    ("POST", "/v1.41/containers/prune"), ("GET", "/v1.41/plugins"), ("POST", "/v1.41/swarm/init"),
    ("GET", "/v1.41/info"), ("GET", "/v1.41/system/df"), ("GET", "/v1.41/images/debian:bookworm-slim/json"),
    ("POST", "/v1.41/commit?container=labenv-alice-nb01-router"),
    ("POST", "/v1.41/containers/labenv-alice-nb01-router/rename?name=x"),
])
def test_everything_else_is_refused_in_one_line(policy, method, uri):
    decision = ask(policy, "alice", method, uri)
    assert not decision.allow and decision.reason and "\n" not in decision.reason


def test_listings_are_judged_on_the_answer(policy):
    def answer(items):
        return policy.response({"User": "alice", "UserAuthNMethod": "TLS", "RequestMethod": "GET",
                                "RequestUri": "/v1.41/containers/json?all=1", "ResponseStatusCode": 200,
                                "ResponseBody": base64.b64encode(json.dumps(items).encode()).decode()})
    assert answer([]).allow
    assert answer([{"Labels": {"labenv.lab": "alice-nb01"}}]).allow
    assert not answer([{"Labels": {"labenv.lab": "alice-nb01"}}, {"Labels": {"labenv.lab": "bob-nb01"}}]).allow
    assert not answer([{"Labels": {}}]).allow


# -- spare labs of the hot-start pool (labenv.pool) ------------------------------------
def spare(role: str, name: str, key: str = "s1") -> dict:
    return {"Id": (key * 32)[:64], "Name": f"/{name}",
            "Config": {"Labels": {"labenv.lab": f"_warm-{key}", "labenv.role": role, "labenv.id": key,
                                  "labenv.spare": "1795650000", "labenv.pool": "class"}}}


@pytest.fixture
def pool_policy() -> Policy:
    table = Table()
    table.containers.update({
        "labenv-_spare-s1-mailserver": spare("mailserver", "labenv-_spare-s1-mailserver"),
        "labenv-_spare-s1-router": spare("router", "labenv-_spare-s1-router"),
        "labenv-alice-nb02-mailserver": spare("mailserver", "labenv-alice-nb02-mailserver", "s2"),
        "labenv-bob-nb02-mailserver": spare("mailserver", "labenv-bob-nb02-mailserver", "s3"),
    })
    table.networks["labenv-_warm-s2-lan"] = {"Name": "labenv-_warm-s2-lan", "Driver": "bridge",
                                             "Labels": {"labenv.lab": "_warm-s2", "labenv.spare": "1"}}
    access = Access(learners={"alice", "bob"}, instructors={"carol"})
    return Policy(lambda: access, table, ipaddress.IPv4Network("10.214.0.0/16"))


def rename(ref: str, new: str) -> str:
    return f"/v1.41/containers/{ref}/rename?name={new}"


def test_a_learner_claims_a_spare_by_renaming_it_into_her_own_name(pool_policy):
    assert ask(pool_policy, "alice", "POST", rename("labenv-_spare-s1-mailserver",
                                                    "labenv-alice-nb01-mailserver")).allow
    assert ask(pool_policy, "alice", "POST", rename("labenv-_spare-s1-router", "labenv-alice-nb01-router")).allow


@pytest.mark.parametrize("ref, new, says", [
    ("labenv-_spare-s1-mailserver", "labenv-bob-nb01-mailserver", "named labenv-alice-<lab>-mailserver"),
    ("labenv-_spare-s1-mailserver", "labenv-alice-nb01-router", "named labenv-alice-<lab>-mailserver"),
    ("labenv-_spare-s1-mailserver", "alice-nb01", "named labenv-alice-<lab>-mailserver"),
    ("labenv-_spare-s1-mailserver", "labenv-alice-NB!-mailserver", "named labenv-alice-<lab>-mailserver"),
    ("labenv-bob-nb02-mailserver", "labenv-alice-nb02-mailserver", "neither a spare lab nor one of alice's"),
    ("labenv-bob-nb01-router", "labenv-alice-nb01-router", "neither a spare lab nor one of alice's"),
])
def test_no_learner_renames_what_is_not_a_spare_or_hers_or_into_another_name(pool_policy, ref, new, says):
    decision = ask(pool_policy, "alice", "POST", rename(ref, new))
    assert not decision.allow and says in decision.reason


def test_a_claimed_spare_is_its_claimers_and_no_one_elses(pool_policy):
    assert ask(pool_policy, "alice", "POST", "/v1.41/containers/labenv-alice-nb02-mailserver/exec",
               {"Cmd": ["mailq"]}).allow
    assert not ask(pool_policy, "alice", "POST", "/v1.41/containers/labenv-bob-nb02-mailserver/exec",
                   {"Cmd": ["mailq"]}).allow
    assert ask(pool_policy, "alice", "DELETE", "/v1.41/containers/labenv-alice-nb02-mailserver").allow
    assert not ask(pool_policy, "bob", "DELETE", "/v1.41/containers/labenv-alice-nb02-mailserver").allow
    # an unclaimed spare is no one's to use until renamed
    assert not ask(pool_policy, "alice", "POST", "/v1.41/containers/labenv-_spare-s1-mailserver/exec",
                   {"Cmd": ["mailq"]}).allow
    # the spare's networks stay the pool's
    assert not ask(pool_policy, "alice", "DELETE", "/v1.41/networks/labenv-_warm-s2-lan").allow


def answer(policy, user, uri, items):
    return policy.response({"User": user, "UserAuthNMethod": "TLS", "RequestMethod": "GET",
                            "RequestUri": uri, "ResponseStatusCode": 200,
                            "ResponseBody": base64.b64encode(json.dumps(items).encode()).decode()})


def test_listings_may_show_unclaimed_spares_and_her_claimed_ones_but_not_others(pool_policy):
    unclaimed = {"Names": ["/labenv-_spare-s1-mailserver"], "Labels": {"labenv.spare": "1", "labenv.lab": "_warm-s1"}}
    hers = {"Names": ["/labenv-alice-nb02-mailserver"], "Labels": {"labenv.spare": "1", "labenv.lab": "_warm-s2"}}
    bobs = {"Names": ["/labenv-bob-nb02-mailserver"], "Labels": {"labenv.spare": "1", "labenv.lab": "_warm-s3"}}
    net = {"Name": "labenv-_warm-s2-lan", "Driver": "bridge", "Labels": {"labenv.spare": "1", "labenv.lab": "_warm-s2"}}
    assert answer(pool_policy, "alice", "/v1.41/containers/json", [unclaimed, hers]).allow
    assert not answer(pool_policy, "alice", "/v1.41/containers/json", [hers, bobs]).allow
    assert answer(pool_policy, "alice", "/v1.41/networks", [net]).allow
