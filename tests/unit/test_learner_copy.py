"""The learner's copy (`make student`): answers out, working cells empty, the buttons kept.

These read the notebooks as shipped; tests/integration/test_learner_copy.py runs
the copy on a live lab.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from tests.support import ROOT
from tools.make_student import INSTRUCTOR_ONLY, SOLUTION, WORK, build, learner_copy

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
EXERCISE = re.compile(r"""exercise\(\s*["'](\d\d)["']\s*,\s*["']([\w-]+)["']\s*\)""")


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def read(path):
    return nbformat.read(path, as_version=4)


def cell(kind: str, source: str, *tags: str, **metadata):
    made = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    if tags:
        made.metadata["tags"] = list(tags)
    made.metadata.update(metadata)
    if kind == "code":
        made.outputs = [nbformat.v4.new_output("stream", text="the answer printed\n")]
        made.execution_count = 3
    return made


def test_tags_decide_what_the_learner_gets():
    nb = nbformat.v4.new_notebook(cells=[
        cell("markdown", "# 99 · T"),
        cell("code", "ex.check(lab)"),
        cell("code", "editor.set(relay_port=587).apply()", SOLUTION),
        cell("code", "fault = ex.setup(lab, seed=7)", INSTRUCTOR_ONLY,
             student_source="ex.setup(lab)"),
        cell("code", "sh(lab, 'mailserver', 'mailq')", SOLUTION, student_source="# look at the queue"),
        cell("markdown", "The answer is port 587.", SOLUTION),
        cell("code", "ex.solution()", INSTRUCTOR_ONLY),
        cell("code", "ex.controls(lab)", "nbval-ignore-output"),
        cell("code", "sh(lab, 'mailserver', 'grep -n AuthMechanisms /etc/mail/sendmail.cf')",
             SOLUTION, "suite-specific", outputs_by_suite={"trixie": [{"output_type": "stream"}]}),
    ])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    copy = learner_copy(nb)
    assert [c.source for c in copy.cells] == [
        "# 99 · T", "ex.check(lab)", "", "ex.setup(lab)", "# look at the queue", "ex.controls(lab)", ""]
    assert [sorted(tags(c)) for c in copy.cells] == [[], [], [WORK], [], [WORK], [], [WORK]]
    assert all("outputs_by_suite" not in c.metadata for c in copy.cells)   # no trixie answers either
    assert all(c.outputs == [] and c.execution_count is None for c in copy.cells if c.cell_type == "code")
    assert "widgets" not in copy.metadata and copy.metadata["labenv"] == {"copy": "learner"}
    assert all("student_source" not in c.metadata for c in copy.cells)
    assert nb.cells[2].source == "editor.set(relay_port=587).apply()"      # the original is untouched


def test_make_student_writes_every_notebook_and_keeps_the_learners_work(tmp_path):
    written, kept = build(tmp_path)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS] and kept == []
    for path in written:
        nbformat.validate(read(path))
    worked = written[1]
    worked.write_text(worked.read_text().replace('"cells": [', '"cells": [', 1) + "\n")
    mine = worked.read_text()
    written, kept = build(tmp_path)
    assert written == [] and worked in kept and worked.read_text() == mine
    written, kept = build(tmp_path, force=True)
    assert worked in written and worked.read_text() != mine


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem[:2] for p in NOTEBOOKS])
def test_the_learner_copy_holds_no_answer(path):
    copy = learner_copy(read(path))
    for c in copy.cells:
        assert not tags(c) & {SOLUTION, INSTRUCTOR_ONLY}
        if c.cell_type == "code":
            assert c.outputs == []
            assert "ex.solve(" not in c.source and "ex.solution(" not in c.source, c.source


def has_exercises(path) -> bool:
    return any(c.cell_type == "code" and EXERCISE.search(c.source) for c in read(path).cells)


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if has_exercises(p)], ids=lambda p: p.stem[:2])
def test_each_exercise_gives_the_learner_a_place_to_work_and_the_buttons(path):
    """Before each row of buttons: a check, then an empty working cell (since the last row)."""
    copy = learner_copy(read(path))
    code = [c for c in copy.cells if c.cell_type == "code"]
    rows = [i for i, c in enumerate(code) if ".controls(lab)" in c.source]
    assert rows, "no exercise row (ex.controls(lab))"
    for n, row in enumerate(rows):
        section = code[(rows[n - 1] + 1 if n else 0):row]
        work = [i for i, c in enumerate(section) if WORK in tags(c)]
        assert work, f"no working cell before: {code[row].source}"
        assert any("ex.check(lab)" in c.source for c in section[:work[0]]), "no check before the work"
