"""labenv without Docker: names, image hashes, the howto's files, CLI usage errors."""

from __future__ import annotations

import shutil

import pytest

from labenv import cli, howto, images
from labenv.errors import LabError
from labenv.lab import check_name
from labenv.topology import ROLES, canonical_names

DEBIAN_MC = open("tests/fixtures/sendmail.mc--default-bookworm").read()


@pytest.mark.parametrize("name", ["default", "nb02", "alice-nb", "a_1"])
def test_good_lab_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "Bad", "-x", "a b", "a;b", "x" * 31, "ü", "a/b", "$(id)"])
def test_bad_lab_names_are_one_line(name):
    with pytest.raises(LabError) as info:
        check_name(name)
    assert "\n" not in str(info.value) and "is not valid" in str(info.value)


def test_image_tag_follows_the_folder(tmp_path, monkeypatch):
    shutil.copytree(images.HERE / "router", tmp_path / "router")
    monkeypatch.setattr(images, "HERE", tmp_path)
    first = images.tag_for("router", "bookworm")
    assert first == images.tag_for("router", "bookworm")          # stable
    assert first != images.tag_for("router", "trixie")            # per suite
    (tmp_path / "router" / "isp-block").write_text("#!/bin/sh\necho changed\n")
    assert images.tag_for("router", "bookworm") != first           # rebuilt when changed
    assert images.tag_for("router", "bookworm").startswith("labenv/router:bookworm-")


def test_unknown_suite_is_refused():
    with pytest.raises(LabError, match="unknown Debian suite 'jessie'"):
        images.check_suite("jessie")


@pytest.mark.parametrize("variant", howto.VARIANTS)
def test_howto_block_sits_above_mailer_definitions(variant):
    files = howto.files(variant, DEBIAN_MC)
    lines = files[howto.MC].splitlines()
    begin, end = lines.index(howto.BLOCK_BEGIN.strip()), lines.index(howto.BLOCK_END.strip())
    assert begin < end < lines.index("MAILER_DEFINITIONS") < lines.index("MAILER(`smtp')dnl")
    assert "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl" in lines[begin:end]
    # applying twice gives the same file
    assert howto.files(variant, files[howto.MC])[howto.MC] == files[howto.MC]


def test_the_literal_block_is_section_3_1_of_the_howto():
    assert howto.MC_LINES["literal"] == [
        "include(`/etc/mail/tls/starttls.m4')dnl",
        "define(`RELAY_MAILER',`esmtp')dnl",
        "define(`RELAY_MAILER_ARGS',`TCP $h 587')dnl",
        "FEATURE(`mailertable')dnl",
        "MASQUERADE_AS(`somedom.com')dnl",
        "FEATURE(`masquerade_envelope')dnl",
        "FEATURE(`authinfo',`hash /etc/mail/auth/client-info.db')dnl",
    ]


def test_howto_variants_differ_where_current_debian_needs_it():
    fixed = howto.files("fixed", DEBIAN_MC)[howto.CLIENT_INFO]
    literal = howto.files("literal", DEBIAN_MC)[howto.CLIENT_INFO]
    assert '"M:PLAIN LOGIN"' in fixed and '"U:root"' not in fixed
    assert '"M:' not in literal and '"U:root"' in literal
    assert "`RELAY_MAILER'" in howto.files("literal", DEBIAN_MC)[howto.MC]
    assert "`RELAY_MAILER'" not in howto.files("fixed", DEBIAN_MC)[howto.MC]


def test_howto_refuses_a_file_that_is_not_a_debian_mc():
    with pytest.raises(LabError, match="no MAILER_DEFINITIONS"):
        howto.files("fixed", "divert(-1)\n")


def test_dns_knowledge_covers_every_role():
    names = canonical_names()
    for role in ROLES.values():
        assert names[role.hostname] == role.hostname
    assert names["hosta"] == "hosta.private.lan" and names["somedom.com"] == "somedom.com"


@pytest.mark.parametrize("argv, message", [
    ([], "the following arguments are required: verb"),
    (["up", "--debian", "jessie"], "invalid choice: 'jessie'"),
    (["exec", "nosuchrole", "--", "true"], "invalid choice: 'nosuchrole'"),
    (["bt"], "the following arguments are required: addresses"),
    (["send", "--to", "a@b"], "the following arguments are required: --from"),
    (["status", "--lab", "UPPER"], "is not valid"),
    (["apply", "everything"], "invalid choice: 'everything'"),
])
def test_usage_errors_exit_2_with_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


@pytest.mark.parametrize("address", ["a@b;rm -rf /", "x\n/try esmtp y", "", "a b@c", "$(id)@x", "a@b`c`"])
def test_hostile_addresses_are_refused_before_any_lab_is_touched(address, capsys):
    assert cli.main(["bt", "--lab", "nosuchlab", address]) == 2
    assert "is not a mail address" in capsys.readouterr().err


def test_table_lines_up_columns():
    text = cli.table([{"a": "x", "b": None}, {"a": "longer", "b": 2}], ["a", "b"])
    assert text.splitlines() == ["A       B", "x       -", "longer  2"]
