"""Robustness suite: hostile input, faults, bursts, lifecycle leaks, security, on real labs.

Labs here are named `rb<pid>-<module>` (one per test module, removed afterwards).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import fresh_test_lab, wait_until

ROOT = Path(__file__).resolve().parents[2]
# What "the lab's configuration" is: every file these paths hold, with its mode.
CONFIG_PATHS = ["/etc/mail/sendmail.mc", "/etc/mail/sendmail.cf", "/etc/mail/submit.cf",
                "/etc/mail/mailertable", "/etc/mail/mailertable.db", "/etc/mail/auth"]
CHECKSUM = ("for f in $(find " + " ".join(CONFIG_PATHS) + " -type f 2>/dev/null | sort); do "
            "printf '%s %s ' \"$(stat -c %a \"$f\")\" \"$f\"; sha256sum < \"$f\" | cut -c1-16; done; "
            "stat -c '%a %n' /etc/mail/auth 2>/dev/null; true")


@pytest.fixture(scope="module")
def lab(request, suite):
    """A fresh lab of its own for the module (rb prefix), removed afterwards."""
    yield from fresh_test_lab(f"rb{os.getpid()}-{request.module.__name__.rsplit('.', 1)[-1][5:17]}", suite)


@pytest.fixture(scope="module")
def howto_lab(lab):
    """The module's lab with the howto's working configuration applied (once)."""
    from labenv import howto

    howto.apply(lab, "fixed")
    lab.provider.clear()
    return lab


def config_state(lab) -> str:
    """Modes and checksums of sendmail.mc, sendmail.cf, mailertable(.db), auth/*."""
    return lab.exec("mailserver", ["sh", "-c", CHECKSUM]).check().stdout


def cli(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m labenv ARGS` as a user types it."""
    env = {**os.environ, "LABENV_QUIET": "1"}
    return subprocess.run([sys.executable, "-m", "labenv", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=timeout)


def one_line_error(text: str) -> str:
    """The error's text, checked to be exactly one non-empty line."""
    lines = [line for line in text.strip().splitlines()]
    assert len(lines) == 1 and lines[0].strip(), f"expected a one-line error, got {text!r}"
    assert "Traceback" not in text
    return lines[0]


def unique_subject(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def queue_ids(lab) -> list[str]:
    from labenv.sendmail.parsers import mailq

    return [m["id"] for m in mailq.parse(lab.exec("mailserver", ["mailq"]).stdout)]


def deferred(lab) -> list[dict]:
    from labenv.sendmail.parsers import mailq

    return [m for m in mailq.parse(lab.exec("mailserver", ["mailq"]).stdout) if m.get("reason")]


def message_id(message: dict) -> str | None:
    """The Message-ID header (sendmail writes it `Message-Id`)."""
    return next((v for k, v in message["headers"].items() if k.lower() == "message-id"), None)


def received(server, subject_prefix: str) -> list[dict]:
    return [m for m in server.messages()
            if (m["headers"].get("Subject") or "").startswith(subject_prefix)]


__all__ = ["wait_until", "config_state", "cli", "one_line_error", "unique_subject",
           "queue_ids", "deferred", "received", "message_id"]
