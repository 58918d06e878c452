"""Every Markdown cell of the notebooks renders as written: no code span broken by an m4 quote.

sendmail.mc quotes with a backquote and a quote (``FEATURE(`authinfo')``). Inside a
single-backtick code span the backquote ends the span early: JupyterLab and the
docs site then show half a macro in code and a stray backtick in the text.
"""
from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from tests.support import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELLS = [(path.name, i, "".join(cell["source"]))
         for path in NOTEBOOKS
         for i, cell in enumerate(json.loads(path.read_text())["cells"])
         if cell["cell_type"] == "markdown"]


class _Spans(HTMLParser):
    """The rendered cell's code spans, and its text outside code."""

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.code, self.text = 0, [], []

    def handle_starttag(self, tag, attrs):
        if tag in ("code", "pre"):
            self.depth += 1
            if tag == "code":
                self.code.append("")

    def handle_endtag(self, tag):
        if tag in ("code", "pre"):
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.code[-1:] = [(self.code[-1] if self.code else "") + data]
        else:
            self.text.append(data)


def problems(markdown: str) -> list[str]:
    """What in ``markdown`` does not render as written (empty: all well)."""
    spans = _Spans()
    spans.feed(MarkdownIt("commonmark").render(markdown))
    found = []
    outside = "".join(spans.text)
    if "`" in outside:
        at = outside.index("`")
        found.append(f"a stray backtick in the text: ...{outside[max(0, at - 30):at + 30]!r}")
    for code in spans.code:
        if "\n" not in code and code.count("(") != code.count(")"):
            found.append(f"a code span cut short: {code!r}")
    return found


def test_the_check_finds_a_broken_span_and_passes_a_good_one():
    assert problems("Add `FEATURE(`authinfo')` to it.")
    assert not problems("Add `` FEATURE(`authinfo') `` to it.")
    assert not problems("```\nFEATURE(`authinfo')dnl\n```")


@pytest.mark.parametrize("name, index, markdown", CELLS, ids=[f"{n[:2]}-cell{i}" for n, i, _ in CELLS])
def test_markdown_renders_as_written(name, index, markdown):
    assert problems(markdown) == [], f"{name} cell {index}"
