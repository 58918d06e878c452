"""The provider misbehaves; the mail waits in the queue and arrives exactly once afterwards.

Each fault is switched on at the provider, messages are submitted on the mailserver
with the howto applied, the test waits until sendmail has deferred every one of them,
the fault is switched off, one queue run (`sendmail -q`) delivers, and the provider's
record holds each Subject and Message-ID exactly once.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support import deferred, message_id, queue_ids, unique_subject, wait_until

pytestmark = pytest.mark.integration


def submit(lab, subjects: list[str]) -> None:
    script = "".join(
        f"printf 'From: root\\nTo: friend@example.com\\nSubject: {s}\\n\\nbody {s}\\n' | "
        f"sendmail -i -f root friend@example.com || exit 1\n" for s in subjects)
    lab.exec("mailserver", ["sh", "-c", script], timeout=60).check()


def deferred_subjects(lab, count: int, reason: str) -> list[dict]:
    rows = [m for m in deferred(lab) if m["queue"] == "MTA"]
    return rows if len(rows) >= count and all(reason in m["reason"] for m in rows) else []


def recover_and_count(lab, subjects: list[str]) -> None:
    lab.exec("mailserver", ["sendmail", "-q"], timeout=120).check()
    got = wait_until(lambda: (lambda m: m if len(m) >= len(subjects) else None)(
        [m for m in lab.provider.messages() if m["headers"].get("Subject") in subjects]),
        timeout=60, what="every message at the provider")
    wait_until(lambda: queue_ids(lab) == [], timeout=30, what="an empty queue")
    by_subject = Counter(m["headers"]["Subject"] for m in got)
    by_id = Counter(message_id(m) for m in got)
    assert by_subject == Counter(subjects), "a message was lost or duplicated"
    assert all(n == 1 for n in by_id.values()) and None not in by_id
    assert all(m["port"] == 587 and m["authenticated_as"] == "user_name" for m in got)


@pytest.fixture
def fresh(howto_lab):
    howto_lab.provider.ctl("reset")
    howto_lab.provider.clear()
    assert queue_ids(howto_lab) == []
    yield howto_lab
    howto_lab.provider.ctl("reset")


FAULTS = {  # name: (knob that breaks the provider, reason mailq shows, knob that mends it)
    "down": (["down"], "Connection refused", ["up"]),
    "421": (["fail", "421", "1000"], "Deferred", ["reset"]),
    "451": (["fail", "451", "1000"], "451 4.3.0 Temporary local problem", ["reset"]),
    "noauth": (["reject-auth", "on"], "Temporary AUTH failure", ["reject-auth", "off"]),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_keeps_mail_queued_and_recovery_delivers_each_once(fresh, fault):
    lab = fresh
    breaks, reason, mends = FAULTS[fault]
    subjects = [unique_subject(fault) for _ in range(3)]
    lab.provider.ctl(*breaks)
    submit(lab, subjects)
    wait_until(lambda: deferred_subjects(lab, 3, reason), timeout=60,
               what=f"three messages deferred with {reason}")
    if fault == "421":
        sessions = [s for s in lab.provider.sessions() if s["port"] == 587]
        assert sessions and all(s["transcript"][0]["line"].startswith("421 ") for s in sessions)
    assert lab.provider.messages() == []
    lab.provider.ctl(*mends)
    recover_and_count(lab, subjects)
