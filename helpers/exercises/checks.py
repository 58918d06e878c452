"""The requirements' tests: each reads a ``Live`` lab and returns problems, one line each ([] = met).

They read the lab, never the notebook: ``sendmail -bt`` (``=M``, ``/map``,
``/parse``, ``/try``), ``mailq``, file modes, and the provider's own record of
what it received. So a learner may solve a task any way they like.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import parseaddr

from labenv import mail
from labenv.sendmail.howto import MASQUERADE_DOMAIN, PROVIDER
from labenv.sendmail.maps import field_of

from .probes import Live

Check = Callable[[Live], list[str]]

PROVIDER_KEY = f"AuthInfo:{PROVIDER}"
ROLE = "mailserver"
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

#: The message 01's exercise starts with: it waits behind the ISP's port-25 block.
BLOCKED_SUBJECT = "nightly report"


def isp_blocks_port_25(lab) -> bool:
    """The router's ISP filter is on (``isp-block status`` on the router)."""
    return lab.exec("router", ["isp-block", "status"]).check().stdout.strip() == "port 25 blocked"


def blocked_report_arrived(live: Live) -> list[str]:
    if any(m.get("headers", {}).get("Subject") == BLOCKED_SUBJECT and INTERNET_RCPT in m.get("rcpt_tos", [])
           for m in live.provider_messages):
        return []
    return [f"mx.example.com has not received the {BLOCKED_SUBJECT!r} for {INTERNET_RCPT} "
            "(the provider's record has no such message)"]


def lab_as_it_was(live: Live) -> list[str]:
    problems = []
    if not isp_blocks_port_25(live.lab):
        problems.append("the ISP's filter is still off: the lab is meant to block port 25 "
                        "(isp-block on, on the router)")
    return problems + queue_empty(live)


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


def authinfo_usable(live: Live) -> list[str]:
    """03: the provider's entry is in the map, lets sendmail use PLAIN or LOGIN, and stays private."""
    return (authinfo_map_defined(live) or authinfo_entry(live) or authinfo_mechanisms(live)) \
        + authinfo_private(live)


def auth_deferred_message_delivered(live: Live) -> list[str]:
    """03: a message deferred with a temporary AUTH failure was delivered later (same queue id)."""
    rows = mail.deliveries(live.lab)
    deferred = {r["queue_id"] for r in rows
                if (r.get("stat") or "").startswith("Deferred") and "AUTH" in r["stat"]}
    if not deferred:
        return ["mail.log shows no message deferred with Temporary AUTH failure (the exercise "
                "starts with one waiting in the queue)"]
    if deferred & {r["queue_id"] for r in rows if (r.get("stat") or "").startswith("Sent")}:
        return []
    return ["the message deferred with Temporary AUTH failure has not been delivered yet "
            "(mail.log has no Sent for its queue id)"]


# -- STARTTLS

def starttls_included(live: Live) -> list[str]:
    problems = []
    if not live.mc.config().starttls:
        problems.append("sendmail.mc does not include /etc/mail/tls/starttls.m4")
    if not live.cf_option("ClientCertFile"):
        problems.append("sendmail.cf sets no ClientCertFile (starttls.m4 not built in: run make)")
    return problems


#: 04: ruleset tls_server asked about a session with the provider that has no STARTTLS
#: (${verify} NONE), the provider's name and address set as in a real delivery.
_TLS_SERVER_WITHOUT_TLS = (
    f"a=$(getent hosts {PROVIDER} | cut -d' ' -f1); "
    f"printf '.D{{server_name}}{PROVIDER}\\n.D{{server_addr}}%s\\ntls_server NONE\\n' \"$a\" "
    "| sendmail -bt")


def tls_required_for_provider(live: Live) -> list[str]:
    """04: sendmail's tls_server ruleset refuses a session with the provider without encryption."""
    out = live.lab.exec(ROLE, ["sh", "-c", _TLS_SERVER_WITHOUT_TLS], timeout=60).output
    found = re.search(r"^tls_server\s+returns:\s*(.*)$", out, re.MULTILINE)
    if found is None:
        raise RuntimeError("sendmail -bt gave no answer for ruleset tls_server")
    if "$# error" in found.group(1):
        return []
    return [f"sendmail would go on with {PROVIDER} without STARTTLS: ruleset tls_server returns "
            f"{found.group(1).strip()} for a session without encryption"]


def held_message_arrived_encrypted(live: Live) -> list[str]:
    """04: a message deferred for want of encryption was delivered later, over TLS; the queue is empty."""
    rows = mail.deliveries(live.lab)
    held = {r["queue_id"] for r in rows if "encryption too weak" in (r.get("stat") or "")}
    if not held:
        return ["mail.log shows no message held back for want of encryption yet (send one while "
                "STARTTLS is stripped)"]
    sent = [r["stat"] for r in rows if r["queue_id"] in held and (r.get("stat") or "").startswith("Sent")]
    if not sent:
        return ["the message held back has not been delivered yet (it can go once STARTTLS is back "
                "and the queue runs)"] + queue_empty(live)
    ids = {m.group(1) for stat in sent if (m := re.search(r"queued as (\S+?)\)?$", stat))}
    arrived = [m for m in live.provider_messages if m["queue_id"] in ids]
    if not arrived:
        return ["the provider's record has no trace of the held message (was it cleared?)"]
    if not any(m.get("tls") for m in arrived):
        return ["the provider's record shows the held message arriving without TLS"]
    return queue_empty(live)


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


def provider_got_masqueraded(live: Live) -> list[str]:
    """The provider recorded a message whose envelope and header sender are both @somedom.com."""
    def ours(address: str | None) -> bool:
        return (address or "").lower().endswith("@" + MASQUERADE_DOMAIN)

    messages = live.provider_messages
    if any(ours(m.get("mail_from")) and ours(parseaddr(m["headers"].get("From", ""))[1])
           for m in messages):
        return []
    if not messages:
        return ["the provider has received no message yet"]
    last = messages[-1]
    return [f"the provider's newest message has envelope sender {last.get('mail_from') or '<>'} "
            f"and header From: {last['headers'].get('From') or '(none)'}; none has both "
            f"@{MASQUERADE_DOMAIN} (send one after the change)"]


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


# -- mail that flows again (08 and the capstone 09)

#: The message 08's exercise starts with: it waits in the queue until both faults are fixed.
STUCK_SUBJECT = "waiting for the fix"


def _for_the_internet(row: dict) -> bool:
    to = (row.get("to") or "").lower()
    return row.get("mailer") != "local" and "@" in to and not to.rstrip(">").endswith(".lan")


def daemon_delivers(live: Live) -> list[str]:
    """The daemon's own last attempt for an Internet address (``sm-mta`` in mail.log) was delivered.

    A queue run started by hand (``sendmail -q``, logged as ``sendmail``) reads sendmail.cf
    afresh, so it can succeed while the daemon still fails; only the daemon shows that new
    mail goes out by itself.
    """
    tried = [row for row in mail.deliveries(live.lab) if row["program"] == "sm-mta" and _for_the_internet(row)]
    if not tried:
        return ["the daemon has not tried to deliver a message for the Internet yet"]
    stat = tried[-1].get("stat") or "no status"
    if stat.startswith("Sent"):
        return []
    return [f"the daemon's own last attempt for the Internet ended: {stat}; once the cause is "
            "fixed, send a new message"]


def stuck_message_arrived(live: Live) -> list[str]:
    if any(m["headers"].get("Subject") == STUCK_SUBJECT and m.get("authenticated_as")
           for m in live.provider_messages):
        return []
    return [f"the provider has not received the waiting message {STUCK_SUBJECT!r} after SMTP AUTH"]


def mail_flows(live: Live) -> list[str]:
    """What root sends reaches the provider properly and at once, and nothing is left waiting."""
    return provider_end_to_end(live) + daemon_delivers(live) + queue_empty(live)
