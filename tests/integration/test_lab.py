"""The lab tells the howto's story for real: port 25 blocked, 587 with AUTH and TLS works."""

from __future__ import annotations

import pytest

from labenv.configure import apply_howto
from labenv.sendmail.paths import MC
from labenv.testmode import route_table
from tests.support import cli, deferred, queued, wait_until

pytestmark = pytest.mark.integration


def with_subject(server, subject: str) -> list[dict]:
    return [m for m in server.messages() if m["headers"].get("Subject") == subject]


def route(lab, addresses: list[str]) -> list[dict]:
    return route_table(lab, addresses)[["address", "mailer", "host", "user"]].to_dict("records")


def probe(lab, port: int) -> str:
    return lab.exec("mailserver", ["sh", "-c",
                    f"printf 'QUIT\\r\\n' | nc -w 3 relayhost.somedom.com {port} 2>&1; echo rc=$?"]).stdout


def test_hostname_is_qualified_so_sendmail_never_waits(lab):
    # An unqualified host name makes every sendmail run sleep 60 s trying to qualify it.
    result = lab.exec("mailserver", ["sendmail", "-d0.4", "-bt"], stdin="", timeout=30).check()
    assert "Canonical name: mailserver.private.lan" in result.stdout
    assert "(canonical domain name) $j = mailserver.private.lan" in result.stdout
    assert "unable to qualify" not in result.output


def test_isp_blocks_port_25_but_not_587_or_loopback(lab):
    assert "220 relayhost.somedom.com" in probe(lab, 587)
    blocked = probe(lab, 25)
    assert "220" not in blocked and "rc=0" not in blocked
    local = lab.exec("mailserver", ["sh", "-c", "printf 'QUIT\\r\\n' | nc -w 3 127.0.0.1 25"]).stdout
    assert local.startswith("220 mailserver.private.lan")
    # The provider really listens on 25: from the Internet side it answers.
    inside = lab.exec("relayhost", ["swaks", "--server", "127.0.0.1:25", "--quit-after", "EHLO"])
    assert "220 relayhost.somedom.com" in inside.output


def test_fresh_lab_sends_direct_and_mail_stays_deferred(lab):
    [row] = route(lab, ["friend@example.com"])
    assert (row["mailer"], row["host"]) == ("esmtp", "example.com.")
    lab.exec("mailserver", ["sendmail", "-i", "-f", "root", "friend@example.com"],
             stdin="Subject: fresh lab\n\nhello\n").check()
    [message] = wait_until(lambda: deferred(lab, "Connection refused"), what="the deferral")
    assert message["recipients"] == ["<friend@example.com>"]
    assert lab.provider.messages() == []


def test_howto_delivers_over_587_with_tls_auth_and_masquerading(howto_lab):
    lab = howto_lab
    lab.exec("mailserver", ["sendmail", "-i", "-f", "root", "friend@example.com"],
             stdin="From: root\nTo: friend@example.com\nSubject: via submission\n\nhello\n").check()
    [message] = wait_until(lambda: with_subject(lab.provider, "via submission"), what="delivery")
    assert message["port"] == 587
    assert message["tls"].startswith("TLSv1.")
    assert message["authenticated_as"] == "user_name"
    assert message["mail_from"] == "root@somedom.com"
    assert message["headers"]["From"] == "root@somedom.com"
    assert message["rcpt_tos"] == ["friend@example.com"]
    # RFC 4954: sendmail names the original submitter; the message was submitted
    # without AUTH, so it sends AUTH=<>.
    assert message["auth_param"] == "<>"


def test_mailertable_routes_as_the_howto_describes(howto_lab):
    rows = {r["address"]: (r["mailer"], r["host"]) for r in route(howto_lab, [
        "a@foo.darknet.lan", "b@darknet.lan", "c@hosta.private.lan", "d@somedom.com", "e@example.org"])}
    assert rows == {
        "a@foo.darknet.lan": ("esmtp", "[mailhost.private.lan]"),
        "b@darknet.lan": ("esmtp", "[darknet.lan]"),         # `.darknet.lan` needs a prefix
        "c@hosta.private.lan": ("esmtp", "[hosta.private.lan]"),  # %1 = hosta.private
        "d@somedom.com": ("relay", "[relayhost.somedom.com]"),
        "e@example.org": ("relay", "[relayhost.somedom.com]"),
    }
    howto_lab.exec("mailserver", ["sendmail", "-i", "-f", "root", "c@hosta.private.lan"],
                   stdin="Subject: to the LAN\n\nhi\n").check()
    [message] = wait_until(lambda: with_subject(howto_lab.mailhost, "to the LAN"), what="delivery")
    assert message["rcpt_tos"] == ["c@hosta.private.lan"] and message["port"] == 25


def test_literal_howto_defers_on_auth_and_nothing_is_lost(lab):
    apply_howto(lab, "literal")
    lab.provider.clear()
    lab.exec("mailserver", ["sendmail", "-i", "-f", "root", "friend@example.com"],
             stdin="Subject: literal howto\n\nhello\n").check()
    wait_until(lambda: deferred(lab, "Temporary AUTH failure"), what="the AUTH deferral")
    log = lab.read_file("mailserver", "/var/log/mail.log")
    assert "AUTH=client, available mechanisms= do not fulfill requirements" in log
    # sendmail saw AUTH LOGIN PLAIN offered after STARTTLS, tried neither, and quit.
    sessions = [s for s in lab.provider.sessions() if s["port"] == 587]
    assert sessions and all(s["tls"] and s["auth"] is None for s in sessions)
    assert lab.provider.messages() == []
    apply_howto(lab, "fixed")
    lab.exec("mailserver", ["sendmail", "-q"], timeout=60).check()
    wait_until(lambda: with_subject(lab.provider, "literal howto"), what="delivery")
    assert [m["headers"]["Subject"] for m in lab.provider.messages()].count("literal howto") == 1
    wait_until(lambda: queued(lab) == [], what="an empty queue")


SWAKS = ["swaks", "--server", "relayhost.somedom.com:587", "--from", "root@somedom.com",
         "--to", "friend@example.com", "--auth", "PLAIN", "--auth-user", "user_name"]


def test_provider_requires_tls_before_auth_and_checks_passwords(lab):
    lab.provider.clear()
    no_tls = lab.exec("mailserver", [*SWAKS, "--auth-password", "password"])
    assert no_tls.exit_code != 0 and "did not advertise authentication" in no_tls.output
    raw = lab.exec("mailserver", ["sh", "-c", "printf 'EHLO x\\r\\nAUTH PLAIN\\r\\nMAIL FROM:<a@b.c>\\r\\nQUIT\\r\\n'"
                                  " | nc -w 3 relayhost.somedom.com 587"]).stdout
    assert raw.count("\n530 ") + raw.startswith("530 ") >= 2, raw
    wrong = lab.exec("mailserver", [*SWAKS, "--tls", "--auth-password", "wrong"])
    assert "535 5.7.8" in wrong.output
    right = lab.exec("mailserver", [*SWAKS, "--tls", "--auth-password", "password"])
    assert right.exit_code == 0 and "250 2.0.0 Ok: queued" in right.output
    sessions = lab.provider.sessions()
    assert [s["auth"]["success"] for s in sessions if s["auth"]] == [False, True]
    assert sessions[-1]["messages"][0]["authenticated_as"] == "user_name"
    assert all("password" not in line["line"] for s in sessions for line in s["transcript"])


def test_a_refused_apply_keeps_the_running_configuration(lab):
    mc = lab.read_file("mailserver", MC)
    # After MAILER() m4 refuses any FEATURE; one the howto does not set stays where it is.
    broken = mc + "FEATURE(`nouucp',`reject')dnl\n"
    lab.put_files("mailserver", {MC: broken})
    before = {path: lab.exec("mailserver", ["md5sum", path]).stdout
              for path in ("/etc/mail/sendmail.cf", "/etc/mail/sendmail.mc")}
    pid = lab.read_file("mailserver", "/run/sendmail/mta/sendmail.pid").split()[0]
    routes = route(lab, ["friend@example.com", "x@hosta.private.lan"])
    result = cli("apply", "howto", "--lab", lab.name, env={"LABENV_QUIET": "0"})
    assert result.returncode == 1
    first, *details = result.stderr.strip().splitlines()
    assert first == ("labenv: m4 reported errors building sendmail.cf; /etc/mail restored, "
                     "the running sendmail keeps its last good configuration")
    assert any("FEATURE() should be before MAILER()" in line for line in details)
    after = {path: lab.exec("mailserver", ["md5sum", path]).stdout for path in before}
    assert after == before
    assert lab.read_file("mailserver", "/run/sendmail/mta/sendmail.pid").split()[0] == pid
    assert route(lab, ["friend@example.com", "x@hosta.private.lan"]) == routes
    lab.put_files("mailserver", {MC: mc})
