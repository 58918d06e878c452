"""The class engine's tests: `pytest tests/classroom` (or `-m classroom`).

test_policy.py needs nothing; test_class_engine.py needs root, dockerd and the lab
images on the host's engine (`make setup`). It starts its own class engine (own
state folder, port and certificates), and stops it and removes everything after.
"""

from __future__ import annotations

import pytest


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "classroom: the class engine, its plugin and its certificates")


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "/tests/classroom/" in str(item.fspath):
            item.add_marker(pytest.mark.classroom)
