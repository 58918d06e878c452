"""A class on JupyterHub, as a class uses it: two learners and an instructor at one URL.

Needs root, dockerd, the bookworm lab images on the host's engine (`make setup`), npm
(or a configurable-http-proxy already in /opt/labenv-class/proxy) and Debian's chromium.
The module starts a class of its own with `python -m classroom up`: its engine's
folders and port (LABENV_CLASS_*), its hub's ports (28800-28803), its members
(hubt_ann, hubt_ben, hubt_ines: accounts ``lab-hubt_*``), its own learner's copy of the
notebooks. The tests run in file order, as the class's day goes:

    1. each learner logs in at the hub in headless chromium, opens notebook 01 in their
       ~/notebooks, runs it and passes its exercise; the instructor's page shows both;
    2. from a learner's own kernel, every rule that keeps learners apart is tried, and refused;
       the instructor's `clean --all` removes the whole class's labs;
    3. the record lasts: lab removal, a kernel restart, a hub restart, an idle server culled;
       nobody records for someone else; `python -m classroom progress --csv` exports it;
    4. `python -m classroom down --purge` leaves nothing: no process, account, home,
       listener, network namespace, folder or mount of the class, and the host's engine as it was.

Screenshots land in tests/artifacts/ (classroom-*.png).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import docker
import nbformat
import pytest
import requests

from classroom import enginecfg
from labenv import build
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.classroom.hubclass import HubUser, TestClass
from tests.support import save_screenshot

pytestmark = pytest.mark.timeout(1800)

ANN, BEN, INES = "hubt_ann", "hubt_ben", "hubt_ines"
#: Learners choose theirs at first login; the instructor's is handed out in the roster.
PASSWORDS = {ANN: "ann-chooses-this", BEN: "ben-chooses-this", INES: "handed-out-to-ines"}
NOTEBOOK = "01-Why-A-Private-Mailserver-And-The-Port-25-Block.ipynb"
EXERCISE = "find-the-block"
DENIED = "authorization denied by plugin labenv-authz"
#: What a learner types into the empty working cell of notebook 01 (the instructor's solution).
ANSWER_01 = ('sh(lab, "router", "isp-block off")\n'
             'sh(lab, "mailserver", "sendmail -q -v > /dev/null")\n'
             'sh(lab, "router", "isp-block on")\n'
             "_ = lab.provider.wait_for_messages(1)\n")
TIMINGS: dict[str, float] = {}


def _skip_unless_possible() -> None:
    if os.geteuid() != 0:
        pytest.skip("a class needs root (accounts, the class engine)")
    if not shutil.which("dockerd", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
        pytest.skip("dockerd is not installed")
    if Path("/run/netns", enginecfg.NETNS).exists():
        pytest.skip("a class runs on this host already; its engine's namespace has the one name there is")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    host = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    missing = [t for t in (build.tag_for(n, build.DEFAULT_SUITE) for n in build.IMAGES) if not host.images.list(name=t)]
    if missing:
        pytest.skip(f"the host's engine lacks {', '.join(missing)} (make setup)")


def _host_engine_state() -> dict:
    """What a class must never touch on the host's engine: its labs of our members, docker0's rules."""
    host = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    ours = [c.name for c in host.containers.list(all=True, ignore_removed=True)
            if any(n in c.name for n in (ANN, BEN, INES))]
    ours += [n.name for n in host.networks.list() if any(m in n.name for m in (ANN, BEN, INES))]
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    return {"ours": ours, "docker0": [r for r in rules.splitlines() if "docker0" in r and not r.startswith("#")]}


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    _skip_unless_possible()
    k = TestClass("hubtest", learners=(ANN, BEN), instructors=(INES,), passwords={INES: PASSWORDS[INES]},
                  port=28800, engine_port=23762, work=tmp_path_factory.mktemp("class"))
    for port in (k.port, *k.ports.values(), k.engine_port):
        if subprocess.run(["ss", "-Htln", f"sport = :{port}"], capture_output=True, text=True).stdout.strip():
            pytest.skip(f"port {port} is taken; the test class needs 28800-28803 and 23762")
    k.host_before = _host_engine_state()
    k.uids = set()
    k.write_roster()
    k.learner_copy()
    started = time.monotonic()
    try:
        up = k.up()
        TIMINGS["class_up_s"] = round(time.monotonic() - started, 1)
        assert f"The class is open at {k.url}/" in up.stdout
        k.uids = {entry.pw_uid for entry in k.accounts().values()}
        yield k
    finally:
        if k.hub_pid() or Path("/run/netns", enginecfg.NETNS).exists() or k.accounts():
            k.down(purge=True)       # what a test that failed half-way left
        if not os.environ.get("LABENV_CLASS_TEST_KEEP_LOGS"):   # the engine's and the plugin's logs
            shutil.rmtree(k.env["LABENV_CLASS_LOG"], ignore_errors=True)
        print("\nclass timings:", json.dumps(TIMINGS))


@pytest.fixture(scope="module")
def people(klass):
    """Each member's own session at the hub (requests: the browser tests use chromium)."""
    return {name: HubUser(klass.url, name, PASSWORDS[name]) for name in klass.everyone}


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# -- in the browser -------------------------------------------------------------------------
def log_in(browser, klass, name: str):
    """A fresh browser at the hub's URL; the member logs in (first use: the password is set)."""
    page = browser.new_context(viewport={"width": 1400, "height": 1100}).new_page()
    page.goto(klass.url)
    page.locator("#username_input").fill(name)
    page.locator("#password_input").fill(PASSWORDS[name])
    page.locator("#login_submit").click()
    return page


def open_notebook_01(page, name: str) -> None:
    """From the file browser of the learner's JupyterLab (their ~/notebooks), as they would."""
    item = page.locator(".jp-DirListing-item", has_text="01-Why")
    item.wait_for(timeout=180_000)
    assert f"/user/{name}/lab" in page.url
    item.dblclick()
    page.locator(".jp-Notebook").wait_for(timeout=90_000)
    page.locator("#jp-main-statusbar").get_by_text(re.compile("Idle")).first.wait_for(timeout=120_000)
    _dismiss_questions(page)


def _dismiss_questions(page) -> None:
    news = page.get_by_role("button", name="No")   # JupyterLab's first-run news question
    if news.count():
        news.first.click()


def cells(page):
    return page.locator(".jp-Notebook .jp-Cell")


def cell_index(page, text: str) -> int:
    found = cells(page)
    for i in range(found.count()):
        if text in (found.nth(i).locator(".jp-InputArea").text_content() or ""):
            return i
    raise AssertionError(f"no cell holds {text!r}")


def run_menu(page, item: str) -> None:
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator(".lm-Menu-item", has_text=item).first.click()


def wait_until_run(page, what: str, timeout: float = 240) -> None:
    """Until no cell waits or runs ([*]) any more."""
    busy = page.locator(".jp-InputPrompt", has_text="[*]")
    busy.first.wait_for(timeout=30_000)
    deadline = time.monotonic() + timeout
    while busy.count() and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert not busy.count(), f"{what} did not finish in {timeout} s"
    _dismiss_questions(page)


def saved_notebook(page, klass, name: str) -> nbformat.NotebookNode:
    """The notebook as JupyterLab saved it in the learner's ~/notebooks (read as root)."""
    page.locator(".jp-Notebook").click()
    page.keyboard.press("Control+s")
    path = Path(klass.accounts()[name].pw_dir) / "notebooks" / NOTEBOOK
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        nb = nbformat.read(path, as_version=4)
        if all(c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()):
            return nb
        page.wait_for_timeout(500)
    raise AssertionError(f"{name}: the saved {NOTEBOOK} does not show every cell run")


def errors_in(nb) -> list:
    return [(i, o.get("ename"), o.get("evalue")) for i, c in enumerate(nb.cells)
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def report_of(nb) -> str:
    """The exercise's report printed by the controls cell (ex.controls(lab))."""
    cell = next(c for c in nb.cells if c.cell_type == "code" and "ex.controls(lab)" in c.source)
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


def test_a_learner_types_the_answer_and_runs_notebook_01(klass, browser):
    """Ann logs in, opens 01, types her answer into the working cell, Run All: ✔ Done."""
    started = time.monotonic()
    page = log_in(browser, klass, ANN)
    open_notebook_01(page, ANN)
    TIMINGS["ann_login_to_notebook_s"] = round(time.monotonic() - started, 1)
    work = cell_index(page, "ex.controls(lab)") - 1      # the empty cell above the controls
    cells(page).nth(work).locator(".cm-content").click()
    page.keyboard.insert_text(ANSWER_01)
    started = time.monotonic()
    run_menu(page, "Run All Cells")
    wait_until_run(page, "Run All")
    TIMINGS["ann_run_all_s"] = round(time.monotonic() - started, 1)
    nb = saved_notebook(page, klass, ANN)
    assert errors_in(nb) == []
    report = report_of(nb)
    assert f"Exercise 01/{EXERCISE}" in report and "✔" in report and "✘" not in report, report
    assert report.rstrip().endswith("Done."), report
    assert page.get_by_text(f"lab {ANN}-nb01 removed").count()
    shown = page.locator(".jp-OutputArea-output", has_text=f"Exercise 01/{EXERCISE}").last
    for _ in range(3):   # cells above it are laid out as they come into view, which moves it
        shown.evaluate("e => e.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(300)
    assert "Done." in shown.text_content()
    save_screenshot(page, "classroom-learner-answer-run-all.png")


def test_a_learner_runs_all_then_skips_and_checks(klass, browser):
    """Ben logs in, opens 01, Run All (✘: he did nothing), goes back to the exercise, presses
    Skip and then Check: ✔ done; then runs the rest, which removes his lab."""
    page = log_in(browser, klass, BEN)
    open_notebook_01(page, BEN)
    run_menu(page, "Run All Cells")
    wait_until_run(page, "Run All")
    first = saved_notebook(page, klass, BEN)
    assert errors_in(first) == [], "the learner's copy must run whole with the exercise not done"
    assert "✘" in report_of(first) and "Not done yet" in report_of(first)

    controls_at = cell_index(page, "ex.controls(lab)")
    controls = cells(page).nth(controls_at)
    controls.locator(".jp-InputArea").click()
    run_menu(page, "Run All Above Selected Cell")        # a lab again, the report submitted again
    wait_until_run(page, "the cells above the exercise's controls")
    controls.locator(".jp-InputArea").click()
    page.keyboard.press("Shift+Enter")
    skip = controls.get_by_role("button", name="Skip")
    skip.wait_for(timeout=60_000)
    controls.evaluate("e => e.scrollIntoView({block: 'center'})")
    skip.click()
    controls.get_by_text("skipped: the solution is applied").wait_for(timeout=120_000)
    controls.get_by_role("button", name="Check").click()
    page.wait_for_timeout(500)
    status = controls.locator(".widget-html", has_text=re.compile(r"^done$"))
    status.first.wait_for(timeout=60_000)
    answer = controls.locator("pre", has_text="Done.").last
    assert "✔" in answer.inner_text() and "✘" not in answer.inner_text()
    save_screenshot(page, "classroom-learner-skip-check.png")

    cells(page).nth(controls_at + 1).click()
    run_menu(page, "Run Selected Cell and All Below")
    wait_until_run(page, "the rest of the notebook")
    nb = saved_notebook(page, klass, BEN)
    assert errors_in(nb) == []
    assert page.get_by_text(f"lab {BEN}-nb01 removed").count()


def test_the_instructor_sees_both_learners_on_the_progress_page(klass, browser):
    page = log_in(browser, klass, INES)
    page.locator("#jp-main-statusbar").wait_for(timeout=180_000)   # her own JupyterLab opened
    page.goto(f"{klass.url}/services/progress/")
    table = page.locator("table#progress")
    table.wait_for(timeout=60_000)
    text = table.inner_text()
    for learner in (ANN, BEN):
        row = page.locator("table#progress tr", has_text=learner)
        assert row.count(), f"{learner} is not on the progress page:\n{text}"
    assert EXERCISE in text or "01" in text
    save_screenshot(page, "classroom-instructor-progress.png")
    # A learner is not let in: the page is the instructors'.
    learner = log_in(browser, klass, ANN)
    learner.locator("#jp-main-statusbar").wait_for(timeout=180_000)
    learner.goto(f"{klass.url}/services/progress/")
    learner.wait_for_load_state()
    assert not learner.locator("table#progress").count()
    assert "403" in learner.content() or "Forbidden" in learner.content()


# -- from a learner's own kernel --------------------------------------------------------------
@pytest.fixture(scope="module")
def kernels(klass, people):
    """A running kernel for each learner and the instructor, and a lab for each learner
    (started in their kernel, as notebook 01 does: ``start_lab('01')``)."""
    ready = {}
    for name in klass.everyone:
        member = people[name]
        member.login()
        member.wait_server()
        ready[name] = member.start_kernel()
    for name in klass.learners:
        out = people[name].run(ready[name], "from helpers.notebook import start_lab\nlab = start_lab('01')\n"
                                            "print(lab.name)")
        assert out.strip().endswith(f"{name}-nb01"), out
    return ready


def run_json(people, kernels, name: str, code: str) -> dict:
    """Run ``code`` (which prints one JSON object last) in ``name``'s kernel; that object."""
    out = people[name].run(kernels[name], code)
    try:
        return json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise AssertionError(f"no JSON from {name}'s kernel:\n{out}") from None


ATTEMPT = '''
import json, docker
from docker.errors import APIError
client = docker.from_env(timeout=60)
results = {}
def attempt(what, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
        results[what] = "allowed"
    except APIError as error:
        results[what] = f"{error.status_code} {error.explanation}"
    except Exception as error:
        results[what] = f"{type(error).__name__}: {error}"
'''


def test_a_learner_cannot_touch_another_learners_lab(klass, people, kernels):
    other = f"labenv-{BEN}-nb01-mailserver"
    found = run_json(people, kernels, ANN, ATTEMPT + f'''
other = {other!r}
attempt("exec", client.api.exec_create, other, ["true"])
attempt("stop", client.api.stop, other)
attempt("kill", client.api.kill, other)
attempt("remove", client.api.remove_container, other, force=True)
attempt("logs", client.api.logs, other)
attempt("inspect", client.api.inspect_container, other)
attempt("copy a file out", client.api.get_archive, other, "/etc/hostname")
attempt("list everyone's", client.containers.list, all=True)
attempt("remove the network", client.api.remove_network, "labenv-{BEN}-nb01-lan")
attempt("own lab", lambda: client.containers.get("labenv-{ANN}-nb01-mailserver").exec_run(["true"]))
print(json.dumps(results))
''')
    assert found.pop("own lab") == "allowed"
    for what, result in found.items():
        assert result.startswith("403 ") and DENIED in result, f"{what}: {result}"
    assert klass.engine().containers.get(other).status == "running"


def test_a_learner_can_start_only_a_labs_own_containers(klass, people, kernels):
    tag = build.tag_for("router", build.DEFAULT_SUITE)
    found = run_json(people, kernels, ANN, ATTEMPT + f'''
def router(**host):
    """A create as labenv makes her lab's router, changed by `host`."""
    config = client.api.create_host_config(**{{"network_mode": "labenv-{ANN}-nb01-lan",
                                              "cap_add": ["NET_ADMIN"], "init": True, **host}})
    return client.api.create_container(image={tag!r}, name="labenv-{ANN}-nb01-router", host_config=config,
                                       labels={{"labenv.lab": "{ANN}-nb01", "labenv.role": "router"}})
attempt("the lab's own settings", router)
attempt("privileged", router, privileged=True)
attempt("host bind mount", router, binds=["/:/host"])
attempt("host network", router, network_mode="host")
attempt("host PID", router, pid_mode="host")
attempt("extra capabilities", router, cap_add=["NET_ADMIN", "SYS_ADMIN"])
attempt("a device", router, devices=["/dev/kmsg:/dev/kmsg"])
attempt("any container", client.containers.run, {tag!r}, ["true"], privileged=True, remove=True)
attempt("a pulled image", client.images.pull, "debian", tag="bookworm-slim")
print(json.dumps(results))
''')
    # The lab's own settings pass the plugin; the engine then refuses the name, which is taken.
    assert found.pop("the lab's own settings").startswith("409 "), found
    why = {"privileged": "Privileged", "host bind mount": "Binds", "host network": "host",
           "host PID": "PidMode", "extra capabilities": "SYS_ADMIN", "a device": "Devices"}
    for what, result in found.items():
        assert result.startswith("403 ") and DENIED in result, f"{what}: {result}"
        assert why.get(what, "") in result, f"{what}: {result}"


def test_a_learner_cannot_reach_the_docker_sockets(klass, people, kernels):
    found = run_json(people, kernels, ANN, f'''
import grp, json, os, socket
import docker
results = {{"uid": os.getuid(), "groups": sorted(grp.getgrgid(g).gr_name for g in os.getgroups())}}
for path in ("/var/run/docker.sock", {str(klass.paths.socket)!r}, {str(enginecfg.PLUGIN_SOCKET)!r}):
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path)
        results[path] = "open"
    except OSError as error:
        results[path] = f"{{type(error).__name__}} {{error.strerror}}"
    finally:
        s.close()
try:
    docker.DockerClient(base_url="unix:///var/run/docker.sock", timeout=10).ping()
    results["host engine"] = "answers"
except Exception as error:
    results["host engine"] = type(error).__name__
print(json.dumps(results))
''')
    assert found.pop("uid") == klass.accounts()[ANN].pw_uid != 0
    assert "docker" not in found.pop("groups")
    assert found.pop("host engine") != "answers"
    for path, result in found.items():
        assert result.startswith("PermissionError"), f"{path}: {result}"


def _greeting(address: str, port: int, netns: str | None = None) -> str:
    """The first line a server at address:port says, from here or from inside ``netns``."""
    probe = ("import socket,sys\ns=socket.socket();s.settimeout(6)\ntry:\n s.connect((sys.argv[1],int(sys.argv[2])))\n"
             " print(s.recv(200).decode(errors='replace').splitlines()[0])\nexcept Exception as e:\n"
             " print('no greeting:',type(e).__name__)\n")
    cmd = ["python3", "-c", probe, address, str(port)]
    if netns:
        cmd = ["nsenter", f"--net=/run/netns/{netns}", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()


def test_a_learner_cannot_reach_another_lab_over_the_network(klass, people, kernels):
    engine = klass.engine()   # the instructor's side: where Ben's lab is (a learner cannot ask)
    targets = []
    for role, port in (("mailhost", 25), ("relayhost", 587), ("mailserver", 25)):
        networks = engine.containers.get(f"labenv-{BEN}-nb01-{role}").attrs["NetworkSettings"]["Networks"]
        targets.append((role, next(iter(networks.values()))["IPAddress"], port))
    # Inside the class engine's namespace the lab's servers answer: the probe works.
    assert _greeting(targets[0][1], 25, enginecfg.NETNS).startswith("220 mailhost.private.lan")
    assert _greeting(targets[1][1], 587, enginecfg.NETNS).startswith("220 relayhost.somedom.com")
    own = engine.containers.get(f"labenv-{ANN}-nb01-router").attrs["NetworkSettings"]["Networks"]
    gateway = own[f"labenv-{ANN}-nb01-lan"]["Gateway"]      # the engine's bridge on her lab's LAN
    found = run_json(people, kernels, ANN, f'''
import json, socket
from labenv import Lab
results = {{}}
for role, address, port in {targets!r}:
    s = socket.socket(); s.settimeout(6)
    try:
        s.connect((address, port))
        results[role] = s.recv(200).decode(errors="replace") or "no greeting"
    except OSError as error:
        results[role] = f"{{type(error).__name__}}"
    finally:
        s.close()
# And from inside her own lab: her router may change its routes (NET_ADMIN), so it tries hardest.
subnet = ".".join({targets[0][1]!r}.split(".")[:3]) + ".0/24"
probe = (f"ip route add {{subnet}} via {gateway} 2>/dev/null; "
         f"timeout 6 bash -c 'exec 3<>/dev/tcp/{targets[0][1]}/25; head -c 40 <&3' || echo BLOCKED")
results["from her router"] = Lab.attach("{ANN}-nb01").exec("router", ["bash", "-c", probe]).stdout
print(json.dumps(results))
''')
    for what, result in found.items():
        assert "220" not in result and "private.lan" not in result and "somedom" not in result, f"{what}: {result}"
    assert "BLOCKED" in found["from her router"]


def test_a_learners_clean_all_is_refused_in_one_line(klass, people, kernels):
    found = run_json(people, kernels, ANN, '''
import json, subprocess, sys
done = subprocess.run([sys.executable, "-m", "labenv", "clean", "--all"], capture_output=True, text=True)
print(json.dumps({"code": done.returncode, "stderr": done.stderr}))
''')
    assert found["code"] == 2
    lines = found["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"labenv: refused by the engine: {DENIED}"), found["stderr"]
    labs = {c.labels["labenv.lab"] for c in klass.engine().containers.list(filters={"label": "labenv.lab"})}
    assert {f"{ANN}-nb01", f"{BEN}-nb01"} <= labs


def test_the_instructor_sees_every_lab_and_breaks_one_and_a_learner_cannot(klass, people, kernels):
    """In a Terminal of her JupyterLab, the instructor lists the class's labs, checks Ben's
    exercise and hides a fault in his lab; Ann cannot do the last."""
    ines = people[INES]
    code, out = ines.terminal("python -m labenv labs")       # her own labs (hubt_ines-nb..): none
    assert code == 0 and ANN not in out and BEN not in out, out
    # Her notebooks' labs have her prefix, as a learner's have theirs; without it she lists everyone's.
    code, out = ines.terminal("LABENV_LAB_PREFIX= python -m labenv labs")
    assert code == 0 and f"{ANN}-nb01" in out and f"{BEN}-nb01" in out, out
    code, out = ines.terminal("LABENV_LAB_PREFIX= python -m helpers.exercises progress")
    assert code in (0, 1) and ANN in out and BEN in out, out
    code, out = ines.terminal(f"python -m helpers.exercises check 01 --lab {BEN}-nb01")
    assert code == 1 and f"Exercise 01/{EXERCISE}" in out and "✘" in out, out
    code, out = ines.terminal(f"python -m labenv break --lab {BEN}-nb01 --fault smart-host-port-25")
    assert code == 0 and f"broke lab {BEN}-nb01" in out, out
    mc = klass.engine().containers.get(f"labenv-{BEN}-nb01-mailserver").exec_run(["cat", "/etc/mail/sendmail.mc"])
    assert b"SMART_HOST" in mc.output
    code, out = people[ANN].terminal(f"python -m labenv break --lab {BEN}-nb01 --fault wrong-password")
    assert code == 2, out
    lines = [line for line in out.splitlines() if line.startswith("labenv:")]
    assert len(lines) == 1 and lines[0].startswith(f"labenv: refused by the engine: {DENIED}"), out
    assert "Traceback" not in out


def test_the_instructors_clean_all_removes_the_whole_class(klass, people, kernels):
    found = run_json(people, kernels, INES, '''
import json, subprocess, sys
done = subprocess.run([sys.executable, "-m", "labenv", "clean", "--all"], capture_output=True, text=True)
print(json.dumps({"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}))
''')
    assert found["code"] == 0, found
    assert f"{ANN}-nb01" in found["stdout"] and f"{BEN}-nb01" in found["stdout"], found["stdout"]
    engine = klass.engine()
    assert engine.containers.list(all=True, filters={"label": "labenv.lab"}) == []
    assert engine.networks.list(filters={"label": "labenv.lab"}) == []


# -- progress that lasts ----------------------------------------------------------------------
def class_csv(klass) -> list[dict]:
    done = klass.classroom("progress", "--csv")
    return list(csv.DictReader(io.StringIO(done.stdout)))


def row(rows: list[dict], learner: str) -> dict:
    found = [r for r in rows if r["learner"] == learner and r["notebook"] == "01" and r["exercise"] == EXERCISE]
    assert len(found) == 1, rows
    return found[0]


def test_the_record_outlives_the_labs(klass):
    """Both labs of notebook 01 are gone (finish, then clean --all); their work is on record."""
    rows = class_csv(klass)
    ann, ben = row(rows, ANN), row(rows, BEN)
    assert ann["status"] == "done" and ann["skipped"] == "False"
    assert ben["status"] == "done" and ben["skipped"] == "True"
    assert int(ben["checks"]) >= 2


POST = '''
import json, os, urllib.request, urllib.error
def post(body, token=os.environ["JUPYTERHUB_API_TOKEN"]):
    request = urllib.request.Request(os.environ["LABENV_PROGRESS_URL"] + "api/events", method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
'''


def test_a_learner_cannot_record_for_someone_else(klass, people, kernels):
    found = run_json(people, kernels, ANN, POST + f'''
event = {{"notebook": "02", "exercise": "relay-port", "action": "check", "result": "done", "open": 0}}
print(json.dumps({{"as ben": post({{**event, "learner": "{BEN}"}}),
                  "own": post(event),
                  "a made-up token": post(event, token="0" * 32)}}))
''')
    status, answer = found["as ben"]
    assert status == 400 and "learner" in answer, found
    status, answer = found["own"]
    assert status == 201 and answer["learner"] == ANN, found
    assert found["a made-up token"][0] == 403, found
    nobody = requests.post(f"{klass.url}/services/progress/api/events", timeout=10,
                           json={"notebook": "02", "exercise": "relay-port", "action": "check", "result": "done"})
    assert nobody.status_code == 403
    rows = class_csv(klass)
    assert [r["learner"] for r in rows if r["notebook"] == "02"] == [ANN]


def test_the_record_outlives_a_kernel_restart(klass, people, kernels):
    before = row(class_csv(klass), ANN)
    ann = people[ANN]
    ann.restart_kernel(kernels[ANN])
    out = ann.run(kernels[ANN], "from helpers.notebook import start_lab, finish\nfrom helpers.exercises import exercise\n"
                                "lab = start_lab('01')\nex = exercise('01', 'find-the-block')\nex.setup(lab)\n"
                                "ex.check(lab)\nfinish(lab)\n")
    assert "Not done yet" in out, out          # a fresh lab: its checks are open again
    after = row(class_csv(klass), ANN)
    # Nothing lost: done stays done, the new check is counted, and it says how many are open now.
    assert after["status"] == "done" and int(after["checks"]) == int(before["checks"]) + 1
    assert int(after["open"]) > 0


def members_gone(klass, uids: set[int], timeout: float = 20) -> None:
    """No process of these accounts (server, kernels, terminals) outlives their stopped servers;
    a kernel sees its server gone within a second or two and ends."""
    deadline = time.monotonic() + timeout
    while (left := [p for p in klass.processes(uids) if int(p.split(" uid=")[1].split()[0]) in uids]):
        assert time.monotonic() < deadline, f"processes outlived their servers: {left}"
        time.sleep(1)


def test_the_record_outlives_a_hub_restart_and_culling(klass, people):
    before = class_csv(klass)
    klass.stop_hub()            # the hub stops every server first, and their labs go with them
    assert klass.engine().containers.list(all=True, filters={"label": "labenv.lab"}) == []
    members_gone(klass, klass.uids)
    started = time.monotonic()
    klass.up(cull_timeout=20, cull_every=10)     # the hub again, now culling servers idle for 20 s
    TIMINGS["hub_restart_s"] = round(time.monotonic() - started, 1)
    assert class_csv(klass) == before

    # The instructor's page reads the same record after the restart.
    ines = HubUser(klass.url, INES, PASSWORDS[INES])
    assert ines.login().status_code == 200
    assert ines.session.get(f"{klass.url}/hub/admin", timeout=30).status_code == 200   # a hub admin
    matrix = ines.session.get(f"{klass.url}/services/progress/api/matrix", timeout=60)
    assert matrix.status_code == 200, matrix.text[:300]
    assert {(r["learner"], r["status"]) for r in matrix.json()["rows"] if r["notebook"] == "01"} == \
        {(ANN, "done"), (BEN, "done")}

    # Ben comes back, starts a lab, and leaves it idle: the culler stops his server, his lab goes.
    ben = HubUser(klass.url, BEN, PASSWORDS[BEN])
    ben.login()
    assert ben.session.get(f"{klass.url}/hub/admin", timeout=30).status_code == 403       # not one
    ben.wait_server()
    kernel = ben.start_kernel()
    ben.run(kernel, "from helpers.notebook import start_lab\nlab = start_lab('01')\n")
    assert klass.engine().containers.list(filters={"label": f"labenv.lab={BEN}-nb01"})
    idle = time.monotonic()
    deadline = idle + 120
    while time.monotonic() < deadline:
        user = ines.hub_api("GET", f"users/{BEN}").json()
        if not user.get("servers"):
            break
        time.sleep(2)
    assert not user.get("servers"), f"{BEN}'s server was not culled: {user}"
    TIMINGS["culled_after_idle_s"] = round(time.monotonic() - idle, 1)
    assert "Culling server" in klass.hub_log() or "culling" in klass.hub_log().lower()
    deadline = time.monotonic() + 30
    while klass.engine().containers.list(all=True, filters={"label": f"labenv.lab={BEN}-nb01"}):
        assert time.monotonic() < deadline, f"{BEN}'s lab outlived his culled server"
        time.sleep(1)
    assert klass.engine().networks.list(filters={"label": f"labenv.lab={BEN}-nb01"}) == []
    members_gone(klass, {klass.accounts()[BEN].pw_uid})
    assert class_csv(klass) == before


def test_the_record_exports_as_csv(klass):
    done = klass.classroom("progress", "--csv")
    lines = done.stdout.splitlines()
    assert lines[0] == "learner,notebook,exercise,status,open,hints,skipped,checks,last"
    assert {line.split(",")[0] for line in lines[1:]} == {ANN, BEN}
    table = klass.classroom("progress").stdout
    assert ANN in table and BEN in table


# -- and nothing left -------------------------------------------------------------------------
def test_zz_class_down_purge_leaves_nothing(klass):
    uids = klass.uids | {entry.pw_uid for entry in klass.accounts().values()}
    homes = [entry.pw_dir for entry in klass.accounts().values()]
    # What the check below looks for is there while the class runs: the check can see it.
    running = klass.leftovers(uids)
    assert {"processes", "accounts", "homes", "listening", "netns", "folders", "plugin socket"} <= set(running)
    assert any("jupyterhub" in p for p in running["processes"])
    assert any("configurable-http-proxy" in p for p in running["processes"])
    assert any("progress_service" in p for p in running["processes"])
    started = time.monotonic()
    down = klass.down(purge=True)
    TIMINGS["class_down_s"] = round(time.monotonic() - started, 1)
    assert down.returncode == 0, down.stderr
    assert klass.leftovers(uids) == {}
    assert not any(Path(h).exists() for h in homes)
    assert subprocess.run(["ip", "link", "show", enginecfg.BRIDGE], capture_output=True).returncode != 0
    for group in ("labenv-learners", "labenv-instructors"):
        assert subprocess.run(["getent", "group", group], capture_output=True).returncode != 0
    after = _host_engine_state()
    assert after["ours"] == [] and after["docker0"] == klass.host_before["docker0"]
    host = docker.DockerClient(base_url="unix:///var/run/docker.sock")
    host.containers.run(build.tag_for("router", build.DEFAULT_SUITE), entrypoint=["true"], remove=True,
                        network_mode="bridge")
