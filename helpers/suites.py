"""Outputs that differ by Debian suite: kept for each suite, shown for each, compared on each.

The lab runs on Debian bookworm (sendmail 8.17) and trixie (sendmail 8.18). Where a
cell's output really differs between them (the version in a banner, a line number in
sendmail.cf, the wording of Debian's swaks), the cell carries the tag ``suite-specific``.
Its stored outputs are those of the reference suite, bookworm, as ``make
notebooks-refresh`` runs it; what the same cell printed on each other suite is kept in
``cell.metadata["outputs_by_suite"][suite]``, recorded by running the notebook there
(``tools/notebooks_suites.py record``). Nothing is masked: nbval compares every output
on every suite, on a copy whose tagged cells hold that suite's outputs (:func:`with_suite`).

    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("versions(lab)", metadata={"tags": [TAG]})
    >>> cell.outputs = [nbformat.v4.new_output("stream", text="bookworm\\n")]
    >>> record(cell, "trixie", [nbformat.v4.new_output("stream", text="trixie\\n")])
    >>> nb = nbformat.v4.new_notebook(cells=[cell])
    >>> with_suite(nb, "trixie").cells[0].outputs[0].text
    'trixie\\n'
    >>> problems(nb)
    []

A cell can also say which suite its output came from (:func:`versions`).
"""
from __future__ import annotations

import copy

TAG = "suite-specific"
KEY = "outputs_by_suite"
REFERENCE = "bookworm"
NAMES = {"bookworm": "Debian 12 (bookworm)", "trixie": "Debian 13 (trixie)"}
OTHERS = tuple(s for s in NAMES if s != REFERENCE)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def is_specific(cell) -> bool:
    """Whether a cell is tagged as printing differently on each suite."""
    return cell.get("cell_type") == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def recorded(cell) -> dict:
    """The outputs recorded for the cell on suites other than the reference: {suite: outputs}."""
    return cell.get("metadata", {}).get(KEY, {})


def record(cell, suite: str, outputs: list) -> None:
    """Keep `outputs` as what the cell printed on `suite`."""
    if suite == REFERENCE:
        raise ValueError(f"{REFERENCE} is the reference suite: its outputs are the cell's own")
    cell.metadata.setdefault(KEY, {})[suite] = copy.deepcopy(list(outputs))


def forget(cell, suite: str) -> None:
    """Drop what was recorded for `suite` (and the metadata key once it is empty)."""
    kept = cell.get("metadata", {}).get(KEY)
    if kept is None:
        return
    kept.pop(suite, None)
    if not kept:
        del cell.metadata[KEY]


def problems(nb) -> list[str]:
    """What does not agree between the tags and the recorded outputs, one line each."""
    found = []
    for number, cell in enumerate(nb.cells):
        if is_specific(cell):
            for suite in OTHERS:
                if suite not in recorded(cell):
                    found.append(f"cell {number} is tagged {TAG} but has no {suite} outputs: "
                                 f"run `make notebooks-refresh`")
        elif recorded(cell):
            found.append(f"cell {number} has outputs recorded for {', '.join(recorded(cell))} "
                         f"but is not tagged {TAG}")
    return found


def with_suite(nb, suite: str):
    """A copy of the notebook whose tagged cells hold the outputs they printed on `suite`."""
    out = copy.deepcopy(nb)
    if suite == REFERENCE:
        return out
    for number, cell in enumerate(out.cells):
        if is_specific(cell):
            if suite not in recorded(cell):
                raise ValueError(f"cell {number} is tagged {TAG} but has no {suite} outputs: "
                                 f"run `make notebooks-refresh`")
            cell.outputs = copy.deepcopy(recorded(cell)[suite])
    return out


def _label(suite: str) -> dict:
    import nbformat

    text = f"On {NAMES[suite]}:"
    return nbformat.v4.new_output("display_data", data={
        "text/plain": text,
        "text/html": f"<p class='suite-label'><b>{text}</b></p>"})


def _readable(outputs: list) -> list:
    # a widget of another suite has no stored state: its HTML or text rendering stands for it
    shown = []
    for output in copy.deepcopy(outputs):
        data = output.get("data", {})
        if WIDGET_VIEW in data:
            del data[WIDGET_VIEW]
        shown.append(output)
    return shown


def for_docs(nb):
    """A copy for reading: each tagged cell shows its output on every suite, each labelled."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if is_specific(cell) and recorded(cell):
            shown = [_label(REFERENCE), *cell.outputs]
            for suite in OTHERS:
                if suite in recorded(cell):
                    shown += [_label(suite), *_readable(recorded(cell)[suite])]
            cell.outputs = shown
    return out


def strip(nb):
    """A copy without the recorded outputs (for a copy whose outputs are cleared)."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        cell.get("metadata", {}).pop(KEY, None)
    return out


def versions(lab, packages: tuple[str, ...] = ("sendmail-bin", "swaks")) -> None:
    """Print the lab's Debian suite and the versions of `packages` in its mail server.

    A cell calling this is suite-specific by design: tag it so.
    """
    listed = lab.exec("mailserver", ["dpkg-query", "-W", "-f", "${Package} ${Version}\\n",
                                     *packages]).output
    print(f"{NAMES.get(lab.suite, lab.suite)}:")
    for line in listed.splitlines():
        name, _, version = line.partition(" ")
        print(f"  {name:<14} {version}")
