"""hooklab's own HTTP/1.1 path (hooklab/_fast_http.py) against Tornado's, on real sockets.

Plain requests are parsed by hooklab; everything else is handed to Tornado on the same
connection. The parity test sends the whole hostile-input corpus to a server with the fast
path and to one without it and requires the same answers and the same stored captures.
"""

from __future__ import annotations

import re
import socket
import string
import threading
import time
from collections.abc import Iterator

import pytest
from _http import recv_until_close
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_input import CASES, statuses

from hooklab.server import CaptureServer
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(120)

MAX_BODY = 1024 * 1024


def _server(fast: bool, timeout: float = 60.0) -> tuple[CaptureServer, CaptureStore]:
    store = CaptureStore(":memory:")
    srv = CaptureServer(
        store, port=0, max_body=MAX_BODY, fast_path=fast, idle_timeout=timeout, body_timeout=timeout
    )
    return srv.start(), store


@pytest.fixture(scope="module")
def pair() -> Iterator[dict[bool, tuple[CaptureServer, CaptureStore]]]:
    # short timeouts: a generated request that leaves a body unfinished ends in 2 s
    servers = {fast: _server(fast, timeout=2.0) for fast in (True, False)}
    try:
        yield servers
    finally:
        for srv, store in servers.values():
            srv.stop()
            store.close()


@pytest.fixture
def fast() -> Iterator[tuple[CaptureServer, CaptureStore]]:
    srv, store = _server(True)
    try:
        yield srv, store
    finally:
        srv.stop()
        store.close()


def _exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return recv_until_close(s, timeout)


def _normalise(answer: bytes) -> bytes:
    answer = re.sub(rb"X-Hooklab-Capture-Id: \d+", b"X-Hooklab-Capture-Id: N", answer)
    answer = re.sub(rb'"id": \d+', b'"id": N', answer)
    return re.sub(rb"Content-Length: \d+", b"Content-Length: L", answer)


def _fields(c) -> dict:
    return {
        "method": c.method, "path": c.path, "bin": c.bin, "query": c.query, "headers": c.headers,
        "body": c.body, "size": c.size, "remote_addr": c.remote_addr, "status": c.status,
        "url": re.sub(r":\d+", ":P", c.url), "provider": c.provider, "event_type": c.event_type,
    }


PARITY = [c for c in CASES if "over-limit" not in c.name and "100000-headers" not in c.name]


@pytest.mark.parametrize("case", PARITY, ids=[c.name for c in PARITY])
def test_fast_path_answers_and_stores_exactly_what_tornado_does(pair, case):
    results = {}
    for fast, (srv, store) in pair.items():
        before = store.last_id
        answer = _exchange(srv.port, case.raw)
        store.flush()
        results[fast] = (_normalise(answer), [_fields(c) for c in store.query(since=before)])
    (fast_answer, fast_caps), (slow_answer, slow_caps) = results[True], results[False]
    assert statuses(fast_answer) == case.status
    assert fast_answer == slow_answer
    assert fast_caps == slow_caps


def _answers(sock: socket.socket, n: int, timeout: float = 10.0) -> list[bytes]:
    """Read ``n`` complete responses (Content-Length framed) from a keep-alive connection."""
    sock.settimeout(timeout)
    buf, out = b"", []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end]
            m = re.search(rb"Content-Length: (\d+)", head)
            size = int(m.group(1)) if m and not head.startswith(b"HTTP/1.1 204") else 0
            if b"X-Head-Only" in head:
                size = 0
            if len(buf) >= end + 4 + size:
                out.append(buf[: end + 4 + size])
                buf = buf[end + 4 + size :]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return out


def _post(path: str, body: bytes = b"", extra: bytes = b"") -> bytes:
    return (
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra
        + b"Content-Length: %d\r\n\r\n" % len(body) + body
    )


def test_pipelined_answers_keep_request_order_when_an_earlier_one_is_delayed(fast):
    srv, store = fast
    srv.rules.add("slow", delay=0.3, body=b"slow")
    srv.rules.add("quick", body=b"quick")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(_post("/slow/1", b"a") + _post("/quick/2", b"b") + _post("/quick/3", b"c"))
        got = _answers(s, 3)
    assert [a.rsplit(b"\r\n\r\n", 1)[1] for a in got] == [b"slow", b"quick", b"quick"]
    store.flush()
    assert [c.body for c in store.query()] == [b"a", b"b", b"c"]


def test_a_body_trickled_byte_by_byte_is_stored_exactly(fast):
    srv, store = fast
    body = bytes(range(256)) * 4
    raw = _post("/trickle", body)
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(0, len(raw), 7):
            s.sendall(raw[i : i + 7])
            if i % 140 == 0:
                time.sleep(0.001)
        (answer,) = _answers(s, 1)
    assert answer.startswith(b"HTTP/1.1 200")
    store.flush()
    (cap,) = store.query(bin="trickle")
    assert cap.body == body and cap.size == len(body)


def test_one_connection_moves_to_tornado_mid_stream_and_keeps_order(fast):
    srv, store = fast
    chunked = (
        b"POST /mix/chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n"
    )
    health = b"GET /_hooklab/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(_post("/mix/plain", b"one") + chunked + health + _post("/mix/after", b"two"))
        got = _answers(s, 4)
    assert [statuses(a) for a in got] == [[200]] * 4
    assert b'"captures"' in got[2]
    store.flush()
    caps = store.query(bin="mix")
    assert [(c.path, c.body) for c in caps] == [
        ("/mix/plain", b"one"), ("/mix/chunked", b"abc"), ("/mix/after", b"two")
    ]
    # the connection Tornado took over still records the client's real address
    assert {c.remote_addr for c in caps} == {"127.0.0.1"}


def test_a_pipelining_flood_is_answered_in_full(fast):
    srv, store = fast
    n = 500
    with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as s:
        s.sendall(b"".join(_post(f"/flood/{i}", b"%d" % i) for i in range(n)))
        got = _answers(s, n, timeout=20)
    assert len(got) == n and all(a.startswith(b"HTTP/1.1 200") for a in got)
    ids = [int(re.search(rb"X-Hooklab-Capture-Id: (\d+)", a).group(1)) for a in got]
    assert ids == sorted(ids)
    store.flush()
    assert [c.body for c in store.query(bin="flood")] == [b"%d" % i for i in range(n)]


def test_head_and_204_answers_carry_no_body_and_the_connection_stays_usable(fast):
    srv, store = fast
    srv.rules.add("nobody", status=204)
    head = b"HEAD /h/x HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Head-Only: 1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(head)
        s.settimeout(10)
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200") and first.endswith(b"\r\n\r\n")
        assert b"Content-Length: " in first  # the length a GET would get, no body
        s.sendall(_post("/nobody", b"x") + _post("/after", b"y"))
        second, third = _answers(s, 2)
    assert second.startswith(b"HTTP/1.1 204") and b"Content-Length" not in second
    assert second.endswith(b"\r\n\r\n")
    assert third.startswith(b"HTTP/1.1 200")


def test_a_client_that_half_closes_after_sending_still_gets_its_answer(fast):
    srv, _ = fast
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(_post("/half", b"x") + _post("/half", b"y"))
        s.shutdown(socket.SHUT_WR)
        answer = recv_until_close(s, 10)
    assert statuses(answer) == [200, 200]


def test_a_stalled_body_is_dropped_and_idle_connections_close(tmp_path):
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, idle_timeout=0.5, body_timeout=0.5).start()
    try:
        stalled = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        stalled.sendall(b"POST /stall HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        idle = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        idle.sendall(_post("/idle", b"1"))
        t0 = time.monotonic()
        assert recv_until_close(stalled, 5) == b""
        assert statuses(recv_until_close(idle, 5)) == [200]  # answered, then closed when idle
        assert time.monotonic() - t0 < 3
        stalled.close()
        idle.close()
        store.flush()
        assert store.count(bin="stall") == 0 and store.count(bin="idle") == 1
        deadline = time.monotonic() + 5
        while srv.open_connections and time.monotonic() < deadline:
            time.sleep(0.02)
        assert srv.open_connections == 0
    finally:
        srv.stop()
        store.close()


def test_a_closed_store_gets_503_not_a_hang(fast):
    srv, store = fast
    store.close()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(_post("/gone", b"x"))
        (answer,) = _answers(s, 1)
    assert answer.startswith(b"HTTP/1.1 503") and b"capture not stored" in answer


def test_stop_with_open_keep_alive_connections_frees_the_port():
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0).start()
    port = srv.port
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(5)]
    for s in socks:
        s.sendall(_post("/ka", b"x"))
        assert _answers(s, 1)[0].startswith(b"HTTP/1.1 200")
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 5
    for s in socks:
        assert recv_until_close(s, 5) == b""
        s.close()
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    probe.bind(("127.0.0.1", port))
    probe.close()
    store.close()


# -- generated requests: the two paths must agree on every one ---------------------------
_token = st.text("!#$%&'*+.^_`|~" + string.ascii_letters + string.digits + "-", min_size=1, max_size=8)
_value = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=12)
_names = st.one_of(
    st.sampled_from(["Host", "Connection", "Content-Type", "X-Forwarded-Proto", "X-GitHub-Event",
                     "Expect", "Upgrade", "Transfer-Encoding", "Content-Length"]),
    _token,
    st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=6),
)
_values = st.one_of(
    st.sampled_from(["close", "Close", "keep-alive", "close, te", "upgrade", "https", "push", "",
                     " padded\t", "100-continue", "chunked", "5", "-1", "0x5"]),
    _value,
)
_targets = st.one_of(
    st.sampled_from(["/", "/a/b", "/a?x=1&x=2", "/a#frag", "//host/x", "*", "http://e.com/a?q",
                     "/_hooklab", "/_hooklab/health", "/_hooklabx", "/%zz?%", "/a\tb"]),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12).map(lambda t: "/" + t),
    st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=10),
)


_SENTINEL = b"GET /sentinel HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


@st.composite
def _requests(draw: st.DrawFn) -> bytes:
    method = draw(st.one_of(st.sampled_from(["POST", "GET", "HEAD", "PUT", "M-SEARCH"]), _token))
    target = draw(_targets)
    version = draw(st.sampled_from(["HTTP/1.1"] * 6 + ["HTTP/1.0", "HTTP/1.2", "HTTP/2"]))
    eol = draw(st.sampled_from([b"\r\n"] * 8 + [b"\n"]))
    headers = draw(st.lists(st.tuples(_names, _values), max_size=5))
    body = draw(st.binary(max_size=40))
    lines = [f"{method} {target} {version}".encode("latin-1")]
    lines += [f"{k}: {v}".encode("latin-1") for k, v in headers]
    if draw(st.booleans()):
        lines.append(b"Content-Length: %d" % len(body))
    raw = eol.join(lines) + eol + eol + body
    if draw(st.integers(0, 9)) == 0:
        raw = b"\r\n" + raw
    return raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(raw=_requests())
def test_generated_requests_get_the_same_answer_and_capture_on_both_paths(pair, raw):
    results = {}
    for fast, (srv, store) in pair.items():
        before = store.last_id
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.sendall(raw + _SENTINEL)  # unless raw ends the connection, this one does
            answer = recv_until_close(s, 5)
        store.flush()
        # (Tornado stores, but never answers, a request pipelined after "Connection: close";
        # the fast path reads nothing after it. The sentinel's answer is compared, its capture not.)
        caps = [_fields(c) for c in store.query(since=before) if c.path != "/sentinel"]
        results[fast] = (_normalise(answer), caps)
    assert results[True] == results[False], raw


# -- regressions found in review -----------------------------------------------------------
def _recv_for(sock: socket.socket, seconds: float) -> tuple[bytes, bool]:
    """What arrives within ``seconds`` (bounded); and whether the server closed."""
    sock.settimeout(0.1)
    out, end = b"", time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            chunk = sock.recv(1 << 20)
        except TimeoutError:
            continue
        except OSError:
            return out, True
        if not chunk:
            return out, True
        out += chunk
    return out, False


ODD = {
    "5000-digit length": b"POST /odd/len HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 5000
    + b"\r\n\r\n",
    "not a URL": b"POST //[x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz",
    "not a URL with query": b"GET //[x?a=1 HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("raw", ODD.values(), ids=list(ODD))
def test_odd_requests_agree_on_both_paths_and_harm_no_other_client(pair, raw):
    results = {}
    for fast, (srv, store) in pair.items():
        before = store.last_id
        # 64 pipelined plain requests ahead of the odd one, and 20 other clients meanwhile
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            others = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(20)]
            s.sendall(b"".join(_post(f"/odd/{i}", b"x") for i in range(64)) + raw + _SENTINEL)
            for o in others:
                o.sendall(_post("/odd/other", b"o"))
            other_answers = [_answers(o, 1) for o in others]
            answer = recv_until_close(s, 5)
            for o in others:
                o.close()
        assert all(len(a) == 1 and a[0].startswith(b"HTTP/1.1 200") for a in other_answers)
        store.flush()
        caps = [_fields(c) for c in store.query(since=before) if c.path != "/sentinel"]
        assert sum(c["path"] == "/odd/other" for c in caps) == 20
        caps = [c for c in caps if c["path"] != "/odd/other"]  # interleaving differs per run
        results[fast] = (_normalise(answer), caps)
    assert results[True] == results[False]
    assert statuses(results[True][0])[:64] == [200] * 64


def test_a_connection_handed_over_while_the_client_is_not_reading_keeps_working(fast):
    srv, store = fast
    srv.rules.add("big", body=b"z" * (1 << 20))  # 12 MiB of answers pile up unread
    expect = b"POST /x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
        s.sendall(_post("/big", b"x") * 12 + expect)
        time.sleep(0.5)
        first, closed = _recv_for(s, 3)
        assert not closed and first.count(b"HTTP/1.1 200") == 13
        s.sendall(_post("/after", b"y"))  # Tornado serves the connection now
        second, _ = _recv_for(s, 2)
    assert second.startswith(b"HTTP/1.1 200")
    store.flush()
    assert store.count(bin="after") == 1


def test_a_client_that_half_closes_after_an_api_request_gets_its_answer(fast):
    srv, _ = fast
    for _ in range(5):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.sendall(b"GET /_hooklab/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            answer = recv_until_close(s, 5)
        assert statuses(answer) == [200] and b'"captures"' in answer


def test_handed_over_connections_are_freed_when_the_client_keeps_its_end_open():
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, idle_timeout=1.0, body_timeout=1.0).start()
    try:
        socks = [socket.create_connection(("127.0.0.1", srv.port), timeout=10) for _ in range(10)]
        for s in socks:  # HTTP/1.0: Tornado answers and closes; the client never closes
            s.sendall(b"GET /h10 HTTP/1.0\r\n\r\n")
        for s in socks:
            answer, closed = _recv_for(s, 2)
            assert statuses(answer) == [200] and closed
        deadline = time.monotonic() + 10
        while srv.open_connections and time.monotonic() < deadline:
            time.sleep(0.1)
        assert srv.open_connections == 0
        fds = [len(srv._fast.conns)]
        assert fds == [0]
        for s in socks:
            s.close()
    finally:
        srv.stop()
        store.close()


RULE_REQUESTS = {
    # status-only rules: the default JSON body with another status, or no body at all
    "418": b"POST /rs/teapot HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nt",
    "201-close": b"PUT /rs/made HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "503-head": b"HEAD /rs/down HTTP/1.1\r\nHost: x\r\n\r\n",
    "304": b"GET /rs/same HTTP/1.1\r\nHost: x\r\n\r\n",
    "103": b"GET /rs/early HTTP/1.1\r\nHost: x\r\n\r\n",
    # rules with headers: names in any case, repeats, a Content-Length, Connection
    "headers": b"POST /rh/headers HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    "close": b"POST /rh/close HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    "head": b"HEAD /rh/headers HTTP/1.1\r\nHost: x\r\n\r\n",
    "no-content": b"POST /rh/none HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
}


@pytest.mark.parametrize("raw", RULE_REQUESTS.values(), ids=list(RULE_REQUESTS))
def test_answers_shaped_by_response_rules_are_the_same_on_both_paths(pair, raw):
    for srv, _ in pair.values():
        for bin_, status in (("/rs/teapot", 418), ("/rs/made", 201), ("/rs/down", 503),
                             ("/rs/same", 304), ("/rs/early", 103)):
            srv.rules.add(bin_, status=status)
        srv.rules.add("/rh/headers", body=b"abc", headers=[
            ("x-lower", "1"), ("X-Dup", "a"), ("x-other", "o"), ("x-dup", "b"),
            ("content-length", "999"), ("Server", "mine")])
        srv.rules.add("/rh/close", body=b"k", headers=[("Connection", "keep-alive")])
        srv.rules.add("/rh/none", status=204, headers=[("X-Empty", "")])
    answers = {fast: _exchange(srv.port, raw + _SENTINEL) for fast, (srv, _) in pair.items()}
    assert _normalise(answers[True]) == _normalise(answers[False])


def _read_into(sock: socket.socket, box: list[bytes]) -> None:
    box.append(recv_until_close(sock, 3))


def test_tornados_answer_is_delivered_when_it_closes_while_the_client_still_sends(fast):
    srv, store = fast
    trials, answered = 40, 0
    for _ in range(trials):
        with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            box: list[bytes] = []
            reader = threading.Thread(target=_read_into, args=(s, box))
            reader.start()
            s.sendall(b"GET /late/h10 HTTP/1.0\r\n\r\n")  # Tornado answers, then closes
            end = time.monotonic() + 0.1
            try:
                while time.monotonic() < end:  # ... while more bytes keep arriving
                    s.sendall(b"G")
                    time.sleep(0.001)
            except OSError:
                pass
            reader.join(5)
            answered += statuses(box[0] if box else b"") == [200]
    store.flush()
    assert store.count(bin="late") == trials
    assert answered == trials


def test_a_slow_reader_of_a_large_answer_is_not_cut_off_as_idle():
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, idle_timeout=0.5, body_timeout=0.5).start()
    try:
        big = b"y" * (4 << 20)
        srv.rules.add("bigreply", body=big)
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.sendall(_post("/bigreply", b"x"))
            got = b""
            deadline = time.monotonic() + 30
            while len(got) < len(big) and time.monotonic() < deadline:
                chunk = s.recv(256 * 1024)  # about 2.5 MB/s: the answer takes ~2 s to read
                if not chunk:
                    break
                got += chunk
                time.sleep(0.05)
        assert got.endswith(big), len(got)
    finally:
        srv.stop()
        store.close()
