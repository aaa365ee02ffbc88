"""Slow and idle clients time out without stalling anyone else; connections are bounded."""

from __future__ import annotations

import asyncio
import time

import pytest
from _http import post

from hooklab.server import CaptureServer
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 1.0  # idle (and header) timeout and body timeout, lowered for the test


async def _trickle(
    port: int, first: bytes, drip: bytes, stop_at: float, answers: int = 0
) -> float | None:
    """Send ``first``, then one byte of ``drip`` every 50 ms; seconds until the server closed.

    ``answers``: how many answers (read chunks) to expect before the close; ``None`` when the
    connection was still open at ``stop_at`` or the server answered unexpectedly.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.monotonic()
    writer.write(first)
    i = 0
    try:
        while time.monotonic() < stop_at:
            if drip:
                writer.write(drip[i % len(drip) : i % len(drip) + 1])
                i += 1
                await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(4096), 0.05)
            except asyncio.TimeoutError:
                continue
            if not data:
                return time.monotonic() - t0  # closed by the server
            if answers <= 0:
                if data.startswith(b"HTTP/1.1 408 "):  # an unfinished request's answer (RFC
                    continue  # 9110 15.5.9): the close follows
                return None  # the server answered otherwise: not expected
            answers -= 1
            t0 = time.monotonic()  # idle from now on
    except (ConnectionResetError, BrokenPipeError):
        return time.monotonic() - t0
    finally:
        writer.close()
    return None  # still open at the deadline


async def _normal(port: int, n: int) -> list[float]:
    """``n`` ordinary requests on fresh connections; their latencies."""
    lat = []
    for i in range(n):
        t0 = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        body = f"normal {i}".encode()
        writer.write(
            b"POST /normal HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        answer = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer
        lat.append(time.monotonic() - t0)
        await asyncio.sleep(0.02)
    return lat


async def _scenario(port: int) -> tuple[dict[str, list[float | None]], list[float]]:
    stop_at = time.monotonic() + 4 * TIMEOUT + 2
    kinds = {
        # headers that never end (slowloris)
        "headers": (b"POST /slow HTTP/1.1\r\nHost: x\r\n", b"X-Slow: aaaaaaaa\r\n", 0),
        # complete headers, body trickling far below its Content-Length
        "body": (b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", b"b", 0),
        # chunked body trickling
        "chunked": (b"POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
                    b"1\r\nc\r\n", 0),
        # connect and say nothing
        "idle": (b"", b"", 0),
        # one request, then an idle keep-alive connection
        "keepalive": (b"POST /ka HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok", b"", 1),
    }
    tasks = {
        name: [asyncio.ensure_future(_trickle(port, spec[0], spec[1], stop_at, spec[2])) for _ in range(20)]
        for name, spec in kinds.items()
    }
    await asyncio.sleep(0.1)
    latencies = await _normal(port, 40)  # while 100 slow connections are open
    closed = {name: list(await asyncio.gather(*ts)) for name, ts in tasks.items()}
    return closed, latencies


def test_slow_and_idle_clients_time_out_without_stalling_others():
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, idle_timeout=TIMEOUT, body_timeout=TIMEOUT).start()
    try:
        closed, latencies = asyncio.run(_scenario(srv.port))
        # the server closed every slow or idle connection, each within its timeout (+ slack)
        for name, times in closed.items():
            assert all(t is not None for t in times), f"{name}: left open {times}"
            assert max(t for t in times if t is not None) < 2 * TIMEOUT + 1.0, (name, times)
        # meanwhile ordinary requests were answered promptly: none waited for a slow client
        # (which holds a stalled server for TIMEOUT at least); most at once (a loaded machine
        # may delay one, the first is sent while the 100 slow connections open)
        assert len(latencies) == 40 and max(latencies) < 0.9 * TIMEOUT, latencies
        assert sorted(latencies)[20] < 0.25, latencies
        store.flush()
        bodies = sorted(c.body for c in store.query(bin="normal"))
        assert bodies == sorted(f"normal {i}".encode() for i in range(40))
        assert store.count(bin="slow") == 0  # unfinished requests are never stored
        assert store.count(bin="ka") == 20
        # and nothing is left holding a connection
        deadline = time.monotonic() + 5
        while srv.open_connections and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.open_connections == 0
        print(
            "\nslow clients: 100 slow/idle connections closed after "
            + ", ".join(f"{k} {max(v):.2f} s" for k, v in closed.items())  # type: ignore[type-var]
            + f"; 40 normal requests, max latency {max(latencies) * 1000:.0f} ms"
        )
    finally:
        srv.stop()
        store.close()


def test_default_timeouts_are_finite():
    # a client trickling headers or a body forever cannot hold a connection forever
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0).start()
    try:
        # a head (and an idle keep-alive connection) gets idle_timeout, a body body_timeout;
        # test_slow_and_idle_clients_time_out_without_stalling_others shows both are enforced
        assert srv.idle_timeout is not None and 0 < srv.idle_timeout <= 120
        assert srv.body_timeout is not None and 0 < srv.body_timeout <= 120
        assert post(srv.url_for("x"), b"1")[0] == 200
    finally:
        srv.stop()
        store.close()
