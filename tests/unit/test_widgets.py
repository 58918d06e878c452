"""The widgets' logic on a fake lab: refusals change nothing, passwords stay masked."""
import base64
import html
from pathlib import Path

import pandas as pd
import pytest

from helpers.widgets import (
    AddressTester,
    AuthInfoEditor,
    DialogueViewer,
    InboxViewer,
    MailertableEditor,
    McEditor,
    routes,
)
from helpers.widgets.dialogue_viewer import TEXT_WIDTH
from helpers.widgets.form import MAKE_FAILED, NOTHING_APPLIED, RED, block
from labenv.errors import ConfigError, LabError
from labenv.sendmail.parsers import dialogue
from labenv.sendmail.secrets import CREDENTIALS
from tests.unit.fakelab import MC, FakeLab, gone_error

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SECRET = "s3cret-Pa55"


@pytest.fixture
def lab():
    return FakeLab()


# ---------------------------------------------------------------- McEditor

def test_mc_editor_reads_the_lab(lab):
    editor = McEditor(lab)
    assert editor.config().relay_port is None
    assert editor.diff() == ""


def test_mc_editor_diff_shows_the_new_line_only(lab):
    diff = McEditor(lab).set(relay_port=587).diff()
    added = [l for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    assert "+define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl" in added
    assert not [l for l in diff.splitlines() if l.startswith("-") and not l.startswith("---")]


@pytest.mark.parametrize("knobs, field", [
    ({"relay_port": "58x"}, "relay_port"),
    ({"relay_port": "70000"}, "relay_port"),
    ({"smart_host": "relay:[bad host]"}, "smart_host"),
    ({"masquerade_as": "somedom.com')dnl"}, "masquerade_as"),
    ({"relay_mailer": "pigeon"}, "relay_mailer"),
])
def test_mc_editor_refuses_bad_input_and_writes_nothing(lab, knobs, field):
    before = lab.files[MC]
    editor = McEditor(lab).set(**knobs)
    outcome = editor.apply()
    assert not outcome.ok and outcome.error.startswith(field + ":")
    assert "\n" not in outcome.error
    assert lab.writes() == 0 and lab.files[MC] == before
    assert editor.result() == f"refused: {outcome.error}\n{NOTHING_APPLIED}"
    assert "color:#b00020" in editor.status.value      # shown in red
    assert NOTHING_APPLIED in editor.output.value
    with pytest.raises(ConfigError):
        editor.diff()


def test_mc_editor_unknown_knob_is_refused(lab):
    with pytest.raises(ConfigError, match="unknown knob 'relay_prot'"):
        McEditor(lab).set(relay_prot=587)


def test_mc_editor_applies_and_shows_mailers(lab):
    editor = McEditor(lab).set(relay_port="587", mailertable=True)
    outcome = editor.apply()
    assert outcome.ok and outcome.applied and lab.writes() == 1
    assert "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl" in lab.files[MC]
    text = editor.result()
    assert "A=TCP $h 587" in text and "(relay)" in text and "(esmtp)" in text
    assert editor.apply().applied is False          # same config again: nothing to write
    assert lab.writes() == 1


def test_mc_editor_make_error_keeps_the_config(lab):
    before = lab.files[MC]
    lab.fail_apply = ("lab-apply: make failed; /etc/mail restored\n"
                      "m4:/etc/mail/sendmail.mc:120: ERROR: FEATURE() should be before MAILER()")
    editor = McEditor(lab)
    outcome = editor.set(relay_port=587).apply()
    assert not outcome.ok and "FEATURE() should be before MAILER()" in outcome.error
    assert outcome.error.splitlines()[0] == "make failed; /etc/mail restored"
    assert lab.files[MC] == before and lab.writes() == 0
    assert editor.result().endswith(MAKE_FAILED)
    assert "sendmail keeps its last good configuration" in editor.result()
    assert "FEATURE() should be before MAILER()" in editor.output.value
    assert MAKE_FAILED in editor.output.value and "color:#b00020" in editor.status.value


def test_mc_editor_show_diff_click(lab):
    editor = McEditor(lab)
    editor.set(relay_port="x").diff_button.click()
    assert "relay_port" in editor.status.value and NOTHING_APPLIED in editor.output.value
    assert editor.result() == "nothing applied yet"     # a diff is not an Apply
    editor.set(relay_port=587).diff_button.click()
    assert "TCP $h 587" in editor.output.value and lab.writes() == 0


# ---------------------------------------------------------------- MailertableEditor

HOWTO_ROWS = [(".darknet.lan", "esmtp", "[mailhost.private.lan]"), (".lan", "esmtp", "[%1.lan]"),
              (".", "relay", "[relayhost.somedom.com]")]


@pytest.fixture
def no_routes(monkeypatch):
    """Every address routes to ``relay`` (the fake lab has no ``-bt`` router), while the lab is there."""
    def routes_frame(lab, addresses):
        lab.check_there("mailserver")
        return pd.DataFrame({"address": addresses, "mailer": "relay"})

    monkeypatch.setattr(routes, "routes_frame", routes_frame)


@pytest.mark.parametrize("row, field", [
    (("darknet..lan", "esmtp", "[mailhost]"), "mailertable key"),
    ((".lan", "pigeon", "[x.lan]"), "mailertable mailer"),
    ((".lan", "esmtp", "[x.lan"), "mailertable host"),
    ((".lan", "esmtp", "two words"), "mailertable host"),
])
def test_mailertable_refuses_bad_rows_and_writes_nothing(lab, no_routes, row, field):
    editor = MailertableEditor(lab, rows=[*HOWTO_ROWS[:1], row], compare_model=False)
    assert editor.validate()[0].startswith(field)
    outcome = editor.apply()
    assert not outcome.ok and lab.writes() == 0
    assert editor.result().startswith("refused: " + field)


def test_mailertable_duplicate_key_refused(lab, no_routes):
    editor = MailertableEditor(lab, rows=[(".lan", "esmtp", "[a.lan]"), (".LAN", "relay", "[b]")])
    assert "appears twice" in editor.validate()[0]
    assert not editor.apply().ok and lab.writes() == 0


def test_mailertable_apply_warns_without_feature(lab, no_routes):
    editor = MailertableEditor(lab, rows=HOWTO_ROWS, compare_model=False)
    outcome = editor.apply()
    assert outcome.ok and lab.writes() == 1
    assert "FEATURE(`mailertable')" in outcome.warnings[0]
    assert lab.files["/etc/mail/mailertable"].splitlines()[1].split() == [".lan", "esmtp:[%1.lan]"]
    assert "applied: mailertable written" in editor.status.value
    assert "sendmail.mc has no FEATURE" in editor.status.value


def test_mailertable_refused_by_the_lab_keeps_the_old_map(lab, no_routes):
    lab.fail_apply = ("lab-apply: makemap failed for /etc/mail/mailertable; /etc/mail restored\n"
                      "makemap: /etc/mail/mailertable: line 2: no RHS for LHS .lan")
    editor = MailertableEditor(lab, rows=HOWTO_ROWS, compare_model=False)
    outcome = editor.apply()
    assert not outcome.ok and outcome.lab_refused and lab.writes() == 0
    assert editor.result() == ("refused: makemap failed for /etc/mail/mailertable; /etc/mail restored\n"
                               "makemap: /etc/mail/mailertable: line 2: no RHS for LHS .lan\n"
                               + MAKE_FAILED)
    assert "no RHS for LHS .lan" in editor.output.value


def test_mailertable_rows_add_remove_and_read_back(lab, no_routes):
    lab.files["/etc/mail/mailertable"] = ".lan esmtp:[%1.lan]\n. relay:[r.example]\n"
    editor = MailertableEditor(lab, compare_model=False)
    assert editor.rows() == [(".lan", "esmtp", "[%1.lan]"), (".", "relay", "[r.example]")]
    editor._add_row(".x.lan", "esmtp", "[y.lan]")
    assert len(editor.rows()) == 3
    line = editor._rows_box.children[0]
    line.children[-1].click()                        # the trash button of the first row
    assert editor.rows()[0] == (".", "relay", "[r.example]") and len(editor.rows()) == 2


# ---------------------------------------------------------------- AuthInfoEditor

def _all_text(editor) -> str:
    parts = [editor.line.value, editor.status.value, editor.output.value, str(editor.result())]
    return "\n".join(parts)


def test_authinfo_line_is_masked(lab):
    editor = AuthInfoEditor(lab).set(I="user_name", P=SECRET, M="PLAIN LOGIN")
    assert editor.masked_line() == ('AuthInfo:relayhost.somedom.com "I:user_name" '
                                    '"P:********" "M:PLAIN LOGIN"')
    assert SECRET not in editor.line.value
    assert editor.fields["P"].value == ""           # never put into the form's state


def test_authinfo_apply_writes_password_but_never_shows_it(lab):
    lab.files[MC] = lab.files[MC].replace(
        "MAILER_DEFINITIONS", "FEATURE(`authinfo',`hash /etc/mail/auth/client-info.db')dnl\n"
        "MAILER_DEFINITIONS", 1)
    editor = AuthInfoEditor(lab)
    editor.set(I="user_name", M="PLAIN LOGIN")
    editor.fields["P"].value = SECRET               # as if typed into the password box
    outcome = editor.apply()
    assert outcome.ok
    assert f'"P:{SECRET}"' in lab.files["/etc/mail/auth/client-info"]
    assert lab.modes["/etc/mail/auth"] == 0o700
    assert lab.modes["/etc/mail/auth/client-info"] == 0o600
    assert editor.fields["P"].value == ""           # the typed password is forgotten
    text = _all_text(editor)
    assert SECRET not in text and "P:********" in text
    assert "/map authinfo AuthInfo:relayhost.somedom.com ->" in text
    assert "permissions: ok" in text


def test_authinfo_base64_password_is_masked_too(lab):
    password = 'pass"word'                           # written base64, as "P=..."
    editor = AuthInfoEditor(lab).set(I="u", P=password)
    assert editor.masked_line() == 'AuthInfo:relayhost.somedom.com "I:u" "P=********"'
    editor.apply()
    encoded = base64.b64encode(password.encode()).decode()
    assert encoded in lab.files["/etc/mail/auth/client-info"]
    assert encoded not in _all_text(editor) and password not in _all_text(editor)


@pytest.mark.parametrize("values, field", [
    ({"I": "", "P": SECRET}, "AuthInfo I"),
    ({"I": "user_name", "P": ""}, "AuthInfo P"),
    ({"I": "user_name", "P": SECRET, "M": "plain,login"}, "AuthInfo M"),
    ({"I": "user_name", "P": SECRET, "server": "bad host"}, "AuthInfo server"),
])
def test_authinfo_refuses_bad_input_and_writes_nothing(lab, values, field):
    editor = AuthInfoEditor(lab).set(**values)
    outcome = editor.apply()
    assert not outcome.ok and outcome.error.startswith(field)
    assert lab.writes() == 0 and "/etc/mail/auth" not in lab.modes
    assert SECRET not in _all_text(editor)


def test_authinfo_keeps_other_entries_and_warns_without_feature(lab):
    lab.files["/etc/mail/auth/client-info"] = 'AuthInfo:other.example "I:x" "P:y"\n'
    lab.modes["/etc/mail/auth"] = 0o700
    outcome = AuthInfoEditor(lab).set(I="user_name", P=SECRET).apply()
    text = lab.files["/etc/mail/auth/client-info"]
    assert "AuthInfo:other.example" in text and "AuthInfo:relayhost.somedom.com" in text
    assert "FEATURE(`authinfo')" in outcome.warnings[0]


def test_authinfo_permissions_problem_is_shown(lab):
    lab.files["/etc/mail/auth/old-copy"] = "AuthInfo:x \"I:a\" \"P:b\"\n"   # left readable
    lab.modes["/etc/mail/auth/old-copy"] = 0o644
    editor = AuthInfoEditor(lab).set(I="user_name", P=SECRET)
    editor.apply()
    assert "/etc/mail/auth/old-copy is readable by every user" in editor.result()


def test_authinfo_refused_by_the_lab_shows_no_password(lab):
    lab.fail_apply = ("lab-apply: makemap failed for /etc/mail/auth/client-info; /etc/mail restored\n"
                      f'makemap: /etc/mail/auth/client-info: line 1: bad "P:{SECRET}"')
    editor = AuthInfoEditor(lab).set(I="user_name", P=SECRET)
    outcome = editor.apply()
    assert not outcome.ok and outcome.lab_refused and lab.writes() == 0
    assert editor.result().startswith("refused: makemap failed") and MAKE_FAILED in editor.result()


# ---------------------------------------------------------------- AddressTester / Inbox

def test_address_tester_refuses_bad_address_without_running(lab):
    tester = AddressTester(lab).set(["ok@example.com", "bad\x01@example.com"])
    before = len(lab.commands)
    assert tester.routes() is None
    assert len(lab.commands) == before
    assert tester.result().startswith("refused: address: must not contain control character")
    assert AddressTester(lab).set([]).routes() is None


SESSION = {
    "port": 587, "tls": "TLSv1.3", "auth": {"authcid": "user_name"},
    "transcript": [{"dir": d, "line": l} for d, l in [
        ("S", "220 relayhost.somedom.com ESMTP"), ("C", "EHLO mailserver.private.lan"),
        ("S", "250-relayhost.somedom.com"), ("S", "250 STARTTLS"), ("C", "STARTTLS"),
        ("S", "220 Ready to start TLS"), ("C", "EHLO mailserver.private.lan"),
        ("S", "250 AUTH LOGIN PLAIN"), ("C", "AUTH LOGIN"), ("S", "334 VXNlcm5hbWU6"),
        ("C", "<credentials, base64>"), ("S", "334 UGFzc3dvcmQ6"), ("C", "<credentials, base64>"),
        ("S", "235 2.7.0 Authentication successful"), ("C", "QUIT"), ("S", "221 Bye"), ("S", "")]],
    "messages": [{"queue_id": "R000001", "mail_from": "root@somedom.com", "mail_options": [],
                  "rcpt_tos": ["bob@example.com"], "authenticated_as": "user_name",
                  "tls": "TLSv1.3", "headers": {"From": "root@somedom.com", "Subject": "hi"},
                  "data": "From: root@somedom.com\r\nSubject: hi\r\n\r\nbody\r\n"}],
}


def test_inbox_viewer_table_and_detail(lab):
    lab.provider.recorded = [SESSION]
    viewer = InboxViewer(lab)
    frame = viewer.result()
    assert frame.to_dict("records") == [{
        "id": "R000001", "port": 587, "tls": "TLSv1.3", "auth": "user_name",
        "mail_from": "root@somedom.com", "rcpt_to": "bob@example.com",
        "header_from": "root@somedom.com", "subject": "hi"}]
    assert "MAIL FROM:<root@somedom.com>" in viewer.detail(0) and "body" in viewer.detail(0)
    assert InboxViewer(FakeLab()).detail() == "no messages received"
    with pytest.raises(ConfigError):
        InboxViewer(lab, role="router")


# ---------------------------------------------------------------- DialogueViewer

def test_dialogue_from_session_flags_auth_and_marks_tls():
    table = DialogueViewer.from_session(SESSION).table()
    flagged = table[table["note"] != ""]
    assert list(flagged["line"]) == ["AUTH LOGIN", CREDENTIALS, CREDENTIALS]
    assert list(flagged["note"]) == [dialogue.AUTH_LOGIN_NOTE, dialogue.AUTH_ANSWER_NOTE,
                                     dialogue.AUTH_ANSWER_NOTE]
    notes = table[table["from"] == "note"]["line"].tolist()
    assert notes == [dialogue.TLS_NOTE]
    assert table.iloc[notes and table.index[table["from"] == "note"][0] - 1]["line"] == \
        "220 Ready to start TLS"


def test_dialogue_from_verbose_masks_credentials_unless_asked():
    text = (FIXTURES / "dialogue--auth-plain.out").read_text()
    blob = next(l.split()[-1] for l in text.splitlines() if l.startswith(">>> AUTH PLAIN"))
    masked = DialogueViewer.from_verbose(text)
    assert blob not in masked.text() and blob not in masked.html()
    auth = masked.table().query("line.str.startswith('AUTH PLAIN')", engine="python")
    assert len(auth) == 1 and "decodable" in auth.iloc[0]["note"]
    clear = DialogueViewer.from_verbose(text, mask_credentials=False)
    assert f"AUTH PLAIN {blob}" in clear.table()["line"].tolist()
    servers = clear.table().query("`from` == 'server'")["line"].tolist()
    assert "250-STARTTLS" in servers and "235 2.7.0 Authentication successful" in servers


def test_dialogue_from_verbose_through_the_msp():
    text = "\n".join(["bob@x... Connecting to [127.0.0.1] via relay...", ">>> EHLO a",
                      "050 >>> EHLO mailserver.private.lan", "050 250-relayhost",
                      "050 250 AUTH PLAIN", "050 >>> AUTH PLAIN dXNlcgB1c2VyAHB3",
                      "050 235 2.7.0 ok"])
    table = DialogueViewer.from_verbose(text).table()
    assert "dXNlcgB1c2VyAHB3" not in " ".join(table["line"])
    assert table["line"].tolist()[2:5] == ["EHLO mailserver.private.lan", "250-relayhost",
                                          "250 AUTH PLAIN"]
    assert f"AUTH PLAIN {CREDENTIALS}" in table["line"].tolist()


LONG_MAIL = ">>> MAIL From:<root@mailserver.private.lan> SIZE=84 AUTH=root@mailserver.private.lan"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("dialogue--*.out")))
def test_dialogue_text_fits_a_notebook(name):
    text = (FIXTURES / name).read_text() + LONG_MAIL + "\n530 5.7.0 Authentication required\n"
    diagram = DialogueViewer.from_verbose(text).text()
    assert max(len(line) for line in diagram.splitlines()) <= TEXT_WIDTH
    assert not [line for line in diagram.splitlines() if line != line.rstrip()]


def test_dialogue_text_layout():
    text = (FIXTURES / "dialogue--auth-plain.out").read_text() + LONG_MAIL + "\n"
    lines = DialogueViewer.from_verbose(text).text().splitlines()
    width = len(f"AUTH PLAIN {CREDENTIALS}")          # the longest client line that fits
    assert lines[0] == "client".ljust(width) + " " * 7 + "server"
    assert f"{'EHLO mailserver.private.lan':<{width}} ---->" in lines
    assert f"{'':<{width}} <---- 250-STARTTLS" in lines
    assert f"~~ {dialogue.TLS_NOTE}" in lines
    auth = lines.index(f"AUTH PLAIN {CREDENTIALS} ---->")
    assert lines[auth + 1] == f"  !! {dialogue.AUTH_PLAIN_NOTE}"
    mail = lines.index(LONG_MAIL[4:])                  # a long client line: its arrow below it
    assert lines[mail + 1] == f"{'':<{width}} ---->"


def test_widgets_display_as_widgets(lab):
    bundle = McEditor(lab)._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_address_tester_warns_about_what_is_not_an_address(lab, no_routes, capsys):
    tester = AddressTester(lab).set(["not an address", "a@b@c", "root", "x@hosta.private.lan"])
    table = tester.routes()
    assert list(table["address"]) == ["not an address", "a@b@c", "root", "x@hosta.private.lan"]
    assert tester.warnings() == [
        "warning: 'not an address' is not a mail address (user@domain or a local user); "
        "sendmail -bt routes it anyway",
        "warning: 'a@b@c' is not a mail address (user@domain or a local user); "
        "sendmail -bt routes it anyway"]
    assert all(line in html.unescape(tester.status.value) for line in tester.warnings())
    assert f"color:{RED}" in tester.status.value
    assert tester.result() is table
    assert capsys.readouterr().out.splitlines() == tester.warnings()


def test_address_tester_quiet_about_addresses(lab, no_routes, capsys):
    tester = AddressTester(lab).set(["root", "x@hosta.private.lan"])
    tester.button.click()
    assert tester.warnings() == [] and RED not in tester.status.value
    assert len(tester.result()) == 2 and capsys.readouterr().out == ""


# ---------------------------------------------------------------- a lab that is gone

def _used(lab):
    """Each widget, used once on the live lab, and the buttons a learner may press next."""
    lab.provider.recorded = [SESSION]
    mc = McEditor(lab).set(relay_port=587)
    mc.apply()
    table = MailertableEditor(lab, rows=HOWTO_ROWS, compare_model=False)
    table.apply()
    auth = AuthInfoEditor(lab).set(I="user_name", P=SECRET, M="PLAIN LOGIN")
    auth.apply()
    tester = AddressTester(lab)
    tester.routes()
    inbox = InboxViewer(lab)
    inbox.refresh()
    return [(mc, [mc.diff_button, mc.apply_button]),
            (table, [table.validate_button, table.apply_button, table.add_button]),
            (auth, [auth.apply_button]), (tester, [tester.button]), (inbox, [inbox.refresh_button])]


def _shown(widget) -> dict:
    """What a widget shows apart from its status line."""
    return {name: getattr(widget, name).value for name in ("output", "table_out", "detail_out")
            if hasattr(widget, name)}


def test_widgets_on_a_lab_that_is_gone_say_so_in_one_red_line(lab, no_routes):
    used = _used(lab)
    lab.gone = True
    for widget, buttons in used:
        before, last = _shown(widget), getattr(widget, "_last", None)
        role = "relayhost" if isinstance(widget, InboxViewer) else "mailserver"
        for button in buttons:
            button.click()                                   # raises nothing
        message = str(gone_error(lab.name, role))
        assert "\n" not in message and "start_lab(...)" in message
        assert f"`python -m labenv up --lab {lab.name}`" in message
        assert widget.status.value == block(message, RED), type(widget).__name__
        assert _shown(widget) == before and getattr(widget, "_last", None) is last


def test_widgets_on_a_lab_that_is_gone_keep_their_last_result(lab, no_routes):
    used = _used(lab)
    results = [str(widget.result()) for widget, _ in used]
    lab.gone = True
    for _, buttons in used:
        for button in buttons:
            button.click()
    inbox = used[-1][0]
    assert [str(widget.result()) for widget, _ in used[:-1]] == results[:-1]
    assert str(inbox.messages(fetch=False)) == results[-1]      # result() fetches again: it raises


def test_widgets_called_from_code_on_a_lab_that_is_gone_raise(lab, no_routes):
    (mc, _), (table, _), (auth, _), (tester, _), (inbox, _) = _used(lab)
    lab.gone = True
    for call in (mc.apply, mc.diff, table.apply, auth.apply, tester.routes, inbox.refresh):
        with pytest.raises(LabError, match="is gone"):
            call()
