"""What the lab must not allow: relaying for strangers, AUTH in clear, readable credentials,
the lab's password in clear in what the kit prints or stores.

Open relay, what is tested and why:
- from the Internet side (the provider's container, with a route through the router
  added for the test) nothing reaches the mailserver's LAN address: the router's
  filter answers with a TCP reset;
- on the LAN (mailhost) the mailserver's port 25 is closed: Debian's sendmail listens
  on 127.0.0.1 only;
- sendmail's own relay policy: with the client address of a stranger, `check_rcpt`
  refuses `friend@example.com` with "550 Relaying denied"; from 127.0.0.1 it relays
  (what local submission needs).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from tests.support import ROOT, cli, unique_subject, wait_until

pytestmark = pytest.mark.integration

PASSWORD = "password"
PLAIN_BLOB = base64.b64encode(b"user_name\0user_name\0password").decode()
PLAIN_BLOB_NO_AUTHZ = base64.b64encode(b"\0user_name\0password").decode()


def lab_addresses(lab) -> dict[str, dict[str, str]]:
    return {role: r["addresses"] for role, r in lab.status()["roles"].items()}


def test_internet_side_cannot_reach_the_mailserver(howto_lab):
    lab = howto_lab
    addresses = lab_addresses(lab)
    lan_subnet = addresses["mailserver"]["lan"].rsplit(".", 1)[0] + ".0/24"
    router_inet = addresses["router"]["internet"]
    target = addresses["mailserver"]["lan"]
    # Without a route the Internet side does not even know the LAN; give it one through
    # the router, as if the ISP routed the private range to the learner's home.
    lab.exec("relayhost", ["ip", "route", "add", lan_subnet, "via", router_inet]).check()
    try:
        probe = lab.exec("relayhost", ["python3", "-c",
                         "import socket,sys\n"
                         "s=socket.socket(); s.settimeout(5)\n"
                         "try:\n s.connect((sys.argv[1], 25)); print('CONNECTED', s.recv(200))\n"
                         "except OSError as e: print(type(e).__name__, e)\n", target])
    finally:
        lab.exec("relayhost", ["ip", "route", "del", lan_subnet])
    assert "CONNECTED" not in probe.stdout
    assert "ConnectionRefusedError" in probe.stdout, probe.output  # the router's TCP reset


def test_lan_cannot_reach_sendmail_which_listens_on_loopback_only(howto_lab):
    lab = howto_lab
    target = lab_addresses(lab)["mailserver"]["lan"]
    probe = lab.exec("mailhost", ["python3", "-c",
                     "import socket,sys\n"
                     "s=socket.socket(); s.settimeout(5)\n"
                     "try:\n s.connect((sys.argv[1], 25)); print('CONNECTED')\n"
                     "except OSError as e: print(type(e).__name__)\n", target])
    assert probe.stdout.strip() == "ConnectionRefusedError", probe.output
    listening = lab.exec("mailserver", ["sh", "-c", "cat /proc/net/tcp | awk '$4 == \"0A\" {print $2}'"])
    assert "0100007F:0019" in listening.stdout            # 127.0.0.1:25
    assert "00000000:0019" not in listening.stdout        # not 0.0.0.0:25


@pytest.mark.parametrize("client,expected", [("203.0.113.5", "550 Relaying denied"),
                                             ("10.99.0.7", "550 Relaying denied"),
                                             ("127.0.0.1", "RELAY")])
def test_sendmail_relays_only_for_itself(howto_lab, client, expected):
    script = (f".D{{client_addr}}{client}\n.D{{client_name}}client.example\n"
              "Basic_check_rcpt <friend@example.com>\n")
    out = howto_lab.exec("mailserver", ["sendmail", "-bt"], stdin=script).check().stdout
    [answer] = [line for line in out.splitlines() if line.startswith("Basic_check_rcpt")]
    assert expected in answer


def dialogue(lab, lines: list[str], tls: bool = False) -> str:
    """Raw SMTP lines to relayhost:587 from the mailserver (openssl-free: plain nc)."""
    script = "\\r\\n".join(lines) + "\\r\\n"
    return lab.exec("mailserver", ["sh", "-c", f"printf '{script}' | nc -w 5 relayhost.somedom.com 587"]
                    ).stdout


def test_provider_refuses_auth_before_starttls_and_mail_without_auth(howto_lab):
    lab = howto_lab
    out = dialogue(lab, ["EHLO rb.test", f"AUTH PLAIN {PLAIN_BLOB}",
                         "MAIL FROM:<root@somedom.com>", "RCPT TO:<friend@example.com>", "QUIT"])
    replies = [line for line in out.splitlines() if line[:3].isdigit()]
    assert not any(r.startswith("235") for r in replies)           # never authenticated
    assert any(r.startswith("530") for r in replies)               # STARTTLS first
    assert "AUTH" not in " ".join(r for r in replies if r.startswith("250"))  # not offered
    # After STARTTLS, mail without AUTH is refused (swaks speaks TLS).
    swaks = lab.exec("mailserver", ["swaks", "--server", "relayhost.somedom.com:587", "--tls",
                                    "--from", "root@somedom.com", "--to", "friend@example.com"])
    assert swaks.exit_code != 0 and "530" in swaks.output
    assert not [m for m in lab.provider.messages() if m["mail_from"] == "root@somedom.com"
                and m["authenticated_as"] is None]


def test_credentials_have_the_howtos_permissions(howto_lab):
    from labenv.configure import auth_permission_problems

    assert auth_permission_problems(howto_lab) == []
    modes = howto_lab.exec("mailserver", ["sh", "-c",
                           "stat -c '%a %U %n' /etc/mail/auth /etc/mail/auth/*"]).check().stdout
    rows = {line.split()[2]: line.split()[:2] for line in modes.splitlines()}
    assert int(rows["/etc/mail/auth"][0], 8) & 0o777 == 0o700
    for path in ("/etc/mail/auth/client-info", "/etc/mail/auth/client-info.db"):
        assert int(rows[path][0], 8) & 0o077 == 0, f"{path} is readable by others: {rows[path]}"
        assert rows[path][1] in ("root", "smmta")       # Debian's make hands maps to smmta
    # An unprivileged user really cannot read them.
    read = howto_lab.exec("mailserver", ["cat", "/etc/mail/auth/client-info"], user="nobody")
    assert read.exit_code != 0 and PASSWORD not in read.output


# The lab's password is the word "password", which prose also uses ("the password is
# masked"): a leak is the word as a value (P:password, user_name=password, "password"
# in JSON) or in base64 (AUTH LOGIN's answer, AUTH PLAIN's blob).
LEAKS = re.compile(r"""(?:[:=]\s*["']?|["'])password\b|cGFzc3dvcmQ|"""
                   + re.escape(PLAIN_BLOB) + "|" + re.escape(PLAIN_BLOB_NO_AUTHZ))


def contains_password(text: str) -> bool:
    return bool(LEAKS.search(text))


def test_leak_patterns_catch_what_a_leak_looks_like():
    for leak in ('AuthInfo:relayhost.somedom.com "I:user_name" "P:password"', '"P=cGFzc3dvcmQ="',
                 '{"user_name": "password"}', "users user_name=password", f"AUTH PLAIN {PLAIN_BLOB}"):
        assert contains_password(leak), leak
    for fine in ("P (password)", "the password is masked", '"P:********"', "password:"):
        assert not contains_password(fine), fine


def test_cli_output_never_shows_the_password(howto_lab):
    lab = howto_lab
    subject = unique_subject("secret-check")
    assert cli("send", "--lab", lab.name, "--from", "root", "--to", "friend@example.com",
               "--subject", subject).returncode == 0
    wait_until(lambda: [m for m in lab.provider.messages()
                        if m["headers"].get("Subject") == subject], what="delivery")
    outputs = {}
    for argv in (["status"], ["status", "--json"], ["inbox"], ["inbox", "--json"],
                 ["provider", "sessions"], ["doctor"], ["labs"]):
        done = cli(*argv, "--lab", lab.name) if argv[0] != "labs" else cli(*argv)
        outputs[" ".join(argv)] = done.stdout + done.stderr
    # The provider's record of the AUTH exchange and the mail log, as the kit stores them.
    outputs["mail.log"] = lab.read_file("mailserver", "/var/log/mail.log")
    sessions = json.loads(cli("provider", "sessions", "--lab", lab.name).stdout)
    assert any(s["auth"] and s["auth"]["success"] for s in sessions), "no AUTH was recorded"
    leaks = [name for name, text in outputs.items() if contains_password(text)]
    assert leaks == [], f"the password appears in: {leaks}"


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# A notebook line whose lesson is the password itself (the client-info line as the
# howto writes it, the base64 of an AUTH PLAIN being decoded) is allowed; such a
# cell is tagged `shows-password`.
ALLOWED_TAG = "shows-password"


def stored_outputs(path: Path) -> list[tuple[int, str]]:
    notebook = json.loads(path.read_text())
    out = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code" or ALLOWED_TAG in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            texts = [output.get("text", "")]
            texts += [v for k, v in (output.get("data") or {}).items() if k.startswith("text/")]
            texts += [output.get("evalue", "")] + output.get("traceback", [])
            out.append((index, "".join("".join(t) if isinstance(t, list) else str(t) for t in texts)))
    return out


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks/*.ipynb yet")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_notebook_outputs_never_show_the_password(path):
    leaks = [index for index, text in stored_outputs(path) if contains_password(text)]
    assert leaks == [], f"{path.name}: the password appears in the output of cell(s) {leaks} " \
                        f"(tag the cell {ALLOWED_TAG!r} if that line is the lesson)"
