"""The published site: a page per notebook, an index linking them all (no Docker)."""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import build_docs


def test_every_notebook_becomes_a_page_linked_from_the_index(tmp_path):
    pages = build_docs.build(tmp_path)
    notebooks = sorted(build_docs.NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert [p.stem for p in pages] == [n.stem for n in notebooks] and len(pages) >= 9
    index = (tmp_path / "index.html").read_text()
    assert re.findall(r'href="([^"]+)"', index) == [p.name for p in pages]
    tour = (tmp_path / "00-Lab-Setup-And-Tour.html").read_text()
    assert "Lab setup and tour" in tour and 'src="data:image/svg+xml' in tour   # the diagram came along
    assert "mailer relay, host [relayhost.somedom.com]" in (tmp_path / "08-Troubleshooting.html").read_text()


def test_the_readme_picture_is_the_lab_as_it_is_defined():
    from helpers.picture import topology_svg

    stored = (build_docs.ROOT / "docs" / "topology.svg").read_text()
    assert stored == topology_svg(None), "regenerate docs/topology.svg from helpers.picture.topology_svg(None)"
