"""Parser details the fixtures do not cover."""
import base64

import pytest

from labenv.sendmail.parsers import make
from labenv.sendmail.parsers import bt, dialogue, maillog


def test_bt_prompts_without_output_are_empty_results():
    text = "ADDRESS TEST MODE\nEnter <ruleset> <address>\n> > Map named \"x\" not found\n> "
    assert [r["kind"] for r in bt.parse(text)] == ["empty", "map"]


def test_bt_nothing():
    assert bt.parse("") == [] and bt.split_session("banner only\n") == []


def test_decode_auth_plain():
    token = base64.b64encode(b"root\0user_name\0password").decode()
    assert dialogue.decode_auth_plain(f"AUTH PLAIN {token}") == ("root", "user_name", "password")
    with pytest.raises(ValueError):
        dialogue.decode_auth_plain("AUTH PLAIN !!!")


def test_maillog_classic_time_and_fields():
    line = ("Nov 25 12:36:27 mailserver sm-mta[558]: 6APCaRMd000558: to=<a@b>, "
            "relay=relayhost.somedom.com. [172.17.0.1], dsn=4.3.0, stat=Deferred: x (y, z)")
    row = maillog.parse_line(line)
    assert row["time"] == "Nov 25 12:36:27" and row["queue_id"] == "6APCaRMd000558"
    assert row["fields"]["stat"] == "Deferred: x (y, z)"
    assert maillog.parse_line("not syslog") is None


def test_make_errors():
    out = "Updating mailertable ...\nmakemap: /etc/mail/mailertable.new.db: line 4: no RHS for LHS x\n"
    assert make.errors(out) == ["makemap: /etc/mail/mailertable.new.db: line 4: no RHS for LHS x"]
    cf = ("lab-apply: m4 reported errors building sendmail.cf; /etc/mail restored\nfine\n"
          "--- sendmail.cf.errors\n*** ERROR: FEATURE() should be before MAILER()\n")
    assert make.errors(cf) == ["*** ERROR: FEATURE() should be before MAILER()"]
    assert make.errors("m4: x\nm4: x\n") == ["m4: x"]   # each line once
