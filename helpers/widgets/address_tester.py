"""AddressTester: addresses, one per line -> how sendmail routes each (one ``sendmail -bt``)."""
from __future__ import annotations

import ipywidgets as w
import pandas as pd

from helpers.display import Text
from helpers.widgets import routes
from helpers.widgets.form import RED, Form
from labenv.errors import ConfigError
from labenv.sendmail.validate import check_address, check_mail_address


class AddressTester(Form):
    """Addresses, one per line -> how sendmail routes each (one sendmail -bt).

    ``sendmail -bt`` routes any text, so an input that is not ``user@domain`` or a
    local user name is routed too, with a warning (one line each) above the table.
    """

    def __init__(self, lab, addresses: list[str] | None = None) -> None:
        super().__init__()
        self.lab = lab
        self.text = w.Textarea(value="\n".join(addresses or routes.DEFAULT_ADDRESSES),
                               layout=w.Layout(width="30em", height="9em"))
        self.button = w.Button(description="Route", icon="random")
        self.table_out = w.HTML()
        self._routes: pd.DataFrame | None = None
        self._error: str | None = None
        self._warnings: list[str] = []
        self.button.on_click(self._guard(lambda _: self.routes()))
        self.widget = w.VBox([w.HTML("<b>Test addresses</b> (one per line)"), self.text,
                              self.button, self.status, self.table_out])

    def set(self, addresses: list[str]) -> AddressTester:
        self.text.value = "\n".join(addresses)
        return self

    def addresses(self) -> list[str]:
        return [line.strip() for line in self.text.value.splitlines() if line.strip()]

    def warnings(self) -> list[str]:
        """One line for each input that is not a mail address (user@domain or a local user)."""
        problems = []
        for address in self.addresses():
            try:
                check_mail_address("address", address)
            except ConfigError as error:
                problems.append(f"warning: {error.message}; sendmail -bt routes it anyway")
        return problems

    def routes(self) -> pd.DataFrame | None:
        """The routing table, or None (and the error in red) when an address is refused."""
        try:
            addresses = [check_address("address", a) for a in self.addresses()]
            if not addresses:
                raise ConfigError("address", "give at least one address")
        except ConfigError as error:
            self._error = str(error)
            self._say(self._error, color=RED)
            return None
        table = routes.routes_frame(self.lab, addresses)
        self._error, self._routes, self._warnings = None, table, self.warnings()
        self._say("\n".join(self._warnings), color=RED if self._warnings else None)
        self.table_out.value = table.to_html(index=False, na_rep="")
        return table

    def result(self) -> pd.DataFrame | Text:
        """The routing table, a warning line printed above it for each input that is not an address.

        Or, when an address was refused, the refusal in one line.
        """
        if self._routes is None and self._error is None:
            self.routes()
        if self._error:
            return Text(f"refused: {self._error}")
        if self._warnings:
            print("\n".join(self._warnings))
        return self._routes
