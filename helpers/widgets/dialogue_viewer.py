"""DialogueViewer: an SMTP dialogue as a table, a text sequence diagram and an HTML one.

The steps come from :mod:`labenv.sendmail.parsers.dialogue`; this module only draws them.
"""
from __future__ import annotations

import html
import textwrap

import ipywidgets as w
import pandas as pd

from helpers.display import Text, WidgetView
from helpers.widgets.form import RED
from labenv.sendmail.parsers import dialogue

#: The text diagram stays within a notebook's output column.
TEXT_WIDTH = 100
#: A client line up to this long shares its row with the arrow; a longer one gets a row of its own.
CLIENT_WIDTH = 32


class DialogueViewer(WidgetView):
    """An SMTP dialogue as a table and a client|server sequence diagram.

    ``from_session(session)``: a provider record (``lab.provider.sessions()[i]``),
    whose transcript already hides the credentials. ``from_verbose(text)``: what
    ``sendmail -v`` printed; the credentials there are masked unless
    ``mask_credentials=False``.
    """

    def __init__(self, steps: list[dict], title: str = "SMTP dialogue") -> None:
        self.steps = steps
        self.title = title
        self.widget = w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), w.HTML(self.html())])

    @classmethod
    def from_session(cls, session: dict, title: str | None = None) -> DialogueViewer:
        name = title or (f"provider session on port {session.get('port')}, "
                         f"TLS {session.get('tls') or 'none'}")
        return cls(dialogue.steps_from_session(session), name)

    @classmethod
    def from_verbose(cls, text: str, *, mask_credentials: bool = True,
                     title: str = "sendmail -v") -> DialogueViewer:
        return cls(dialogue.steps_from_verbose(text, mask_credentials=mask_credentials), title)

    def table(self) -> pd.DataFrame:
        """One row per line: step, from (client/server/note), line, note."""
        frame = pd.DataFrame(self.steps, columns=dialogue.STEP_COLUMNS)
        frame.insert(0, "step", range(1, len(frame) + 1))
        frame["note"] = frame["note"].fillna("")
        return frame

    def text(self) -> Text:
        """A plain-text sequence diagram, client on the left, server on the right.

        Lines up to ``CLIENT_WIDTH`` share a row with their arrow, a longer client
        line stands on its own row above its arrow; notes on credentials (``!!``)
        and sendmail's own remarks (``~~``) get rows of their own, so no row is
        wider than ``TEXT_WIDTH``.
        """
        fits = [len(s["line"]) for s in self.steps
                if s["from"] == "client" and len(s["line"]) <= CLIENT_WIDTH]
        width = max([len("client"), *fits])
        gap = " " * width
        out = ["client".ljust(width) + " " * 7 + "server"]
        for step in self.steps:
            line = step["line"]
            if step["from"] == "client":
                if len(line) <= width:
                    out.append(f"{line:<{width}} ---->")
                else:
                    out += [*_wrap(line, "", "  "), f"{gap} ---->"]
                if step["note"]:
                    out += _wrap(step["note"], "  !! ", "     ")
            elif step["from"] == "server":
                out += _wrap(line, f"{gap} <---- ", " " * (width + 7))
            else:
                out += _wrap(line, "~~ ", "   ")
        return Text("\n".join(out))

    def html(self) -> str:
        """A simple sequence diagram: client | arrow | server, credentials flagged."""
        rows = []
        for step in self.steps:
            line = html.escape(step["line"])
            note = (f'<div style="color:{RED};font-size:85%">&#9888; {html.escape(step["note"])}'
                    "</div>" if step["note"] else "")
            if step["from"] == "client":
                rows.append(f'<tr><td style="text-align:right"><code>{line}</code>{note}</td>'
                            '<td style="text-align:center">&#10230;</td><td></td></tr>')
            elif step["from"] == "server":
                rows.append('<tr><td></td><td style="text-align:center">&#10229;</td>'
                            f"<td><code>{line}</code></td></tr>")
            else:
                rows.append(f'<tr><td colspan="3" style="text-align:center;color:#555">'
                            f"<i>{line}</i></td></tr>")
        return ('<table style="border-collapse:collapse"><tr><th style="text-align:right">client'
                '</th><th></th><th style="text-align:left">server</th></tr>'
                + "".join(rows) + "</table>")

    def result(self) -> pd.DataFrame:
        return self.table()


def _wrap(text: str, first: str, rest: str) -> list[str]:
    """``text`` in rows of at most TEXT_WIDTH, the first after ``first``, the others after ``rest``."""
    return textwrap.wrap(text, TEXT_WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False) or [first.rstrip()]
