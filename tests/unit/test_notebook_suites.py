"""Outputs kept per Debian suite (helpers.suites, tools/notebooks_suites.py): no Docker."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

from helpers import suites

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def _tool():
    spec = importlib.util.spec_from_file_location("notebooks_suites", ROOT / "tools" / "notebooks_suites.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stream(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def notebook(tagged: bool = True):
    cell = nbformat.v4.new_code_cell("start_lab('01')", metadata={"tags": [suites.TAG]} if tagged else {})
    cell.outputs = [stream("lab nb01 is up: Debian bookworm\n")]
    plain = nbformat.v4.new_code_cell("print(1)")
    plain.outputs = [stream("1\n")]
    return nbformat.v4.new_notebook(cells=[cell, plain])


def test_a_tagged_cell_takes_the_outputs_recorded_for_the_suite():
    nb = notebook()
    suites.record(nb.cells[0], "trixie", [stream("lab nb01 is up: Debian trixie\n")])
    on_trixie = suites.with_suite(nb, "trixie")
    assert on_trixie.cells[0].outputs[0].text == "lab nb01 is up: Debian trixie\n"
    assert on_trixie.cells[1].outputs == nb.cells[1].outputs          # every other cell as stored
    assert nb.cells[0].outputs[0].text.endswith("bookworm\n")         # the original is untouched
    assert suites.with_suite(nb, "bookworm").cells[0].outputs == nb.cells[0].outputs
    assert suites.problems(nb) == []


def test_a_tag_without_recorded_outputs_is_refused_not_compared_against_bookworm():
    nb = notebook()
    assert "no trixie outputs" in suites.problems(nb)[0]
    with pytest.raises(ValueError, match="no trixie outputs"):
        suites.with_suite(nb, "trixie")


def test_recorded_outputs_without_the_tag_are_a_problem():
    nb = notebook(tagged=False)
    suites.record(nb.cells[0], "trixie", [stream("x\n")])
    assert "not tagged suite-specific" in suites.problems(nb)[0]
    suites.forget(nb.cells[0], "trixie")
    assert suites.KEY not in nb.cells[0].metadata
    with pytest.raises(ValueError, match="reference suite"):
        suites.record(nb.cells[0], "bookworm", [])


def test_the_docs_show_each_suite_labelled_and_the_learner_copy_none():
    nb = notebook()
    suites.record(nb.cells[0], "trixie", [stream("lab nb01 is up: Debian trixie\n")])
    shown = suites.for_docs(nb).cells[0].outputs
    texts = [o.get("text") or o["data"]["text/plain"] for o in shown]
    assert texts == ["On Debian 12 (bookworm):", "lab nb01 is up: Debian bookworm\n",
                     "On Debian 13 (trixie):", "lab nb01 is up: Debian trixie\n"]
    assert suites.KEY not in suites.strip(nb).cells[0].metadata


def test_the_comparison_is_nbvals_with_the_sanitizer():
    tool = _tool()
    sanitize = tool.sanitizer()
    split = [stream("queued at 12:00:01\n"), stream("done\n")]
    whole = [stream("queued at 23:59:59\ndone\n")]
    assert tool.comparable(split, sanitize) == tool.comparable(whole, sanitize)
    other = [stream("queued at 23:59:59\nDone\n")]
    assert tool.comparable(other, sanitize) != tool.comparable(whole, sanitize)
    assert "+Done" in tool.difference(tool.comparable(whole, sanitize), tool.comparable(other, sanitize), "trixie")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name[:2] for p in NOTEBOOKS])
def test_shipped_notebooks_have_outputs_for_every_suite_specific_cell(path):
    assert suites.problems(nbformat.read(path, as_version=4)) == []
