"""The sendmail.mc model on Debian's real default files (bookworm and trixie)."""
from pathlib import Path

import pytest

from labenv.errors import ConfigError
from labenv.sendmail import howto
from labenv.sendmail.mc import ANCHOR, BLOCK_BEGIN, RelayConfig, SendmailMc

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DEFAULTS = sorted(FIXTURES.glob("sendmail.mc--default-*"))
HOWTO = RelayConfig(starttls=True, relay_mailer="esmtp", relay_port=587, mailertable=True,
                    masquerade_as="somedom.com", masquerade_envelope=True, authinfo=True)


@pytest.fixture(params=DEFAULTS, ids=lambda p: p.name)
def default(request) -> str:
    return request.param.read_text()


def test_fixtures_present():
    assert {p.name for p in DEFAULTS} == {"sendmail.mc--default-bookworm",
                                          "sendmail.mc--default-trixie"}


def test_round_trip_exact(default):
    mc = SendmailMc.parse(default)
    assert mc.text == default
    assert mc.diff() == ""
    assert mc.config() == RelayConfig()
    assert mc.with_config(RelayConfig()).text == default


def test_howto_lines_before_mailer_definitions(default):
    new = SendmailMc.parse(default).with_config(HOWTO)
    lines = new.text.splitlines()
    anchor = lines.index(ANCHOR)
    block = lines[lines.index(BLOCK_BEGIN.strip()):anchor]
    # The same lines, in the same order, as `labenv apply howto --variant literal` writes.
    assert block[1:-1] == howto.mc_lines("literal")
    assert lines[anchor + 1:anchor + 3] == ["MAILER(`local')dnl", "MAILER(`smtp')dnl"]
    assert new.config() == HOWTO
    assert new.problems() == []


def test_idempotent_and_reparse(default):
    once = SendmailMc.parse(default).with_config(HOWTO)
    twice = once.with_config(HOWTO)
    assert twice.text == once.text
    assert SendmailMc.parse(once.text).config() == HOWTO


def test_clear_knobs_restores_original(default):
    new = SendmailMc.parse(default).with_config(HOWTO).with_config(RelayConfig())
    assert new.text == default


def test_set_and_clear_single_knobs(default):
    mc = SendmailMc.parse(default)
    for change in [{"relay_port": 2525}, {"smart_host": "relay:[relayhost.somedom.com]"},
                   {"auth_mechanisms": "PLAIN LOGIN"}, {"masquerade_envelope": True}]:
        cfg = RelayConfig(**change)
        new = mc.with_config(cfg)
        assert new.config() == cfg
        added = [l[1:] for l in new.diff().splitlines() if l.startswith("+") and not l.startswith("+++")]
        assert len(added) == 3          # BEGIN, the knob, END
    assert "define(`SMART_HOST',`relay:[relayhost.somedom.com]')dnl" in mc.with_config(
        RelayConfig(smart_host="relay:[relayhost.somedom.com]")).text


def test_diff_is_unified(default):
    diff = SendmailMc.parse(default).with_config(RelayConfig(relay_port=587)).diff()
    assert diff.startswith("--- a/sendmail.mc\n+++ b/sendmail.mc\n@@")
    assert "+define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl\n" in diff


def test_hand_written_lines_are_read_and_moved(default):
    text = default.replace(f"{ANCHOR}\n", f"FEATURE(`mailertable')dnl\n{ANCHOR}\n")
    mc = SendmailMc.parse(text)
    assert mc.config() == RelayConfig(mailertable=True)
    moved = mc.with_config(mc.config())
    assert moved.text.count("FEATURE(`mailertable')dnl") == 1
    assert BLOCK_BEGIN in moved.text


def test_commented_knobs_are_ignored(default):
    text = default.replace(f"{ANCHOR}\n", f"dnl define(`SMART_HOST',`esmtp:x')dnl\n{ANCHOR}\n")
    assert SendmailMc.parse(text).config() == RelayConfig()


def test_misplaced_knobs_are_problems(default):
    text = default + "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl\nFEATURE(`mailertable')dnl\n"
    problems = SendmailMc.parse(text).problems()
    assert len(problems) == 2 and all(ANCHOR in p for p in problems)


def test_not_a_sendmail_mc():
    with pytest.raises(ConfigError, match=r"sendmail\.mc: no MAILER_DEFINITIONS"):
        SendmailMc.parse("divert(-1)\n")


def test_relay_config_replace():
    assert HOWTO.replace(relay_port="2525").relay_port == 2525
    with pytest.raises(ConfigError):
        HOWTO.replace(relay_port=65536)
