"""Fixtures only (shared helpers live in tests/support.py). Each lab fixture is defined once.

Lab names say who made them: `t<pid>-<module>` for integration, `rb<pid>-<module>`
for robustness, so a leftover points at its suite.
"""

from __future__ import annotations

import os

import pytest

from tests.support import fresh_test_lab


@pytest.fixture(scope="session")
def suite() -> str:
    """The Debian suite under test (LABENV_TEST_SUITE, default bookworm)."""
    return os.environ.get("LABENV_TEST_SUITE", "bookworm")


@pytest.fixture(scope="module")
def lab(request, suite):
    """A fresh lab of its own for the test module, removed afterwards."""
    prefix = "rb" if ".robustness." in request.module.__name__ else "t"
    module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    yield from fresh_test_lab(f"{prefix}{os.getpid()}-{module[:14]}", suite)


@pytest.fixture(scope="module")
def howto_lab(lab):
    """The module's lab with the howto's working configuration applied (once per module)."""
    from labenv.configure import apply_howto

    apply_howto(lab, "fixed")
    lab.provider.clear()
    return lab
