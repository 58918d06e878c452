"""What the test suites share: waiting, fresh labs, the CLI as a user types it, the lab's state.

Imported by the test modules (never through conftest.py, which holds only fixtures).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from labenv import Lab, LabError, engine, wait
from labenv.lab import LABEL_LAB
from labenv.sendmail.parsers import mailq

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

# What "the lab's configuration" is: every file these paths hold, with its mode.
CONFIG_PATHS = ["/etc/mail/sendmail.mc", "/etc/mail/sendmail.cf", "/etc/mail/submit.cf",
                "/etc/mail/mailertable", "/etc/mail/mailertable.db", "/etc/mail/auth"]
CHECKSUM = ("for f in $(find " + " ".join(CONFIG_PATHS) + " -type f 2>/dev/null | sort); do "
            "printf '%s %s ' \"$(stat -c %a \"$f\")\" \"$f\"; sha256sum < \"$f\" | cut -c1-16; done; "
            "stat -c '%a %n' /etc/mail/auth 2>/dev/null; true")


def wait_until(probe, timeout: float = 30.0, interval: float = 0.3, what: str = "condition"):
    """``labenv.wait.until`` for tests: the probe's truthy answer, or the test fails saying what."""
    try:
        return wait.until(probe, timeout, what, interval=interval)
    except wait.TimedOut as error:
        pytest.fail(str(error))


def fresh_test_lab(name: str, suite: str):
    """Start a fresh lab called `name` (cut to a valid name); yield it; remove it."""
    name = name.replace("_", "-")[:30].rstrip("-")
    try:
        lab = Lab.up(name, suite, say=lambda *_: None)
    except LabError as error:
        pytest.fail(f"cannot start a lab: {error}\n{error.details}")
    yield lab
    lab.down()


def cli(*args: str, stdin: str | None = None, timeout: float = 300,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m labenv ARGS` as a user types it (no standard input unless given)."""
    env = {**os.environ, "LABENV_QUIET": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "labenv", *args], cwd=ROOT, env=env,
                          input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(text: str) -> str:
    """The error's text, checked to be exactly one non-empty line."""
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].strip(), f"expected a one-line error, got {text!r}"
    assert "Traceback" not in text
    return lines[0]


def config_state(lab) -> str:
    """Modes and checksums of sendmail.mc, sendmail.cf, mailertable(.db), auth/*."""
    return lab.exec("mailserver", ["sh", "-c", CHECKSUM]).check().stdout


def unique_subject(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def queued(lab) -> list[dict]:
    """The mailserver's queue as mailq rows."""
    return mailq.parse(lab.exec("mailserver", ["mailq"]).stdout)


def queue_ids(lab) -> list[str]:
    return [m["id"] for m in queued(lab)]


def deferred(lab, reason: str = "") -> list[dict]:
    """Queued messages with a reason (containing `reason`, if given)."""
    return [m for m in queued(lab) if m.get("reason") and reason in m["reason"]]


def message_id(message: dict) -> str | None:
    """The Message-ID header (sendmail writes it `Message-Id`)."""
    return next((v for k, v in message["headers"].items() if k.lower() == "message-id"), None)


def received(server, subject_prefix: str) -> list[dict]:
    """Messages at the provider (or mailhost) whose Subject starts with `subject_prefix`."""
    return [m for m in server.messages()
            if (m["headers"].get("Subject") or "").startswith(subject_prefix)]


def leftovers(name: str) -> dict[str, list[str]]:
    """What of lab `name` is still on the engine: containers, networks (by label and by name), volumes."""
    client = engine.connect()
    label = {"label": f"{LABEL_LAB}={name}"}
    return {"containers": [c.name for c in client.containers.list(all=True, ignore_removed=True,
                                                                  filters=label)],
            "networks": [n.name for n in client.networks.list(filters=label)],
            "networks_by_name": [n.name for n in client.networks.list(names=[f"labenv-{name}-"])
                                 if n.name.startswith(f"labenv-{name}-")],
            "volumes": [v.name for v in client.volumes.list(filters=label)]}


ARTIFACTS = ROOT / "tests" / "artifacts"


def save_screenshot(page, name: str) -> Path:
    """A screenshot of the browser page in tests/artifacts/, for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    return path


def cell_text(cell) -> str:
    """What a notebook code cell printed and showed, as text (streams and text/plain)."""
    return "".join(o.get("text", "") if o.get("output_type") == "stream"
                   else o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))
