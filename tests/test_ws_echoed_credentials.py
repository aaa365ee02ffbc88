"""What a WebSocket server answers may echo the credentials the request sent: a refusal's
redirect whose ``Location`` keeps the ``?token=`` asked with (as sent, or percent-encoded), a
debug header repeating ``X-Api-Key``, a close reason quoting the token. ``hooklab.ws.record``
stores them as ``[secret]`` wherever the server's headers and text are kept (the ERROR
capture of a refused handshake, the OPEN capture's 101 answer, a CLOSE reason, the summary),
as the capture's own ``url`` and ``query`` hide them; a message's payload stays as it came.
Real raw servers on 127.0.0.1 (tests/test_ws_hostile.py)."""

from __future__ import annotations

import asyncio
import base64
import struct
from pathlib import Path

import pytest
from test_ws_hostile import _frame, _handshake, _hostile, _Seen, _until_close
from test_ws_refusal import _refuses

from hooklab import HookLab, ws

#: the credentials the recordings below send: the URL's password (written percent-encoded),
#: its query's token and API key (one with a "/", one with UTF-8 in it), two headers
PASSWORD, PASSWORD_WRITTEN = "pw@PASSWORD1", "pw%40PASSWORD1"
TOKEN, API_KEY, API_KEY_WRITTEN = "tok_QUERY/SECRET", "t\u00e9_APIKEYSECRET", "t%C3%A9_APIKEYSECRET"
HEADER_KEY, BEARER = "key_HEADERSECRET", "bt_BEARERSECRET"
#: the Basic credentials the URL's userinfo is sent as (percent-decoded, as curl sends it)
BASIC = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
HEADERS = {"X-Api-Key": HEADER_KEY, "X-Auth-Token": f"Bearer {BEARER}"}
#: what none of the stored text may hold (the UTF-8 key as its ASCII tail: any spelling)
NEVER = ("PASSWORD1", "QUERY/SECRET", "QUERY%2FSECRET", "QUERY%2fSECRET", "QUERY%252FSECRET",
         "APIKEYSECRET", "HEADERSECRET", "BEARERSECRET", BASIC)


def _url(base: str) -> str:
    host = base.removeprefix("ws://")
    return f"ws://alice:{PASSWORD_WRITTEN}@{host}/feed?token={TOKEN}&api_key={API_KEY_WRITTEN}&q=1"


# (header line the server answers with) -> (name, value) the ERROR capture keeps
CASES = [
    (b"Location: /login?next=/feed?token=tok_QUERY/SECRET&q=1",
     ("Location", "/login?next=/feed?token=[secret]&q=1")),
    (b"Location: /login?next=%2Ffeed%3Ftoken%3Dtok_QUERY%2FSECRET%26q%3D1",
     ("Location", "/login?next=%2Ffeed%3Ftoken%3D[secret]%26q%3D1")),
    (b"Location: /login?next=%2ffeed%3ftoken%3dtok_QUERY%2fSECRET",
     ("Location", "/login?next=%2ffeed%3ftoken%3d[secret]")),
    (b"Location: /sso?return=%252Ffeed%253Ftoken%253Dtok%5FQUERY%252FSECRET",
     ("Location", "/sso?return=%252Ffeed%253Ftoken%253D[secret]")),
    (b"Location: /login?next=/feed?api_key=t%C3%A9_APIKEYSECRET",
     ("Location", "/login?next=/feed?api_key=[secret]")),
    (b"Location: /login?next=%2Ffeed%3Fapi_key%3Dt%25C3%25A9_APIKEYSECRET",
     ("Location", "/login?next=%2Ffeed%3Fapi_key%3D[secret]")),
    (b"X-Echo-Utf8: t\xc3\xa9_APIKEYSECRET", ("X-Echo-Utf8", "[secret]")),
    (b"X-Echo-Key: key_HEADERSECRET", ("X-Echo-Key", "[secret]")),
    (b"X-Echo-Auth: Bearer bt_BEARERSECRET", ("X-Echo-Auth", "[secret]")),
    (b"X-Debug: seen key=key_HEADERSECRET;user=alice (ok)",
     ("X-Debug", "seen key=[secret];user=alice (ok)")),
    (b"X-Seen: tok_QUERY/SECRET,key_HEADERSECRET, bt_BEARERSECRET|pw@PASSWORD1",
     ("X-Seen", "[secret],[secret], [secret]|[secret]")),
    (b"X-Userinfo: alice:pw%40PASSWORD1@127.0.0.1", ("X-Userinfo", "alice:[secret]@127.0.0.1")),
    (b"X-Echo-Basic: Basic " + BASIC.encode(), ("X-Echo-Basic", "Basic [secret]")),
    (b"Set-Cookie: sid=tok_QUERY/SECRET; Path=/", ("Set-Cookie", "<hidden: 28 chars>")),
    (b"X-key_HEADERSECRET: 1", ("X-[secret]", "1")),  # (a name, in any case: "X-Key_headersecret")
    # not a credential sent, only a piece of one: kept as it came
    (b"X-Request-Id: tok_QUERY", ("X-Request-Id", "tok_QUERY")),
    (b"Content-Type: text/plain", ("Content-Type", "text/plain")),
]


@pytest.mark.parametrize("line, kept", CASES, ids=[
    "location-raw", "location-encoded", "location-lowercase-hex", "location-double-encoded",
    "location-utf8-written", "location-utf8-encoded", "header-utf8", "echoed-header",
    "echoed-bearer", "inside-longer-value", "several-in-one", "userinfo", "basic",
    "set-cookie", "in-a-name", "a-piece-only", "innocent"])
def test_a_refusal_echoing_a_credential_in_its_headers_keeps_it_hidden(
        lab: HookLab, line: bytes, kept: tuple[str, str]) -> None:
    head = b"HTTP/1.1 302 Found\r\n" + line + b"\r\n"
    with _hostile(_refuses(head, b"you sent " + TOKEN.encode())) as (base, seen):
        summary = ws.record(_url(base), lab=lab, duration=10, connect_timeout=5, headers=HEADERS)
    sent = seen.requests[0]  # (the credentials did go to the server)
    assert b"token=tok_QUERY/SECRET" in sent and b"X-Api-Key: key_HEADERSECRET" in sent
    assert b"Authorization: Basic " + BASIC.encode() in sent
    (cap,) = lab.query(kind="ws")
    assert (cap.method, cap.status, summary.connections) == ("ERROR", 302, 0)
    assert kept in cap.headers, cap.headers
    assert cap.body == b"you sent [secret]"
    stored = repr(cap.headers) + cap.url + repr(cap.query) + repr(summary)
    for secret in NEVER:
        assert secret not in stored, secret


def test_the_exports_and_the_database_file_hold_no_echo(file_lab: HookLab, tmp_path: Path) -> None:
    """The echoes reach no file: the SQLite database, HAR, JSON Lines, Parquet."""
    head = (b"HTTP/1.1 401 Unauthorized\r\n"
            + b"\r\n".join(line for line, _ in CASES[:-2]) + b"\r\n")
    with _hostile(_refuses(head, b"echo: " + HEADER_KEY.encode())) as (base, _):
        ws.record(_url(base), lab=file_lab, duration=10, connect_timeout=5, headers=HEADERS)
    (cap,) = file_lab.query(kind="ws")
    assert cap.status == 401
    for _, kept in CASES[:-2]:
        assert kept in cap.headers, (kept, cap.headers)
    file_lab.export(tmp_path / "out.har", fmt="har")
    file_lab.export(tmp_path / "out.jsonl", fmt="jsonl")
    file_lab.export(tmp_path / "parquet", fmt="parquet")
    file_lab.stop()  # (the database file whole: its WAL checkpointed)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".har", ".jsonl", ".parquet", ".sqlite3"}
    for path in files:
        data = path.read_bytes()
        for secret in NEVER:
            assert secret.encode() not in data, (path.name, secret)


def _answer_then_close(reason: bytes):
    """Takes the handshake with a 101 whose headers echo the request's credentials, sends one
    message quoting the token and closes with ``reason``."""
    async def behaviour(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        seen: _Seen) -> None:
        await _handshake(reader, writer, seen, extra=b"X-Echo-Key: key_HEADERSECRET\r\n"
                         b"Content-Location: /feed?token=tok_QUERY%2FSECRET\r\n"
                         b"Set-Cookie: sid=server_issued_cookie\r\n")
        writer.write(_frame(1, b"your token is tok_QUERY/SECRET")
                     + _frame(8, struct.pack("!H", 4001) + reason))
        await writer.drain()
        await _until_close(reader, seen)
    return behaviour


@pytest.mark.parametrize("reason, kept", [
    (b"bad token tok_QUERY/SECRET", "bad token [secret]"),
    (b"key=key_HEADERSECRET&t=tok_QUERY%2FSECRET", "key=[secret]&t=[secret]"),
    (b"t\xc3\xa9_APIKEYSECRET", "[secret]"),
    (b"expired", "expired"),
], ids=["token", "several-encoded", "utf8", "innocent"])
def test_an_accepted_connection_keeps_no_echo_in_its_headers_nor_close_reason(
        lab: HookLab, reason: bytes, kept: str) -> None:
    with _hostile(_answer_then_close(reason)) as (base, _):
        summary = ws.record(_url(base), lab=lab, duration=10, connect_timeout=5, headers=HEADERS)
    opened, message, closed = lab.query(kind="ws")
    assert [c.method for c in (opened, message, closed)] == ["OPEN", "RECV", "CLOSE"]
    assert opened.header("X-Echo-Key") == "[secret]"
    assert opened.header("Content-Location") == "/feed?token=[secret]"
    # (the server's own cookie: a 101's headers are kept as a webhook's are)
    assert opened.header("Set-Cookie") == "sid=server_issued_cookie"
    # a message is the conversation: its payload as it came
    assert message.body == b"your token is tok_QUERY/SECRET"
    assert (closed.status, closed.body) == (4001, kept.encode())
    assert summary.closes == [(4001, kept, "server")]
    stored = repr(opened.headers) + repr(closed.headers) + closed.body.decode() + repr(summary)
    for secret in NEVER:
        assert secret not in stored, secret


def test_a_credential_less_recording_keeps_the_answer_as_it_came(lab: HookLab) -> None:
    """No credential sent: nothing to look for, the headers and body as the server sent them."""
    head = b"HTTP/1.1 302 Found\r\nLocation: /login?next=%2Ffeed%3Fq%3D1\r\nX-Key: abcd\r\n"
    with _hostile(_refuses(head, b"see /login")) as (base, _):
        ws.record(f"{base}/feed?q=1", lab=lab, duration=10, connect_timeout=5)
    (cap,) = lab.query(kind="ws")
    assert cap.header("Location") == "/login?next=%2Ffeed%3Fq%3D1"
    assert cap.header("X-Key") == "abcd" and cap.body == b"see /login"

