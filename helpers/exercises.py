"""Checked exercises: a task, checks that inspect the LIVE lab, hints, a solution.

Usage in a notebook::

    from helpers.exercises import exercise
    ex = exercise("02", "relay-port")
    ex.task()            # what to do (Markdown)
    ex.check(lab)        # prints one ✔/✘ line per requirement; truthy when done
    ex.hint()            # the next hint, one per call
    ex.solution()        # the worked solution
    ex.solve(lab)        # applies the solution to the lab (so the next step works)
    ex.problems(lab)     # the same checks, as a list of one-line problems ([] = done)

From a shell (instructors): ``python -m labenv check 02 --lab NAME`` (exit 0 all
done, 1 not yet, 2 usage).

The checks read the lab, never the notebook: ``sendmail -bt`` (``=M``, ``/map``,
``/parse``, ``/try``), ``mailq``, file modes, and the provider's own record of
what it received. So a learner may solve a task any way they like.

Exercise ids (notebook, id)::

    01 find-the-block   a message to the Internet waits, deferred by the port-25 block
    02 relay-port       the relay mailer connects to port 587
    03 authinfo         SMTP AUTH credentials in place; a queued message delivered
    04 starttls         starttls.m4 included; mail reaches the provider over TLS
    05 mailertable      the howto's routing: LAN hosts direct, the rest via the provider
    06 masquerade       header and envelope sender rewritten to somedom.com
    07 end-to-end       the whole howto: masqueraded, authenticated, encrypted delivery
    08 fix-the-queue    a queue stuck on "Temporary AUTH failure" repaired and flushed

``exercise("08", "fix-the-queue").setup(lab)`` puts a lab into the exercise's
broken starting state (exercises without a special start do nothing there).
"""
from __future__ import annotations

import base64
import binascii
import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from labenv.sendmail.parsers import mailq as mailq_parser

PROVIDER = "relayhost.somedom.com"
PROVIDER_KEY = f"AuthInfo:{PROVIDER}"
INTERNET_RCPT = "bob@example.com"
MASQUERADE_DOMAIN = "somedom.com"
OK, NOT_OK = "✔", "✘"


# ------------------------------------------------------------------ live probes

class Live:
    """What the checks read from one lab, each probe run at most once per check."""

    def __init__(self, lab) -> None:
        self.lab = lab

    def bt(self, commands: list[str]) -> list[dict]:
        from helpers.bt import run_bt

        return run_bt(self.lab, commands)

    @cached_property
    def mailer_lines(self) -> dict[str, str]:
        from helpers.bt import mailer_lines

        return mailer_lines(self.lab)

    @cached_property
    def mc(self):
        from helpers.apply import read_mc
        from labenv.sendmail.mc import SendmailMc

        return SendmailMc.parse(read_mc(self.lab))

    @cached_property
    def cf(self) -> str:
        return self.lab.exec("mailserver", ["cat", "/etc/mail/sendmail.cf"]).check().stdout

    def cf_option(self, name: str) -> str | None:
        match = re.search(rf"^O {re.escape(name)}=(.*)$", self.cf, re.MULTILINE)
        return match.group(1).strip() if match else None

    @cached_property
    def queue(self) -> list[dict]:
        """Messages waiting on the mailserver (MSP and MTA queues)."""
        return mailq_parser.parse(self.lab.exec("mailserver", ["mailq"]).stdout)

    @cached_property
    def provider_messages(self) -> list[dict]:
        return self.lab.provider.messages()

    @cached_property
    def provider_sessions(self) -> list[dict]:
        return self.lab.provider.sessions()

    def map(self, name: str, key: str) -> dict:
        return self.bt([f"/map {name} {key}"])[0]

    def routes(self, addresses: list[str]) -> dict[str, dict]:
        from helpers.bt import route_table

        return {row["address"]: row for row in route_table(self.lab, addresses).to_dict("records")}


def _authinfo_field(value: str, name: str) -> str | None:
    """Field ``name`` of an authinfo map value (``"M:PLAIN LOGIN"`` or base64 ``"M=..."``)."""
    match = re.search(rf'"{name}([:=])([^"]*)"', value or "")
    if not match:
        return None
    if match.group(1) == ":":
        return match.group(2)
    try:
        return base64.b64decode(match.group(2), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return None


# ------------------------------------------------------------------ requirements

Check = Callable[[Live], list[str]]


@dataclass(frozen=True)
class Requirement:
    """One thing the lab must show; ``test`` returns problems (empty = met)."""

    label: str
    test: Check


def relay_on_587(live: Live) -> list[str]:
    line = live.mailer_lines["relay"]
    if line.endswith("A=TCP $h 587"):
        return []
    return [f"=M shows `{line.split(': ', 1)[-1].split(' A=')[-1]}` as the relay mailer's "
            "arguments: it still connects to port 25 (set RELAY_MAILER_ARGS)"]


def mc_without_ignored_knobs(live: Live) -> list[str]:
    return [problem.split(";")[0] + " (sendmail does not see it there)"
            for problem in live.mc.problems()]


def queue_has_block(live: Live) -> list[str]:
    waiting = [m for m in live.queue if any(not r.rstrip(">").endswith(".lan") for r in m["recipients"])]
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


def authinfo_map_defined(live: Live) -> list[str]:
    if live.map("authinfo", PROVIDER_KEY)["error"]:
        return ["sendmail.cf has no authinfo map: FEATURE(`authinfo',...) is missing "
                "from sendmail.mc (or make was not run)"]
    return []


def authinfo_entry(live: Live) -> list[str]:
    row = live.map("authinfo", PROVIDER_KEY)
    if row["error"]:
        return ["no authinfo map to look in"]
    if not row["found"]:
        return [f"/map authinfo {PROVIDER_KEY} finds nothing: no entry for the provider's "
                "name in /etc/mail/auth/client-info (or makemap was not run)"]
    problems = []
    if not _authinfo_field(row["value"], "I") or not _authinfo_field(row["value"], "P"):
        problems.append(f"the {PROVIDER_KEY} entry lacks an I: (user) or P: (password) field")
    return problems


def authinfo_mechanisms(live: Live) -> list[str]:
    row = live.map("authinfo", PROVIDER_KEY)
    offered = {"PLAIN", "LOGIN"}
    mechs = _authinfo_field(row.get("value") or "", "M") if row["found"] else None
    if mechs and offered & set(mechs.upper().split()):
        return []
    option = live.cf_option("AuthMechanisms")
    if option and offered & set(option.upper().split()):
        return []
    if mechs:
        return [f"the entry's M: names {mechs!r}; the provider offers only PLAIN and LOGIN"]
    return ["neither the AuthInfo entry (\"M:...\") nor confAUTH_MECHANISMS lets sendmail use "
            "PLAIN or LOGIN, the only mechanisms the provider offers"]


def authinfo_private(live: Live) -> list[str]:
    from helpers.maps import check_auth_permissions

    return check_auth_permissions(live.lab)


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


def starttls_included(live: Live) -> list[str]:
    problems = []
    if not live.mc.config().starttls:
        problems.append("sendmail.mc does not include /etc/mail/tls/starttls.m4")
    if not live.cf_option("ClientCertFile"):
        problems.append("sendmail.cf sets no ClientCertFile (starttls.m4 not built in: run make)")
    return problems


def local_daemon_offers_starttls(live: Live) -> list[str]:
    out = live.lab.exec("mailserver", ["swaks", "--server", "127.0.0.1", "--quit-after", "EHLO"],
                        timeout=30).output
    if re.search(r"^<-\s+250[- ]STARTTLS", out, re.MULTILINE):
        return []
    return ["the mailserver's own daemon (127.0.0.1:25) does not offer STARTTLS "
            "(no server certificate configured)"]


def mailertable_feature(live: Live) -> list[str]:
    if live.map("mailertable", ".")["error"]:
        return ["sendmail.cf has no mailertable: FEATURE(`mailertable') is missing from "
                "sendmail.mc (or make was not run)"]
    return []


def routes_like(expected: dict[str, tuple[str, str | None]]) -> Check:
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
    def test(live: Live) -> list[str]:
        rows = live.bt([f"/tryflags {flags}", "/try relay root@mailserver.private.lan"])
        result = rows[-1]["result"]
        if result and result.lower().endswith("@" + MASQUERADE_DOMAIN):
            return []
        return [f"the {what} sender root@mailserver.private.lan leaves as {result} "
                f"(not @{MASQUERADE_DOMAIN})"]
    return test


def provider_end_to_end(live: Live) -> list[str]:
    good = [m for m in live.provider_messages
            if m.get("port") == 587 and m.get("tls") and m.get("authenticated_as")]
    if not good:
        return ["no message reached the provider on 587 over TLS with SMTP AUTH"]
    if not any((m.get("mail_from") or "").lower().endswith("@" + MASQUERADE_DOMAIN) for m in good):
        senders = sorted({m.get("mail_from") or "<>" for m in good})
        return [f"the provider saw envelope sender(s) {', '.join(senders)}, not @{MASQUERADE_DOMAIN}"]
    return []


HOWTO_ROUTES = {
    INTERNET_RCPT: ("relay", f"[{PROVIDER}]"),
    "x@hosta.private.lan": ("esmtp", "[hosta.private.lan]"),
    "x@box.darknet.lan": ("esmtp", "[mailhost.private.lan]"),
}


# ------------------------------------------------------------------ solving steps

def _configure(lab, **knobs) -> None:
    """Set sendmail.mc knobs (keeping the others) and apply, if anything changes."""
    from helpers.apply import apply_mc, read_mc
    from labenv.sendmail.mc import SendmailMc

    mc = SendmailMc.parse(read_mc(lab))
    new = mc.with_config(mc.config().replace(**knobs))
    if new.text != mc.text:
        apply_mc(lab, new.text)


def _route_to_provider(lab) -> None:
    """Make Internet mail go to the provider: the howto's mailertable, else a smart host."""
    from helpers.apply import read_mc
    from helpers.maps import install_mailertable, parse_mailertable
    from labenv.sendmail.mc import SendmailMc
    from labenv.howto import MAILERTABLE_TEXT

    if SendmailMc.parse(read_mc(lab)).config().mailertable:
        install_mailertable(lab, parse_mailertable(MAILERTABLE_TEXT))
    else:
        _configure(lab, smart_host=f"[{PROVIDER}]")


def _install_credentials(lab) -> None:
    from helpers.maps import AuthInfo, install_authinfo
    from labenv.howto import PASSWORD, USER

    install_authinfo(lab, [AuthInfo(PROVIDER, I=USER, P=PASSWORD, M="PLAIN LOGIN")])


def send_test_message(lab, to: str = INTERNET_RCPT, subject: str = "lab exercise") -> None:
    """Submit a message on the mailserver as root (like `mail`/`sendmail -t`)."""
    message = f"From: root\nTo: {to}\nSubject: {subject}\n\nSent by the lab's exercises.\n"
    lab.exec("mailserver", ["sendmail", "-i", "-f", "root", "--", to], stdin=message,
             timeout=60).check()


def _wait(probe, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    if not value:
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
    return value


def _deliver_and_wait(lab, predicate=lambda m: m.get("authenticated_as")) -> None:
    """Run the queue; if the provider still has no fitting message, send one and wait for it."""
    def arrived() -> bool:
        return any(predicate(m) for m in lab.provider.messages())

    queued = bool(mailq_parser.parse(lab.exec("mailserver", ["mailq"]).stdout))
    lab.exec("mailserver", ["sendmail", "-q"], timeout=90)
    if queued and not arrived():
        # the provider writes its record when the session ends, just after sendmail's QUIT
        deadline = time.monotonic() + 10
        while not arrived() and time.monotonic() < deadline:
            time.sleep(0.3)
    if not arrived():
        send_test_message(lab)
        _wait(lambda: any(predicate(m) for m in lab.provider.messages()), 45,
              "the provider to receive the message")
    _wait(lambda: not mailq_parser.parse(lab.exec("mailserver", ["mailq"]).stdout), 30,
          "the mailserver's queue to empty")


def solve_find_the_block(lab) -> None:
    send_test_message(lab, subject="stuck behind the port-25 block")
    _wait(lambda: not queue_has_block(Live(lab)), 30, "the message to be deferred")


def solve_relay_port(lab) -> None:
    _configure(lab, relay_port=587)


def solve_authinfo(lab) -> None:
    _install_credentials(lab)
    _configure(lab, relay_port=587, authinfo=True)
    _route_to_provider(lab)
    _deliver_and_wait(lab)


def solve_starttls(lab) -> None:
    _install_credentials(lab)
    _configure(lab, relay_port=587, authinfo=True, starttls=True)
    _route_to_provider(lab)
    _deliver_and_wait(lab, lambda m: m.get("tls") and m.get("port") == 587)


def solve_mailertable(lab) -> None:
    from helpers.maps import install_mailertable, parse_mailertable
    from labenv.howto import MAILERTABLE_TEXT

    install_mailertable(lab, parse_mailertable(MAILERTABLE_TEXT))
    _configure(lab, relay_port=587, mailertable=True, smart_host=None)


def solve_masquerade(lab) -> None:
    _configure(lab, masquerade_as=MASQUERADE_DOMAIN, masquerade_envelope=True)


def solve_end_to_end(lab) -> None:
    from labenv import howto

    howto.apply(lab, "fixed")
    _deliver_and_wait(lab, lambda m: m.get("authenticated_as") and m.get("tls") and
                      (m.get("mail_from") or "").endswith("@" + MASQUERADE_DOMAIN))


def setup_fix_the_queue(lab) -> None:
    """The howto word for word (no M:, U:root): a message deferred with a temporary AUTH failure."""
    from labenv import howto

    howto.apply(lab, "literal")
    send_test_message(lab, subject="waiting for a working AuthInfo")
    _wait(lambda: any("AUTH" in (m["reason"] or "") for m in Live(lab).queue), 30,
          "the message to be deferred")


def solve_fix_the_queue(lab) -> None:
    _install_credentials(lab)
    _configure(lab, relay_port=587, authinfo=True)
    _route_to_provider(lab)
    _deliver_and_wait(lab)


# ------------------------------------------------------------------ the exercise object

class CheckResult:
    """What :meth:`Exercise.check` found: truthy when done; ``.problems`` lists the rest.

    It has already been printed, so a notebook shows nothing more for it.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)

    @property
    def done(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.done

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool):
            return self.done is other
        return isinstance(other, CheckResult) and other.problems == self.problems

    def __repr__(self) -> str:
        return repr(self.done)

    def _ipython_display_(self) -> None:  # printed by check() already
        return None


@dataclass
class Exercise:
    """A task checked against the live lab (see the module docstring)."""

    id: str
    notebook: str
    title: str
    task_md: str
    requirements: list[Requirement]
    hints: list[str]
    solution_md: str
    solver: Callable[[object], None]
    starter: Callable[[object], None] | None = None
    _hints_shown: int = field(default=0, repr=False)

    # -- checking
    def results(self, lab) -> list[tuple[Requirement, list[str]]]:
        live = Live(lab)
        out = []
        for requirement in self.requirements:
            try:
                problems = requirement.test(live)
            except Exception as error:  # a probe that fails is a problem to show, not a crash
                text = str(error).strip().splitlines()
                problems = [f"could not check: {text[0] if text else type(error).__name__}"]
            out.append((requirement, problems))
        return out

    def problems(self, lab) -> list[str]:
        """Everything still wrong in the lab, one line each; ``[]`` means done."""
        return [p for _, problems in self.results(lab) for p in problems]

    def report(self, lab, *, suggest_hint: bool = True) -> tuple[str, list[str]]:
        """The ✔/✘ text of a check and the problems found."""
        lines = [f"Exercise {self.notebook}/{self.id}: {self.title}"]
        problems = []
        for requirement, found in self.results(lab):
            lines.append(f"{NOT_OK if found else OK} {requirement.label}")
            lines += [f"    {p}" for p in found]
            problems += found
        lines.append("Done." if not problems else
                     f"Not done yet: {len(problems)} problem(s)."
                     + (" ex.hint() gives a hint." if suggest_hint else ""))
        return "\n".join(lines), problems

    def check(self, lab) -> CheckResult:
        """Print one ✔/✘ line per requirement; the result is truthy when all are met."""
        text, problems = self.report(lab)
        print(text)
        return CheckResult(problems)

    # -- showing
    def task(self):
        return _show(f"### Exercise {self.notebook}/{self.id}: {self.title}\n\n{self.task_md}\n\n"
                     "Check your work with `ex.check(lab)`; `ex.hint()` gives a hint.")

    def hint(self):
        if self._hints_shown >= len(self.hints):
            return _show(f"No more hints ({len(self.hints)} given). `ex.solution()` shows the solution.")
        self._hints_shown += 1
        return _show(f"**Hint {self._hints_shown} of {len(self.hints)}:** "
                     f"{self.hints[self._hints_shown - 1]}")

    def solution(self):
        return _show(f"**Solution ({self.notebook}/{self.id}):**\n\n{self.solution_md}")

    # -- acting on the lab
    def solve(self, lab) -> None:
        """Apply the solution to the lab (what `ex.solution()` describes)."""
        self.solver(lab)
        print(f"applied the solution of {self.notebook}/{self.id}")

    def setup(self, lab) -> None:
        """Put the lab into the exercise's starting state (most need nothing)."""
        if self.starter is not None:
            self.starter(lab)


class _Shown:
    """Markdown that renders in a notebook and prints as text elsewhere."""

    def __init__(self, markdown: str) -> None:
        self.markdown = markdown

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __repr__(self) -> str:
        return self.markdown


def _show(markdown: str) -> _Shown:
    return _Shown(markdown)


# ------------------------------------------------------------------ the exercises

_SEND_HINT = (f"Submit a message on the mailserver, e.g. "
              f"`sh(lab, \"mailserver\", \"echo hi | sendmail {INTERNET_RCPT}\")`, "
              "then look at `mailq`.")

EXERCISES: list[Exercise] = [
    Exercise(
        "find-the-block", "01", "Find the port-25 block",
        f"Send a message from the mailserver to `{INTERNET_RCPT}` (its mail exchanger "
        "`mx.example.com` is on the Internet side of the lab) and make it show *why* it "
        "cannot leave: it must wait in the mailserver's queue with the reason the ISP's "
        "filter causes.",
        [Requirement("a message for an Internet address waits in the queue, refused at port 25",
                     queue_has_block)],
        [_SEND_HINT,
         "Delivery happens in the background; give it a second, then `mailq` shows each "
         "waiting message with its reason in parentheses.",
         "The reason to expect is `Deferred: Connection refused by mx.example.com.`: the "
         "ISP rejects every outgoing connection to port 25."],
        "```python\nsh(lab, \"mailserver\", \"printf 'Subject: test\\\\n\\\\nhi\\\\n' | "
        f"sendmail {INTERNET_RCPT}\")\nsh(lab, \"mailserver\", \"mailq\")\n```\n\n"
        "`mailq` shows the message with `(Deferred: Connection refused by mx.example.com.)`.",
        solve_find_the_block),
    Exercise(
        "relay-port", "02", "The relay mailer on port 587",
        "Make sendmail's `relay` mailer connect to the provider's Submission port **587** "
        "instead of 25, with a line in `sendmail.mc` where sendmail honours it. Check with "
        "`=M` in `sendmail -bt`, not by reading sendmail.mc.",
        [Requirement("the relay mailer connects to port 587 (=M: A=TCP $h 587)", relay_on_587),
         Requirement("no relay knob in sendmail.mc sits where sendmail ignores it",
                     mc_without_ignored_knobs)],
        ["`define(`RELAY_MAILER',`esmtp')` changes nothing you can see in `=M`; look for the "
         "define that sets the relay mailer's *arguments*.",
         "`define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl` is the line. It must stand above "
         "`MAILER_DEFINITIONS`; after `MAILER(smtp)` it is silently ignored.",
         "`McEditor(lab).set(relay_port=587)` then `.apply()` writes it, runs make and reloads."],
        "```python\nfrom helpers.widgets import McEditor\neditor = McEditor(lab)\n"
        "editor.set(relay_port=587)\neditor.apply()\n```\n\n"
        "or add ``define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl`` above `MAILER_DEFINITIONS` "
        "in /etc/mail/sendmail.mc, then `make -C /etc/mail` and `/etc/init.d/sendmail reload`.",
        solve_relay_port),
    Exercise(
        "authinfo", "03", "SMTP AUTH with authinfo",
        "Give sendmail the provider's credentials (user `user_name`) so that mail to "
        f"`{INTERNET_RCPT}` is accepted by `{PROVIDER}`. Keep the credentials private, and "
        "make sure nothing is left in the queue: a message deferred earlier must be delivered, "
        "not lost.",
        [Requirement("sendmail.cf has the authinfo map", authinfo_map_defined),
         Requirement(f"the map has an entry {PROVIDER_KEY}", authinfo_entry),
         Requirement("sendmail may use PLAIN or LOGIN with it", authinfo_mechanisms),
         Requirement("/etc/mail/auth is private (700, no file readable by others)",
                     authinfo_private),
         Requirement("the provider received a message after SMTP AUTH",
                     provider_got_authenticated),
         Requirement("nothing waits in the mailserver's queue", queue_empty)],
        ["`/map authinfo AuthInfo:relayhost.somedom.com` in `sendmail -bt` shows what sendmail "
         "will use; \"Map named authinfo not found\" means the FEATURE is missing.",
         "The provider offers only PLAIN and LOGIN, which sendmail does not try by default: "
         "add `\"M:PLAIN LOGIN\"` to the AuthInfo line.",
         "After fixing, `sendmail -q -v` runs the queue and shows the dialogue."],
        "```python\nfrom helpers.maps import AuthInfo, install_authinfo\n"
        "from labenv.howto import PASSWORD\n"
        f"install_authinfo(lab, [AuthInfo(\"{PROVIDER}\", I=\"user_name\", P=PASSWORD, "
        "M=\"PLAIN LOGIN\")])\nfrom helpers.widgets import McEditor\neditor = McEditor(lab)\neditor.set(authinfo=True, relay_port=587, "
        f"smart_host=\"[{PROVIDER}]\")\neditor.apply()\n"
        "sh(lab, \"mailserver\", \"sendmail -q -v\")\n```\n\n"
        f"client-info holds `{PROVIDER_KEY} \"U:user_name\" \"I:user_name\" \"P:********\" "
        "\"M:PLAIN LOGIN\"` (the real password where the stars are), mode 600, in a directory "
        "of mode 700; `makemap hash` builds client-info.db.",
        solve_authinfo),
    Exercise(
        "starttls", "04", "STARTTLS",
        "Include the howto's `starttls.m4` in sendmail.mc, so sendmail has its certificates, "
        "and show that mail reaches the provider's port 587 encrypted and authenticated.",
        [Requirement("sendmail.mc includes starttls.m4 and sendmail.cf has its certificates",
                     starttls_included),
         Requirement("the mailserver's own port 25 offers STARTTLS", local_daemon_offers_starttls),
         Requirement("the last message at the provider's port 587 came over TLS",
                     provider_got_tls),
         Requirement("the provider received a message after SMTP AUTH",
                     provider_got_authenticated)],
        ["`McEditor(lab).set(starttls=True)` writes the include line.",
         "With the include built in, `swaks --server 127.0.0.1 --quit-after EHLO` lists "
         "`250-STARTTLS` on the mailserver itself.",
         "Send a message and read the provider's record: `lab.provider.messages()[-1]['tls']`."],
        "```python\neditor = McEditor(lab)\neditor.set(starttls=True, authinfo=True, relay_port=587)\n"
        "editor.apply()\n# then send a message and look at the provider's record\n```",
        solve_starttls),
    Exercise(
        "mailertable", "05", "Routing with mailertable",
        "Route mail the howto's way: LAN hosts directly (`hosta.private.lan` to itself, "
        "anything under `.darknet.lan` to `mailhost.private.lan`), everything else to the "
        "provider through the relay mailer on port 587.",
        [Requirement("sendmail.cf has FEATURE(`mailertable')", mailertable_feature),
         Requirement("the relay mailer connects to port 587", relay_on_587),
         Requirement("the test addresses route as the howto says", routes_like(HOWTO_ROUTES))],
        ["A mailertable key `.lan` matches every host below `lan`; `.` matches what is left.",
         "`esmtp:[%1.lan]` sends `hosta.private.lan` to `[hosta.private.lan]`: %1 is the part "
         "before the key.",
         "`relay:[relayhost.somedom.com]` for `.`; `esmtp:` there would mean port 25, blocked."],
        "```python\nfrom helpers.widgets import MailertableEditor\n"
        "mt = MailertableEditor(lab)\nmt.set_rows([(\".darknet.lan\", \"esmtp\", "
        "\"[mailhost.private.lan]\"), (\".lan\", \"esmtp\", \"[%1.lan]\"), "
        "(\".\", \"relay\", \"[relayhost.somedom.com]\")])\nmt.apply()\n```\n\n"
        "with ``FEATURE(`mailertable')`` and ``define(`RELAY_MAILER_ARGS',`TCP $h 587')`` in "
        "sendmail.mc.",
        solve_mailertable),
    Exercise(
        "masquerade", "06", "Masquerading",
        "Make mail from `root@mailserver.private.lan` leave as `root@somedom.com`, in the "
        "header *and* in the envelope (the provider checks the envelope sender).",
        [Requirement("the header sender is masqueraded", masquerades("HS", "header")),
         Requirement("the envelope sender is masqueraded", masquerades("ES", "envelope"))],
        ["`MASQUERADE_AS(`somedom.com')` alone rewrites headers only.",
         "``FEATURE(`masquerade_envelope')`` extends it to the envelope; test with "
         "`/tryflags ES` and `/try relay root@mailserver.private.lan`."],
        "```python\neditor = McEditor(lab)\neditor.set(masquerade_as=\"somedom.com\", "
        "masquerade_envelope=True)\neditor.apply()\n```",
        solve_masquerade),
    Exercise(
        "end-to-end", "07", "The whole howto, end to end",
        f"From a fresh lab, configure everything: a message from root to `{INTERNET_RCPT}` must "
        "reach the provider on port 587, over TLS, after SMTP AUTH, with the envelope sender "
        "masqueraded as somedom.com, and nothing may stay queued.",
        [Requirement("the relay mailer connects to port 587", relay_on_587),
         Requirement("Internet mail goes to the provider via relay",
                     routes_like({INTERNET_RCPT: ("relay", f"[{PROVIDER}]")})),
         Requirement("sendmail may use PLAIN or LOGIN with the provider's entry",
                     authinfo_mechanisms),
         Requirement("the envelope sender is masqueraded", masquerades("ES", "envelope")),
         Requirement("the provider received it: 587, TLS, AUTH, @somedom.com",
                     provider_end_to_end),
         Requirement("nothing waits in the mailserver's queue", queue_empty)],
        ["Work through notebooks 02 to 06 in order; each adds one piece.",
         "`labenv.howto.files('fixed', ...)` shows the complete set of files.",
         "A message deferred before the fix is delivered by `sendmail -q`."],
        "```python\nfrom labenv import howto\nhowto.apply(lab, \"fixed\")\n"
        f"sh(lab, \"mailserver\", \"echo hi | sendmail {INTERNET_RCPT}\")\n```",
        solve_end_to_end),
    Exercise(
        "fix-the-queue", "08", "Fix the stuck queue",
        "The mailserver runs the howto word for word, and a message waits with "
        "`Deferred: Temporary AUTH failure`. Find out why, fix the configuration, and get the "
        "waiting message delivered without sending it again.",
        [Requirement("sendmail may use PLAIN or LOGIN with the provider's entry",
                     authinfo_mechanisms),
         Requirement("the provider received a message after SMTP AUTH",
                     provider_got_authenticated),
         Requirement("nothing waits in the mailserver's queue", queue_empty)],
        ["`sendmail -q -v` shows the dialogue: which mechanisms does the provider offer?",
         "The AuthInfo line has no `M:`; sendmail's default list has no PLAIN or LOGIN.",
         "Rebuild client-info.db with `makemap hash`, then `sendmail -q`."],
        "```python\nfrom helpers.maps import AuthInfo, install_authinfo\n"
        "from labenv.howto import PASSWORD\n"
        f"install_authinfo(lab, [AuthInfo(\"{PROVIDER}\", I=\"user_name\", P=PASSWORD, "
        "M=\"PLAIN LOGIN\")])\nsh(lab, \"mailserver\", \"sendmail -q\")\n```",
        solve_fix_the_queue, setup_fix_the_queue),
]

_REGISTRY: dict[tuple[str, str], Exercise] = {(e.notebook, e.id): e for e in EXERCISES}


def notebook_number(notebook: object) -> str:
    """``"2"``, ``"02"``, ``2`` or ``"02-The-Relay-..."`` -> ``"02"``; LookupError otherwise."""
    text = str(notebook).strip()
    match = re.match(r"^(\d{1,2})(?:-.*)?$", text)
    if not match:
        raise LookupError(f"{text!r} is not a notebook number (like 02)")
    return f"{int(match.group(1)):02d}"


def exercises_for(notebook: object) -> list[Exercise]:
    """The exercises of one notebook, in order; LookupError if it has none."""
    number = notebook_number(notebook)
    found = [e for e in EXERCISES if e.notebook == number]
    if not found:
        have = ", ".join(sorted({e.notebook for e in EXERCISES}))
        raise LookupError(f"notebook {number} has no exercises (notebooks with exercises: {have})")
    return found


def exercise(notebook: object, id: str) -> Exercise:
    """The exercise ``id`` of ``notebook`` (e.g. ``exercise("02", "relay-port")``)."""
    number = notebook_number(notebook)
    try:
        return _REGISTRY[(number, id)]
    except KeyError:
        ids = ", ".join(e.id for e in exercises_for(number))
        raise LookupError(f"notebook {number} has no exercise {id!r} (it has: {ids})") from None
