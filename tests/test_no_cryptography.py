"""Without the optional ``cryptography`` package (a plain ``pip install hooklab``, the Binder
environment), every key-pair provider says so and how to get it, as README promises ("the
error says so when it is missing"), on arrival, in ``hooklab.send`` and in ``hooklab send``.

Discord, Telnyx and SendGrid said it; Plaid, PayPal and Amazon SNS gave ``could not verify:
ModuleNotFoundError`` on arrival, and ``hooklab send --provider plaid`` died with a Python
traceback. Each case runs in a Python process of its own where ``import cryptography`` fails
(``sys.modules["cryptography"] = None``, what Python does for a package that is not there).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_cli import ENV

pytestmark = pytest.mark.timeout(300)

SAID = "needs the 'cryptography' package: pip install cryptography"
BLOCK = "import sys; sys.modules['cryptography'] = None\n"
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
NOW = 1_700_000_000

#: provider: (the secret a receiver holds, headers of a delivery, its body)
ARRIVALS = {
    "paypal": ("WH-1\n" + PEM_CERT, [
        ("PAYPAL-TRANSMISSION-SIG", "AAAA"), ("PAYPAL-CERT-URL", "https://api.paypal.com/cert"),
        ("PAYPAL-TRANSMISSION-ID", "1"), ("PAYPAL-TRANSMISSION-TIME", "2023-11-14T22:13:20Z"),
        ("PAYPAL-AUTH-ALGO", "SHA256withRSA")], b'{"a": 1}'),
    "sns": (PEM_CERT, [("x-amz-sns-message-type", "Notification")], json.dumps({
        "Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:t",
        "Message": "hi", "Timestamp": "2023-11-14T22:13:20.000Z", "SignatureVersion": "1",
        "Signature": "AAAA", "SigningCertURL":
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem"}).encode()),
    "plaid": ("k", [("Plaid-Verification",
                     "eyJhbGciOiJFUzI1NiJ9.eyJpYXQiOjE3MDAwMDAwMDB9.c2ln")], b"{}"),
    "discord": ("ab" * 32, [("X-Signature-Ed25519", "00" * 64),
                            ("X-Signature-Timestamp", str(NOW))], b"{}"),
}

#: provider: the secret the sender signs with (a private key or its file's text)
SENDERS = {"plaid": PEM_KEY, "sns": PEM_KEY, "paypal": "WH-123\n" + PEM_KEY,
           "discord": "ab" * 32, "sendgrid": PEM_KEY, "telnyx": "ab" * 32}


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True,
                          timeout=120, env=ENV)


@pytest.mark.parametrize("provider", list(ARRIVALS))
def test_a_delivery_s_verdict_says_what_to_install(provider: str) -> None:
    secret, headers, body = ARRIVALS[provider]
    run = _run("import hooklab, json, sys\n"
               f"v = hooklab.verify_signature({provider!r}, {secret!r}, {headers!r}, {body!r},"
               f" now={NOW})\n"
               "print(json.dumps([bool(v), v.reason]))")
    assert run.returncode == 0, run.stderr
    ok, reason = json.loads(run.stdout)
    assert ok is False and SAID in reason, reason


@pytest.mark.parametrize("provider", list(SENDERS))
def test_hooklab_send_says_what_to_install(provider: str) -> None:
    run = _run("import hooklab\n"
               "try:\n"
               f"    hooklab.send('http://127.0.0.1:9/x', provider={provider!r},"
               f" secret={SENDERS[provider]!r})\n"
               "except ValueError as e:\n"
               "    print('ValueError:', e)\n")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("ValueError:") and SAID in run.stdout, run.stdout


@pytest.mark.parametrize("provider", list(SENDERS))
def test_the_command_says_it_in_one_line(tmp_path, provider: str) -> None:
    key = tmp_path / "key.txt"
    key.write_text(SENDERS[provider])
    run = _run("import sys\nfrom hooklab.cli import main\n"
               f"sys.argv = ['hooklab', 'send', 'http://127.0.0.1:9/x', '--provider', {provider!r},"
               f" '--secret-file', {str(key)!r}]\n"
               "sys.exit(main())\n")
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hooklab: ") and SAID in lines[0], run.stderr


def test_keypair_says_what_to_install() -> None:
    run = _run("import hooklab.signatures as s\n"
               "try:\n    s.keypair('paypal')\nexcept ImportError as e:\n    print(e)\n")
    assert run.returncode == 0 and SAID in run.stdout, (run.stdout, run.stderr)
