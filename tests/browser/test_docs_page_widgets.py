"""The docs site in headless chromium: the page of a notebook with an editor widget, opened
from disk with no network and no kernel, shows the editor as readable HTML (the rendering
stored in its display bundle), never as ``VBox(children=...``."""

from __future__ import annotations

import re
import sys

import nbformat
import pytest

from tests.support import ROOT, save_screenshot

sys.path.insert(0, str(ROOT / "tools"))
import build_docs

pytestmark = pytest.mark.browser


def first_notebook_with_an_editor():
    """The first notebook (in course order) that stores the output of one of the editors
    (``McEditor``, ``MailertableEditor``, ``AuthInfoEditor`` ...): the cell and that output."""
    for path in sorted(build_docs.NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code" or not re.search(r"\w+Editor\(", cell.source):
                continue
            for output in cell.get("outputs", []):
                if build_docs.WIDGET_VIEW in output.get("data", {}):
                    return path, cell, output["data"]
    pytest.fail("no notebook in notebooks/ stores an editor's widget output")


def words(text: str) -> str:
    return " ".join(text.split())


def test_the_docs_page_shows_an_editor_as_readable_html(tmp_path, page):
    path, cell, data = first_notebook_with_an_editor()
    assert "text/html" in data, f"{path.name}: its widget output has no HTML rendering; re-run the notebook"
    build_docs.build(tmp_path, notebooks=path.parent)
    # No network: anything but the page's own file is refused, as on a machine offline.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
               else route.abort())
    page.goto((tmp_path / f"{path.stem}.html").as_uri())

    output = page.locator(f'[id="cell-id={cell.id}"] .jp-OutputArea-output[data-mime-type="text/html"]').first
    output.wait_for(timeout=10_000)
    output.scroll_into_view_if_needed()
    assert output.is_visible() and output.bounding_box()["height"] > 40
    shown = words(output.inner_text())
    # What the stored rendering says is what a reader sees, as text laid out by the browser.
    expected = page.evaluate("html => { const d = document.createElement('div'); d.innerHTML = html;"
                             " return d.textContent; }", data["text/html"])
    first_words = words(expected)[:60]
    assert first_words and first_words in words(output.text_content())
    assert len(shown) > 20 and "VBox(children=" not in shown
    assert "VBox(children=" not in page.inner_text("body")
    assert not page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    # Nothing on the page waits for widget code from a CDN.
    assert not re.search(r"unpkg\.com|html-manager", page.content())
    save_screenshot(page, "docs-page-widget.png")
