"""The exercise object a notebook uses (task, check, hint, solution, solve, setup, problems,
controls).

The package docstring (:mod:`helpers.exercises`) shows each call; ``ex.setup(lab)``
puts a lab into the exercise's starting state (most need nothing), and
``ex.controls(lab)`` is the row of buttons a learner works with: Check, Hint, Skip.
"""
from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import ipywidgets as w
from markdown_it import MarkdownIt

from helpers.display import Markdown, WidgetView
from helpers.widgets.form import GREEN, RED, block, guard, inline
from labenv import progress

from .checks import Check
from .probes import Live
from .prose import Prose

OK, NOT_OK = "✔", "✘"


@dataclass(frozen=True)
class Requirement:
    """One thing the lab must show; ``test`` returns problems (empty = met)."""

    label: str
    test: Check


class CheckResult:
    """What :meth:`Exercise.check` found: truthy when done; ``.problems`` lists the rest.

    It has already been printed, so a notebook shows nothing more for it.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)

    @property
    def done(self) -> bool:
        return not self.problems

    def __bool__(self) -> bool:
        return self.done

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool):
            return self.done is other
        return isinstance(other, CheckResult) and other.problems == self.problems

    def __repr__(self) -> str:
        return repr(self.done)

    def _ipython_display_(self) -> None:  # printed by check() already
        return None


@dataclass
class Exercise:
    """A task checked against the live lab: its words, its requirements, its solver."""

    notebook: str
    id: str
    prose: Prose
    requirements: list[Requirement]
    solver: Callable[[object], None]
    starter: Callable[[object], None] | None = None
    _hints_shown: int = field(default=0, repr=False)

    @property
    def title(self) -> str:
        return self.prose.title

    # -- checking
    def results(self, lab) -> list[tuple[Requirement, list[str]]]:
        """Each requirement with its problems, every probe asked at most once."""
        live = Live(lab)
        out = []
        for requirement in self.requirements:
            try:
                problems = requirement.test(live)
            except Exception as error:  # a probe that fails is a problem to show, not a crash
                text = str(error).strip().splitlines()
                problems = [f"could not check: {text[0] if text else type(error).__name__}"]
            out.append((requirement, problems))
        return out

    def problems(self, lab) -> list[str]:
        """Everything still wrong in the lab, one line each; ``[]`` means done."""
        return [p for _, problems in self.results(lab) for p in problems]

    def report(self, lab, *, suggest_hint: bool = True) -> tuple[str, list[str]]:
        """The ✔/✘ text of a check and the problems found."""
        lines = [f"Exercise {self.notebook}/{self.id}: {self.title}"]
        problems = []
        for requirement, found in self.results(lab):
            lines.append(f"{NOT_OK if found else OK} {requirement.label}")
            lines += [f"    {p}" for p in found]
            problems += found
        lines.append("Done." if not problems else
                     f"Not done yet: {len(problems)} problem(s)."
                     + (" ex.hint() gives a hint." if suggest_hint else ""))
        return "\n".join(lines), problems

    def check(self, lab) -> CheckResult:
        """Print one ✔/✘ line per requirement; the result is truthy when all are met."""
        text, problems = self.checked(lab)
        print(text)
        return CheckResult(problems)

    def checked(self, lab, *, action: str = "check", suggest_hint: bool = True) -> tuple[str, list[str]]:
        """:meth:`report`, recorded in the learner's progress (a check or, after Skip, a skip)."""
        text, problems = self.report(lab, suggest_hint=suggest_hint)
        self._record(action, lab, "done" if not problems else "open", len(problems))
        return text, problems

    def _record(self, action: str, lab, result: str, open: int = progress.UNKNOWN) -> None:
        progress.record(action, notebook=self.notebook, exercise=self.id, result=result, open=open,
                        lab=getattr(lab, "name", ""))

    # -- showing
    def task(self) -> Markdown:
        return Markdown(f"### Exercise {self.notebook}/{self.id}: {self.title}\n\n{self.prose.task}\n\n"
                        "Work in the cell below the check, then press **Check** under it (or run "
                        "`ex.check(lab)`). **Hint** gives a hint; **Skip** applies the solution.")

    def hint(self, lab=None) -> Markdown:
        """The next hint; after the last, where the solution is."""
        hints = self.prose.hints
        if self._hints_shown >= len(hints):
            return Markdown(f"No more hints ({len(hints)} given). **Skip** (or `ex.solve(lab)`) "
                            "applies the solution and `ex.solution()` shows it.")
        self._hints_shown += 1
        self._record("hint", lab, f"hint {self._hints_shown}")
        return Markdown(f"**Hint {self._hints_shown} of {len(hints)}:** {hints[self._hints_shown - 1]}")

    def solution(self) -> Markdown:
        return Markdown(f"**Solution ({self.notebook}/{self.id}):**\n\n{self.prose.solution}")

    # -- acting on the lab
    def solve(self, lab) -> None:
        """Apply the solution to the lab (what `ex.solution()` describes)."""
        self.solver(lab)
        self._record("solve", lab, "applied")
        print(f"applied the solution of {self.notebook}/{self.id}")

    def setup(self, lab, **options) -> None:
        """Put the lab into the exercise's starting state (most need nothing).

        ``options`` go to the exercise's starter (the capstone takes ``seed=`` or ``fault=``).
        """
        if self.starter is not None:
            self.starter(lab, **options)

    # -- the learner's buttons
    def controls(self, lab) -> Controls:
        """Print the ✔/✘ report now, and show the buttons Check, Hint and Skip under it."""
        print(self.checked(lab, suggest_hint=False)[0])
        return Controls(self, lab)


_MARKDOWN = MarkdownIt("commonmark")


class Controls(WidgetView):
    """Check, Hint and Skip for one exercise on one lab, with the answer shown under them.

    Check prints the ✔/✘ report; Hint shows the next hint; Skip applies the
    solution (so the next step of the notebook works) and shows it with the
    report. A lab that is gone shows as one red line. ``Controls.shown`` keeps
    every row made in this kernel, newest last.
    """

    shown: ClassVar[list[Controls]] = []

    def __init__(self, exercise: Exercise, lab) -> None:
        self.exercise, self.lab = exercise, lab
        self.skipped = False
        self.status = w.HTML()
        self.answer = w.HTML()
        self.check_button = w.Button(description="Check", icon="check",
                                     tooltip="check the lab now (✔/✘ per requirement)")
        self.hint_button = w.Button(description="Hint", icon="lightbulb-o", tooltip="the next hint")
        self.skip_button = w.Button(description="Skip", icon="forward",
                                    tooltip="apply the solution, so the next step works")
        for button, action in ((self.check_button, self.check), (self.hint_button, self.hint),
                               (self.skip_button, self.skip)):
            button.on_click(guard(self.status, lambda _button, act=action: act()))
        self.widget = w.VBox([w.HBox([self.check_button, self.hint_button, self.skip_button, self.status]),
                              self.answer])
        Controls.shown.append(self)

    def _report(self) -> bool:
        text, problems = self.exercise.checked(self.lab, suggest_hint=False)
        self.answer.value = block(text, None if problems else GREEN)
        self.status.value = inline("done" if not problems else f"{len(problems)} open", None if problems else GREEN)
        return not problems

    def check(self) -> bool:
        """What the Check button does: the report, under the buttons; True when done."""
        return self._report()

    def hint(self) -> None:
        """What the Hint button does: the next hint (then where the solution is)."""
        self.answer.value = _MARKDOWN.render(str(self.exercise.hint(self.lab)))
        self.status.value = ""

    def skip(self) -> bool:
        """What the Skip button does: apply the solution, show it and the report; True when done."""
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self.exercise.solver(self.lab)
        except Exception as error:  # a solver that fails is shown, not raised into a callback
            lines = str(error).strip().splitlines() or [type(error).__name__]
            self.status.value = block(f"could not apply the solution: {lines[0]}", RED)
            return False
        self.skipped = True
        text, problems = self.exercise.checked(self.lab, action="skip", suggest_hint=False)
        self.answer.value = (_MARKDOWN.render(str(self.exercise.solution()))
                             + block(text, None if problems else GREEN))
        self.status.value = inline("skipped: the solution is applied" if not problems
                                   else f"skipped, {len(problems)} still open", None if problems else GREEN)
        return not problems
