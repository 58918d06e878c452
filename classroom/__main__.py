"""`python -m classroom VERB`: the class engine, its certificates and its plugin, from a shell (root).

    python -m classroom engine up [--engines N] [--suite bookworm ...]   # engines a, b ... (default:
                                               # as many as the class had, one at first)
    python -m classroom engine status [--json] # each engine: does it answer, its labs, whose
    python -m classroom engine stop NAME       # one engine stopped (its labs removed); the others go on
    python -m classroom engine start NAME      # and started again
    python -m classroom engine down [--purge]  # every engine
    python -m classroom certs alice bob [--owner USER] [--dir DIR]
    python -m classroom certs --instructor carol
    python -m classroom certs --revoke bob
    python -m classroom plugin [--engine NAME] # an engine's authorization plugin, in the foreground
    python -m classroom up --roster FILE [--ip IP] [--port N]   # the whole class: engine, accounts, hub
         [--hub-port N] [--proxy-api-port N] [--progress-port N] [--cull-timeout S] [--cull-every S]
         [--notebooks DIR]
    python -m classroom down [--purge]         # all of it stopped (purge: accounts, homes, record too)
    python -m classroom status [--json]        # the hub, and each engine
    python -m classroom progress [--csv]       # the class's record: learner x exercise

Errors are one line (`classroom: ...`) and exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shlex
import sys
from pathlib import Path

from labenv import build
from labenv.errors import LabenvError

from . import access, certs, enginecfg


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        raise SystemExit(_fail(f"{self.prog}: {message}"))


def _fail(text: str) -> int:
    print(f"classroom: {text}", file=sys.stderr)
    return 2


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def cmd_engine(args) -> int:
    from . import engine

    suites = tuple(args.suite or [build.DEFAULT_SUITE])
    if args.action in ("start", "stop"):
        if not args.name:
            return _fail(f"engine {args.action} needs the engine's name (a, b ...)")
    elif args.name:
        return _fail(f"engine {args.action} takes no engine name (engine start|stop NAME do)")
    if args.engines is not None and args.action != "up":
        return _fail("--engines goes with engine up")
    where = enginecfg.paths()
    if args.action == "up":
        timings = engine.up(suites=suites, say=_say, engines=args.engines)
        for name in timings["engines"]:
            print(f"class engine {name}: {where.of(name).tcp_url} (TLS, client certificates from "
                  "`python -m classroom certs`)")
        print(f"started in {timings['engine_s']:.1f} s; lab images loaded in {timings['images_s']:.1f} s")
    elif args.action == "start":
        timings = engine.start(args.name, suites=suites, say=_say)
        print(f"class engine {args.name}: {where.of(args.name).tcp_url}")
        print(f"started in {timings['engine_s']:.1f} s; lab images loaded in {timings['images_s']:.1f} s")
    elif args.action == "stop":
        engine.stop(args.name, say=_say)
    elif args.action == "down":
        engine.down(purge=args.purge, say=_say)
    else:
        print(engine.status_text(as_json=args.json))
    return 0


def _owner(name: str, spec: str | None) -> tuple[int, int] | None:
    """The owner of a member's certificate folder: --owner USER or UID:GID, else the Unix user NAME."""
    if spec and ":" in spec:
        uid, gid = spec.split(":", 1)
        return int(uid), int(gid)
    try:
        entry = pwd.getpwnam(spec or name)
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        if spec:
            raise ValueError(f"no Unix user {spec!r}") from None
        return None


def cmd_certs(args) -> int:
    where = enginecfg.paths()
    if os.geteuid() != 0:
        return _fail("certificates are made by root (the CA key is root's)")
    for name in args.names:
        certs.check_name(name)
    if args.revoke:
        for name in args.names:
            access.remove(where.access, name)
            print(f"{name}: removed from {where.access}; their certificate is refused from now on")
        return 0
    certs.ensure_server(where.pki)
    where.state.mkdir(parents=True, exist_ok=True)
    where.users.mkdir(parents=True, exist_ok=True)
    os.chmod(where.state, 0o711)
    os.chmod(where.users, 0o711)
    role = "instructors" if args.instructor else "learners"
    for name in args.names:
        folder = Path(args.dir) / name if args.dir else where.users / name
        owner = _owner(name, args.owner)
        certs.issue(where.pki, name, folder, owner=owner)
        access.add(where.access, name, role)
        who = f"uid {owner[0]}" if owner else "root (no Unix user of that name; use --owner)"
        print(f"{name} ({role[:-1]}): {folder} (ca.pem cert.pem key.pem, readable by {who})")
        if not args.instructor:
            env = enginecfg.learner_env(name, folder, where)
            print("  " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()))
    return 0


def cmd_up(args) -> int:
    from . import hub

    given = {name: getattr(args, name) for name in ("hub_port", "proxy_api_port", "progress_port",
                                                    "cull_timeout", "cull_every")
             if getattr(args, name) is not None}
    settings = hub.up(args.roster, ip=args.ip, port=args.port,
                      suites=tuple(args.suite or [build.DEFAULT_SUITE]), say=_say,
                      notebooks=Path(args.notebooks) if args.notebooks else None, **given)
    print(f"The class is open at {settings.url}")
    print("Learners log in with their roster name and choose a password at first login (or use the one "
          "handed out); instructors also see the progress page at "
          f"{settings.url}services/progress/")
    return 0


def cmd_down(args) -> int:
    from . import hub

    hub.down(purge=args.purge, say=_say)
    return 0


def cmd_status(args) -> int:
    from . import hub

    state = hub.status()
    if args.json:
        print(json.dumps(state, indent=1))
        return 0
    print(f"hub: {'running at ' + state['url'] if state['hub'] else 'not running'}")
    print(engine_status_text())
    return 0


def engine_status_text() -> str:
    from . import engine

    return engine.status_text()


def cmd_progress(args) -> int:
    from labenv.cli import main as labenv_main

    from . import hub

    return labenv_main(["progress", "--db", str(hub.STATE / "progress.sqlite3"), *(["--csv"] if args.csv else [])])


def cmd_plugin(args) -> int:
    from . import authz

    where = enginecfg.paths(engine=args.engine)
    authz.serve(where, socket_path=where.plugin_socket)
    return 0


def _engine_count(text: str) -> int:
    try:
        return len(enginecfg.engine_names(int(text)))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a class runs 1 to {enginecfg.MAX_ENGINES} engines") from None


def build_parser() -> _Parser:
    parser = _Parser(prog="classroom", description="The class engine: learners confined to their own labs.")
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    p = sub.add_parser("engine", help="start, stop or look at the class's engines")
    p.add_argument("action", choices=["up", "down", "status", "start", "stop"])
    p.add_argument("name", nargs="?", choices=enginecfg.ENGINE_NAMES, help="with start and stop: which engine")
    p.add_argument("--engines", type=_engine_count, metavar="N",
                   help=f"with up: how many engines (1-{enginecfg.MAX_ENGINES}, named a, b ...; default: "
                        "as many as the class had, one at first)")
    p.add_argument("--json", action="store_true", help="with status: as JSON")
    p.add_argument("--suite", action="append", choices=build.SUITES,
                   help="Debian suite whose lab images to load (repeat for both; default bookworm)")
    p.add_argument("--purge", action="store_true",
                   help="with down: also remove the data root, keys, certificates and access list "
                        "(without it they stay, and the next `up` needs no image load); other "
                        "folders in the state folder (a hub's) are left alone")
    p.set_defaults(fn=cmd_engine)
    p = sub.add_parser("certs", help="client certificates for learners (or --instructor)")
    p.add_argument("names", nargs="+")
    p.add_argument("--instructor", action="store_true", help="the names are instructors")
    p.add_argument("--revoke", action="store_true", help="take the names out of the class")
    p.add_argument("--dir", help="folder that gets one subfolder per name "
                                 f"(default {enginecfg.paths().users})")
    p.add_argument("--owner", help="Unix user (or UID:GID) owning the folder; default: the user of that name")
    p.set_defaults(fn=cmd_certs)
    p = sub.add_parser("plugin", help="run an engine's authorization plugin in the foreground")
    p.add_argument("--engine", default="a", choices=enginecfg.ENGINE_NAMES)
    p.set_defaults(fn=cmd_plugin)
    p = sub.add_parser("up", help="start the whole class: engine, accounts, certificates, JupyterHub")
    p.add_argument("--roster", required=True, help="the class list (TOML, see classroom/roster.py)")
    p.add_argument("--ip", default="127.0.0.1", help="where the hub listens (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--suite", action="append", choices=build.SUITES)
    # Defaults: classroom.hubconfig.Settings (8081, 8001, 8090; an hour idle, checked every 5 minutes).
    p.add_argument("--hub-port", type=int, help="the hub's own API, on 127.0.0.1")
    p.add_argument("--proxy-api-port", type=int, help="the proxy's API, on 127.0.0.1")
    p.add_argument("--progress-port", type=int, help="the progress service, on 127.0.0.1")
    p.add_argument("--cull-timeout", type=int, help="seconds idle before a learner's server is stopped")
    p.add_argument("--cull-every", type=int, help="seconds between the idle culler's rounds")
    p.add_argument("--notebooks", help="the learner's copy each new member gets (default build/student, "
                                       "from `make student`)")
    p.set_defaults(fn=cmd_up)
    p = sub.add_parser("down", help="stop the whole class")
    p.add_argument("--purge", action="store_true", help="also remove the accounts, their homes and the record")
    p.set_defaults(fn=cmd_down)
    p = sub.add_parser("status", help="the hub and the class's engines")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_status)
    p = sub.add_parser("progress", help="the class's progress record (learner x exercise)")
    p.add_argument("--csv", action="store_true")
    p.set_defaults(fn=cmd_progress)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .engine import EngineError

    try:
        return args.fn(args)
    except (EngineError, ValueError, OSError, LabenvError) as error:
        return _fail(str(error).splitlines()[0] if str(error) else type(error).__name__)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
