"""Parser details the fixtures do not cover."""
import base64
from pathlib import Path

import pytest

from labenv.sendmail.parsers import bt, dialogue, maillog, make
from labenv.sendmail.secrets import CREDENTIALS, mask_smtp_line

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


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


# -- the steps of a dialogue: notes on credentials, a note where TLS starts ----------------

def _verbose(name: str) -> str:
    return (FIXTURES / f"dialogue--{name}.out").read_text()


DIALOGUES = sorted(p.stem.split("--", 1)[1] for p in FIXTURES.glob("dialogue--*.out"))


@pytest.mark.parametrize("name", DIALOGUES)
def test_steps_from_verbose_every_fixture(name):
    text = _verbose(name)
    steps = dialogue.steps_from_verbose(text)
    rows = dialogue.parse(text)
    tls = [s for s in steps if s["line"] == dialogue.TLS_NOTE]
    assert len(steps) == len(rows) + len(tls)          # one step per line, plus the TLS marks
    assert all(set(s) == set(dialogue.STEP_COLUMNS) for s in steps)
    assert [s["from"] for s in steps if s["line"] != dialogue.TLS_NOTE] == [r["direction"] for r in rows]
    for step in tls:                                   # right after the 220 answer to STARTTLS
        i = steps.index(step)
        assert steps[i - 1]["line"].startswith("220 ") and steps[i - 2]["line"] == "STARTTLS"


def test_steps_from_verbose_auth_plain():
    text = _verbose("auth-plain")
    blob = next(l.split()[-1] for l in text.splitlines() if l.startswith(">>> AUTH PLAIN"))
    steps = dialogue.steps_from_verbose(text)
    assert blob not in str(steps)
    flagged = [(s["line"], s["note"]) for s in steps if s["note"]]
    assert flagged == [(f"AUTH PLAIN {CREDENTIALS}", dialogue.AUTH_PLAIN_NOTE)]
    assert steps[0] == {"from": "note", "line": "carol@somedom.com... Connecting to "
                        "relayhost.somedom.com. port 587 via relay...", "note": None}
    lines = [s["line"] for s in steps]
    assert lines[lines.index("STARTTLS") + 1:][:2] == ["220 Ready to start TLS", dialogue.TLS_NOTE]
    assert "250-STARTTLS" in lines and "250 HELP" in lines    # server lines as they were sent
    clear = dialogue.steps_from_verbose(text, mask_credentials=False)
    assert f"AUTH PLAIN {blob}" in [s["line"] for s in clear]


def test_steps_without_auth_have_no_notes():
    for name in ("auth-mechanisms-missing", "connection-refused", "host-unknown", "empty"):
        steps = dialogue.steps_from_verbose(_verbose(name))
        assert not [s for s in steps if s["note"]]
    refused = dialogue.steps_from_verbose(_verbose("connection-refused"))
    assert [s["from"] for s in refused] == ["note", "note"]
    assert dialogue.steps_from_verbose("") == []


def test_steps_from_verbose_login_through_the_msp():
    text = "\n".join(["050 >>> AUTH LOGIN", "050 334 VXNlcm5hbWU6", "050 >>> dXNlcl9uYW1l",
                      "050 334 UGFzc3dvcmQ6", "050 >>> cGFzc3dvcmQ=", "050 235 2.7.0 ok",
                      "050 >>> AUTH PLAIN", "050 334 ", "050 >>> AHVzZXJfbmFtZQBwYXNzd29yZA=="])
    steps = dialogue.steps_from_verbose(text)
    assert "cGFzc3dvcmQ=" not in str(steps) and "AHVzZXJfbmFtZQBwYXNzd29yZA==" not in str(steps)
    assert [(s["line"], s["note"]) for s in steps if s["from"] == "client"] == [
        ("AUTH LOGIN", dialogue.AUTH_LOGIN_NOTE),
        ("dXNlcl9uYW1l", dialogue.AUTH_ANSWER_NOTE),        # the user name is no secret
        (CREDENTIALS, dialogue.AUTH_ANSWER_NOTE),
        ("AUTH PLAIN", dialogue.AUTH_START_NOTE),            # the credentials follow the 334
        (CREDENTIALS, dialogue.AUTH_ANSWER_NOTE)]


def _session(text: str) -> dict:
    """What the provider records of the dialogue in ``text`` (credentials hidden as it hides them)."""
    transcript = []
    for line in text.splitlines():
        if line.startswith(">>> "):
            transcript.append({"dir": "C", "line": mask_smtp_line(line[4:])})
        elif line[:3].isdigit():
            transcript.append({"dir": "S", "line": line})
    return {"port": 587, "tls": "TLSv1.3", "transcript": [*transcript, {"dir": "S", "line": ""}]}


def test_steps_from_session_match_the_verbose_ones():
    text = _verbose("auth-plain")
    from_session = dialogue.steps_from_session(_session(text))
    from_verbose = [s for s in dialogue.steps_from_verbose(text)
                    if s["from"] != "note" or s["line"] == dialogue.TLS_NOTE]
    assert from_session == from_verbose                 # the same notes for the same situation
    assert dialogue.steps_from_session({}) == []


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
