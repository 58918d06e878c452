"""The class list: who learns, who teaches, and the passwords an instructor hands out.

A roster is a TOML file::

    name = "relay101"                   # the class
    instructors = ["ines"]              # hub admins: every lab, the progress page
    learners = ["alice", "bob"]         # each chooses a password at first login...
    engines = 2                         # class engines, a and b (1 to 8; default 1)
    pool = 10                           # spare labs kept ready on each engine (0 to 40; default 0)
    [passwords]                         # ...unless the instructor hands one out here
    bob = "handed-out-secret"

Names are lower-case letters, digits and "_", 1 to 16 characters, starting with a
letter (no "-": the name and a "-" begin the names of its labs). Each becomes a
Unix account ``lab-NAME`` on the host, a client certificate with that common name
for the class engine, and the prefix of the member's labs (``NAME-nb05``).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from labenv.errors import ConfigError

from .enginecfg import MAX_ENGINES, NAME

MIN_PASSWORD = 8
ACCOUNT_PREFIX = "lab-"
_KEYS = {"name", "instructors", "learners", "passwords", "engines", "pool"}
#: The most spare labs a class keeps ready on one engine (labenv.pool's default cap).
MAX_POOL = 40


@dataclass(frozen=True)
class Roster:
    """A class: its name, its instructors and learners, and any handed-out passwords."""

    name: str
    instructors: tuple[str, ...]
    learners: tuple[str, ...]
    passwords: dict[str, str] = field(default_factory=dict)
    engines: int = 1
    pool: int = 0

    @property
    def everyone(self) -> tuple[str, ...]:
        return self.instructors + self.learners

    def account(self, name: str) -> str:
        """The Unix account of a member of the class (``lab-alice``)."""
        return ACCOUNT_PREFIX + name


def _names(data: dict, key: str, source: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise ConfigError(f"{source}: {key}", "must be a list of names")
    for name in value:
        if not NAME.match(name):
            raise ConfigError(f"{source}: {key}", f"{name!r} is not a name (a-z, 0-9, '_', 1-16 "
                              "characters, starting with a letter)")
    return tuple(value)


def parse(text: str, source: str = "roster") -> Roster:
    """A Roster from TOML; ConfigError (one line, naming the field) for anything wrong.

    >>> r = parse('name = "c1"\\ninstructors = ["ines"]\\nlearners = ["alice", "bob"]\\n')
    >>> r.everyone, r.account("bob")
    (('ines', 'alice', 'bob'), 'lab-bob')
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, f"not TOML: {error}") from None
    unknown = set(data) - _KEYS
    if unknown:
        raise ConfigError(source, f"unknown key(s): {', '.join(sorted(unknown))} "
                          f"(a roster has {', '.join(sorted(_KEYS))})")
    name = data.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(f"{source}: name", "the class needs a name (a-z, 0-9, '_', 1-16 characters)")
    instructors, learners = _names(data, "instructors", source), _names(data, "learners", source)
    if not instructors:
        raise ConfigError(f"{source}: instructors", "a class needs at least one instructor")
    everyone = instructors + learners
    twice = sorted({n for n in everyone if everyone.count(n) > 1})
    if twice:
        raise ConfigError(source, f"named twice: {', '.join(twice)}")
    passwords = data.get("passwords", {})
    if not isinstance(passwords, dict):
        raise ConfigError(f"{source}: passwords", "must be a table of name = \"password\"")
    for who, password in passwords.items():
        if who not in everyone:
            raise ConfigError(f"{source}: passwords", f"{who!r} is not in the class")
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise ConfigError(f"{source}: passwords",
                              f"{who}'s password needs {MIN_PASSWORD} characters or more")
    engines = data.get("engines", 1)
    if isinstance(engines, bool) or not isinstance(engines, int) or not 1 <= engines <= MAX_ENGINES:
        raise ConfigError(f"{source}: engines", f"must be a whole number from 1 to {MAX_ENGINES}, "
                          f"not {engines!r}")
    pool = data.get("pool", 0)
    if isinstance(pool, bool) or not isinstance(pool, int) or not 0 <= pool <= MAX_POOL:
        raise ConfigError(f"{source}: pool", f"must be a whole number from 0 to {MAX_POOL}, not {pool!r}")
    return Roster(name, instructors, learners, dict(passwords), engines, pool)


def load(path: Path | str) -> Roster:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(str(path), error.strerror or "cannot be read") from None
    return parse(text, str(path))
