"""Every way a learner or instructor can hand the lab a value, tried with hostile ones.

Each refusal is one clear line, and afterwards the lab's configuration is exactly as
it was: modes and checksums of sendmail.mc, sendmail.cf, submit.cf, mailertable(.db)
and /etc/mail/auth/* are compared after every test. Values that look hostile but are
legal (a backquote in a mail address's local part) must be handled as data: the
marker file that an injected command would create must never appear.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import cli, config_state, one_line_error

pytestmark = pytest.mark.integration

MARKER = "/tmp/rb-pwned"
HOSTILE = {
    "empty": "",
    "overlong": "a" * 300,
    "non-ascii": "relayhöst.example",
    "m4-quotes": "x`evil')dnl",
    "dnl": "dnl",
    "newline": "ok\nFEATURE(`x')",
    "rm": "; rm -rf /",
    "subst": f"$(touch {MARKER})",
    "backticks": f"`touch {MARKER}`",
    "spaces": "relay host.example",
}
BAD_PORTS = [0, 65536, "25x", -1, "", True, 25.5, "２５", "25; rm -rf /", "587\n"]


@pytest.fixture(scope="module")
def baseline(howto_lab):
    return config_state(howto_lab)


@pytest.fixture(autouse=True)
def unchanged(request, baseline, howto_lab):
    """After every test: the configuration is what it was and no command was injected."""
    yield
    assert config_state(howto_lab) == baseline, "the lab's configuration changed"
    for role in ("mailserver", "relayhost"):
        assert howto_lab.exec(role, ["test", "-e", MARKER]).exit_code != 0, \
            f"an injected command ran in {role}"


def assert_one_line(error: BaseException, field: str | None = None) -> str:
    line = one_line_error(str(error))
    if field:
        assert field.split()[0].lower() in line.lower(), f"{line!r} does not name {field!r}"
    return line


# -- the CLI ------------------------------------------------------------------------
def cli_cases(lab_name: str) -> dict[str, list[str]]:
    cases: dict[str, list[str]] = {}
    for key, value in HOSTILE.items():
        if key != "dnl":  # `dnl` is a legal lab name (of a lab that does not exist)
            for verb in ("status", "up", "down", "clean", "inbox"):
                cases[f"lab-{verb}-{key}"] = [verb, "--lab", value]
        if key != "dnl":  # ... and a legal local user name
            cases[f"bt-{key}"] = ["bt", "--lab", lab_name, value]
            cases[f"send-from-{key}"] = ["send", "--lab", lab_name, "--from", value,
                                         "--to", "friend@example.com"]
            cases[f"send-to-{key}"] = ["send", "--lab", lab_name, "--from", "root",
                                       "--to", value]
        cases[f"exec-role-{key}"] = ["exec", "--lab", lab_name, value, "--", "true"]
    cases["bt-trailing-newline"] = ["bt", "--lab", lab_name, "root\n"]
    cases["send-to-trailing-newline"] = ["send", "--lab", lab_name, "--from", "root",
                                         "--to", "friend@example.com\n"]
    cases["inbox-role"] = ["inbox", "--lab", lab_name, "--role", "router"]
    cases["isp-action"] = ["isp", "--lab", lab_name, "maybe"]
    cases["up-debian"] = ["up", "--lab", "rbx-never", "--debian", "sid; rm -rf /"]
    for key, args in {
        "fail-count-word": ["fail", "421", "abc"], "fail-code": ["fail", "999", "1"],
        "fail-negative": ["fail", "421", "-1"], "fail-missing": ["fail", "421"],
        "fail-injection": ["fail", "421", "1; rm -rf /"],
        "reject-auth-maybe": ["reject-auth", "maybe"], "reject-auth-extra": ["reject-auth", "on", "x"],
        "strict-empty": ["strict-authzid", ""], "users-no-name": ["users", "=x"],
        "users-no-equals": ["users", "nobody"], "unknown": [f"$(touch {MARKER})"],
        "down-extra": ["down", "now"], "reset-extra": ["reset", "all"],
    }.items():
        cases[f"provider-{key}"] = ["provider", "--lab", lab_name, *args]
    return cases


@pytest.fixture(scope="module")
def cli_results(howto_lab):
    """Every CLI case run once, four at a time (each is a fresh `python -m labenv`)."""
    state = howto_lab.provider.ctl("state")
    cases = cli_cases(howto_lab.name)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(cases, pool.map(lambda argv: cli(*argv), cases.values())))
    state_after = howto_lab.provider.ctl("state")
    state.pop("status"), state_after.pop("status")
    return results, state, state_after


@pytest.mark.parametrize("case", sorted(cli_cases("LAB")))
def test_cli_refuses_hostile_argument_in_one_line(case, cli_results):
    results, _, _ = cli_results
    done = results[case]
    assert done.returncode == 2, f"exit {done.returncode}: {done.stdout!r} {done.stderr!r}"
    line = one_line_error(done.stderr)
    assert line.startswith("labenv: ")
    assert done.stdout == ""


def test_cli_provider_knobs_unchanged_by_refused_arguments(cli_results):
    _, before, after = cli_results
    assert after == before


def test_cli_handles_legal_but_odd_address_as_data(howto_lab):
    # A backquote is legal in a local part (RFC 5322 atext): routed, never run.
    odd = f"`touch{MARKER.replace('/', '')}`x@example.com"
    done = cli("bt", "--lab", howto_lab.name, odd)
    assert done.returncode == 0, done.stderr
    assert "relay" in done.stdout and "[relayhost.somedom.com]" in done.stdout


def test_cli_subject_cannot_inject_a_header(howto_lab):
    subject = "hello\nBcc: spy@example.org"
    done = cli("send", "--lab", howto_lab.name, "--from", "root", "--to", "friend@example.com",
               "--subject", subject)
    assert done.returncode == 0, done.stderr
    from tests.support import wait_until
    [message] = wait_until(lambda: [m for m in howto_lab.provider.messages()
                                    if (m["headers"].get("Subject") or "").startswith("hello")],
                           what="the message at the provider")
    assert message["rcpt_tos"] == ["friend@example.com"]
    assert "Bcc" not in message["headers"] and "spy@example.org" not in json.dumps(message["rcpt_tos"])
    assert message["headers"]["Subject"] == "hello Bcc: spy@example.org"


# -- helpers: sendmail.mc knobs -----------------------------------------------------------
def _relay_cases():
    for port in BAD_PORTS:
        yield "relay_port", port
    for field in ("smart_host", "masquerade_as", "relay_mailer", "auth_mechanisms"):
        for value in HOSTILE.values():
            yield field, value
    for word in ("x.divnum", "x.undivert", "mail.m4exit.example", "a-dnl.example"):
        yield "masquerade_as", word
        yield "smart_host", f"relay:[{word}]"
    for field in ("starttls", "mailertable", "authinfo", "masquerade_envelope"):
        yield field, "yes"


@pytest.mark.parametrize("field,value", list(_relay_cases()),
                         ids=lambda v: repr(v)[:24])
def test_relayconfig_refuses_and_nothing_is_applied(field, value, howto_lab):
    from labenv.configure import apply_mc, read_mc
    from labenv.errors import ConfigError

    mc = read_mc(howto_lab)
    with pytest.raises(ConfigError) as caught:
        apply_mc(howto_lab, mc.with_config(mc.config().replace(**{field: value})).text)
    assert_one_line(caught.value, field)


# -- helpers: mailertable rows and AuthInfo fields --------------------------------------------
def _mailertable_cases():
    good = (".example.net", "esmtp", "[mailhost.private.lan]")
    for key, value in HOSTILE.items():
        if key != "dnl":  # `dnl` is a legal host name and key
            yield "mailertable key", (value, good[1], good[2])
            yield "mailertable host", (good[0], good[1], value)
        yield "mailertable mailer", (good[0], value, good[2])
    yield "mailertable host", (good[0], "esmtp", "[mailhost.private.lan")
    yield "mailertable key", ("a..b", "esmtp", good[2])


@pytest.mark.parametrize("field,row", list(_mailertable_cases()), ids=lambda v: repr(v)[:30])
def test_mailertable_row_refused_and_nothing_is_installed(field, row, howto_lab):
    from labenv.configure import install_mailertable
    from labenv.errors import ConfigError
    from labenv.sendmail.maps import mailertable_frame

    with pytest.raises(ConfigError) as caught:
        install_mailertable(howto_lab, mailertable_frame([row]))
    assert_one_line(caught.value, field)


def _authinfo_cases():
    base = {"server": "relayhost.somedom.com", "I": "user_name", "P": "password"}
    for key, value in HOSTILE.items():
        if key in ("overlong", "newline", "non-ascii", "spaces", "rm", "subst",
                   "backticks", "m4-quotes"):  # "" is legal: the default entry
            yield "server", {**base, "server": value}
        if key in ("empty", "overlong", "newline"):
            for name in ("I", "P"):
                yield name, {**base, name: value}
        if key in ("overlong", "newline"):
            for name in ("U", "R"):
                yield name, {**base, name: value}
    for mech in ("plain", "PLAIN  LOGIN", 'PLAIN"', "PLAIN;LOGIN", "PLAIN\nLOGIN", ""):
        yield "M", {**base, "M": mech}
    yield "P", {**base, "P": "pa\0ss"}
    yield "I", {**base, "I": 42}


@pytest.mark.parametrize("field,values", list(_authinfo_cases()), ids=lambda v: repr(v)[:30])
def test_authinfo_field_refused_and_nothing_is_installed(field, values, howto_lab):
    from labenv.configure import install_authinfo
    from labenv.errors import ConfigError
    from labenv.sendmail.maps import AuthInfo

    with pytest.raises(ConfigError) as caught:
        install_authinfo(howto_lab, [AuthInfo(**values)])
    line = assert_one_line(caught.value, "AuthInfo" if field != "server" else "server")
    assert "password" not in line or values.get("P") != "password"


# -- sendmail -bt addresses ---------------------------------------------------------------
BT_BAD = {k: v for k, v in HOSTILE.items() if k in ("empty", "overlong", "non-ascii", "newline")}
BT_BAD.update({"leading-space": " root", "nul": "ro\0ot", "cr": "a@b.c\r/quit",
               "trailing-newline": "root\n"})


@pytest.mark.parametrize("key", sorted(BT_BAD))
def test_bt_address_refused(key, howto_lab):
    from labenv.errors import ConfigError
    from labenv.testmode import lookup, route_table

    with pytest.raises(ConfigError) as caught:
        route_table(howto_lab, ["friend@example.com", BT_BAD[key]])
    assert_one_line(caught.value, "address")
    if key != "empty":
        with pytest.raises(ConfigError):
            lookup(howto_lab, "mailertable", BT_BAD[key])


def test_bt_odd_but_legal_addresses_are_data(howto_lab):
    from labenv.testmode import route_table

    odd = [f"$(touch {MARKER})@example.com", f"`touch {MARKER}`@example.com",
           "x; rm -rf /@example.com", "dnl@example.com"]
    table = route_table(howto_lab, odd)
    assert list(table["address"]) == odd
    assert set(table["host"]) == {"[relayhost.somedom.com]"}


# -- widgets (helpers.widgets) ----------------------------------------------------------


@pytest.mark.parametrize("knob,value", [("relay_port", p) for p in ("0", "65536", "25x", "２５")]
                         + [(k, v) for k in ("smart_host", "masquerade_as", "auth_mechanisms")
                            for v in HOSTILE.values() if v]
                         + [("masquerade_as", "x.divnum")], ids=lambda v: repr(v)[:24])
def test_mc_editor_refuses_in_one_line(knob, value, howto_lab):
    from helpers.widgets import McEditor

    editor = McEditor(howto_lab).set(**{knob: value})
    outcome = editor.apply()
    assert not outcome.ok and not outcome.applied
    one_line_error(outcome.error)
    assert "nothing was applied" in str(editor.result())


@pytest.mark.parametrize("row", [(v, "esmtp", "[mailhost.private.lan]") for k, v in HOSTILE.items()
                                 if k not in ("dnl", "newline")]
                         + [(".x.lan", "evil", "[mailhost.private.lan]"),
                            (".x.lan", "esmtp", "[a b]")], ids=lambda v: repr(v)[:30])
def test_mailertable_editor_refuses_in_one_line(row, howto_lab):
    from helpers.widgets import MailertableEditor

    editor = MailertableEditor(howto_lab, rows=[row], compare_model=False)
    outcome = editor.apply()
    assert not outcome.ok
    one_line_error(outcome.error)


@pytest.mark.parametrize("values", [{"I": "", "P": "x"}, {"I": "a\nb", "P": "x"},
                                    {"I": "user_name", "P": ""},
                                    {"I": "user_name", "P": "x", "M": "plain"},
                                    {"server": "relay host", "I": "user_name", "P": "x"},
                                    {"server": "$(touch /tmp/rb-pwned)", "I": "u", "P": "x"}],
                         ids=lambda v: repr(v)[:30])
def test_authinfo_editor_refuses_in_one_line_without_showing_password(values, howto_lab):
    from helpers.widgets import AuthInfoEditor

    editor = AuthInfoEditor(howto_lab).set(**values)
    outcome = editor.apply()
    assert not outcome.ok
    one_line_error(outcome.error)
    assert "password" not in str(editor.result())


@pytest.mark.parametrize("text", ["", " ", "a" * 300 + "@example.com", "ü@example.com",
                                  "ro\0ot"], ids=repr)
def test_address_tester_refuses_in_one_line(text, howto_lab):
    from helpers.widgets import AddressTester

    tester = AddressTester(howto_lab).set([text])
    assert tester.routes() is None
    one_line_error(str(tester.result()))
