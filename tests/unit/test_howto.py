"""The howto's configuration as files: where its block goes, and where the two variants differ."""

from __future__ import annotations

import pytest

from labenv.errors import ConfigError
from labenv.sendmail import howto
from labenv.sendmail.mc import BLOCK_BEGIN, BLOCK_END
from labenv.sendmail.paths import AUTHINFO, MC
from tests.support import FIXTURES

DEBIAN_MC = (FIXTURES / "sendmail.mc--default-bookworm").read_text()


@pytest.mark.parametrize("variant", howto.VARIANTS)
def test_howto_block_sits_above_mailer_definitions(variant):
    files = howto.files(variant, DEBIAN_MC)
    lines = files[MC].splitlines()
    begin, end = lines.index(BLOCK_BEGIN.strip()), lines.index(BLOCK_END.strip())
    assert begin < end < lines.index("MAILER_DEFINITIONS") < lines.index("MAILER(`smtp')dnl")
    assert "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl" in lines[begin:end]
    # applying twice gives the same file
    assert howto.files(variant, files[MC])[MC] == files[MC]


def test_the_literal_block_is_section_3_1_of_the_howto():
    assert howto.mc_lines("literal") == [
        "include(`/etc/mail/tls/starttls.m4')dnl",
        "define(`RELAY_MAILER',`esmtp')dnl",
        "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl",
        "FEATURE(`mailertable')dnl",
        "MASQUERADE_AS(`somedom.com')dnl",
        "FEATURE(`masquerade_envelope')dnl",
        "FEATURE(`authinfo',`hash /etc/mail/auth/client-info.db')dnl",
    ]


def test_howto_variants_differ_where_current_debian_needs_it():
    fixed = howto.files("fixed", DEBIAN_MC)[AUTHINFO]
    literal = howto.files("literal", DEBIAN_MC)[AUTHINFO]
    assert '"M:PLAIN LOGIN"' in fixed and '"U:root"' not in fixed
    assert '"M:' not in literal and '"U:root"' in literal
    assert "`RELAY_MAILER'" in howto.files("literal", DEBIAN_MC)[MC]
    assert "`RELAY_MAILER'" not in howto.files("fixed", DEBIAN_MC)[MC]


def test_howto_refuses_a_file_that_is_not_a_debian_mc():
    with pytest.raises(ConfigError, match="no MAILER_DEFINITIONS"):
        howto.files("fixed", "divert(-1)\n")


def test_the_howtos_mailertable_routes_lan_hosts_directly_and_the_rest_to_the_provider():
    assert howto.mailertable_text().split() == [
        ".darknet.lan", "esmtp:[mailhost.private.lan]", ".lan", "esmtp:[%1.lan]",
        ".", "relay:[relayhost.somedom.com]"]


def test_an_unknown_variant_is_one_line():
    with pytest.raises(ConfigError, match="unknown variant 'best'"):
        howto.files("best", DEBIAN_MC)
