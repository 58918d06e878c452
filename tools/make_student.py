"""Write the learner's copy of the notebooks: `make student` -> build/student/.

The notebooks in notebooks/ are the instructor's copy: they hold every answer and
the outputs nbval verifies. The learner's copy is made from them by nbconvert
preprocessors keyed on cell tags:

    solution         a code cell: emptied (the learner works there), or given the
                     cell's metadata "student_source" instead; a Markdown cell: removed
    instructor-only  removed, or replaced by its metadata "student_source"

Every output is cleared and the stored widget state dropped, so nothing a cell
printed in the instructor's run gives an answer away. The exercise rows
(`ex.controls(lab)`: Check, Hint, Skip) stay: Skip applies the solution, so a
learner who skips still reaches the end of the notebook.

    python tools/make_student.py [--force] [OUT_DIR]

A notebook already in OUT_DIR is the learner's work and is kept; ``--force``
(``make student FORCE=1``) replaces it with a fresh copy.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor, Preprocessor

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SOLUTION, INSTRUCTOR_ONLY, WORK = "solution", "instructor-only", "work"
#: Tags that mean something only in the instructor's copy (nbval's, and ours; the
#: suite-specific cells' outputs recorded on other suites go too: see helpers.suites).
_DROPPED_TAGS = {SOLUTION, INSTRUCTOR_ONLY, "suite-specific"}
_DROPPED_METADATA = ("student_source", "outputs_by_suite")


class LearnerCells(Preprocessor):
    """Empty the solution cells, drop the instructor's, and mark the learner's working cells."""

    def preprocess(self, nb, resources):
        cells = []
        for cell in nb.cells:
            tags = list(cell.metadata.get("tags", []))
            replacement = cell.metadata.get("student_source")
            for key in _DROPPED_METADATA:
                cell.metadata.pop(key, None)
            if INSTRUCTOR_ONLY in tags or (SOLUTION in tags and cell.cell_type == "markdown"):
                if replacement is None:
                    continue
                cell.source = replacement
            elif SOLUTION in tags:
                cell.source = replacement or ""
                tags.append(WORK)
            tags = [t for t in tags if t not in _DROPPED_TAGS and not t.startswith("nbval")]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
            cells.append(cell)
        nb.cells = cells
        nb.metadata.pop("widgets", None)
        nb.metadata["labenv"] = {"copy": "learner"}
        return nb, resources


def learner_copy(nb):
    """The learner's copy of one notebook (a new NotebookNode; ``nb`` is left as it was)."""
    copy = nbformat.from_dict(nb)
    for preprocessor in (LearnerCells(), ClearOutputPreprocessor()):
        copy, _ = preprocessor.preprocess(copy, {})
    return copy


def build(out: Path, source: Path = NOTEBOOKS, *, force: bool = False) -> tuple[list[Path], list[Path]]:
    """Write the learner's copy of every notebook in ``source`` to ``out``.

    Returns the paths written and the paths kept (already there, not ``force``).
    """
    out.mkdir(parents=True, exist_ok=True)
    written, kept = [], []
    for path in sorted(source.glob("[0-9][0-9]-*.ipynb")):
        target = out / path.name
        if target.exists() and not force:
            kept.append(target)
            continue
        copy = learner_copy(nbformat.read(path, as_version=4))
        nbformat.validate(copy)
        nbformat.write(copy, target)
        written.append(target)
    return written, kept


def main(argv: list[str]) -> int:
    force = "--force" in argv
    rest = [a for a in argv if a != "--force"]
    target = Path(rest[0]) if rest else ROOT / "build" / "student"
    written, kept = build(target, force=force)
    print(f"{len(written)} learner notebook(s) written to {target}")
    if kept:
        print(f"{len(kept)} kept as they were (your work): {', '.join(p.name[:2] for p in kept)}; "
              "`make student FORCE=1` replaces them with fresh copies")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
