"""What the checks read from a live lab, each probe run at most once per check.

    live = Live(lab)
    live.mailer_lines["relay"]          # =M in sendmail -bt
    live.lookup("authinfo", "AuthInfo:relayhost.somedom.com")
    live.queue                          # mailq as rows

A ``Live`` lives for one ``ex.check(lab)``: several requirements asking the same
question cost one ``sendmail -bt``, one ``mailq``, one provider query.
"""
from __future__ import annotations

import re
from functools import cached_property

from labenv import configure, mail, testmode
from labenv.sendmail.mc import SendmailMc
from labenv.sendmail.paths import CF

ROLE = "mailserver"


class Live:
    """One lab as the checks see it; every answer is cached for the life of the object."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self._lookups: dict[tuple[str, str], dict] = {}
        self._tries: dict[tuple[str, str, str | None], dict] = {}

    # -- sendmail's configuration
    @cached_property
    def mc(self) -> SendmailMc:
        return configure.read_mc(self.lab)

    @cached_property
    def cf(self) -> str:
        return self.lab.read_file(ROLE, CF)

    def cf_option(self, name: str) -> str | None:
        """The value of ``O name=...`` in sendmail.cf; None if it is not set."""
        match = re.search(rf"^O {re.escape(name)}=(.*)$", self.cf, re.MULTILINE)
        return match.group(1).strip() if match else None

    @cached_property
    def auth_permission_problems(self) -> list[str]:
        return configure.auth_permission_problems(self.lab)

    # -- sendmail -bt
    @cached_property
    def mailer_lines(self) -> dict[str, str]:
        return testmode.mailer_lines(self.lab)

    def lookup(self, map_name: str, key: str) -> dict:
        """``/map MAP KEY``: found, value, error."""
        if (map_name, key) not in self._lookups:
            self._lookups[map_name, key] = testmode.lookup(self.lab, map_name, key)
        return self._lookups[map_name, key]

    def try_mailer(self, mailer: str, address: str, flags: str | None = None) -> dict:
        """``/tryflags FLAGS`` then ``/try MAILER ADDRESS``: what the address is rewritten to."""
        if (mailer, address, flags) not in self._tries:
            self._tries[mailer, address, flags] = testmode.try_mailer(self.lab, mailer, address,
                                                                      flags=flags)
        return self._tries[mailer, address, flags]

    def routes(self, addresses: list[str]) -> dict[str, dict]:
        """``/parse`` of every address: mailer, host, user, key, keyed by address."""
        frame = testmode.route_table(self.lab, addresses)
        return {row["address"]: row for row in frame.to_dict("records")}

    # -- mail
    @cached_property
    def queue(self) -> list[dict]:
        """Messages waiting on the mailserver (MSP and MTA queues)."""
        return mail.queue(self.lab)

    @cached_property
    def local_ehlo(self) -> str:
        """The mailserver's own daemon (127.0.0.1:25) answering EHLO, as swaks shows it."""
        return self.lab.exec(ROLE, ["swaks", "--server", "127.0.0.1", "--quit-after", "EHLO"],
                             timeout=30).output

    @cached_property
    def provider_messages(self) -> list[dict]:
        return self.lab.provider.messages()

    @cached_property
    def provider_sessions(self) -> list[dict]:
        return self.lab.provider.sessions()
