"""What every notebook's first and last cells use: a fresh lab of its own, shell-like output.

    from helpers.notebook import start_lab, sh, finish
    lab = start_lab("02")                 # lab "nb02": fresh, Debian defaults
    sh(lab, "mailserver", "mailq")        # prints `$ mailq` and what it printed
    finish(lab)                           # removes the lab

A notebook's lab is named after its number, so notebooks can run side by side on
one engine; LABENV_LAB_PREFIX (default "nb") lets a classroom give every learner
their own (e.g. "alice-nb"). The lab is also removed when the kernel exits.
"""
from __future__ import annotations

import atexit
import os
import shlex

from helpers.display import Printed
from labenv import Lab, LabError
from labenv.lab import check_name

_started: dict[str, Lab] = {}


def lab_name(tag: str) -> str:
    return check_name(f"{os.environ.get('LABENV_LAB_PREFIX', 'nb')}{tag}")


def start_lab(tag: str, *, suite: str | None = None) -> Lab:
    """A fresh lab for this notebook (any earlier lab of the same name is replaced)."""
    suite = suite or os.environ.get("LABENV_SUITE", "bookworm")
    name = lab_name(tag)
    try:
        lab = Lab.up(name, suite, say=lambda *_: None)
    except LabError as error:
        raise LabError(f"{error}{chr(10) + error.details if error.details else ''}") from None
    _started[name] = lab
    print(f"lab {name} is up: Debian {suite}, sendmail as Debian installs it")
    return lab


def sh(lab: Lab, role: str, command: str, *, stdin: str | None = None, timeout: float = 60,
       quiet: bool = False) -> str:
    """Run a shell command in a lab container and print it as a terminal would.

    Returns the output (stdout then stderr) as a str that a notebook cell does not
    display again. The exit code is printed when it is not 0.
    """
    result = lab.exec(role, ["sh", "-c", command], stdin=stdin, timeout=timeout)
    if not quiet:
        prompt = "#" if role != "relayhost" else "relayhost#"
        print(f"{prompt} {command}")
        text = result.output.rstrip("\n")
        if text:
            print(text)
        if result.exit_code != 0:
            print(f"[exit code {result.exit_code}]")
    return Printed(result.output)


def run(lab: Lab, role: str, argv: list[str], **kwargs) -> str:
    """`sh` for an argument list (each argument quoted for the shell)."""
    return sh(lab, role, " ".join(shlex.quote(a) for a in argv), **kwargs)


def finish(lab: Lab) -> None:
    """Remove the notebook's lab."""
    lab.down()
    _started.pop(lab.name, None)
    print(f"lab {lab.name} removed")


@atexit.register
def _cleanup() -> None:
    for lab in list(_started.values()):
        try:
            lab.down()
        except Exception:  # the engine may be gone at exit; `labenv clean` finds leftovers
            pass
