"""JupyterHub's configuration for a class, made from its settings (see :mod:`classroom.hub`).

JupyterHub's own parts do the work: the configurable-http-proxy from npm in front,
FirstUseAuthenticator for logins (a learner chooses a password at first login, or
uses the one the roster hands out), LocalProcessSpawner starting each member's
JupyterLab as their own Unix account (``lab-NAME``: not root, not in the docker
group), jupyterhub-idle-culler for idle servers, and the progress service.

Each learner's server gets, in its environment, the way to the class's engines
(LABENV_ENGINES names each, DOCKER_HOST engine a; TLS with their own client
certificate) and the prefix of their labs; nothing else of the host's Docker.
"""
from __future__ import annotations

import asyncio
import json
import os
import pwd
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner

from .engine import home_order
from .enginecfg import learner_env, paths
from .roster import ACCOUNT_PREFIX, Roster, load

#: Where a member's client certificate for the class engine lives, in their home.
CERT_DIR = ".labenv-class-certs"
NOTEBOOK_DIR = "notebooks"


@dataclass(frozen=True)
class Settings:
    """Everything the hub of one class needs; written as JSON in the class's state folder."""

    roster: str
    state: str
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    progress_port: int = 8090
    venv: str = sys.prefix
    proxy: str = "configurable-http-proxy"
    engine_tcp: str = "tcp://127.0.0.1:2376"
    engine_socket: str = "unix:///run/labenv-class/docker.sock"
    subnets: str = "10.214.0.0/16"
    cull_timeout: int = 3600
    cull_every: int = 300

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}/"

    @property
    def progress_db(self) -> str:
        return str(Path(self.state) / "progress.sqlite3")

    def save(self) -> Path:
        path = Path(self.state) / "settings.json"
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def read(cls, path: Path | str) -> Settings:
        return cls(**json.loads(Path(path).read_text()))


class ClassSpawner(LocalProcessSpawner):
    """A member's JupyterLab as their own account, with the class engine and nothing more."""

    settings: Settings | None = None

    @property
    def account(self) -> str:
        return ACCOUNT_PREFIX + self.user.name

    def make_preexec_fn(self, name):
        return super().make_preexec_fn(self.account)

    def user_env(self, env):
        entry = pwd.getpwnam(self.account)
        env.update(USER=self.account, LOGNAME=self.account, HOME=entry.pw_dir, SHELL=entry.pw_shell)
        return env

    def get_env(self):
        env = super().get_env()
        s = self.settings
        home = pwd.getpwnam(self.account).pw_dir
        # their home engine first: where their labs are, else the least loaded (asked at each start)
        env.update(learner_env(self.user.name, Path(home) / CERT_DIR, paths(), home_order(self.user.name)))
        env.update({"PATH": f"{s.venv}/bin:/usr/local/bin:/usr/bin:/bin",
                    "LABENV_PROGRESS_URL": f"http://127.0.0.1:{s.port}/services/progress/"})
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
            env.pop(variable, None)   # requests would check the engine against these, not ca.pem
        return env


async def remove_labs(spawner) -> None:
    """After a member's server stops (logout, culling, class down): their labs go too, on every
    engine that answers; the hub's log names any engine that did not."""
    from .hub import remove_labs_of

    removed, silent = await asyncio.to_thread(remove_labs_of, spawner.user.name)
    if silent:
        spawner.log.warning("%s's labs on class engine(s) %s were not removed: no answer (%d removed elsewhere)",
                            spawner.user.name, ", ".join(silent), removed)


def configure(c, settings: Settings, roster: Roster) -> None:
    """Fill JupyterHub's config object ``c`` for the class."""
    state = Path(settings.state)
    c.JupyterHub.bind_url = settings.url
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings.hub_port}"
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True
    c.ConfigurableHTTPProxy.command = [settings.proxy]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

    c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
    c.FirstUseAuthenticator.dbm_path = str(state / "passwords.dbm")
    c.FirstUseAuthenticator.create_users = False
    c.FirstUseAuthenticator.min_password_length = 8
    c.Authenticator.allowed_users = set(roster.everyone)
    c.Authenticator.admin_users = set(roster.instructors)

    ClassSpawner.settings = settings
    c.JupyterHub.spawner_class = ClassSpawner
    c.Spawner.cmd = [f"{settings.venv}/bin/jupyterhub-singleuser"]
    c.Spawner.notebook_dir = f"~/{NOTEBOOK_DIR}"
    c.Spawner.default_url = "/lab"
    # A Terminal's bash is not a login shell: Debian's /etc/profile would set PATH anew, without
    # the kit's venv (`python -m labenv` would not be found), as a login shell reads it.
    c.Spawner.args = ["--ServerApp.terminado_settings={'shell_command': ['/bin/bash']}"]
    c.Spawner.env_keep = ["LANG", "LC_ALL"]
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120
    c.Spawner.post_stop_hook = remove_labs
    # A server or service that does not stop on SIGINT within seconds gets SIGTERM, then SIGKILL
    # (JupyterHub's defaults wait up to 20 s each; the idle culler sat out all of them).
    c.LocalProcessSpawner.interrupt_timeout = 3
    c.LocalProcessSpawner.term_timeout = 3
    c.LocalProcessSpawner.kill_timeout = 3

    python = f"{settings.venv}/bin/python"
    c.JupyterHub.services = [
        {"name": "progress", "url": f"http://127.0.0.1:{settings.progress_port}",
         "command": [python, "-m", "classroom.progress_service"],
         "environment": {"LABENV_PROGRESS_DB": settings.progress_db}, "oauth_no_confirm": True},
        {"name": "idle-culler",
         "command": [python, "-m", "jupyterhub_idle_culler", f"--timeout={settings.cull_timeout}",
                     f"--cull-every={settings.cull_every}"]},
    ]
    c.JupyterHub.load_roles = [
        {"name": "idle-culler", "services": ["idle-culler"],
         "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
        {"name": "progress", "services": ["progress"], "scopes": ["read:users:name"]},
    ]


def configure_from_environment(c) -> None:
    """What classroom/jupyterhub_config.py calls: settings from $LABENV_CLASS_SETTINGS."""
    settings = Settings.read(os.environ["LABENV_CLASS_SETTINGS"])
    configure(c, settings, load(settings.roster))
