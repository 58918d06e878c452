"""Parser for what rebuilding /etc/mail prints: Debian's ``make``, makemap, m4, sendmail.cf.errors.

Debian's ``make`` exits 0 even when m4 reported errors (they land in
sendmail.cf.errors) or a map failed to build, so the lab reads its output instead::

    >>> errors("m4:sendmail.mc:108: ERROR: FEATURE() should be before MAILER()\\nUpdating databases ...")
    ['m4:sendmail.mc:108: ERROR: FEATURE() should be before MAILER()']

Each error line appears once, in the order printed.
"""
from __future__ import annotations

import re

_ERROR = re.compile(r"^(makemap|m4|make(\[\d+\])?):|^\*\*\* ERROR")


def errors(output: str) -> list[str]:
    """The error lines of a rebuild's output (and of sendmail.cf.errors pasted into it)."""
    found: list[str] = []
    section_errors = False
    for line in output.splitlines():
        if line.startswith("--- sendmail.cf.errors"):
            section_errors = True
            continue
        if ((section_errors and line.strip()) or _ERROR.match(line)) and line not in found:
            found.append(line)
    return found
