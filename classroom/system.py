"""What the classroom asks of the host: commands that must succeed, and root.

    run("ip", "netns", "add", "labenv-class")      # ClassError in one line if it fails
    require_root("a class is set up by root", programs=("dockerd", "ip"))
"""

from __future__ import annotations

import os
import subprocess

from labenv import engine as host_engine
from labenv.errors import LabError


class ClassError(LabError):
    """One line: what the host would not do for the class, and where to look."""


def run(*cmd: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """`cmd` with the system directories on PATH; ClassError with its last line when it fails."""
    kwargs.setdefault("env", host_engine.system_env())
    done = subprocess.run(list(cmd), capture_output=True, text=True, **kwargs)
    if check and done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise ClassError(f"`{' '.join(cmd[:4])}` failed: {reason[-1][:200] if reason else done.returncode}")
    return done


def require_root(why: str, programs: tuple[str, ...] = ()) -> None:
    """ClassError unless root runs this and every program of `programs` is installed."""
    if os.geteuid() != 0:
        raise ClassError(f"{why}: run it with sudo")
    for program in programs:
        if not host_engine.find_program(program):
            raise ClassError(f"{program} is missing (Debian: apt-get install docker.io iproute2 util-linux)")
