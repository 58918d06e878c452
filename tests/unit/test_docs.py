"""The published site: a page per notebook, the glossary and the pictures, an index linking
them all; widgets read as HTML, never as their Python repr (no Docker)."""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter

from tests.unit.test_notebook_markdown import problems as markdown_problems

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import build_docs

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_HTML = ('<table class="lab-widget"><tr><th>address</th><th>mailer</th></tr>'
               '<tr><td>friend@example.com</td><td>relay</td></tr></table>')
WIDGET_REPR = "VBox(children=(HTML(value='<b>/etc/mail/mailertable</b>'), Button(description='Apply')))"
GLOSSARY_TERMS = ["MUA", "MSA", "MTA", "MSP versus the MTA queue", "Envelope versus header", "DSN", "$=w",
                  "Smart host", "Mailer", "mailertable", "AuthInfo", "STARTTLS", "Submission (port 587)",
                  "Port-25 block"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs")
    return out, build_docs.build(out, build_docs.NOTEBOOKS)


def _widget_notebook(*, with_html: bool) -> nbformat.NotebookNode:
    """A notebook whose one output is a widget, with its state stored as JupyterLab stores it."""
    data = {build_docs.WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": "m1"},
            "text/plain": WIDGET_REPR}
    if with_html:
        data["text/html"] = WIDGET_HTML
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 42 · Widgets"),
                nbformat.v4.new_code_cell("editor", outputs=[nbformat.v4.new_output("display_data", data=data)])]
    nb.metadata["widgets"] = {WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {
        "m1": {"model_name": "VBoxModel", "model_module": "@jupyter-widgets/controls",
               "model_module_version": "2.0.0", "state": {}}}}}
    return nb


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def text_of(markup: str) -> str:
    """What a reader sees of some HTML: its text, whitespace runs as one space.

    nbconvert re-serializes the HTML it embeds (quotes, attributes), so pages are
    compared with outputs by their text.
    """
    parser = _Text()
    parser.feed(markup)
    return " ".join("".join(parser.parts).split())


def _widget_outputs(nb):
    for number, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if build_docs.WIDGET_VIEW in output.get("data", {}):
                yield number, output["data"]


def test_every_notebook_becomes_a_page_linked_from_the_index(site):
    out, pages = site
    notebooks = sorted(build_docs.NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert [p.stem for p in pages] == [n.stem for n in notebooks] and len(pages) >= 9
    index = (out / "index.html").read_text()
    assert re.findall(r'href="([^"]+)"', index) == ["glossary.html"] + [p.name for p in pages]
    assert re.findall(r"src='([^']+)'", index) == ["topology.svg", "flow.svg"]
    for name in ("glossary.html", "topology.svg", "flow.svg"):
        assert (out / name).stat().st_size > 1000
    tour = (out / "00-Lab-Setup-And-Tour.html").read_text()
    assert "Lab setup and tour" in tour and 'src="data:image/svg+xml' in tour   # the diagram came along
    assert "mailer relay, host [relayhost.somedom.com]" in (out / "08-Troubleshooting.html").read_text()


def test_links_between_pages_lead_to_pages_of_the_site(site):
    out, pages = site
    for page in [*pages, out / "glossary.html"]:
        text = page.read_text()
        assert not re.findall(r'href="[^"#:]+\.ipynb', text), f"{page.name} links to a notebook file"
        for target in re.findall(r'href="([^"#:/]+\.html)', text):
            assert (out / target).exists(), f"{page.name} links to {target}, which the site lacks"


def test_no_page_shows_a_widget_as_its_python_repr_or_needs_the_widget_code(site):
    _, pages = site
    for page in pages:
        text = page.read_text()
        assert "VBox(children=" not in text, page.name
        assert build_docs.WIDGET_VIEW not in text and WIDGET_STATE not in text, page.name
        assert "html-manager" not in text and "unpkg.com" not in text, page.name   # no CDN script


def test_a_widget_with_an_html_rendering_shows_that_html(tmp_path):
    nb = _widget_notebook(with_html=True)
    # What nbconvert alone makes of it: the widget view, to be drawn by code from a CDN.
    plain, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    assert build_docs.WIDGET_VIEW in plain and "unpkg.com" in plain and WIDGET_HTML not in plain
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "42-Widgets.ipynb")
    [page] = build_docs.build(tmp_path / "site", notebooks=tmp_path / "nb")
    text = page.read_text()
    assert WIDGET_HTML in text and 'data-mime-type="text/html"' in text
    assert "VBox(children=" not in text and build_docs.WIDGET_VIEW not in text and "unpkg.com" not in text
    assert "widgets" in nbformat.read(tmp_path / "nb" / "42-Widgets.ipynb", as_version=4).metadata  # a copy


def test_a_widget_without_an_html_rendering_says_so_and_is_named(tmp_path, capsys):
    (tmp_path / "nb").mkdir()
    nbformat.write(_widget_notebook(with_html=False), tmp_path / "nb" / "42-Widgets.ipynb")
    [page] = build_docs.build(tmp_path / "site", notebooks=tmp_path / "nb")
    text = page.read_text()
    assert build_docs.NO_RENDERING in text and "VBox(children=" not in text
    assert "42-Widgets.ipynb cell 1: a widget with no HTML rendering" in capsys.readouterr().err


def test_every_stored_widget_carries_its_html_rendering_and_the_site_shows_it(site):
    out, _ = site
    bare = []
    for path in sorted(build_docs.NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        page = (out / f"{path.stem}.html").read_text()
        for number, data in _widget_outputs(nb):
            if "text/html" not in data:
                bare.append(f"{path.name} cell {number}")
                continue
            assert text_of(data["text/html"]) in text_of(page), f"{path.name} cell {number}: not on the page"
    assert not bare, ("widgets stored without their HTML rendering (re-run these notebooks): "
                      + ", ".join(bare))


def test_the_readme_picture_is_the_lab_as_it_is_defined():
    from helpers.picture import topology_svg

    stored = (build_docs.ROOT / "docs" / "topology.svg").read_text()
    assert stored == topology_svg(None), "regenerate docs/topology.svg from helpers.picture.topology_svg(None)"


def test_the_flow_picture_is_the_one_the_code_draws():
    from helpers.picture import flow_svg

    stored = (build_docs.ROOT / "docs" / "flow.svg").read_text()
    assert stored == flow_svg(), "regenerate docs/flow.svg from helpers.picture.flow_svg()"
    for step in ("MSP", "127.0.0.1:25", "/var/spool/mqueue", "/var/spool/mqueue-client", "relay mailer",
                 "router / ISP", "relayhost.somedom.com", "587", "STARTTLS", "AUTH"):
        assert step in stored, step


def test_the_glossary_defines_each_term_and_links_notebooks_that_exist():
    text = (build_docs.DOCS / "glossary.md").read_text()
    headings = re.findall(r"^## (.+)$", text, re.M)
    for term in GLOSSARY_TERMS:
        assert any(h.replace("`", "").startswith(term) for h in headings), f"no entry for {term}"
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        assert re.search(r"\]\(\.\./notebooks/\d\d-[^)]+\.ipynb\)", section), f"{section.splitlines()[0]}: no link"
    for target in re.findall(r"\]\(\.\./notebooks/([^)#]+)", text):
        assert (build_docs.NOTEBOOKS / target).exists(), f"the glossary links {target}, which does not exist"
    assert markdown_problems(text) == []


def test_the_readme_tells_each_audience_where_to_start_and_links_the_glossary():
    readme = (build_docs.ROOT / "README.md").read_text()
    start = readme.split("## Where to start", 1)[1].split("\n## ", 1)[0]
    for words in ("make student", "build/student", "labenv break", "helpers.exercises check",
                  "helpers.exercises progress", "make notebooks-refresh", "make docs", "make test"):
        assert words in start, words
    assert "(docs/glossary.md)" in readme
