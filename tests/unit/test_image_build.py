"""The image machinery without Docker: what the base image strips, and which layers ship."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

from labenv import build


def test_the_slim_rules_are_dpkgs():
    rules = build.slim_rules()
    assert (False, "/usr/share/doc/*") in rules and (True, "/usr/share/doc/*/copyright") in rules
    assert not build._kept("/usr/share/doc/sendmail/changelog.gz", rules)
    assert build._kept("/usr/share/doc/sendmail/copyright", rules)         # licences stay
    assert not build._kept("/usr/share/man/man8/sendmail.8.gz", rules)
    assert not build._kept("/usr/share/locale/de/LC_MESSAGES/dpkg.mo", rules)
    assert build._kept("/usr/share/sendmail/cf/m4/cfhead.m4", rules)       # lessons grep these
    assert build._kept("/usr/lib/x86_64-linux-gnu/sasl2/libplain.so.2", rules)
    assert build._kept("/usr/share/zoneinfo/Etc/UTC", rules)


def test_slim_rootfs_strips_files_and_keeps_what_is_read(tmp_path):
    files = {
        "usr/share/doc/bash/copyright": b"licence",
        "usr/share/doc/bash/changelog.gz": b"x" * 100,
        "usr/share/doc/bash/examples/x.sh": b"echo",
        "usr/share/man/man1/bash.1.gz": b"man",
        "usr/share/locale/de/LC_MESSAGES/bash.mo": b"mo",
        "usr/share/sendmail/cf/m4/cfhead.m4": b"changecom",
        "var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease": b"lists",
        "var/cache/apt/pkgcache.bin": b"cache",
        "var/cache/apt/archives/libsasl2-modules_2.1.28_amd64.deb": b"deb",
        "var/lib/dpkg/info/bash.list": b"/usr/share/doc/bash/changelog.gz\n",
    }
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    (tmp_path / "var/lib/apt/lists/partial").mkdir()
    freed = build.slim_rootfs(tmp_path)
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["usr/share/doc/bash/copyright", "usr/share/sendmail/cf/m4/cfhead.m4",
                    "var/lib/dpkg/info/bash.list"]                      # dpkg's record untouched
    assert freed == sum(len(d) for n, d in files.items() if n not in left)
    assert not (tmp_path / "usr/share/doc/bash/examples").exists()
    assert (tmp_path / "usr/share/man").is_dir() and (tmp_path / "var/lib/apt/lists/partial").is_dir()


def test_a_lab_image_is_rebuilt_when_its_base_changes(tmp_path, monkeypatch):
    import shutil

    for name in ("base", "router"):
        shutil.copytree(build.HERE / name, tmp_path / name)
    monkeypatch.setattr(build, "HERE", tmp_path)
    router, base = build.tag_for("router", "bookworm"), build.tag_for("base", "bookworm")
    (tmp_path / "base" / "dpkg-slim").write_text("path-exclude /usr/share/doc/*\n")
    assert build.tag_for("base", "bookworm") != base
    assert build.tag_for("router", "bookworm") != router


def test_only_layers_whose_whole_chain_is_there_are_skipped():
    chains = {("sha256:a",), ("sha256:a", "sha256:b")}
    images = [["sha256:a", "sha256:b", "sha256:c"], ["sha256:a", "sha256:e", "sha256:b"]]
    # b sits on a in the first image (there), on e in the second (not there): b is sent
    assert build._skippable(images, chains) == {"a"}
    assert build._skippable(images, set()) == set()


def _saved(layers: dict[str, bytes]) -> bytes:
    """A `docker save` archive in the layout of Docker before 25: <id>/layer.tar."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add(name, data):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for directory, data in layers.items():
            add(f"{directory}/VERSION", b"1.0")
            add(f"{directory}/layer.tar", data)
        add("manifest.json", json.dumps([{"Layers": [f"{d}/layer.tar" for d in layers]}]).encode())
    return buf.getvalue()


def test_the_archive_leaves_out_the_layers_the_target_has():
    base, top = b"base layer " * 1000, b"top layer"
    sent = {"layers_sent": 0, "layers_skipped": 0, "bytes": 0, "bytes_skipped": 0}
    skip = {hashlib.sha256(base).hexdigest()}
    out = b"".join(build._without_layers(io.BytesIO(_saved({"l1": base, "l2": top})), skip, sent))
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        names = tar.getnames()
        assert tar.extractfile("l2/layer.tar").read() == top
    assert names == ["l1/VERSION", "l2/VERSION", "l2/layer.tar", "manifest.json"]
    assert sent["layers_sent"] == 1 and sent["layers_skipped"] == 1 and sent["bytes_skipped"] == len(base)


def test_the_reader_gives_back_the_chunks_in_order():
    reader = io.BufferedReader(build._Reader([b"ab", b"", b"cde", b"f"]), 4)
    assert reader.read(3) == b"abc" and reader.read() == b"def"
