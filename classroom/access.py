"""Who may use the class engine, and as what: access.json, a small file only root writes.

    {"learners": ["alice", "bob"], "instructors": ["carol"]}

``classroom certs`` adds a name when it issues a certificate; the plugin reads the
file again whenever it changes, so the list can change while the class runs. A
certificate whose name is not in the list is refused, which is how a member's
access ends (the engine has no revocation list): ``classroom certs --revoke NAME``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("learners", "instructors")


@dataclass
class Access:
    learners: set[str] = field(default_factory=set)
    instructors: set[str] = field(default_factory=set)

    def role(self, name: str) -> str | None:
        """'instructor', 'learner' or None (not in the class)."""
        if name in self.instructors:
            return "instructor"
        if name in self.learners:
            return "learner"
        return None

    def to_json(self) -> str:
        return json.dumps({"learners": sorted(self.learners), "instructors": sorted(self.instructors)},
                          indent=1) + "\n"


def load(path: Path) -> Access:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return Access()
    return Access(set(data.get("learners", ())), set(data.get("instructors", ())))


def add(path: Path, name: str, role: str) -> Access:
    """Put `name` in the access as `role` ('learners' or 'instructors'), out of the other role."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    access = load(path)
    (access.instructors if role == "instructors" else access.learners).add(name)
    (access.learners if role == "instructors" else access.instructors).discard(name)
    save(path, access)
    return access


def remove(path: Path, name: str) -> Access:
    access = load(path)
    access.learners.discard(name)
    access.instructors.discard(name)
    save(path, access)
    return access


def save(path: Path, access: Access) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(access.to_json())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class Watched:
    """The access, read again when the file's modification time or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple | None = None
        self._access = Access()

    def get(self) -> Access:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._access = load(self.path) if stamp else Access()
            self._stamp = stamp
        return self._access
