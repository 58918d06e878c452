"""One function per figure; each returns a :class:`Figure` (or several).

A figure's floor is measured in the same run, the plainest way the same result
can be had, so that ``ratio = value / floor`` says what the lab's machinery costs.
"""

from __future__ import annotations

import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from labenv import Lab, LabError, build, engine, wait
from labenv.configure import apply_howto, apply_mc, install_mailertable, read_mc
from labenv.lab import LABEL_LAB, remove_lab
from labenv.sendmail.maps import mailertable_frame
from labenv.testmode import route_table
from labenv.topology import ROLES

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GIB = 1024 ** 3
MIB = 1024 ** 2
FLOOR_LABEL = "labenv.bench"


def quiet(*_args) -> None:
    pass


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    floor: float | None
    goal: str
    met: bool | None = None
    detail: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor

    def as_dict(self) -> dict:
        ratio = self.ratio
        return {"name": self.name, "value": _round(self.value), "unit": self.unit,
                "floor": _round(self.floor), "ratio": None if ratio is None else round(ratio, 3),
                "goal": self.goal, "met": self.met, "detail": self.detail}


def _round(value):
    if isinstance(value, float):
        return round(value, 3 if abs(value) < 100 else 1)
    return value


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    started = time.monotonic()
    result = fn(*args, **kwargs)
    return time.monotonic() - started, result


def median_of(times: list[float]) -> float:
    return statistics.median(times)


# -- memory -------------------------------------------------------------------
def container_memory(container) -> int:
    """Bytes in use, as `docker stats` counts them (usage minus inactive file cache)."""
    stats = container.stats(stream=False, one_shot=True)
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage") or 0
    detail = memory.get("stats") or {}
    cache = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return max(0, usage - cache)


def lab_memory_bytes(name: str) -> dict[str, int]:
    client = engine.connect()
    found = client.containers.list(ignore_removed=True, filters={"label": f"{LABEL_LAB}={name}"})
    with ThreadPoolExecutor(max_workers=8) as pool:
        sizes = list(pool.map(container_memory, found))
    return {c.labels.get("labenv.role", c.name): size for c, size in zip(found, sizes)}


# -- the floor for a lab: bare `docker run` of the same images -----------------------
FLOOR_RUNS = {  # role -> (image, extra `docker run` arguments, command)
    "mailserver": ("mailserver", ["--hostname", "mailserver.private.lan"], []),
    "relayhost": ("relayhost", ["--hostname", "relayhost.somedom.com"],
                  ["--profile", "provider", "--hostname", "relayhost.somedom.com"]),
    "mailhost": ("relayhost", ["--hostname", "mailhost.private.lan"],
                 ["--profile", "sink", "--hostname", "mailhost.private.lan"]),
}


def bare_run(role: str, tag: str, ready: str, keep: dict, timeout: float = 90) -> float:
    """`docker run` the image with nothing of labenv around it; seconds until its ready line.

    No network at all (`--network none`): nothing leaves the machine. The container
    keeps running until `remove_floor()`; its id lands in `keep[role]`.
    """
    _image, extra, command = FLOOR_RUNS[role]
    name = f"bench-floor-{role}-{os.getpid()}"
    started = time.monotonic()
    proc = subprocess.Popen(["docker", "run", "--rm", "--name", name, "--network", "none",
                             "--label", f"{FLOOR_LABEL}=floor", *extra, tag, *command],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    keep[role] = (name, proc)
    pattern = re.compile(ready)
    deadline = started + timeout
    for line in proc.stdout:
        if pattern.search(line):
            return time.monotonic() - started
        if time.monotonic() > deadline:
            break
    raise LabError(f"bare docker run of {tag} never printed {ready!r}")


def remove_floor(keep: dict) -> None:
    for name, proc in keep.values():
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    keep.clear()


def floor_start(tags: dict[str, str], measure_memory: bool = False) -> tuple[float, dict]:
    """The three non-router images started bare at once; seconds until all are ready."""
    keep: dict = {}
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = {role: pool.submit(bare_run, role, tags[FLOOR_RUNS[role][0]],
                                         ROLES[role].ready, keep) for role in FLOOR_RUNS}
            times = {role: f.result() for role, f in futures.items()}
        memory = {}
        if measure_memory:
            client = engine.connect()
            memory = {role: container_memory(client.containers.get(name))
                      for role, (name, _) in keep.items()}
        return max(times.values()), {"per_role_s": times, "memory": memory}
    finally:
        remove_floor(keep)


# -- figures --------------------------------------------------------------------------
def image_rebuild_noop(suite: str) -> Figure:
    said: list[str] = []
    elapsed, tags = timed(build.ensure_all, suite, said.append)
    client = engine.connect()
    floor, _ = timed(lambda: [client.images.get(t) for t in tags.values()])
    hash_time, _ = timed(lambda: [build.folder_hash(n, suite) for n in build.IMAGES])
    built = [line for line in said if "building" in line]
    return Figure("image_rebuild_noop", elapsed, "s", floor,
                  "no rebuild when nothing changed, under 5 s",
                  met=not built and elapsed < 5,
                  detail={"rebuilt": built, "hashing_s": round(hash_time, 3),
                          "floor_is": "three `images.get` calls on the engine"})


def image_build_full(suite: str) -> Figure:
    """From nothing: the base image bootstrapped from the Debian mirror, then every image
    built without the layer cache, all under temporary tags (minutes; --full)."""
    client = engine.connect()
    per_image, temporary = {}, []
    base = f"labenv-bench/debian:{suite}-slim"
    try:
        bootstrap, _ = timed(build.bootstrap_base, suite, base, quiet)
        temporary.append(base)
        base_tag = f"labenv-bench/{build.BASE}:{suite}-fromscratch"
        for name in (build.BASE, *build.IMAGES):   # the three lab images are built FROM base
            tag = f"labenv-bench/{name}:{suite}-fromscratch"
            buildargs = {"DEBIAN": suite} if name == build.BASE else {"BASE": base_tag}
            started = time.monotonic()
            for chunk in client.api.build(fileobj=io.BytesIO(build.context_tar(name)),
                                          custom_context=True, tag=tag, nocache=True,
                                          rm=True, forcerm=True, buildargs=buildargs,
                                          decode=True):
                if "error" in chunk:
                    raise LabError(f"building {name} failed: {chunk['error'].strip()[:200]}")
            per_image[name] = round(time.monotonic() - started, 1)
            temporary.append(tag)
    finally:
        for tag in reversed(temporary):   # the lab images before the base they stand on
            try:
                client.images.remove(tag)
            except Exception:
                pass
    total = bootstrap + sum(per_image.values())
    return Figure("image_build_full", total, "s", None,
                  "informational: debootstrap + import of the base, then every image without cache",
                  met=None, detail={"bootstrap_s": round(bootstrap, 1), "per_image_s": per_image})


def lab_ready(suite: str, reps: int = 3) -> tuple[Figure, Figure, Lab]:
    """Lab.up (images present) against the bare `docker run`s; leaves one lab running."""
    tags = build.ensure_all(suite, quiet)
    floors, memory = [], {}
    for i in range(reps):
        seconds, info = floor_start(tags, measure_memory=(i == reps - 1))
        floors.append(seconds)
        memory = info["memory"] or memory
    ups, lab = [], None
    for _ in range(reps):
        if lab is not None:
            lab.down()
        seconds, lab = timed(Lab.up, "bench-ready", suite, say=quiet)
        ups.append(seconds)
    floor, value = median_of(floors), median_of(ups)
    ready = Figure("lab_ready", value, "s", floor, "within 1.5x of the floor",
                   met=value <= 1.5 * floor,
                   detail={"lab_up_s": [round(t, 3) for t in ups],
                           "floor_s": [round(t, 3) for t in floors],
                           "floor_is": "bare `docker run --network none` of the mailserver, "
                                       "provider and sink images at once until each prints its "
                                       "ready line (the router needs the lab's networks)"})
    # Idle: the lab has just started; the floor containers were measured just after theirs.
    wait_idle(lab)
    per_role = lab_memory_bytes(lab.name)
    floor_mem = sum(memory.values())
    value_mem = sum(per_role.values())
    mem = Figure("lab_memory", value_mem / MIB, "MiB", floor_mem / MIB if floor_mem else None,
                 "30 labs in 24 GiB: at most 800 MiB per lab",
                 met=value_mem <= 24 * GIB / 30,
                 detail={"per_role_mib": {r: round(b / MIB, 1) for r, b in sorted(per_role.items())},
                         "floor_per_role_mib": {r: round(b / MIB, 1) for r, b in sorted(memory.items())},
                         "floor_is": "the same bare containers as lab_ready's floor (no router)"})
    return ready, mem, lab


def wait_idle(lab: Lab, timeout: float = 20) -> None:
    """Until the mailserver's load settles: no sendmail child beyond the daemon."""
    def idle() -> bool:
        out = lab.exec("mailserver", ["sh", "-c", "pgrep -c -f '^sendmail' || true"]).stdout.strip()
        return out == "1"

    try:
        wait.until(idle, timeout, "the mailserver to settle", interval=0.2)
    except wait.TimedOut:
        pass   # measure anyway: the figure then includes the leftover load


def reconfigure(lab: Lab, reps: int = 4) -> Figure:
    """Edit sendmail.mc (SMART_HOST), make, reload, until `/parse` shows the new route."""

    targets = ["[relayhost.somedom.com]", "[mailhost.private.lan]"]
    times, steps = [], []
    for i in range(reps):
        host = targets[i % 2]
        started = time.monotonic()
        mc = read_mc(lab)
        new = mc.with_config(mc.config().replace(smart_host=f"relay:{host}"))
        t_apply, _ = timed(apply_mc, lab, new.text)
        t_route, table = timed(route_table, lab, ["friend@example.com"])
        elapsed = time.monotonic() - started
        got = table.iloc[0]["host"]
        if got != host:
            raise LabError(f"reconfigure: /parse shows {got!r}, expected {host!r}")
        times.append(elapsed)
        steps.append({"apply_s": round(t_apply, 3), "parse_s": round(t_route, 3)})
    make_floor = median_of([timed(lab.exec, "mailserver", ["sh", "-c", "cd /etc/mail && make"])[0]
                            for _ in range(3)])
    bt_floor = median_of([timed(lab.exec, "mailserver", ["sendmail", "-bt"], stdin="")[0]
                          for _ in range(3)])
    # A mailertable edit needs no reload: sendmail re-reads a hash map that changed.
    rows = [(".bench.example", "esmtp", "[mailhost.private.lan]")]
    t_map, _ = timed(install_mailertable, lab, mailertable_frame(rows))
    value = median_of(times)
    return Figure("reconfigure", value, "s", make_floor,
                  "under 2 s from edit to the new route in /parse",
                  met=value < 2.0,
                  detail={"runs_s": [round(t, 3) for t in times], "steps": steps,
                          "floor_is": "a bare `make` in /etc/mail with nothing changed (one exec)",
                          "bare_sendmail_bt_s": round(bt_floor, 3),
                          "mailertable_only_s": round(t_map, 3)})


def addresses_200() -> list[str]:
    domains = ["example.com", "example.org", "somedom.com", "hosta.private.lan",
               "foo.darknet.lan", "mailhost.private.lan", "x.y.example.net", "darknet.lan"]
    out = [f"user{i}@{domains[i % len(domains)]}" for i in range(196)]
    return out + ["root", "postmaster", "user@[10.0.0.1]", "a.b@mailserver.private.lan"]


def route_200(lab: Lab) -> Figure:
    """labenv.testmode.route_table (one -bt process) against one `sendmail -bt` exec per address."""
    from labenv.sendmail.parsers import bt as bt_parser

    addresses = addresses_200()
    fast_times, table = [], None
    for _ in range(3):
        seconds, table = timed(route_table, lab, addresses)
        fast_times.append(seconds)

    def naive():
        rows = []
        for address in addresses:
            out = lab.exec("mailserver", ["sendmail", "-bt"], stdin=f"/parse {address}\n")
            rows.extend(bt_parser.parse(out.check().stdout))
        return rows
    naive_time, naive_rows = timed(naive)
    fast = median_of(fast_times)
    same = [(r["mailer"], r["host"]) for r in naive_rows] == list(zip(table["mailer"], table["host"]))
    if not same:
        raise LabError("route_200: the one-process table and the per-address execs disagree")
    return Figure("route_200", fast, "s", naive_time,
                  "at least 20x faster than one exec per address, and under 1 s",
                  met=fast * 20 <= naive_time and fast < 1.0,
                  detail={"runs_s": [round(t, 3) for t in fast_times], "addresses": len(addresses),
                          "speedup": round(naive_time / fast, 1),
                          "floor_is": "the naive way: one `sendmail -bt` exec per address",
                          "results_agree": same})


def nbval_total(timeout: float = 1800) -> list[Figure]:
    """nbval over each notebook, then the total; floor: nbval of a one-cell notebook."""
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    sanitize = ROOT / "tests" / "nbval-sanitize.cfg"
    base = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval"]
    if sanitize.exists():
        base += ["--sanitize-with", str(sanitize)]

    def run(path: Path) -> tuple[float, int, str]:
        started = time.monotonic()
        done = subprocess.run([*base, str(path)], cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
        tail = (done.stdout.strip().splitlines() or [""])[-1]
        return time.monotonic() - started, done.returncode, tail

    with tempfile.TemporaryDirectory(prefix="bench-nbval-") as tmp:
        trivial = Path(tmp) / "trivial.ipynb"
        trivial.write_text(json.dumps(_one_cell_notebook()))
        floor, code, tail = run(trivial)
    if code != 0:
        raise LabError(f"nbval of a one-cell notebook failed: {tail}")
    figures, total, failed = [], 0.0, []
    for path in notebooks:
        seconds, code, tail = run(path)
        total += seconds
        if code != 0:
            failed.append(path.name)
        figures.append(Figure(f"nbval:{path.stem}", seconds, "s", floor,
                              "informational: one notebook under nbval", met=code == 0,
                              detail={"result": tail}))
    figures.append(Figure("nbval_total", total if notebooks else None, "s",
                          floor * len(notebooks) if notebooks else floor,
                          "every notebook passes nbval; total reported",
                          met=(not failed) if notebooks else None,
                          detail={"notebooks": [p.name for p in notebooks], "failed": failed,
                                  "floor_is": "nbval of a one-cell notebook (kernel start + "
                                              "pytest), once per notebook"}))
    return figures


def _one_cell_notebook() -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": 1, "id": "floor", "metadata": {},
                       "outputs": [{"data": {"text/plain": ["2"]}, "execution_count": 1,
                                    "metadata": {}, "output_type": "execute_result"}],
                       "source": ["1 + 1"]}],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"}},
            "nbformat": 4, "nbformat_minor": 5}


def labs_at_once(count: int, suite: str, single_up: float | None) -> Figure:
    """`count` learners type `python -m labenv up` at the same moment (one process each)."""
    names = [f"bench-{count}-{i:02d}" for i in range(count)]
    env = {**os.environ, "LABENV_QUIET": "1"}
    results: dict[str, tuple[int, float, str]] = {}
    lock = threading.Lock()
    started = time.monotonic()

    def one(name: str) -> None:
        t0 = time.monotonic()
        done = subprocess.run([PYTHON, "-m", "labenv", "up", "--lab", name, "--debian", suite,
                               "--no-install-engine"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=900)
        line = (done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or [""])
        with lock:
            results[name] = (done.returncode, time.monotonic() - t0, line[-1][:200])

    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            list(pool.map(one, names))
        elapsed = time.monotonic() - started
        ready = [n for n in names if results[n][0] == 0]
        failures = {n: results[n][2] for n in names if results[n][0] != 0}
        # Each lab really works: all four running, sendmail answers, distinct subnets.
        subnets, broken = [], {}
        for name in ready:
            try:
                lab = Lab.attach(name)
                status = lab.status()
                if not status["running"]:
                    raise LabError("not every container is running")
                lab.exec("mailserver", ["sendmail", "-bt"], stdin="").check()
                subnets += [net.attrs["IPAM"]["Config"][0]["Subnet"] for net in
                            engine.connect().networks.list(filters={"label": f"{LABEL_LAB}={name}"})]
            except Exception as error:
                broken[name] = str(error)[:200]
        failures.update(broken)
        with ThreadPoolExecutor(max_workers=8) as pool:
            memory = sum(sum(m.values()) for m in pool.map(lab_memory_bytes, ready))
    finally:
        remove_labs(names)
    per_lab = [round(results[n][1], 1) for n in names if n in results]
    budget = count * 24 * GIB / 30
    return Figure(f"labs_{count}", elapsed, "s", single_up,
                  f"{count} labs at once on this machine: all ready, none failing, "
                  f"memory within 24 GiB per 30 labs",
                  met=not failures and memory <= budget,
                  detail={"labs": count, "failures": len(failures), "failed": failures,
                          "memory_total_mib": round(memory / MIB),
                          "memory_per_lab_mib": round(memory / MIB / max(1, len(ready)), 1),
                          "per_lab_up_s": {"min": min(per_lab, default=None),
                                           "median": round(median_of(per_lab), 1) if per_lab else None,
                                           "max": max(per_lab, default=None)},
                          "distinct_subnets": len(set(subnets)) == len(subnets),
                          "cpus": os.cpu_count(),
                          "host_memory_gib": round(_host_memory() / GIB, 1),
                          "floor_is": "one lab's Lab.up in this run (lab_ready)"})


def _host_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def remove_labs(names: list[str]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(remove_lab, names))


def cleanup_leftovers() -> None:
    """Bench labs and floor containers a crashed earlier run left behind (bench-* only)."""
    from labenv.lab import list_labs
    remove_labs([n for n in list_labs() if n.startswith("bench-")])
    client = engine.connect()
    for c in client.containers.list(all=True, ignore_removed=True, filters={"label": f"{FLOOR_LABEL}=floor"}):
        if c.name.startswith("bench-floor-"):
            c.remove(force=True)


def howto_applied(lab: Lab) -> None:
    apply_howto(lab, "fixed")
