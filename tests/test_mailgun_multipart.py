"""Mailgun's forwarded messages in ``multipart/form-data`` verify as the urlencoded ones do.

A route's ``forward()`` posts a received message as a form: urlencoded, or multipart when it
has attachments (Mailgun, "Receiving Messages via HTTP through a forward() action"), with the
``timestamp``, ``token`` and ``signature`` fields (HMAC-SHA256, hex, of timestamp + token with
the HTTP webhook signing key). A multipart one read ``verified=False``, "mailgun body is not
JSON". Each row is posted to a real lab on 127.0.0.1 (a SQLite file) on a bin registered with
``provider="mailgun"``; the expected verdict comes from the HMAC computed here.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

import pytest
from _http import post

import hooklab

KEY = "key-mailgun-signing-0123"
TOKEN = "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
BINARY = bytes(range(256)) + b"\r\n--not-the-boundary\r\n\x00\xff"


def _sig(ts: str, token: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()


def _fields(ts: str, **over: str | None) -> dict[str, str]:
    fields = {"recipient": "bob@example.com", "sender": "alice@example.org",
              "subject": "Hi", "body-plain": "Hi Bob", "timestamp": ts, "token": TOKEN,
              "signature": _sig(ts, TOKEN)}
    fields.update(over)
    return {k: v for k, v in fields.items() if v is not None}


def _part(boundary: str, name: str, value: bytes, extra: str = "", nl: str = "\r\n") -> bytes:
    head = f'--{boundary}{nl}Content-Disposition: form-data; name="{name}"{extra}{nl}'
    return head.encode() + nl.encode() + value + nl.encode()


def _multipart(fields: dict[str, str], *, boundary: str = "XyZb0undary", nl: str = "\r\n",
               charsets: dict[str, str] | None = None, files: bool = True) -> bytes:
    """A multipart body written by hand: each field a part (in the charset ``charsets``
    declares for it), then a binary attachment and a text one."""
    out = b""
    for name, value in fields.items():
        cs = (charsets or {}).get(name)
        extra = f"{nl}Content-Type: text/plain; charset={cs}" if cs else ""
        out += _part(boundary, name, value.encode(cs or "utf-8"), extra, nl)
    if files:
        out += _part(boundary, "attachment-1", BINARY,
                     f'; filename="photo.bin"{nl}Content-Type: application/octet-stream', nl)
        out += _part(boundary, "attachment-2", b"hello", f'; filename="a.txt"{nl}'
                     f"Content-Type: text/plain", nl)
    return out + f"--{boundary}--{nl}".encode()


MP = "multipart/form-data; boundary=XyZb0undary"
FORM = "application/x-www-form-urlencoded"
OK = (True, "ok")


def _rows(ts: str) -> list[tuple[str, bytes, str, tuple[bool, str]]]:
    """(id, body, Content-Type, (verified, what the reason starts with))."""
    stale = str(int(ts) - 2000)
    return [
        ("urlencoded", urlencode(_fields(ts)).encode(), FORM, OK),
        ("multipart-crlf-binary-attachment", _multipart(_fields(ts)), MP, OK),
        ("multipart-lf-only", _multipart(_fields(ts), nl="\n"), MP, OK),
        ("boundary-in-quotes", _multipart(_fields(ts), boundary="=_Part 1:a/b"),
         'multipart/form-data; boundary="=_Part 1:a/b"', OK),
        ("content-type-letter-case", _multipart(_fields(ts)),
         "Multipart/Form-Data; charset=utf-8; boundary=XyZb0undary", OK),
        ("fields-in-declared-charsets",
         _multipart(_fields(ts, subject="Caf\u00e9 \u00e0 9h"),
                    charsets={"subject": "iso-8859-1", "token": "utf-16", "signature": "us-ascii"}),
         MP, OK),
        ("no-attachments", _multipart(_fields(ts), files=False), MP, OK),
        ("missing-signature", _multipart(_fields(ts, signature=None)), MP,
         (False, "no Mailgun signature in the body: expected form fields timestamp, token and "
                 "signature (missing signature)")),
        ("signature-only-as-a-file",
         _multipart(_fields(ts, signature=None)).replace(
             b'name="attachment-2"; filename="a.txt"',
             b'name="signature"; filename="signature"').replace(
             b"hello", _sig(ts, TOKEN).encode()), MP,
         (False, "no Mailgun signature in the body: expected form fields")),
        ("tampered-token", _multipart(_fields(ts, token=TOKEN[:-1] + "1")), MP,
         (False, "signature mismatch")),
        ("wrong-key", _multipart(_fields(ts, signature=_sig(ts, TOKEN, "key-api-not-signing"))),
         MP, (False, "signature mismatch")),
        ("stale", _multipart(_fields(stale, signature=_sig(stale, TOKEN))), MP,
         (False, "timestamp ")),
        ("no-boundary-parameter", _multipart(_fields(ts)), "multipart/form-data", (False,
         "mailgun multipart/form-data body: its parts cannot be read")),
        ("neither-json-nor-form", b"<xml/>", "text/xml",
         (False, "mailgun body is not JSON, nor a form (urlencoded or multipart/form-data)")),
    ]


def test_multipart_posts_verify_as_urlencoded_ones(file_lab) -> None:
    lab = file_lab
    lab.secret("mg", KEY, provider="mailgun")
    ts = str(int(time.time()))
    rows = _rows(ts)
    for _, body, ctype, _ in rows:
        assert post(lab.url_for("mg"), body, {"Content-Type": ctype})[0] == 200
    got = lab.wait(len(rows), timeout=30)
    wrong = []
    for (name, body, _, (valid, reason)), cap in zip(rows, got, strict=True):
        assert cap.body == body and cap.provider == "mailgun"
        if cap.verified is not valid or not (cap.verify_reason or "").startswith(reason):
            wrong.append((name, cap.verified, cap.verify_reason))
        # the function a user calls on the stored capture says the same
        v = hooklab.verify_signature("mailgun", KEY, cap.headers, cap.body, now=cap.received_at)
        if (v.valid, v.reason) != (cap.verified, cap.verify_reason):
            wrong.append((name, "verify_signature", v))
        assert "should be JSON" not in v.reason and "not JSON (" not in v.reason
    assert not wrong, wrong


@pytest.mark.parametrize("nl", ["\r\n", "\n"])
def test_a_multipart_legacy_webhook_gets_the_urlencoded_ones_event_type(lab, nl: str) -> None:
    """Mailgun's legacy webhooks post ``event=delivered&timestamp=...`` as a form: read from a
    multipart body the event type is the same as from an urlencoded one."""
    lab.secret("legacy", KEY, provider="mailgun")
    ts = str(int(time.time()))
    fields = {"event": "delivered", **_fields(ts)}
    post(lab.url_for("legacy"), urlencode(fields).encode(), {"Content-Type": FORM})
    post(lab.url_for("legacy"), _multipart(fields, nl=nl), {"Content-Type": MP})
    urlenc, multi = lab.wait(2, timeout=20)
    assert (urlenc.provider, urlenc.event_type, urlenc.delivery_id, urlenc.verified) == \
        ("mailgun", "delivered", None, True)
    assert (multi.provider, multi.event_type, multi.delivery_id, multi.verified) == \
        (urlenc.provider, urlenc.event_type, urlenc.delivery_id, urlenc.verified)
