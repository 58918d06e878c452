"""Hostile values are refused with one clear line naming the field."""
import pytest

from labenv.errors import ConfigError
from labenv.sendmail.mc import RelayConfig, check_smart_host
from labenv.sendmail.validate import (
    check_address,
    check_domain,
    check_hostname,
    check_m4_safe,
    check_mailer,
    check_port,
)


def one_line(exc: pytest.ExceptionInfo, field: str) -> str:
    text = str(exc.value)
    assert "\n" not in text and text.startswith(f"{field}: ")
    return text


@pytest.mark.parametrize("value", [0, 65536, -1, "25x", "", " 25", "2 5", 25.0, True, None, "٣"])
def test_bad_ports(value):
    with pytest.raises(ConfigError) as exc:
        check_port("port", value)
    one_line(exc, "port")


@pytest.mark.parametrize("value, expected", [(1, 1), (587, 587), ("587", 587), (65535, 65535)])
def test_good_ports(value, expected):
    assert check_port("port", value) == expected


@pytest.mark.parametrize("value", [
    "", "a" * 300, "host name.lan", "bad_host.lan", "-lead.lan", "trail-.lan", "a..b", ".lan",
    "lan.", "hé.lan", "x`y", "x'y", "x\ny", "x\0y", "x;rm -rf /", "$(id)", "a|b", "[x", "x]",
    "l" * 64 + ".lan",
])
def test_bad_hostnames(value):
    with pytest.raises(ConfigError) as exc:
        check_hostname("host", value, brackets=True)
    one_line(exc, "host")


def test_brackets_only_when_allowed():
    assert check_hostname("host", "[relayhost.somedom.com]", brackets=True)
    assert check_hostname("host", "[10.0.0.1]", brackets=True, ip_literal=True)
    with pytest.raises(ConfigError, match="square brackets"):
        check_hostname("host", "[relayhost.somedom.com]")


@pytest.mark.parametrize("value", ["`", "'", ",", "(", ")", "dnl", "xDNLy", "a\nb", "\0", "é", "#"])
def test_m4_hazards(value):
    with pytest.raises(ConfigError) as exc:
        check_m4_safe("auth_mechanisms", f"PLAIN{value}")
    one_line(exc, "auth_mechanisms")


@pytest.mark.parametrize("value", ["exim", "ESMTP", "", "esmtp\n", "error"])
def test_unknown_mailers(value):
    with pytest.raises(ConfigError) as exc:
        check_mailer("mailer", value)
    one_line(exc, "mailer")


def test_error_mailer_only_where_allowed():
    assert check_mailer("m", "error", allow_error=True) == "error"


@pytest.mark.parametrize("value", ["a@b\n/parse c@d", "a@b\r", "", " a@b", "a\0b", "ä@b"])
def test_bad_addresses(value):
    with pytest.raises(ConfigError) as exc:
        check_address("address", value)
    one_line(exc, "address")


@pytest.mark.parametrize("changes, field", [
    ({"relay_port": 0}, "relay_port"), ({"relay_port": "25x"}, "relay_port"),
    ({"relay_mailer": "exim"}, "relay_mailer"), ({"smart_host": "esmtp:bad host"}, "smart_host"),
    ({"smart_host": "relay:[x')dnl"}, "smart_host"), ({"smart_host": "exim:[x]"}, "smart_host"),
    ({"masquerade_as": "somedom.com')dnl\nFEATURE(`nullclient"}, "masquerade_as"),
    ({"auth_mechanisms": "PLAIN,LOGIN"}, "auth_mechanisms"),
    ({"auth_mechanisms": "plain"}, "auth_mechanisms"), ({"mailertable": "yes"}, "mailertable"),
])
def test_relay_config_refuses(changes, field):
    with pytest.raises(ConfigError) as exc:
        RelayConfig(**changes)
    one_line(exc, field)


def test_smart_host_forms():
    for value in ["relay:[relayhost.somedom.com]", "esmtp:mailhost.somedom.com", "[10.1.2.3]",
                  "mailhost"]:
        assert check_smart_host(value) == value


def test_domain():
    assert check_domain("masquerade_as", "somedom.com") == "somedom.com"
