"""``hooklab.ws.record(headers=...)``: every header is checked as ``hooklab.send`` checks its
own, before anything is stored or sent; a header that cannot go out is a ``ValueError`` naming
it and never quoting its value (often a token), and a value never reaches a capture, the
summary or the database. Real raw WebSocket servers on 127.0.0.1 (tests/test_ws_hostile.py)."""

from __future__ import annotations

import asyncio
import base64
import struct
from pathlib import Path

import pytest
from test_ws_hostile import _frame, _handshake, _hostile, _Seen, _until_close

from hooklab import HookLab, ws

TOKEN = "sk_live_TOPSECRET_4242"


async def _closes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: _Seen) -> None:
    """Answers the handshake, closes (1000) and reads until the client's close frame."""
    await _handshake(reader, writer, seen)
    writer.write(_frame(8, struct.pack("!H", 1000)))
    await writer.drain()
    await _until_close(reader, seen)


@pytest.mark.parametrize("userinfo, headers, error, said", [
    # a token read from a file with its line break (open(...).read()): Tornado's refusal,
    # quoting the whole header, was stored as an ERROR capture, on every reconnect
    ("", {"Authorization": f"Bearer {TOKEN}\n"}, ValueError,
     "header 'Authorization' has an invalid value: U+000A at character 30 of 30 is a line break"),
    ("", {"Authorization": f"Bearer {TOKEN}\r\nX-Injected: yes"}, ValueError,
     "header 'Authorization' has an invalid value: U+000D at character 30"),
    ("", {"Authorization": f"Bearer {TOKEN}\x00"}, ValueError, "is NUL"),
    ("", {"X-Api-Key": f"{TOKEN}\x7f"}, ValueError, "header 'X-Api-Key' has an invalid value: U+007F"),
    ("", {"X-Token": f"\x1b{TOKEN}"}, ValueError, "U+001B at character 1 of 23 is a control character"),
    ("", {"X-Tag": f"\u20ac{TOKEN}"}, ValueError, "is past Latin-1"),
    # names: a space (Tornado sent "X a: 1"), a whole header line, nothing
    ("", {"X A": TOKEN}, ValueError, "invalid header name 'X A'"),
    ("", {f"Authorization: Bearer {TOKEN}": ""}, ValueError,
     "invalid header name 'Authorization' (what follows its ':' not shown)"),
    ("", {"": TOKEN}, ValueError, "invalid header name ''"),
    ("", [("X-A", "1"), ("X-B", f"{TOKEN}\n")], ValueError, "header 'X-B' has an invalid value"),
    ("", [f"X-A: {TOKEN}"], TypeError, "headers are a mapping or (name, value) pairs; item 1 is a str"),
    ("", {"X-A": 1.5}, TypeError, "header 'X-A': a value is str, bytes or int, not float"),
    # credentials in the URL and an Authorization header: the URL's replaced the header
    ("alice:pw_TOPSECRET_4242@", {"Authorization": f"Bearer {TOKEN}"}, ValueError,
     "the URL has credentials (user:password@host) and headers= has an Authorization header"),
    (f"{TOKEN}@", {"authorization": f"Bearer {TOKEN}"}, ValueError,
     "and headers= has an Authorization header: the URL's would be sent"),
])
def test_a_header_that_cannot_be_sent_is_refused_before_anything_is_stored_or_sent(
        lab: HookLab, userinfo: str, headers: object, error: type, said: str) -> None:
    with _hostile(_closes) as (base, seen):
        url = base.replace("ws://", f"ws://{userinfo}") + "/feed"
        for start in (ws.record, ws.start_recording):
            with pytest.raises(error) as raised:
                start(url, lab=lab, duration=5, reconnect=True, headers=headers)
            text = f"{raised.value!r} {raised.value}"
            assert said in str(raised.value)
            assert "TOPSECRET" not in text and "X-Injected" not in text
    assert seen.requests == []  # (nothing was sent)
    assert lab.query(kind="ws") == []  # (nothing was stored)


@pytest.mark.parametrize("userinfo, headers, lines", [
    # an int goes as its digits (Tornado's TypeError was stored as an ERROR capture)
    ("", {"Authorization": 123}, [b"Authorization: 123"]),
    ("", {"X-Tag": "caf\xe9\tbar"}, [b"X-Tag: caf\xe9\tbar"]),  # (Latin-1 and a tab are fine)
    ("", {"X-Raw": "caf\u00e9".encode()}, [b"X-Raw: caf\xc3\xa9"]),  # (bytes: as given)
    ("", [("X-Twice", "1"), ("X-Twice", "2")], [b"X-Twice: 1", b"X-Twice: 2"]),
    ("", {"Authorization": f"Bearer {TOKEN}"}, [f"Authorization: Bearer {TOKEN}".encode()]),
    ("alice:pw@", {"X-A": "1"},
     [b"X-A: 1", b"Authorization: Basic " + base64.b64encode(b"alice:pw")]),
    # the userinfo percent-decoded, as curl and requests send it (Tornado sent "pw%40X")
    ("alice:pw%40X@", {}, [b"Authorization: Basic " + base64.b64encode(b"alice:pw@X")]),
    ("a%3Ab:p%3Aq%2F%25@", {}, [b"Authorization: Basic " + base64.b64encode(b"a:b:p:q/%")]),
    ("jos%C3%A9:caf%C3%A9@", {}, [b"Authorization: Basic " + base64.b64encode("jos\u00e9:caf\u00e9".encode())]),
    ("u:%FF%00x@", {}, [b"Authorization: Basic " + base64.b64encode(b"u:\xff\x00x")]),
    ("TOKEN%2B1@", {}, [b"Authorization: Basic " + base64.b64encode(b"TOKEN+1:")]),
    ("u:@", {}, [b"Authorization: Basic " + base64.b64encode(b"u:")]),
    ("user+x:p+q@", {}, [b"Authorization: Basic " + base64.b64encode(b"user+x:p+q")]),  # (+ is +)
])
def test_a_header_that_can_be_sent_goes_out_as_given(
        lab: HookLab, userinfo: str, headers: object, lines: list[bytes]) -> None:
    with _hostile(_closes) as (base, seen):
        summary = ws.record(base.replace("ws://", f"ws://{userinfo}") + "/feed", lab=lab,
                            duration=5, headers=headers)
    assert (summary.connections, summary.errors) == (1, [])
    sent = seen.requests[0].split(b"\r\n")
    for line in lines:
        assert line in sent
    assert [c.method for c in lab.query(kind="ws")] == ["OPEN", "CLOSE"]


def test_a_token_read_with_its_line_break_is_never_stored(tmp_path: Path) -> None:
    """The outside-in report's case: a token read from a file as ``echo $TOKEN > token``
    writes it. Before, the token was in the ERROR capture's body, the summary, the stream and
    the database file; now the call raises and the database holds nothing of it."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    db = tmp_path / "captures.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        with _hostile(_closes) as (base, seen):
            with pytest.raises(ValueError, match="header 'Authorization' has an invalid value"):
                ws.record(f"{base}/feed", lab=lab, duration=3, reconnect=True,
                          headers={"Authorization": "Bearer " + token_file.read_text()})
        assert seen.requests == [] and lab.query(kind="ws") == []
    finally:
        lab.stop()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("captures.sqlite3*"))
    assert stored and TOKEN.encode() not in stored
