"""The requirements' tests: each reads a ``Live`` lab and returns problems, one line each ([] = met).

They read the lab, never the notebook: ``sendmail -bt`` (``=M``, ``/map``,
``/parse``, ``/try``), ``mailq``, file modes, and the provider's own record of
what it received. So a learner may solve a task any way they like.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from labenv.sendmail.howto import MASQUERADE_DOMAIN, PROVIDER
from labenv.sendmail.maps import field_of

from .probes import Live

Check = Callable[[Live], list[str]]

PROVIDER_KEY = f"AuthInfo:{PROVIDER}"
INTERNET_RCPT = "bob@example.com"
SENDER = "root@mailserver.private.lan"
OFFERED_MECHANISMS = {"PLAIN", "LOGIN"}      # what the provider offers

HOWTO_ROUTES = {
    INTERNET_RCPT: ("relay", f"[{PROVIDER}]"),
    "x@hosta.private.lan": ("esmtp", "[hosta.private.lan]"),
    "x@box.darknet.lan": ("esmtp", "[mailhost.private.lan]"),
}


# -- the relay mailer and sendmail.mc

def relay_on_587(live: Live) -> list[str]:
    line = live.mailer_lines["relay"]
    if line.endswith("A=TCP $h 587"):
        return []
    return [f"=M shows `{line.split(': ', 1)[-1].split(' A=')[-1]}` as the relay mailer's "
            "arguments: it still connects to port 25 (set RELAY_MAILER_ARGS)"]


def mc_without_ignored_knobs(live: Live) -> list[str]:
    return [problem.split(";")[0] + " (sendmail does not see it there)"
            for problem in live.mc.problems()]


# -- the queue

def queue_has_block(live: Live) -> list[str]:
    waiting = [m for m in live.queue
               if any(not r.rstrip(">").endswith(".lan") for r in m["recipients"])]
    if not waiting:
        return [f"no message for an Internet address waits in the mailserver's queue "
                f"(send one, e.g. to {INTERNET_RCPT})"]
    if not any("connection refused" in (m["reason"] or "").lower() for m in waiting):
        reasons = sorted({m["reason"] or "no reason yet" for m in waiting})
        return [f"the queued message's reason is not the port-25 block: {'; '.join(reasons)}"]
    return []


def queue_empty(live: Live) -> list[str]:
    if not live.queue:
        return []
    reasons = sorted({m["reason"] or "not tried yet" for m in live.queue})
    return [f"{len(live.queue)} message(s) still wait in the mailserver's queue "
            f"({'; '.join(reasons)})"]


# -- authinfo

def authinfo_map_defined(live: Live) -> list[str]:
    if live.lookup("authinfo", PROVIDER_KEY)["error"]:
        return ["sendmail.cf has no authinfo map: FEATURE(`authinfo',...) is missing "
                "from sendmail.mc (or make was not run)"]
    return []


def authinfo_entry(live: Live) -> list[str]:
    row = live.lookup("authinfo", PROVIDER_KEY)
    if row["error"]:
        return ["no authinfo map to look in"]
    if not row["found"]:
        return [f"/map authinfo {PROVIDER_KEY} finds nothing: no entry for the provider's "
                "name in /etc/mail/auth/client-info (or makemap was not run)"]
    if not field_of(row["value"], "I") or not field_of(row["value"], "P"):
        return [f"the {PROVIDER_KEY} entry lacks an I: (user) or P: (password) field"]
    return []


def authinfo_mechanisms(live: Live) -> list[str]:
    row = live.lookup("authinfo", PROVIDER_KEY)
    mechs = field_of(row.get("value"), "M") if row["found"] else None
    if mechs and OFFERED_MECHANISMS & set(mechs.upper().split()):
        return []
    option = live.cf_option("AuthMechanisms")
    if option and OFFERED_MECHANISMS & set(option.upper().split()):
        return []
    if mechs:
        return [f"the entry's M: names {mechs!r}; the provider offers only PLAIN and LOGIN"]
    return ["neither the AuthInfo entry (\"M:...\") nor confAUTH_MECHANISMS lets sendmail use "
            "PLAIN or LOGIN, the only mechanisms the provider offers"]


def authinfo_private(live: Live) -> list[str]:
    return live.auth_permission_problems


# -- STARTTLS

def starttls_included(live: Live) -> list[str]:
    problems = []
    if not live.mc.config().starttls:
        problems.append("sendmail.mc does not include /etc/mail/tls/starttls.m4")
    if not live.cf_option("ClientCertFile"):
        problems.append("sendmail.cf sets no ClientCertFile (starttls.m4 not built in: run make)")
    return problems


def local_daemon_offers_starttls(live: Live) -> list[str]:
    if re.search(r"^<-\s+250[- ]STARTTLS", live.local_ehlo, re.MULTILINE):
        return []
    return ["the mailserver's own daemon (127.0.0.1:25) does not offer STARTTLS "
            "(no server certificate configured)"]


# -- routing and masquerading

def mailertable_feature(live: Live) -> list[str]:
    if live.lookup("mailertable", ".")["error"]:
        return ["sendmail.cf has no mailertable: FEATURE(`mailertable') is missing from "
                "sendmail.mc (or make was not run)"]
    return []


def routes_like(expected: dict[str, tuple[str, str | None]]) -> Check:
    """A test that every address of ``expected`` routes to its (mailer, host)."""
    def test(live: Live) -> list[str]:
        got = live.routes(list(expected))
        problems = []
        for address, (mailer, host) in expected.items():
            row = got[address]
            if (row["mailer"], row["host"]) != (mailer, host):
                where = f"{row['mailer']}" + (f":{row['host']}" if row["host"] else "")
                problems.append(f"{address} goes to {where}, not {mailer}:{host}")
        return problems
    return test


def masquerades(flags: str, what: str) -> Check:
    """A test that the relay mailer rewrites the sender (``HS`` header, ``ES`` envelope)."""
    def test(live: Live) -> list[str]:
        result = live.try_mailer("relay", SENDER, flags)["result"]
        if result and result.lower().endswith("@" + MASQUERADE_DOMAIN):
            return []
        return [f"the {what} sender {SENDER} leaves as {result} (not @{MASQUERADE_DOMAIN})"]
    return test


# -- what the provider received

def provider_got_authenticated(live: Live) -> list[str]:
    if any(m.get("authenticated_as") for m in live.provider_messages):
        return []
    if live.provider_messages:
        return ["the provider received mail, but none of it after SMTP AUTH"]
    return ["the provider has received no message yet"]


def provider_got_tls(live: Live) -> list[str]:
    sessions = [s for s in live.provider_sessions if s["port"] == 587 and s["messages"]]
    if not sessions:
        return ["no message has reached the provider's Submission port 587 yet"]
    if not sessions[-1]["tls"]:
        return ["the last message reached the provider without STARTTLS"]
    return []


def provider_end_to_end(live: Live) -> list[str]:
    good = [m for m in live.provider_messages
            if m.get("port") == 587 and m.get("tls") and m.get("authenticated_as")]
    if not good:
        return ["no message reached the provider on 587 over TLS with SMTP AUTH"]
    if not any((m.get("mail_from") or "").lower().endswith("@" + MASQUERADE_DOMAIN) for m in good):
        senders = sorted({m.get("mail_from") or "<>" for m in good})
        return [f"the provider saw envelope sender(s) {', '.join(senders)}, not @{MASQUERADE_DOMAIN}"]
    return []
