"""Publish the notebooks as a static site: one HTML page each (stored outputs, as nbval
verified them), the glossary, the pictures and an index. `make docs` writes build/docs/;
nothing is executed.

    python tools/build_docs.py [OUT_DIR]

The site works offline, so it cannot load the widget JavaScript from a CDN. A widget
output shows its static HTML rendering (the ``text/html`` entry of its display bundle)
instead: the widget-view entry and the notebook's stored widget state are left out of
the page. A widget output with no HTML rendering shows a one-line note, never the
widget's Python repr (``VBox(children=...``), and the build names it on stderr.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from helpers import suites  # noqa: E402

NOTEBOOKS = ROOT / "notebooks"
DOCS = ROOT / "docs"
PICTURES = ["topology.svg", "flow.svg"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
NO_RENDERING = ("<p><em>An interactive widget: it works in JupyterLab on a live lab "
                "(<code>make lab</code>); this page has no rendering of it.</em></p>")

# Markdown links to a notebook (`03-Name.ipynb`, `../notebooks/03-Name.ipynb#part`) and to
# the glossary (`../docs/glossary.md`, `glossary.md`): on the site they are HTML pages.
_NOTEBOOK_LINK = re.compile(r"\]\((?:\.\./notebooks/|notebooks/)?(\d\d-[A-Za-z0-9-]+)\.ipynb(#[^)\s]*)?\)")
_GLOSSARY_LINK = re.compile(r"\]\((?:\.\./docs/|docs/)?glossary\.md(#[^)\s]*)?\)")


def title_of(nb) -> str:
    """The notebook's first Markdown heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "untitled"


def site_links(markdown: str) -> str:
    """Links to notebooks and to the glossary, pointed at their pages on the site."""
    markdown = _NOTEBOOK_LINK.sub(lambda m: f"]({m[1]}.html{m[2] or ''})", markdown)
    return _GLOSSARY_LINK.sub(lambda m: f"](glossary.html{m[1] or ''})", markdown)


def for_the_site(nb) -> tuple[nbformat.NotebookNode, list[int]]:
    """A copy of `nb` as the offline site shows it, and the cells whose widget has no HTML.

    Each widget output keeps its ``text/html`` rendering and loses its widget-view entry;
    the stored widget state goes (nothing on the site could load the widget code).
    """
    nb = suites.for_docs(nb)          # a copy; a suite-specific cell shows each suite's output
    nb.metadata.pop("widgets", None)
    bare = []
    for number, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = site_links(cell.source)
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            del data[WIDGET_VIEW]
            if "text/html" not in data:
                data.pop("text/plain", None)     # the Python repr: VBox(children=(...
                data["text/html"] = NO_RENDERING
                bare.append(number)
    return nb, bare


def exporter() -> HTMLExporter:
    return HTMLExporter(template_name="lab")


def render(nb, html_exporter: HTMLExporter | None = None) -> tuple[str, list[int]]:
    """The page of one notebook, and the cells with a widget that has no HTML rendering."""
    site_nb, bare = for_the_site(nb)
    body, _ = (html_exporter or exporter()).from_notebook_node(site_nb)
    return body, bare


def glossary_page(html_exporter: HTMLExporter) -> str:
    """docs/glossary.md as a page in the notebooks' style, its links pointed at the site."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["title"] = "Glossary"
    nb.cells = [nbformat.v4.new_markdown_cell(site_links((DOCS / "glossary.md").read_text()))]
    body, _ = html_exporter.from_notebook_node(nb)
    return body


def build(out: Path, notebooks: Path = NOTEBOOKS) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    html_exporter = exporter()
    pages, items = [], []
    for path in sorted(notebooks.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        body, bare = render(nb, html_exporter)
        for number in bare:
            print(f"build_docs: {path.name} cell {number}: a widget with no HTML rendering "
                  "(re-run the notebook to store one)", file=sys.stderr)
        page = out / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        items.append(f'<li><a href="{page.name}">{html.escape(title_of(nb))}</a></li>')
    for picture in PICTURES:
        (out / picture).write_text((DOCS / picture).read_text(), encoding="utf-8")
    (out / "glossary.html").write_text(glossary_page(html_exporter), encoding="utf-8")
    index = (
        "<!doctype html><meta charset='utf-8'><title>Sendmail relay via Submission: the lab</title>"
        "<style>body{font-family:sans-serif;max-width:62rem;margin:1rem auto;padding:0 1rem}"
        "img{max-width:100%}</style>"
        "<h1>Sendmail relay via Submission: the lab</h1>"
        "<p>Every page is a notebook as it ran against a live lab; <code>make test</code> "
        "re-runs them all with nbval. Words you may not know are in the "
        "<a href=\"glossary.html\">glossary</a>.</p>"
        "<h2>The lab</h2><img src='topology.svg' alt='the lab: the private LAN, the router with "
        "the ISP block on port 25, the provider'>"
        "<h2>The path of a message</h2><img src='flow.svg' alt='a message from the sendmail "
        "command (MSP) over 127.0.0.1:25 to the MTA daemon and its queue, out through the relay "
        "mailer and the router to the provider on port 587 with STARTTLS and AUTH'>"
        f"<h2>The notebooks</h2><ul style='list-style:none;padding-left:0'>{''.join(items)}</ul>")
    (out / "index.html").write_text(index, encoding="utf-8")
    return pages


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "docs"
    built = build(target)
    print(f"{len(built)} notebook pages, glossary.html and index.html in {target}")
