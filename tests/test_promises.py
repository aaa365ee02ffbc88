"""Promises pinned by expected values, end to end (each kills a mutation that once survived).

- ``wait(n)`` returns only once ``n`` captures match, and returns all of them;
- a 200 means stored: the capture is readable from another connection the moment the answer
  arrives, with no ``wait()`` in between;
- duplicate headers are kept on every HTTP path (plain, chunked, ``Expect: 100-continue``);
- a response rule's own ``Server`` header is sent, once, on every path;
- ``HookLab``'s documented defaults.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from _http import post, raw_request, recv_until_close

import hooklab
from hooklab import HookLab

pytestmark = pytest.mark.timeout(120)


def test_wait_returns_only_when_count_is_reached_and_returns_all(lab: HookLab) -> None:
    first_stored = threading.Event()

    def sender() -> None:
        assert post(lab.url_for("w", "0"), b"0")[0] == 200
        first_stored.set()
        # the pause only makes an early return observable; correctness never depends on it
        time.sleep(0.3)
        for i in (1, 2):
            assert post(lab.url_for("w", str(i)), str(i).encode())[0] == 200

    assert post(lab.url_for("other"), b"x")[0] == 200  # does not match the filter
    t = threading.Thread(target=sender)
    t.start()
    try:
        assert first_stored.wait(10)
        caps = lab.wait(3, bin="w", timeout=10)
    finally:
        t.join(10)
    assert [c.path for c in caps] == ["/w/0", "/w/1", "/w/2"]
    assert [c.body for c in caps] == [b"0", b"1", b"2"]
    # more than asked for already there: all matching ones come back, oldest first
    assert [c.path for c in lab.wait(2, bin="w", timeout=1)] == ["/w/0", "/w/1", "/w/2"]
    # since= counts only newer ones
    with pytest.raises(TimeoutError, match=r"waited 0.2 s for 1 capture\(s\).*0 matched"):
        lab.wait(1, bin="w", since=caps[-1].id, timeout=0.2)


def test_wait_counts_a_background_burst_exactly(lab: HookLab) -> None:
    n = 30

    def sender() -> None:
        for i in range(n):
            assert post(lab.url_for("burst", str(i)), b"b")[0] == 200

    t = threading.Thread(target=sender)
    t.start()
    try:
        caps = lab.wait(n, bin="burst", timeout=20)
    finally:
        t.join(20)
    assert len(caps) == n
    assert [c.path for c in caps] == [f"/burst/{i}" for i in range(n)]


def _api_get(lab: HookLab, path: str) -> tuple[int, bytes]:
    req = urllib.request.Request(lab.url + path,
                                 headers={"Authorization": f"token {lab.api_token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_200_means_stored_readable_from_another_connection(file_lab: HookLab,
                                                              framing: str) -> None:
    """A SQLite file (readers use their own connection, WAL): an answer sent before the
    commit would be caught here by a read that does not see the row yet."""
    lab = file_lab
    port = lab.bound_port
    assert port is not None
    for i in range(40):
        body = f"read-after-answer {i}".encode()
        if framing == "chunked":
            raw = (b"POST /raa/%d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   b"Connection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (i, len(body), body))
        else:
            raw = (b"POST /raa/%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                   b"Connection: close\r\n\r\n%s" % (i, len(body), body))
        answer = raw_request(port, raw)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
        cid = json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]
        # a second connection, straight after the answer: no wait(), no flush()
        status, data = _api_get(lab, f"/_hooklab/api/captures/{cid}/body")
        assert (status, data) == (200, body)
        assert lab.store.get(cid).body == body  # type: ignore[union-attr]


DUPES = [("X-D", "1"), ("X-E", "2"), ("x-d", "3"), ("X-D", ""), ("X-D", "4, 5")]


@pytest.mark.parametrize("framing", ["content-length", "chunked", "expect-100"])
def test_duplicate_headers_are_kept_on_every_path(lab: HookLab, framing: str) -> None:
    port = lab.bound_port
    assert port is not None
    head = "".join(f"{k}: {v}\r\n" for k, v in DUPES).encode()
    if framing == "chunked":
        raw = (b"POST /dup/c HTTP/1.1\r\nHost: x\r\n" + head
               + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\n\r\n")
        answer = raw_request(port, raw)
    elif framing == "expect-100":
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"POST /dup/e HTTP/1.1\r\nHost: x\r\n" + head
                      + b"Expect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 100")
            s.sendall(b"ok")
            answer = recv_until_close(s)
    else:
        raw = (b"POST /dup/l HTTP/1.1\r\nHost: x\r\n" + head
               + b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
        answer = raw_request(port, raw)
    assert b"HTTP/1.1 200" in answer, answer[:200]
    (cap,) = lab.wait(1, timeout=10)
    assert [h for h in cap.headers if h[0].lower() in ("x-d", "x-e")] == DUPES
    assert cap.header_all("x-d") == ["1", "3", "", "4, 5"]
    assert cap.body == b"ok"


def _answer_headers(answer: bytes) -> list[tuple[str, str]]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return [(k, v.strip()) for k, _, v in (line.partition(":") for line in head)]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_rules_server_header_is_sent_once_on_every_path(lab: HookLab, framing: str) -> None:
    port = lab.bound_port
    assert port is not None
    lab.respond("srv", status=201, body=b"made", headers={"Server": "my-app/1.0", "X-A": "1"})
    for bin_, server in (("srv", "my-app/1.0"), ("plain", "hooklab")):
        if framing == "chunked":
            raw = (f"POST /{bin_} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n0\r\n\r\n").encode()
        else:
            raw = f"POST /{bin_} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        headers = _answer_headers(raw_request(port, raw))
        assert [v for k, v in headers if k.lower() == "server"] == [server], headers
    assert lab.store.count() == 2


def test_hooklab_defaults() -> None:
    lab = HookLab()
    try:
        assert lab.host == "127.0.0.1"
        assert lab.port == 8765
        assert lab.db == ".hooklab/captures.sqlite3"
        assert lab.max_body == 16 * 1024 * 1024
        assert lab.durability == "full"
        assert list(lab.allowed_hosts) == []
        assert lab.retention_count is None
        assert lab.retention_age is None
        assert lab.redact_credentials is True
    finally:
        lab.stop()


def test_no_retention_by_default_keeps_every_capture(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lab = HookLab(port=0, db=str(tmp_path / "keep.sqlite3"))
    try:
        futures = [lab.store.add({"method": "POST", "path": f"/keep/{i}", "body": b""})
                   for i in range(1200)]
        for f in futures:
            f.result(30)
        assert lab.store.count() == 1200
        assert lab.captures[0].path == "/keep/0"
    finally:
        lab.stop()


@pytest.mark.parametrize("change", ["retention_count", "retention_age", "durability", "db"])
def test_store_settings_changed_on_a_running_lab_take_effect(tmp_path, change) -> None:  # type: ignore[no-untyped-def]
    """``lab.<setting> = value`` (or ``%config HookLab.<setting>``) after the database was
    opened is not silently ignored: retention applies from the next write, a new
    ``durability`` opens the file again with it, a new ``db`` moves the lab to that file;
    the lab keeps serving and its forwards stay."""
    import sqlite3

    from _http import post

    lab = hooklab.start(port=0, db=str(tmp_path / "a.sqlite3"))
    try:
        for i in range(5):
            assert post(lab.url_for("in", str(i)), b"{}")[0] == 200
        lab.wait(5, timeout=30)
        lab.forward("in", "http://127.0.0.1:9/relay")
        if change == "retention_count":
            lab.retention_count = 2
        elif change == "retention_age":
            lab.retention_age = 3.0
            time.sleep(3.1)  # the five are older than that now; what comes next is not
        elif change == "durability":
            lab.durability = "normal"
        else:
            lab.db = str(tmp_path / "b.sqlite3")
        assert post(lab.url_for("in", "after"), b"{}")[0] == 200
        lab.wait(1, timeout=30, path="/in/after")
        lab.store.flush(30)
        assert lab.is_running and lab._forwarder.targets == {"in": "http://127.0.0.1:9/relay"}
        paths = [c.path for c in lab.captures]
        expected = {"retention_count": ["/in/4", "/in/after"], "retention_age": ["/in/after"],
                    "durability": [f"/in/{i}" for i in range(5)] + ["/in/after"],
                    "db": ["/in/after"]}[change]
        assert paths == expected
        assert lab.store.path == str(tmp_path / ("b.sqlite3" if change == "db" else "a.sqlite3"))
        if change == "durability":
            assert lab.store.durability == "normal"
    finally:
        hooklab.stop()
    if change == "db":  # the old file kept what came before the move, and nothing after it
        db = sqlite3.connect(tmp_path / "a.sqlite3")
        assert db.execute("SELECT count(*) FROM captures").fetchone() == (5,)
        db.close()


def test_start_defaults_match_the_contract() -> None:
    lab = hooklab.start(port=0, db=":memory:")
    try:
        assert lab.url.startswith("http://127.0.0.1:")
        assert lab.url_for("gh", "x") == f"{lab.url}/gh/x"
        assert lab.server is not None and lab.server.max_body == 16 * 1024 * 1024
    finally:
        hooklab.stop()
