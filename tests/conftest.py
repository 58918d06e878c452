"""Shared fixtures. Integration tests get a fresh lab per test module."""

from __future__ import annotations

import os
import time

import pytest


def wait_until(probe, timeout: float = 30.0, interval: float = 0.3, what: str = "condition"):
    """Call `probe` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def suite() -> str:
    return os.environ.get("LABENV_TEST_SUITE", "bookworm")


def fresh_test_lab(name: str, suite: str):
    """Start a fresh lab called `name` (cut to a valid name); yield it; remove it."""
    from labenv import Lab, LabError

    name = name.replace("_", "-")[:30].rstrip("-")
    try:
        lab = Lab.up(name, suite, say=lambda *_: None)
    except LabError as error:
        pytest.fail(f"cannot start a lab: {error}\n{error.details}")
    yield lab
    lab.down()


@pytest.fixture(scope="module")
def lab(request, suite):
    """A fresh lab of its own for the module, removed afterwards."""
    yield from fresh_test_lab(f"t{os.getpid()}-{request.module.__name__.rsplit('.', 1)[-1][:14]}", suite)


@pytest.fixture
def howto_lab(lab):
    """The module's lab with the howto's working configuration applied."""
    from labenv import howto

    howto.apply(lab, "fixed")
    lab.provider.clear()
    return lab
