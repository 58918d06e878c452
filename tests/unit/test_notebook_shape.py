"""Every notebook has the same frame (goals, time, summary, the next one), and in the stored
run each exercise is met before its answer: its first check finds nothing done, the row of
buttons at its end finds it all done."""
from __future__ import annotations

import re

import nbformat
import pytest

from tests.support import ROOT, cell_text

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
IDS = [p.stem[:2] for p in NOTEBOOKS]
LINK = re.compile(r"\*\*(Next|Back to):\*\* \[(\d\d) · [^\]]+\]\(([^)]+\.ipynb)\)")
REPORT = re.compile(r"^Exercise (\d\d/[\w-]+): .*?(?=^Exercise \d\d/|\Z)", re.M | re.S)


def read(path):
    return nbformat.read(path, as_version=4)


def markdown(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "markdown"]



@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_the_first_cell_names_the_goals_and_the_time(path):
    first = read(path).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {path.stem[:2]} · ")
    assert "**Goals**" in first.source and re.search(r"\*\*Time:\*\* about \d+ minutes", first.source)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_a_summary_and_a_link_to_the_next_notebook_end_it(path):
    texts = markdown(read(path))
    assert any(t.startswith("## Summary") for t in texts)
    links = [m for t in texts for m in LINK.finditer(t)]
    assert links, "no **Next:** (or, in the last notebook, **Back to:**) link"
    kind, number, target = links[-1].groups()
    assert (ROOT / "notebooks" / target).exists() and target.startswith(number)
    if path == NOTEBOOKS[-1]:
        assert kind == "Back to"
    else:
        assert kind == "Next" and target == NOTEBOOKS[NOTEBOOKS.index(path) + 1].name


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if "ex.controls(lab)" in p.read_text()],
                         ids=lambda p: p.stem[:2])
def test_no_check_passes_before_the_learner_acts_and_all_pass_after(path):
    reports: dict[str, list[str]] = {}
    for cell in read(path).cells:
        if cell.cell_type == "code":
            for match in REPORT.finditer(cell_text(cell)):
                reports.setdefault(match.group(1), []).append(match.group(0))
    assert reports, "no exercise report in the stored outputs"
    for exercise_id, seen in reports.items():
        assert "✔" not in seen[0], f"{exercise_id}: a check passes before the work:\n{seen[0]}"
        assert "✘" not in seen[-1] and "Done." in seen[-1], f"{exercise_id} is not done at the end"
