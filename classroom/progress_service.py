"""The class's progress record: a JupyterHub service that learners' kernels report to.

    POST {prefix}api/events       one event (JSON), from a learner's kernel with its own
                                  $JUPYTERHUB_API_TOKEN; recorded under that token's owner
    GET  {prefix}                 the class matrix as a page (instructors: hub admins)
    GET  {prefix}api/matrix       the same as JSON, or CSV with ?format=csv (admins' tokens)

The hub starts it as a managed service (see :mod:`classroom.hub`). The record is
an SQLite file the service alone writes (``$LABENV_PROGRESS_DB``, in the class's
state directory, mode 600 under a 700 folder): a learner cannot write to it, and
cannot record for someone else, because the learner an event belongs to is the
owner of the token that sent it, as the hub says, never a field of the event.
It outlives labs, kernels, culled servers and hub restarts.
"""
from __future__ import annotations

import html
import json
import os
import sys

from jupyterhub.services.auth import HubAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from tornado import ioloop, web

from labenv import progress
from labenv.errors import ConfigError

#: What a kernel may say about an event; who and when are the service's to decide.
EVENT_FIELDS = {"notebook": str, "exercise": str, "action": str, "result": str, "open": int, "lab": str}
MAX_FIELD = 200


def event_from(body: bytes, learner: str) -> progress.Event:
    """The event a kernel sent, for ``learner``; ConfigError (one line) for anything else.

    >>> event_from(b'{"notebook": "02", "exercise": "relay-port", "action": "check", '
    ...            b'"result": "open", "open": 1, "lab": "ann-nb02"}', "ann").learner
    'ann'
    """
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise ConfigError("event", "not JSON") from None
    if not isinstance(data, dict):
        raise ConfigError("event", "not a JSON object")
    unknown = set(data) - set(EVENT_FIELDS)
    if unknown:
        raise ConfigError("event", f"unknown field(s): {', '.join(sorted(unknown))}")
    values = {}
    for name, kind in EVENT_FIELDS.items():
        value = data.get(name, progress.UNKNOWN if kind is int else "")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(name, f"must be {'a number' if kind is int else 'text'}")
        if kind is str and (len(value) > MAX_FIELD or any(ord(c) < 32 for c in value)):
            raise ConfigError(name, f"must be one line of at most {MAX_FIELD} characters")
        values[name] = value
    return progress.Event(learner, values["notebook"], values["exercise"], values["action"],
                          values["result"], values["open"], progress.now(), values["lab"])


class EventsHandler(web.RequestHandler):
    """A kernel's event, under the name of its token's owner."""

    def initialize(self, record: progress.Record, hub_auth: HubAuth) -> None:
        self.record, self.hub_auth = record, hub_auth

    def check_xsrf_cookie(self) -> None:  # token-authenticated API, no cookies
        pass

    async def post(self) -> None:
        token = self.hub_auth.get_token(self, in_cookie=False)
        owner = await self.hub_auth.user_for_token(token, sync=False) if token else None
        if not owner or owner.get("kind", "user") != "user":
            raise web.HTTPError(403, "a learner's own hub token is required")
        try:
            event = event_from(self.request.body, owner["name"])
        except ConfigError as error:
            raise web.HTTPError(400, str(error)) from None
        self.record.add(event)
        self.set_status(201)
        self.finish({"recorded": event.action, "learner": event.learner})

    def write_error(self, status_code: int, **kwargs) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        self.finish({"error": getattr(error, "log_message", None) or self._reason})


class MatrixHandler(HubOAuthenticated, web.RequestHandler):
    """The matrix for instructors; the service's access scope keeps everyone else out."""

    def initialize(self, record: progress.Record) -> None:
        self.record = record

    @web.authenticated
    def get(self) -> None:
        rows = progress.matrix(self.record.events())
        if self.get_argument("format", "") == "csv":
            self.set_header("Content-Type", "text/csv; charset=utf-8")
            self.finish(progress.to_csv(rows))
        else:
            self.finish({"rows": rows})


class PageHandler(MatrixHandler):
    @web.authenticated
    def get(self) -> None:
        rows = progress.matrix(self.record.events())
        table, columns = progress.class_table(rows)
        head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(str(r.get(c, '')))}</td>" for c in columns)
                       + "</tr>" for r in table)
        csv_link = url_path_join(os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"), "api/matrix?format=csv")
        self.finish(
            "<!doctype html><meta charset='utf-8'><title>Class progress</title>"
            "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;padding:.3em .6em}"
            "table{border-collapse:collapse}</style>"
            f"<h1>Class progress</h1><p>{len(table)} learner(s), {len(rows)} exercise row(s). "
            f"<a href='{csv_link}'>CSV</a></p>"
            + (f"<table id='progress'><tr>{head}</tr>{body}</table>" if rows
               else "<p id='progress'>Nothing recorded yet.</p>"))


def make_app(record: progress.Record) -> web.Application:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/progress/")
    hub_auth = HubAuth()
    return web.Application([
        (prefix, PageHandler, {"record": record}),
        (url_path_join(prefix, "api/events"), EventsHandler, {"record": record, "hub_auth": hub_auth}),
        (url_path_join(prefix, "api/matrix"), MatrixHandler, {"record": record}),
        (url_path_join(prefix, "oauth_callback"), HubOAuthCallbackHandler),
    ], cookie_secret=os.urandom(32))


def main() -> int:
    from urllib.parse import urlparse

    url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    record = progress.Record(os.environ["LABENV_PROGRESS_DB"])
    os.umask(0o077)
    make_app(record).listen(url.port, url.hostname)
    print(f"progress service on {url.geturl()}, record {record.path}", file=sys.stderr)
    ioloop.IOLoop.current().start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
