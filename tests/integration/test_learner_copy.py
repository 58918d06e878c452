"""The learner's copy on a live lab, as a learner would run it in JupyterLab (Run All).

Untouched, every exercise reports its open checks as ✘ and no cell raises.
Pressing Skip on every exercise (the button's own click handler) carries the
copy from top to bottom, each exercise then reporting ✔.
"""
from __future__ import annotations

import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support import ROOT, leftovers
from tools.make_student import learner_copy

EXERCISE = re.compile(r"exercise\(\s*[\"']\d\d")


def has_exercises(path) -> bool:
    return any(c.cell_type == "code" and EXERCISE.search(c.source)
               for c in nbformat.read(path, as_version=4).cells)


NOTEBOOKS = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")) if has_exercises(p)]
PRESS_SKIP = """\
from helpers.exercises.framework import Controls as _Controls
from helpers.display import static_text as _static_text
_row = _Controls.shown[-1]
_row.skip_button.click()
print("after Skip:", _row.exercise.notebook + "/" + _row.exercise.id)
print(_static_text(_row.widget))"""


def run(nb, prefix: str, monkeypatch):
    """Execute ``nb`` as JupyterLab's Run All would, its labs named ``<prefix>NN``."""
    monkeypatch.setenv("LABENV_LAB_PREFIX", prefix)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    return nb


def text_of(cell) -> str:
    return "".join(o.get("text", "") if o.output_type == "stream"
                   else o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


def controls_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and ".controls(lab)" in c.source]


@pytest.fixture
def prefix(request):
    name = f"lc{os.getpid()}-"
    yield name
    for number in ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10"):
        assert not any(leftovers(name + number).values()), f"lab {name}{number} was left behind"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_an_untouched_copy_reports_open_checks_not_errors(path, prefix, monkeypatch):
    nb = run(learner_copy(nbformat.read(path, as_version=4)), prefix, monkeypatch)
    rows = controls_cells(nb)
    assert rows
    for cell in rows:
        text = text_of(cell)
        assert "✘" in text and "Not done yet" in text, text
        assert "could not check" not in text, text
        assert "Done." not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_skip_on_every_exercise_runs_the_copy_to_the_end(path, prefix, monkeypatch):
    nb = learner_copy(nbformat.read(path, as_version=4))
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell.cell_type == "code" and ".controls(lab)" in cell.source:
            cells.append(nbformat.v4.new_code_cell(PRESS_SKIP))
    nb.cells = cells
    run(nb, prefix, monkeypatch)
    pressed = [c for c in nb.cells if c.source == PRESS_SKIP]
    assert pressed
    for cell in pressed:
        text = text_of(cell)
        assert "skipped: the solution is applied" in text, text
        assert "✔" in text and "✘" not in text, text
    assert "removed" in text_of(nb.cells[-1])           # finish(lab) ran: the end was reached

