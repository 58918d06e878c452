"""The one polling loop: ask until the answer is truthy, or give up with TimedOut.

    messages = until(lambda: lab.provider.messages(), 30, "the provider to receive a message")
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from .errors import TimedOut

T = TypeVar("T")


def until(probe: Callable[[], T], timeout: float, what: str, *, interval: float = 0.3,
          describe: Callable[[T], str] | None = None) -> T:
    """Call ``probe`` until it returns something truthy; ``TimedOut`` after ``timeout`` seconds.

    ``describe`` turns the last (falsy) answer into a few words for the error message.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            last = f" ({describe(value)})" if describe else ""
            raise TimedOut(f"timed out after {timeout:g} s waiting for {what}{last}")
        time.sleep(interval)
