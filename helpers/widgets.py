"""Interactive editors and viewers for the notebooks (ipywidgets 8).

Every widget works two ways: a learner clicks (and the live lab changes), or a
notebook drives it from code so a run is reproducible; ``.result()`` then gives a
static DataFrame or text for the next cell, which is what the stored notebook and
nbval keep::

    editor = McEditor(lab)
    editor                                   # the form (in a cell tagged nbval-ignore-output)
    editor.set(relay_port=587).diff()        # unified diff of sendmail.mc
    outcome = editor.apply()                 # write, make, reload -- or refuse
    editor.result()                          # next cell: what was applied, =M lines

    MailertableEditor(lab, rows=[...], addresses=["bob@example.com"]).apply()
    AuthInfoEditor(lab).set(I="user_name", P=secret, M="PLAIN LOGIN").apply()
    AddressTester(lab).set(["x@hosta.private.lan"]).routes()
    InboxViewer(lab).messages()
    DialogueViewer.from_verbose(text).table() / DialogueViewer.from_session(session)

Bad input never reaches the lab: it is refused with the one-line ConfigError, shown
in red, and nothing is written. When Debian's make fails, labenv restores
/etc/mail and sendmail keeps its last good configuration; the editor says so.
Passwords are never shown: the AuthInfo editor masks them in every line it prints
and empties its password box once the password has been applied.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import ipywidgets as w
import pandas as pd

from helpers import bt
from helpers.apply import ApplyError, apply_mc, read_mc
from helpers.maps import (AUTHINFO, MASK, MAILERTABLE, AuthInfo, check_auth_permissions,
                          install_authinfo, install_mailertable, mailertable_frame,
                          parse_authinfo, parse_mailertable, render_authinfo)
from labenv.sendmail.mc import RelayConfig, SendmailMc
from labenv.sendmail.parsers import dialogue as dialogue_parser
from labenv.sendmail.routing import route_frame
from labenv.errors import ConfigError
from labenv.sendmail.validate import check_address

RED = "#b00020"
GREEN = "#1b5e20"


class StaticText(str):
    """Text that a notebook cell shows as it is (no quotes, real line breaks)."""

    def __repr__(self) -> str:
        return str(self)


def _html(text: str, color: str | None = None, pre: bool = True) -> str:
    style = f"color:{color};" if color else ""
    body = html.escape(text)
    return (f'<pre style="{style}margin:0;white-space:pre-wrap">{body}</pre>' if pre
            else f'<span style="{style}">{body}</span>')


def mask_authinfo_value(text: str) -> str:
    """An authinfo line or map value with every P field (plain or base64) masked."""
    return re.sub(r'"P[:=][^"]*"', f'"P:{MASK}"', text or "")


class _Widget:
    """Displaying the object displays its widget."""

    widget: w.Widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


@dataclass
class Outcome:
    """What an Apply did: ``ok``; ``error`` (one line first) when refused; details."""

    ok: bool
    error: str | None = None
    applied: bool = False
    diff: str = ""
    make_output: str = ""
    warnings: list[str] = field(default_factory=list)
    details: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok


# ------------------------------------------------------------------ sendmail.mc

KNOB_HELP = {
    "starttls": "include(`/etc/mail/tls/starttls.m4')",
    "relay_mailer": "define(`RELAY_MAILER',...) (no cf macro reads it)",
    "relay_port": "define(`RELAY_MAILER_ARGS',`TCP $h PORT')",
    "smart_host": "define(`SMART_HOST',...), e.g. [relayhost.somedom.com]",
    "mailertable": "FEATURE(`mailertable')",
    "masquerade_as": "MASQUERADE_AS(...)",
    "masquerade_envelope": "FEATURE(`masquerade_envelope')",
    "authinfo": "FEATURE(`authinfo',`hash /etc/mail/auth/client-info.db')",
    "auth_mechanisms": "define(`confAUTH_MECHANISMS',...), e.g. PLAIN LOGIN",
}
_BOOL_KNOBS = ("starttls", "mailertable", "masquerade_envelope", "authinfo")
_TEXT_KNOBS = ("relay_port", "relay_mailer", "smart_host", "masquerade_as", "auth_mechanisms")


class McEditor(_Widget):
    """A form over the howto's sendmail.mc knobs: Show diff, Apply (make + reload)."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self._mc = SendmailMc.parse(read_mc(lab))
        self._last: Outcome | None = None
        self._mailers: dict[str, str] = {}
        current = self._mc.config()
        self.fields: dict[str, w.Widget] = {}
        for name in _BOOL_KNOBS:
            self.fields[name] = w.Checkbox(value=getattr(current, name), description=name,
                                           indent=False, tooltip=KNOB_HELP[name])
        for name in _TEXT_KNOBS:
            value = getattr(current, name)
            self.fields[name] = w.Text(value="" if value is None else str(value),
                                       description=name, placeholder="(not set)",
                                       tooltip=KNOB_HELP[name],
                                       style={"description_width": "9em"})
        self.diff_button = w.Button(description="Show diff", icon="eye")
        self.apply_button = w.Button(description="Apply", button_style="warning", icon="check")
        self.status = w.HTML()
        self.output = w.HTML()
        self.diff_button.on_click(lambda _: self._show_diff())
        self.apply_button.on_click(lambda _: self.apply())
        rows = [w.HBox([self.fields[n] for n in _BOOL_KNOBS])]
        rows += [w.HBox([self.fields[n], w.HTML(f"<code>{html.escape(KNOB_HELP[n])}</code>")])
                 for n in _TEXT_KNOBS]
        self.widget = w.VBox([w.HTML("<b>sendmail.mc: the howto's knobs</b>"), *rows,
                              w.HBox([self.diff_button, self.apply_button]),
                              self.status, self.output])

    # -- the form as a configuration
    def set(self, **knobs) -> "McEditor":
        """Fill the form (unknown knob names are refused; values are checked on diff/apply)."""
        for name in knobs:
            if name not in self.fields:
                raise ConfigError("knob", f"unknown knob {name!r} (knobs: {', '.join(self.fields)})")
        for name, value in knobs.items():
            if name in _BOOL_KNOBS:
                if not isinstance(value, bool):
                    raise ConfigError(name, "must be True or False")
                self.fields[name].value = value
            else:
                self.fields[name].value = "" if value is None else str(value)
        return self

    def config(self) -> RelayConfig:
        """The form's values as a validated RelayConfig (ConfigError if one is bad)."""
        values: dict[str, object] = {n: self.fields[n].value for n in _BOOL_KNOBS}
        for name in _TEXT_KNOBS:
            text = self.fields[name].value.strip()
            values[name] = text or None
        return RelayConfig(**values)

    def proposed(self) -> SendmailMc:
        return SendmailMc.parse(read_mc(self.lab)).with_config(self.config())

    def diff(self) -> str:
        """Unified diff of the lab's sendmail.mc against the form (ConfigError if invalid)."""
        new = self.proposed()
        return StaticText(new.diff())

    def _show_diff(self) -> None:
        try:
            text = self.diff()
        except ConfigError as error:
            self._refused(str(error))
            return
        self.status.value = _html("no change" if not text else "the change Apply would make:",
                                  pre=False)
        self.output.value = _html(text) if text else ""

    def _refused(self, message: str) -> None:
        self.status.value = _html(message, RED)
        self.output.value = _html("nothing was applied", RED)

    # -- applying
    def apply(self) -> Outcome:
        """Write the form into sendmail.mc, make, reload; a refusal changes nothing."""
        try:
            current = SendmailMc.parse(read_mc(self.lab))
            new = current.with_config(self.config())
        except ConfigError as error:
            self._last = Outcome(False, str(error))
            self._refused(str(error))
            return self._last
        diff = new.diff()
        if not diff:
            self._mc = current
            self._last = Outcome(True, applied=False)
            self._mailers = bt.mailer_lines(self.lab)
            self.status.value = _html("sendmail.mc already says this: nothing to apply", pre=False)
            self.output.value = _html(self._mailer_text())
            return self._last
        try:
            result = apply_mc(self.lab, new.text)
        except (ApplyError, ConfigError) as error:
            text = str(error)
            self._last = Outcome(False, text, diff=diff)
            self.status.value = _html(text.splitlines()[0], RED)
            self.output.value = _html(
                "\n".join(text.splitlines()[1:] +
                          ["make failed: /etc/mail was restored; sendmail keeps its last good "
                           "configuration"]), RED)
            return self._last
        self._mc = SendmailMc.parse(read_mc(self.lab))
        self._mailers = bt.mailer_lines(self.lab)
        self._last = Outcome(True, applied=True, diff=diff, make_output=result.make_output,
                             details={"mailers": dict(self._mailers)})
        self.status.value = _html("applied: sendmail.mc written, make run, sendmail reloaded",
                                  GREEN, pre=False)
        self.output.value = _html(diff + "\n" + self._mailer_text())
        return self._last

    def _mailer_text(self) -> str:
        return "\n".join(f"=M {line}" for line in self._mailers.values())

    def result(self) -> StaticText:
        """The last action as text: the refusal, or the diff applied and the =M lines."""
        last = self._last
        if last is None:
            return StaticText("nothing applied yet")
        if not last.ok:
            tail = ("\nnothing was applied" if not last.diff else
                    "\nmake failed: /etc/mail was restored; sendmail keeps its last good "
                    "configuration")
            return StaticText(f"refused: {last.error}{tail}")
        head = "applied:\n" + last.diff if last.applied else "nothing to apply (no change)\n"
        return StaticText(head + self._mailer_text())


# ------------------------------------------------------------------ mailertable

DEFAULT_ADDRESSES = ["bob@example.com", "x@hosta.private.lan", "x@darknet.lan",
                     "x@box.darknet.lan", "root@mailserver.private.lan", "root"]


class MailertableEditor(_Widget):
    """Editable mailertable rows, Validate/Apply, and a live routing table of test addresses."""

    def __init__(self, lab, rows=None, addresses: list[str] | None = None, *,
                 compare_model: bool = True) -> None:
        self.lab = lab
        self.addresses = list(addresses or DEFAULT_ADDRESSES)
        self.compare_model = compare_model
        self._rows_box = w.VBox()
        self._row_widgets: list[tuple[w.Text, w.Text, w.Text]] = []
        self._routes: pd.DataFrame | None = None
        self._last: Outcome | None = None
        self.add_button = w.Button(description="Add row", icon="plus")
        self.validate_button = w.Button(description="Validate", icon="check-square")
        self.apply_button = w.Button(description="Apply", button_style="warning", icon="check")
        self.status = w.HTML()
        self.table_out = w.HTML()
        self.add_button.on_click(lambda _: self._add_row("", "esmtp", ""))
        self.validate_button.on_click(lambda _: self._validate_clicked())
        self.apply_button.on_click(lambda _: self.apply())
        if rows is None:
            rows = self._lab_rows()
        self.set_rows(rows)
        self.widget = w.VBox([w.HTML("<b>/etc/mail/mailertable</b> (key, mailer, host)"),
                              self._rows_box,
                              w.HBox([self.add_button, self.validate_button, self.apply_button]),
                              self.status, w.HTML("<b>Routing of the test addresses</b>"),
                              self.table_out])

    def _lab_rows(self) -> list[tuple[str, str, str]]:
        result = self.lab.exec("mailserver", ["cat", MAILERTABLE])
        if result.exit_code != 0:
            return []
        try:
            return [tuple(r) for r in parse_mailertable(result.stdout).itertuples(index=False)]
        except ConfigError:
            return []

    def _add_row(self, key: str, mailer: str, host: str) -> None:
        fields = (w.Text(value=key, placeholder=".domain or host", layout=w.Layout(width="14em")),
                  w.Text(value=mailer, placeholder="esmtp / relay / ...",
                         layout=w.Layout(width="8em")),
                  w.Text(value=host, placeholder="[host]", layout=w.Layout(width="20em")))
        remove = w.Button(icon="trash", layout=w.Layout(width="3em"), tooltip="remove this row")
        line = w.HBox([*fields, remove])
        remove.on_click(lambda _: self._remove(fields, line))
        self._row_widgets.append(fields)
        self._rows_box.children = (*self._rows_box.children, line)

    def _remove(self, fields, line) -> None:
        self._row_widgets = [f for f in self._row_widgets if f is not fields]
        self._rows_box.children = tuple(c for c in self._rows_box.children if c is not line)

    def set_rows(self, rows) -> "MailertableEditor":
        """Replace the rows in the form (validated on Validate/Apply)."""
        if isinstance(rows, pd.DataFrame):
            rows = list(rows.loc[:, ["key", "mailer", "host"]].itertuples(index=False))
        self._row_widgets, self._rows_box.children = [], ()
        for row in rows:
            key, mailer, host = (str(v) for v in row)
            self._add_row(key, mailer, host)
        return self

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(f.value.strip() for f in fields) for fields in self._row_widgets]

    def frame(self) -> pd.DataFrame:
        """The rows as a validated DataFrame (ConfigError names the bad value)."""
        return mailertable_frame(self.rows())

    def validate(self) -> list[str]:
        """Problems with the rows as one-line messages ([] = fine)."""
        try:
            self.frame()
        except ConfigError as error:
            return [str(error)]
        return []

    def _validate_clicked(self) -> None:
        problems = self.validate()
        self.status.value = (_html(problems[0], RED) if problems else
                             _html(f"{len(self._row_widgets)} row(s) look fine", GREEN, pre=False))

    def feature_enabled(self) -> bool:
        return SendmailMc.parse(read_mc(self.lab)).config().mailertable

    def apply(self) -> Outcome:
        """Write /etc/mail/mailertable and makemap it, then refresh the routing table."""
        try:
            frame = self.frame()
        except ConfigError as error:
            self._last = Outcome(False, str(error))
            self.status.value = _html(f"{error}\nnothing was applied", RED)
            return self._last
        warnings = []
        if not self.feature_enabled():
            warnings.append("sendmail.mc has no FEATURE(`mailertable'): the map is built, but "
                            "sendmail does not read it until you add the FEATURE "
                            "(McEditor: mailertable) and apply")
        try:
            text = install_mailertable(self.lab, frame)
        except ConfigError as error:
            self._last = Outcome(False, str(error))
            self.status.value = _html(f"{error}\nthe lab keeps its previous mailertable", RED)
            return self._last
        self.routes()   # refresh the routing table shown under the form
        self._last = Outcome(True, applied=True, warnings=warnings, details={"text": text})
        self.status.value = (_html("applied: mailertable written, makemap run", GREEN, pre=False)
                             + "".join(_html(x, RED) for x in warnings))
        return self._last

    def routes(self) -> pd.DataFrame:
        """Route every test address now (one sendmail -bt); with the model's answer beside it."""
        real = _routes_frame(self.lab, self.addresses)
        if self.compare_model:
            real = _with_model(self.lab, real, self.rows_for_model())
        self._routes = real
        self.table_out.value = real.to_html(index=False, na_rep="")
        return real

    def rows_for_model(self) -> pd.DataFrame | None:
        try:
            return self.frame() if self.feature_enabled() else None
        except ConfigError:
            return None

    def result(self):
        """The routing table of the last Apply/refresh (or the refusal as text)."""
        if self._last is not None and not self._last.ok:
            return StaticText(f"refused: {self._last.error}\nnothing was applied")
        table = self._routes if self._routes is not None else self.routes()
        if self._last is not None and self._last.warnings:
            print("\n".join(f"warning: {x}" for x in self._last.warnings))
        return table


def _routes_frame(lab, addresses: list[str]) -> pd.DataFrame:
    """sendmail's routing of ``addresses``: address, mailer, host, user, key."""
    frame = bt.route_table(lab, addresses)
    return frame.drop(columns=[c for c in ("trace", "lookups") if c in frame.columns])


def _with_model(lab, real: pd.DataFrame, table: pd.DataFrame | None) -> pd.DataFrame:
    """``real`` plus the pure model's mailer/host and whether the two agree."""
    from labenv.topology import canonical_names

    local = bt.bt_class(lab, "w")
    smart = SendmailMc.parse(read_mc(lab)).config().smart_host
    model = route_frame(list(real["address"]), table, local_names=local, smart_host=smart,
                        canonical=canonical_names())
    def clean(value):
        return None if value is None or (isinstance(value, float) and pd.isna(value)) else value

    out = real.copy()
    hosts = [clean(h) for h in model["host"]]
    out["model"] = [f"{m}:{h}" if h else m for m, h in zip(model["mailer"], hosts)]
    out["agree"] = [(rm, clean(rh)) == (mm, mh) for rm, rh, mm, mh in
                    zip(real["mailer"], real["host"], model["mailer"], hosts)]
    return out


# ------------------------------------------------------------------ authinfo

class AuthInfoEditor(_Widget):
    """One AuthInfo entry: server, U, I, P (never shown), R, M; Apply -> client-info + makemap."""

    def __init__(self, lab, server: str = "relayhost.somedom.com") -> None:
        self.lab = lab
        self._password: str | None = None
        self._last: Outcome | None = None
        self.fields = {
            "server": w.Text(value=server, description="server"),
            "U": w.Text(description="U (authzid)", placeholder="(not set)"),
            "I": w.Text(description="I (user)"),
            "P": w.Password(description="P (password)", placeholder="(type it; never shown)"),
            "R": w.Text(description="R (realm)", placeholder="(not set)"),
            "M": w.Text(description="M (mechs)", placeholder="e.g. PLAIN LOGIN"),
        }
        for field_ in self.fields.values():
            field_.style = {"description_width": "8em"}
            field_.observe(lambda _: self._refresh_line(), names="value")
        self.line = w.HTML()
        self.apply_button = w.Button(description="Apply", button_style="warning", icon="check")
        self.apply_button.on_click(lambda _: self.apply())
        self.status = w.HTML()
        self.output = w.HTML()
        self.widget = w.VBox([w.HTML("<b>/etc/mail/auth/client-info</b>"),
                              *self.fields.values(), self.line, self.apply_button,
                              self.status, self.output])
        self._refresh_line()

    def set(self, **values) -> "AuthInfoEditor":
        """Fill fields server, U, I, P, R, M (P is kept aside, never put in the form)."""
        for name in values:
            if name not in self.fields:
                raise ConfigError("AuthInfo field", f"unknown field {name!r} "
                                  f"(fields: {', '.join(self.fields)})")
        for name, value in values.items():
            if name == "P":
                self._password = value
                self.fields["P"].value = ""
                self.fields["P"].placeholder = "(set; never shown)" if value else ""
            else:
                self.fields[name].value = "" if value is None else value
        self._refresh_line()
        return self

    def _password_value(self) -> str | None:
        typed = self.fields["P"].value
        return typed if typed else self._password

    def entry(self) -> AuthInfo:
        """The form as a validated AuthInfo (ConfigError names the bad field)."""
        values = {n: (self.fields[n].value.strip() or None) for n in ("U", "I", "R", "M")}
        if values["I"] is None:
            raise ConfigError("AuthInfo I", "must not be empty")
        password = self._password_value()
        if not password:
            raise ConfigError("AuthInfo P", "must not be empty")
        return AuthInfo(server=self.fields["server"].value.strip(), P=password, **values)

    def masked_line(self) -> str:
        """The client-info line the form describes, password masked."""
        entry = self.entry()
        return mask_authinfo_value(render_authinfo([entry])).rstrip("\n")

    def _refresh_line(self) -> None:
        try:
            self.line.value = _html(self.masked_line())
        except ConfigError as error:
            self.line.value = _html(str(error), "#888")

    def apply(self) -> Outcome:
        """Install client-info (700 dir, 600 files), makemap; show the map lookup masked."""
        try:
            entry = self.entry()
        except ConfigError as error:
            self._last = Outcome(False, str(error))
            self.status.value = _html(f"{error}\nnothing was applied", RED)
            return self._last
        entries = [e for e in self._existing() if e.server.lower() != entry.server.lower()]
        try:
            install_authinfo(self.lab, [*entries, entry])
        except ConfigError as error:
            self._last = Outcome(False, str(error))
            self.status.value = _html(f"{error}\nthe lab keeps its previous client-info", RED)
            return self._last
        # The password now lives in the lab; the form forgets what was typed.
        self._password = entry.P
        self.fields["P"].value = ""
        self.fields["P"].placeholder = "(set; never shown)"
        warnings = []
        if not SendmailMc.parse(read_mc(self.lab)).config().authinfo:
            warnings.append("sendmail.mc has no FEATURE(`authinfo'): sendmail does not read "
                            "client-info.db until you add it (McEditor: authinfo) and apply")
        lookup = bt.bt_map(self.lab, "authinfo", entry.key) if not warnings else None
        permissions = check_auth_permissions(self.lab)
        self._last = Outcome(True, applied=True, warnings=warnings, details={
            "line": mask_authinfo_value(render_authinfo([entry])).rstrip("\n"),
            "key": entry.key,
            "lookup": None if lookup is None else
            (mask_authinfo_value(lookup["value"]) if lookup["found"] else "(not found)"),
            "permissions": permissions})
        self.status.value = _html("applied: client-info written, makemap run", GREEN, pre=False)
        self.output.value = _html(str(self.result()))
        return self._last

    def _existing(self) -> list[AuthInfo]:
        result = self.lab.exec("mailserver", ["cat", AUTHINFO])
        if result.exit_code != 0:
            return []
        try:
            return parse_authinfo(result.stdout)
        except ConfigError:
            return []

    def result(self) -> StaticText:
        last = self._last
        if last is None:
            return StaticText("nothing applied yet")
        if not last.ok:
            return StaticText(f"refused: {last.error}\nnothing was applied")
        d = last.details
        lines = [f"client-info: {d['line']}"]
        if d["lookup"] is not None:
            lines.append(f"/map authinfo {d['key']} -> {d['lookup']}")
        lines += [f"warning: {x}" for x in last.warnings]
        lines.append("permissions: ok (/etc/mail/auth 700, files not readable by others)"
                     if not d["permissions"] else "permissions: " + "; ".join(d["permissions"]))
        return StaticText("\n".join(lines))


# ------------------------------------------------------------------ addresses

class AddressTester(_Widget):
    """Addresses, one per line -> how sendmail routes each (one sendmail -bt)."""

    def __init__(self, lab, addresses: list[str] | None = None) -> None:
        self.lab = lab
        self.text = w.Textarea(value="\n".join(addresses or DEFAULT_ADDRESSES),
                               layout=w.Layout(width="30em", height="9em"))
        self.button = w.Button(description="Route", icon="random")
        self.status = w.HTML()
        self.table_out = w.HTML()
        self._routes: pd.DataFrame | None = None
        self._error: str | None = None
        self.button.on_click(lambda _: self.routes())
        self.widget = w.VBox([w.HTML("<b>Test addresses</b> (one per line)"), self.text,
                              self.button, self.status, self.table_out])

    def set(self, addresses: list[str]) -> "AddressTester":
        self.text.value = "\n".join(addresses)
        return self

    def addresses(self) -> list[str]:
        return [line.strip() for line in self.text.value.splitlines() if line.strip()]

    def routes(self) -> pd.DataFrame | None:
        """The routing table, or None (and the error in red) when an address is refused."""
        try:
            addresses = [check_address("address", a) for a in self.addresses()]
            if not addresses:
                raise ConfigError("address", "give at least one address")
        except ConfigError as error:
            self._error = str(error)
            self.status.value = _html(self._error, RED)
            return None
        self._error = None
        self._routes = _routes_frame(self.lab, addresses)
        self.status.value = ""
        self.table_out.value = self._routes.to_html(index=False, na_rep="")
        return self._routes

    def result(self):
        if self._error:
            return StaticText(f"refused: {self._error}")
        return self._routes if self._routes is not None else self.routes()


# ------------------------------------------------------------------ inbox

INBOX_COLUMNS = ["id", "port", "tls", "auth", "mail_from", "rcpt_to", "header_from", "subject"]


class InboxViewer(_Widget):
    """What the provider (or the LAN's mailhost) received: a table and one message's detail."""

    def __init__(self, lab, role: str = "relayhost") -> None:
        if role not in ("relayhost", "mailhost"):
            raise ConfigError("role", f"{role!r}: choose relayhost or mailhost")
        self.lab = lab
        self.role = role
        self._messages: list[dict] = []
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.pick = w.Dropdown(description="message", options=[])
        self.table_out = w.HTML()
        self.detail_out = w.HTML()
        self.refresh_button.on_click(lambda _: self.refresh())
        self.pick.observe(lambda change: self._show_detail(change["new"]), names="value")
        self.widget = w.VBox([w.HTML(f"<b>{role}: messages received</b>"), self.refresh_button,
                              self.table_out, self.pick, self.detail_out])

    def _source(self):
        return self.lab.provider if self.role == "relayhost" else self.lab.mailhost

    def refresh(self) -> pd.DataFrame:
        self._messages = self._source().messages()
        frame = self.messages(fetch=False)
        self.table_out.value = (frame.to_html(index=False, na_rep="") if len(frame)
                                else _html("no messages received", pre=False))
        self.pick.options = [(f"{m['queue_id']}: {m['headers'].get('Subject', '')}", i)
                             for i, m in enumerate(self._messages)]
        return frame

    def messages(self, fetch: bool = True) -> pd.DataFrame:
        """One row per message: port, TLS, AUTH user, envelope, header From, Subject."""
        if fetch:
            self._messages = self._source().messages()
        rows = [{"id": m["queue_id"], "port": m["port"], "tls": m["tls"] or "none",
                 "auth": m["authenticated_as"] or "-", "mail_from": m["mail_from"],
                 "rcpt_to": ", ".join(m["rcpt_tos"]), "header_from": m["headers"].get("From"),
                 "subject": m["headers"].get("Subject")} for m in self._messages]
        return pd.DataFrame(rows, columns=INBOX_COLUMNS)

    def detail(self, index: int = -1) -> StaticText:
        """One message as received: envelope, then headers and body."""
        if not self._messages:
            self._messages = self._source().messages()
        if not self._messages:
            return StaticText("no messages received")
        m = self._messages[index]
        head = (f"port {m['port']}, TLS {m['tls'] or 'none'}, AUTH {m['authenticated_as'] or '-'}\n"
                f"MAIL FROM:<{m['mail_from']}> {' '.join(m.get('mail_options') or [])}\n"
                + "".join(f"RCPT TO:<{r}>\n" for r in m["rcpt_tos"]))
        return StaticText(head + "\n" + m["data"].replace("\r\n", "\n"))

    def _show_detail(self, index) -> None:
        if index is not None:
            self.detail_out.value = _html(str(self.detail(index)))

    def result(self) -> pd.DataFrame:
        return self.messages()


# ------------------------------------------------------------------ SMTP dialogue

TLS_NOTE = "TLS handshake: from here on the connection is encrypted"
CRED_NOTE = "carries credentials: base64 of authzid\\0user\\0password, trivially decodable"
CRED_LOGIN = "AUTH LOGIN: user name and password follow, each in base64, trivially decodable"
CRED_OTHER = "starts a login: the credentials follow in base64"
CRED_CONT = "credentials (base64), decodable"


def _auth_note(line: str) -> str:
    words = line.upper().split()
    mechanism = words[1] if len(words) > 1 else ""
    if mechanism == "PLAIN":
        return CRED_NOTE
    if mechanism == "LOGIN":
        return CRED_LOGIN
    return CRED_OTHER


class DialogueViewer(_Widget):
    """An SMTP dialogue as a table and a client|server sequence diagram.

    ``from_session(session)``: a provider record (``lab.provider.sessions()[i]``),
    whose transcript already hides the credentials. ``from_verbose(text)``: what
    ``sendmail -v`` printed; AUTH lines there carry the real base64 credentials and
    are masked unless ``mask_credentials=False``.
    """

    def __init__(self, steps: list[dict], title: str = "SMTP dialogue") -> None:
        self.steps = steps
        self.title = title
        self.widget = w.VBox([w.HTML(f"<b>{html.escape(title)}</b>"), w.HTML(self.html())])

    @classmethod
    def from_session(cls, session: dict, title: str | None = None) -> "DialogueViewer":
        steps = []
        auth_pending = False
        for entry in session.get("transcript", []):
            line = entry["line"]
            if entry["dir"] == "S" and not line:
                continue
            who = "client" if entry["dir"] == "C" else "server"
            note = None
            if who == "client" and (line.upper().startswith("AUTH ") or auth_pending):
                note = _auth_note(line) if line.upper().startswith("AUTH ") else CRED_CONT
            if who == "server" and line.startswith("334"):
                auth_pending = True
            elif who == "server":
                auth_pending = False
            steps.append({"from": who, "line": line, "note": note})
            if who == "server" and line.startswith("220") and steps[-2:-1] and \
                    steps[-2]["line"].upper() == "STARTTLS":
                steps.append({"from": "note", "line": TLS_NOTE, "note": None})
        name = title or (f"provider session on port {session.get('port')}, "
                         f"TLS {session.get('tls') or 'none'}")
        return cls(steps, name)

    @classmethod
    def from_verbose(cls, text: str, *, mask_credentials: bool = True,
                     title: str = "sendmail -v") -> "DialogueViewer":
        # `sendmail -v` through the MSP relays the MTA's dialogue as "050 " lines.
        lines = [line[4:] if line.startswith("050 ") else line for line in text.splitlines()]
        steps = []
        auth_pending = False
        previous = None
        for row in dialogue_parser.parse("\n".join(lines)):
            who = {"client": "client", "server": "server", "note": "note"}[row["direction"]]
            if who == "server":
                sep = "-" if not row["last"] else (" " if row["text"] else "")
                line = f"{row['code']}{sep}{row['text']}"
            else:
                line = row["text"]
            note = None
            if who == "client" and (row["command"] == "AUTH" or auth_pending):
                is_auth = row["command"] == "AUTH"
                note = _auth_note(line) if is_auth else CRED_CONT
                parts = line.split()
                if mask_credentials and (len(parts) > 2 if is_auth else line not in ("", "*")):
                    secret = parts[-1]
                    masked = f"<base64, {len(secret)} characters>"
                    line = " ".join(parts[:-1] + [masked]) if is_auth else masked
            if who == "server":
                auth_pending = row["code"] == 334
            steps.append({"from": who, "line": line, "note": note})
            if who == "server" and row["code"] == 220 and previous == "STARTTLS":
                steps.append({"from": "note", "line": TLS_NOTE, "note": None})
            previous = row["command"] if who == "client" else None
        return cls(steps, title)

    def table(self) -> pd.DataFrame:
        """One row per line: step, from (client/server/note), line, note."""
        frame = pd.DataFrame(self.steps, columns=["from", "line", "note"])
        frame.insert(0, "step", range(1, len(frame) + 1))
        frame["note"] = frame["note"].fillna("")
        return frame

    def text(self) -> StaticText:
        """A plain-text sequence diagram (client on the left, server on the right)."""
        width = max([len(s["line"]) for s in self.steps if s["from"] == "client"] + [20])
        out = [f"{'client':<{width}}       server"]
        for step in self.steps:
            flag = "   !! " + step["note"] if step["note"] else ""
            if step["from"] == "client":
                out.append(f"{step['line']:<{width}} ---->{flag}")
            elif step["from"] == "server":
                out.append(f"{'':<{width}} <---- {step['line']}")
            else:
                out.append(f"{'':<{width}} ~~~~~ {step['line']}")
        return StaticText("\n".join(out))

    def html(self) -> str:
        """A simple sequence diagram: client | arrow | server, AUTH lines flagged."""
        rows = []
        for step in self.steps:
            line = html.escape(step["line"])
            note = (f'<div style="color:{RED};font-size:85%">&#9888; {html.escape(step["note"])}'
                    "</div>" if step["note"] else "")
            if step["from"] == "client":
                rows.append(f'<tr><td style="text-align:right"><code>{line}</code>{note}</td>'
                            '<td style="text-align:center">&#10230;</td><td></td></tr>')
            elif step["from"] == "server":
                rows.append('<tr><td></td><td style="text-align:center">&#10229;</td>'
                            f"<td><code>{line}</code></td></tr>")
            else:
                rows.append(f'<tr><td colspan="3" style="text-align:center;color:#555">'
                            f"<i>{line}</i></td></tr>")
        return ('<table style="border-collapse:collapse"><tr><th style="text-align:right">client'
                '</th><th></th><th style="text-align:left">server</th></tr>'
                + "".join(rows) + "</table>")

    def result(self) -> pd.DataFrame:
        return self.table()
