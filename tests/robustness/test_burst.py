"""A burst of 200 messages through the relay: all arrive at the provider, none twice."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support import message_id, queue_ids, wait_until

pytestmark = pytest.mark.integration

COUNT = 200


def test_burst_of_200_arrives_once_each(howto_lab):
    lab = howto_lab
    # 200 submissions as fast as a shell loop makes them, each by Debian's sendmail
    # (MSP -> MTA -> relay over 587 with STARTTLS and AUTH).
    script = (f"i=1; while [ $i -le {COUNT} ]; do "
              "printf 'From: root\\nTo: friend@example.com\\nSubject: burst %03d\\n\\nmessage %d\\n' $i $i"
              " | sendmail -i -f root friend@example.com || exit 1; i=$((i + 1)); done")
    lab.exec("mailserver", ["sh", "-c", script], timeout=300).check()

    def arrived():
        return [m for m in lab.provider.messages()
                if (m["headers"].get("Subject") or "").startswith("burst ")]

    def all_arrived():
        got = arrived()
        if len(got) >= COUNT:
            return got
        if queue_ids(lab):
            # Anything sendmail deferred under load goes out with the next queue run.
            lab.exec("mailserver", ["sendmail", "-q"], timeout=120)
        return None

    got = wait_until(all_arrived, timeout=240, interval=2, what=f"{COUNT} messages at the provider")
    wait_until(lambda: queue_ids(lab) == [], timeout=60, what="an empty queue")
    got = arrived()
    subjects = Counter(m["headers"]["Subject"] for m in got)
    ids = Counter(message_id(m) for m in got)
    assert subjects == Counter(f"burst {i:03d}" for i in range(1, COUNT + 1))
    assert len(ids) == COUNT and max(ids.values()) == 1
    assert {m["authenticated_as"] for m in got} == {"user_name"}
    assert {m["port"] for m in got} == {587}
