"""Headers a caller gives hooklab to send: ``hooklab.send(..., headers=...)``, the headers of a
capture replayed (``lab.replay``, ``hooklab replay``) or forwarded, and those signing adds.

Each is checked before anything is sent (``hooklab.outbound.check_header``): a name that is no
RFC 9110 token, or a value with CR, LF, NUL or another control character but tab, is a
``ValueError`` that names the header and never quotes its value (often a credential); so is
a ``Content-Length`` that is not the body's, any ``Transfer-Encoding``, a ``Connection`` that
names a header and a second ``Host``. A raw-socket server on 127.0.0.1 records the exact bytes
it receives: none for a refused header, the request as written for a legal one (tabs, bytes
0x80-0xFF, ``bytes`` values sent as given)."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from _rawapp import RawServer

import hooklab
from hooklab import Capture, HookLab
from hooklab.outbound import Forwarder, check_header, check_headers, http_request

EXE = str(Path(sys.executable).with_name("hooklab"))
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class Recorder(RawServer):
    """``with Recorder() as app: ...``: answers every request ``200 ok`` and records, per
    connection, every byte the client wrote (the request, and anything after it until the
    client hangs up). Read ``got`` and ``accepted`` after the block (its threads are joined)."""

    def __init__(self) -> None:
        super().__init__()
        self.got: list[bytes] = []

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            try:
                req = self.read_request(conn)
                if req is None:
                    return
                data = req[0] + b"\r\n\r\n" + req[1]
                conn.sendall(ANSWER)
                for _ in range(64):  # (the client hangs up once answered: bounded anyway)
                    piece = conn.recv(65536)
                    if not piece:
                        break
                    data += piece
            except OSError:
                pass
            finally:
                self.got.append(data)


NAME_RULE = ("a name is ASCII letters, digits and !#$%&'*+-.^_`|~ (no spaces, colons or "
             "control characters)")

#: (name, how the message shows it): never past a ':' (a "Name: value" pasted as a name)
BAD_NAMES: list[tuple[Any, str]] = [
    ("X A", "'X A'"),
    ("X-A ", "'X-A '"),
    (" X-A", "' X-A'"),
    ("X\tA", r"'X\tA'"),
    ("X:A", "'X' (what follows its ':' not shown)"),
    ("Authorization: Bearer sk_live_SECRET", "'Authorization' (what follows its ':' not shown)"),
    ("X\rA", r"'X\rA'"),
    ("X\nA", r"'X\nA'"),
    ("X-A\r\nX-Injected", r"'X-A\r\nX-Injected'"),
    ("X\x00A", r"'X\x00A'"),
    ("X\x01A", r"'X\x01A'"),
    ("X\x7fA", r"'X\x7fA'"),
    ("X-Caf\xe9", "'X-Caf\xe9'"),
    ("X-\u20ac", "'X-\u20ac'"),
    ("", "''"),
    ("X(A)", "'X(A)'"),
    ('X"A', "'X\"A'"),
    ("X,A", "'X,A'"),
    ("X;A", "'X;A'"),
    ("X/A", "'X/A'"),
    ("X=A", "'X=A'"),
    ("X@A", "'X@A'"),
    ("X?A", "'X?A'"),
    ("{X}", "'{X}'"),
    ("[X]", "'[X]'"),
    ("X\\A", r"'X\\A'"),
    (b"X A", "'X A'"),
    (b"X-Caf\xc3\xa9", "'X-Caf\xc3\xa9'"),  # (bytes past ASCII: shown a byte a character)
]

LINE_BREAK = "a line break: it would end the header and start another one"
PAST_LATIN1 = ("past Latin-1: a header value is bytes; give bytes (e.g. text.encode()) or "
               "percent-encode it as RFC 8187 says")
#: (value, code point refused, at character, of characters, what it is); each holds SECRET
BAD_VALUES: list[tuple[Any, int, int, int, str]] = [
    ("SECRET\r", 0x0D, 7, 7, LINE_BREAK),
    ("SECRET\n", 0x0A, 7, 7, LINE_BREAK),
    ("SECRET\r2", 0x0D, 7, 8, LINE_BREAK),
    ("SECRET\r\nX-Injected: yes", 0x0D, 7, 23, LINE_BREAK),
    ("SECRET\nX-Injected: yes", 0x0A, 7, 22, LINE_BREAK),
    ("SECRET\r\n\tX-Injected: yes", 0x0D, 7, 24, LINE_BREAK),  # (obs-fold: http.client sent it)
    ("SECRET\r X-Injected: yes", 0x0D, 7, 23, LINE_BREAK),  # (a CR before a space: sent too)
    ("SECRET\r\n\r\nGET /admin HTTP/1.1", 0x0D, 7, 29, LINE_BREAK),
    ("SECRET\x00", 0x00, 7, 7, "NUL"),
    ("SEC\x00RET", 0x00, 4, 7, "NUL"),
    ("\x01SECRET", 0x01, 1, 7, "a control character"),
    ("SEC\x1bRET", 0x1B, 4, 7, "a control character"),
    ("SECRET\x0b", 0x0B, 7, 7, "a control character"),
    ("SECRET\x0c", 0x0C, 7, 7, "a control character"),
    ("SECRET\x1f", 0x1F, 7, 7, "a control character"),
    ("SECRET\x7f", 0x7F, 7, 7, "a control character"),
    ("SECRET\u20ac", 0x20AC, 7, 7, PAST_LATIN1),
    ("SECRET\u2028", 0x2028, 7, 7, PAST_LATIN1),
    ("\u65e5SECRET", 0x65E5, 1, 7, PAST_LATIN1),
    (b"SECRET\r\nX-Injected: yes", 0x0D, 7, 23, LINE_BREAK),
    (bytearray(b"SECRET\x00"), 0x00, 7, 7, "NUL"),
    (memoryview(b"\x1fSECRET"), 0x1F, 1, 7, "a control character"),
]
STR_BAD_VALUES = [case for case in BAD_VALUES if isinstance(case[0], str)]


def value_message(name: str, code: int, at: int, length: int, what: str) -> str:
    return (f"header {name!r} has an invalid value: U+{code:04X} at character {at} of {length} "
            f"is {what} (the value is not shown: it may be a secret; a value holds visible "
            "characters, spaces, tabs and 0x80-0xFF)")


def _id(value: Any) -> str | None:
    """A test id for a table's text cell (None: pytest's own, for numbers)."""
    if isinstance(value, (bytearray, memoryview)):
        value = bytes(value)
    return ascii(value)[:40] if isinstance(value, (str, bytes)) else None


# -- refused: nothing reaches the wire ----------------------------------------------------------
@pytest.mark.parametrize("name,shown", BAD_NAMES, ids=_id)
def test_send_refuses_an_invalid_header_name_before_sending(name: Any, shown: str) -> None:
    with Recorder() as app:
        with pytest.raises(ValueError) as err:
            hooklab.send(app.url + "/h", payload=b"hi", headers=[(name, "v-SECRET")], timeout=5)
    assert str(err.value) == f"invalid header name {shown}: {NAME_RULE}"
    assert "SECRET" not in str(err.value)
    assert app.accepted == 0 and app.got == []


@pytest.mark.parametrize("value,code,at,length,what", BAD_VALUES, ids=_id)
def test_send_refuses_a_header_value_with_a_control_character_before_sending(
        value: Any, code: int, at: int, length: int, what: str) -> None:
    with Recorder() as app:
        with pytest.raises(ValueError) as err:
            hooklab.send(app.url + "/h", payload=b"hi", headers={"X-Token": value}, timeout=5)
        with pytest.raises(ValueError) as err2:  # (the lower-level function: the same check)
            http_request("POST", app.url + "/h", [("X-Token", value)], b"hi", timeout=5)
    expected = value_message("X-Token", code, at, length, what)
    assert str(err.value) == expected and str(err2.value) == expected
    assert app.accepted == 0 and app.got == []


@pytest.mark.parametrize("value,code,at,length,what", STR_BAD_VALUES, ids=_id)
def test_replay_of_a_capture_with_a_bad_header_sends_nothing_and_says_which(
        value: str, code: int, at: int, length: int, what: str) -> None:
    """A capture from a database or file from elsewhere, or made in code: its header went to
    the wire (an obs-fold or a CR before a space passed http.client), or the error quoted it."""
    cap = Capture(1, datetime.now(timezone.utc), "POST", "/b/x", url="http://h/b/x",
                  headers=[("X-Token", value), ("X-Ok", "1")], body=b"hi")
    lab = HookLab(db=":memory:")
    try:
        with Recorder() as app:
            (r,) = lab.replay(cap, to=app.url + "/t")
    finally:
        lab.stop()
    assert r.status is None
    assert r.error == "ValueError: " + value_message("X-Token", code, at, length, what)
    assert app.accepted == 0 and app.got == []


def test_replay_refuses_a_capture_with_a_bad_header_name() -> None:
    lab = HookLab(db=":memory:")
    try:
        with Recorder() as app:
            results = lab.replay(
                [Capture(i, None, "POST", "/b", headers=[(name, "1")], body=b"")  # type: ignore[arg-type]
                 for i, (name, _) in enumerate(BAD_NAMES, 1) if isinstance(name, str)],
                to=app.url)
    finally:
        lab.stop()
    want = [f"ValueError: invalid header name {shown}: {NAME_RULE}"
            for name, shown in BAD_NAMES if isinstance(name, str)]
    assert [r.error for r in results] == want
    assert app.accepted == 0


def test_forward_of_a_stored_capture_with_a_bad_header_is_recorded_not_sent() -> None:
    """The forwarder sends what the store holds: a header with CRLF in it is an error there."""
    from hooklab.store import CaptureStore

    store = CaptureStore(":memory:")
    try:
        with Recorder() as app:
            fw = Forwarder(store, workers=1, timeout=5)
            fw.add("q", app.url)
            store.add_sync({"method": "POST", "path": "/q", "body": b"hi",
                            "headers": [("X-Token", "SECRET\r\nX-Injected: yes")]})
            store.add_sync({"method": "POST", "path": "/q", "body": b"hi",
                            "headers": [("X-Token", "SECRET\tok")]})
            assert fw.join(15)
            fw.close()
        store.flush()
        rows = {r["capture_id"]: r for r in store.forwards()}
    finally:
        store.close()
    assert rows[1]["status"] is None
    assert rows[1]["error"] == "ValueError: " + value_message("X-Token", 0x0D, 7, 23, LINE_BREAK)
    assert rows[2]["status"] == 200 and rows[2]["error"] is None
    assert app.accepted == 1
    (got,) = app.got
    assert b"X-Token: SECRET\tok\r\n" in got and b"X-Injected" not in got


def test_hooklab_replay_command_sends_no_capture_with_a_bad_header(tmp_path) -> None:
    """``hooklab replay`` of a database from elsewhere: each bad capture is an error line
    naming the header (exit 1), the good one goes out exactly, no value is printed."""
    from hooklab.store import CaptureStore

    db = tmp_path / "from-elsewhere.sqlite3"
    store = CaptureStore(str(db))
    for headers in ([("X-Token", "SECRET\r\nX-Injected: yes")], [("X-Token", "SECRET\x01")],
                    [("X-Caf\xe9", "1")], [("X-Token", "caf\xe9\tSECRET")]):
        store.add_sync({"method": "POST", "path": "/b", "body": b"hi", "headers": headers})
    store.close()
    with Recorder() as app:
        r = subprocess.run([EXE, "replay", "--db", str(db), "--id", "1", "--id", "2", "--id", "3",
                            "--id", "4", "--to", app.url + "/t"],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == [
        "#1 -> error: ValueError: " + value_message("X-Token", 0x0D, 7, 23, LINE_BREAK),
        "#2 -> error: ValueError: " + value_message("X-Token", 0x01, 7, 7, "a control character"),
        f"#3 -> error: ValueError: invalid header name 'X-Caf\xe9': {NAME_RULE}",
    ]
    assert lines[3].startswith("#4 -> 200 in ") and len(lines) == 4
    assert "SECRET" not in r.stdout + r.stderr
    assert app.got == [f"POST /t HTTP/1.1\r\nHost: 127.0.0.1:{app.port}\r\n".encode()
                       + b"X-Token: caf\xe9\tSECRET\r\nContent-Length: 2\r\n\r\nhi"]


# -- signing: a secret that goes into a header verbatim ------------------------------------------
@pytest.mark.parametrize("secret,code,at,length,what", [
    ("tok-SECRET\x01", 0x01, 11, 11, "a control character"),
    ("tok-SECRET\r\nX-Injected: yes", 0x0D, 11, 27, LINE_BREAK),
    ("tok-SECRET\x00", 0x00, 11, 11, "NUL"),
    ("tok-SECRET\u20ac", 0x20AC, 11, 11, PAST_LATIN1),
], ids=_id)
def test_a_signing_secret_sent_in_a_header_is_checked_as_any_header(
        secret: str, code: int, at: int, length: int, what: str) -> None:
    """GitLab's token goes into ``X-Gitlab-Token`` as it is: a control character in it went out
    (a line break was refused, quoting nothing of the header's value but its name)."""
    with Recorder() as app:
        with pytest.raises(ValueError) as err:
            hooklab.send(app.url + "/h", provider="gitlab", secret=secret, timeout=5)
    assert str(err.value) == value_message("X-Gitlab-Token", code, at, length, what)
    assert app.accepted == 0


def test_a_legal_signing_token_goes_out_as_given() -> None:
    with Recorder() as app:
        r = hooklab.send(app.url + "/h", provider="gitlab", secret="tok\t1\xe9", timeout=5)
    assert r.status == 200
    (got,) = app.got
    assert b"\r\nX-Gitlab-Token: tok\t1\xe9\r\n" in got


# -- framing: hooklab sends the body whole after a Content-Length of its length ------------------
CL_WRONG = ("the target would read the body wrong (leave it out: hooklab sends the body's "
            "length)")
TE_REFUSED = ("header 'Transfer-Encoding' cannot be given: hooklab sends the body whole, with a "
              "Content-Length of its length (leave it out)")
CONNECTION_REFUSED = ("header 'Connection' may say 'close' or 'keep-alive' only: another option "
                      "names a header for a proxy to drop (or asks for another protocol), which "
                      "would change the request")
FRAMING: list[tuple[list[tuple[str, str]], str]] = [
    ([("Content-Length", "1")], f"header 'Content-Length' says 1, but the body is 2 bytes: {CL_WRONG}"),
    ([("Content-Length", "3")], f"header 'Content-Length' says 3, but the body is 2 bytes: {CL_WRONG}"),
    ([("content-length", "0")], f"header 'Content-Length' says 0, but the body is 2 bytes: {CL_WRONG}"),
    ([("Content-Length", "02")], f"header 'Content-Length' says 02, but the body is 2 bytes: {CL_WRONG}"),
    ([("Content-Length", "-2")], f"header 'Content-Length' is no byte count, but the body is 2 bytes: {CL_WRONG}"),
    ([("Content-Length", "2, 2")], f"header 'Content-Length' is no byte count, but the body is 2 bytes: {CL_WRONG}"),
    ([("Content-Length", "")], f"header 'Content-Length' is no byte count, but the body is 2 bytes: {CL_WRONG}"),
    ([("Content-Length", "\u00b2")], f"header 'Content-Length' is no byte count, but the body is 2 bytes: {CL_WRONG}"),
    ([("Content-Length", "2"), ("Content-Length", "2")],
     "header 'Content-Length' given 2 times: hooklab sends one, the body's length (leave it out)"),
    ([("Transfer-Encoding", "chunked")], TE_REFUSED),
    ([("transfer-encoding", "identity")], TE_REFUSED),
    ([("TRANSFER-ENCODING", "gzip, chunked")], TE_REFUSED),
    ([("Content-Length", "2"), ("Transfer-Encoding", "chunked")], TE_REFUSED),
    ([("Connection", "Content-Length")], CONNECTION_REFUSED),
    ([("Connection", "close, X-Hub-Signature-256")], CONNECTION_REFUSED),
    ([("Connection", "keep-alive, Host")], CONNECTION_REFUSED),
    ([("connection", "Upgrade")], CONNECTION_REFUSED),
    ([("Host", "a.example"), ("host", "b.example")],
     "header 'Host' given more than once: a target takes that for a malformed request (give one)"),
]


@pytest.mark.parametrize("headers,message", FRAMING, ids=_id)
def test_headers_that_would_reframe_the_body_are_refused_before_sending(
        headers: list[tuple[str, str]], message: str) -> None:
    """A Content-Length of 1 for a 2-byte body left a byte the target read as the start of the
    next request; Transfer-Encoding went out beside hooklab's Content-Length (CL.TE)."""
    with Recorder() as app:
        with pytest.raises(ValueError) as err:
            hooklab.send(app.url + "/h", payload=b"hi", headers=headers, timeout=5)
    assert str(err.value) == message
    assert app.accepted == 0


def test_a_get_without_a_body_refuses_a_content_length_that_says_otherwise() -> None:
    with Recorder() as app:
        with pytest.raises(ValueError) as err:
            hooklab.send(app.url + "/h", method="GET", headers={"Content-Length": "5"}, timeout=5)
    assert str(err.value) == f"header 'Content-Length' says 5, but the body is 0 bytes: {CL_WRONG}"
    assert app.accepted == 0


# -- legal: sent exactly as given ------------------------------------------------------------------
OBS_TEXT = "".join(map(chr, range(0x80, 0x100)))
HEAD = b"POST /h HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\nUser-Agent: hooklab/send\r\n"
LEGAL: list[tuple[Any, bytes]] = [
    ([("X-A", "a\tb")], HEAD + b"X-A: a\tb\r\nContent-Length: 2\r\n\r\nhi"),
    ([("X-A", "\tleading and trailing tab\t")],
     HEAD + b"X-A: \tleading and trailing tab\t\r\nContent-Length: 2\r\n\r\nhi"),
    ([("X-A", "caf\xe9")], HEAD + b"X-A: caf\xe9\r\nContent-Length: 2\r\n\r\nhi"),
    ([("X-A", OBS_TEXT)], HEAD + b"X-A: " + bytes(range(0x80, 0x100))
     + b"\r\nContent-Length: 2\r\n\r\nhi"),
    ([("X-A", b"caf\xc3\xa9")], HEAD + b"X-A: caf\xc3\xa9\r\nContent-Length: 2\r\n\r\nhi"),
    ([("X-A", bytes(range(0x20, 0x7F)))],
     HEAD + b"X-A: " + bytes(range(0x20, 0x7F)) + b"\r\nContent-Length: 2\r\n\r\nhi"),
    ([("X-A", "")], HEAD + b"X-A: \r\nContent-Length: 2\r\n\r\nhi"),
    ([("X-A", 42)], HEAD + b"X-A: 42\r\nContent-Length: 2\r\n\r\nhi"),
    ([(b"X-B", b"1")], HEAD + b"X-B: 1\r\nContent-Length: 2\r\n\r\nhi"),
    ([("!#$%&'*+-.^_`|~09AZaz", "1")],
     HEAD + b"!#$%&'*+-.^_`|~09AZaz: 1\r\nContent-Length: 2\r\n\r\nhi"),
    ([("X-T", "a"), ("X-T", "b")], HEAD + b"X-T: a\r\nX-T: b\r\nContent-Length: 2\r\n\r\nhi"),
    ({"X-A": "1", "x-b": "2"}, HEAD + b"X-A: 1\r\nx-b: 2\r\nContent-Length: 2\r\n\r\nhi"),
    ([("User-Agent", "mine/1")],
     b"POST /h HTTP/1.1\r\nHost: 127.0.0.1:PORT\r\nUser-Agent: mine/1\r\n"
     b"Content-Length: 2\r\n\r\nhi"),
    ([("Content-Length", "2"), ("X-After", "1")],
     HEAD + b"Content-Length: 2\r\nX-After: 1\r\n\r\nhi"),
    ([("content-length", " 2 ")], HEAD + b"content-length:  2 \r\n\r\nhi"),
    ([("Host", "example.org")],
     b"POST /h HTTP/1.1\r\nUser-Agent: hooklab/send\r\nHost: example.org\r\n"
     b"Content-Length: 2\r\n\r\nhi"),
    ([("Connection", "close")], HEAD + b"Connection: close\r\nContent-Length: 2\r\n\r\nhi"),
    ([("Connection", "Keep-Alive")], HEAD + b"Connection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi"),
    ([("Connection", "close, keep-alive")],
     HEAD + b"Connection: close, keep-alive\r\nContent-Length: 2\r\n\r\nhi"),
]


@pytest.mark.parametrize("headers,wire", LEGAL, ids=_id)
def test_legal_headers_go_out_exactly(headers: Any, wire: bytes) -> None:
    with Recorder() as app:
        r = hooklab.send(app.url + "/h", payload=b"hi", headers=headers, timeout=5)
    assert r.status == 200 and r.body == b"ok"
    assert app.got == [wire.replace(b"PORT", str(app.port).encode())]


def test_a_get_may_say_content_length_0() -> None:
    with Recorder() as app:
        assert hooklab.send(app.url + "/h", method="GET", headers={"Content-Length": "0"},
                            timeout=5).status == 200
    assert app.got == [f"GET /h HTTP/1.1\r\nHost: 127.0.0.1:{app.port}\r\n".encode()
                       + b"User-Agent: hooklab/send\r\nContent-Length: 0\r\n\r\n"]


def test_sent_headers_hold_what_went_out() -> None:
    """``r.sent_headers`` are the headers as sent: a ``bytes`` value one character a byte
    (it held ``"b'caf\\xc3\\xa9'"``, the text that went out instead of the bytes)."""
    with Recorder() as app:
        r = hooklab.send(app.url + "/h", payload=b"hi", timeout=5,
                         headers=[("X-Raw", b"caf\xc3\xa9"), ("X-N", 7)])
    assert r.sent_headers == [("User-Agent", "hooklab/send"), ("X-Raw", "caf\xc3\xa9"), ("X-N", "7")]


def test_replay_sends_tabs_and_obs_text_exactly() -> None:
    cap = Capture(1, datetime.now(timezone.utc), "POST", "/b/x", url="http://h/b/x", body=b"hi",
                  headers=[("X-A", "caf\xe9"), ("X-B", "a\tb"), ("X-C", ""), ("X-D", OBS_TEXT)])
    lab = HookLab(db=":memory:")
    try:
        with Recorder() as app:
            (r,) = lab.replay(cap, to=app.url + "/t")
    finally:
        lab.stop()
    assert r.status == 200 and r.error is None
    assert app.got == [f"POST /t/x HTTP/1.1\r\nHost: 127.0.0.1:{app.port}\r\n".encode()
                       + b"X-A: caf\xe9\r\nX-B: a\tb\r\nX-C: \r\nX-D: " + bytes(range(0x80, 0x100))
                       + b"\r\nContent-Length: 2\r\n\r\nhi"]


# -- the checker itself, and what is no header at all ------------------------------------------
@pytest.mark.parametrize("headers,message", [
    ({"X-A": None}, "header 'X-A': a value is str, bytes or int, not NoneType"),
    ({"X-A": True}, "header 'X-A': a value is str, bytes or int, not bool"),
    ({"X-A": 1.5}, "header 'X-A': a value is str, bytes or int, not float"),
    ({"X-A": ["1"]}, "header 'X-A': a value is str, bytes or int, not list"),
    ([(None, "1")], "a header name is str or bytes, not NoneType"),
    (["Authorization: Bearer SECRET"], "headers are a mapping or (name, value) pairs; item 1 is a str"),
    ([("X-A", "1"), ("X-B", "2", "3")],
     "headers are a mapping or (name, value) pairs; item 2 is a tuple"),
    ("Authorization: Bearer SECRET", "headers are a mapping or (name, value) pairs; item 1 is a str"),
], ids=_id)
def test_what_is_no_header_is_a_type_error_before_sending(headers: Any, message: str) -> None:
    """``None`` went out as the text ``None`` (``{"X-Token": os.environ.get("TOKEN")}``)."""
    with Recorder() as app:
        with pytest.raises(TypeError) as err:
            hooklab.send(app.url + "/h", payload=b"hi", headers=headers, timeout=5)
    assert str(err.value) == message
    assert app.accepted == 0


def test_check_header_returns_what_is_sent() -> None:
    assert check_header("X-A", "a\tb\xff") == ("X-A", "a\tb\xff")
    assert check_header(b"X-A", b"\x80\xff") == ("X-A", "\x80\xff")
    assert check_header("X-A", 0) == ("X-A", "0")
    assert check_headers(None) == [] and check_headers({}) == []
    assert check_headers({"a": "1", "B": b"2"}) == [("a", "1"), ("B", "2")]
    assert check_headers((("a", "1"), ["a", "2"])) == [("a", "1"), ("a", "2")]


@pytest.mark.parametrize("header,message", [
    ("Content-Length: 1", "header 'Content-Length' says 1, but the body is 0 bytes: " + CL_WRONG),
    ("Content-Length: 0, 0", "header 'Content-Length' is no byte count, but the body is 0 bytes: "
     + CL_WRONG),
    ("Transfer-Encoding: chunked", TE_REFUSED),
    ("Connection: Content-Length", CONNECTION_REFUSED),
    ("Connection: upgrade", CONNECTION_REFUSED),
], ids=_id)
def test_hooklab_send_command_refuses_a_header_that_would_reframe_the_body(
        header: str, message: str) -> None:
    """``hooklab send --header`` checks names and values itself; the framing is the library's
    to refuse: a usage error (exit 2), nothing sent (it sent them, exit 0)."""
    with Recorder() as app:
        r = subprocess.run([EXE, "send", app.url + "/h", "--header", header],
                           capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"hooklab: {message}\n")
    assert app.accepted == 0
