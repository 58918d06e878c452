"""Credentials masked in dialogues and authinfo text (labenv.sendmail.secrets); the topology drawing."""
import base64

from helpers.picture import topology_svg
from labenv.sendmail.secrets import CREDENTIALS as SECRET
from labenv.sendmail.secrets import mask_dialogue as mask_secrets
from labenv.sendmail.secrets import mask_users
from labenv.topology import ROLES

VERBOSE = """\
050 >>> AUTH PLAIN dXNlcl9uYW1lAHVzZXJfbmFtZQBwYXNzd29yZA==
050 535 5.7.8 Authentication credentials invalid
050 >>> AUTH LOGIN
050 334 VXNlcm5hbWU6
050 >>> dXNlcl9uYW1l
050 334 UGFzc3dvcmQ6
050 >>> cGFzc3dvcmQ=
050 235 2.7.0 Authentication successful
050 >>> MAIL From:<root@somedom.com> SIZE=320 AUTH=<>
"""


def test_mask_secrets_hides_plain_blob_and_login_password_only():
    masked = mask_secrets(VERBOSE)
    assert "dXNlcl9uYW1lAHVzZXJfbmFtZQBwYXNzd29yZA==" not in masked
    assert "cGFzc3dvcmQ=" not in masked
    assert f"050 >>> AUTH PLAIN {SECRET}" in masked
    assert f"050 >>> {SECRET}" in masked
    assert "050 >>> dXNlcl9uYW1l\n" in masked          # the user name is not secret
    assert masked.count("\n") == VERBOSE.count("\n")
    assert "MAIL From:<root@somedom.com> SIZE=320 AUTH=<>" in masked


def test_mask_secrets_swaks_and_authinfo_lines():
    blob = base64.b64encode(b"\0user_name\0secret").decode()
    assert blob not in mask_secrets(f" ~> AUTH PLAIN {blob}\n")
    line = 'AuthInfo:relayhost.somedom.com "U:user_name" "I:user_name" "P:pass word" "M:PLAIN LOGIN"'
    assert mask_secrets(line) == line.replace("pass word", "********")
    assert mask_secrets('AuthInfo: "I:u" "P=c2VjcmV0"') == 'AuthInfo: "I:u" "P=********"'


def test_mask_secrets_leaves_ordinary_text_alone():
    text = "mailer relay, host [relayhost.somedom.com], user foo@somedom.com\n>>> EHLO x\n"
    assert mask_secrets(text) == text


def test_mask_secrets_hides_every_answer_to_a_challenge_but_the_login_user_name():
    text = " ~> AUTH PLAIN\n <~ 334 \n ~> AHVzZXIAcGFzcw==\n <~ 235 ok\n ~> MAIL FROM:<a@b.c>\n"
    masked = mask_secrets(text)
    assert "AHVzZXIAcGFzcw==" not in masked and f" ~> {SECRET}" in masked
    assert " ~> MAIL FROM:<a@b.c>" in masked


def test_mask_users_keeps_the_names_only():
    assert mask_users({"user_name": "password"}) == {"user_name": "********"}


def test_topology_svg_names_every_role_and_the_ports():
    status = {"roles": {name: {"addresses": {spec.network: f"10.213.9.{spec.host}"}}
                        for name, spec in ROLES.items()}}
    svg = topology_svg(status)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for spec in ROLES.values():
        if spec.name != "router":
            assert spec.hostname in svg
    assert "10.213.9.10" in svg and "10.213.9.254" in svg
    assert "587" in svg and "25 SMTP" in svg
    assert topology_svg(None).count("x.x.x.") >= 3   # without a lab: host parts only
