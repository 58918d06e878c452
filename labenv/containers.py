"""One testcontainers class per lab role: image first, keyword-only options, `with_*`.

    c = (MailserverContainer(image, lab="default")
         .with_lab_network(lan, host=10)
         .with_gateway("10.213.0.254"))
    c.start()   # waits for the role's ready line; on failure the logs come with the error

Ryuk (testcontainers' reaper) is off: its image cannot be pulled without a registry,
and a lab must outlive the Python process that started it (`labenv up` returns).
Every container and network carries `labenv.lab`/`labenv.id` labels instead, and
`labenv down`/`clean` remove by label.
"""

from __future__ import annotations

import os
import re

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from docker.types import EndpointConfig
from testcontainers.core.config import testcontainers_config
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from .topology import ROLES, Role

testcontainers_config.ryuk_disabled = True
STARTUP_TIMEOUT = 90


class LabNetworkRef:
    """What testcontainers needs of a network (its name), plus the lab's addressing."""

    def __init__(self, name: str, subnet: str) -> None:
        self.name = name
        self.subnet = subnet

    def address(self, host: int) -> str:
        return re.sub(r"\.0/24$", f".{host}", self.subnet)


class LabContainer(DockerContainer):
    """A lab role: FQDN hostname, labels, init process, fixed address, ready line."""

    role: Role

    def __init__(self, image: str, *, lab: str, lab_id: str, suite: str, role: Role,
                 labels: dict[str, str] | None = None, engine: dict | None = None) -> None:
        # `engine`: docker.from_env's keywords for an engine other than DOCKER_HOST's.
        super().__init__(image, docker_client_kw=engine)
        self.role = role
        self.lab = lab
        labels = {"labenv.lab": lab, "labenv.id": lab_id, "labenv.role": role.name,
                  "labenv.suite": suite, **(labels or {})}
        self.with_name(f"labenv-{lab}-{role.name}")
        self.with_docker_options(hostname=role.hostname, labels=labels, init=True,
                                 cap_add=list(role.caps))
        if role.command:
            self.with_command(list(role.command))
        self.waiting_for(LogMessageWaitStrategy(role.ready)
                         .with_startup_timeout(STARTUP_TIMEOUT).with_poll_interval(0.1))

    def with_lab_network(self, network: LabNetworkRef) -> LabContainer:
        """Join `network` at the role's fixed address, under the role's aliases."""
        self.with_network(network)
        self.with_network_aliases(*self.role.aliases)
        endpoint = EndpointConfig("1.41", aliases=list(self.role.aliases),
                                  ipv4_address=network.address(self.role.host))
        return self.with_docker_options(networking_config={network.name: endpoint})

    def with_docker_options(self, **options) -> LabContainer:
        """Add options for the engine's create call (testcontainers' with_kwargs replaces them all)."""
        self._kwargs.update(options)
        return self

    def logs_tail(self, lines: int = 25) -> str:
        try:
            return self.get_wrapped_container().logs(tail=lines).decode("utf-8", "replace")
        except Exception:  # the container may already be gone
            return ""


class MailserverContainer(LabContainer):
    """mailserver.private.lan: Debian's sendmail, leaving the LAN through the router."""

    def __init__(self, image: str, **lab) -> None:
        super().__init__(image, role=ROLES["mailserver"], **lab)

    def with_gateway(self, gateway: str) -> MailserverContainer:
        self.with_env("LAB_GATEWAY", gateway)
        return self.with_docker_options(dns=[gateway])


class ProviderContainer(LabContainer):
    """relayhost.somedom.com, or a LAN sink: the recording SMTP server."""

    def __init__(self, image: str, *, role: str = "relayhost", **lab) -> None:
        super().__init__(image, role=ROLES[role], **lab)


class RouterContainer(LabContainer):
    """The home router + ISP: NAT, the port-25 block and DNS, on both networks."""

    def __init__(self, image: str, **lab) -> None:
        super().__init__(image, role=ROLES["router"], **lab)
        self._second: tuple[LabNetworkRef, tuple[str, ...]] | None = None
        self.with_docker_options(sysctls={"net.ipv4.ip_forward": "1"})

    def with_subnets(self, lan: LabNetworkRef, internet: LabNetworkRef) -> RouterContainer:
        self.with_env("LAN_SUBNET", lan.subnet)
        self.with_env("INTERNET_SUBNET", internet.subnet)
        return self

    def with_dns(self, hosts: dict[str, str], mx_records: dict[str, str]) -> RouterContainer:
        """The names the router's DNS answers: name -> address, domain -> mail exchanger."""
        self.with_env("HOST_RECORDS", " ".join(f"{n}={a}" for n, a in hosts.items()))
        self.with_env("MX_RECORDS", " ".join(f"{d}={h}" for d, h in mx_records.items()))
        return self

    def with_second_network(self, network: LabNetworkRef, *aliases: str) -> RouterContainer:
        self._second = (network, aliases)
        return self

    def start(self) -> RouterContainer:
        """Start on the LAN, join the Internet side, then wait for the ready line."""
        wait, self._wait_strategy = self._wait_strategy, None
        super().start()
        if self._second:
            network, aliases = self._second
            client = self.get_docker_client().client
            client.networks.get(network.name).connect(
                self._container.id, aliases=list(aliases),
                ipv4_address=network.address(self.role.host))
        self._wait_strategy = wait
        if wait is not None:
            wait.wait_until_ready(self)
        return self
