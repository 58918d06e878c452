"""mailertable and authinfo tables: round trips, validation, masking, base64."""
import base64

import pandas as pd
import pytest

from labenv.errors import ConfigError
from labenv.sendmail.maps import (
    MASK,
    AuthInfo,
    authinfo_frame,
    authinfo_from_frame,
    mailertable_frame,
    parse_authinfo,
    parse_mailertable,
    render_authinfo,
    render_mailertable,
)

HOWTO_MT = [(".darknet.lan", "esmtp", "[mailhost.private.lan]"), (".lan", "esmtp", "[%1.lan]"),
            (".", "relay", "[relayhost.somedom.com]")]


def test_mailertable_round_trip():
    text = render_mailertable(mailertable_frame(HOWTO_MT))
    assert text.splitlines()[1] == ".lan          esmtp:[%1.lan]"
    assert parse_mailertable(text).equals(mailertable_frame(HOWTO_MT))
    assert render_mailertable(parse_mailertable(text)) == text


def test_mailertable_parse_skips_comments():
    frame = parse_mailertable("# routes\n\n.lan esmtp:[%1.lan]\n")
    assert frame.to_dict("records") == [{"key": ".lan", "mailer": "esmtp", "host": "[%1.lan]"}]


@pytest.mark.parametrize("row", [
    ("..lan", "esmtp", "x"), ("a b", "esmtp", "x"), ("", "esmtp", "x"), (".lan", "exim", "x"),
    (".lan", "esmtp", ""), (".lan", "esmtp", "[x"), (".lan", "esmtp", "a b"),
    (".lan", "esmtp", "x\n. relay:y"), ("h.lan", "error", "5.1.1:"),
])
def test_mailertable_refuses(row):
    with pytest.raises(ConfigError) as exc:
        mailertable_frame([row])
    assert "\n" not in str(exc.value) and str(exc.value).startswith("mailertable ")


def test_mailertable_allows_error_local_and_user():
    frame = mailertable_frame([("bad.lan", "error", "5.7.1:550 go away"), ("loc.lan", "local", ""),
                               ("lit.lan", "dsmtp", "bob@[10.0.0.9]")])
    assert len(frame) == 3


def test_mailertable_duplicate_keys():
    with pytest.raises(ConfigError, match="twice"):
        mailertable_frame([(".lan", "esmtp", "a"), (".LAN", "esmtp", "b")])


def test_mailertable_bad_line():
    with pytest.raises(ConfigError, match="line 1"):
        parse_mailertable("onlykey\n")


HOWTO_AUTH = AuthInfo("relayhost.somedom.com", U="root", I="user_name", P="password")


def test_authinfo_howto_line():
    assert render_authinfo([HOWTO_AUTH]) == (
        'AuthInfo:relayhost.somedom.com "U:root" "I:user_name" "P:password"\n')


def test_password_masked_everywhere():
    assert "password" not in repr(HOWTO_AUTH) and "password" not in str(HOWTO_AUTH)
    assert MASK in repr(HOWTO_AUTH)
    frame = authinfo_frame([HOWTO_AUTH])
    assert "password" not in frame.to_string() and "password" not in frame.to_html()
    assert frame.loc[0, "P"] == MASK


def test_authinfo_round_trip_and_base64():
    tricky = AuthInfo("relayhost.somedom.com", I="user_name", P='pa"ss wörd\\', M="PLAIN LOGIN")
    text = render_authinfo([tricky, HOWTO_AUTH])
    encoded = base64.b64encode('pa"ss wörd\\'.encode()).decode()
    assert f'"P={encoded}"' in text and '"M:PLAIN LOGIN"' in text
    assert parse_authinfo(text) == [tricky, HOWTO_AUTH]


def test_authinfo_spaces_stay_plain():
    text = render_authinfo([AuthInfo("", I="u", P="pass word")])
    assert text == 'AuthInfo: "I:u" "P:pass word"\n'


def test_authinfo_from_frame():
    frame = pd.DataFrame([{"server": "relayhost.somedom.com", "U": None, "I": "user_name",
                           "P": "password", "R": None, "M": "PLAIN LOGIN"}])
    assert authinfo_from_frame(frame) == [AuthInfo("relayhost.somedom.com", I="user_name",
                                                   P="password", M="PLAIN LOGIN")]


@pytest.mark.parametrize("kwargs, field", [
    ({"P": ""}, "AuthInfo P"), ({"P": "a\0b"}, "AuthInfo P"), ({"I": "a\nb"}, "AuthInfo I"),
    ({"M": "PLAIN,LOGIN"}, "AuthInfo M"), ({"server": "bad host"}, "AuthInfo server"),
])
def test_authinfo_refuses(kwargs, field):
    values = {"server": "relayhost.somedom.com", "I": "user_name", "P": "password"} | kwargs
    with pytest.raises(ConfigError) as exc:
        AuthInfo(**values)
    assert str(exc.value).startswith(field + ":") and "\n" not in str(exc.value)
    assert "password" not in str(exc.value)


@pytest.mark.parametrize("line, reason", [
    ('AuthInfo:x I:user_name P:password', "not in double quotes"),
    ('Auth:x "I:u" "P:p"', "must start with"),
    ('AuthInfo:x "I:u"', "needs at least I and P"),
    ('AuthInfo:x "I:u" "P=!!"', "not valid base64"),
    ('AuthInfo:x "I:u" "X:p"', "not U/I/P/R/M"),
])
def test_authinfo_parse_refuses(line, reason):
    with pytest.raises(ConfigError, match=reason):
        parse_authinfo(line + "\n")
