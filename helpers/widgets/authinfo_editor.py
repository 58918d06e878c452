"""AuthInfoEditor: one AuthInfo entry for /etc/mail/auth/client-info; the password is never shown."""
from __future__ import annotations

import ipywidgets as w

from helpers.display import Text
from helpers.widgets.form import GREY, Form, Outcome, block
from labenv import configure, testmode
from labenv.errors import ConfigError, NotSo, Refused
from labenv.sendmail import howto
from labenv.sendmail.maps import AuthInfo, parse_authinfo, render_authinfo
from labenv.sendmail.paths import AUTHINFO
from labenv.sendmail.secrets import mask_authinfo


class AuthInfoEditor(Form):
    """One AuthInfo entry: server, U, I, P (never shown), R, M; Apply -> client-info + makemap.

    Every line it prints has the password masked, and once the password is
    applied the password box is emptied.
    """

    def __init__(self, lab, server: str = howto.PROVIDER) -> None:
        super().__init__()
        self.lab = lab
        self._password: str | None = None
        self.fields = {
            "server": w.Text(value=server, description="server"),
            "U": w.Text(description="U (authzid)", placeholder="(not set)"),
            "I": w.Text(description="I (user)"),
            "P": w.Password(description="P (password)", placeholder="(type it; never shown)"),
            "R": w.Text(description="R (realm)", placeholder="(not set)"),
            "M": w.Text(description="M (mechs)", placeholder="e.g. PLAIN LOGIN"),
        }
        for field in self.fields.values():
            field.style = {"description_width": "8em"}
            field.observe(self._guard(lambda _: self._refresh_line()), names="value")
        self.line = w.HTML()
        self.apply_button = w.Button(description="Apply", button_style="warning", icon="check")
        self.apply_button.on_click(self._guard(lambda _: self.apply()))
        self.widget = w.VBox([w.HTML("<b>/etc/mail/auth/client-info</b>"),
                              *self.fields.values(), self.line, self.apply_button,
                              self.status, self.output])
        self._refresh_line()

    def set(self, **values) -> AuthInfoEditor:
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

    def entry(self) -> AuthInfo:
        """The form as a validated AuthInfo (ConfigError names the bad field)."""
        values = {n: (self.fields[n].value.strip() or None) for n in ("U", "I", "R", "M")}
        if values["I"] is None:
            raise ConfigError("AuthInfo I", "must not be empty")
        password = self.fields["P"].value or self._password
        if not password:
            raise ConfigError("AuthInfo P", "must not be empty")
        return AuthInfo(server=self.fields["server"].value.strip(), P=password, **values)

    def masked_line(self) -> str:
        """The client-info line the form describes, password masked."""
        return mask_authinfo(render_authinfo([self.entry()])).rstrip("\n")

    def _refresh_line(self) -> None:
        try:
            self.line.value = block(self.masked_line())
        except ConfigError as error:
            self.line.value = block(str(error), GREY)

    def apply(self) -> Outcome:
        """Install client-info (700 dir, 600 files), makemap; show the map lookup masked."""
        try:
            entry = self.entry()
        except ConfigError as error:
            return self._refuse(error)
        entries = [e for e in self._existing() if e.server.lower() != entry.server.lower()]
        try:
            configure.install_authinfo(self.lab, [*entries, entry])
        except (ConfigError, Refused) as error:
            return self._refuse(error)
        # The password now lives in the lab; the form forgets what was typed.
        self._password = entry.P
        self.fields["P"].value = ""
        self.fields["P"].placeholder = "(set; never shown)"
        warnings = []
        if not configure.read_mc(self.lab).config().authinfo:
            warnings.append("sendmail.mc has no FEATURE(`authinfo'): sendmail does not read "
                            "client-info.db until you add it (McEditor: authinfo) and apply")
        lookup = testmode.lookup(self.lab, "authinfo", entry.key) if not warnings else None
        self._last = Outcome(True, applied=True, warnings=warnings, details={
            "line": self.masked_line(),
            "key": entry.key,
            "lookup": None if lookup is None else
            (mask_authinfo(lookup["value"]) if lookup["found"] else "(not found)"),
            "permissions": configure.auth_permission_problems(self.lab)})
        return self._done(self._last, "applied: client-info written, makemap run", str(self.result()))

    def _existing(self) -> list[AuthInfo]:
        """The entries in the lab's client-info ([] when it has none or one this editor cannot read)."""
        try:
            return parse_authinfo(self.lab.read_file("mailserver", AUTHINFO))
        except (NotSo, ConfigError):
            return []

    def result(self) -> Text:
        """The last Apply: the masked line, the map lookup, warnings, the permissions check."""
        if (shown := self._not_applied()) is not None:
            return shown
        last = self._last
        d = last.details
        lines = [f"client-info: {d['line']}"]
        if d["lookup"] is not None:
            lines.append(f"/map authinfo {d['key']} -> {d['lookup']}")
        lines += [f"warning: {x}" for x in last.warnings]
        lines.append("permissions: ok (/etc/mail/auth 700, files not readable by others)"
                     if not d["permissions"] else "permissions: " + "; ".join(d["permissions"]))
        return Text("\n".join(lines))
