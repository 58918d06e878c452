"""The class engine's keys: a CA of its own, the server's certificate, one client certificate each.

    pki = Path("/var/lib/labenv-class/pki")
    ensure_server(pki)                        # ca.pem, ca-key.pem, server.pem, server-key.pem
    issue(pki, "alice", Path("/home/alice/.labenv-class"), owner=(1001, 1001))

A learner's folder holds ca.pem, cert.pem and key.pem (what DOCKER_CERT_PATH names),
is readable by its owner only, and the certificate's CN is the learner's name:
the engine hands that name to the authorization plugin with every request.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .enginecfg import NAME

CA_DAYS = 365
CERT_DAYS = 120


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _builder(subject: str, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days)))


def ensure_ca(pki: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The class CA (made once, kept in `pki`, readable by root only)."""
    pki.mkdir(parents=True, exist_ok=True)
    os.chmod(pki, 0o700)
    cert_path, key_path = pki / "ca.pem", pki / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        return cert, key
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labenv class CA")])
    cert = (_builder("labenv class CA", name, key.public_key(), CA_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write(key_path, _pem_key(key), 0o600)
    _write(cert_path, _pem_cert(cert), 0o644)
    return cert, key


def ensure_server(pki: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"), *, name: str = "server",
                  subject: str = "labenv class engine") -> dict[str, Path]:
    """An engine's TLS files: ca.pem, NAME.pem, NAME-key.pem (made when missing).

    Each engine of a class has its own key and certificate (``name`` server, server-b ...,
    ``subject`` its CN), all signed by the class's one CA.
    """
    ca_cert, ca_key = ensure_ca(pki)
    files = {"ca": pki / "ca.pem", "cert": pki / f"{name}.pem", "key": pki / f"{name}-key.pem"}
    if files["cert"].exists() and files["key"].exists():
        return files
    key = _key()
    names = [x509.IPAddress(ipaddress.ip_address(h)) if h.replace(".", "").isdigit() else x509.DNSName(h)
             for h in hosts]
    cert = (_builder(subject, ca_cert.subject, key.public_key(), CA_DAYS)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    _write(files["key"], _pem_key(key), 0o600)
    _write(files["cert"], _pem_cert(cert), 0o644)
    return files


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"name {name!r} is not valid: use 1-16 of a-z, 0-9, '_', starting with a letter "
                         "(no '-': the name followed by '-' begins the names of its labs)")
    return name


def issue(pki: Path, name: str, folder: Path, *, owner: tuple[int, int] | None = None,
          days: int = CERT_DAYS) -> Path:
    """A client certificate for `name` in `folder` (ca.pem, cert.pem, key.pem), owner-only.

    `owner` (uid, gid) gets the folder and files; by default they stay root's.
    """
    check_name(name)
    ca_cert, ca_key = ensure_ca(pki)
    key = _key()
    cert = (_builder(name, ca_cert.subject, key.public_key(), days)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    _write(folder / "key.pem", _pem_key(key), 0o600)
    _write(folder / "cert.pem", _pem_cert(cert), 0o600)
    _write(folder / "ca.pem", _pem_cert(ca_cert), 0o600)
    if owner is not None:
        for path in (folder, folder / "key.pem", folder / "cert.pem", folder / "ca.pem"):
            os.chown(path, *owner)
    return folder


def common_name(cert_file: Path) -> str:
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
