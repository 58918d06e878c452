"""How helper results show in a notebook: one module, three kinds of text and the widget view.

    Text("a\\nb")        a cell shows it as it is: no quotes, real line breaks
    Markdown("**x**")   rendered in JupyterLab, the Markdown source as plain text elsewhere
    Printed("a\\nb")     text a helper has already printed: a cell shows it no second time
    WidgetView          displaying the object displays its ``.widget``, with a readable
                        HTML and text rendering of its state for places widgets cannot run
                        (stored notebooks read without a kernel, the docs site)

All three are ``str``, so a test or a later cell can search them like any text.
"""
from __future__ import annotations

import html
import re


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
    """Displaying the object displays its ``widget`` (an ipywidgets widget).

    The display bundle also holds ``text/html`` and ``text/plain`` renderings of the
    widget as it is now, so a page without a kernel shows the form, never
    ``VBox(children=...``.
    """

    widget: object

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if not isinstance(bundle, dict):  # ipywidgets returns None for a closed widget
            return bundle
        return {**bundle, "text/html": static_html(self.widget), "text/plain": static_text(self.widget)}


_TAG = re.compile(r"<[^>]+>")
_BOX = ("VBox", "HBox", "Box", "GridBox", "Accordion", "Tab", "Stack")


def _plain(markup: str) -> str:
    """HTML reduced to its text (tags dropped, entities decoded)."""
    return html.unescape(_TAG.sub("", re.sub(r"<br\s*/?>|</(p|div|tr|li|h\d)>", "\n", markup)))


def _value_text(widget) -> str:
    """The value a field shows: an empty one reads as its placeholder or "(not set)", never as
    a blank, and a password field never shows what was typed into it."""
    value = getattr(widget, "label", None) if hasattr(widget, "options") else None
    value = getattr(widget, "value", "") if value is None else value
    text = "" if value is None else str(value)
    if text.strip():
        return "********" if type(widget).__name__ == "Password" else text
    # ipywidgets' own default placeholder is a zero-width space
    placeholder = str(getattr(widget, "placeholder", "") or "").replace("\u200b", "").strip()
    return f"(empty: {placeholder})" if placeholder else "(not set)"


def _output_text(widget) -> str:
    parts = []
    for output in getattr(widget, "outputs", ()):
        if output.get("output_type") == "stream":
            parts.append(output.get("text", ""))
        else:
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "".join(parts).rstrip("\n")


def static_html(widget) -> str:
    """The widget as HTML that needs no JavaScript: boxes, text, values, disabled buttons.

    >>> import ipywidgets as w
    >>> static_html(w.HBox([w.Button(description="Check"), w.Text(description="port", value="587")]))
    '<div style="display:flex;flex-direction:row;gap:0.5em;align-items:baseline"><button disabled>Check</button><span><b>port</b> <code>587</code></span></div>'
    >>> static_text(w.VBox([w.Password(description="P", value="secret"), w.Text(description="M"),
    ...                     w.Text(description="R", placeholder="none")]))
    'P ********\\nM (not set)\\nR (empty: none)'
    """
    kind = type(widget).__name__
    if kind in _BOX:
        direction = "row" if kind == "HBox" else "column"
        inner = "".join(static_html(child) for child in widget.children)
        return (f'<div style="display:flex;flex-direction:{direction};gap:0.5em;'
                f'align-items:{"baseline" if direction == "row" else "stretch"}">{inner}</div>')
    if kind in ("HTML", "HTMLMath"):
        return widget.value
    if kind == "Label":
        return f"<span>{html.escape(widget.value)}</span>"
    if kind in ("Button", "ToggleButton"):
        return f"<button disabled>{html.escape(widget.description)}</button>"
    if kind == "Output":
        text = _output_text(widget)
        return f"<pre>{html.escape(text)}</pre>" if text else ""
    if hasattr(widget, "value"):
        label = f"<b>{html.escape(widget.description)}</b> " if getattr(widget, "description", "") else ""
        return f"<span>{label}<code>{html.escape(_value_text(widget))}</code></span>"
    return ""


def static_text(widget) -> str:
    """The widget as plain text: one line per row, buttons in brackets.

    >>> import ipywidgets as w
    >>> print(static_text(w.VBox([w.HTML("<b>Routes</b>"),
    ...                          w.HBox([w.Button(description="Check"), w.Button(description="Skip")])])))
    Routes
    [Check] [Skip]
    """
    kind = type(widget).__name__
    if kind in _BOX:
        parts = [static_text(child) for child in widget.children]
        return (" " if kind == "HBox" else "\n").join(p for p in parts if p)
    if kind in ("HTML", "HTMLMath"):
        return _plain(widget.value).strip("\n")
    if kind == "Label":
        return widget.value
    if kind in ("Button", "ToggleButton"):
        return f"[{widget.description}]"
    if kind == "Output":
        return _output_text(widget)
    if hasattr(widget, "value"):
        label = f"{widget.description} " if getattr(widget, "description", "") else ""
        return f"{label}{_value_text(widget)}"
    return ""
