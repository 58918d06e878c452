"""JupyterLab in headless chromium: a notebook with the mailertable editor runs, the
widgets render, and editing a row and pressing Apply changes the routing table shown."""

from __future__ import annotations

import os
import re

import nbformat
import pytest

from tests.browser.conftest import open_and_run_all
from tests.support import save_screenshot

pytestmark = pytest.mark.browser
PREFIX = f"br{os.getpid()}-"
ADDRESSES = ["x@hosta.private.lan", "y@foo.darknet.lan", "z@example.org"]


def _notebook(path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Mailertable editor in the browser"),
        nbformat.v4.new_code_cell(
            "import os\n"
            f"os.environ['LABENV_LAB_PREFIX'] = {PREFIX!r}\n"
            "from helpers.notebook import start_lab\n"
            "from labenv.configure import apply_howto\n"
            "lab = start_lab('w')\n"
            "_ = apply_howto(lab, 'fixed')"),
        nbformat.v4.new_code_cell(
            "from helpers.widgets import MailertableEditor\n"
            f"editor = MailertableEditor(lab, addresses={ADDRESSES!r})\n"
            "editor.routes()\n"
            "editor"),
    ]
    nbformat.write(nb, path)


@pytest.fixture
def notebook(jupyterlab):
    _notebook(jupyterlab["root"] / "editor.ipynb")
    yield "editor.ipynb"
    from labenv import Lab, LabError

    try:
        Lab.attach(f"{PREFIX}w").down()
    except LabError:
        pass


def _route_of(page, address: str) -> str:
    """The text of the routing table's row for `address`, as the page shows it."""
    row = page.locator("table tr", has=page.locator(f"td:text-is('{address}')")).first
    return row.inner_text()


def test_mailertable_edit_changes_the_routing_table(jupyterlab, notebook, page):
    open_and_run_all(page, jupyterlab, notebook)

    # The widget renders: its rows come from the lab's mailertable, its table from sendmail -bt.
    apply = page.get_by_role("button", name="Apply")
    apply.wait_for(timeout=120_000)
    page.locator("td", has_text="x@hosta.private.lan").first.wait_for(timeout=60_000)
    assert "[hosta.private.lan]" in _route_of(page, "x@hosta.private.lan")
    assert "[mailhost.private.lan]" in _route_of(page, "y@foo.darknet.lan")

    # Edit the `.lan` row's host like a learner: send everything in .lan to mailhost.
    field = next(f for f in page.locator(".widget-text input").all() if f.input_value() == "[%1.lan]")
    field.fill("[mailhost.private.lan]")
    apply.click()
    page.get_by_text("applied: mailertable written").wait_for(timeout=60_000)
    row = _route_of(page, "x@hosta.private.lan")
    assert "[mailhost.private.lan]" in row and ".lan" in row
    assert "[relayhost.somedom.com]" in _route_of(page, "z@example.org")   # untouched
    news = page.get_by_role("button", name="No")   # JupyterLab's first-run news question
    if news.count():
        news.first.click()
    save_screenshot(page, "jupyterlab-mailertable-editor.png")

    # The edit reached the live lab, not just the page.
    from labenv import Lab

    table = Lab.attach(f"{PREFIX}w").read_file("mailserver", "/etc/mail/mailertable")
    assert re.search(r"^\.lan\s+esmtp:\[mailhost\.private\.lan\]$", table, re.M)
