"""A header given to ``hooklab.send`` (``headers=``) or ``hooklab send --header`` is the one
sent, a signature's header too, whether hooklab signs the sample with ``secret=`` or with its
throwaway key: checked byte for byte on the wire of a raw-socket app on 127.0.0.1, for every
provider whose signature is carried in headers.

(found by an outside-in tester) ``hooklab.send(url, provider="github", event="push",
secret="s", headers={"X-Hub-Signature-256": "sha256=bogus"})`` sent a valid signature instead
of the one given, without a word; ``hooklab send --header "Stripe-Signature: t=1,v1=bogus"``
too. A developer checking that their app refuses a forged signature sent it a valid one.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _provider_secrets import secrets_for
from _rawrecord import Recorder, split_request

import hooklab
from hooklab.providers import EVENTS, TABLE
from hooklab.providers.samples import sample
from hooklab.signatures import sign_request

EXE = str(Path(sys.executable).with_name("hooklab"))


def _signed_event(pid: str) -> str:
    """The first sample event of ``pid`` that its sender signs (handshakes may not be)."""
    return next(e for e in EVENTS[pid] if sample(pid, e).signed)


def _signature_names(pid: str) -> list[str]:
    """The headers ``pid``'s signature is carried in, as :func:`sign_request` writes them for
    its sample (none for a signature in the URL or the body: Mailgun, Adyen, SNS...)."""
    s = sample(pid, _signed_event(pid))
    url = "http://127.0.0.1:9/x" + (s.query_string if s.query else "")
    signed = sign_request(pid, secrets_for(pid)[0], url=url, body=s.body, method=s.method,
                          headers=dict(s.headers), timestamp=s.timestamp, msg_id=s.msg_id,
                          params=s.params)
    return list(signed.headers)


HEADER_SIGNED = [p for p in TABLE if _signature_names(p)]


def _forged(name: str, n: int) -> bytes:
    """A value no signer writes, with a byte past ASCII (sent as that byte) and a tab."""
    return b"forged-%d\t\xe9 %s=0" % (n, name.lower().encode())


def _given_cases(names: list[str]) -> list[tuple[str, list[tuple[str, bytes]]]]:
    """What a developer gives: every signature header; the first one only, in lower case
    (the rest computed); the first one twice (a receiver's handling of a repeated header)."""
    first = names[0]
    return [
        ("all", [(k, _forged(k, i)) for i, k in enumerate(names)]),
        ("first-lower", [(first.lower(), _forged(first, 0))]),
        ("first-twice", [(first, _forged(first, 1)), (first.upper(), _forged(first, 2))]),
    ]


def _fields(raw: bytes) -> list[tuple[bytes, bytes]]:
    head, _, _, _ = split_request(raw)
    return [tuple(line.split(b": ", 1)) for line in head[1:]]  # type: ignore[misc]


@pytest.fixture(scope="module")
def app() -> Iterator[Recorder]:
    with Recorder() as rec:
        yield rec


def test_most_providers_sign_in_headers() -> None:
    assert len(HEADER_SIGNED) >= 80 and {"github", "stripe", "slack", "zoom", "svix",
                                         "twilio", "shopify"} <= set(HEADER_SIGNED)


@pytest.mark.parametrize("pid", HEADER_SIGNED)
def test_the_signature_headers_you_give_are_the_ones_sent(app: Recorder, pid: str) -> None:
    names = _signature_names(pid)
    event = _signed_event(pid)
    for mode in ("secret", "throwaway"):
        secret = secrets_for(pid)[0] if mode == "secret" else None
        for case, given in _given_cases(names):
            before = len(app.got)
            r = hooklab.send(app.url + "/in", provider=pid, event=event, secret=secret,
                             headers=given)
            assert r.status == 200
            (raw,) = app.wait(before + 1)[before:]
            for name in {k.lower() for k, _ in given}:  # (each in its place: in order)
                sent = [(k, v) for k, v in _fields(raw) if k.decode().lower() == name]
                assert sent == [(k.encode(), v) for k, v in given if k.lower() == name], \
                    (mode, case)


@pytest.mark.parametrize("provider,event,header", [
    ("github", "push", "X-Hub-Signature-256: sha256=bogus"),
    ("stripe", "invoice.paid", "Stripe-Signature: t=1,v1=bogus"),
])
def test_the_cli_sends_the_header_given(app: Recorder, provider: str, event: str,
                                        header: str) -> None:
    before = len(app.got)
    r = subprocess.run([EXE, "send", app.url + "/cli", "--provider", provider, "--event", event,
                        "--secret", "whsec_s3cret", "--header", header],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (raw,) = app.wait(before + 1)[before:]
    name, value = header.split(": ", 1)
    assert [v for k, v in _fields(raw) if k.lower() == name.lower().encode()] == [value.encode()]


def _signed_inputs(pid: str) -> list[tuple[str, str]]:
    """The headers besides the signature that ``pid``'s signature covers, each with a value
    a developer might give: a time 30 s ago in the provider's own unit, an id of theirs."""
    import time

    from hooklab.signatures._base import format_time

    row = TABLE[pid]
    sig = row.sig
    if row.scheme == "standardwebhooks":
        prefix = sig.get("prefix", "webhook")
        ts_name, id_name = f"{prefix}-timestamp", f"{prefix}-id"
    else:
        ts_name, id_name = sig.get("ts"), sig.get("id")
    out = []
    if ts_name:
        out.append((ts_name, format_time(int(time.time()) - 30, sig.get("ts_unit", "s"))))
    if id_name:
        out.append((id_name, "msg_2f9Given_by_the_developer"))
    return out


SIGNED_INPUTS = [p for p in TABLE if _signed_inputs(p)]


@pytest.mark.parametrize("pid", SIGNED_INPUTS)
def test_a_time_or_id_given_is_signed_over_and_the_delivery_verifies(file_lab, pid: str) -> None:
    """A developer who sets the delivery's own id or time (Slack's
    ``X-Slack-Request-Timestamp``, ``webhook-id``...) with ``secret=``: the values go out as
    given and the signature covers them, so the bin holding the secret verifies it (the
    signature was made over the sample's own, and the delivery failed, silently)."""
    assert len(SIGNED_INPUTS) >= 15
    signing, verifying = secrets_for(pid)
    file_lab.secret("in", verifying, provider=pid)
    given = _signed_inputs(pid)
    hooklab.send(file_lab.url_for("in"), provider=pid, event=_signed_event(pid),
                 secret=signing, headers=given)
    (cap,) = file_lab.wait(1, timeout=30)
    assert [(k, cap.header(k)) for k, _ in given] == given
    assert (cap.provider, cap.verified) == (pid, True), cap.verify_reason
