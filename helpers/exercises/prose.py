"""The words of each exercise (title, task, hints, solution), read from its Markdown file.

Each exercise has one file, ``helpers/exercises/texts/NN-ID.md`` (``NN`` the
notebook, ``ID`` the exercise id, e.g. ``02-relay-port.md``), made of:

    # Title of the exercise

    ## Task
    What the learner is to do: any Markdown (paragraphs, lists, code blocks).

    ## Hints
    1. The first hint: a pointer.
    2. The second: where to look.
    3. The last: the command or line itself.

    ## Solution
    The worked solution: any Markdown, usually a ```python block and a sentence.

Each hint is one list item (``1.`` or ``-``); a long item may go on over indented
lines, which join with a space. ``ex.hint()`` shows them in the file's order, so
order them from a gentle pointer to the answer. A paragraph is shown as written:
keep each on one line. Inline code holding m4 quotes needs double backticks
with spaces, ``` `` FEATURE(`authinfo') `` ```, or it does not render.

    >>> p = parse("# T\\n\\n## Task\\nDo it.\\n\\n## Hints\\n1. one\\n2. two\\n   more\\n\\n"
    ...           "## Solution\\nThis.\\n")
    >>> p.title, p.task, p.hints, p.solution
    ('T', 'Do it.', ('one', 'two more'), 'This.')
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from labenv.errors import ConfigError

SECTIONS = ("Task", "Hints", "Solution")
_ITEM = re.compile(r"^(?:\d+\.|[-*])\s+(.*)$")


@dataclass(frozen=True)
class Prose:
    """What an exercise says to the learner; Markdown throughout."""

    title: str
    task: str
    hints: tuple[str, ...]
    solution: str


def text_name(notebook: str, id: str) -> str:
    """The file name of an exercise's text, e.g. ``02-relay-port.md``."""
    return f"{notebook}-{id}.md"


def load(notebook: str, id: str) -> Prose:
    """The text of exercise ``id`` of ``notebook``, from the package's texts folder."""
    name = text_name(notebook, id)
    path = resources.files(__package__).joinpath("texts", name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"texts/{name}", "no such file") from None
    return parse(text, f"texts/{name}")


def parse(text: str, source: str = "exercise text") -> Prose:
    """A Prose from the Markdown of one exercise (see the module docstring)."""
    title, sections, current, fenced = None, {}, None, False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("# ") and title is None and current is None:
            title = line[2:].strip()
        elif not fenced and line.startswith("## "):
            current = line[3:].strip()
            if current not in SECTIONS:
                raise ConfigError(source, f"unknown section '## {current}' "
                                  f"(the sections are {', '.join(SECTIONS)})")
            if current in sections:
                raise ConfigError(source, f"'## {current}' appears twice")
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
        elif line.strip():
            raise ConfigError(source, "text before the first '## ' section "
                              "(only the '# Title' line goes there)")
    if not title:
        raise ConfigError(source, "no '# Title' line at the top")
    missing = [s for s in SECTIONS if not "\n".join(sections.get(s, [])).strip()]
    if missing:
        raise ConfigError(source, f"empty or missing section(s): {', '.join(missing)}")
    return Prose(title, _block(sections["Task"]), _hints(sections["Hints"], source),
                 _block(sections["Solution"]))


def _block(lines: list[str]) -> str:
    return "\n".join(lines).strip()


def _hints(lines: list[str], source: str) -> tuple[str, ...]:
    hints: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        item = _ITEM.match(line)
        if item:
            hints.append(item.group(1).strip())
        elif line[:1].isspace() and hints:
            hints[-1] += " " + line.strip()
        else:
            raise ConfigError(source, f"'## Hints' holds a list, one item per hint; not {line.strip()!r}")
    return tuple(hints)
