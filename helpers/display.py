"""How helper results show in a notebook: one module, three kinds of text and the widget view.

    Text("a\\nb")        a cell shows it as it is: no quotes, real line breaks
    Markdown("**x**")   rendered in JupyterLab, the Markdown source as plain text elsewhere
    Printed("a\\nb")     text a helper has already printed: a cell shows it no second time
    WidgetView          displaying the object displays its ``.widget``

All three are ``str``, so a test or a later cell can search them like any text.
"""
from __future__ import annotations


class Text(str):
    """Text that a notebook cell shows as it is (no quotes, real line breaks)."""

    def __repr__(self) -> str:
        return str(self)


class Markdown(Text):
    """Markdown that renders in a notebook and reads as its source elsewhere."""

    def _repr_markdown_(self) -> str:
        return str(self)


class Printed(Text):
    """Text already printed by the helper that returns it.

    As the last expression of a cell it shows nothing more (a trailing ``;`` does
    not suppress it under nbval, which runs cells without history).
    """

    def _ipython_display_(self) -> None:
        pass


class WidgetView:
    """Displaying the object displays its ``widget`` (an ipywidgets widget)."""

    widget: object

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
