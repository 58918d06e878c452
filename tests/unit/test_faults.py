"""The fault catalogue and `labenv break` without Docker: names, the list, one-line errors."""

from __future__ import annotations

import re

import pytest

from labenv import cli, faults
from labenv.errors import ConfigError
from labenv.lab import Lab


@pytest.fixture
def no_engine(monkeypatch):
    """Fail the test if anything tries to reach a lab."""
    def refuse(*_args, **_kwargs):
        raise AssertionError("the engine was contacted")

    monkeypatch.setattr(Lab, "attach", classmethod(refuse))
    monkeypatch.setattr("labenv.engine.connect", refuse)


def test_the_catalogue_has_named_faults_with_every_text():
    assert len(faults.CATALOGUE) >= 8
    for name, fault in faults.CATALOGUE.items():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", name) and fault.name == name
        for text in (fault.symptom, fault.cause, fault.fix):
            assert text.strip() and "\n" not in text


def test_symptoms_do_not_name_the_fault():
    for fault in faults.CATALOGUE.values():
        assert fault.name not in fault.symptom
        assert fault.name.replace("-", " ") not in fault.symptom.lower()


def test_choose_is_repeatable_and_spreads():
    assert faults.choose(7) == faults.choose(7)
    assert {faults.choose(seed) for seed in range(200)} == set(faults.CATALOGUE)


def test_unknown_fault_is_a_config_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match="missing-mechanisms"):
        faults.fault("nope")


def test_break_list_shows_symptoms_only_without_a_lab(no_engine, capsys):
    assert cli.main(["break", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "SYMPTOM"]
    for fault in faults.CATALOGUE.values():
        assert fault.name in out and fault.symptom in out and fault.cause not in out


def test_break_list_reveal_adds_cause_and_fix(no_engine, capsys):
    assert cli.main(["break", "--list", "--reveal"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "SYMPTOM", "CAUSE", "FIX"]
    assert all(f.cause in out and f.fix in out for f in faults.CATALOGUE.values())


def test_break_unknown_fault_is_one_line_exit_2_before_any_lab(no_engine, capsys):
    assert cli.main(["break", "--fault", "nope", "--lab", "nosuchlab"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'nope' is not in the catalogue" in err


def test_break_acts_on_one_lab():
    assert cli.parse(["break", "--seed", "3", "--lab", "x"]).lab == "x"
    assert "break" in cli.LAB_VERBS
