"""The learner's record: checks, hints, skips and breaks kept in SQLite, read back as a class matrix."""
from __future__ import annotations

import csv
import dataclasses
import io

import pytest

from helpers.exercises import exercise
from labenv import progress
from labenv.cli import main as labenv_main
from labenv.errors import ConfigError
from tests.unit.fakelab import FakeLab


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "progress.sqlite3"
    monkeypatch.setenv("LABENV_PROGRESS_DB", str(path))
    monkeypatch.setenv("LABENV_LEARNER", "ann")
    return path


def test_what_a_learner_does_in_a_notebook_is_recorded(db):
    lab = FakeLab()
    ex = dataclasses.replace(exercise("02", "relay-port"), _hints_shown=0)   # no hints given yet
    ex.check(lab)
    ex.hint(lab)
    controls = ex.controls(lab)
    controls.hint_button.click()
    controls.skip_button.click()
    found = progress.events()
    assert [(e.action, e.result) for e in found] == [
        ("check", "open"), ("hint", "hint 1"), ("check", "open"), ("hint", "hint 2"), ("skip", "done")]
    assert {(e.learner, e.notebook, e.exercise, e.lab) for e in found} == {("ann", "02", "relay-port", "fake")}
    assert found[0].open >= 1 and found[-1].open == 0
    assert found[0].time.endswith("+00:00")


def test_the_matrix_says_done_open_hints_and_skipped(db):
    for learner, action, result, open_ in [("ann", "check", "open", 2), ("ann", "hint", "hint 1", -1),
                                           ("ann", "check", "done", 0), ("bob", "check", "open", 3),
                                           ("bob", "skip", "done", 0), ("cy", "check", "open", 1)]:
        progress.Record(db).add(progress.Event(learner, "03", "authinfo", action, result, open_, "t"))
    rows = progress.matrix(progress.events())
    assert [(r["learner"], r["status"], r["open"], r["hints"], r["skipped"]) for r in rows] == [
        ("ann", "done", 0, 1, False), ("bob", "done", 0, 0, True), ("cy", "open", 1, 0, False)]
    table, columns = progress.class_table(rows)
    assert columns == ["learner", "03/authinfo"]
    assert [t["03/authinfo"] for t in table] == ["done +h1", "skipped", "1 open"]


def test_progress_cli_shows_the_matrix_and_exports_csv(db, capsys):
    lab = FakeLab()
    exercise("02", "relay-port").check(lab)
    progress.record("break", result="broken", lab="nb09")
    capsys.readouterr()
    assert labenv_main(["progress"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["LEARNER  02/RELAY-PORT", "ann      1 open"]
    assert labenv_main(["progress", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["learner"], r["exercise"], r["status"]) for r in rows] == [("ann", "relay-port", "open")]


def test_progress_with_no_record_says_so(db, capsys):
    assert labenv_main(["progress"]) == 0
    assert f"no progress recorded yet in {db}" in capsys.readouterr().out


def test_progress_takes_no_lab(db, capsys):
    assert labenv_main(["progress", "--lab", "x"]) == 2
    assert "takes no --lab" in capsys.readouterr().err


def test_a_record_that_cannot_be_written_is_one_warning_not_an_error(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("LABENV_PROGRESS_DB", str(blocker / "sub" / "progress.sqlite3"))
    lab = FakeLab()
    ex = exercise("02", "relay-port")
    assert not ex.check(lab)
    ex.check(lab)
    err = capsys.readouterr().err
    assert err.count("progress not recorded") == 1 and len(err.strip().splitlines()) == 1


def test_an_unknown_action_is_refused():
    with pytest.raises(ConfigError, match="'peek' is not one of check"):
        progress.Event("ann", "02", "relay-port", "peek", "")


def test_the_learner_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("LABENV_LEARNER", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "zoe")
    assert progress.learner() == "zoe"
    monkeypatch.setenv("LABENV_LEARNER", "ann")
    assert progress.learner() == "ann"
