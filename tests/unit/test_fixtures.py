"""Every captured fixture through its parser: tests/fixtures/<command>--<case>.out vs .json.

Regenerate an expected parse (then READ it against the .out before keeping it)::

    .venv/bin/python tests/unit/test_fixtures.py --regenerate bt--parse-howto
"""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = sorted(p.stem for p in FIXTURES.glob("*--*.out"))


def _parse(name: str) -> list[dict]:
    command = name.split("--", 1)[0]
    parser = importlib.import_module(f"labenv.sendmail.parsers.{command}")
    return parser.parse((FIXTURES / f"{name}.out").read_text())


def test_every_fixture_has_an_expected_parse():
    missing = [name for name in CASES if not (FIXTURES / f"{name}.json").exists()]
    assert not missing


@pytest.mark.parametrize("name", CASES)
def test_fixture(name):
    expected = json.loads((FIXTURES / f"{name}.json").read_text())
    assert _parse(name) == expected


@pytest.mark.parametrize("name", CASES)
def test_fixture_to_frame(name):
    command = name.split("--", 1)[0]
    parser = importlib.import_module(f"labenv.sendmail.parsers.{command}")
    assert len(parser.to_frame(_parse(name))) == len(_parse(name))


if __name__ == "__main__" and sys.argv[1:2] == ["--regenerate"]:
    sys.path.insert(0, str(FIXTURES.parent.parent))
    for case in sys.argv[2:] or CASES:
        (FIXTURES / f"{case}.json").write_text(json.dumps(_parse(case), indent=1) + "\n")
        print("wrote", case)
