"""`python -m labenv VERB`: the lab from a shell, for instructors, graders and CI.

Exit codes come from the error raised (labenv.errors): 0 success; 1 the thing
checked is not so; 2 usage or environment error, always as one line
(`labenv: ...`), never a traceback. `--lab NAME` may stand anywhere before `--`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from docker.errors import APIError

from . import build, configure, engine, engines, faults, mail, progress, testmode
from . import pool as hot
from .errors import LabenvError, LabError, NotSo
from .lab import LABEL_LAB, Lab, check_name, labs_by_engine, remove_by_label, remove_lab
from .sendmail import howto
from .sendmail.validate import check_mail_address
from .topology import ROLES

#: Verbs that act on one lab: the only ones that take --lab.
LAB_VERBS = ("up", "apply", "exec", "send", "inbox", "bt", "status", "doctor", "down", "clean",
             "provider", "isp", "break")


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


# -- verbs ---------------------------------------------------------------------
def cmd_setup(args) -> int:
    """Engine and images, as `make lab` needs them."""
    engine.ensure(install=True, say=_say)
    for name, tag in build.ensure_all(args.suite, say=_say).items():
        print(f"{name:<11} {tag}")
    return 0


def cmd_up(args) -> int:
    engine.ensure(install=args.install_engine, say=_say)
    started = time.monotonic()
    lab = Lab.up(args.lab, args.suite, say=_say)
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
        # Every lab on every engine (spares of the pool too), whatever LABENV_LAB_PREFIX says:
        # that is what --all removes.
        labs = sorted({name for _e, name, _r in labs_by_engine(everyone=True)})
        done, down = engines.each(lambda e: remove_by_label(LABEL_LAB, e.client()))
        removed = sum(done.values())
        print(f"removed {removed} containers and networks of {len(labs)} lab(s)"
              + (f": {', '.join(labs)}" if labs else "")
              + "".join(f"; {e} does not answer" for e in down))
    else:
        removed, down = remove_lab(args.lab)
        print(f"lab {args.lab}: removed {removed} containers and networks"
              + "".join(f"; {e} does not answer" for e in down))
    if args.images:
        print(f"removed {build.prune_stale(say=_say)} stale lab image(s)")
    return 0


def cmd_apply(args) -> int:
    lab = Lab.attach(args.lab)
    output = configure.apply_howto(lab, args.variant)
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
    mail.send(Lab.attach(args.lab), args.sender, args.to, subject=args.subject, body=args.body)
    print(f"submitted on mailserver: {args.sender} -> {', '.join(args.to)}")
    return 0


def cmd_inbox(args) -> int:
    lab = Lab.attach(args.lab)
    if args.json:
        print(json.dumps(mail.received(lab, args.role), indent=1, sort_keys=True))
        return 0
    rows = mail.inbox(lab, args.role)
    print(table(rows, mail.INBOX_COLUMNS) if rows else f"{args.role}: no messages received")
    return 0


def cmd_bt(args) -> int:
    addresses = [check_mail_address("address", a) for a in args.addresses]
    frame = testmode.route_table(Lab.attach(args.lab), addresses)
    rows = frame[["address", "mailer", "host", "user", "key"]].to_dict("records")
    print(json.dumps(rows, indent=1) if args.json else table(rows, ["address", "mailer", "host", "user", "key"]))
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
        where = f", on engine {status['engine']}" if engines.several() else ""
        print(f"lab {status['lab']} ({status['suite']}, id {status['id']}{where}): "
              + ("running" if status["running"] else "NOT running"))
        _print_roles(status)
        if status["running"]:
            listening = status["provider"]["status"].get("listening")
            print(f"isp: {status['isp']}; provider: {'listening' if listening else 'down'}; "
                  f"mailserver queue: {status['queue']}")
    return 0 if status["running"] else 1


def cmd_doctor(args) -> int:
    """ok / BAD / info lines: a missing lab is information, not a fault."""
    checks: list[tuple[str, str, str]] = []

    def check(name: str, fn) -> None:
        try:
            verdict, detail = fn()
            checks.append((verdict, name, detail))
        except LabenvError as error:
            checks.append(("BAD", name, str(error)))

    check("docker engine", lambda: ("ok", "version " + engine.connect().version()["Version"]))
    if checks[0][0] == "ok":
        check(f"images for {args.suite}", lambda: _images_ok(args.suite))
        check(f"lab {args.lab}", lambda: _lab_ok(args.lab))
    for verdict, name, detail in checks:
        print(f"{verdict:<4} {name}: {detail}")
    return 0 if all(verdict != "BAD" for verdict, _, _ in checks) else 1


def _images_ok(suite: str) -> tuple[str, str]:
    missing = build.missing(suite)
    if missing:
        raise NotSo(f"missing or stale: {', '.join(missing)} (`python -m labenv setup` builds them)")
    return "ok", "up to date"


def _lab_ok(name: str) -> tuple[str, str]:
    if not Lab.exists(name):
        return "info", f"no lab running (`python -m labenv up --lab {name}` starts one)"
    lab = Lab.attach(name)
    if not lab.status()["running"]:
        raise NotSo("not every container is running; `python -m labenv up` starts a fresh lab")
    started = time.monotonic()
    lab.exec("mailserver", ["sendmail", "-bt"], stdin="").check()
    bt_seconds = time.monotonic() - started
    probe = lab.exec("mailserver", ["sh", "-c",
                     f"printf 'QUIT\\r\\n' | nc -w 3 {howto.PROVIDER} 587 | head -n 1; "
                     f"nc -z -w 3 {howto.PROVIDER} 25 && echo open25 || echo blocked25"])
    if "220 " not in probe.stdout:
        raise NotSo(f"the provider's port 587 does not answer from the mailserver: {probe.output.strip()}")
    block = "port 25 blocked" if "blocked25" in probe.stdout else "port 25 OPEN"
    return "ok", f"running; sendmail -bt answers in {bt_seconds:.2f} s; 587 answers; {block}"


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


def cmd_break(args) -> int:
    """Inject a fault; only the symptom is printed unless --reveal (the instructor's view)."""
    if args.list:
        columns = ["name", "symptom"] + (["cause", "fix"] if args.reveal else [])
        rows = [{c: getattr(f, c) for c in columns} for f in faults.CATALOGUE.values()]
        print(table(rows, columns))
        return 0
    name = faults.fault(args.fault).name if args.fault else faults.choose(args.seed)
    lab = Lab.attach(args.lab)
    fault = faults.inject(lab, name)
    progress.record("break", result="broken", lab=lab.name)
    print(f"broke lab {lab.name}: {fault.symptom}")
    if args.reveal:
        print(f"fault: {fault.name}\ncause: {fault.cause}\nfix:   {fault.fix}")
    return 0


def cmd_progress(args) -> int:
    """The record of checks, hints, skips and breaks: a table learner x exercise, or CSV."""
    rows = progress.matrix(progress.events(args.db))
    if args.csv:
        sys.stdout.write(progress.to_csv(rows))
        return 0
    if not rows:
        print(f"no progress recorded yet in {args.db or progress.default_path()}")
        return 0
    cells, columns = progress.class_table(rows)
    print(table(cells, columns))
    return 0


def cmd_labs(args) -> int:
    rows = [{"lab": name, "engine": e.name, "containers": len(roles), "roles": ",".join(sorted(roles))}
            for e, name, roles in labs_by_engine()]
    _, down = engines.answering()
    columns = ["lab", "engine", "containers", "roles"] if engines.several() else ["lab", "containers", "roles"]
    print(table(sorted(rows, key=lambda r: r["lab"]), columns) if rows else "no labs")
    for e in down:
        print(f"{e} does not answer: its labs are not listed")
    return 0


def _engine_named(name: str | None) -> engines.Engine | None:
    if name is None:
        return None
    for e in engines.configured():
        if e.name == name:
            return e
    raise LabError(f"no engine {name!r}; engines: {', '.join(e.name for e in engines.configured())}")


def cmd_pool(args) -> int:
    hot.settings()
    where = _engine_named(args.engine)
    if args.action == "fill":
        targets = [where] if where else engines.answering()[0]
        if not targets:
            raise LabError("no engine answers")
        for e in targets:
            done = hot.fill(args.count, args.suite, e, say=_say)
            print(f"pool on {e.name} ({args.suite}): {done['ready']} ready of {done['target']}; started "
                  f"{done['started']}, recycled {done['recycled']}, removed {done['removed']} "
                  f"in {done['seconds']} s")
            if done["errors"]:
                raise NotSo(f"{len(done['errors'])} spare lab(s) did not start: {done['errors'][0]}")
        return 0
    if args.action == "refill":
        e = where or engines.configured()[0]
        done = hot.refill(e, args.suite, say=_say)
        print("another refill is running" if done is None else
              f"pool on {e.name} ({args.suite}): {done['ready']} ready of {done['target']} "
              f"in {done['seconds']} s")
        return 0
    if args.action == "keep":
        e = where or engines.configured()[0]
        hot.keep(e, args.suite, args.count, say=_say)
        return 0
    if args.action == "drain":
        print(f"removed {hot.drain(where, args.suite_given)} spare lab(s); the pool is empty and stays so")
        return 0
    rows = hot.status()
    if args.json:
        print(json.dumps(rows, indent=1))
    elif not rows:
        print("no spare labs (fill the pool with `python -m labenv pool fill N`)")
    else:
        print(table([{**r, "answers": "yes" if r["answers"] else "NO"} for r in rows],
                    ["engine", "suite", "ready", "warming", "target", "oldest_s", "answers"]))
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="labenv", description="The sendmail Submission-relay lab. "
                    "`--lab NAME` (default: $LABENV_LAB or 'default') may stand anywhere before `--`.")
    suite = Parser(add_help=False)
    suite.add_argument("--suite", "--debian", dest="suite", default=build.DEFAULT_SUITE,
                       choices=build.SUITES, help="Debian suite of the lab's images")
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=Parser)

    p = sub.add_parser("setup", parents=[suite], help="make sure an engine answers and the images exist")
    p.set_defaults(fn=cmd_setup)
    p = sub.add_parser("up", parents=[suite], help="start a fresh lab (Debian defaults)")
    p.add_argument("--no-install-engine", dest="install_engine", action="store_false")
    p.set_defaults(fn=cmd_up)
    p = sub.add_parser("apply", help="apply the howto's configuration")
    p.add_argument("what", choices=["howto"])
    p.add_argument("--variant", choices=howto.VARIANTS, default="fixed",
                   help="fixed (works on current Debian, default) or literal (the howto word for word)")
    p.add_argument("-v", "--verbose", action="store_true", help="show make's output")
    p.set_defaults(fn=cmd_apply)
    p = sub.add_parser("exec", help="run a command in a lab container: exec ROLE -- CMD...")
    p.add_argument("role", choices=list(ROLES))
    p.add_argument("-i", "--interactive", action="store_true", help="pass standard input to the command")
    p.add_argument("cmd", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_exec)
    p = sub.add_parser("send", help="submit a message on the mailserver")
    p.add_argument("--from", dest="sender", required=True)
    p.add_argument("--to", action="append", required=True)
    p.add_argument("--subject", default="lab message")
    p.add_argument("--body", default="Sent from the sendmail Submission-relay lab.")
    p.set_defaults(fn=cmd_send)
    p = sub.add_parser("inbox", help="what the provider (or mailhost) received")
    p.add_argument("--json", action="store_true")
    p.add_argument("--role", choices=list(mail.SOURCES), default="relayhost")
    p.set_defaults(fn=cmd_inbox)
    p = sub.add_parser("bt", help="routing of addresses (sendmail -bt /parse)")
    p.add_argument("addresses", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_bt)
    p = sub.add_parser("status", help="what the lab is doing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_status)
    p = sub.add_parser("doctor", parents=[suite], help="check engine, images and the lab")
    p.set_defaults(fn=cmd_doctor)
    p = sub.add_parser("down", help="remove the lab")
    p.set_defaults(fn=cmd_down)
    p = sub.add_parser("clean", help="remove what a lab (or every lab) left behind")
    p.add_argument("--all", action="store_true", help="every lab on this engine")
    p.add_argument("--images", action="store_true", help="also remove stale lab images")
    p.set_defaults(fn=cmd_clean)
    p = sub.add_parser("provider", help="the provider's knobs (relayhost-ctl)")
    p.add_argument("ctl", nargs="+", help="sessions | clear | state | reject-auth on|off | "
                   "strict-authzid on|off | strip-starttls on|off | fail 421|451 N | down | up | reset | users U=P ...")
    p.set_defaults(fn=cmd_provider)
    p = sub.add_parser("isp", help="the ISP's port-25 block")
    p.add_argument("action", choices=["block", "unblock", "status"])
    p.set_defaults(fn=cmd_isp)
    p = sub.add_parser("break", help="inject a fault for learners to find (--list: the catalogue)")
    p.add_argument("--fault", help="the fault's name (default: one chosen by --seed)")
    p.add_argument("--seed", type=int, help="picks the fault when --fault is not given")
    p.add_argument("--list", action="store_true", help="list the faults (needs no lab)")
    p.add_argument("--reveal", action="store_true", help="also print cause and fix (instructors)")
    p.set_defaults(fn=cmd_break)
    p = sub.add_parser("progress", help="what learners did: checks, hints, skips (learner x exercise)")
    p.add_argument("--csv", action="store_true", help="one line per learner and exercise, as CSV")
    p.add_argument("--db", help="the record to read (default: $LABENV_PROGRESS_DB or your own)")
    p.set_defaults(fn=cmd_progress)
    p = sub.add_parser("labs", help="list the labs on every engine")
    p.set_defaults(fn=cmd_labs)
    p = sub.add_parser("pool", help="hot-start: spare labs, claimed by the next `up` or start_lab "
                       "(fill N | status | drain)")
    p.add_argument("action", choices=["fill", "status", "drain", "refill", "keep"],
                   help="keep N: stay running, topping up to N (a class engine's keeper)")
    p.add_argument("count", nargs="?", type=int, help="fill, keep: how many spare labs to keep ready")
    p.add_argument("--suite", "--debian", dest="suite_given", choices=build.SUITES)
    p.add_argument("--engine", help="only this engine of LABENV_ENGINES (default: every one)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_pool)
    return parser


def split_lab(argv: list[str]) -> tuple[list[str], str | None]:
    """Take every `--lab NAME` / `--lab=NAME` before `--` out of argv; the name given, or None.

    Two different names are refused rather than one of them silently winning.
    """
    rest, names, i = [], [], 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            rest += argv[i:]
            break
        if word == "--lab":
            if i + 1 >= len(argv) or argv[i + 1] == "--":
                raise LabError("--lab needs a lab name")
            names.append(argv[i + 1])
            i += 2
            continue
        if word.startswith("--lab="):
            names.append(word.split("=", 1)[1])
        else:
            rest.append(word)
        i += 1
    if len(set(names)) > 1:
        raise LabError(f"--lab given twice with different names: {', '.join(names)}")
    return rest, (check_name(names[0]) if names else None)


def parse(argv: list[str]) -> argparse.Namespace:
    rest, lab = split_lab(argv)
    args = build_parser().parse_args(rest)
    if args.verb not in LAB_VERBS and lab is not None:
        raise LabError(f"{args.verb} does not act on one lab; it takes no --lab")
    args.lab = lab or check_name(os.environ.get("LABENV_LAB", "default"))
    if args.verb == "exec" and args.cmd[:1] == ["--"]:
        args.cmd = args.cmd[1:]
    if args.verb == "pool":
        args.suite = args.suite_given or build.DEFAULT_SUITE
        if args.action in ("fill", "keep") and args.count is None:
            raise LabError(f"pool {args.action} needs a count: `python -m labenv pool {args.action} N`")
        if args.action not in ("fill", "keep") and args.count is not None:
            raise LabError(f"pool {args.action} takes no count")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run one verb; every labenv error becomes its one line and its exit code, here only."""
    try:
        args = parse(sys.argv[1:] if argv is None else list(argv))
        return args.fn(args)
    except LabenvError as error:
        print(f"labenv: {str(error).splitlines()[0] if str(error) else type(error).__name__}",
              file=sys.stderr)
        if error.details and os.environ.get("LABENV_QUIET") != "1":
            print(error.details, file=sys.stderr)
        return error.exit_code
    except APIError as error:
        if error.status_code != 403:
            raise
        # A class engine's authorization plugin said no (a learner's `clean --all`, say).
        reason = str(error.explanation or error).strip().splitlines()
        print(f"labenv: refused by the engine: {reason[0] if reason else 'forbidden'}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("labenv: interrupted", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
