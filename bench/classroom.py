"""A class on JupyterHub: login to a ready kernel, and memory per learner (root only).

    python -m bench --only classroom

starts a class of its own (``python -m classroom up`` with folders, ports and
members of its own: bench_s1 ... bench_s3, bench_l1 ... bench_l5, bench_ines; the
same way the tests start theirs, tests/classroom/hubclass.py), then:

* the floor: bench_s1, bench_s2, bench_s3 log in one after the other, each alone;
  seconds from the login form's POST until a kernel of theirs has executed ``1+1``
  (the hub starts their server, JupyterLab answers, a kernel starts, a websocket runs
  the code), the median of the three; then each starts a lab in that kernel, and the
  memory of a learner's processes and lab alone, the median of the three;
* ``classroom_login_p50`` / ``classroom_login_p95``: five learners log in at the same
  moment (first use: each sets a password), each timed as above;
* ``classroom_memory_per_learner``: each of the five starts a lab in their kernel
  (``start_lab('01')``, as notebook 01 does); per learner, the resident memory of their
  processes (server and kernel: every process of their Unix account, RSS) plus their
  lab's containers (as `docker stats` counts them), the median of the five.

Everything is removed at the end (``down --purge``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from labenv import LabError

from .figures import GIB, MIB, Figure, container_memory

COUNT = 5
SOLOS = ("bench_s1", "bench_s2", "bench_s3")
LEARNERS = tuple(f"bench_l{i}" for i in range(1, COUNT + 1))
INSTRUCTOR = "bench_ines"


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the nearest ranks (numpy's default)."""
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def process_memory(uid: int) -> dict[str, int]:
    """RSS and PSS (bytes) of every process of the Unix account ``uid``, and how many."""
    rss = pss = count = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.stat().st_uid != uid:
                continue
            for line in (proc / "smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
            count += 1
        except OSError:
            continue
    return {"rss": rss, "pss": pss, "processes": count}


def _members(klass):
    from tests.classroom.hubclass import HubUser

    return {name: HubUser(klass.url, name, f"{name}-pass-{os.getpid()}") for name in (*SOLOS, *LEARNERS)}


def login_to_kernel(member) -> tuple[float, str, float]:
    """Seconds from the login POST until a new kernel of the member's has run ``1+1``; the
    kernel; and the seconds of that until their JupyterLab answered."""
    member.login_page()
    started = time.monotonic()
    answer = member.submit_login()
    if answer.status_code != 200:
        raise LabError(f"{member.name}: login answered {answer.status_code}")
    member.wait_server()
    server = time.monotonic() - started
    kernel = member.start_kernel()
    out = member.run(kernel, "1+1")
    if out.strip() != "2":
        raise LabError(f"{member.name}'s kernel answered {out.strip()[:80]!r} to 1+1")
    return time.monotonic() - started, kernel, server


def start_lab(member, kernel: str) -> None:
    out = member.run(kernel, "from helpers.notebook import start_lab\nlab = start_lab('01')\n")
    if f"lab {member.name}-nb01 is up" not in out:
        raise LabError(f"{member.name}: no lab: {out.strip()[-200:]}")


def learner_memory(klass, name: str) -> dict[str, int]:
    engine = klass.engine()
    uid = klass.accounts()[name].pw_uid
    containers = engine.containers.list(filters={"label": f"labenv.lab={name}-nb01"})
    lab = sum(container_memory(c) for c in containers)
    own = process_memory(uid)
    return {"server_kernel_rss": own["rss"], "server_kernel_pss": own["pss"], "processes": own["processes"],
            "lab": lab, "containers": len(containers), "total": own["rss"] + lab}


def classroom(say=print) -> list[Figure]:
    """The class figures; the class is started here and removed before this returns."""
    from classroom import enginecfg
    from tests.classroom.hubclass import TestClass

    if os.geteuid() != 0:
        raise LabError("the classroom figures need root (a class makes accounts and an engine)")
    if Path("/run/netns", enginecfg.NETNS).exists():
        raise LabError("a class runs on this host; the bench starts its own only where none runs")
    with tempfile.TemporaryDirectory(prefix="bench-class-") as work:
        klass = TestClass("bench", learners=(*SOLOS, *LEARNERS), instructors=(INSTRUCTOR,),
                          passwords={INSTRUCTOR: f"bench-instructor-{os.getpid()}"},
                          port=28900, engine_port=23763, work=Path(work))
        klass.write_roster()
        klass.learner_copy()
        started = time.monotonic()
        try:
            klass.up()
            up_s = time.monotonic() - started
            say(f"class up in {up_s:.1f} s")
            members = _members(klass)
            alone, alone_memory = {}, {}
            for name in SOLOS:                    # one at a time: each learner alone
                alone[name] = login_to_kernel(members[name])
                start_lab(members[name], alone[name][1])
                time.sleep(5)                     # the lab's start settles
                alone_memory[name] = learner_memory(klass, name)
                members[name].api("DELETE", f"kernels/{alone[name][1]}")
                stopped = members[name].hub_api("DELETE", f"users/{name}/server")   # server and lab go
                if stopped.status_code not in (202, 204):
                    raise LabError(f"{name}'s server did not stop: {stopped.status_code} {stopped.text[:100]}")
            floor = statistics.median(a[0] for a in alone.values())
            floor_server = statistics.median(a[2] for a in alone.values())
            floor_memory = min(alone_memory.values(), key=lambda m: abs(m["total"] - statistics.median(
                x["total"] for x in alone_memory.values())))

            with ThreadPoolExecutor(max_workers=COUNT) as pool:
                logins = dict(zip(LEARNERS, pool.map(lambda n: login_to_kernel(members[n]), LEARNERS)))
            times = [logins[n][0] for n in LEARNERS]
            with ThreadPoolExecutor(max_workers=COUNT) as pool:
                list(pool.map(lambda n: start_lab(members[n], logins[n][1]), LEARNERS))
            time.sleep(5)
            memory = {n: learner_memory(klass, n) for n in LEARNERS}
        finally:
            down = klass.down(purge=True)
            shutil.rmtree(klass.env["LABENV_CLASS_LOG"], ignore_errors=True)
            if down.returncode != 0:
                say(f"class down failed: {down.stderr.strip()[-200:]}")
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    detail = {"learners_at_once": COUNT, "login_to_kernel_s": [round(t, 2) for t in times],
              "of_which_server_ready_s": [round(logins[n][2], 2) for n in LEARNERS],
              "floor_runs_s": [round(a[0], 2) for a in alone.values()],
              "floor_server_ready_s": round(floor_server, 2),
              "class_up_s": round(up_s, 1), "cpus": os.cpu_count(),
              "floor_is": "one learner alone (median of three, one after the other), same class, "
                          "just before: login POST to `1+1` run"}
    totals = [m["total"] for m in memory.values()]
    per_learner = statistics.median(totals)
    mib = lambda m: {k: (round(v / MIB, 1) if k not in ("processes", "containers") else v)  # noqa: E731
                     for k, v in m.items()}
    # Five servers starting at once share the CPUs: the best there can be is 5 / CPUs times one alone.
    share = max(1.0, COUNT / (os.cpu_count() or 1))
    return [
        Figure("classroom_login_p50", p50, "s", floor,
               f"5 learners at once: p50 within {share:.3g}x of one alone (5 logins sharing the CPUs)",
               met=p50 <= share * floor, detail=detail),
        Figure("classroom_login_p95", p95, "s", floor, "5 learners at once: p95 under 30 s",
               met=p95 < 30, detail=detail),
        Figure("classroom_memory_per_learner", per_learner / MIB, "MiB", floor_memory["total"] / MIB,
               "30 learners in 24 GiB: server, kernel and one lab at most 800 MiB per learner",
               met=max(totals) <= 24 * GIB / 30,
               detail={"per_learner": {n: mib(m) for n, m in memory.items()}, "floor": mib(floor_memory),
                       "floor_is": "the same for one learner alone (server, kernel, one lab; the median "
                                   "of three), same class, just before",
                       "rss_note": "RSS counts shared library pages in every process; pss shares them out"}),
    ]
