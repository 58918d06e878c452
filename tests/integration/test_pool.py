"""Hot-start: spare labs claimed by Lab.up / start_lab / `labenv up`, and what a learner then sees.

Every test here uses a pool of its own name (LABENV_POOL), so the other modules'
labs, on the same engine at the same time, never claim these spares.
"""

from __future__ import annotations

import os
import re
import threading
import time

import pytest

from helpers.exercises import EXERCISES
from labenv import Lab, engine, engines, mail, pool
from labenv.testmode import route_table
from tests.support import cli, config_state, one_line_error, wait_until

pytestmark = pytest.mark.integration
PREFIX = f"hp{os.getpid()}"


@pytest.fixture(autouse=True)
def own_pool(tmp_path, monkeypatch):
    monkeypatch.setenv("LABENV_POOL", f"t{os.getpid()}-{time.monotonic_ns() % 10**6}")
    monkeypatch.setenv("LABENV_POOL_STATE", str(tmp_path / "pool.json"))
    yield
    pool.drain()
    for suite in ("bookworm", "trixie"):        # a refill started by a claim ends first
        pool.wait_for_refill(here(), suite, timeout=300)
    pool.drain()


def here() -> engines.Engine:
    return engines.configured()[0]


def spare_label(lab: Lab) -> bool:
    """Whether every container of the lab carries the spare label (read from the engine)."""
    client = engine.connect()
    return all(pool.LABEL_SPARE in client.containers.get(c.id).labels for c in lab._containers.values())


def of_lab(lab_id: str) -> dict[str, list[str]]:
    client = engine.connect()
    label = {"label": f"labenv.id={lab_id}"}
    return {"containers": [c.name for c in client.containers.list(all=True, filters=label)],
            "networks": [n.name for n in client.networks.list(filters=label)]}


def log_lines(lab: Lab) -> set[str]:
    """mail.log's messages without times, process ids and queue ids."""
    text = lab.exec("mailserver", ["sh", "-c", "cat /var/log/mail.log 2>/dev/null"]).stdout
    out = set()
    for line in text.splitlines():
        line = re.sub(r"^\S+ \S+ ", "", line)                        # time, host
        line = re.sub(r"\[\d+\]", "[PID]", line)
        line = re.sub(r"\b[0-9A-Za-z]{14}\b", "QID", line)
        line = re.sub(r"\b\d{1,3}(\.\d{1,3}){3}\b", "ADDR", line)
        out.add(line)
    return out


def without_time(state: dict) -> dict:
    """The provider's knobs and status, less the time it answered."""
    state = {k: v for k, v in state.items() if k != "users"}
    state["status"] = {k: v for k, v in state.get("status", {}).items() if k != "time"}
    return state


def what_a_learner_sees(lab: Lab) -> dict:
    """Every check the notebooks use, and what the lessons' first cells show."""
    status = lab.status()
    return {
        "exercises": {f"{ex.notebook}/{ex.id}": ex.problems(lab) for ex in EXERCISES},
        "config": config_state(lab),
        "mailq": lab.exec("mailserver", ["mailq"]).stdout,
        "queue": mail.queue(lab),
        "provider": lab.provider.sessions(),
        "mailhost": lab.mailhost.sessions(),
        "routes": route_table(lab, ["user@example.com", "friend@example.org", "local@private.lan"])
        .to_dict("records"),
        "roles": {r: (s["state"], s["hostname"], sorted(s["addresses"])) for r, s in status["roles"].items()},
        "names": sorted(c.name for c in lab._containers.values()),
        "isp": lab.exec("router", ["isp-block", "status"]).stdout,
        "provider_state": without_time(lab.provider.ctl("state")),
    }


def test_a_claimed_lab_is_the_lab_a_cold_start_gives(suite):
    done = pool.fill(1, suite, say=lambda *_: None)
    assert done["ready"] == 1
    hot = Lab.up(f"{PREFIX}-hot", suite, say=lambda *_: None)
    cold = Lab.up(f"{PREFIX}-cold", suite, hot=False, say=lambda *_: None)
    try:
        assert spare_label(hot) and not spare_label(cold)
        assert Lab.attach(f"{PREFIX}-hot").id == hot.id
        seen_hot, seen_cold = what_a_learner_sees(hot), what_a_learner_sees(cold)
        for key in seen_cold:
            want = seen_cold[key]
            if key == "names":
                want = [n.replace("-cold-", "-hot-") for n in want]
            assert seen_hot[key] == want, key
        assert all(problems for problems in seen_hot["exercises"].values())
        assert log_lines(hot) <= log_lines(cold)
        # `labenv status` and `labenv labs` show it under the learner's name
        listed = cli("labs")
        assert re.search(rf"^{PREFIX}-hot\s+4\s", listed.stdout, re.M), listed.stdout
        assert "_spare" not in listed.stdout
    finally:
        hot.down()
        cold.down()
    assert of_lab(hot.id) == {"containers": [], "networks": []}


def test_claims_at_once_take_each_spare_once_and_the_rest_start_cold(suite):
    pool.fill(2, suite, say=lambda *_: None)
    os.environ["LABENV_POOL_NO_REFILL"] = "1"
    labs: dict[str, Lab] = {}
    errors: list[Exception] = []

    def up(i: int) -> None:
        try:
            labs[f"{i}"] = Lab.up(f"{PREFIX}-r{i}", suite, say=lambda *_: None)
        except Exception as error:  # reported below
            errors.append(error)

    try:
        threads = [threading.Thread(target=up, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len({lab.id for lab in labs.values()}) == 4
        assert sum(spare_label(lab) for lab in labs.values()) == 2
        for lab in labs.values():
            assert lab.exec("mailserver", ["sh", "-c", "echo '/parse a@example.com' | sendmail -bt"]).ok
            assert lab.status()["running"]
    finally:
        os.environ.pop("LABENV_POOL_NO_REFILL", None)
        for lab in labs.values():
            lab.down()


def test_the_pool_refills_in_the_background_to_its_size(suite):
    pool.fill(2, suite, say=lambda *_: None)
    lab = Lab.up(f"{PREFIX}-bg", suite, say=lambda *_: None)
    try:
        assert spare_label(lab)
        assert sum(s.ready for s in pool.spares(here(), suite)) <= 1
        wait_until(lambda: sum(s.ready for s in pool.spares(here(), suite)) == 2, timeout=180,
                   what="the pool back at 2 ready spares")
        rows = cli("pool", "status", "--debian", suite)
        assert rows.returncode == 0
        assert re.search(rf"\b{suite}\s+2\s+0\s+2\b", rows.stdout), rows.stdout
    finally:
        lab.down()


def test_spares_older_than_the_limit_are_not_claimed_but_recycled(suite, monkeypatch):
    pool.fill(1, suite, say=lambda *_: None)
    old = pool.spares(here(), suite)[0]
    monkeypatch.setenv("LABENV_POOL_MAX_AGE", "1")
    monkeypatch.setenv("LABENV_POOL_NO_REFILL", "1")
    time.sleep(1.5)
    lab = Lab.up(f"{PREFIX}-old", suite, say=lambda *_: None)
    try:
        assert not spare_label(lab)                         # started cold
        done = pool.fill(1, suite, say=lambda *_: None)     # recycles it, starts a new one
        assert done["recycled"] == 1 and done["started"] == 1
        assert of_lab(old.id) == {"containers": [], "networks": []}
    finally:
        lab.down()


def test_a_spare_being_claimed_is_not_taken_for_a_broken_one(suite):
    """A keeper's round may list a spare between the renames of a claim: its mailserver
    carries the learner's name already, the other three not yet. It must leave it alone."""
    from labenv import build

    pool.fill(1, suite, say=lambda *_: None)
    spare = pool.spares(here(), suite)[0]
    client = engine.connect()
    client.api.rename(spare.containers["mailserver"].attrs["Names"][0].lstrip("/"), f"labenv-{PREFIX}-mid-mailserver")
    try:
        assert pool.recycle(here(), suite, build.tags(suite)) == 0
        assert len(of_lab(spare.id)["containers"]) == 4
    finally:
        from labenv.lab import remove_by_label

        remove_by_label(f"labenv.id={spare.id}")


def test_drain_empties_the_pool_and_status_says_so(suite):
    pool.fill(2, suite, say=lambda *_: None)
    ids = [s.id for s in pool.spares(here(), suite)]
    drained = cli("pool", "drain")
    assert drained.returncode == 0 and "removed 2 spare lab(s)" in drained.stdout
    assert pool.spares(here()) == [] and pool.target(here(), suite) == 0
    assert all(of_lab(i) == {"containers": [], "networks": []} for i in ids)
    assert "no spare labs" in cli("pool", "status").stdout


def test_start_lab_in_a_notebook_claims_a_spare_and_says_what_it_always_says(suite, capsys, monkeypatch):
    from helpers.notebook import finish, start_lab

    monkeypatch.setenv("LABENV_LAB_PREFIX", f"{PREFIX}-nb")
    pool.fill(1, suite, say=lambda *_: None)
    lab = start_lab("01", suite=suite)
    try:
        assert spare_label(lab)
        assert capsys.readouterr().out == f"lab {PREFIX}-nb01 is up: Debian {suite}, sendmail as Debian installs it\n"
    finally:
        finish(lab)


@pytest.mark.parametrize("args, says", [
    (["pool", "fill"], "pool fill needs a count"),
    (["pool", "fill", "-1"], "a pool of -1 is not possible"),
    (["pool", "fill", "many"], "invalid int value"),
    (["pool", "fill", "100000"], "a pool of 100000 is not possible"),
    (["pool", "status", "3"], "pool status takes no count"),
    (["pool", "empty"], "invalid choice"),
    (["pool", "fill", "1", "--engine", "nowhere"], "no engine 'nowhere'"),
])
def test_bad_pool_requests_are_one_line_and_change_nothing(args, says):
    before = pool.spares(here())
    done = cli(*args)
    assert done.returncode == 2
    assert says in one_line_error(done.stderr)
    assert [s.id for s in pool.spares(here())] == [s.id for s in before]


def test_a_bad_pool_setting_is_one_line(monkeypatch):
    for name, value, says in [("LABENV_POOL", "Bad Name!", "is not a pool name"),
                              ("LABENV_POOL_MAX_AGE", "soon", "LABENV_POOL_MAX_AGE must be"),
                              ("LABENV_POOL_CAP", "-3", "LABENV_POOL_CAP must be")]:
        done = cli("pool", "status", env={name: value})
        assert done.returncode == 2 and says in one_line_error(done.stderr), (name, done.stderr)
