"""Hot-start: spare labs started before anyone asks for one, claimed by renaming.

    python -m labenv pool fill 10 [--debian trixie]    # 10 spares, kept topped up
    python -m labenv pool status
    python -m labenv pool drain

A spare is a whole lab (four containers, two networks) started cold, under the
name ``_spare-<id>`` that no one can give a lab (lab names start with a letter or
digit). While it starts, its containers are called ``labenv-_warm-<id>-<role>``;
once every role has reported ready they are renamed ``labenv-_spare-<id>-<role>``,
and only those are claimed.

``Lab.up(name)`` claims one: the mailserver container is renamed from its spare
name to ``labenv-<name>-mailserver`` (two claims of one spare cannot both
succeed: the old name is gone after the first), then the other three. Labels
cannot change after a container is made, so a claimed lab keeps ``labenv.lab=
_spare-<id>`` and the label ``labenv.spare``; labenv finds labs by their
containers' names. Nothing of the lab itself changes: it is the lab that
would have started cold, with Debian's defaults, an empty queue and empty inboxes.

After a claim the pool is topped up in the background, to the size last given
to ``pool fill`` (at most LABENV_POOL_CAP, default 40). A spare older than
LABENV_POOL_MAX_AGE seconds (default 6 hours), or made from images that have
since been rebuilt, is removed and replaced.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from docker.errors import APIError, NotFound

from . import build, engines
from .errors import LabError
from .lab import LABEL_SPARE, Lab, _lock_folder, remove_by_label
from .topology import ROLES

LABEL_POOL = "labenv.pool"       # value: the pool's name (LABENV_POOL, default "default")
LABEL_IMAGES = "labenv.images"   # value: images_key() of the images it was made from
POOL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,29}$")
WARM, SPARE = "_warm-", "_spare-"
#: How many spares start at once while filling (each is four containers).
BATCH = 4


def batch() -> int:
    return _int_env("LABENV_POOL_BATCH", BATCH, 1, 32)


def name() -> str:
    """The pool this process fills and claims from: LABENV_POOL, default "default"."""
    text = os.environ.get("LABENV_POOL", "") or "default"
    if not POOL_NAME.match(text):
        raise LabError(f"LABENV_POOL {text!r} is not a pool name: 1-30 of a-z, 0-9, '-', '_'")
    return text


def settings() -> dict:
    """The pool's settings from the environment; LabError in one line for a bad one."""
    return {"pool": name(), "cap": cap(), "max_age": max_age()}


def cap() -> int:
    return _int_env("LABENV_POOL_CAP", 40, 0, 500)


def max_age() -> int:
    return _int_env("LABENV_POOL_MAX_AGE", 6 * 3600, 1, 30 * 24 * 3600)


def _int_env(name: str, default: int, low: int, high: int) -> int:
    text = os.environ.get(name, "")
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise LabError(f"{name} must be a whole number from {low} to {high}, got {text!r}")
    return int(text)


@dataclass
class Spare:
    id: str
    suite: str
    started: float
    containers: dict = field(default_factory=dict)  # role -> container

    @property
    def ready(self) -> bool:
        return (set(self.containers) == set(ROLES)
                and all(_name(c).startswith(f"labenv-{SPARE}") and c.status == "running"
                        for c in self.containers.values()))

    @property
    def warming(self) -> bool:
        return any(_name(c).startswith(f"labenv-{WARM}") for c in self.containers.values())

    def age(self, now: float | None = None) -> float:
        return (now or time.time()) - self.started

    def current(self, tags: dict[str, str]) -> bool:
        """Made from the images the suite has now."""
        return all(c.attrs.get("Image") == tags[ROLES[role].image] for role, c in self.containers.items())


def _name(container) -> str:
    """A listed container's name (a sparse listing has "Names", not "Name")."""
    names = container.attrs.get("Names") or [container.attrs.get("Name") or ""]
    return names[0].lstrip("/")


def spares(where: engines.Engine, suite: str | None = None) -> list[Spare]:
    """The engine's unclaimed spare labs (ready or still starting), oldest first."""
    filters = {"label": [LABEL_SPARE, f"{LABEL_POOL}={name()}"] + ([f"labenv.suite={suite}"] if suite else []),
               "name": f"^/?labenv-({re.escape(WARM)}|{re.escape(SPARE)})"}
    found: dict[str, Spare] = {}
    # sparse: one request for the listing, not one more per container
    for c in where.client().containers.list(all=True, sparse=True, filters=filters):
        labels = c.attrs.get("Labels") or {}
        spare = found.setdefault(labels["labenv.id"], Spare(
            labels["labenv.id"], labels.get("labenv.suite", build.DEFAULT_SUITE),
            float(labels.get(LABEL_SPARE) or 0)))
        spare.containers[labels.get("labenv.role", "?")] = c
    return sorted(found.values(), key=lambda s: s.started)


# -- claiming -----------------------------------------------------------------------
def claim(where: engines.Engine, lab: str, suite: str, tags: dict[str, str]) -> Lab | None:
    """Rename a ready spare of `suite` on `where` into lab `lab`; None if there is none."""
    client = where.client()
    api = client.api
    if cap() == 0:
        return None
    taken = _take(where, api, lab, suite, tags, time.time())
    if taken is None:
        refill_in_background(where, suite)
        return None
    lab_id, spare_name = taken
    key = spare_name.removeprefix(f"labenv-{SPARE}").removesuffix("-mailserver")
    try:
        for role in ROLES:
            if role != "mailserver":
                api.rename(f"labenv-{SPARE}{key}-{role}", f"labenv-{lab}-{role}")
    except APIError as error:
        with contextlib.suppress(APIError):
            remove_by_label(f"labenv.id={lab_id}", client)
        raise LabError(f"claiming a spare lab for {lab!r} failed ({str(error)[:120]}); "
                       "start again, or empty the pool with `python -m labenv pool drain`") from None
    refill_in_background(where, suite)
    # The listing's containers serve (by id); status() reads the rest when asked.
    found = client.containers.list(all=True, sparse=True, filters={"label": f"labenv.id={lab_id}"})
    containers = {(c.attrs.get("Labels") or {}).get("labenv.role"): c for c in found}
    return Lab(lab, lab_id, suite, containers, where)


@contextlib.contextmanager
def _claiming(where: engines.Engine):
    """This user's claims on one engine, one at a time (a claim holds it for milliseconds).

    The engine renames a container by its old name, so a spare another user claimed
    a moment earlier is no longer found under it; the lock closes the last gap, two
    renames of one container by the same user racing each other.
    """
    digest = hashlib.sha256(_key(where, "claim").encode()).hexdigest()[:12]
    with open(_lock_folder() / f"claim-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _take(where: engines.Engine, api, lab: str, suite: str, tags: dict[str, str],
          now: float) -> tuple[str, str] | None:
    """Rename a usable spare's mailserver to lab `lab`'s; (its lab id, its spare name), or None.

    Only ready spares' mailservers are asked for (a spare's mailserver is renamed last,
    once all four are ready), made from the suite's images of now. Claims made at the
    same moment pick different spares (at random), so they rarely meet; when they do,
    the loser is told apart by the name the container has after its rename, and tries
    the next one.
    """
    filters = {"label": [LABEL_SPARE, f"{LABEL_POOL}={name()}", f"labenv.suite={suite}",
                         "labenv.role=mailserver", f"{LABEL_IMAGES}={images_key(tags)}"],
               "name": f"^/?labenv-{re.escape(SPARE)}", "status": "running"}
    # a margin before the age at which the keeper recycles it, so the two never meet
    young = max_age() - min(60, max_age() / 2)
    usable = [c for c in where.client().containers.list(all=True, sparse=True, filters=filters)
              if now - float((c.attrs.get("Labels") or {}).get(LABEL_SPARE) or 0) < young]
    random.SystemRandom().shuffle(usable)
    want = f"labenv-{lab}-mailserver"
    for mailserver in usable:
        spare_name = _name(mailserver)
        with _claiming(where):
            try:  # by the old name: a spare someone else claimed a moment ago is not found
                api.rename(spare_name, want)
                mailserver.reload()
            except (NotFound, APIError):
                continue
        if mailserver.name == want:
            return mailserver.labels["labenv.id"], spare_name
    return None


def images_key(tags: dict[str, str]) -> str:
    """A spare's images, in one label: what it was made from."""
    return hashlib.sha256(" ".join(sorted(tags.values())).encode()).hexdigest()[:16]


# -- filling ------------------------------------------------------------------------
def _start_spare(where: engines.Engine, suite: str, tags: dict[str, str]) -> str:
    """Start one spare cold under its warming name, then rename it ready; its id."""
    key = uuid.uuid4().hex[:10]
    lab = Lab._up(where, f"{WARM}{key}", suite, tags,
                  labels={LABEL_SPARE: str(int(time.time())), LABEL_POOL: name(),
                          LABEL_IMAGES: images_key(tags)})
    api = where.client().api
    try:  # the mailserver last: a claim looks only for ready spares' mailservers
        for role in sorted(lab._containers, key=lambda r: r == "mailserver"):
            api.rename(lab._containers[role].id, f"labenv-{SPARE}{key}-{role}")
    except APIError:
        lab.down()
        raise
    return lab.id


def fill(count: int, suite: str = build.DEFAULT_SUITE, where: engines.Engine | None = None,
         say=print, remember: bool = True) -> dict:
    """Bring the pool on `where` to `count` ready spares of `suite`; returns what it did."""
    build.check_suite(suite)
    if not 0 <= count <= cap():
        raise LabError(f"a pool of {count} is not possible: 0 to {cap()} spares (LABENV_POOL_CAP)")
    where = where or engines.configured()[0]
    if remember:
        _set_target(where, suite, count)
    tags = build.ensure_all(suite, say)
    build.ensure_on(where.client(), tags, say)
    t0 = time.monotonic()
    recycled = recycle(where, suite, tags)
    have = [s for s in spares(where, suite) if s.ready or s.warming]
    extra = have[count:] if len(have) > count else []
    for spare in extra:
        remove_by_label(f"labenv.id={spare.id}", where.client())
    need = max(0, count - len(have))
    errors: list[str] = []
    if need:
        say(f"labenv: starting {need} spare lab(s) of Debian {suite} on {where.name}")
        with ThreadPoolExecutor(max_workers=max(1, min(batch(), need))) as pool:
            for future in [pool.submit(_start_spare, where, suite, tags) for _ in range(need)]:
                try:
                    future.result()
                except Exception as error:  # one failed spare does not stop the others
                    errors.append(str(error).splitlines()[0][:160])
    ready = sum(1 for s in spares(where, suite) if s.ready)
    if errors:
        say(f"labenv: {len(errors)} spare(s) did not start: {errors[0]}")
    return {"engine": where.name, "suite": suite, "target": count, "started": need - len(errors),
            "removed": len(extra), "recycled": recycled, "ready": ready,
            "seconds": round(time.monotonic() - t0, 2), "errors": errors}


def recycle(where: engines.Engine, suite: str | None = None, tags: dict[str, str] | None = None) -> int:
    """Remove spares that are too old, broken, stuck starting, or (given the suite's `tags`)
    made from images since rebuilt; how many."""
    now = time.time()
    removed = 0
    for spare in spares(where, suite):
        if set(spare.containers) != set(ROLES):
            continue  # being claimed this moment: its mailserver carries a learner's name already
        stale = tags is not None and not spare.warming and not spare.current(tags)
        broken = not spare.warming and not spare.ready
        # a spare still warming after 10 minutes is stuck
        stuck = spare.warming and spare.age(now) > 600
        if spare.age(now) > max_age() or stale or broken or stuck:
            remove_by_label(f"labenv.id={spare.id}", where.client())
            removed += 1
    return removed


def drain(where: engines.Engine | None = None, suite: str | None = None) -> int:
    """Remove every spare (of `suite`, or all) and forget the pool's size; how many labs."""
    count = 0
    for e in [where] if where else engines.answering()[0]:
        for spare in spares(e, suite):
            remove_by_label(f"labenv.id={spare.id}", e.client())
            count += 1
        for s in [suite] if suite else build.SUITES:
            _set_target(e, s, 0)
    return count


def status() -> list[dict]:
    """Per engine and suite: ready, warming, oldest age, the size it is kept at."""
    rows = []
    found, down = engines.each(lambda e: spares(e))
    targets = _targets()
    for e in engines.configured():
        if e in down:
            rows.append({"engine": e.name, "suite": "-", "ready": None, "warming": None,
                         "oldest_s": None, "target": None, "answers": False})
            continue
        for suite in build.SUITES:
            mine = [s for s in found.get(e, []) if s.suite == suite]
            target = targets.get(_key(e, suite), 0)
            if not mine and not target:
                continue
            rows.append({"engine": e.name, "suite": suite,
                         "ready": sum(1 for s in mine if s.ready),
                         "warming": sum(1 for s in mine if s.warming),
                         "oldest_s": int(max((s.age() for s in mine), default=0)),
                         "target": target, "answers": True})
    return rows


# -- the size to keep, and the background top-up ------------------------------------
def _state_file() -> Path:
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return Path(os.environ.get("LABENV_POOL_STATE") or base / "labenv" / "pool.json")


def _key(where: engines.Engine, suite: str) -> str:
    return f"{where.url or os.environ.get('DOCKER_HOST') or 'local'} {suite} {name()}"


def _targets() -> dict[str, int]:
    try:
        data = json.loads(_state_file().read_text())
        return {k: int(v) for k, v in data.items()} if isinstance(data, dict) else {}
    except (OSError, ValueError, TypeError):
        return {}


def _set_target(where: engines.Engine, suite: str, count: int) -> None:
    path = _state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    targets = _targets()
    if count:
        targets[_key(where, suite)] = count
    else:
        targets.pop(_key(where, suite), None)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(targets, indent=1, sort_keys=True))
    tmp.replace(path)


def target(where: engines.Engine, suite: str) -> int:
    return _targets().get(_key(where, suite), 0)


def refill_in_background(where: engines.Engine, suite: str) -> None:
    """Top the pool up to its size in a process of its own (it outlives a notebook's kernel)."""
    if not target(where, suite) or os.environ.get("LABENV_POOL_NO_REFILL") == "1":
        return
    log = _state_file().with_name("pool-refill.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **({"LABENV_ENGINES": f"{where.name}={where.url}"} if where.url else {})}
    # Behind the learners' claims: a moment later, two spares at a time, at a lower priority.
    env.setdefault("LABENV_POOL_BATCH", "2")
    env.setdefault("LABENV_POOL_REFILL_DELAY", "3")
    env.pop("LABENV_LAB_PREFIX", None)
    with open(log, "ab") as out:
        subprocess.Popen([sys.executable, "-m", "labenv", "pool", "refill", "--debian", suite,
                          "--engine", where.name],
                         env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, cwd="/")


@contextlib.contextmanager
def refilling(where: engines.Engine, suite: str):
    """One refill per engine and suite at a time; yields False if another one runs.

    The lock lies beside the pool's size (LABENV_POOL_STATE), which every process
    that refills it reads.
    """
    digest = hashlib.sha256(_key(where, suite).encode()).hexdigest()[:12]
    folder = _state_file().parent
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"refill-{digest}.lock"
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def refill(where: engines.Engine, suite: str, say=print) -> dict | None:
    """Top up to the size last given to `fill`; None if another refill is at it."""
    with refilling(where, suite) as mine:
        if not mine:
            return None
        delay = float(_int_env("LABENV_POOL_REFILL_DELAY", 0, 0, 600))
        if delay:
            os.nice(5)
            time.sleep(delay)
        # Claims go on while it fills: again until the pool is full (or drained meanwhile).
        for _round in range(10):
            done = fill(target(where, suite), suite, where, say=say, remember=False)
            if done["ready"] == target(where, suite) or done["errors"]:
                break
        return done


def sweep(where: engines.Engine, older_than: float = 120) -> int:
    """Remove spare networks no container of their lab uses any more (a claimed lab taken
    down by a learner of a class leaves them); how many."""
    client = where.client()
    live = {(c.attrs.get("Labels") or {}).get("labenv.id") for c in client.containers.list(
        all=True, ignore_removed=True, sparse=True, filters={"label": LABEL_SPARE})}
    removed = 0
    for net in client.networks.list(filters={"label": LABEL_SPARE}):
        labels = net.attrs.get("Labels") or {}
        created = net.attrs.get("Created", "")
        if labels.get("labenv.id") in live or _age_of(created) < older_than:
            continue
        with contextlib.suppress(NotFound, APIError):
            net.remove()
            removed += 1
    return removed


def _age_of(created: str) -> float:
    """Seconds since an engine's RFC 3339 time (nanoseconds and all); 0 if unreadable."""
    from datetime import datetime

    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$", created or "")
    if not match:
        return 0.0
    stamp = datetime.fromisoformat(match[1] + ("+00:00" if match[2] == "Z" else match[2]))
    return time.time() - stamp.timestamp()


def keep(where: engines.Engine, suite: str, size: int, every: float = 5.0, say=print) -> None:
    """The pool's keeper, for a class engine: every `every` seconds, recycle, top up to `size`
    and sweep; until stopped (SIGTERM or Ctrl-C)."""
    if not 0 <= size <= cap():
        raise LabError(f"a pool of {size} is not possible: 0 to {cap()} spares (LABENV_POOL_CAP)")
    _set_target(where, suite, size)
    say(f"labenv: keeping {size} spare lab(s) of Debian {suite} on {where} (pool {name()})")
    while True:
        try:
            refill(where, suite, say=lambda *_: None)
            sweep(where, older_than=30)
        except Exception as error:  # the keeper outlives an engine's bad minute
            say(f"labenv: pool keeper: {str(error).splitlines()[0][:200]}")
        time.sleep(every)


def wait_for_refill(where: engines.Engine, suite: str, timeout: float = 300) -> bool:
    """Wait until no refill of this pool runs (True), or `timeout` seconds (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with refilling(where, suite) as free:
            if free:
                return True
        time.sleep(0.5)
    return False
