"""Hot-start figures: one claim, a class of 30 claiming at once, and refilling the pool.

Every learner is a process of its own that has imported labenv and waits, as a
notebook's kernel has when its first cell runs; then all of them start their lab
at the same moment, from the pool (hot) or cold, and each reports its own time.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from labenv import build, engines, pool

from .figures import PYTHON, ROOT, Figure, median_of, quiet, remove_labs

POOL = "bench"
#: A learner's kernel: imports done, then one Lab.up on "go", its seconds on stdout.
LEARNER = """
import sys, time, json
from labenv import Lab
name, suite, hot = sys.argv[1], sys.argv[2], sys.argv[3] == "hot"
print("ready", flush=True)
sys.stdin.readline()
t0 = time.monotonic()
try:
    lab = Lab.up(name, suite, hot=hot, say=lambda *_: None)
    up = time.monotonic() - t0
    lab.exec("mailserver", ["sendmail", "-bt"], stdin="").check()
    s = time.monotonic() - t0
    print(json.dumps({"s": s, "up_s": up, "ok": lab.status()["running"], "claimed": lab.from_pool}))
except Exception as error:
    print(json.dumps({"s": time.monotonic() - t0, "ok": False, "error": str(error)[:200]}))
"""


def _env(refill: bool) -> dict[str, str]:
    env = {**os.environ, "LABENV_POOL": POOL, "LABENV_QUIET": "1"}
    if not refill:
        env["LABENV_POOL_NO_REFILL"] = "1"
    return env


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def at_once(names: list[str], suite: str, hot: bool, refill: bool = False) -> list[dict]:
    """Each name's learner starts its lab at the same moment; their reports.

    Each learner has a lock folder of its own (XDG_RUNTIME_DIR), as each member of a
    class, a Unix user of their own, has.
    """
    runtime = tempfile.mkdtemp(prefix="labenv-bench-")
    procs = []
    for n in names:
        own = Path(runtime) / n
        own.mkdir(mode=0o700)
        procs.append(subprocess.Popen([PYTHON, "-c", LEARNER, n, suite, "hot" if hot else "cold"],
                                      cwd=ROOT, env={**_env(refill), "XDG_RUNTIME_DIR": str(own)},
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True))
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        reports = []
        for p in procs:
            line = p.stdout.readline()
            p.wait(timeout=900)
            reports.append(json.loads(line) if line.strip() else {"s": None, "ok": False, "error": "no report"})
        return reports
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        shutil.rmtree(runtime, ignore_errors=True)


def _fill(count: int, suite: str) -> dict:
    os.environ["LABENV_POOL"] = POOL
    try:
        return pool.fill(count, suite, engines.configured()[0], say=quiet)
    finally:
        os.environ.pop("LABENV_POOL", None)


def _drain() -> None:
    os.environ["LABENV_POOL"] = POOL
    try:
        where = engines.configured()[0]
        for suite in build.SUITES:
            pool.wait_for_refill(where, suite, timeout=600)
        pool.drain(where)
    finally:
        os.environ.pop("LABENV_POOL", None)


def lab_claim(suite: str, cold_up: float | None, reps: int = 10) -> list[Figure]:
    """`reps` labs one after another from a pool of `reps` (refilling behind them), and the refill."""
    names = [f"bench-claim-{i:02d}" for i in range(reps)]
    try:
        filled = _fill(reps, suite)
        times, claimed = [], 0
        for name in names:
            report = at_once([name], suite, hot=True, refill=True)[0]
            if not report["ok"]:
                raise RuntimeError(f"claim failed: {report.get('error')}")
            times.append(report["s"])
            claimed += report["claimed"]
        remove_labs(names)
        os.environ["LABENV_POOL"] = POOL
        try:
            where = engines.configured()[0]
            t0 = time.monotonic()
            pool.wait_for_refill(where, suite, timeout=600)
            refill_wait = time.monotonic() - t0
            ready = sum(s.ready for s in pool.spares(where, suite))
        finally:
            os.environ.pop("LABENV_POOL", None)
        _drain()
        t0 = time.monotonic()
        refilled = _fill(reps, suite)
        refill_s = time.monotonic() - t0
    finally:
        remove_labs(names)
        _drain()
    value = p95(times)
    claim = Figure("lab_claim", value, "s", cold_up, "p95 of one claim from a filled pool under 1 s",
                   met=value < 1.0 and claimed == reps,
                   detail={"claims": reps, "claimed_from_pool": claimed,
                           "per_claim_s": [round(t, 3) for t in times],
                           "median_s": round(median_of(times), 3),
                           "pool_filled_in_s": filled["seconds"],
                           "ready_after_background_refill": ready,
                           "background_refill_still_running_s": round(refill_wait, 1),
                           "floor_is": "one cold Lab.up in this run (lab_ready)",
                           "measured_as": "Lab.up in a learner process that has imported labenv "
                                          "(a notebook kernel), until sendmail -bt answers"})
    refill = Figure("pool_refill", refill_s, "s", (cold_up or 0) * reps or None,
                    f"informational: an empty pool to {reps} ready spares ({pool.batch()} at a time)",
                    met=None, detail={"spares": reps, "ready": refilled["ready"],
                                      "per_spare_s": round(refill_s / reps, 2),
                                      "floor_is": f"{reps} cold labs one after another (lab_ready x {reps})"})
    return [claim, refill]


def class_at_once(count: int, suite: str) -> list[Figure]:
    """`count` learners at once: from a pool of `count`, then cold, in the same run."""
    hot_names = [f"bench-hot-{count}-{i:02d}" for i in range(count)]
    cold_names = [f"bench-cold-{count}-{i:02d}" for i in range(count)]
    try:
        filled = _fill(count, suite)
        t0 = time.monotonic()
        hot = at_once(hot_names, suite, hot=True)
        hot_total = time.monotonic() - t0
        remove_labs(hot_names)
        _drain()
        t0 = time.monotonic()
        cold = at_once(cold_names, suite, hot=False)
        cold_total = time.monotonic() - t0
    finally:
        with ThreadPoolExecutor(max_workers=2) as ex:
            list(ex.map(remove_labs, [hot_names, cold_names]))
        _drain()

    def summary(reports: list[dict]) -> dict:
        times = [r["s"] for r in reports if r["ok"]]
        ups = [r["up_s"] for r in reports if r["ok"]]
        return {"ok": len(times), "failed": [r.get("error") for r in reports if not r["ok"]][:3],
                "lab_up_p50_s": round(median_of(ups), 2) if ups else None,
                "p50_s": round(median_of(times), 2) if times else None,
                "p95_s": round(p95(times), 2) if times else None,
                "max_s": round(max(times), 2) if times else None}

    h, c = summary(hot), summary(cold)
    claimed = sum(1 for r in hot if r.get("claimed"))
    value, floor = h["p95_s"], c["p95_s"]
    return [Figure(f"class_{count}", value, "s", floor,
                   f"{count} learners at once from a pool of {count}: p95 per learner under 3 s",
                   met=value is not None and value < 3.0 and h["ok"] == count and claimed == count,
                   detail={"hot": h, "cold": c, "claimed_from_pool": claimed,
                           "hot_all_ready_s": round(hot_total, 1), "cold_all_ready_s": round(cold_total, 1),
                           "pool_filled_in_s": filled["seconds"],
                           "floor_is": f"the same {count} learners starting cold at once, this run (p95)"})]
