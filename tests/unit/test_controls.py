"""The learner's buttons under an exercise (Check, Hint, Skip), pressed on a fake lab."""
from __future__ import annotations

import dataclasses

from helpers.display import static_html, static_text
from helpers.exercises import exercise
from helpers.exercises.framework import Controls
from tests.unit.fakelab import MC, FakeLab


def test_controls_print_the_report_and_show_three_buttons(capsys):
    lab = FakeLab()
    controls = exercise("02", "relay-port").controls(lab)
    out = capsys.readouterr().out
    assert "✘ the relay mailer connects to port 587" in out and "Not done yet" in out
    assert "ex.hint()" not in out                # the buttons are the way to a hint here
    assert [b.description for b in controls.widget.children[0].children[:3]] == ["Check", "Hint", "Skip"]
    assert Controls.shown[-1] is controls


def test_check_button_reports_under_the_buttons():
    lab = FakeLab()
    controls = exercise("02", "relay-port").controls(lab)
    controls.check_button.click()
    assert "✘ the relay mailer connects to port 587" in controls.answer.value
    assert "open" in controls.status.value


def test_hint_button_shows_the_hints_in_order_then_points_to_skip():
    lab = FakeLab()
    ex = dataclasses.replace(exercise("02", "relay-port"), _hints_shown=0)   # no hints given yet
    controls = ex.controls(lab)
    seen = []
    for _ in range(len(ex.prose.hints) + 1):
        controls.hint_button.click()
        seen.append(controls.answer.value)
    assert "Hint 1 of" in seen[0] and f"Hint {len(ex.prose.hints)} of" in seen[-2]
    assert "No more hints" in seen[-1]
    assert "<code>" in seen[0] or "<p>" in seen[0]          # rendered Markdown, not its source


def test_skip_button_applies_the_solution_and_reports_done():
    lab = FakeLab()
    controls = exercise("02", "relay-port").controls(lab)
    controls.skip_button.click()
    assert "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl" in lab.files[MC]
    assert controls.skipped
    assert "✔ the relay mailer connects to port 587" in controls.answer.value
    assert "Solution" in controls.answer.value and "skipped" in controls.status.value


def test_buttons_on_a_lab_that_is_gone_say_so_in_one_line():
    lab = FakeLab()
    controls = exercise("02", "relay-port").controls(lab)
    lab.gone = True
    controls.skip_button.click()
    assert "could not apply the solution" in controls.status.value
    assert controls.status.value.count("\n") == 0 and not controls.skipped
    controls.check_button.click()                # a probe that fails is a problem, not a crash
    assert "could not check" in controls.answer.value


def test_the_row_reads_well_without_a_kernel():
    lab = FakeLab()
    controls = exercise("02", "relay-port").controls(lab)
    controls.check_button.click()
    bundle = controls._repr_mimebundle_()
    assert "VBox(" not in bundle["text/plain"]
    assert bundle["text/plain"].startswith("[Check] [Hint] [Skip]")
    assert "✘ the relay mailer connects to port 587" in bundle["text/plain"]
    assert "<button disabled>Skip</button>" in bundle["text/html"]
    assert static_html(controls.widget) == bundle["text/html"]
    assert static_text(controls.widget) == bundle["text/plain"]
