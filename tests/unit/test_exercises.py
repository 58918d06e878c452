"""The exercises without Docker: their texts, the registry, check/hint/solution on a fake lab, the CLI."""
from __future__ import annotations

import html
import re
from importlib import resources

import pytest

import helpers.exercises
from helpers.exercises import EXERCISES, CheckResult, Exercise, NoSuchExercise, exercise, exercises_for
from helpers.exercises import cli as exercises_cli
from helpers.exercises.catalogue import notebook_number
from helpers.exercises.prose import Prose, parse, text_name
from labenv.errors import ConfigError, LabError
from tests.support import one_line_error
from tests.unit.fakelab import MC, FakeLab

IDS = {"01": "find-the-block", "02": "relay-port", "03": "authinfo", "04": "starttls",
       "05": "mailertable", "06": "masquerade", "07": "end-to-end", "08": "fix-the-queue",
       "09": "capstone"}
TEXTS = resources.files("helpers.exercises").joinpath("texts")


# -- the texts

@pytest.mark.parametrize("ex", EXERCISES, ids=[e.id for e in EXERCISES])
def test_every_exercise_text_parses_with_task_hints_and_solution(ex):
    source = TEXTS.joinpath(text_name(ex.notebook, ex.id)).read_text(encoding="utf-8")
    prose = parse(source, ex.id)
    assert prose.title and prose.task and prose.solution
    assert len(prose.hints) >= 1 and all(h.strip() for h in prose.hints)
    assert prose == ex.prose


def test_every_text_file_belongs_to_an_exercise():
    files = {p.name for p in TEXTS.iterdir() if p.name.endswith(".md")}
    assert files == {text_name(e.notebook, e.id) for e in EXERCISES}


M4_QUOTED = re.compile(r"(?<=[(,])`[^`'\n]*'")     # `...' after ( or , as in define(`X',`Y')


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.id for e in EXERCISES])
def test_m4_quotes_stay_inside_the_code_they_belong_to(ex):
    """Single-backtick code around m4 quotes breaks at the first quote; double backticks keep it whole."""
    markdown_it = pytest.importorskip("markdown_it")
    md = markdown_it.MarkdownIt("commonmark")
    for part in (ex.prose.task, *ex.prose.hints, ex.prose.solution):
        rendered = md.render(part)
        code = [html.unescape(c) for c in re.findall(r"<code[^>]*>(.*?)</code>", rendered, re.DOTALL)]
        for quoted in M4_QUOTED.findall(part):
            assert any(quoted in c for c in code), f"{quoted} is not inside code in: {part}"
        outside_code = re.sub(r"<pre>.*?</pre>|<code>.*?</code>", "", rendered, flags=re.DOTALL)
        assert "`" not in outside_code, part


@pytest.mark.parametrize("text, message", [
    ("## Task\nx\n## Hints\n1. h\n## Solution\ns\n", "no '# Title' line"),
    ("# T\n## Task\nx\n## Hints\n1. h\n", "empty or missing section(s): Solution"),
    ("# T\n## Task\nx\n## Hints\n\n## Solution\ns\n", "empty or missing section(s): Hints"),
    ("# T\n## Task\nx\n## Hints\nsome prose\n## Solution\ns\n", "holds a list, one item per hint"),
    ("# T\n## Task\nx\n## Tips\n1. h\n## Solution\ns\n", "unknown section '## Tips'"),
    ("# T\nstray\n## Task\nx\n## Hints\n1. h\n## Solution\ns\n", "text before the first"),
])
def test_a_broken_text_is_a_one_line_error_naming_the_file(text, message):
    with pytest.raises(ConfigError) as info:
        parse(text, "texts/99-x.md")
    assert str(info.value).startswith("texts/99-x.md: ") and message in str(info.value)
    assert "\n" not in str(info.value)


def test_headings_and_hints_inside_a_code_block_stay_code():
    prose = parse("# T\n\n## Task\n\n```python\n# a comment\n## not a section\n```\n\n"
                  "## Hints\n\n- first\n- second,\n  continued\n\n## Solution\n\ndone\n")
    assert prose.task == "```python\n# a comment\n## not a section\n```"
    assert prose.hints == ("first", "second, continued")


# -- the registry

def test_every_notebook_has_its_exercise_with_solver():
    assert {(e.notebook, e.id) for e in EXERCISES} >= set(IDS.items())
    for notebook, id_ in IDS.items():
        ex = exercise(notebook, id_)
        assert ex.requirements and callable(ex.solver)
        assert id_ in helpers.exercises.__doc__


@pytest.mark.parametrize("given, number", [("2", "02"), (2, "02"), ("02", "02"),
                                           ("05-Routing-With-Smart-Host", "05")])
def test_notebook_numbers(given, number):
    assert notebook_number(given) == number


@pytest.mark.parametrize("nb, id_, message", [
    ("99", "x", "notebook 99 has no exercises"),
    ("02", "nope", "notebook 02 has no exercise 'nope' (it has: relay-port)"),
    ("two", "relay-port", "'two' is not a notebook number"),
])
def test_unknown_exercise_is_a_one_line_error(nb, id_, message):
    with pytest.raises(LookupError) as info:
        exercise(nb, id_)
    assert isinstance(info.value, NoSuchExercise) and isinstance(info.value, LabError)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_exercises_for_keeps_order():
    assert [e.id for e in exercises_for("02")] == ["relay-port"]


# -- checking and solving on a fake lab

def test_check_on_fake_lab_not_done_then_done(capsys):
    lab = FakeLab()
    ex = exercise("02", "relay-port")
    result = ex.check(lab)
    out = capsys.readouterr().out
    assert not result and result == False  # noqa: E712  (compares like a bool)
    assert "✘ the relay mailer connects to port 587" in out and "Not done yet" in out
    assert ex.problems(lab) and "port 25" in ex.problems(lab)[0]
    ex.solve(lab)
    assert "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl" in lab.files[MC]
    assert ex.problems(lab) == []
    result = ex.check(lab)
    out = capsys.readouterr().out
    assert result and "✔ the relay mailer connects to port 587" in out and "Done." in out


def test_each_probe_runs_once_per_check():
    lab = FakeLab()
    exercise("03", "authinfo").problems(lab)
    bt_runs = [c for c in lab.commands if c[:2] == ["sendmail", "-bt"]]
    assert len(bt_runs) == 1          # three requirements ask /map authinfo; one sendmail -bt


def test_relay_knob_after_mailer_is_reported():
    lab = FakeLab()
    lab.files[MC] += "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl\n"
    problems = exercise("02", "relay-port").problems(lab)
    assert any("comes after MAILER_DEFINITIONS" in p for p in problems)


def test_a_failing_probe_is_a_problem_not_a_crash():
    lab = FakeLab()
    lab.provider = None              # the provider cannot be asked
    problems = exercise("03", "authinfo").problems(lab)
    assert any(p.startswith("could not check:") for p in problems)


def test_authinfo_checks_read_the_map():
    lab = FakeLab()
    ex = exercise("03", "authinfo")
    assert "sendmail.cf has no authinfo map" in ex.problems(lab)[0]
    lab.files[MC] = lab.files[MC].replace(
        "MAILER_DEFINITIONS", "FEATURE(`authinfo',`hash /etc/mail/auth/client-info.db')dnl\n"
        "MAILER_DEFINITIONS", 1)
    lab.files["/etc/mail/auth/client-info"] = ('AuthInfo:relayhost.somedom.com "I:user_name" '
                                               '"P:secret"\n')
    lab.modes["/etc/mail/auth"] = 0o700
    lab.modes["/etc/mail/auth/client-info"] = 0o600
    problems = ex.problems(lab)
    assert any("PLAIN or LOGIN" in p for p in problems)
    assert not any("secret" in p for p in problems)           # the password is never echoed
    lab.files["/etc/mail/auth/client-info"] = lab.files["/etc/mail/auth/client-info"].replace(
        '"P:secret"', '"P:secret" "M:PLAIN LOGIN"')
    assert not any("PLAIN or LOGIN" in p for p in ex.problems(lab))


# -- what a notebook shows

def test_hints_are_revealed_one_by_one():
    ex = Exercise("99", "t", Prose("Test", "do it", ("first", "second"), "sol"), [], lambda lab: None)
    assert "Hint 1 of 2:** first" in repr(ex.hint())
    assert "Hint 2 of 2:** second" in repr(ex.hint())
    assert "No more hints" in repr(ex.hint())
    assert "sol" in ex.solution()._repr_markdown_()
    assert "### Exercise 99/t: Test" in ex.task()._repr_markdown_()


def test_check_result_behaves_like_a_bool():
    assert CheckResult([]) and CheckResult([]) == True  # noqa: E712
    assert not CheckResult(["x"]) and CheckResult(["x"]).problems == ["x"]


# -- the instructors' CLI, without a lab

@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: verb"),
    (["grade"], "invalid choice: 'grade'"),
    (["check"], "the following arguments are required: notebook"),
    (["check", "42", "--lab", "nosuchlab"], "notebook 42 has no exercises"),
    (["check", "two", "--lab", "nosuchlab"], "'two' is not a notebook number"),
    (["check", "02", "--lab", "UPPER"], "is not valid"),
    (["check", "02", "--lab", "a", "--lab", "b"], "--lab given twice with different names: a, b"),
    (["check", "02", "--lab"], "--lab needs a lab name"),
    (["progress", "--lab", "a"], "progress checks every learner's labs; it takes no --lab"),
    (["progress", "--json", "extra"], "unrecognized arguments: extra"),
])
def test_cli_usage_errors_exit_2_with_one_line(argv, message, capsys):
    assert exercises_cli.main(argv) == 2
    captured = capsys.readouterr()
    assert message in one_line_error(captured.err) and captured.out == ""


@pytest.mark.parametrize("argv, notebook", [
    (["check", "--lab", "bob-nb03", "03"], "03"),
    (["--lab", "bob-nb03", "check", "3"], "3"),
    (["check", "03", "--lab=bob-nb03"], "03"),
])
def test_cli_takes_the_lab_anywhere(argv, notebook):
    args = exercises_cli.parse(argv)
    assert (args.verb, args.notebook, args.lab) == ("check", notebook, "bob-nb03")


def test_cli_lab_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("LABENV_LAB", "fromenv")
    assert exercises_cli.parse(["check", "02"]).lab == "fromenv"
