"""MailertableEditor: editable mailertable rows, Validate/Apply, and how the test addresses route."""
from __future__ import annotations

import ipywidgets as w
import pandas as pd

from helpers.display import Text
from helpers.widgets import routes
from helpers.widgets.form import GREEN, RED, Form, Outcome
from labenv import configure
from labenv.errors import ConfigError, NotSo, Refused
from labenv.sendmail.maps import mailertable_frame, parse_mailertable
from labenv.sendmail.paths import MAILERTABLE


class MailertableEditor(Form):
    """Editable mailertable rows, Validate/Apply, and a live routing table of test addresses.

    ``compare_model`` adds the pure routing model's answer and whether it agrees.
    """

    def __init__(self, lab, rows=None, addresses: list[str] | None = None, *,
                 compare_model: bool = True) -> None:
        super().__init__()
        self.lab = lab
        self.addresses = list(addresses or routes.DEFAULT_ADDRESSES)
        self.compare_model = compare_model
        self._rows_box = w.VBox()
        self._row_widgets: list[tuple[w.Text, w.Text, w.Text]] = []
        self._routes: pd.DataFrame | None = None
        self.add_button = w.Button(description="Add row", icon="plus")
        self.validate_button = w.Button(description="Validate", icon="check-square")
        self.apply_button = w.Button(description="Apply", button_style="warning", icon="check")
        self.table_out = w.HTML()
        self.add_button.on_click(self._guard(lambda _: self._add_row("", "esmtp", "")))
        self.validate_button.on_click(self._guard(lambda _: self._validate_clicked()))
        self.apply_button.on_click(self._guard(lambda _: self.apply()))
        self.set_rows(self._lab_rows() if rows is None else rows)
        self.widget = w.VBox([w.HTML("<b>/etc/mail/mailertable</b> (key, mailer, host)"),
                              self._rows_box,
                              w.HBox([self.add_button, self.validate_button, self.apply_button]),
                              self.status, self.output,
                              w.HTML("<b>Routing of the test addresses</b>"), self.table_out])

    # -- the rows
    def _lab_rows(self) -> list[tuple[str, str, str]]:
        """The lab's mailertable as rows ([] when it has none or one this editor cannot read)."""
        try:
            frame = parse_mailertable(self.lab.read_file("mailserver", MAILERTABLE))
        except (NotSo, ConfigError):
            return []
        return [tuple(r) for r in frame.itertuples(index=False)]

    def _add_row(self, key: str, mailer: str, host: str) -> None:
        fields = (w.Text(value=key, placeholder=".domain or host", layout=w.Layout(width="14em")),
                  w.Text(value=mailer, placeholder="esmtp / relay / ...",
                         layout=w.Layout(width="8em")),
                  w.Text(value=host, placeholder="[host]", layout=w.Layout(width="20em")))
        remove = w.Button(icon="trash", layout=w.Layout(width="3em"), tooltip="remove this row")
        line = w.HBox([*fields, remove])
        remove.on_click(self._guard(lambda _: self._remove(fields, line)))
        self._row_widgets.append(fields)
        self._rows_box.children = (*self._rows_box.children, line)

    def _remove(self, fields, line) -> None:
        self._row_widgets = [f for f in self._row_widgets if f is not fields]
        self._rows_box.children = tuple(c for c in self._rows_box.children if c is not line)

    def set_rows(self, rows) -> MailertableEditor:
        """Replace the rows in the form (validated on Validate/Apply)."""
        if isinstance(rows, pd.DataFrame):
            rows = list(rows.loc[:, ["key", "mailer", "host"]].itertuples(index=False))
        self._row_widgets, self._rows_box.children = [], ()
        for row in rows:
            key, mailer, host = (str(v) for v in row)
            self._add_row(key, mailer, host)
        return self

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(f.value.strip() for f in fields) for fields in self._row_widgets]

    def frame(self) -> pd.DataFrame:
        """The rows as a validated DataFrame (ConfigError names the bad value)."""
        return mailertable_frame(self.rows())

    def validate(self) -> list[str]:
        """Problems with the rows as one-line messages ([] = fine)."""
        try:
            self.frame()
        except ConfigError as error:
            return [str(error)]
        return []

    def _validate_clicked(self) -> None:
        problems = self.validate()
        if problems:
            self._say(problems[0], color=RED)
        else:
            self._say(f"{len(self._row_widgets)} row(s) look fine", color=GREEN)

    def feature_enabled(self) -> bool:
        """Whether sendmail.mc has FEATURE(`mailertable') (without it sendmail never reads the map)."""
        return configure.read_mc(self.lab).config().mailertable

    # -- applying
    def apply(self) -> Outcome:
        """Write /etc/mail/mailertable and makemap it, then refresh the routing table."""
        try:
            frame = self.frame()
        except ConfigError as error:
            return self._refuse(error)
        warnings = []
        if not self.feature_enabled():
            warnings.append("sendmail.mc has no FEATURE(`mailertable'): the map is built, but "
                            "sendmail does not read it until you add the FEATURE "
                            "(McEditor: mailertable) and apply")
        try:
            text = configure.install_mailertable(self.lab, frame)
        except (ConfigError, Refused) as error:
            return self._refuse(error)
        self.routes()   # refresh the routing table shown under the form
        return self._done(Outcome(True, applied=True, warnings=warnings, details={"text": text}),
                          "applied: mailertable written, makemap run")

    def routes(self) -> pd.DataFrame:
        """Route every test address now (one sendmail -bt); with the model's answer beside it."""
        table = routes.routes_frame(self.lab, self.addresses)
        if self.compare_model:
            table = routes.with_model(self.lab, table, self.rows_for_model())
        self._routes = table
        self.table_out.value = table.to_html(index=False, na_rep="")
        return table

    def rows_for_model(self) -> pd.DataFrame | None:
        """The rows as sendmail reads them: none without the FEATURE or while a row is bad."""
        try:
            return self.frame() if self.feature_enabled() else None
        except ConfigError:
            return None

    def result(self) -> pd.DataFrame | Text:
        """The routing table of the last Apply/refresh (or the refusal as text)."""
        last = self._last
        if last is not None and not last.ok:
            return last.refusal()
        table = self._routes if self._routes is not None else self.routes()
        if last is not None and last.warnings:
            print("\n".join(f"warning: {x}" for x in last.warnings))
        return table
