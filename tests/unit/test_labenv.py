"""labenv without Docker: lab names, image hashes, what the lab's DNS knows."""

from __future__ import annotations

import shutil

import pytest

from labenv import build
from labenv.errors import LabError
from labenv.lab import check_name
from labenv.topology import ROLES, canonical_names


@pytest.mark.parametrize("name", ["default", "nb02", "alice-nb", "a_1"])
def test_good_lab_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "Bad", "-x", "a b", "a;b", "x" * 31, "ü", "a/b", "$(id)"])
def test_bad_lab_names_are_one_line(name):
    with pytest.raises(LabError) as info:
        check_name(name)
    assert "\n" not in str(info.value) and "is not valid" in str(info.value)


def test_image_tag_follows_the_folder(tmp_path, monkeypatch):
    shutil.copytree(build.HERE / "router", tmp_path / "router")
    monkeypatch.setattr(build, "HERE", tmp_path)
    first = build.tag_for("router", "bookworm")
    assert first == build.tag_for("router", "bookworm")          # stable
    assert first != build.tag_for("router", "trixie")            # per suite
    (tmp_path / "router" / "isp-block").write_text("#!/bin/sh\necho changed\n")
    assert build.tag_for("router", "bookworm") != first           # rebuilt when changed
    assert build.tag_for("router", "bookworm").startswith("labenv/router:bookworm-")


def test_unknown_suite_is_refused():
    with pytest.raises(LabError, match="unknown Debian suite 'jessie'"):
        build.check_suite("jessie")


def test_dns_knowledge_covers_every_role():
    names = canonical_names()
    for role in ROLES.values():
        assert names[role.hostname] == role.hostname
    assert names["hosta"] == "hosta.private.lan" and names["somedom.com"] == "somedom.com"
