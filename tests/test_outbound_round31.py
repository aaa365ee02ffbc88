"""An outside tester's findings on forward / replay / send to a local app, met as a user meets
them: raw-socket apps on 127.0.0.1, ``import hooklab`` only, ``hooklab serve`` as a process.

- a 307/308 followed to another host went as an empty POST without its signature, ``ok``
  and ``sent_body`` claiming the payload went;
- ``lab.forward("github/push", ...)`` (and ``lab.secret`` / ``lab.respond``, ``serve
  --forward``) was accepted, and never applied: a bin is one path segment;
- ``lab.forward_timeout = nan`` (or ``True``) was taken, and every forward failed;
- an app echoing the request showed the target's credentials: Basic's base64 of
  ``user:password@`` in an error, a ``?token=`` in a reason phrase of the results' repr;
- repeated headers given to ``send`` were regrouped by name;
- an answer whose ``Content-Length`` is no byte count counted as delivered.
"""

from __future__ import annotations

import base64
import http.client
import math
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from _http import post
from _rawapp import RawServer
from traitlets import TraitError

import hooklab
from hooklab import HookLab

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


class App(RawServer):
    """Reads each request (kept in ``got``: head and body) and writes ``answer(head)``, then
    closes."""

    def __init__(self, answer: bytes | None = None) -> None:
        super().__init__()
        self.answer = answer if answer is not None else b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        self.got: list[tuple[bytes, bytes]] = []
        self.lock = threading.Lock()

    def reply(self, head: bytes) -> bytes:
        return self.answer

    def _one(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(10)
                request = self.read_request(conn)
                if request is None:
                    return
                with self.lock:
                    self.got.append(request)
                conn.sendall(self.reply(request[0]))
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                return


def _post(lab: HookLab, bin_: str) -> None:
    assert post(lab.url_for(bin_), b"{}")[0] == 200


def _forward_outcome(lab: HookLab, bin_: str, to: str) -> dict[str, object]:
    lab.forward(bin_, to=to)
    _post(lab, bin_)
    assert lab.store.wait_for(lambda: lab.forwards(), timeout=20)
    return lab.forwards()[-1]


def _names(head: bytes) -> list[str]:
    return [line.split(b":", 1)[0].decode().lower() for line in head.split(b"\r\n")[1:]]


# -- 307/308 to another host: not followed; sent_* what went out ------------------------------
@pytest.mark.parametrize("status, host, followed, method", [
    (307, "localhost", False, None),     # (resends the body: it goes to no other host)
    (308, "localhost", False, None),
    (303, "localhost", True, "GET"),     # (a GET without content: nothing of the payload)
    (307, "127.0.0.1", True, "POST"),    # (same host, another port: body kept, no signature)
])
def test_a_followed_redirect_sends_what_sent_says(status: int, host: str, followed: bool,
                                                  method: str | None) -> None:
    with App() as there, App() as front:
        port = there.url.rsplit(":", 1)[1]
        front.answer = (f"HTTP/1.1 {status} Moved\r\nLocation: http://{host}:{port}/webhook\r\n"
                        "Content-Length: 0\r\n\r\n").encode()
        r = hooklab.send(front.url + "/old", provider="github", event="push", secret="s3",
                         follow_redirects=True)
        (first_head, first_body) = front.got[0]
        assert "x-hub-signature-256" in _names(first_head) and first_body
        if not followed:
            assert (r.status, r.ok, r.url) == (status, False, front.url + "/old")
            assert there.got == []
            assert r.unfollowed is not None and "another host" in r.unfollowed
            assert r.sent_body == first_body  # (what went out: to the front, whole)
            return
        ((head, body),) = there.got
        assert head.split(b" ")[0].decode() == method and r.status == 200 and r.ok
        assert r.url == f"http://{host}:{port}/webhook" and r.unfollowed is None
        assert r.sent_body == body  # (the body the app got: none for the GET)
        assert body == (first_body if method == "POST" else b"")
        assert "x-hub-signature-256" not in _names(head)  # (another origin: no signature)
        assert {k.lower() for k, _ in r.sent_headers} <= set(_names(head))


# -- a bin is one path segment ---------------------------------------------------------------
SLASHED = ["github/push", "/github/push", "github/push/", "a/b/c"]


@pytest.mark.parametrize("name", SLASHED)
def test_per_bin_calls_refuse_a_bin_with_a_slash_inside(lab: HookLab, name: str) -> None:
    first = name.strip("/").split("/")[0]
    calls = [lambda: lab.forward(name, to="http://127.0.0.1:9/app"),
             lambda: lab.secret(name, "s3cret")]
    if not name.startswith("/"):  # (with a leading "/" a rule's pattern is a path glob)
        calls.append(lambda: lab.respond(name, status=503))
    for call in calls:
        with pytest.raises(ValueError, match=r"is no bin: a bin is one path segment") as info:
            call()
        assert f"write {first!r}" in str(info.value)
    assert lab.rules.remove(name) is False  # (nothing was set)
    with App() as app:  # (nothing is forwarded, and a capture is answered 200)
        _post(lab, first)
        lab.wait(1, timeout=10)
        assert lab.forwards() == [] and app.got == []


@pytest.mark.parametrize("name, bin_", [("/github", "github"), ("github/", "github"), ("github", "github")])
def test_a_bin_spelt_with_slashes_around_is_still_taken(lab: HookLab, name: str, bin_: str) -> None:
    with App() as app:
        outcome = _forward_outcome(lab, name, app.url + "/hook")
        assert (outcome["status"], outcome["error"]) == (200, None) and len(app.got) == 1
    lab.respond("/github/push", status=202)  # (a path glob: as it was)
    assert hooklab.send(lab.url_for("github", "push"), payload={}).status == 202


def test_serve_refuses_forward_of_a_bin_with_a_slash_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    r = subprocess.run([EXE, "serve", "--port", "0", "--db", str(db),
                        "--forward", "github/push=http://127.0.0.1:9/hook"],
                       capture_output=True, text=True, timeout=60, env=ENV)
    assert (r.returncode, r.stdout) == (2, "")
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hooklab: --forward github/push=")
    assert "is no bin" in lines[0] and "write 'github'" in lines[0]
    assert not db.exists()


# -- forward_timeout: the range replay takes ---------------------------------------------------
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, True, False, 0, 0.05, -1,
                                   86_400.5, 1e10, "5", None])
def test_forward_timeout_refuses_what_replay_refuses(value: object) -> None:
    lab = HookLab(port=0, db=":memory:")
    try:
        with pytest.raises(TraitError, match=r"forward_timeout.*0\.1 to 86400"):
            lab.forward_timeout = value  # type: ignore[assignment]
        assert lab.forward_timeout == 10.0
        if value is not None:  # (replay's None: the lab's forward_timeout)
            with pytest.raises(ValueError, match=r"^timeout must be 0\.1 to 86400 seconds"):
                lab.replay([], to="http://127.0.0.1:9/x", timeout=value)  # type: ignore[arg-type]
    finally:
        lab.stop()
    with pytest.raises(TraitError):
        HookLab(port=0, db=":memory:", forward_timeout=value)


@pytest.mark.parametrize("value, kept", [(0.1, 0.1), (2, 2.0), (86_400, 86_400.0)])
def test_forward_timeout_takes_the_range(value: float, kept: float) -> None:
    lab = HookLab(port=0, db=":memory:")
    try:
        lab.forward_timeout = value
        assert lab.forward_timeout == kept and type(lab.forward_timeout) is float
    finally:
        lab.stop()


# -- an app that echoes the request never shows the target's credentials ------------------------
class Echo(App):
    """Answers a bad status line echoing the request line and its Authorization (a debugging
    proxy), or a valid one whose reason phrase is the request line."""

    def __init__(self, bad: bool) -> None:
        super().__init__()
        self.bad = bad

    def reply(self, head: bytes) -> bytes:
        lines = head.split(b"\r\n")
        auth = b" ".join(line for line in lines if line.lower().startswith(b"authorization"))
        if self.bad:
            return b"BOGUS " + lines[0] + b" " + auth + b"\r\n\r\n"
        return b"HTTP/1.1 500 " + lines[0] + b"\r\nContent-Length: 0\r\n\r\n"


def test_an_echoed_basic_password_is_hidden_in_errors(lab: HookLab) -> None:
    encoded = base64.b64encode(b"admin:S3KRETPW").decode()
    with Echo(bad=True) as app:
        target = app.url.replace("http://", "http://admin:S3KRETPW@") + "/h"
        outcome = _forward_outcome(lab, "a", target)
        (r,) = lab.replay([1], to=target)
        with pytest.raises(http.client.HTTPException) as raised:
            hooklab.send(target, payload=b"x")
        assert all(encoded.encode() in head for head, _ in app.got)  # (it was sent, and echoed)
    for text in (str(outcome["error"]), str(r.error), repr(r), str(raised.value)):
        assert "BOGUS" in text or "BadStatusLine" in text or "Bogus" in text, text
        assert encoded not in text and "S3KRETPW" not in text, text


def test_a_reason_phrase_echoing_the_query_token_is_hidden_in_the_repr(lab: HookLab) -> None:
    _post(lab, "a")
    lab.wait(1, timeout=10)
    with Echo(bad=False) as app:
        target = app.url + "/h?token=TOKSEKRET"
        (r,) = lab.replay([1], to=target)
        s = hooklab.send(target, payload=b"x")
    for result in (r, s):
        assert result.status == 500 and "TOKSEKRET" in result.reason  # (the attribute: as it came)
        shown = repr(result)
        assert "TOKSEKRET" not in shown and "reason='POST /h?token=[secret] HTTP/1.1'" in shown


# -- repeated headers go out in the order given -------------------------------------------------
GIVEN = [("X-B", "1"), ("x-a", "2"), ("X-B", "3")]


def _x_headers(head: bytes) -> list[tuple[str, str]]:
    pairs = [line.decode().split(":", 1) for line in head.split(b"\r\n")[1:]]
    return [(k, v.strip()) for k, v in pairs if k.lower().startswith("x-")]


def test_send_sends_repeated_headers_in_the_order_given() -> None:
    with App() as app:
        hooklab.send(app.url + "/p", payload={}, headers=GIVEN)
        r = subprocess.run([EXE, "send", app.url + "/c", "--data", "{}"]
                           + [a for k, v in GIVEN for a in ("--header", f"{k}: {v}")],
                           capture_output=True, text=True, timeout=60, env=ENV)
        assert r.returncode == 0, r.stderr
    assert [_x_headers(head) for head, _ in app.got] == [GIVEN, GIVEN]


# -- an invalid Content-Length is no delivery ---------------------------------------------------
@pytest.mark.parametrize("lengths, ok", [
    ([b"abc"], False), ([b"-1"], False), ([b"+2"], False), ([b""], False), ([b"0x2"], False),
    ([b"2.0"], False), ([b"2, 3"], False), ([b"2", b"3"], False), ([b"\xd9\xa2"], False),
    ([b"2"], True), ([b"2, 2"], True), ([b"2", b"2"], True),
])
def test_an_answer_with_an_invalid_content_length_is_no_delivery(lab: HookLab, lengths: list[bytes],
                                                                 ok: bool) -> None:
    answer = b"HTTP/1.1 200 OK\r\n" + b"".join(b"Content-Length: " + n + b"\r\n" for n in lengths) \
        + b"\r\nxx"
    with App(answer) as app:
        outcome = _forward_outcome(lab, "a", app.url + "/hook")
        (r,) = lab.replay([1], to=app.url + "/hook")
        if ok:
            s = hooklab.send(app.url + "/hook", payload=b"x")
            assert (s.status, s.ok, s.body) == (200, True, b"xx")
        else:
            with pytest.raises(http.client.HTTPException, match="Content-Length"):
                hooklab.send(app.url + "/hook", payload=b"x")
    delivered = hooklab.outbound.delivered(outcome["status"], outcome["error"])  # type: ignore[arg-type]
    assert (delivered, r.ok) == (ok, ok)
    if ok:
        assert (outcome["status"], r.status, r.body) == (200, 200, b"xx")
    else:
        assert outcome["status"] is None and r.status is None
        for error in (outcome["error"], r.error):
            assert "BadContentLength" in str(error) and "cannot be framed" in str(error)
