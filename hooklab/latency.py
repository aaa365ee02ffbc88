"""Webhooks vs WebSockets on loopback: p50/p99 delivery latency and throughput, same run.

>>> from hooklab.latency import compare, format_table
>>> results = compare(n=50)                     # {mode: {"p50_ms": ..., ...}}
>>> sorted(results)
['hooklab webhook->ws', 'webhook, keep-alive', 'webhook, new connection', 'websocket burst', 'websocket push']
>>> print(format_table(results))                # doctest: +ELLIPSIS
mode                            n    p50 ms    p99 ms    max ms   events/s
...

From a shell: ``python -m hooklab.latency --n 1000`` (``bench/latency.py`` calls this too).

Modes (N events each, one process, so one clock; a bare Tornado server in its own thread):

- ``webhook, new connection``: connect, POST, read the answer, close, per event (how most
  webhook senders behave). Latency: sender starts connecting -> receiver's handler has the body.
- ``webhook, keep-alive``: the same POSTs over one persistent HTTP/1.1 connection.
- ``websocket push``: the server pushes each event over one open WebSocket, the next one after
  the client has the previous. Latency: server starts the write -> client has the message.
- ``websocket burst``: all N pushed at once (throughput; latency then includes queueing).
- ``hooklab webhook->ws``: a webhook POSTed (keep-alive) to a real hooklab capture server,
  stored in SQLite (``:memory:``), pushed to a ``/_hooklab/ws`` client: the whole pipeline.

Throughput is events / wall time of the mode. Sequential modes wait for each event's answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import statistics
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from tornado import netutil, web, websocket
from tornado.httpserver import HTTPServer

__all__ = ["compare", "format_table", "main"]

BODY = json.dumps({"type": "charge.succeeded", "data": {"object": {"id": "ch_1", "amount": 1999}}})


class _Sink:
    """Bare Tornado server on 127.0.0.1: POST /hook records arrival; /ws pushes on demand."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.pushed: dict[int, float] = {}
        self.client: websocket.WebSocketHandler | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)

    async def _main(self) -> None:
        sink = self

        class Hook(web.RequestHandler):
            def post(self) -> None:
                sink.arrived[int(self.request.headers["X-Seq"])] = time.perf_counter()
                self.set_status(204)

        class Push(websocket.WebSocketHandler):
            def open(self) -> None:  # type: ignore[override]
                sink.client = self

        app = web.Application([(r"/hook", Hook), (r"/ws", Push)])
        socks = netutil.bind_sockets(0, "127.0.0.1")
        self.port = socks[0].getsockname()[1]
        server = HTTPServer(app)
        server.add_sockets(socks)
        self.loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._ready.set()
        await self._stop.wait()
        server.stop()
        await server.close_all_connections()

    def start(self) -> _Sink:
        self._thread.start()
        self._ready.wait(10)
        return self

    def push(self, seqs: range) -> None:
        """Thread-safe: push events ``seqs`` (recording each write's start time)."""

        def go() -> None:
            assert self.client is not None
            for i in seqs:
                self.pushed[i] = time.perf_counter()
                self.client.write_message(json.dumps({"seq": i, "body": BODY}))

        assert self.loop is not None
        self.loop.call_soon_threadsafe(go)

    def stop(self) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def _request(port: int, path: str, seq: int, keep_alive: bool) -> bytes:
    conn = "keep-alive" if keep_alive else "close"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Seq: {seq}\r\nConnection: {conn}\r\nContent-Length: {len(BODY)}\r\n\r\n{BODY}"
    ).encode()


async def _answer(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)


def _stats(latencies: list[float], seconds: float) -> dict[str, Any]:
    qs = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "samples_ms": [x * 1e3 for x in latencies],
        "n": len(latencies),
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": qs[98] * 1e3,
        "max_ms": max(latencies) * 1e3,
        "per_second": len(latencies) / seconds,
    }


async def _webhooks(sink: _Sink, n: int, keep_alive: bool) -> dict[str, float]:
    starts: dict[int, float] = {}
    t = time.perf_counter()
    reader = writer = None
    for i in range(n):
        starts[i] = time.perf_counter()
        if writer is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", sink.port)
        writer.write(_request(sink.port, "/hook", i, keep_alive))
        assert reader is not None
        await _answer(reader)
        if not keep_alive:
            writer.close()
            reader = writer = None
    elapsed = time.perf_counter() - t
    if writer is not None:
        writer.close()
    return _stats([sink.arrived.pop(i) - starts[i] for i in range(n)], elapsed)


async def _websocket(sink: _Sink, n: int, burst: bool) -> dict[str, float]:
    conn = await websocket.websocket_connect(f"ws://127.0.0.1:{sink.port}/ws")
    while sink.client is None:
        await asyncio.sleep(0.001)
    got: dict[int, float] = {}
    t = time.perf_counter()
    if burst:
        sink.push(range(n))
    for i in range(n):
        if not burst:
            sink.push(range(i, i + 1))
        msg = await conn.read_message()
        got[json.loads(msg)["seq"]] = time.perf_counter()  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t
    conn.close()
    sink.client = None
    return _stats([got[i] - sink.pushed.pop(i) for i in range(n)], elapsed)


async def _hooklab(n: int) -> dict[str, float]:
    from .core import HookLab

    lab = HookLab(port=0, db=":memory:").start()
    try:
        port = lab.bound_port
        assert port is not None
        stream = await websocket.websocket_connect(lab.stream_url())  # carries the read token
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        lat: list[float] = []
        t = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            writer.write(_request(port, "/bench/event", i, True))
            msg = await stream.read_message()  # pushed as soon as it is stored
            lat.append(time.perf_counter() - t0)
            await _answer(reader)
            assert msg is not None
        elapsed = time.perf_counter() - t
        writer.close()
        stream.close()
        return _stats(lat, elapsed)
    finally:
        lab.stop()


async def _run(n: int) -> dict[str, dict[str, float]]:
    sink = _Sink().start()
    try:
        out = {
            "webhook, new connection": await _webhooks(sink, n, keep_alive=False),
            "webhook, keep-alive": await _webhooks(sink, n, keep_alive=True),
            "websocket push": await _websocket(sink, n, burst=False),
            "websocket burst": await _websocket(sink, n, burst=True),
        }
    finally:
        sink.stop()
    out["hooklab webhook->ws"] = await _hooklab(n)
    return out


def _in_thread(fn: Callable[[], Any]) -> Any:
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def _count(n: Any) -> int:
    """``n`` as :func:`compare` runs it: a whole number (an ``int``, or an integer type such as
    NumPy's ``int64``), at least 2 (a p99 needs two events per mode); else ``TypeError`` /
    ``ValueError`` saying so, before anything runs, as ``--n`` says it.

    >>> _count(20)
    20
    >>> _count(100.0)
    Traceback (most recent call last):
    ...
    TypeError: n=100.0 is not a whole number (a float): give the number of events per mode as an int
    >>> _count(1)
    Traceback (most recent call last):
    ...
    ValueError: n must be at least 2, got 1: 1 is too few (a p99 needs two events per mode)
    """
    if isinstance(n, bool):  # (an int to Python, but True events is no count)
        raise TypeError(f"n={n!r} is not a whole number (a bool): give the number of events "
                        "per mode as an int")
    try:
        count = operator.index(n)  # (int, NumPy's integers; not a float, a str, None)
    except TypeError:
        raise TypeError(f"n={n!r:.60} is not a whole number (a {type(n).__name__}): give the "
                        "number of events per mode as an int") from None
    if count < 2:
        raise ValueError(f"n must be at least 2, got {count}: {count} is too few (a p99 needs "
                         "two events per mode)")
    return count


def compare(n: int = 1000) -> dict[str, dict[str, float]]:
    """Run every mode with ``n`` events.

    Returns ``{mode: {n, p50_ms, p99_ms, max_ms, per_second, samples_ms}}``; ``samples_ms`` is
    every event's latency, for distributions. ``n`` is a whole number, at least 2 (an ``int``
    or a NumPy integer): anything else is a ``TypeError`` / ``ValueError`` before anything runs.

    >>> compare(n="10")
    Traceback (most recent call last):
    ...
    TypeError: n='10' is not a whole number (a str): give the number of events per mode as an int

    Works inside Jupyter too (runs on a fresh event loop in a helper thread).
    """
    count = _count(n)
    return _in_thread(lambda: asyncio.run(_run(count)))


#: what :func:`format_table` reads of each mode's results
_COLUMNS = ("n", "p50_ms", "p99_ms", "max_ms", "per_second")


def format_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """A plain-text table of :func:`compare`'s results (or of some of its modes).

    >>> print(format_table({"websocket push": {"n": 2, "p50_ms": 0.1, "p99_ms": 0.2,
    ...                                        "max_ms": 0.2, "per_second": 9000}}))
    mode                            n    p50 ms    p99 ms    max ms   events/s
    ---...---
    websocket push                  2     0.100     0.200      0.20       9000
    >>> format_table([1, 2])
    Traceback (most recent call last):
    ...
    TypeError: format_table takes compare()'s results, a dict {mode: {n, p50_ms, ...}}, not a list
    """
    if not isinstance(results, Mapping):
        raise TypeError("format_table takes compare()'s results, a dict {mode: {n, p50_ms, ...}}, "
                        f"not a {type(results).__name__}")
    for mode, r in results.items():
        missing = [c for c in _COLUMNS if not isinstance(r, Mapping) or c not in r]
        if missing:
            raise ValueError(f"format_table: mode {mode!r:.60} has no {', '.join(missing)} "
                             "(give it compare()'s results)")
    lines = [f"{'mode':<26}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}{'events/s':>11}"]
    lines.append("-" * len(lines[0]))
    for mode, r in results.items():
        lines.append(
            f"{mode:<26}{r['n']:>7}{r['p50_ms']:>10.3f}{r['p99_ms']:>10.3f}"
            f"{r['max_ms']:>10.2f}{r['per_second']:>11.0f}"
        )
    return "\n".join(lines)


def _events(text: str) -> int:
    """``--n``'s type: a whole number of events, at least 2 (a p99 needs two)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 2:
        raise argparse.ArgumentTypeError(f"{n} is too few: at least 2 events per mode")
    return n


def main(argv: list[str] | None = None, prog: str = "python -m hooklab.latency") -> None:
    """Print :func:`compare`'s table: ``python -m hooklab.latency [--n 1000]``.

    ``prog`` is the name the usage line shows (``bench/latency.py`` passes its own). An
    option is taken by its whole name only, as every ``hooklab`` command takes its own
    (``--he`` is an unrecognized argument, not ``--help``): prefix matching once read a
    secret given to one option as another's value.
    """
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--n", type=_events, default=1000,
                        help="events per mode, at least 2 (default 1000)")
    args = parser.parse_args(argv)
    print(format_table(compare(args.n)))
    print("\nloopback, one process; latency: sender/pusher starts -> receiver has the event")


if __name__ == "__main__":
    main()
