"""Memory held by unfinished requests is bounded across connections.

Each connection may send most of a ``max_body`` body and never its end (until the body timeout):
with nothing bounding them together, 60 such connections held a gigabyte of the kernel's (or
``hooklab serve``'s) memory. Requests being received -- bodies and unfinished heads -- share one
budget, ``HookLab.max_in_flight`` (never less than ``max_body``); a request that would go over
it gets 503 with ``Retry-After``, as soon as that is known, and what is let go frees it.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

import hooklab

pytestmark = pytest.mark.timeout(60)

MiB = 1024 * 1024


@pytest.fixture
def lab(tmp_path):
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3"), max_body=MiB,
                          max_in_flight=4 * MiB)
    lab.start()
    yield lab
    lab.stop()


def connect(lab) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", lab.server.port), timeout=5)
    s.settimeout(5)
    return s


def holder(lab, length: int = MiB, sent: int = MiB - 1024) -> socket.socket:
    """A connection that announced ``length`` bytes of body and sent ``sent`` of them."""
    s = connect(lab)
    s.sendall(b"POST /held HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % length
              + b"h" * sent)
    return s


def answer(s: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    want = int(headers.get("content-length", "0"))
    while len(body) < want:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def still_waiting(s: socket.socket) -> bool:
    """No answer (the server is waiting for the rest of the request)."""
    s.settimeout(0.3)
    try:
        s.recv(1, socket.MSG_PEEK)  # (an answer, or the connection closed)
        return False
    except TimeoutError:
        return True
    finally:
        s.settimeout(5)


def post(lab, body: bytes, path: str = "/ok") -> tuple[int, dict[str, str], bytes]:
    s = connect(lab)
    try:
        s.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                  % (path.encode(), len(body)) + body)
        return answer(s)
    finally:
        s.close()


def busy(status: int, headers: dict[str, str], body: bytes) -> bool:
    return (status == 503 and headers.get("retry-after") == "5"
            and "busy" in json.loads(body)["error"])


def test_bodies_held_open_share_one_budget_and_the_rest_get_503(lab):
    held = [holder(lab) for _ in range(4)]  # all but ~2 KB of 4 MiB (bodies and heads)
    try:
        for s in held:
            assert still_waiting(s)
        # the next body, big or small, is refused (as soon as it would go over)
        assert busy(*post(lab, b"x" * MiB))
        assert busy(*post(lab, b"s" * 4096))
        # one holder goes away: its MiB is free again, for a whole max_body
        held.pop().close()
        time.sleep(0.2)
        status, _, body = post(lab, bytes(range(256)) * 4096, path="/after")
        assert status == 200, body
        cap = lab.wait(1, bin="after", timeout=10)[-1]
        assert cap.body == bytes(range(256)) * 4096
        # finishing a held body frees its share too (and that body is stored whole)
        s = held.pop()
        s.sendall(b"h" * 1024)
        assert answer(s)[0] == 200
        s.close()
        assert post(lab, b"y" * MiB, path="/again")[0] == 200
    finally:
        for s in held:
            s.close()
    assert len(lab.dataframe(bin="held")) == 1  # only the finished one
    assert len(lab.dataframe(bin="ok")) == 0  # the refused ones were not stored


def test_chunked_bodies_count_as_they_arrive(lab):
    held = [holder(lab) for _ in range(3)]  # 3 MiB
    try:
        first = connect(lab)
        first.sendall(b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      + b"90000\r\n" + b"a" * 0x90000 + b"\r\n")  # 576 KiB so far
        assert still_waiting(first)
        second = connect(lab)
        second.sendall(b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       + b"90000\r\n" + b"b" * 0x90000 + b"\r\n")  # over 4 MiB together
        assert busy(*answer(second))
        second.close()
        first.sendall(b"0\r\n\r\n")  # the first one finishes inside the budget: stored
        assert answer(first)[0] == 200
        first.close()
        assert lab.wait(1, bin="chunked", timeout=10)[-1].body == b"a" * 0x90000
    finally:
        for s in held:
            s.close()


def test_unfinished_heads_count_too(lab):
    """Heads that never end (up to 1 MiB each, until the idle timeout) share the budget."""
    lab.max_in_flight = 2 * MiB  # (changed while serving)
    heads = []
    try:
        for _ in range(2):
            s = connect(lab)
            s.sendall(b"POST /h HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 900_000)
            heads.append(s)
        time.sleep(0.2)
        assert still_waiting(heads[0]) and still_waiting(heads[1])  # 1.8 MiB held
        s = connect(lab)
        heads.append(s)
        s.sendall(b"POST /h HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 900_000)
        assert busy(*answer(s))
    finally:
        for s in heads:
            s.close()
    time.sleep(0.2)
    assert post(lab, b"z" * MiB, path="/free")[0] == 200  # all of it let go


def test_refused_and_reset_requests_let_their_share_go(lab):
    """Every way a request ends frees what it held: 413, a malformed chunk, a reset."""
    for _ in range(6):  # each round would leak a MiB: 4 rounds would fill the budget
        s = holder(lab, MiB, 10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()  # reset
        bad = connect(lab)
        bad.sendall(b"POST /bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + b"40000\r\n" + b"c" * 0x40000 + b"\r\nzz\r\n")
        assert answer(bad)[0] == 400
        bad.close()
        big = connect(lab)
        big.sendall(b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + (b"80000\r\n" + b"d" * 0x80000 + b"\r\n") * 3)
        assert answer(big)[0] == 413
        big.close()
    time.sleep(0.3)
    held = [holder(lab) for _ in range(4)]  # the whole budget is there to be held again
    try:
        for s in held:
            assert still_waiting(s)
    finally:
        for s in held:
            s.close()


def test_heads_that_announce_big_bodies_and_send_nothing_hold_nothing(lab):
    """(review) Reserving what Content-Length announces let 16 heads of 55 bytes each, saying
    16 MiB and sending nothing, fill the 256 MiB budget: every webhook got 503 for a minute."""
    heads = []
    try:
        for _ in range(20):  # 20 MiB announced, 4 MiB of budget
            s = connect(lab)
            s.sendall(b"POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % MiB)
            heads.append(s)
        time.sleep(0.2)
        assert all(still_waiting(s) for s in heads)
        status, _, body = post(lab, b'{"type": "invoice.paid"}', path="/real")
        assert status == 200, body
    finally:
        for s in heads:
            s.close()


def test_trailer_fields_are_bounded_and_held(lab):
    """(fifth attacker) After a chunked body's last chunk, trailer fields had no limit and were
    not counted: 61 MiB of ``ab:cd`` trailers on one connection took the server to 1.8 GB."""
    s = connect(lab)
    try:
        s.sendall(b"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"2\r\nok\r\n0\r\n")
        sent = 0
        try:
            while sent < 8 * MiB:  # (refused long before this)
                s.sendall(b"ab:cd\r\n" * 8192)
                sent += 7 * 8192
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, body = answer(s)
    finally:
        s.close()
    assert status in (431, 503) and (b"trailer fields longer than" in body or b"busy" in body
                                     or b"more than 10000 trailer fields" in body), (status, body)
    assert post(lab, b"{}", path="/after")[0] == 200


def test_a_head_of_many_tiny_fields_is_held_as_what_it_takes(lab):
    """(fifth attacker) A finished head was held as 0 bytes while its parsed fields stayed for
    the body timeout: 150,000 fields of a 1 MiB head took ~28 MB, 40 connections 1.1 GB, and
    the budget never pushed back. Each field now counts what it costs."""
    fields = b"".join(b"a%d:b\r\n" % i for i in range(9_000))  # ~70 KB, ~1.5 MB parsed
    heads = []
    try:
        refused = 0
        for _ in range(6):
            s = connect(lab)
            s.sendall(b"POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n" + fields + b"\r\n")
            heads.append(s)
        time.sleep(0.3)
        for s in heads:
            if not still_waiting(s):
                refused += 1
                assert busy(*answer(s))
        assert refused >= 3  # (4 MiB of budget: two such heads at most)
    finally:
        for s in heads:
            s.close()


def test_a_body_of_many_tiny_chunks_is_stored_exactly(lab):
    """Tiny chunks are joined into one buffer as they come (each was a bytes object of its
    own: ~35 bytes of memory per 2 bytes of body counted); the body stays exact."""
    pieces = [bytes([i % 256, (i * 7) % 256]) for i in range(20_000)]
    s = connect(lab)
    try:
        s.sendall(b"POST /tiny HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + b"".join(b"2\r\n" + p + b"\r\n" for p in pieces) + b"0\r\n\r\n")
        assert answer(s)[0] == 200
    finally:
        s.close()
    assert lab.wait(1, bin="tiny", timeout=10)[-1].body == b"".join(pieces)


def test_pipelined_api_requests_stop_being_read_while_answers_wait(lab):
    """(sixth attacker) Pipelined /_hooklab/ requests were queued without end (a 404 needs no
    token): 20 MiB of them took 700 MiB, 35x, while Tornado answered one a loop turn. Like
    captures, reading stops with MAX_PENDING answers waiting."""
    s = connect(lab)
    s.settimeout(2)
    one = b"GET /_hooklab/nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sent = 0
    try:
        while sent < 20 * MiB:  # (the client reads nothing)
            sent += s.send(one * 2000)
    except TimeoutError:
        pass
    finally:
        s.close()
    assert sent < 8 * MiB, sent  # (the server stopped reading: the socket buffers filled)
    assert post(lab, b"{}", path="/after")[0] == 200


def test_a_head_of_more_than_max_fields_fields_is_refused(lab):
    """(sixth attacker) 170,000 tiny fields in a 1 MiB head: ~28 MB parsed, and as much again
    on the way to the store (its queue counted bodies only). More than 10,000: 431."""
    many = b"".join(b"a%d:b\r\n" % i for i in range(10_001))
    s = connect(lab)
    try:
        s.sendall(b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + many + b"\r\n")
        status, _, body = answer(s)
    finally:
        s.close()
    assert status == 431 and b"more than 10000 header fields" in body
    few = b"".join(b"a%d:b\r\n" % i for i in range(5_000))  # (the hostile corpus: captured)
    s = connect(lab)
    try:
        s.sendall(b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + few + b"\r\n")
        assert answer(s)[0] == 200
    finally:
        s.close()


def test_one_request_of_max_body_always_fits_the_budget(tmp_path):
    """(a new user) max_in_flight is 'never less than max_body', yet with both 100,000 a body
    of exactly max_body got 503: the head counts too. The floor holds a head of its own."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "f.sqlite3"), max_body=100_000,
                          max_in_flight=100_000)
    lab.start()
    try:
        assert post(lab, b"m" * 100_000, path="/full")[0] == 200
        assert post(lab, b"m" * 100_001, path="/over")[0] == 413
    finally:
        lab.stop()
