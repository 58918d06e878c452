"""Publish the notebooks as a static site: one HTML page each (stored outputs, as nbval
verified them) and an index. `make docs` writes build/docs/; nothing is executed.

    python tools/build_docs.py [OUT_DIR]
"""

from __future__ import annotations

import html
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def title_of(nb) -> str:
    """The notebook's first Markdown heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return "untitled"


def build(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    pages, items = [], []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        body, _ = exporter.from_notebook_node(nb)
        page = out / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        pages.append(page)
        items.append(f'<li><a href="{page.name}">{html.escape(title_of(nb))}</a></li>')
    (out / "topology.svg").write_text((ROOT / "docs" / "topology.svg").read_text())
    index = ("<!doctype html><meta charset='utf-8'><title>Sendmail relay via Submission: the lab</title>"
             "<h1>Sendmail relay via Submission: the lab</h1>"
             "<p>Every page is a notebook as it ran against a live lab; <code>make test</code> "
             "re-runs them all with nbval.</p><img src='topology.svg' alt='the lab'>"
             f"<ol start='0'>{''.join(items)}</ol>")
    (out / "index.html").write_text(index, encoding="utf-8")
    return pages


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "docs"
    built = build(target)
    print(f"{len(built)} notebook pages and index.html in {target}")
