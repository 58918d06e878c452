"""The live layer (labenv.configure, labenv.testmode) and the pure routing model against real sendmail."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labenv import testmode
from labenv.configure import (
    apply_mc,
    auth_permission_problems,
    install_authinfo,
    install_mailertable,
    read_mc,
    set_knobs,
)
from labenv.errors import Refused
from labenv.sendmail.maps import AuthInfo, mailertable_frame
from labenv.sendmail.paths import MC
from labenv.sendmail.routing import route
from labenv.topology import canonical_names

pytestmark = pytest.mark.integration

LABELS = st.sampled_from(["lan", "private", "darknet", "hosta", "somedom", "com", "mailhost", "x1"])
HOSTS = st.lists(LABELS, min_size=1, max_size=4).map(".".join)
KEYS = st.one_of(st.just("."), HOSTS, HOSTS.map(lambda h: "." + h))
VALUES = st.tuples(st.sampled_from(["esmtp", "relay", "smtp", "dsmtp"]),
                   st.sampled_from(["[mailhost.private.lan]", "[%1.lan]", "relayhost.somedom.com",
                                    "x%2.%1", "bob@[10.0.0.9]"]))


def _cat(lab, path):
    return lab.exec("mailserver", ["cat", path]).stdout


def test_broken_mc_is_rolled_back(lab):
    before_mc, before_cf = _cat(lab, MC), _cat(lab, "/etc/mail/sendmail.cf")
    broken = before_mc + "FEATURE(`mailertable')dnl\n"       # FEATURE after MAILER()
    with pytest.raises(Refused, match="m4 reported errors") as refused:
        apply_mc(lab, broken)
    assert any("FEATURE() should be before MAILER()" in line for line in refused.value.errors)
    assert _cat(lab, MC) == before_mc
    assert _cat(lab, "/etc/mail/sendmail.cf") == before_cf


def test_relay_port_changes_only_relay(lab):
    set_knobs(lab, relay_port=587, relay_mailer="esmtp")
    lines = testmode.mailer_lines(lab)
    assert lines["relay"].endswith("A=TCP $h 587") and lines["esmtp"].endswith("A=TCP $h")


def test_authinfo_permissions(lab):
    install_authinfo(lab, [AuthInfo("relayhost.somedom.com", I="user_name", P="password",
                                    M="PLAIN LOGIN")])
    assert auth_permission_problems(lab) == []
    lab.exec("mailserver", ["chmod", "755", "/etc/mail/auth"]).check()
    assert any("should be 700" in p for p in auth_permission_problems(lab))
    lab.exec("mailserver", ["chmod", "700", "/etc/mail/auth"]).check()


@pytest.fixture(scope="module")
def with_mailertable(lab):
    if not read_mc(lab).config().mailertable:
        set_knobs(lab, mailertable=True)
    return lab


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.dictionaries(KEYS, VALUES, min_size=1, max_size=5),
       hosts=st.lists(HOSTS, min_size=1, max_size=6))
def test_model_matches_real_parse(with_mailertable, table, hosts):
    lab = with_mailertable
    frame = mailertable_frame([(k, m, h) for k, (m, h) in table.items()])
    install_mailertable(lab, frame)
    addresses = [f"user@{h}" for h in hosts]
    real = testmode.route_table(lab, addresses)
    local = testmode.class_members(lab, "w")
    for row in real.itertuples():
        model = route(row.address, frame, local_names=local, canonical=canonical_names())
        assert (row.mailer, row.host, row.user, row.key) == (
            model.mailer, model.host, model.user, model.key), row.address
