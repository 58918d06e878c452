"""The learner's copy on a live lab, as a learner would run it in JupyterLab (Run All).

Untouched, every exercise reports its open checks as ✘ and no cell raises.
Pressing Skip on every exercise (the button's own click handler) carries the
copy from top to bottom, each exercise then reporting ✔.

Each notebook runs in a kernel of its own with labs of its own, so the runs go
side by side (WORKERS at a time); each test then reads its notebook's run.
"""
from __future__ import annotations

import asyncio
import os
import re

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support import ROOT, cell_text, leftovers
from tools.make_student import learner_copy

EXERCISE = re.compile(r"exercise\(\s*[\"']\d\d")
WORKERS = 3


def has_exercises(path) -> bool:
    return any(c.cell_type == "code" and EXERCISE.search(c.source)
               for c in nbformat.read(path, as_version=4).cells)


NOTEBOOKS = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")) if has_exercises(p)]
IDS = [p.stem[:2] for p in NOTEBOOKS]
PRESS_SKIP = """\
from helpers.exercises.framework import Controls as _Controls
from helpers.display import static_text as _static_text
_row = _Controls.shown[-1]
_row.skip_button.click()
print("after Skip:", _row.exercise.notebook + "/" + _row.exercise.id)
print(_static_text(_row.widget))"""



def is_controls(cell) -> bool:
    return cell.cell_type == "code" and ".controls(lab)" in cell.source


def untouched(path):
    return learner_copy(nbformat.read(path, as_version=4))


def skipping(path):
    """The learner's copy with Skip pressed right after each exercise's row of buttons."""
    nb = untouched(path)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if is_controls(cell):
            cells.append(nbformat.v4.new_code_cell(PRESS_SKIP))
    nb.cells = cells
    return nb


def run_all(notebooks: dict[str, nbformat.NotebookNode], prefix: str, monkeypatch) -> dict:
    """Execute each notebook as JupyterLab's Run All would, labs named ``<prefix>NN``.

    Returns NN -> the executed notebook, or the error that stopped it.
    """
    monkeypatch.setenv("LABENV_LAB_PREFIX", prefix)
    gate = asyncio.Semaphore(WORKERS)

    async def one(nb):
        async with gate:
            client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                                    resources={"metadata": {"path": str(ROOT / "notebooks")}})
            try:
                await client.async_execute()
            except Exception as error:  # the test of that notebook shows it
                return error
            return nb

    async def every():
        return await asyncio.gather(*(one(nb) for nb in notebooks.values()))

    done = dict(zip(notebooks, asyncio.run(every())))
    for number in notebooks:
        assert not any(leftovers(prefix + number).values()), f"lab {prefix}{number} was left behind"
    return done


@pytest.fixture(scope="module")
def untouched_runs():
    with pytest.MonkeyPatch.context() as monkeypatch:
        return run_all({n: untouched(p) for n, p in zip(IDS, NOTEBOOKS)}, f"lu{os.getpid()}-", monkeypatch)


@pytest.fixture(scope="module")
def skipped_runs():
    with pytest.MonkeyPatch.context() as monkeypatch:
        return run_all({n: skipping(p) for n, p in zip(IDS, NOTEBOOKS)}, f"ls{os.getpid()}-", monkeypatch)


def executed(runs: dict, number: str):
    result = runs[number]
    if isinstance(result, Exception):
        pytest.fail(f"notebook {number} stopped: {str(result)[-1500:]}")
    return result


@pytest.mark.parametrize("number", IDS)
def test_an_untouched_copy_reports_open_checks_not_errors(untouched_runs, number):
    nb = executed(untouched_runs, number)
    rows = [c for c in nb.cells if is_controls(c)]
    assert rows
    for cell in rows:
        text = cell_text(cell)
        assert "✘" in text and "Not done yet" in text, text
        assert "could not check" not in text, text
        assert "Done." not in text
    assert "removed" in cell_text(nb.cells[-1])           # finish(lab) ran: the end was reached


@pytest.mark.parametrize("number", IDS)
def test_skip_on_every_exercise_runs_the_copy_to_the_end(skipped_runs, number):
    nb = executed(skipped_runs, number)
    pressed = [c for c in nb.cells if c.source == PRESS_SKIP]
    assert pressed
    for cell in pressed:
        text = cell_text(cell)
        assert "skipped: the solution is applied" in text, text
        assert "✔" in text and "✘" not in text, text
    assert "removed" in cell_text(nb.cells[-1])           # finish(lab) ran: the end was reached
