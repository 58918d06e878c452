"""Real faults an instructor can put into a lab that has the howto applied, and take out again.

    fault = CATALOGUE["wrong-password"]
    fault.inject(lab)          # the lab now really misbehaves
    print(fault.symptom)       # what a learner observes (the cause is not given away)
    fault.repair(lab)          # the instructor's fix, as code
    inject(lab, choose(seed=7))
    restore(lab)

Each fault starts from ``configure.apply_howto(lab, "fixed")`` and changes one
thing the way a person at the mailserver would: an edited table rebuilt (or not),
a `make` without reload, a plugin gone. ``repair`` puts the howto back: a
deferred message then reaches the provider at the next queue run, a bounced one
must be sent again. ``restore(lab)`` takes out whatever fault is in the lab.
"""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from . import configure
from .errors import ConfigError
from .sendmail import howto
from .sendmail.maps import AuthInfo, mailertable_frame, render_authinfo
from .sendmail.paths import AUTHINFO, AUTHINFO_DB, MC

ROLE = "mailserver"
SASL_ASIDE = "/var/backups/.sasl2-aside"
_SASL_GLOBS = ("libplain.so*", "liblogin.so*")
_RELOAD = "kill -HUP $(head -n 1 /run/sendmail/mta/sendmail.pid)"


@dataclass(frozen=True)
class Fault:
    """One fault: what a learner sees, what the instructor knows, and the code that makes and mends it."""

    name: str
    symptom: str
    cause: str
    fix: str
    _inject: Callable = field(repr=False)
    _repair: Callable | None = field(default=None, repr=False)
    #: A queue run started by hand (`sendmail -q`) delivers anyway: look before running one.
    hidden_by_queue_run: bool = False

    def inject(self, lab) -> None:
        """Put the fault into ``lab`` (a lab with the howto applied)."""
        self._inject(lab)

    def repair(self, lab) -> None:
        """The instructor's fix: undo the fault's own step, then the howto again (make, reload)."""
        if self._repair is not None:
            self._repair(lab)
        configure.apply_howto(lab, "fixed")


def _sh(lab, script: str) -> str:
    return lab.exec(ROLE, ["sh", "-c", script], timeout=120).check().stdout


def _entry(**changes) -> AuthInfo:
    return dataclasses.replace(howto.AUTHINFO_ENTRIES["fixed"][0], **changes)


# -- the faults ----------------------------------------------------------------------------
def _missing_mechanisms(lab) -> None:
    configure.install_authinfo(lab, [_entry(M=None)])


def _wrong_password(lab) -> None:
    configure.install_authinfo(lab, [_entry(P=howto.PASSWORD + "-old")])


def _map_not_rebuilt(lab) -> None:
    # The map holds an entry with a wrong password; the text file is then corrected by hand
    # (newer than the map) and nobody runs makemap or make.
    configure.install_authinfo(lab, [_entry(P=howto.PASSWORD + "-old")])
    lab.put_files(ROLE, {AUTHINFO: render_authinfo(howto.AUTHINFO_ENTRIES["fixed"])}, mode=0o600)


def _make_without_reload(lab) -> None:
    # The daemon runs a sendmail.cf whose relay mailer goes to port 25 (blocked by the ISP) ...
    configure.set_knobs(lab, relay_port=None)
    # ... then the fix is built into sendmail.cf with make, and the daemon is not told.
    fixed = configure.read_mc(lab).config().replace(relay_port=howto.CONFIG["fixed"].relay_port)
    lab.apply_files({MC: configure.read_mc(lab).with_config(fixed).text}, reload=False)


_GOOD_FEATURE = "FEATURE(`mailertable')dnl"
_TYPO_FEATURE = "FEATURE(`mailertabel')dnl"


def _replace_mc_line(lab, old: str, new: str) -> None:
    lines = lab.read_file(ROLE, MC).splitlines(keepends=True)
    lab.put_files(ROLE, {MC: "".join(new + "\n" if line.strip() == old else line for line in lines)})


def _feature_typo(lab) -> None:
    _replace_mc_line(lab, _GOOD_FEATURE, _TYPO_FEATURE)
    # Debian's make (it exits 0), then the reload a person runs after it.
    _sh(lab, f"cd /etc/mail && make >/dev/null 2>&1; {_RELOAD}")


def _undo_feature_typo(lab) -> None:
    _replace_mc_line(lab, _TYPO_FEATURE, _GOOD_FEATURE)


def _sasl_modules_missing(lab) -> None:
    globs = " ".join(f"/usr/lib/*/sasl2/{g}" for g in _SASL_GLOBS)
    _sh(lab, f"set -e; for f in {globs}; do d=$(dirname \"$f\"); mkdir -p {SASL_ASIDE}\"$d\"; "
             f"mv \"$f\" {SASL_ASIDE}\"$d\"/; done")


def _restore_sasl_modules(lab) -> None:
    _sh(lab, f"[ -d {SASL_ASIDE} ] || exit 0; cd {SASL_ASIDE} && "
             f"find . -type f -o -type l | while read -r f; do mv \"$f\" \"/${{f#./}}\"; done; "
             f"rm -rf {SASL_ASIDE}")


_TYPO_HOST = howto.PROVIDER.removesuffix(".com") + ".cm"


def _mailertable_typo(lab) -> None:
    rows = [(key, mailer, f"[{_TYPO_HOST}]" if key == "." else host)
            for key, mailer, host in howto.MAILERTABLE_ROWS]
    configure.install_mailertable(lab, mailertable_frame(rows))


def _masquerade_header_only(lab) -> None:
    configure.set_knobs(lab, masquerade_envelope=False)


def _smart_host_port_25(lab) -> None:
    configure.set_knobs(lab, mailertable=False, smart_host=f"esmtp:[{howto.PROVIDER}]")


_ACCESS = "/etc/mail/access"
_NO_TLS = f"Try_TLS:{howto.PROVIDER}"


def _no_tls_to_provider(lab) -> None:
    _sh(lab, f"printf '%s\\tNO\\n' '{_NO_TLS}' >> {_ACCESS} && makemap hash {_ACCESS}.db < {_ACCESS}")


def _undo_no_tls_to_provider(lab) -> None:
    _sh(lab, f"sed -i '/^{_NO_TLS}[[:space:]]/d' {_ACCESS} && makemap hash {_ACCESS}.db < {_ACCESS}")


_FAULTS = [
    Fault("missing-mechanisms",
          "Mail for the Internet stays in the mailserver's queue: Deferred: Temporary AUTH failure.",
          "The AuthInfo entry in /etc/mail/auth/client-info has no \"M:PLAIN LOGIN\"; sendmail's "
          "default client mechanisms lack PLAIN and LOGIN, the only ones the provider offers "
          "(mail.log: available mechanisms= do not fulfill requirements).",
          "Add \"M:PLAIN LOGIN\" to the entry, rebuild client-info.db (makemap hash), run the queue.",
          _missing_mechanisms),
    Fault("wrong-password",
          "Mail for the Internet never reaches the provider; the queue is empty and root gets a "
          "bounce (Service unavailable).",
          "The P: of the AuthInfo entry is wrong: the provider answers AUTH PLAIN and AUTH LOGIN with "
          "535, sendmail goes on without AUTH, MAIL FROM gets 530 5.7.0 Authentication required, "
          "and the message bounces at once.",
          "Correct the password in client-info, rebuild client-info.db, send the message again.",
          _wrong_password),
    Fault("map-not-rebuilt",
          "Mail for the Internet never reaches the provider and root gets a bounce (Service "
          "unavailable), although /etc/mail/auth/client-info looks right.",
          f"{AUTHINFO} was corrected, but {AUTHINFO_DB} was not rebuilt: sendmail reads the map, "
          "which still holds the old (wrong) password: 535, then 530 and a bounce.",
          "makemap hash /etc/mail/auth/client-info.db < /etc/mail/auth/client-info (or make in "
          "/etc/mail), then send again.",
          _map_not_rebuilt),
    Fault("make-without-reload",
          "Mail for the Internet stays in the queue, refused at port 25, although sendmail -bt "
          "shows the relay mailer on port 587.",
          "RELAY_MAILER_ARGS was added and make run, but the daemon was not reloaded: it still runs "
          "the old sendmail.cf (relay on port 25). `sendmail -bt` and a `sendmail -q` started by "
          "hand read the new file.",
          "Reload the daemon (/etc/init.d/sendmail reload, or SIGHUP), then run the queue.",
          _make_without_reload, hidden_by_queue_run=True),
    Fault("feature-typo",
          "Mail for the Internet stays in the queue, refused by mx.example.com; the last `make` "
          "in /etc/mail and the reload went without complaint.",
          f"sendmail.mc says {_TYPO_FEATURE}: m4 cannot open the feature file, Debian's make "
          "installs a sendmail.cf without the mailertable and exits 0 (the error is in "
          "/etc/mail/sendmail.cf.errors), and the reload puts it in use.",
          f"Correct the line to {_GOOD_FEATURE}, make, check that sendmail.cf.errors is absent, "
          "reload, run the queue.",
          _feature_typo, _undo_feature_typo),
    Fault("sasl-modules-missing",
          "Mail for the Internet stays in the queue with a temporary AUTH failure, although "
          "client-info and sendmail.mc look right.",
          "The SASL plugins for PLAIN and LOGIN (libsasl2-modules: libplain.so, liblogin.so) are "
          "missing: mail.log says available mechanisms=PLAIN LOGIN do not fulfill requirements. "
          "sendmail loads them for each delivery, so no reload is needed to see it.",
          f"Install libsasl2-modules (in the lab: move the plugins back from {SASL_ASIDE}), "
          "then run the queue (sendmail -qf); no reload is needed.",
          _sasl_modules_missing, _restore_sasl_modules),
    Fault("mailertable-typo",
          "Mail for the Internet comes back to root as undeliverable: host unknown.",
          f"The mailertable's `.` entry names relay:[{_TYPO_HOST}], a "
          "host that does not exist (rebuilt with makemap, so the map has the typo too).",
          f"Correct the entry to relay:[{howto.PROVIDER}], rebuild mailertable.db, send again.",
          _mailertable_typo),
    Fault("masquerade-header-only",
          "Mail reaches the provider, but its record shows an envelope sender that is not "
          f"@{howto.MASQUERADE_DOMAIN}.",
          "FEATURE(`masquerade_envelope') is missing: only the header sender is masqueraded, the "
          "envelope sender leaves as root@mailserver.private.lan.",
          "Add FEATURE(`masquerade_envelope') to sendmail.mc, make, reload.",
          _masquerade_header_only),
    Fault("no-tls-to-provider",
          "Mail for the Internet never reaches the provider; the queue is empty and root gets a "
          "bounce (Service unavailable).",
          f"An access entry Try_TLS:{howto.PROVIDER} NO stops sendmail from using STARTTLS with the "
          "provider, which offers AUTH only after STARTTLS: MAIL FROM gets 530 Must issue a STARTTLS "
          "command first, and the message bounces.",
          f"Remove the Try_TLS:{howto.PROVIDER} entry from /etc/mail/access, rebuild access.db, "
          "send again.",
          _no_tls_to_provider, _undo_no_tls_to_provider),
    Fault("smart-host-port-25",
          "Mail for the Internet stays in the mailserver's queue, refused at port 25.",
          f"FEATURE(`mailertable') was replaced by SMART_HOST `esmtp:[{howto.PROVIDER}]': the esmtp "
          "mailer connects to port 25, which the ISP blocks (RELAY_MAILER_ARGS only changes relay).",
          "Put FEATURE(`mailertable') back (its `.` entry uses relay:, on port 587) and remove the "
          "SMART_HOST, make, reload, run the queue.",
          _smart_host_port_25),
]

#: Every fault by name, in the order above.
CATALOGUE: dict[str, Fault] = {f.name: f for f in _FAULTS}


def fault(name: str) -> Fault:
    """The fault called ``name``; ConfigError (exit 2) naming the known ones otherwise."""
    try:
        return CATALOGUE[name]
    except KeyError:
        raise ConfigError("fault", f"{name!r} is not in the catalogue; choose one of "
                          f"{', '.join(CATALOGUE)}") from None


def choose(seed: int | None = None) -> str:
    """A fault's name picked by ``seed`` (the same seed, the same fault)."""
    return random.Random(seed).choice(list(CATALOGUE))


def restore(lab) -> None:
    """Take every fault out of ``lab`` (each undo step is harmless when its fault is absent)."""
    for each in CATALOGUE.values():
        if each._repair is not None:
            each._repair(lab)
    configure.apply_howto(lab, "fixed")


def inject(lab, name: str) -> Fault:
    """Restore the howto in ``lab`` and put fault ``name`` in; the Fault (symptom, cause, fix)."""
    chosen = fault(name)
    restore(lab)
    chosen.inject(lab)
    return chosen
