"""Every error the lab and the notebook helpers raise, and the CLI exit code of each.

    LabenvError                 exit_code
    ├── LabError                2  usage or environment: no engine, no image, lab not running
    │   └── ConfigError         2  a value refused before anything was written ("field: reason")
    └── NotSo                   1  the thing checked is not so: mail not delivered, a check failed
        ├── Refused             1  the lab refused a new configuration and kept its previous one
        └── TimedOut            1  waited for something that did not happen in time

The text of each is one line that says what happened; ``details`` (container logs,
make's output) may follow it for whoever wants to see why.
"""


class LabenvError(Exception):
    """Base of every error labenv and helpers raise on purpose."""

    exit_code = 2

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class LabError(LabenvError):
    """A usage or environment problem: no engine, no image, lab not running."""

    exit_code = 2


class ConfigError(LabError, ValueError):
    """A value refused before anything is written; ``str()`` is ``"field: reason"``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class NotSo(LabenvError):
    """The thing checked is not so: mail not delivered, a check failed."""

    exit_code = 1


class Refused(NotSo):
    """The lab refused a configuration; /etc/mail was restored and sendmail kept the last good one.

    The first line says what was refused; ``errors`` holds make's and m4's error lines.
    """

    def __init__(self, message: str, errors: list[str] | None = None, details: str = "") -> None:
        super().__init__(message, details)
        self.errors = list(errors or [])


class TimedOut(NotSo):
    """Something the lab waited for did not happen in time."""
