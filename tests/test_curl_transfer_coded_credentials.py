"""The live view's Copy as curl of a delivery sent with a transfer coding
(``Transfer-Encoding: gzip, chunked``): the command sends the body decoded (as replay does),
so its credentials are hidden in the decoded body too, and the note says so. The stored
bytes are gzip, which hid nothing, and the command showed the decoded body whole, an API key
in clear in widget state (and so in a saved notebook). Found by a review."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from _http import raw_request

import hooklab
from hooklab.widget import LiveView

SECRET = "sk_live_TransferCoded123"
JSON = json.dumps({"event": "x", "api_key": SECRET, "password": "hunter2hunter2"}).encode()
FORM = f"user=bob&client_secret={SECRET}&x=1".encode()


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


# (Transfer-Encoding, the body coded, Content-Type)
CASES = {
    "gzip json": ("gzip, chunked", gzip.compress(JSON), "application/json"),
    "deflate json": ("deflate, chunked", _deflate(JSON), "application/json"),
    "x-gzip form": ("x-gzip, chunked", gzip.compress(FORM), "application/x-www-form-urlencoded"),
    "two codings": ("gzip, gzip, chunked", gzip.compress(gzip.compress(JSON)), "application/json"),
    "chunked only": ("chunked", JSON, "application/json"),
}


@pytest.fixture(scope="module")
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    yield lab
    lab.stop()


def _send(lab, te: str, body: bytes, ctype: str) -> hooklab.Capture:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 50]), body[i:i + 50])
                      for i in range(0, len(body), 50)) + b"0\r\n\r\n"
    head = (f"POST /coded/x HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
            f"Transfer-Encoding: {te}\r\nConnection: close\r\n\r\n").encode()
    assert b" 200 " in raw_request(lab.bound_port, head + chunks).split(b"\r\n", 1)[0]
    (cap,) = lab.query(newest_first=True, limit=1)
    return cap


@pytest.mark.parametrize("name", list(CASES))
def test_copy_as_curl_hides_the_credentials_of_the_body_it_sends(lab, name: str) -> None:
    te, body, ctype = CASES[name]
    cap = _send(lab, te, body, ctype)
    assert cap.body == body  # (stored as it came, the transfer coding kept)
    view = LiveView(lab.store)
    try:
        view.select(cap.id)
        shown = view.curl.value
        assert SECRET not in shown and "hunter2hunter2" not in shown, shown
        assert shown.startswith("# credentials hidden"), shown
        assert "hidden: " in shown and "Transfer-Encoding" not in shown
        state = json.dumps([w.get_state() for w in view._all_widgets()], default=str)
        assert SECRET not in state
        view.show_credentials.value = True
        assert SECRET in view.curl.value  # (revealed: the decoded body, as replay sends it)
        assert "credentials hidden" not in view.curl.value
    finally:
        view.close()


def test_a_coding_hooklab_cannot_undo_is_no_command(lab) -> None:
    cap = _send(lab, "compress, chunked", b"\x1f\x9d" + JSON, "application/json")
    view = LiveView(lab.store)
    try:
        view.select(cap.id)
        assert view.curl.value.startswith("# not copyable as curl: capture #")
        assert "'compress' coding hooklab cannot undo" in view.curl.value
        assert SECRET not in view.curl.value
    finally:
        view.close()
