"""Every fault of labenv.faults really stops mail in a lab, and its fix lets mail through again.

Each fault is tried the way the capstone (notebook 09) sets it: ``ex.setup(lab, fault=NAME)``
breaks the lab and has root send a message. The capstone's check must fail at once and
keep failing while the fault is in; after ``fault.repair`` and a new message it passes.
One lab for the module (the howto applied once); each test starts from the howto, an
empty queue and an empty provider record, and ``faults.restore`` cleans up.
"""

from __future__ import annotations

import pytest

from helpers.exercises import exercise
from labenv import faults, mail
from tests.support import cli, unique_subject, wait_until

CAPSTONE = exercise("09", "capstone")
RCPT = "bob@example.com"

# What each fault leaves in mail.log or in the provider's record (see `observed`).
EVIDENCE = {
    "missing-mechanisms": "available mechanisms= do not fulfill requirements",
    "wrong-password": "reply=530 5.7.0 Authentication required",
    "map-not-rebuilt": "reply=530 5.7.0 Authentication required",
    "make-without-reload": "mailer=relay, pri=30",   # with the stat below
    "feature-typo": "stat=Deferred: Connection refused by mx.example.com",
    "sasl-modules-missing": "available mechanisms=PLAIN LOGIN do not fulfill requirements",
    "mailertable-typo": "Host unknown (Name server: [relayhost.somedom.cm]",
    "masquerade-header-only": "provider: mail_from=root@mailserver.private.lan",
    "no-tls-to-provider": "reply=530 Must issue a STARTTLS command first",
    "smart-host-port-25": "mailer=esmtp, pri=",
}
REFUSED_25 = "stat=Deferred: Connection refused by relayhost.somedom.com"


@pytest.fixture
def clean_lab(howto_lab):
    """The module's lab with the howto and nothing waiting or received; restored afterwards."""
    lab = howto_lab
    lab.provider.clear()
    lab.exec("mailserver", ["sh", "-c", ": > /var/log/mail.log"]).check()
    yield lab
    faults.restore(lab)
    lab.exec("mailserver", ["sh", "-c", "rm -f /var/spool/mqueue/*"]).check()
    lab.provider.clear()


def attempts(lab) -> int:
    """Delivery attempts for RCPT logged so far (by the daemon or a queue run)."""
    return sum(1 for row in mail.deliveries(lab) if row.get("to") == f"<{RCPT}>")


def observed(lab) -> str:
    """mail.log, and one line per message at the provider with its envelope sender."""
    return (lab.read_file("mailserver", "/var/log/mail.log")
            + "".join(f"\nprovider: mail_from={row['mail_from']}" for row in mail.inbox(lab)))


def send_and_wait_for_attempt(lab, tag: str) -> None:
    before = attempts(lab)
    mail.send(lab, "root", [RCPT], subject=unique_subject(tag))
    wait_until(lambda: attempts(lab) > before, timeout=30, what="the daemon's delivery attempt")


@pytest.mark.parametrize("name", list(faults.CATALOGUE))
def test_fault_stops_mail_and_its_fix_lets_it_through(clean_lab, name, capsys):
    lab = clean_lab
    fault = faults.CATALOGUE[name]
    CAPSTONE.setup(lab, fault=name)          # the fault in, root's message tried by the daemon
    shown = capsys.readouterr().out
    assert shown and name not in shown and fault.symptom not in shown and fault.cause not in shown
    unmet = [requirement.label for requirement, problems in CAPSTONE.results(lab) if problems]
    assert unmet == [r.label for r in CAPSTONE.requirements], f"{name}: met right after the setup"
    if not fault.hidden_by_queue_run:
        mail.run_queue(lab)
    assert CAPSTONE.problems(lab), f"{name}: mail flowed although the fault is in"
    seen = observed(lab)
    assert EVIDENCE[name] in seen
    if name in ("make-without-reload", "smart-host-port-25"):
        assert REFUSED_25 in seen

    fault.repair(lab)
    mail.run_queue(lab)                                  # what waited goes now
    send_and_wait_for_attempt(lab, name + "-again")      # the learner's new message, for the daemon
    wait_until(lambda: CAPSTONE.problems(lab) == [], timeout=30,
               what=f"mail flowing again after repairing {name}")


def test_make_without_reload_is_cured_by_a_queue_run_by_hand(clean_lab):
    """The daemon keeps the old sendmail.cf; a `sendmail -q` started by hand reads the new one."""
    lab = clean_lab
    faults.inject(lab, "make-without-reload")
    send_and_wait_for_attempt(lab, "reload")
    assert "Connection refused" in (mail.queue(lab)[0]["reason"] or "")
    assert lab.provider.messages() == []
    mail.run_queue(lab)
    assert mail.queue(lab) == [] and len(lab.provider.messages()) == 1


def test_break_prints_the_symptom_and_only_reveal_prints_the_cause(clean_lab):
    lab = clean_lab
    fault = faults.CATALOGUE[faults.choose(11)]
    hidden = cli("break", "--seed", "11", "--lab", lab.name)
    assert hidden.returncode == 0, hidden.stderr
    assert hidden.stdout.strip() == f"broke lab {lab.name}: {fault.symptom}"
    shown = cli("break", "--fault", fault.name, "--reveal", "--lab", lab.name)
    assert shown.returncode == 0, shown.stderr
    assert fault.cause in shown.stdout and fault.fix in shown.stdout
