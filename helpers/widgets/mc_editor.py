"""McEditor: a form over the howto's sendmail.mc knobs; Show diff, Apply (write, make, reload)."""
from __future__ import annotations

import html

import ipywidgets as w

from helpers.display import Text
from helpers.widgets.form import Form, Outcome
from labenv import configure, testmode
from labenv.errors import ConfigError, Refused
from labenv.sendmail.mc import RelayConfig, SendmailMc

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
BOOL_KNOBS = ("starttls", "mailertable", "masquerade_envelope", "authinfo")
TEXT_KNOBS = ("relay_port", "relay_mailer", "smart_host", "masquerade_as", "auth_mechanisms")


class McEditor(Form):
    """A form over the howto's sendmail.mc knobs: Show diff, Apply (make + reload)."""

    def __init__(self, lab) -> None:
        super().__init__()
        self.lab = lab
        self._mailers: dict[str, str] = {}
        current = configure.read_mc(lab).config()
        self.fields: dict[str, w.Widget] = {}
        for name in BOOL_KNOBS:
            self.fields[name] = w.Checkbox(value=getattr(current, name), description=name,
                                           indent=False, tooltip=KNOB_HELP[name])
        for name in TEXT_KNOBS:
            value = getattr(current, name)
            self.fields[name] = w.Text(value="" if value is None else str(value),
                                       description=name, placeholder="(not set)",
                                       tooltip=KNOB_HELP[name],
                                       style={"description_width": "9em"})
        self.diff_button = w.Button(description="Show diff", icon="eye")
        self.apply_button = w.Button(description="Apply", button_style="warning", icon="check")
        self.diff_button.on_click(self._guard(lambda _: self._show_diff()))
        self.apply_button.on_click(self._guard(lambda _: self.apply()))
        rows = [w.HBox([self.fields[n] for n in BOOL_KNOBS])]
        rows += [w.HBox([self.fields[n], w.HTML(f"<code>{html.escape(KNOB_HELP[n])}</code>")])
                 for n in TEXT_KNOBS]
        self.widget = w.VBox([w.HTML("<b>sendmail.mc: the howto's knobs</b>"), *rows,
                              w.HBox([self.diff_button, self.apply_button]),
                              self.status, self.output])

    # -- the form as a configuration
    def set(self, **knobs) -> McEditor:
        """Fill the form (unknown knob names are refused; values are checked on diff/apply)."""
        for name in knobs:
            if name not in self.fields:
                raise ConfigError("knob", f"unknown knob {name!r} (knobs: {', '.join(self.fields)})")
        for name, value in knobs.items():
            if name in BOOL_KNOBS:
                if not isinstance(value, bool):
                    raise ConfigError(name, "must be True or False")
                self.fields[name].value = value
            else:
                self.fields[name].value = "" if value is None else str(value)
        return self

    def config(self) -> RelayConfig:
        """The form's values as a validated RelayConfig (ConfigError if one is bad)."""
        values: dict[str, object] = {n: self.fields[n].value for n in BOOL_KNOBS}
        for name in TEXT_KNOBS:
            values[name] = self.fields[name].value.strip() or None
        return RelayConfig(**values)

    def proposed(self) -> SendmailMc:
        """The lab's sendmail.mc with the form's knobs (ConfigError if one is bad)."""
        return configure.read_mc(self.lab).with_config(self.config())

    def diff(self) -> Text:
        """Unified diff of the lab's sendmail.mc against the form (ConfigError if invalid)."""
        return Text(self.proposed().diff())

    def _show_diff(self) -> None:
        try:
            text = self.diff()
        except ConfigError as error:
            self._refuse(error, record=False)
            return
        self._say("the change Apply would make:" if text else "no change", text)

    # -- applying
    def apply(self) -> Outcome:
        """Write the form into sendmail.mc, make, reload; a refusal changes nothing."""
        try:
            current = configure.read_mc(self.lab)
            new = current.with_config(self.config())
        except ConfigError as error:
            return self._refuse(error)
        diff = new.diff()
        if not diff:
            self._mailers = testmode.mailer_lines(self.lab)
            return self._done(Outcome(True), "sendmail.mc already says this: nothing to apply",
                              self._mailer_text())
        try:
            make_output = configure.apply_mc(self.lab, new.text)
        except (ConfigError, Refused) as error:
            return self._refuse(error, diff=diff)
        self._mailers = testmode.mailer_lines(self.lab)
        outcome = Outcome(True, applied=True, diff=diff, make_output=make_output,
                          details={"mailers": dict(self._mailers)})
        return self._done(outcome, "applied: sendmail.mc written, make run, sendmail reloaded",
                          diff + "\n" + self._mailer_text())

    def _mailer_text(self) -> str:
        return "\n".join(f"=M {line}" for line in self._mailers.values())

    def result(self) -> Text:
        """The last action as text: the refusal, or the diff applied and the =M lines."""
        if (shown := self._not_applied()) is not None:
            return shown
        last = self._last
        head = "applied:\n" + last.diff if last.applied else "nothing to apply (no change)\n"
        return Text(head + self._mailer_text())
