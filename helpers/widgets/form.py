"""What every editor shares: the Outcome of an Apply and the status/output area under the buttons.

A refusal shows its first line in red in the status line, and under it in red
what became of the lab: bad input -> "nothing was applied"; a configuration the
lab refused (make, m4 or makemap failed) -> its error lines and "make failed:
/etc/mail was restored; ...". Success shows in green, warnings in red below it.

A click has no notebook cell to show an exception in: every button and observe
callback goes through :func:`guard`, so a lab error (a lab that is gone, a
container that stopped) shows as one red line in the status, and nothing else in
the widget changes. Called from code, the same methods raise as before.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as w

from helpers.display import Text, WidgetView
from labenv.errors import ConfigError, LabenvError, Refused

RED = "#b00020"
GREEN = "#1b5e20"
GREY = "#888"
NOTHING_APPLIED = "nothing was applied"
MAKE_FAILED = "make failed: /etc/mail was restored; sendmail keeps its last good configuration"


def block(text: str, color: str | None = None) -> str:
    """``text`` as preformatted HTML (line breaks kept), in ``color``."""
    style = f"color:{color};" if color else ""
    return f'<pre style="{style}margin:0;white-space:pre-wrap">{html.escape(text)}</pre>'


def inline(text: str, color: str | None = None) -> str:
    """``text`` as one HTML span, in ``color``."""
    style = f' style="color:{color};"' if color else ""
    return f"<span{style}>{html.escape(text)}</span>"


def guard(status: w.HTML, handler: Callable[..., object]) -> Callable[..., None]:
    """``handler`` as a button or observe callback: a lab error shows in ``status`` as one red line.

    The line is the error's first: for a lab that is gone or stopped it says how to
    start a fresh one. Only ``status`` changes; the widget keeps its last result.
    """
    def callback(*args) -> None:
        try:
            handler(*args)
        except LabenvError as error:
            status.value = block((str(error).splitlines() or [type(error).__name__])[0], RED)
    return callback


@dataclass
class Outcome:
    """What an Apply did: ``ok``, or ``error`` (its first line says what was refused).

    ``lab_refused`` is True when the lab refused the configuration (``error`` then
    goes on with make's and m4's error lines) and False when bad input was refused
    before anything was written.
    """

    ok: bool
    error: str | None = None
    lab_refused: bool = False
    applied: bool = False
    diff: str = ""
    make_output: str = ""
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    @classmethod
    def refused(cls, error: ConfigError | Refused, **details) -> Outcome:
        if isinstance(error, Refused):
            return cls(False, "\n".join([str(error), *error.errors]), lab_refused=True, **details)
        return cls(False, str(error), **details)

    @property
    def verdict(self) -> str:
        """What became of the lab after a refusal."""
        return MAKE_FAILED if self.lab_refused else NOTHING_APPLIED

    def refusal(self) -> Text:
        """The refusal as the learner reads it: ``refused: <error>`` and the verdict."""
        return Text(f"refused: {self.error}\n{self.verdict}")

    def __bool__(self) -> bool:
        return self.ok


class Form(WidgetView):
    """Base of the editors: ``status`` and ``output`` (HTML) and the last Outcome."""

    def __init__(self) -> None:
        self.status = w.HTML()
        self.output = w.HTML()
        self._last: Outcome | None = None

    def _guard(self, handler: Callable[..., object]) -> Callable[..., None]:
        """``handler`` as a callback that shows a lab error in this form's status (see :func:`guard`)."""
        return guard(self.status, handler)

    def _refuse(self, error: ConfigError | Refused, *, record: bool = True, **details) -> Outcome:
        """Show a refusal (first line red, then the rest and the verdict); remember it."""
        outcome = Outcome.refused(error, **details)
        first, *rest = outcome.error.splitlines()
        self.status.value = block(first, RED)
        self.output.value = block("\n".join([*rest, outcome.verdict]), RED)
        if record:
            self._last = outcome
        return outcome

    def _done(self, outcome: Outcome, message: str, text: str = "") -> Outcome:
        """Show a success: ``message`` in green (plain when nothing changed), warnings, ``text``."""
        self._last = outcome
        self.status.value = (inline(message, GREEN if outcome.applied else None)
                             + "".join(block(x, RED) for x in outcome.warnings))
        self.output.value = block(text) if text else ""
        return outcome

    def _not_applied(self) -> Text | None:
        """What ``result()`` shows before any Apply or after a refused one; None after a success."""
        if self._last is None:
            return Text("nothing applied yet")
        return None if self._last.ok else self._last.refusal()

    def _say(self, message: str, text: str = "", color: str | None = None) -> None:
        """Show a message that is neither a refusal nor an Apply (a diff, a problem found)."""
        self.status.value = block(message, color) if "\n" in message else inline(message, color)
        self.output.value = block(text) if text else ""
