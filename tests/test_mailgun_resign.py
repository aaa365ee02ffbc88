"""A Mailgun inbound mail re-signed on replay or forward: only its three signature fields change.

Mailgun's routes (``forward()``, ``store(notify=...)``) post a received mail as a form,
``application/x-www-form-urlencoded``, or ``multipart/form-data`` when it has attachments,
with ``timestamp``, ``token`` (50 characters) and ``signature`` (the hex HMAC-SHA256 of
timestamp + token with the HTTP webhook signing key) among its fields (Mailgun, "Receiving
Messages via HTTP through a forward() action", "Securing Webhooks"). Re-signing a multipart
one was ``ValueError: mailgun signs a JSON object body``. Each row is a mail captured an hour
ago by a real lab (a SQLite file on disk), replayed with ``resign=`` to a real app on
127.0.0.1: the app gets a fresh timestamp and token and a signature that the HMAC computed
here and hooklab's own verifier both accept, and every other byte (attachments, CRLFs, the
boundary, preamble and epilogue) as captured; the expected body is rebuilt here from the
row's own parts, and both bodies are read part by part with the ``email`` package.
"""

from __future__ import annotations

import email
import hashlib
import hmac
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, quote_plus

import pytest
from _http import post
from _target import Received, Target

import hooklab

KEY = "key-mailgun-signing-resign-0123"
OLD_TOKEN = "0a1b2c3d4e" * 5
B = "XyZb0undary"
MP = f"multipart/form-data; boundary={B}"
FORM = "application/x-www-form-urlencoded"
SIGNED = ("timestamp", "token", "signature")
#: an attachment: every byte value, bare CR and LF, a line that starts like the delimiter
BINARY = bytes(range(256)) + b"\r\n--" + B.encode() + b"X\r\n\r\n\x00\xff\r"
#: text that looks like the boundary without being a delimiter (RFC 2046 5.1.1)
LOOKALIKE = (f"quoted: --{B}\r\n--{B}-x\r\n--{B}-- but not the end\r\n"
             f" --{B}--\r\n{B}").encode()

Row = tuple[bytes, str, Callable[[dict[str, str]], bytes]]


def _mac(ts: str, token: str) -> str:
    """Mailgun's signature, as its docs compute it."""
    return hmac.new(KEY.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()


def _old_fields() -> dict[str, str]:
    ts = str(int(time.time()) - 3600)  # (past Mailgun's 900 s: a replay as it came is late)
    return {"timestamp": ts, "token": OLD_TOKEN, "signature": _mac(ts, OLD_TOKEN)}


def _multipart(spec: list[tuple[str, str, bytes | None]], *, nl: str = "\r\n",
               charsets: dict[str, str] | None = None, frame: bool = False) -> Row:
    """A multipart row from ``(name, extra header text, content)`` parts, a signature
    field's content ``None`` (filled in: the old values, or the replay's)."""
    charsets = charsets or {}

    def build(values: dict[str, str]) -> bytes:
        out = b"preamble, not a part\r\n" if frame else b""
        for name, extra, content in spec:
            if content is None:
                content = values[name].encode(charsets.get(name, "utf-8"))
            out += (f'--{B}{nl}Content-Disposition: form-data; name="{name}"{extra}{nl}{nl}'
                    .encode() + content + nl.encode())
        return out + f"--{B}--{nl}".encode() + (b"epilogue\r\n" if frame else b"")

    return build(_old_fields()), MP, build


def _urlencoded(pairs: list[tuple[str, str | None]]) -> Row:
    """An urlencoded row from ``(raw name, raw value)`` pairs, as in the body; a value ``None``
    is a signature field's (a name written ``%74oken`` is ``token``)."""
    def build(values: dict[str, str]) -> bytes:
        return "&".join(f"{k}={quote_plus(values[k.replace('%74', 't')]) if v is None else v}"
                        for k, v in pairs).encode()

    return build(_old_fields()), FORM, build


def _att(name: str, filename: str, ctype: str, content: bytes) -> tuple[str, str, bytes]:
    return (name, f'; filename="{filename}"\r\nContent-Type: {ctype}', content)


MAIL = [("recipient", "", b"bob@example.com"), ("sender", "", b"alice@example.org"),
        ("subject", "", "Caf\u00e9 \u00e0 9h".encode()), ("body-plain", "", b"Hi Bob\r\n\r\n--\r\nA")]


def _rows() -> dict[str, Row]:
    sig = [(n, "", None) for n in SIGNED]
    return {
        "urlencoded": _urlencoded([("recipient", "bob%40example.com"), ("timestamp", None),
                                   ("token", None), ("signature", None),
                                   ("body-plain", "Hi+Bob%0D%0A")]),
        "urlencoded-signature-first-name-escaped": _urlencoded(
            [("signature", None), ("subject", "Caf%C3%A9"), ("%74oken", None),
             ("timestamp", None), ("empty", "")]),
        "multipart-binary-attachment": _multipart(
            [*MAIL, *sig, _att("attachment-1", "photo.bin", "application/octet-stream", BINARY),
             _att("attachment-2", "a.txt", "text/plain", b"hello\r\n")]),
        "multipart-boundary-lookalike-content": _multipart(
            [("body-plain", "", LOOKALIKE), *sig,
             _att("attachment-1", "raw.bin", "application/octet-stream", LOOKALIKE + BINARY)],
            frame=True),
        "multipart-fields-reordered-between-files": _multipart(
            [("signature", "", None),
             _att("attachment-1", "photo.bin", "application/octet-stream", BINARY),
             ("token", "", None), *MAIL, ("timestamp", "", None)]),
        "multipart-lf-only": _multipart([*MAIL, *sig], nl="\n"),
        "multipart-token-in-declared-utf16": _multipart(
            [*MAIL, ("timestamp", "", None),
             ("token", "\r\nContent-Type: text/plain; charset=utf-16", None),
             ("signature", "", None)], charsets={"token": "utf-16"}),
    }


def _refused() -> dict[str, tuple[bytes, str, str]]:
    """(body, Content-Type, what the ValueError says) of forms that cannot be re-signed."""
    old = _old_fields()
    mp = _multipart([*MAIL, *[(n, "", None) for n in SIGNED], ("signature", "", b"f" * 64),
                     _att("attachment-1", "photo.bin", "application/octet-stream", BINARY)])
    no_token = _multipart([*MAIL, ("timestamp", "", None), ("signature", "", None)])
    form = "&".join(f"{k}={v}" for k, v in old.items())
    return {
        "multipart-duplicate-signature": (mp[0], MP, "mailgun form has 2 'signature' fields"),
        "urlencoded-duplicate-signature": (f"{form}&signature={'0' * 64}".encode(), FORM,
                                           "mailgun form has 2 'signature' fields"),
        "multipart-missing-token": (no_token[0], MP, "mailgun form has timestamp and signature "
                                    "but no token field"),
        "urlencoded-missing-timestamp": (f"token={old['token']}&signature={old['signature']}"
                                         .encode(), FORM, "mailgun form has token and "
                                         "signature but no timestamp field"),
    }


def _email_parts(body: bytes, ctype: str) -> tuple[list[tuple[object, ...]], str | None,
                                                    str | None]:
    """The parts of a multipart body as the ``email`` package reads them: (name, filename,
    Content-Type, content bytes), and the preamble and epilogue."""
    msg = email.message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    assert msg.is_multipart() and not msg.defects, msg.defects
    parts = [(p.get_param("name", header="content-disposition"), p.get_filename(),
              p.get("content-type"), p.get_payload(decode=True)) for p in msg.get_payload()]
    return parts, msg.preamble, msg.epilogue


def _fields_of(got: Received, ctype: str) -> dict[str, str]:
    """The signature fields the app reads, read here without hooklab."""
    if ctype == FORM:
        form = parse_qs(got.body.decode(), keep_blank_values=True)
        assert all(len(form[k]) == 1 for k in SIGNED), form
        return {k: form[k][0] for k in SIGNED}
    msg = email.message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + got.body)
    out = {}
    for p in msg.get_payload():
        name = p.get_param("name", header="content-disposition")
        if name in SIGNED:
            assert name not in out
            out[name] = p.get_payload(decode=True).decode(p.get_content_charset() or "utf-8")
    return out


def _check_resigned(got: Received, body: bytes, ctype: str,
                    build: Callable[[dict[str, str]], bytes], old_token: str) -> None:
    new = _fields_of(got, ctype)
    now = time.time()
    assert abs(int(new["timestamp"]) - now) <= 60, new
    assert new["token"] != old_token and len(new["token"]) == 50, new
    assert new["signature"] == _mac(new["timestamp"], new["token"]), new  # Mailgun's check
    v = hooklab.verify_signature("mailgun", KEY, got.headers, got.body)  # hooklab's, now
    assert v.valid, v.reason
    assert got.header("Content-Length") == str(len(got.body))
    assert got.header("Content-Type") == ctype
    assert got.body == build(new)  # every other byte as captured
    if ctype == MP:
        before, after = _email_parts(body, ctype), _email_parts(got.body, ctype)
        assert before[1:] == after[1:]
        assert len(before[0]) == len(after[0])
        for a, b in zip(before[0], after[0], strict=True):
            assert a[:3] == b[:3]  # the same part, in the same place
            assert (a[0] in SIGNED) or a[3] == b[3], a[0]


def _captured(lab: hooklab.HookLab, n: int, body: bytes, ctype: str) -> hooklab.Capture:
    """``body`` posted to the lab's Mailgun bin, as its ``n``-th capture."""
    assert post(lab.url_for("mg", "inbound"), body, {"Content-Type": ctype})[0] == 200
    return lab.wait(n, timeout=20)[-1]


def test_replay_resigns_only_the_three_fields(file_lab) -> None:
    file_lab.secret("mg", KEY, provider="mailgun")
    with Target() as app:
        for n, (name, (body, ctype, build)) in enumerate(_rows().items(), start=1):
            cap = _captured(file_lab, n, body, ctype)
            assert cap.body == body and cap.provider == "mailgun", name
            assert cap.verified is False and "timestamp" in cap.verify_reason, name  # (late)
            (result,) = file_lab.replay(cap, to=app.url + "/hook", resign=KEY)
            assert result.status == 200, (name, result)
            got = app.wait(n)[-1]
            try:
                _check_resigned(got, body, ctype, build, OLD_TOKEN)
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}") from exc


def test_forms_that_cannot_be_resigned_are_refused_before_sending(file_lab) -> None:
    file_lab.secret("mg", KEY, provider="mailgun")
    with Target() as app:
        for n, (name, (body, ctype, message)) in enumerate(_refused().items(), start=1):
            cap = _captured(file_lab, n, body, ctype)
            with pytest.raises(ValueError) as err:
                file_lab.replay(cap, to=app.url, resign=KEY)
            assert f"cannot be re-signed as mailgun: {message}" in str(err.value), (name, err)
            assert KEY not in str(err.value)
        time.sleep(0.3)
        assert app.received == []


def test_forward_resigns_a_multipart_mail_that_verified(file_lab) -> None:
    """``lab.forward(bin, to, resign=True)``: a fresh mail with an attachment that verified on
    arrival reaches the app signed afresh, its other bytes as they came."""
    lab = file_lab
    lab.secret("mg", KEY, provider="mailgun")
    ts = str(int(time.time()))
    fresh_token = "f" * 50
    spec = [*MAIL, ("timestamp", "", ts.encode()), ("token", "", fresh_token.encode()),
            ("signature", "", _mac(ts, fresh_token).encode()),
            _att("attachment-1", "photo.bin", "application/octet-stream", BINARY)]
    body = _multipart(spec)[0]

    def build(values: dict[str, str]) -> bytes:
        return _multipart([(n, x, values[n].encode() if n in SIGNED else c)
                           for n, x, c in spec])[0]

    with Target() as app:
        lab.forward("mg", app.url, resign=True)
        assert post(lab.url_for("mg"), body, {"Content-Type": MP})[0] == 200
        (cap,) = lab.wait(1, timeout=20)
        assert cap.verified is True, cap.verify_reason
        (got,) = app.wait(1, timeout=20)
        _check_resigned(got, body, MP, build, fresh_token)
        lab.forward("mg", None)


def test_cli_replay_resign_file_resigns_a_multipart_mail(tmp_path: Path) -> None:
    """``hooklab replay --resign-file``: the command line's way to the same replay."""
    body, ctype, build = _rows()["multipart-binary-attachment"]
    db = str(tmp_path / "c.sqlite3")
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        lab.secret("mg", KEY, provider="mailgun")
        assert post(lab.url_for("mg"), body, {"Content-Type": ctype})[0] == 200
        lab.wait(1, timeout=20)
    finally:
        lab.stop()
    key = tmp_path / "mailgun.key"
    key.write_text(KEY + "\n")
    exe = str(Path(sys.executable).with_name("hooklab"))
    with Target() as app:
        r = subprocess.run([exe, "replay", "--db", db, "--id", "1", "--to", app.url + "/hook",
                            "--resign-file", str(key), "--provider", "mailgun"],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert r.returncode == 0, r.stderr
        (got,) = app.wait(1)
    _check_resigned(got, body, ctype, build, OLD_TOKEN)
