"""`python -m bench`: measure, print a table, write bench/out/latest.json (see bench/__init__.py)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

from labenv import LabError, NotSo, build

from . import figures as f

NAMES = ("image_rebuild_noop", "image_sizes", "lab_ready", "lab_memory", "reconfigure", "route_200",
         "nbval_total", "labs", "pool", "engine_provision", "classroom")
#: Not in the default set: a class of its own on JupyterHub (root, a few minutes; --full has it).
OPTIONAL = ("classroom",)
OUT = Path(__file__).resolve().parent / "out" / "latest.json"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(NAMES)}")
    p.add_argument("--labs", default="", help="lab counts for labs_N, e.g. 10,30 (default 10; "
                   "10,30 with --full)")
    p.add_argument("--full", action="store_true",
                   help="also 30 labs at once, every image built without the layer cache "
                        "(minutes; needs the Debian mirror) and the classroom figures (root)")
    p.add_argument("--suite", "--debian", dest="suite", default=build.DEFAULT_SUITE, choices=build.SUITES)
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args(argv)
    args.only = [n for n in args.only.split(",") if n] or [n for n in NAMES
                                                           if args.full or n not in OPTIONAL]
    unknown = set(args.only) - set(NAMES)
    if unknown:
        p.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    counts = args.labs or ("10,30" if args.full else "10")
    try:
        args.labs = [int(n) for n in counts.split(",") if n]
    except ValueError:
        p.error(f"--labs takes numbers separated by commas, got {counts!r}")
    if any(not 1 <= n <= 100 for n in args.labs):
        p.error("--labs: each count must be 1..100")
    return args


def render(rows: list[dict]) -> str:
    head = ["figure", "value", "floor", "ratio", "goal met", "goal"]
    cells = []
    for r in rows:
        unit = r["unit"]
        cells.append([r["name"],
                      "-" if r["value"] is None else f"{r['value']:.3g} {unit}",
                      "-" if r["floor"] is None else f"{r['floor']:.3g} {unit}",
                      "-" if r["ratio"] is None else f"{r['ratio']:.2f}",
                      {True: "yes", False: "NO", None: "-"}[r["met"]],
                      r["goal"]])
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(head, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    say = lambda text: print(f"bench: {text}", file=sys.stderr, flush=True)  # noqa: E731
    results: list[f.Figure] = []
    errors: dict[str, str] = {}
    started = time.monotonic()

    def measure(name, fn, *a):
        say(f"{name} ...")
        t0 = time.monotonic()
        try:
            got = fn(*a)
        except (LabError, NotSo, Exception) as error:
            errors[name] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            say(f"{name} FAILED: {errors[name]}")
            results.append(f.Figure(name, None, "", None, "measurement failed", met=False,
                                    detail={"error": errors[name]}))
            return None
        say(f"{name} done in {time.monotonic() - t0:.1f} s")
        return got

    f.cleanup_leftovers()
    lab = None
    single_up = None
    try:
        if "image_rebuild_noop" in args.only:
            got = measure("image_rebuild_noop", f.image_rebuild_noop, args.suite)
            results += [got] if got else []
            if args.full:
                got = measure("image_build_full", f.image_build_full, args.suite)
                results += [got] if got else []
        if "image_sizes" in args.only:
            from .images import image_sizes

            results += measure("image_sizes", image_sizes, args.suite) or []
        needs_lab = {"lab_ready", "lab_memory", "reconfigure", "route_200"} & set(args.only)
        if needs_lab or {"labs", "pool"} & set(args.only):
            got = measure("lab_ready", f.lab_ready, args.suite)
            if got:
                ready, memory, lab = got
                single_up = ready.value
                results += [x for x in (ready, memory)
                            if x.name in args.only or x.name == "lab_ready"]
        if lab is not None and "reconfigure" in args.only:
            got = measure("reconfigure", f.reconfigure, lab)
            results += [got] if got else []
        if lab is not None and "route_200" in args.only:
            got = measure("route_200", lambda: (f.howto_applied(lab), f.route_200(lab))[1])
            results += [got] if got else []
        if lab is not None:
            lab.down()
            lab = None
        if "nbval_total" in args.only:
            got = measure("nbval_total", f.nbval_total)
            results += got or []
        if "labs" in args.only:
            for count in args.labs:
                got = measure(f"labs_{count}", f.labs_at_once, count, args.suite, single_up)
                results += [got] if got else []
        if "pool" in args.only:
            from . import pool as hot

            results += measure("lab_claim", hot.lab_claim, args.suite, single_up) or []
            results += measure("class_30", hot.class_at_once, 30, args.suite) or []
        if "engine_provision" in args.only:
            from .images import engine_provision

            got = measure("engine_provision", engine_provision, args.suite)
            results += [got] if got else []
        if "classroom" in args.only:
            from .classroom import classroom

            got = measure("classroom", classroom, say)
            results += got or []
    finally:
        if lab is not None:
            lab.down()
        f.cleanup_leftovers()

    rows = [r.as_dict() for r in results]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1) + "\n")
    meta = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
            "python": platform.python_version(), "debian": args.suite,
            "seconds": round(time.monotonic() - started, 1)}
    print(render(rows))
    print(f"\n{len(rows)} figures in {meta['seconds']} s on {meta['cpus']} CPUs; "
          f"written to {out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
