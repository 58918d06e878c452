"""`python -m labenv VERB`: the lab from a shell, for instructors, graders and CI.

Exit codes: 0 success; 1 the thing checked is not so; 2 usage or environment
error, always as one line (`labenv: ...`), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

from . import engine, howto, images
from .errors import LabError, NotSo
from .lab import Lab, check_name, list_labs, remove_by_label
from .topology import ROLES

ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}$|^[A-Za-z0-9._-]{1,64}$")
RESULT_LINE = re.compile(r"^mailer (?P<mailer>[^,]+)(?:, host (?P<host>[^,]+))?, user (?P<user>.*)$")


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit 2."""

    def error(self, message: str) -> None:
        raise LabError(f"{self.prog}: {message}")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def table(rows: list[dict], columns: list[str]) -> str:
    """A plain fixed-width table, as a terminal shows it."""
    cells = [[str(r.get(c, "") if r.get(c) is not None else "-") for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def check_address(value: str, what: str = "address") -> str:
    if not isinstance(value, str) or not ADDRESS.fullmatch(value):
        raise LabError(f"{what} {value!r} is not a mail address (user@domain or a local user)")
    return value


# -- verbs ---------------------------------------------------------------------
def cmd_setup(args) -> int:
    """Engine and images, as `make lab` needs them."""
    engine.ensure(install=True, say=_say)
    for name, tag in images.ensure_all(args.debian, say=_say).items():
        print(f"{name:<11} {tag}")
    return 0


def cmd_up(args) -> int:
    engine.ensure(install=args.install_engine, say=_say)
    started = time.monotonic()
    lab = Lab.up(args.lab, args.debian, say=_say)
    status = lab.status()
    print(f"lab {lab.name} ({lab.suite}) is up in {time.monotonic() - started:.1f} s")
    _print_roles(status)
    return 0


def _print_roles(status: dict) -> None:
    rows = [{"role": role, "state": r["state"], "hostname": r["hostname"],
             "addresses": " ".join(f"{n}={a}" for n, a in sorted(r["addresses"].items()))}
            for role, r in status["roles"].items()]
    print(table(rows, ["role", "state", "hostname", "addresses"]))


def cmd_down(args) -> int:
    removed = Lab.attach(args.lab).down()
    print(f"lab {args.lab}: removed {removed} containers and networks")
    return 0


def cmd_clean(args) -> int:
    if args.all:
        labs = list_labs()
        removed = remove_by_label("labenv.lab")
        print(f"removed {removed} containers and networks of {len(labs)} lab(s)"
              + (f": {', '.join(sorted(labs))}" if labs else ""))
    else:
        removed = remove_by_label(f"labenv.lab={args.lab}")
        print(f"lab {args.lab}: removed {removed} containers and networks")
    if args.images:
        print(f"removed {images.prune_stale(say=_say)} stale lab image(s)")
    return 0


def cmd_apply(args) -> int:
    lab = Lab.attach(args.lab)
    try:
        output = howto.apply(lab, args.variant)
    except NotSo as error:
        print(str(error), file=sys.stderr)
        raise NotSo("the configuration was refused; the lab keeps its previous one") from None
    if args.verbose:
        print(output.rstrip())
    print(f"applied the howto ({args.variant}) to lab {lab.name}: sendmail.mc, mailertable, "
          "auth/client-info; make and reload done")
    return 0


def cmd_exec(args) -> int:
    if not args.cmd:
        raise LabError("exec: give a command after `--`, e.g. `labenv exec mailserver -- mailq`")
    lab = Lab.attach(args.lab)
    stdin = None if sys.stdin is None or sys.stdin.isatty() or not args.interactive else sys.stdin.read()
    result = lab.exec(args.role, args.cmd, stdin=stdin)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.exit_code


def cmd_send(args) -> int:
    sender = check_address(args.sender, "--from")
    recipients = [check_address(r, "--to") for r in args.to]
    subject = args.subject.replace("\r", " ").replace("\n", " ")
    lab = Lab.attach(args.lab)
    message = (f"From: {sender}\nTo: {', '.join(recipients)}\nSubject: {subject}\n\n"
               f"{args.body}\n")
    result = lab.exec("mailserver", ["sendmail", "-i", "-f", sender, "--", *recipients],
                      stdin=message, timeout=60)
    if result.exit_code != 0:
        raise NotSo(f"sendmail refused the message: {result.output.strip()}")
    print(f"submitted on mailserver: {sender} -> {', '.join(recipients)}")
    return 0


def cmd_inbox(args) -> int:
    lab = Lab.attach(args.lab)
    source = lab.mailhost if args.role == "mailhost" else lab.provider
    messages = source.messages()
    if args.json:
        print(json.dumps(messages, indent=1, sort_keys=True))
        return 0
    rows = [{"id": m["queue_id"], "port": m["port"], "tls": m["tls"] or "none",
             "auth": m["authenticated_as"], "mail_from": m["mail_from"],
             "rcpt_to": ",".join(m["rcpt_tos"]), "header_from": m["headers"].get("From"),
             "subject": m["headers"].get("Subject")} for m in messages]
    print(table(rows, ["id", "port", "tls", "auth", "mail_from", "rcpt_to", "header_from", "subject"])
          if rows else f"{args.role}: no messages received")
    return 0


def route(lab: Lab, addresses: list[str]) -> list[dict]:
    """`/parse` of each address in one `sendmail -bt` process: mailer, host, user."""
    script = "".join(f"/parse {a}\n" for a in addresses)
    result = lab.exec("mailserver", ["sendmail", "-bt"], stdin=script, timeout=30)
    found = [m.groupdict() for m in map(RESULT_LINE.match, result.stdout.splitlines()) if m]
    if len(found) != len(addresses):
        raise NotSo(f"sendmail -bt gave {len(found)} results for {len(addresses)} addresses: "
                    f"{result.output.strip().splitlines()[-1:]}")
    return [{"address": a, **f} for a, f in zip(addresses, found)]


def cmd_bt(args) -> int:
    addresses = [check_address(a) for a in args.addresses]
    rows = route(Lab.attach(args.lab), addresses)
    print(json.dumps(rows, indent=1) if args.json else table(rows, ["address", "mailer", "host", "user"]))
    return 0


def cmd_status(args) -> int:
    lab = Lab.attach(args.lab)
    status = lab.status()
    if status["running"]:
        status["isp"] = lab.exec("router", ["isp-block", "status"]).stdout.strip()
        status["provider"] = lab.provider.ctl("state")
        status["provider"].pop("users", None)
        status["queue"] = lab.exec("mailserver", ["sh", "-c", "mailq 2>&1 | tail -n 1"]).stdout.strip()
    if args.json:
        print(json.dumps(status, indent=1, sort_keys=True))
    else:
        print(f"lab {status['lab']} ({status['debian']}, id {status['id']}): "
              + ("running" if status["running"] else "NOT running"))
        _print_roles(status)
        if status["running"]:
            listening = status["provider"]["status"].get("listening")
            print(f"isp: {status['isp']}; provider: {'listening' if listening else 'down'}; "
                  f"mailserver queue: {status['queue']}")
    return 0 if status["running"] else 1


def cmd_doctor(args) -> int:
    checks: list[tuple[str, bool, str]] = []

    def check(name: str, fn) -> None:
        try:
            detail = fn()
            checks.append((name, True, detail or ""))
        except (LabError, NotSo) as error:
            checks.append((name, False, str(error)))

    check("docker engine", lambda: "version " + engine.connect().version()["Version"])
    if checks[0][1]:
        check(f"images for {args.debian}", lambda: _images_ok(args.debian))
        check(f"lab {args.lab}", lambda: _lab_ok(args.lab))
    for name, ok, detail in checks:
        print(f"{'ok ' if ok else 'BAD'}  {name}: {detail}")
    return 0 if all(ok for _, ok, _ in checks) else 1


def _images_ok(suite: str) -> str:
    missing = images.missing(suite)
    if missing:
        raise NotSo(f"missing or stale: {', '.join(missing)} (`python -m labenv setup` builds them)")
    return "up to date"


def _lab_ok(name: str) -> str:
    lab = Lab.attach(name)
    if not lab.status()["running"]:
        raise NotSo("not every container is running; `python -m labenv up` starts a fresh lab")
    started = time.monotonic()
    lab.exec("mailserver", ["sendmail", "-bt"], stdin="").check()
    bt_seconds = time.monotonic() - started
    probe = lab.exec("mailserver", ["sh", "-c",
                     "printf 'QUIT\\r\\n' | nc -w 3 relayhost.somedom.com 587 | head -n 1; "
                     "nc -z -w 3 relayhost.somedom.com 25 && echo open25 || echo blocked25"])
    if "220 " not in probe.stdout:
        raise NotSo(f"the provider's port 587 does not answer from the mailserver: {probe.output.strip()}")
    block = "port 25 blocked" if "blocked25" in probe.stdout else "port 25 OPEN"
    return f"running; sendmail -bt answers in {bt_seconds:.2f} s; 587 answers; {block}"


def cmd_provider(args) -> int:
    lab = Lab.attach(args.lab)
    result = lab.exec("relayhost", ["relayhost-ctl", *args.ctl])
    sys.stdout.write(result.stdout)
    if result.exit_code != 0:
        raise LabError(result.output.strip().splitlines()[-1] if result.output.strip() else "relayhost-ctl failed")
    return 0


def cmd_isp(args) -> int:
    lab = Lab.attach(args.lab)
    word = {"block": "on", "unblock": "off", "status": "status"}[args.action]
    print(lab.exec("router", ["isp-block", word]).check().stdout.strip())
    return 0


def cmd_labs(args) -> int:
    labs = list_labs()
    rows = [{"lab": name, "containers": len(roles), "roles": ",".join(sorted(roles))}
            for name, roles in sorted(labs.items())]
    print(table(rows, ["lab", "containers", "roles"]) if rows else "no labs on this engine")
    return 0


def cmd_check(args) -> int:
    """The notebook's exercises, checked against the live lab (helpers.exercises)."""
    try:
        from helpers.exercises import exercises_for
    except ImportError as error:
        raise LabError(f"check needs the helpers package: {error}") from None
    try:
        exercises = exercises_for(args.notebook)
    except LookupError as error:
        raise LabError(f"check: {error.args[0]}") from None
    lab = Lab.attach(args.lab)
    done = True
    for exercise in exercises:
        text, problems = exercise.report(lab, suggest_hint=False)
        print(text)
        done = done and not problems
    return 0 if done else 1


def cmd_progress(args) -> int:
    """A classroom at a glance: every learner's notebook labs, their exercises checked.

    A learner's labs are named PREFIX + notebook number (LABENV_LAB_PREFIX in their
    notebooks, e.g. alice-nb05); each is checked against its own notebook's exercises.
    """
    from concurrent.futures import ThreadPoolExecutor

    from helpers.exercises import EXERCISES, exercises_for

    notebooks = sorted({e.notebook for e in EXERCISES})
    pattern = re.compile(rf"^(?P<who>.*?)(?P<nb>{'|'.join(notebooks)})$")
    cells = [(m["who"], m["nb"], name) for name in list_labs()
             if (m := pattern.match(name)) and m["who"].startswith(args.prefix)]
    if not cells:
        print(f"no notebook labs on this engine (names like {args.prefix or 'alice-nb'}05)")
        return 0

    def check(cell):
        who, nb, name = cell
        try:
            lab = Lab.attach(name)
            problems = [p for e in exercises_for(nb) for p in e.problems(lab)]
            return who, nb, "done" if not problems else f"{len(problems)} to do"
        except (LabError, NotSo) as error:
            return who, nb, f"error: {str(error)[:40]}"

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(check, cells))
    learners: dict[str, dict] = {}
    for who, nb, state in results:
        learners.setdefault(who, {"learner": who})[nb] = state
    rows = [learners[w] for w in sorted(learners)]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(table(rows, ["learner", *notebooks]))
    return 0


def build_parser() -> Parser:
    default_lab = os.environ.get("LABENV_LAB", "default")
    parser = Parser(prog="labenv", description="The sendmail Submission-relay lab.")
    common = Parser(add_help=False)
    common.add_argument("--lab", default=default_lab, type=_lab_name,
                        help="lab name (default: $LABENV_LAB or 'default')")
    suite = Parser(add_help=False)
    suite.add_argument("--debian", default=images.DEFAULT_SUITE, choices=images.SUITES)
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=Parser)

    p = sub.add_parser("setup", parents=[suite], help="make sure an engine answers and the images exist")
    p.set_defaults(fn=cmd_setup)
    p = sub.add_parser("up", parents=[common, suite], help="start a fresh lab (Debian defaults)")
    p.add_argument("--no-install-engine", dest="install_engine", action="store_false")
    p.set_defaults(fn=cmd_up)
    p = sub.add_parser("apply", parents=[common], help="apply the howto's configuration")
    p.add_argument("what", choices=["howto"])
    p.add_argument("--variant", choices=howto.VARIANTS, default="fixed",
                   help="fixed (works on current Debian, default) or literal (the howto word for word)")
    p.add_argument("-v", "--verbose", action="store_true", help="show make's output")
    p.set_defaults(fn=cmd_apply)
    p = sub.add_parser("exec", parents=[common], help="run a command in a lab container")
    p.add_argument("role", choices=list(ROLES))
    p.add_argument("-i", "--interactive", action="store_true", help="pass standard input to the command")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_exec)
    p = sub.add_parser("send", parents=[common], help="submit a message on the mailserver")
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", action="append", required=True)
    p.add_argument("--subject", default="lab message")
    p.add_argument("--body", default="Sent from the sendmail Submission-relay lab.")
    p.set_defaults(fn=cmd_send)
    p = sub.add_parser("inbox", parents=[common], help="what the provider (or mailhost) received")
    p.add_argument("--json", action="store_true")
    p.add_argument("--role", choices=["relayhost", "mailhost"], default="relayhost")
    p.set_defaults(fn=cmd_inbox)
    p = sub.add_parser("bt", parents=[common], help="routing of addresses (sendmail -bt /parse)")
    p.add_argument("addresses", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_bt)
    p = sub.add_parser("status", parents=[common], help="what the lab is doing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_status)
    p = sub.add_parser("doctor", parents=[common, suite], help="check engine, images and the lab")
    p.set_defaults(fn=cmd_doctor)
    p = sub.add_parser("down", parents=[common], help="remove the lab")
    p.set_defaults(fn=cmd_down)
    p = sub.add_parser("clean", parents=[common], help="remove what a lab (or every lab) left behind")
    p.add_argument("--all", action="store_true", help="every lab on this engine")
    p.add_argument("--images", action="store_true", help="also remove stale lab images")
    p.set_defaults(fn=cmd_clean)
    p = sub.add_parser("provider", parents=[common], help="the provider's knobs (relayhost-ctl)")
    p.add_argument("ctl", nargs="+", help="sessions | clear | state | reject-auth on|off | "
                   "strict-authzid on|off | fail 421|451 N | down | up | reset | users U=P ...")
    p.set_defaults(fn=cmd_provider)
    p = sub.add_parser("isp", parents=[common], help="the ISP's port-25 block")
    p.add_argument("action", choices=["block", "unblock", "status"])
    p.set_defaults(fn=cmd_isp)
    p = sub.add_parser("check", parents=[common], help="check a notebook's exercises in the lab")
    p.add_argument("notebook", help="notebook number, e.g. 02")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("progress", help="every learner's notebook labs, exercises checked")
    p.add_argument("--prefix", default="", help="only labs whose names start with this")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_progress)
    p = sub.add_parser("labs", help="list the labs on this engine")
    p.set_defaults(fn=cmd_labs)
    return parser


def _lab_name(value: str) -> str:
    return check_name(value)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "verb", None) == "exec" and args.cmd[:1] == ["--"]:
            args.cmd = args.cmd[1:]
        return args.fn(args)
    except LabError as error:
        print(f"labenv: {error}", file=sys.stderr)
        if error.details and os.environ.get("LABENV_QUIET") != "1":
            print(error.details, file=sys.stderr)
        return 2
    except NotSo as error:
        print(f"labenv: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("labenv: interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
