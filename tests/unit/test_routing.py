"""The mailertable model on the howto's table; expected values are real /parse results
(sendmail 8.17.1.9, bookworm), see tests/fixtures/bt--parse-howto.out."""
import pytest

from labenv.sendmail.maps import mailertable_frame
from labenv.sendmail.routing import Route, candidate_keys, expand, route, route_frame, split_address

HOWTO = {".darknet.lan": "esmtp:[mailhost.private.lan]", ".lan": "esmtp:[%1.lan]",
         ".": "relay:[relayhost.somedom.com]"}
LOCAL = ["mailserver", "mailserver.private.lan", "localhost", "[127.0.0.1]"]


@pytest.mark.parametrize("address, mailer, host, user, key", [
    ("foo@somedom.com", "relay", "[relayhost.somedom.com]", "foo@somedom.com", "."),
    ("x@hosta.private.lan", "esmtp", "[hosta.private.lan]", "x@hosta.private.lan", ".lan"),
    ("x@darknet.lan", "esmtp", "[darknet.lan]", "x@darknet.lan", ".lan"),
    ("x@foo.darknet.lan", "esmtp", "[mailhost.private.lan]", "x@foo.darknet.lan", ".darknet.lan"),
    ("x@darknet", "relay", "[relayhost.somedom.com]", "x@darknet", "."),
    ("root", "local", None, "root", None),
    ("root@mailserver.private.lan", "local", None, "root", None),
    ("root@MailServer.Private.LAN", "local", None, "root", None),
    ("x@[1.2.3.4]", "esmtp", "[1.2.3.4]", "x@[1.2.3.4]", None),
    ("x@HOSTA.Private.LAN", "esmtp", "[hosta.private.lan]", "x@HOSTA.Private.LAN", ".lan"),
    ("x@foo.somedom.com.", "relay", "[relayhost.somedom.com]", "x@foo.somedom.com", "."),
    ("Joe <x@somedom.com>", "relay", "[relayhost.somedom.com]", "x@somedom.com", "."),
])
def test_howto_table(address, mailer, host, user, key):
    assert route(address, HOWTO, local_names=LOCAL) == Route(address, mailer, host, user, key)


def test_dataframe_table_gives_same_routes():
    frame = mailertable_frame([(k, *v.split(":", 1)) for k, v in HOWTO.items()])
    assert route("x@hosta.private.lan", frame) == route("x@hosta.private.lan", HOWTO)


def test_no_table_is_debian_default():
    assert route("foo@somedom.com") == Route("foo@somedom.com", "esmtp", "somedom.com",
                                             "foo@somedom.com")


def test_smart_host_when_nothing_matches():
    assert route("foo@somedom.com", smart_host="[relayhost.somedom.com]").mailer == "relay"
    assert route("foo@somedom.com", smart_host="esmtp:[relayhost.somedom.com]").mailer == "esmtp"
    lit = route("x@[1.2.3.4]", HOWTO, smart_host="relay:[r.example]")
    assert (lit.mailer, lit.host, lit.key) == ("relay", "[r.example]", None)


def test_full_host_key_beats_domain_and_percent_args():
    table = {"exact.example.org": "smtp:%0-%1-%2", ".deep.example.org": "smtp8:x%2y.%1",
             ".example.org": "relay:[never]"}
    assert route("x@exact.example.org", table).host == "exact.example.org--"
    assert route("x@a.b.deep.example.org", table).host == "xby.a.b"


def test_error_local_and_literal_user():
    table = {"bad.lan": "error:5.7.1:550 go away", "bad2.lan": "error:nouser no such",
             "loc.lan": "local:alice", "loc2.lan": "local:", "lit.lan": "dsmtp:bob@[10.0.0.9]"}
    bad = route("x@bad.lan", table)
    assert (bad.mailer, bad.host, bad.user) == ("*error*", "5.7.1", "550 go away")
    assert route("x@bad2.lan", table).host is None
    assert (route("x@loc.lan", table).host, route("x@loc.lan", table).user) == ("x@loc.lan", "alice")
    assert route("x@loc2.lan", table).user == "x"
    assert (route("x@lit.lan", table).host, route("x@lit.lan", table).user) == (
        "[10.0.0.9]", "bob@[10.0.0.9]")


def test_candidate_keys_order():
    assert candidate_keys("hosta.private.lan") == [
        ("hosta.private.lan", "", ""), (".private.lan", "hosta", "hosta"),
        (".lan", "hosta.private", "private"), (".", "hosta.private.lan", "")]


def test_expand():
    assert expand("esmtp:[%1.lan]", ".lan", "hosta.private", "private") == "esmtp:[hosta.private.lan]"
    assert expand("x%9y", "k", "", "") == "xy"


def test_split_address():
    assert split_address("a@b.c.") == ("a", "b.c")
    assert split_address("<a@b>") == ("a", "b")
    assert split_address("root") == ("root", None)


def test_route_frame_columns():
    frame = route_frame(["foo@somedom.com", "root"], HOWTO)
    assert list(frame.columns) == ["address", "mailer", "host", "user", "key"]
    assert frame["mailer"].tolist() == ["relay", "local"]
