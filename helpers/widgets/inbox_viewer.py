"""InboxViewer: what the provider (or the LAN's mailhost) received, a table and one message's detail."""
from __future__ import annotations

import ipywidgets as w
import pandas as pd

from helpers.display import Text, WidgetView
from helpers.widgets.form import block, guard, inline
from labenv import mail


class InboxViewer(WidgetView):
    """The messages one receiver recorded (``labenv.mail`` rows) and each message as received."""

    def __init__(self, lab, role: str = "relayhost") -> None:
        self.lab = lab
        self.role = mail.check_source(role)
        self._messages: list[dict] = []
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.status = w.HTML()
        self.pick = w.Dropdown(description="message", options=[])
        self.table_out = w.HTML()
        self.detail_out = w.HTML()
        self.refresh_button.on_click(guard(self.status, lambda _: self.refresh()))
        self.pick.observe(guard(self.status, lambda change: self._show_detail(change["new"])),
                          names="value")
        self.widget = w.VBox([w.HTML(f"<b>{role}: messages received</b>"), self.refresh_button,
                              self.status, self.table_out, self.pick, self.detail_out])

    def _fetch(self) -> list[dict]:
        self._messages = mail.received(self.lab, self.role)
        return self._messages

    def refresh(self) -> pd.DataFrame:
        """Fetch the messages again and show them."""
        frame = self.messages()
        self.status.value = ""
        self.table_out.value = (frame.to_html(index=False, na_rep="") if len(frame)
                                else inline("no messages received"))
        self.pick.options = [(f"{row['id']}: {row['subject']}", i)
                             for i, row in enumerate(frame.to_dict("records"))]
        return frame

    def messages(self, fetch: bool = True) -> pd.DataFrame:
        """One row per message (``labenv.mail.INBOX_COLUMNS``): port, TLS, AUTH user, envelope, headers."""
        messages = self._fetch() if fetch else self._messages
        return pd.DataFrame([mail.inbox_row(m) for m in messages], columns=mail.INBOX_COLUMNS)

    def detail(self, index: int = -1) -> Text:
        """One message as received: envelope, then headers and body."""
        messages = self._messages or self._fetch()
        if not messages:
            return Text("no messages received")
        m = messages[index]
        row = mail.inbox_row(m)
        head = (f"port {row['port']}, TLS {row['tls']}, AUTH {row['auth']}\n"
                f"MAIL FROM:<{m['mail_from']}> {' '.join(m.get('mail_options') or [])}\n"
                + "".join(f"RCPT TO:<{r}>\n" for r in m["rcpt_tos"]))
        return Text(head + "\n" + m["data"].replace("\r\n", "\n"))

    def _show_detail(self, index) -> None:
        if index is not None:
            self.detail_out.value = block(str(self.detail(index)))

    def result(self) -> pd.DataFrame:
        return self.messages()
