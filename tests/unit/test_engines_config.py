"""LABENV_ENGINES and the pool's settings, read without an engine: what is taken, what is refused."""

from __future__ import annotations

import pytest

from labenv import cli, engines, pool
from labenv.errors import LabError


def test_engines_are_name_url_pairs_in_order():
    found = engines.parse("a=tcp://10.0.5.11:2376  b=unix:///run/labenv-b/docker.sock,c=tcp://[::1]:2377")
    assert [(e.name, e.url) for e in found] == [("a", "tcp://10.0.5.11:2376"),
                                                ("b", "unix:///run/labenv-b/docker.sock"),
                                                ("c", "tcp://[::1]:2377")]


def test_without_labenv_engines_there_is_one_engine_the_default(monkeypatch):
    monkeypatch.delenv("LABENV_ENGINES", raising=False)
    assert engines.configured() == [engines.Engine("local", "")]
    assert not engines.several()


@pytest.mark.parametrize("text, says", [
    ("tcp://10.0.5.11:2376", "is not NAME=URL"),
    ("A=tcp://h:2376", "is not NAME=URL"),
    ("a=http://h:2376", "is not unix:///PATH or tcp://HOST:PORT"),
    ("a=tcp://h", "is not unix:///PATH or tcp://HOST:PORT"),
    ("a=tcp://h:2376;rm", "is not unix:///PATH or tcp://HOST:PORT"),
    ("a=tcp://h:1 a=tcp://h:2", "given twice"),
    (" , ", "names no engine"),
])
def test_a_bad_engine_list_is_refused_in_one_line(text, says):
    with pytest.raises(LabError) as caught:
        engines.parse(text)
    assert says in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("argv", [["labs"], ["pool", "status"], ["clean", "--all"], ["status", "--lab", "x"]])
def test_the_cli_says_so_before_it_asks_any_engine(argv, monkeypatch, capsys):
    monkeypatch.setenv("LABENV_ENGINES", "a=ftp://nowhere")
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "LABENV_ENGINES" in err, err


def test_an_engine_that_does_not_answer_says_which_and_what_to_do(tmp_path):
    gone = engines.Engine("b", f"unix://{tmp_path}/no.sock")
    assert not gone.answers()
    with pytest.raises(LabError) as caught:
        gone.client()
    message = str(caught.value)
    assert message.startswith(f"engine b (unix://{tmp_path}/no.sock) does not answer")
    assert "start_lab(...)" in message and "\n" not in message


@pytest.mark.parametrize("name, value, says", [
    ("LABENV_POOL", "Has Spaces", "is not a pool name"),
    ("LABENV_POOL", "-x", "is not a pool name"),
    ("LABENV_POOL_CAP", "501", "LABENV_POOL_CAP must be a whole number from 0 to 500"),
    ("LABENV_POOL_MAX_AGE", "0", "LABENV_POOL_MAX_AGE must be"),
    ("LABENV_POOL_BATCH", "many", "LABENV_POOL_BATCH must be"),
])
def test_bad_pool_settings_are_one_line(name, value, says, monkeypatch):
    monkeypatch.setenv(name, value)
    with pytest.raises(LabError) as caught:
        pool.settings() if name != "LABENV_POOL_BATCH" else pool.batch()
    assert says in str(caught.value)


def test_a_spares_images_are_one_label_that_changes_with_any_image():
    tags = {"mailserver": "labenv/mailserver:bookworm-1", "relayhost": "labenv/relayhost:bookworm-2",
            "router": "labenv/router:bookworm-3"}
    assert pool.images_key(tags) == pool.images_key(dict(reversed(list(tags.items()))))
    assert pool.images_key(tags) != pool.images_key({**tags, "router": "labenv/router:bookworm-4"})
