"""The exercise object a notebook uses (task, check, hint, solution, solve, setup, problems).

The package docstring (:mod:`helpers.exercises`) shows each call; ``ex.setup(lab)``
puts a lab into the exercise's starting state (most need nothing).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from helpers.display import Markdown

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
        text, problems = self.report(lab)
        print(text)
        return CheckResult(problems)

    # -- showing
    def task(self) -> Markdown:
        return Markdown(f"### Exercise {self.notebook}/{self.id}: {self.title}\n\n{self.prose.task}\n\n"
                        "Check your work with `ex.check(lab)`; `ex.hint()` gives a hint.")

    def hint(self) -> Markdown:
        """The next hint; after the last, where the solution is."""
        hints = self.prose.hints
        if self._hints_shown >= len(hints):
            return Markdown(f"No more hints ({len(hints)} given). `ex.solution()` shows the solution.")
        self._hints_shown += 1
        return Markdown(f"**Hint {self._hints_shown} of {len(hints)}:** {hints[self._hints_shown - 1]}")

    def solution(self) -> Markdown:
        return Markdown(f"**Solution ({self.notebook}/{self.id}):**\n\n{self.prose.solution}")

    # -- acting on the lab
    def solve(self, lab) -> None:
        """Apply the solution to the lab (what `ex.solution()` describes)."""
        self.solver(lab)
        print(f"applied the solution of {self.notebook}/{self.id}")

    def setup(self, lab) -> None:
        """Put the lab into the exercise's starting state (most need nothing)."""
        if self.starter is not None:
            self.starter(lab)
