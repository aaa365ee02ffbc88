"""Connections are bounded: a flood of idle ones cannot take the kernel's file descriptors.

Each TCP connection to the capture port holds one of the process's file descriptors -- in a
notebook, the kernel's. With the usual soft limit of 1,024, 1,100 connections that sent nothing
(nothing the in-flight budget sees, each kept for the 120 s idle timeout) left the kernel unable
to open a file, ``hooklab.open(db)`` failing with EMFILE, and real webhooks reset. Now at most
``max_connections`` are open at once (by default half the soft limit, at most 8192): one more
closes the connection idle longest, or is answered 503 when every one is busy; a connection
that sends nothing is closed after ``first_byte_timeout``. Requests being answered, uploads
whose body moves, and WebSocket streams, are never closed to make room.

Then a review found the cap itself a lever: ``limit`` connections each sending a head and one
byte of body counted as busy for the whole 60 s body timeout, so every new connection got 503
(32 of them at ``max_connections=32`` from one address; 1,024 at any soft limit over 2,048,
where before they blocked nothing). Now an upload with no byte for ``STALL_SECONDS`` makes room
(answered 408), and one address other than this host's may send only a sixteenth of the limit
of bodies at once. A lingering connection made room even with its answer still in the kernel's
queue: the client's next bytes then reset it away.

Then an outside attacker took every place from one address with connections on which it
pipelined body-less requests (captures, or ``/_hooklab/health``, which needs no token) behind a
one-byte receive window and never read the answers: neither idle once delivered nor stalled
uploads, they held every place for the 120 s idle timeout, and a byte read now and then put
that off. Now a connection whose answers have waited ``STALL_SECONDS`` unread makes room.
Then a client downloading a 15 MiB body at a steady 3 MB/s was reset by that rule, its answer
not all out 2 s after a sweep saw it waiting: now what counts is what a client took since
(64 KiB, or all that was waiting), not whether everything written by then has left.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import threading
import time

import pytest
from _http import post, recv_until_close
from _relsupport import HOOKLAB, serve

import hooklab
from hooklab.server import CaptureServer
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(60)

FIRST = 3.0  # the subprocess lab's first_byte_timeout (seconds)
SLOW = 2.0  # its delayed answer (seconds)
NOFILE = 256  # its soft limit of open files: the default connection limit is half of it

# A lab in a process of its own with a low descriptor limit, as a notebook kernel would be at
# 1,024; one line on stdin -> one line of what the process can still do
CHILD = r"""
import json, os, resource, sys
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (@NOFILE@, hard))
import hooklab
db, scratch = sys.argv[1], sys.argv[2]
lab = hooklab.HookLab(port=0, db=db, first_byte_timeout=@FIRST@).start()
lab.respond("slow", delay=@SLOW@)
print(json.dumps({"port": lab.server.port, "token": lab.api_token,
                  "limit": lab.server.connection_limit}), flush=True)
for n, line in enumerate(sys.stdin):
    if line.strip() != "check" or n > 100:
        break
    what = {"connections": lab.server.open_connections}
    try:  # the kernel's own files
        for i in range(20):
            with open(os.path.join(scratch, f"notes{i}.txt"), "w") as f:
                f.write("x")
        what["open"] = "ok"
    except OSError as exc:
        what["open"] = str(exc)
    try:  # and the analysis side of hooklab itself, on the database being written
        what["captures"] = len(hooklab.open(db).captures)
    except Exception as exc:
        what["captures"] = f"{type(exc).__name__}: {exc}"
    print(json.dumps(what), flush=True)
lab.stop()
""".replace("@NOFILE@", str(NOFILE)).replace("@FIRST@", repr(FIRST)).replace("@SLOW@", repr(SLOW))


def _line(proc: subprocess.Popen, timeout: float = 20.0) -> dict:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "the lab process said nothing"
    line = proc.stdout.readline()
    assert line, f"the lab process ended (exit {proc.wait(5)})"
    return json.loads(line)


def _connect(port: int, data: bytes = b"") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if data:
        s.sendall(data)
    return s


def _answer(s: socket.socket, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One HTTP answer (head and Content-Length body) read from ``s``."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = s.recv(65536)
        assert chunk, "closed in the middle of an answer"
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _closed(s: socket.socket) -> bool:
    """Whether the server closed ``s`` (EOF or reset waiting), without waiting."""
    poll = select.poll()  # (not select(): the test's descriptors may be past 1023)
    poll.register(s, select.POLLIN)
    if not poll.poll(0):
        return False
    try:  # readable: answered at once, an answer or stream frame (open) or EOF (closed)
        return s.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _wait_connections(srv: CaptureServer, at_most: int, seconds: float = 3.0) -> int:
    deadline = time.monotonic() + seconds
    while srv.open_connections > at_most and time.monotonic() < deadline:
        time.sleep(0.02)
    return srv.open_connections


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_NOFILE as on Linux")
def test_a_flood_of_idle_connections_leaves_webhooks_and_the_kernels_files_alone(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    db = tmp_path / "c.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(scratch)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    socks: list[socket.socket] = []
    try:
        info = _line(proc)
        port, limit = info["port"], info["limit"]
        assert limit == NOFILE // 2 == 128
        url = f"http://127.0.0.1:{port}"
        # the oldest connections, busy: a body half sent, an answer being delayed, a stream
        in_body = _connect(port, b"POST /old HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n"
                                 b"0123456789")
        slow = _connect(port, b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
        stream = _connect(port, f"GET /_hooklab/ws?token={info['token']} HTTP/1.1\r\n"
                                f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                                "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode())
        stream.settimeout(5)
        assert stream.recv(4096).startswith(b"HTTP/1.1 101")
        socks += [in_body, slow, stream]
        time.sleep(0.1)

        # the attack: three times the limit (more than the process's descriptors) saying nothing
        flood: list[tuple[socket.socket, float]] = []
        for _ in range(3 * limit):
            flood.append((_connect(port), time.monotonic()))
            socks.append(flood[-1][0])

        # real webhooks are captured, and the kernel still opens its files
        for i in range(5):
            assert post(f"{url}/stripe", b'{"n": %d}' % i) == (200, b'{"ok": true, "id": %d}' % (i + 2))
        proc.stdin.write("check\n")
        proc.stdin.flush()
        what = _line(proc)
        assert what["open"] == "ok"
        assert what["captures"] == 6  # /slow and the five webhooks
        assert what["connections"] <= limit
        # the connection idle longest went first: most of the flood is closed already, and the
        # newest are still there (their first-byte time is not over)
        survivors = [(s, t) for s, t in flood if not _closed(s)]
        assert limit // 2 <= len(survivors) < limit, len(survivors)
        assert all(not _closed(s) for s, _ in flood[-limit // 2:])

        # the busy ones were not touched
        in_body.sendall(b"abcdefghij")
        assert _answer(in_body)[0] == 200
        assert _answer(slow)[0] == 200
        assert not _closed(stream)

        # a connection that sent nothing goes after first_byte_timeout; one that sent a request
        # and keeps its connection open between deliveries stays (idle_timeout: 120 s)
        keep = _connect(port, b"POST /keep HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nk")
        socks.append(keep)
        assert _answer(keep)[0] == 200
        lasted = {}
        deadline = time.monotonic() + FIRST + 3
        while len(lasted) < len(survivors) and time.monotonic() < deadline:
            for s, t in survivors:
                if s not in lasted and _closed(s):
                    lasted[s] = time.monotonic() - t
            time.sleep(0.05)
        assert len(lasted) == len(survivors), "silent connections left open"
        assert FIRST - 0.2 <= min(lasted.values()) and max(lasted.values()) <= FIRST + 2.0, \
            sorted(lasted.values())
        assert not _closed(keep) and not _closed(stream)
        keep.sendall(b"POST /keep HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nk")
        assert _answer(keep)[0] == 200
        print(f"\nconnection flood: {3 * limit} silent connections to a lab at {NOFILE} files "
              f"(limit {limit}): 5/5 webhooks 200, kernel files ok; silent ones closed after "
              f"{min(lasted.values()):.2f}-{max(lasted.values()):.2f} s")
    finally:
        for s in socks:
            s.close()
        if proc.poll() is None:
            proc.stdin.write("stop\n")
            proc.stdin.close()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture(params=["uvloop", "asyncio"])
def loop(request, monkeypatch):
    """The server thread's loop: uvloop where it is installed, asyncio's elsewhere (both
    close, refuse and write their transports their own way)."""
    import asyncio

    import hooklab.server.lifecycle as lifecycle

    if request.param == "asyncio":
        monkeypatch.setattr(lifecycle, "_new_loop", asyncio.new_event_loop)
    else:
        pytest.importorskip("uvloop")
    return request.param


LIMIT = 16
REQUEST = b"POST /idle HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
#: kinds of connection that hold a descriptor and no request: how each is made, and whether
#: its answer is read first
IDLE_KINDS = {
    "silent": (b"", False),
    "part of a head": (b"POST /idle HTTP/1.1\r\nHost: x\r\nX-Slow: a", False),
    "keep-alive after an answer": (REQUEST, True),
    "lingering after Connection: close": (b"POST /idle HTTP/1.1\r\nHost: x\r\nConnection: close"
                                          b"\r\nContent-Length: 2\r\n\r\nok", True),
}


@pytest.mark.parametrize("kind", IDLE_KINDS)
def test_idle_connections_of_every_kind_make_room_for_webhooks(kind, loop):
    data, answered = IDLE_KINDS[kind]
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, max_connections=LIMIT).start()
    socks = []
    try:
        for _ in range(2 * LIMIT):
            s = _connect(srv.port, data)
            socks.append(s)
            if answered:
                assert _answer(s)[0] == 200
        for i in range(5):
            assert post(srv.url_for("hook"), b"%d" % i)[0] == 200
        assert sorted(c.body for c in store.query(bin="hook")) == [b"%d" % i for i in range(5)]
        assert _wait_connections(srv, LIMIT) <= LIMIT
        if not kind.startswith("lingering"):  # (those were closed by their answer anyway)
            time.sleep(0.1)
            # the oldest made room, the newest are open (the first webhook took one more
            # place; each later one took its own unless the one before had not quite gone)
            closed = [_closed(s) for s in socks]
            n = closed.count(True)
            assert closed == [True] * n + [False] * (2 * LIMIT - n), closed
            assert LIMIT + 1 <= n <= LIMIT + 5, n
    finally:
        for s in socks:
            s.close()
        srv.stop()
        store.close()


def test_when_every_connection_is_busy_a_new_one_gets_503_and_busy_ones_stay(loop):
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, max_connections=4).start()
    held, extra = [], []
    try:
        for i in range(4):  # four bodies half received: nothing idle to close
            held.append(_connect(srv.port, b"POST /held HTTP/1.1\r\nHost: x\r\n"
                                            b"Content-Length: 10\r\n\r\n%d----" % i))
        time.sleep(0.1)
        with _connect(srv.port, REQUEST) as s:
            answer = recv_until_close(s)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 ")
        assert b"\r\nRetry-After: 5" in head
        assert json.loads(body) == {"ok": False, "error": "busy: too many connections, retry later"}
        assert srv.refused == {503: 1}
        assert _wait_connections(srv, 4) == 4  # (that one is gone)
        # many at once: a few are told 503, the rest closed unanswered; none waits
        for _ in range(20):
            extra.append(_connect(srv.port))
        got = []
        for s in extra:
            try:
                s.sendall(REQUEST)
            except OSError:
                got.append(b"")
                continue
            got.append(recv_until_close(s, 3.0)[:12])
        assert set(got) <= {b"HTTP/1.1 503", b""} and got.count(b"HTTP/1.1 503") >= 4, got
        # the busy connections were never closed for them: their requests are stored
        for s in held:
            s.sendall(b"+++++")
            assert _answer(s)[0] == 200
        assert sorted(c.body for c in store.query(bin="held")) == [
            b"%d----+++++" % i for i in range(4)]
        # now idle, they make room again
        assert post(srv.url_for("after"), b"x")[0] == 200
    finally:
        for s in held + extra:
            s.close()
        srv.stop()
        store.close()


@pytest.mark.parametrize(("soft", "expected"), [
    (1024, 512),  # the usual default: half for the kernel's own files
    (256, 128),
    (20, 10),
    (10, 8),  # never below 8
    (16384, 8192),
    (20000, 8192),  # never above 8192 (~50 MB of the kernel's memory), however many files
    (65536, 8192),
    (-1, 8192),  # RLIM_INFINITY
])
def test_the_default_limit_is_half_the_descriptor_limit(monkeypatch, soft, expected):
    import resource

    from hooklab.server.protocol import default_max_connections

    soft = resource.RLIM_INFINITY if soft == -1 else soft
    monkeypatch.setattr(resource, "getrlimit", lambda what: (soft, resource.RLIM_INFINITY))
    assert default_max_connections() == expected


def test_the_settings_reach_the_running_server():
    from hooklab.server.protocol import default_max_connections

    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        srv = lab.server
        assert srv.first_byte_timeout == 10.0 and srv.max_connections is None
        assert srv.connection_limit == default_max_connections()
        lab.max_connections, lab.first_byte_timeout = 50, 2.5  # as %config would
        assert (srv.max_connections, srv.connection_limit, srv.first_byte_timeout) == (50, 50, 2.5)
    finally:
        lab.stop()


def test_hooklab_serve_takes_max_connections(tmp_path):
    refused = subprocess.run([*HOOKLAB, "serve", "--max-connections", "0"],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "--max-connections: 0 is below 1" in refused.stderr
    proc, port = serve(tmp_path / "c.sqlite3", "--max-connections", "2")
    socks = []
    try:
        for _ in range(3):
            socks.append(_connect(port))
            time.sleep(0.05)
        deadline = time.monotonic() + 3
        while not _closed(socks[0]) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [_closed(s) for s in socks] == [True, False, False]
        assert post(f"http://127.0.0.1:{port}/cli", b"x")[0] == 200
    finally:
        for s in socks:
            s.close()
        proc.terminate()
        proc.wait(10)


def _upload(n: int = 10, sent: bytes = b"{", path: str = "/stall") -> bytes:
    return b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (path.encode(), n, sent)


#: uploads that stop, as each is begun; once every place is held by them, a new connection
#: closes the one stalled longest (408). Expected: what the client reads before that answer.
STALLED = {
    "one byte of a Content-Length body": (_upload(), b""),
    "the head, no byte of its body": (_upload(sent=b""), b""),
    "part of a chunk": (b"POST /stall HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"5\r\nab", b""),
    "100 Continue taken, nothing sent": (
        b"POST /stall HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n"),
    "a request answered, the next one stalled": (REQUEST + _upload(), b"HTTP/1.1 200 OK"),
}
STALL_LIMIT = 12
_503 = b"HTTP/1.1 503"


def test_stalled_uploads_make_room_for_webhooks_and_a_moving_one_stays(loop):
    from hooklab.server.protocol import STALL_SECONDS

    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, max_connections=STALL_LIMIT).start()
    socks: list[socket.socket] = []
    stop = threading.Event()
    dripped = []
    try:
        # the oldest: a body sent a byte every 0.5 s (slow, but it moves)
        moving = _connect(srv.port, _upload(60, b"", "/moving"))
        socks.append(moving)

        def drip() -> None:
            for _ in range(60):
                if stop.wait(0.5):
                    return
                moving.sendall(b"m")
                dripped.append(1)

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        stalled = {kind: _connect(srv.port, data) for kind, (data, _) in STALLED.items()}
        fillers = [_connect(srv.port, _upload()) for _ in range(STALL_LIMIT - 1 - len(STALLED))]
        socks += [*stalled.values(), *fillers]
        for kind, (_, before) in STALLED.items():
            if before:  # (read now: what comes after it is the 408)
                got = stalled[kind].recv(len(before), socket.MSG_WAITALL)
                assert got == before, (kind, got)
                if kind.startswith("a request answered"):
                    stalled[kind].settimeout(5)
                    assert _answer_rest(stalled[kind], got)[0] == 200
        deadline = time.monotonic() + 3
        while srv.open_connections < STALL_LIMIT and time.monotonic() < deadline:
            time.sleep(0.01)  # (accepted as the server's loop turns)
        assert srv.open_connections == STALL_LIMIT

        # up to twice the cap more, at once: all busy and none stalled long enough yet -> 503
        # (for STALL_SECONDS a stalled upload is any upload; a sender told 503 retries)
        refused = []
        for _ in range(STALL_LIMIT):
            with _connect(srv.port, _upload()) as s:
                refused.append(recv_until_close(s, 3.0)[:12])
        assert set(refused) <= {_503, b""} and refused.count(_503) >= 4, refused
        assert post(srv.url_for("early"), b"x")[0] == 503

        time.sleep(STALL_SECONDS + 0.3)
        # now a new connection closes the upload stalled longest: the webhook is stored
        assert post(srv.url_for("hook"), b"x") == (200, b'{"ok": true, "id": 2}')
        first = next(iter(STALLED))
        read = {first: _read_to_close(stalled[first], 3.0)}
        assert read[first][1]
        assert not any(_closed(s) for s in [*list(stalled.values())[1:], *fillers])
        # and so does each of a next round of stalled uploads (an attacker's: holding every
        # place takes one new connection per place every STALL_SECONDS)
        assert _wait_connections(srv, STALL_LIMIT - 1) == STALL_LIMIT - 1  # (the webhook's)
        for n in range(STALL_LIMIT - 1):
            # one at a time, each read by the server (its 100 Continue) before the next comes:
            # connections accepted in one batch are all made before any is read, and a newer
            # one then finds the others silent and closes one of them instead
            s = _connect(srv.port, STALLED["100 Continue taken, nothing sent"][0])
            socks.append(s)
            assert s.recv(25, socket.MSG_WAITALL) == b"HTTP/1.1 100 Continue\r\n\r\n"
            if n:  # (the first takes the webhook's place)
                assert _wait_refused(srv, 408, n + 1) == n + 1
        for kind, s in [*stalled.items(), *(("filler", f) for f in fillers)]:
            answer, closed = read.get(kind) or _read_to_close(s, 3.0)
            assert closed, kind
            assert answer.startswith(b"HTTP/1.1 408 "), (kind, answer)  # told why
            assert json.loads(answer.partition(b"\r\n\r\n")[2]) == {
                "ok": False, "error": "request body stalled: closed to make room for a new "
                                      "connection"}
        assert srv.refused == {503: srv.refused[503], 408: STALL_LIMIT - 1}

        # the moving one was never closed for them: its body completes and is stored
        assert not _closed(moving)
        stop.set()
        dripper.join(5)
        moving.sendall(b"m" * (60 - len(dripped)))
        assert _answer(moving)[0] == 200
        assert [c.body for c in store.query(bin="moving")] == [b"m" * 60]
    finally:
        stop.set()
        for s in socks:
            s.close()
        srv.stop()
        store.close()


def _wait_refused(srv: CaptureServer, status: int, count: int, seconds: float = 3.0) -> int:
    """Wait until ``srv`` refused ``count`` requests with ``status``; how many it did."""
    deadline = time.monotonic() + seconds
    while srv.refused.get(status, 0) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return srv.refused.get(status, 0)


def _read_to_close(s: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """What ``s`` reads until the server closes it (then True) or ``timeout`` passes."""
    s.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def _answer_rest(s: socket.socket, got: bytes) -> tuple[int, dict[str, str], bytes]:
    """The rest of an answer whose first bytes ``got`` were read already."""
    data = got
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(v for k, _, v in (x.partition(b":") for x in head.split(b"\r\n")[1:])
                      if k.strip().lower() == b"content-length"))
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk, body
        body += chunk
    return int(head.split()[1]), {}, body


def _connect_from(address: str, port: int, data: bytes = b"") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(address, 0))
    if data:
        s.sendall(data)
    return s


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="127.0.0.2 is loopback on Linux")
def test_one_address_sends_at_most_its_share_of_bodies_at_once():
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, max_connections=128).start()  # 8 bodies per address
    share = 128 // 16
    socks: list[socket.socket] = []
    try:
        # one address, another host's (127.0.0.2 stands for it): a body a byte at a time
        mine = [_connect_from("127.0.0.2", srv.port, _upload(2, b"a", "/peer")) for _ in range(share)]
        socks += mine
        time.sleep(0.1)
        with _connect_from("127.0.0.2", srv.port, _upload(2, b"a", "/peer")) as s:
            answer = recv_until_close(s, 3.0)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(_503) and b"\r\nRetry-After: 5" in head, answer
        assert json.loads(body)["error"] == (
            "busy: too many request bodies from one address at once, retry later")
        assert srv.refused == {503: 1}
        # another address, and this host's own (the relay, local tools: any number)
        other = _connect_from("127.0.0.3", srv.port, _upload(2, b"b", "/peer"))
        local = [_connect(srv.port, _upload(2, b"c", "/peer")) for _ in range(2 * share)]
        socks += [other, *local]
        for s in [*mine, other, *local]:
            assert not _closed(s)
        # done bodies free their place: the address may send again
        for s in [mine[0], other, *local]:
            s.sendall(b"!")
            assert _answer(s)[0] == 200
        again = _connect_from("127.0.0.2", srv.port, _upload(2, b"d!", "/peer"))
        socks.append(again)
        assert _answer(again)[0] == 200
        assert len(store.query(bin="peer")) == 3 + 2 * share
        assert srv.refused == {503: 1}
    finally:
        for s in socks:
            s.close()
        srv.stop()
        store.close()


@pytest.mark.parametrize(("address", "counts_as"), [
    ("203.0.113.7", "203.0.113.7"),
    ("::ffff:203.0.113.7", "203.0.113.7"),  # (a dual-stack listener's IPv4 peer)
    ("2001:db8:1:2::5", "2001:db8:1:2::/64"),  # an IPv6 host holds a /64: one share
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::5", "2001:db8:1:3::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("127.0.0.2", "127.0.0.2"),  # only the addresses local clients connect from are exempt
    ("10.0.0.1", "10.0.0.1"),
    ("127.0.0.1", None),
    ("::1", None),
    ("0:0:0:0:0:0:0:1", None),
    ("::ffff:127.0.0.1", None),
    ("", None),
])
def test_who_a_peer_counts_as(address, counts_as):
    from hooklab.server.protocol import peer_key

    assert peer_key(address) == counts_as


BIG = 64 * 1024  # an answer the kernel holds while the client's small window takes a piece


def test_a_lingering_answer_is_delivered_before_its_connection_makes_room(loop):
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, max_connections=4).start()
    srv.rules.add("/big", body=b"x" * BIG)
    socks: list[socket.socket] = []
    try:
        s = socket.socket()
        socks.append(s)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # (so the kernel queues it)
        s.settimeout(5)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(b"POST /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2"
                  b"\r\n\r\nok")
        assert s.recv(15, socket.MSG_PEEK) == b"HTTP/1.1 200 OK"  # answered, now lingering
        time.sleep(0.2)
        # twice the cap of silent connections: each one past it makes room
        for _ in range(8):
            socks.append(_connect(srv.port))
        time.sleep(0.2)
        # the client sends on (lingering reads and drops it), then reads its whole answer
        s.sendall(b"POST /next HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        answer = recv_until_close(s, 5.0)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK") and len(body) == BIG, (head, len(body))
        assert len(store.query(bin="next")) == 0
    finally:
        for s in socks:
            s.close()
        srv.stop()
        store.close()


_CAPTURE = b"POST /hog/%d HTTP/1.1\r\nHost: x\r\n\r\n"  # (no length: no body)
_HEALTH = b"GET /_hooklab/health?%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"  # (no token needed)
#: ways one address holds every place with answers it never takes, each connection with the
#: smallest receive window: requests pipelined on each (in turn from the list), how many,
#: and whether the client reads one byte of each connection every second
UNREAD = {
    "captures: POST without a body": ([_CAPTURE], 60, False),
    "GET /_hooklab/health: no token, nothing stored": ([_HEALTH], 40, False),
    "captures and health in turn": ([_CAPTURE, _HEALTH], 60, False),
    "a byte read every second": ([_CAPTURE], 60, True),
}
_TCP_CLOSE = 7  # (linux/tcp_states.h: what a socket is after a reset)


def _tcp_state(s: socket.socket) -> int:
    return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]  # (tcpi_state)


def _webhook_from(address: str, port: int, path: str, close: bool = True) -> socket.socket:
    return _connect_from(address, port, b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n%s"
                         b"\r\n{}" % (path.encode(), b"Connection: close\r\n" if close else b""))


def _status(s: socket.socket, timeout: float = 5.0) -> int:
    """The status of the answer ``s`` reads; 0 if closed without one."""
    try:
        return _answer(s, timeout)[0]
    except (AssertionError, OSError):
        return 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="127.0.0.2 is loopback on Linux")
@pytest.mark.parametrize("kind", UNREAD)
def test_connections_whose_answers_go_unread_make_room_for_webhooks(kind, loop, tmp_path):
    """One address (127.0.0.2 stands for another host) took every place with connections
    whose answers it never read: they were neither idle once delivered nor stalled uploads,
    so every webhook got 503 until the 120 s idle timeout, which a byte read now and then
    put off. Now answers left untaken for STALL_SECONDS make their connection closable."""
    from hooklab.server.protocol import STALL_SECONDS

    requests, count, nibble = UNREAD[kind]
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "h.sqlite3"), max_connections=LIMIT)
    lab.respond("later", delay=1.0)  # (a webhook whose answer is on its way is busy)
    lab.start()
    srv = lab.server
    hogs: list[socket.socket] = []
    socks: list[socket.socket] = []
    stop = threading.Event()
    dripped = []
    try:
        # a real sender, from another host, sending its body slowly: busy, never closed for it
        moving = _connect_from("127.0.0.3", srv.port, _upload(40, b"", "/moving"))
        socks.append(moving)
        for _ in range(LIMIT - 1):
            s = socket.socket()
            hogs.append(s)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # (the smallest window)
            s.bind(("127.0.0.2", 0))
            s.settimeout(5)
            s.connect(("127.0.0.1", srv.port))
            s.sendall(b"".join(requests[j % len(requests)] % j for j in range(count)))

        def tick() -> None:  # the upload's byte every 0.25 s; the hogs' every second
            for n in range(120):
                if stop.wait(0.25):
                    return
                if len(dripped) < 39:
                    moving.sendall(b"m")
                    dripped.append(1)
                if nibble and n % 4 == 3:
                    for h in hogs:
                        try:
                            h.recv(1, socket.MSG_DONTWAIT)
                        except OSError:
                            pass

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        deadline = time.monotonic() + 3
        while srv.open_connections < LIMIT and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.open_connections == LIMIT

        # answers that have just been written are no reason to close anything: 503
        with _webhook_from("127.0.0.3", srv.port, "/early") as s:
            assert _status(s) == 503
        # once the hogs' answers have waited STALL_SECONDS (and a sweep saw them), a webhook
        # from another sender closes one of them and is stored
        statuses = []
        deadline = time.monotonic() + STALL_SECONDS + 3
        while time.monotonic() < deadline and 200 not in statuses:
            with _webhook_from("127.0.0.3", srv.port, "/hook") as s:
                statuses.append(_status(s))
            if statuses[-1] != 200:
                time.sleep(0.2)
        assert statuses[-1] == 200 and set(statuses) <= {503, 200}, statuses
        # and each of the next ones, each on its own connection, busy while the one after
        # it comes (its answer is delayed): each makes room by closing another hog
        later = []
        for _ in range(5):
            later.append(_webhook_from("127.0.0.3", srv.port, "/later", close=False))
            time.sleep(0.1)
        socks += later
        assert [_status(s) for s in later] == [200] * 5

        # the hogs were the ones closed (reset: what the kernel held for them is dropped),
        # each counted as a 408 in /_hooklab/health's "refused"
        deadline = time.monotonic() + 3
        while srv.refused.get(408, 0) > sum(_tcp_state(h) == _TCP_CLOSE for h in hogs) and (
                time.monotonic() < deadline):
            time.sleep(0.01)
        reset = sum(_tcp_state(h) == _TCP_CLOSE for h in hogs)
        assert 5 <= reset == srv.refused[408] <= LIMIT - 1, (reset, srv.refused)
        assert set(srv.refused) == {408, 503}
        assert srv.refused[503] == statuses.count(503) + 1
        # the slow upload was never closed for them: its body completes and is stored
        assert not _closed(moving)
        stop.set()
        ticker.join(5)
        moving.sendall(b"m" * (40 - len(dripped)))
        assert _status(moving) == 200
        assert [c.body for c in lab.wait(1, bin="moving")] == [b"m" * 40]
        assert len(lab.wait(1, bin="hook")) == 1 and len(lab.wait(5, bin="later")) == 5
    finally:
        stop.set()
        for s in hogs + socks:
            s.close()
        lab.stop()


BIG_ANSWER = bytes(range(256)) * (15 * 4096)  # 15 MiB, every byte's place recognisable
#: clients downloading a big answer at a bounded steady rate, with the receive window the
#: system gives (SO_RCVBUF default): how the answer is asked for, bytes per read, bytes/s
TAKING = {
    "a capture's 15 MiB body from the API, 32 KiB reads at 3 MB/s": ("api", 32 * 1024, 3e6),
    "a rule's 15 MiB answer to a webhook, 256 KiB reads at 3 MB/s": ("rule", 256 * 1024, 3e6),
}


def _download(port: int, request: bytes, chunk: int, rate: float, out: dict) -> None:
    """Send ``request`` and read the answer until the server closes, never faster than
    ``rate`` bytes a second (and 20 s at most): ``out`` gets the bytes and any error."""
    data = bytearray()
    try:
        with socket.socket() as s:
            # a fixed window, as a client across a network has: Linux grows a loopback
            # reader's up to tcp_rmem's 32 MiB, which took most of the answer at once, and
            # the download was over before a sweep could tell ("over too soon to tell")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.sendall(request)
            start = time.monotonic()
            out["start"] = start
            while time.monotonic() - start < 20:
                got = s.recv(chunk)
                if not got:
                    break
                data += got
                ahead = len(data) / rate - (time.monotonic() - start)
                if ahead > 0:  # (a steady reader: no faster than rate, on average)
                    time.sleep(ahead)
    except OSError as exc:
        out["error"] = repr(exc)
    out["data"] = bytes(data)
    out["end"] = time.monotonic()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="127.0.0.2 is loopback on Linux")
@pytest.mark.parametrize("kind", TAKING)
def test_a_client_downloading_a_big_answer_steadily_keeps_its_place(kind, loop, tmp_path):
    """An outside attacker found a client downloading a 15 MiB body at a steady 3 MB/s reset
    as 'answers not read' when every place was busy: all written at once, the answer had not
    all left STALL_SECONDS after a sweep marked it. What counts now is what the client took
    since (64 KiB, or all that was waiting), which a reader through a one-byte window, or a
    byte now and then, cannot take (the table above still has them reset)."""
    from hooklab.server.protocol import STALL_SECONDS

    how, chunk, rate = TAKING[kind]
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "h.sqlite3"), max_connections=4)
    lab.respond("big", body=BIG_ANSWER)
    lab.start()
    srv = lab.server
    socks: list[socket.socket] = []
    stop = threading.Event()
    try:
        if how == "api":
            with _connect(srv.port, b"POST /stored HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (len(BIG_ANSWER), BIG_ANSWER)) as s:
                assert _answer(s)[0] == 200
            [stored] = lab.wait(1, bin="stored")
            request = (f"GET /_hooklab/api/captures/{stored.id}/body HTTP/1.1\r\n"
                       f"Host: 127.0.0.1\r\nAuthorization: token {lab.api_token}\r\n"
                       "Connection: close\r\n\r\n").encode()
        else:
            request = b"POST /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2" \
                      b"\r\n\r\n{}"
        out: dict = {}
        reader = threading.Thread(target=_download, args=(srv.port, request, chunk, rate, out),
                                  daemon=True)
        reader.start()
        deadline = time.monotonic() + 5
        while "start" not in out and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "start" in out
        # every other place: uploads from another host whose bodies keep coming (never closed)
        uploads = [_connect_from("127.0.0.2", srv.port, _upload(100, b"", "/moving"))
                   for _ in range(3)]
        socks += uploads

        def drip() -> None:  # a byte of each body every 0.5 s, 60 at most
            for _ in range(60):
                if stop.wait(0.5):
                    return
                for u in uploads:
                    u.sendall(b"m")

        dripper = threading.Thread(target=drip, daemon=True)
        dripper.start()
        deadline = time.monotonic() + 3
        while srv.open_connections < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert srv.open_connections == 4
        # new connections all through the download, well past STALL_SECONDS and a sweep:
        # none can take the downloader's place (nor an upload's), so each gets 503 -- until
        # the lab has sent all of the answer and closed its side (the client still reading
        # what its kernel holds): then that place is free, and the next ones get 200
        statuses, refused_until = [], 0.0
        deadline = time.monotonic() + 25
        while reader.is_alive() and time.monotonic() < deadline:
            with _webhook_from("127.0.0.3", srv.port, "/knock") as s:
                statuses.append(_status(s))
            if statuses[-1] == 503:
                refused_until = time.monotonic()
            time.sleep(0.25)
        reader.join(5)
        head, _, body = out["data"].partition(b"\r\n\r\n")
        assert out.get("error") is None, (out.get("error"), len(out["data"]))
        assert head.startswith(b"HTTP/1.1 200 OK") and body == BIG_ANSWER, (head, len(body))
        refused = statuses.count(503)
        assert statuses == [503] * refused + [200] * (len(statuses) - refused), statuses
        assert refused_until - out["start"] > STALL_SECONDS + 1.5, (
            "over too soon to tell", refused_until - out["start"], out["end"] - out["start"])
        assert srv.refused == {503: refused}  # (no 408: nothing was reset)
        assert all(not _closed(u) for u in uploads)
        knocked = len(statuses) - refused  # (each 200 was stored first: no more than that)
        assert len(lab.wait(knocked, bin="knock", timeout=5) if knocked else []) == knocked
    finally:
        stop.set()
        for s in socks:
            s.close()
        lab.stop()
