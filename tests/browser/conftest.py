"""JupyterLab served on loopback, and Debian's chromium driven by playwright."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("LABENV_CHROMIUM", "/usr/bin/chromium")
# A closed network: no background traffic, no first-run work, no sandbox as root.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with its own config, data and runtime dirs.

    Its kernels name their labs with the prefix ``br<pid>-`` (notebook 01 runs in lab
    ``br<pid>-01``), so they never replace a lab of someone working on the same engine,
    and record progress to a file of the run's own unless LABENV_PROGRESS_DB names one.
    """
    root = tmp_path_factory.mktemp("notebooks")
    home = tmp_path_factory.mktemp("jupyter-home")
    port, token, prefix = _free_port(), secrets.token_hex(16), f"br{os.getpid()}-"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2]), "LABENV_LAB_PREFIX": prefix,
           # what the notebooks' checks record goes to the run's own file, not to a person's record
           "LABENV_PROGRESS_DB": os.environ.get("LABENV_PROGRESS_DB", str(home / "progress.sqlite3"))}
    log = open(home / "server.log", "w")  # noqa: SIM115 (the server writes to it until the fixture ends)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}", "--allow-root",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + (home / "server.log").read_text()[-2000:])
            time.sleep(0.3)
    yield {"url": url, "token": token, "root": root, "prefix": prefix}
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture
def page():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (Debian's package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1100})
        page = context.new_page()
        yield page
        context.close()
        browser.close()


def open_and_run_all(page, jupyterlab: dict, name: str, wait_ms: int = 90_000) -> None:
    """Open notebook ``name`` in JupyterLab, wait for its kernel, and start Run All Cells.

    A busy host (a class on one engine) can take a minute to start the kernel.
    """
    page.goto(f"{jupyterlab['url']}/lab/tree/{name}?token={jupyterlab['token']}")
    page.locator(".jp-Notebook").wait_for(timeout=wait_ms)
    page.locator("#jp-main-statusbar").get_by_text(re.compile("Idle")).first.wait_for(timeout=wait_ms)
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
