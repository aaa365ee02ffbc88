"""A replay or forward to a local app served over https with a self-signed certificate: refused
until ``SSL_CERT_FILE`` names the certificate (README: Respond, forward, replay), set in the
kernel's own ``os.environ`` after the lab started, as a notebook user does."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import time
from pathlib import Path

import pytest
from _target import Target

import hooklab

x509 = pytest.importorskip("cryptography.x509")


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by its own key (as `openssl req -x509` makes one)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local app")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "app.pem", folder / "app.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def https_app(tmp_path: Path):
    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    with Target(body=b'{"ok": true}') as app:
        app.server.socket = context.wrap_socket(app.server.socket, server_side=True)
        yield app, cert_file


def test_a_self_signed_https_app_is_refused_until_ssl_cert_file_names_its_certificate(
        https_app, monkeypatch):
    app, cert_file = https_app
    to = f"https://127.0.0.1:{app.port}/hook"
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        hooklab.send(lab.url_for("pay"), payload={"amount": 7})
        cap = lab.wait(1, bin="pay")[-1]
        lab.forward("pay", to=to)

        refused = lab.replay(cap, to=to)[0]
        assert refused.status is None and not refused.ok
        assert "CERTIFICATE_VERIFY_FAILED" in refused.error, refused.error
        assert app.received == []

        monkeypatch.setenv("SSL_CERT_FILE", str(cert_file))  # in the kernel, after start()
        taken = lab.replay(cap, to=to)[0]
        assert (taken.status, taken.body, taken.error) == (200, b'{"ok": true}', None)
        hooklab.send(lab.url_for("pay"), payload={"amount": 8})  # a live forward too
        second = lab.wait(2, bin="pay")[-1]
        got = app.wait(2)
        assert [(r.path, r.body) for r in got] == [("/hook", cap.body), ("/hook", second.body)]
        assert second.json() == {"amount": 8}
        deadline = time.monotonic() + 10
        while len(lab.forwards()) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [f["status"] for f in lab.forwards()] == [200]
    finally:
        lab.stop()
