"""A shipped notebook, as a learner opens it: copied untouched into JupyterLab, run whole
with Run All in headless chromium. Every cell runs, none raises, and the exercise's ✔/✘
report shows on the page (its last report says Done: this is the instructor's copy)."""

from __future__ import annotations

import re
import shutil
import time

import nbformat
import pytest

from tests.browser.conftest import open_and_run_all
from tests.support import ROOT, save_screenshot

pytestmark = pytest.mark.browser
REPORT = re.compile(r"^Exercise (\d\d)/([\w-]+): ", re.M)


def first_notebook_with_an_exercise():
    """The first notebook (in course order) that sets the learner an exercise."""
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if any(c.cell_type == "code" and "exercise(" in c.source for c in nb.cells):
            return path
    pytest.fail("no notebook in notebooks/ sets an exercise")


@pytest.fixture
def shipped(jupyterlab):
    source = first_notebook_with_an_exercise()
    shutil.copy(source, jupyterlab["root"] / source.name)
    lab = f"{jupyterlab['prefix']}{source.name[:2]}"
    yield source, lab
    from labenv import Lab, LabError

    try:   # the notebook's last cell removes its lab; this is for a run that stopped early
        Lab.attach(lab).down()
    except LabError:
        pass


def _saved(path, deadline: float):
    """The notebook as JupyterLab saved it, once every code cell has run (or None at the deadline)."""
    while time.monotonic() < deadline:
        nb = nbformat.read(path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        if code and all(c.execution_count for c in code):
            return nb
        time.sleep(0.5)
    return None


def test_a_shipped_notebook_runs_whole_with_run_all(jupyterlab, shipped, page):
    source, lab = shipped
    open_and_run_all(page, jupyterlab, source.name)

    # Running: cells waiting or running show [*]. Finished (or stopped by an error): none does.
    busy = page.locator(".jp-InputPrompt", has_text="[*]")
    busy.first.wait_for(timeout=30_000)
    deadline = time.monotonic() + 150
    while busy.count() and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert not busy.count(), f"{source.name}: Run All did not finish in 150 s"
    news = page.get_by_role("button", name="No")   # JupyterLab's first-run news question
    if news.count():
        news.first.click()

    # What ran, as JupyterLab saves it: every code cell, no error, the last report says Done.
    page.locator(".jp-Notebook").click()
    page.keyboard.press("Control+s")
    saved = _saved(jupyterlab["root"] / source.name, time.monotonic() + 30)
    assert saved is not None, f"{source.name}: not every code cell ran"
    errors = [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(saved.cells)
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == [], f"{source.name}: cells raised {errors}"
    reports = [o.get("text", "") for c in saved.cells for o in c.get("outputs", [])
               if o.get("output_type") == "stream" and REPORT.search(o.get("text", ""))]
    assert reports, f"{source.name}: no exercise report in the outputs"
    assert reports[-1].rstrip().endswith("Done."), f"{source.name}: the last report is\n{reports[-1]}"

    # On the page: the lab removed by the last cell, the exercise's report (and its buttons).
    assert page.get_by_text(f"lab {lab} removed").count()
    report = page.locator(".jp-OutputArea-output", has_text=re.compile(r"Exercise \d\d/[\w-]+: ")).last
    assert "Done." in report.text_content()
    for _ in range(3):   # cells above it are laid out as they come into view, which moves it
        report.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(300)
    if any("ex.controls(" in c.source for c in saved.cells if c.cell_type == "code"):
        for name in ("Check", "Hint", "Skip"):   # the exercise's row of buttons, rendered as widgets
            assert page.get_by_role("button", name=name).count(), f"no {name} button"
    save_screenshot(page, "jupyterlab-shipped-notebook-run-all.png")
