"""The notebooks on another Debian suite: record what their suite-specific cells print
there, and test them there with nbval, every output compared.

    python tools/notebooks_suites.py record --suite trixie [NOTEBOOK ...] [--dry-run]
    python tools/notebooks_suites.py test   --suite trixie [NOTEBOOK ...] [-- PYTEST-ARGS]
    python tools/notebooks_suites.py check  [NOTEBOOK ...]

`record` runs each notebook on a fresh lab of the suite (its lab is named as in
`make notebooks-refresh`, so run it where no one else uses those names). Each cell
tagged `suite-specific` keeps what it printed in its metadata (helpers.suites); only
the metadata is written, the stored (bookworm) outputs stay as they are. A cell that
prints differently without the tag is listed with its difference and makes `record`
fail: a real difference between the suites gets the tag (and a word in the text), a
fault of the kit gets fixed. The comparison is nbval's, with tests/nbval-sanitize.cfg.

`test` writes a copy of the notebooks (build/nbval/SUITE/) whose tagged cells hold
their recorded outputs and runs nbval on it with LABENV_SUITE=SUITE.

`check` says, without Docker, where the tags and the recorded outputs disagree.
Without NOTEBOOK arguments each command takes notebooks/NN-*.ipynb.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import os
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import suites  # noqa: E402

SANITIZE = ROOT / "tests" / "nbval-sanitize.cfg"
TIMEOUT = 180


def notebooks(given: list[str]) -> list[Path]:
    paths = [Path(p) for p in given] or sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"no such notebook: {', '.join(missing)}")
    return paths


def sanitizer():
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns(SANITIZE.read_text())

    def sanitize(value):
        if not isinstance(value, str):
            return value
        for regex, replace in patterns:
            value = re.sub(regex, replace, value)
        return value
    return sanitize


def comparable(outputs: list, sanitize) -> dict[str, list]:
    """The outputs as nbval compares them: streams joined, each field sanitized."""
    from nbval.plugin import coalesce_streams, transform_streams_for_comparison

    skip = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
            suites.WIDGET_VIEW, "image/png", "image/jpeg"}
    flat = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(copy.deepcopy(outputs))):
        for key, value in output.items():
            if key in skip:
                continue
            if key == "data":
                for kind, data in value.items():
                    if kind not in skip:
                        flat[kind].append(sanitize(data))
            else:
                flat[key].append(sanitize(value))
    return dict(flat)


def difference(ref: dict, new: dict, suite: str) -> str:
    lines = []
    for key in sorted(set(ref) | set(new)):
        a, b = ref.get(key, []), new.get(key, [])
        if a == b:
            continue
        text_a = "\n".join(x if isinstance(x, str) else repr(x) for x in a).splitlines()
        text_b = "\n".join(x if isinstance(x, str) else repr(x) for x in b).splitlines()
        lines.append(f"  [{key}]")
        lines += ["    " + line for line in difflib.unified_diff(
            text_a, text_b, suites.REFERENCE, suite, n=1, lineterm="")]
    return "\n".join(lines)


def execute(nb, path: Path, suite: str):
    """The notebook as it runs on a fresh lab of `suite` (the kernel starts in its folder)."""
    from nbclient import NotebookClient

    run = copy.deepcopy(nb)
    os.environ["LABENV_SUITE"] = suite
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(run, timeout=TIMEOUT, kernel_name=kernel,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return run


def record(args) -> int:
    sanitize = sanitizer()
    unexplained = 0
    for path in notebooks(args.notebooks):
        nb = nbformat.read(path, as_version=4)
        started = time.monotonic()
        try:
            run = execute(nb, path, args.suite)
        except Exception as error:  # a cell raised: nothing is recorded for this notebook
            print(f"{path.name}: did not run on {args.suite}: {str(error).strip().splitlines()[-1]}")
            unexplained += 1
            continue
        print(f"{path.name}: ran on {args.suite} in {time.monotonic() - started:.0f} s")
        for number, (cell, ran) in enumerate(zip(nb.cells, run.cells)):
            if cell.cell_type != "code":
                continue
            ref, new = comparable(cell.outputs, sanitize), comparable(ran.outputs, sanitize)
            if suites.is_specific(cell):
                if ref == new:
                    suites.forget(cell, args.suite)
                    print(f"  cell {number}: tagged {suites.TAG}, but prints the same on "
                          f"{args.suite}: the tag can go")
                else:
                    suites.record(cell, args.suite, ran.outputs)
                    print(f"  cell {number}: {args.suite} outputs recorded")
                    if args.verbose:
                        print(difference(ref, new, args.suite))
            elif ref != new:
                unexplained += 1
                print(f"  cell {number}: prints differently on {args.suite}, not tagged {suites.TAG}:")
                print(difference(ref, new, args.suite))
        if not args.dry_run:
            nbformat.write(nb, path)
    if unexplained:
        print(f"{unexplained} cell(s) or notebook(s) differ on {args.suite} without the tag "
              f"{suites.TAG}: tag a real difference between the suites (and say so in the "
              f"text); fix the kit where it is at fault")
        return 1
    return 0


def test(args) -> int:
    out = ROOT / "build" / "nbval" / args.suite
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    copies = []
    for path in notebooks(args.notebooks):
        nb = nbformat.read(path, as_version=4)
        try:
            nbformat.write(suites.with_suite(nb, args.suite), out / path.name)
        except ValueError as error:
            raise SystemExit(f"{path.name}: {error}") from None
        copies.append(str(out / path.name))
    env = dict(os.environ, LABENV_SUITE=args.suite)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
               "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
               "--nbval", *copies, "--nbval-sanitize-with", str(SANITIZE), "-q", *args.pytest]
    return subprocess.call(command, env=env, cwd=ROOT)


def check(args) -> int:
    found = 0
    for path in notebooks(args.notebooks):
        for line in suites.problems(nbformat.read(path, as_version=4)):
            print(f"{path.name}: {line}")
            found += 1
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("record", "test", "check"):
        sub = commands.add_parser(name)
        sub.add_argument("notebooks", nargs="*", metavar="NOTEBOOK")
        if name != "check":
            sub.add_argument("--suite", default="trixie", choices=suites.OTHERS + (suites.REFERENCE,))
    commands.choices["record"].add_argument("--dry-run", action="store_true",
                                            help="only list the cells that differ; write nothing")
    commands.choices["record"].add_argument("-v", "--verbose", action="store_true",
                                            help="also show the differences that are recorded")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    args.pytest = extra
    if args.command == "record" and args.suite == suites.REFERENCE:
        parser.error(f"{suites.REFERENCE} is the reference suite: `make notebooks-refresh` stores its outputs")
    return {"record": record, "test": test, "check": check}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
