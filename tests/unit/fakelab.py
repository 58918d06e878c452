"""A small stand-in for a lab, for widget and exercise logic without Docker.

It keeps the mailserver's files in a dict and answers the few commands the
helpers run: ``cat``, ``sendmail -bt`` (``=M``, ``$=w``, ``/map``), ``mailq``,
``stat``/``find`` on /etc/mail/auth, ``install -d``; ``apply_files`` refuses what
m4 would refuse (a FEATURE after MAILER()) and then changes nothing. With
``gone = True`` it is a lab that ``finish(lab)`` removed: every command raises the
LabError a real Lab raises then.
"""
from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

from docker.errors import NotFound

from labenv import engine
from labenv.errors import LabError, Refused
from labenv.lab import ExecResult, Lab
from labenv.sendmail.mc import SendmailMc
from labenv.sendmail.parsers import make

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MC = "/etc/mail/sendmail.mc"
MAILER_LINE = ("mailer {n} ({name}): P=[IPC] S=EnvFromSMTP/HdrFromSMTP R=EnvToSMTP/EnvToSMTP "
               "M=0 U=-1:-1 F=DFMXamu L=990 E=\\r\\n T=DNS/RFC822/SMTP r=100 A=TCP $h{port}")


class FakeProvider:
    def __init__(self, lab: FakeLab, role: str) -> None:
        self.lab, self.role = lab, role
        self.recorded: list[dict] = []

    def sessions(self) -> list[dict]:
        self.lab.check_there(self.role)
        return self.recorded

    def messages(self) -> list[dict]:
        self.lab.check_there(self.role)
        return [{**m, "port": s["port"], "peer": None, "session_auth": s["auth"]}
                for s in self.recorded for m in s["messages"]]


class FakeLab:
    name = "fake"

    def __init__(self) -> None:
        self.files = {MC: (FIXTURES / "sendmail.mc--default-bookworm").read_text(),
                      # what Debian's sendmail.cf says about client mechanisms
                      "/etc/mail/sendmail.cf":
                      "#O AuthMechanisms=EXTERNAL GSSAPI KERBEROS_V4 DIGEST-MD5 CRAM-MD5\n"}
        self.modes = {"/etc/mail": 0o2755}
        self.queue_text = "MTA Queue status...\n\t\t/var/spool/mqueue is empty\n\t\tTotal requests: 0\n"
        self.applied: list[dict] = []     # every apply_files call that succeeded
        self.commands: list[list[str]] = []
        self.provider = FakeProvider(self, "relayhost")
        self.fail_apply: str | None = None   # make this apply fail the way lab-apply reports it
        self.mailhost = FakeProvider(self, "mailhost")
        self.gone = False                    # True: removed, as after finish(lab)

    def check_there(self, role: str) -> None:
        """Raise what a real Lab raises for ``role`` once the lab is gone."""
        if self.gone:
            raise gone_error(self.name, role)

    # -- labenv.Lab's interface, as far as the helpers use it
    def exec(self, role, cmd, *, stdin=None, user=None, timeout=None, env=None) -> ExecResult:
        argv = ["sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        self.check_there(role)
        self.commands.append(argv)
        ok = lambda out="": ExecResult(argv, 0, out, "")          # noqa: E731
        fail = lambda err: ExecResult(argv, 1, "", err)          # noqa: E731
        if argv[0] == "cat":
            path = argv[-1]
            return ok(self.files[path]) if path in self.files else fail(f"cat: {path}: No such file")
        if argv[:2] == ["sendmail", "-bt"]:
            return ok(self._bt((stdin or "").splitlines()))
        if argv[0] == "mailq":
            return ok(self.queue_text)
        if argv[0] == "install" and "-d" in argv:
            self.modes[argv[-1]] = int(argv[argv.index("-m") + 1], 8)
            return ok()
        if argv[0] == "stat":
            path = argv[-1]
            return ok(f"{self.modes[path]:o}\n") if path in self.modes else fail("stat: no such file")
        if argv[0] == "find":
            root = argv[1]
            return ok("".join(f"{self.modes.get(p, 0o644):o} {p}\n" for p in self.files
                              if p.startswith(root + "/")))
        return fail(f"fake lab does not know {argv!r}")

    def read_file(self, role, path) -> str:
        return self.exec(role, ["cat", "--", path]).check().stdout

    def apply_files(self, files, *, modes=None, reload=True) -> str:
        self.check_there("mailserver")
        if self.fail_apply:
            raise _refused(self.fail_apply)
        mc = files.get(MC)
        if mc is not None:
            tail = mc.split("MAILER_DEFINITIONS", 1)[1]
            if "FEATURE(" in tail:
                raise _refused("lab-apply: m4 reported errors; /etc/mail restored\n"
                               "--- sendmail.cf.errors\n"
                               "*** ERROR: FEATURE() should be before MAILER()")
        self.files.update(files)
        for path in files:
            self.modes[path] = (modes or {}).get(path, 0o644)
            if path.endswith("client-info") or path.endswith("mailertable"):
                self.files[path + ".db"] = "(hash map)"
                self.modes[path + ".db"] = (modes or {}).get(path, 0o644)
        self.applied.append(dict(files))
        return "Updating sendmail.cf ...\n"

    # -- sendmail -bt, as far as the tests need it
    def _config(self):
        return SendmailMc.parse(self.files[MC]).config()

    def _bt(self, commands: list[str]) -> str:
        out = ["ADDRESS TEST MODE (ruleset 3 NOT automatically invoked)",
               "Enter <ruleset> <address>"]
        for command in commands:
            out.append("> " + self._bt_one(command))
        out.append("> ")
        return "\n".join(out) + "\n"

    def _bt_one(self, command: str) -> str:
        config = self._config()
        if command == "=M":
            port = f" {config.relay_port}" if config.relay_port else ""
            return "\n".join([MAILER_LINE.format(n=5, name="esmtp", port=""),
                              MAILER_LINE.format(n=8, name="relay", port=port)])
        if command == "$=w":
            return "mailserver\nmailserver.private.lan\nlocalhost"
        match = re.match(r"^/map (\S+) (\S+)$", command)
        if match:
            name, key = match.groups()
            enabled = {"authinfo": config.authinfo, "mailertable": config.mailertable}
            if not enabled.get(name):
                return f'Map named "{name}" not found'
            source = self.files.get("/etc/mail/auth/client-info" if name == "authinfo"
                                    else "/etc/mail/mailertable", "")
            for line in source.splitlines():
                lhs, _, rhs = line.partition(" ")
                if lhs.lower() == key.lower():
                    return f"map_lookup: {name} ({key}) returns {rhs.strip()} (0)"
            return f"map_lookup: {name} ({key}) no match (0)"
        return ""

    def writes(self) -> int:
        """How many times something was written to the mailserver."""
        return len(self.applied)


def gone_error(name: str, role: str) -> LabError:
    """The LabError ``Lab.exec`` raises once ``role``'s container is gone (the real Lab's message).

    It comes from the real ``Lab.exec``, talking to an engine that answers "No such container".
    """
    def exec_create(*_args, **_kwargs):
        raise NotFound("No such container")

    lab = Lab(name, "gone", "bookworm", {role: SimpleNamespace(id="gone")})
    stand_in = SimpleNamespace(api=SimpleNamespace(exec_create=exec_create))
    with mock.patch.object(engine, "connect", lambda: stand_in):
        try:
            lab.exec(role, ["true"])
        except LabError as error:
            return error
    raise AssertionError("Lab.exec ran in a container that is gone")


def _refused(text: str) -> Refused:
    """What Lab.apply_files raises when lab-apply refuses: the reason, make's error lines."""
    first = next((line for line in text.splitlines() if line.startswith("lab-apply: ")),
                 text.splitlines()[0])
    return Refused(first.removeprefix("lab-apply: "), make.errors(text), details=text)
