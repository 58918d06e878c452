"""`python -m helpers.exercises VERB`: the exercises checked from a shell, for instructors.

    python -m helpers.exercises check 03 --lab bob-nb03    # one notebook's exercises, in one lab
    python -m helpers.exercises progress [--prefix alice] [--json]   # the classroom at a glance

``progress`` finds the learners' notebook labs by name: PREFIX + notebook number
(LABENV_LAB_PREFIX in their notebooks, e.g. ``alice-nb05``), and checks each
against its own notebook's exercises.

Exit codes come from the error raised (labenv.errors), mapped in :func:`main`
only: 0 all done; 1 not done yet; 2 usage or environment (an unknown notebook,
no such lab), always as one line, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor

from labenv.cli import split_lab, table
from labenv.errors import LabenvError, LabError, NotSo
from labenv.lab import Lab, check_name, list_labs

from .catalogue import exercises_for, notebooks

#: How many learners' labs ``progress`` checks at once.
WORKERS = 4


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (LabError, exit 2)."""

    def error(self, message: str) -> None:
        raise LabError(message)


def cmd_check(args) -> int:
    """Every exercise of the notebook, checked in the lab; 0 when all are done."""
    exercises = exercises_for(args.notebook)
    lab = Lab.attach(args.lab)
    done = True
    for exercise in exercises:
        text, problems = exercise.report(lab, suggest_hint=False)
        print(text)
        done = done and not problems
    if not done:
        raise NotSo(f"notebook {exercises[0].notebook} in lab {lab.name}: not done yet")
    return 0


def cmd_progress(args) -> int:
    """A table learner x notebook: done, how many problems to go, or why it could not be checked."""
    numbers = notebooks()
    pattern = re.compile(rf"^(?P<who>.*?)(?P<nb>{'|'.join(numbers)})$")
    cells = [(m["who"], m["nb"], name) for name in sorted(list_labs())
             if (m := pattern.match(name)) and m["who"].startswith(args.prefix)]
    if not cells:
        print(f"no notebook labs on this engine (names like {args.prefix or 'alice-nb'}05)")
        return 0
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(_progress_of, cells))
    learners: dict[str, dict] = {}
    for who, nb, state in results:
        learners.setdefault(who, {"learner": who})[nb] = state
    rows = [learners[who] for who in sorted(learners)]
    print(json.dumps(rows, indent=1) if args.json else table(rows, ["learner", *numbers]))
    return 0


def _progress_of(cell: tuple[str, str, str]) -> tuple[str, str, str]:
    who, nb, name = cell
    try:
        problems = [p for e in exercises_for(nb) for p in e.problems(Lab.attach(name))]
    except LabenvError as error:
        return who, nb, f"error: {_first_line(error)[:40]}"
    return who, nb, "done" if not problems else f"{len(problems)} to do"


def build_parser(prog: str) -> Parser:
    parser = Parser(prog=prog, description="The notebooks' exercises, checked in live labs. "
                    "`--lab NAME` (default: $LABENV_LAB or 'default') may stand anywhere.")
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=Parser)
    p = sub.add_parser("check", help="check a notebook's exercises in one lab (exit 0 all done, 1 not yet)")
    p.add_argument("notebook", help="notebook number, e.g. 02")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("progress", help="every learner's notebook labs, their exercises checked")
    p.add_argument("--prefix", default="", help="only labs whose names start with this")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_progress)
    return parser


def parse(argv: list[str], prog: str = "lab-exercises") -> argparse.Namespace:
    rest, lab = split_lab(argv)
    args = build_parser(prog).parse_args(rest)
    if args.verb != "check" and lab is not None:
        raise LabError(f"{args.verb} checks every learner's labs; it takes no --lab")
    args.lab = lab or check_name(os.environ.get("LABENV_LAB", "default"))
    return args


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _prog() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "python -m helpers.exercises" if name in ("", "__main__.py", "-c") else name


def main(argv: list[str] | None = None) -> int:
    """Run one verb; every labenv error becomes its one line and its exit code, here only."""
    prog = _prog()
    try:
        args = parse(sys.argv[1:] if argv is None else list(argv), prog)
        return args.fn(args)
    except LabenvError as error:
        print(f"{prog}: {_first_line(error)}", file=sys.stderr)
        if error.details and os.environ.get("LABENV_QUIET") != "1":
            print(error.details, file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 2
