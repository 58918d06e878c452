"""AddressTester: addresses, one per line -> how sendmail routes each (one ``sendmail -bt``)."""
from __future__ import annotations

import ipywidgets as w
import pandas as pd

from helpers.display import Text
from helpers.widgets import routes
from helpers.widgets.form import RED, Form
from labenv.errors import ConfigError
from labenv.sendmail.validate import check_address


class AddressTester(Form):
    """Addresses, one per line -> how sendmail routes each (one sendmail -bt)."""

    def __init__(self, lab, addresses: list[str] | None = None) -> None:
        super().__init__()
        self.lab = lab
        self.text = w.Textarea(value="\n".join(addresses or routes.DEFAULT_ADDRESSES),
                               layout=w.Layout(width="30em", height="9em"))
        self.button = w.Button(description="Route", icon="random")
        self.table_out = w.HTML()
        self._routes: pd.DataFrame | None = None
        self._error: str | None = None
        self.button.on_click(lambda _: self.routes())
        self.widget = w.VBox([w.HTML("<b>Test addresses</b> (one per line)"), self.text,
                              self.button, self.status, self.table_out])

    def set(self, addresses: list[str]) -> AddressTester:
        self.text.value = "\n".join(addresses)
        return self

    def addresses(self) -> list[str]:
        return [line.strip() for line in self.text.value.splitlines() if line.strip()]

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
        self._error = None
        self._routes = routes.routes_frame(self.lab, addresses)
        self._say("")
        self.table_out.value = self._routes.to_html(index=False, na_rep="")
        return self._routes

    def result(self) -> pd.DataFrame | Text | None:
        """The routing table, or the refusal in one line."""
        if self._error:
            return Text(f"refused: {self._error}")
        return self._routes if self._routes is not None else self.routes()
