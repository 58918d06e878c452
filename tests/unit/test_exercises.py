"""The exercise registry and the check/hint/solution display, on a fake lab."""
import pytest

from helpers import exercises
from helpers.exercises import EXERCISES, CheckResult, exercise, exercises_for, notebook_number
from tests.unit.fakelab import MC, FakeLab

IDS = {"01": "find-the-block", "02": "relay-port", "03": "authinfo", "04": "starttls",
       "05": "mailertable", "06": "masquerade", "07": "end-to-end", "08": "fix-the-queue"}


def test_every_notebook_has_its_exercise_with_solve_and_hints():
    assert {(e.notebook, e.id) for e in EXERCISES} >= set(IDS.items())
    for notebook, id_ in IDS.items():
        ex = exercise(notebook, id_)
        assert ex.requirements and ex.hints and ex.solution_md and callable(ex.solver)
        assert id_ in exercises.__doc__


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
    assert message in str(info.value) and "\n" not in str(info.value)


def test_exercises_for_keeps_order():
    assert [e.id for e in exercises_for("02")] == ["relay-port"]


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


def test_hints_are_revealed_one_by_one():
    ex = exercises.Exercise("t", "99", "Test", "do it", [], ["first", "second"], "sol",
                            lambda lab: None)
    assert "Hint 1 of 2:** first" in repr(ex.hint())
    assert "Hint 2 of 2:** second" in repr(ex.hint())
    assert "No more hints" in repr(ex.hint())
    assert "sol" in ex.solution()._repr_markdown_()
    assert "### Exercise 99/t: Test" in ex.task()._repr_markdown_()


def test_check_result_behaves_like_a_bool():
    assert CheckResult([]) and CheckResult([]) == True  # noqa: E712
    assert not CheckResult(["x"]) and CheckResult(["x"]).problems == ["x"]
