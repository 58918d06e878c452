"""The two ways a lab command fails, as the CLI's exit codes say them."""


class LabError(Exception):
    """A usage or environment problem (exit 2): no engine, no image, lab not running.

    Its text is one line that says what to do; `details` (container logs, for
    instance) may follow it for a learner who wants to see why.
    """

    exit_code = 2

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details


class NotSo(Exception):
    """The thing checked is not so (exit 1): mail not delivered, a check failed."""

    exit_code = 1
