"""Ingest benchmark: hooklab (durable SQLite) vs what a user would write instead.

    python bench/ingest.py [--seconds 3] [--rounds 3] [--chunked-rounds 3]
                           [--connections 32] [--size 1024] [--chunk-size 512]
                           [--servers hooklab,tornado,starlette,fastapi[,normal,ceiling]]

Servers, each in its own process on 127.0.0.1 (none shares the GIL with the load client):

- ``hooklab``: ``hooklab.start(port=0, db=<temp file>)`` with the defaults a notebook gets
  (``durability="full"``: each request is answered after its row is committed and fsynced).
  The server runs in hooklab's own thread while the process's main thread waits, as in a
  kernel between cells.
- ``tornado``: a bare Tornado ``RequestHandler`` appending the body to a list (stores nothing
  durable), on Tornado's default asyncio loop.
- ``starlette``: a Starlette app under uvicorn (``loop="uvloop"``, ``http="httptools"``, one
  worker, access log off) that appends ``(time, method, path, headers, body)`` to a list and
  answers ``JSONResponse({"ok": True})``.
- ``fastapi``: the same with FastAPI (``@app.post("/{path:path}")`` taking a ``Request``,
  returning ``{"ok": True}``).
- ``normal`` (only when asked for): hooklab with ``durability="normal"`` (a commit is not
  fsynced: what durability costs), its own database file.
- ``ceiling`` (only when asked for): a uvloop protocol that answers without parsing or
  storing, to show how fast this load client itself can go on the machine.

This process drives ``--connections`` keep-alive connections posting ``--size``-byte JSON
bodies with an asyncio client: first with ``Content-Length`` (what most senders send), then
the same payload as ``Transfer-Encoding: chunked`` (``--chunk-size`` bytes per chunk). All
servers stay up and take turns, ``--seconds`` each per round, the order rotating each round,
so load that comes and goes on a shared machine hits all alike. Prints requests/s and p50/p99
latency per server and round, the ratios hooklab/tornado, hooklab/starlette and
hooklab/fastapi per round with their medians, and checks that hooklab stored one capture per
acknowledged request. Loopback only; every loop is bounded by time or count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HOOKLAB = r"""
import sys
from urllib.parse import urlsplit
import hooklab
lab = hooklab.start(port=0, db=sys.argv[1])
print("ready", urlsplit(lab.url).port, flush=True)
sys.stdin.read()  # the benchmark closes stdin to stop us
lab.stop()
"""

NORMAL = HOOKLAB.replace("db=sys.argv[1])", "db=sys.argv[1], durability='normal')")
assert NORMAL != HOOKLAB

TORNADO = r"""
import asyncio
from tornado import httpserver, netutil, web
received = []
class H(web.RequestHandler):
    def post(self, *a):
        received.append(self.request.body)
        self.finish(b'{"ok": true}')
async def main():
    sockets = netutil.bind_sockets(0, "127.0.0.1")
    httpserver.HTTPServer(web.Application([(r"/.*", H)])).add_sockets(sockets)
    print("ready", sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""

# Shared by both uvicorn apps: bind port 0 ourselves and hand the socket to uvicorn.
_UVICORN_RUN = r"""
import socket
import uvicorn
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(2048)  # uvicorn's default backlog; connections queue until the loop serves
print("ready", sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(
    app, loop="uvloop", http="httptools", access_log=False, log_level="warning", workers=1,
)).run(sockets=[sock])
"""

STARLETTE = r"""
import time
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
captures = []
async def capture(request):
    body = await request.body()
    captures.append((time.time(), request.method, request.url.path, request.headers.raw, body))
    return JSONResponse({"ok": True})
app = Starlette(routes=[Route("/{path:path}", capture, methods=["POST"])])
""" + _UVICORN_RUN

FASTAPI = r"""
import time
from fastapi import FastAPI, Request
app = FastAPI()
captures = []
@app.post("/{path:path}")
async def capture(path: str, request: Request):
    body = await request.body()
    captures.append((time.time(), request.method, request.url.path, request.headers.raw, body))
    return {"ok": True}
""" + _UVICORN_RUN

# Not a peer: the client's own limit. A uvloop protocol that answers each request as soon as
# it sees its first bytes, without parsing or storing; a server near this rate is client-bound.
CEILING = r"""
import asyncio, socket, uvloop
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"ok\": true}"
class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.tail = transport, b""
    def data_received(self, data):
        data = self.tail + data  # "POST /" is 6 bytes: a 5-byte tail never holds a whole one
        self.transport.write(ANSWER * data.count(b"POST /"))
        self.tail = data[-5:]
async def main():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    await asyncio.get_running_loop().create_server(Echo, sock=sock)
    print("ready", sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()
uvloop.run(main())
"""

SERVERS = {
    "hooklab": ("hooklab (sqlite, durable)", HOOKLAB),
    "tornado": ("tornado handler (list)", TORNADO),
    "starlette": ("starlette/uvicorn (list)", STARLETTE),
    "fastapi": ("fastapi/uvicorn (list)", FASTAPI),
    "normal": ("hooklab durability=normal", NORMAL),
    "ceiling": ("client ceiling (no parsing)", CEILING),
}
DEFAULT_SERVERS = ("hooklab", "tornado", "starlette", "fastapi")
PEERS = ("tornado", "starlette", "fastapi")
TARGETS = {"tornado": 2.0, "starlette": 1.0}  # issue 13: durable ingest vs each peer
P99_TARGET_MS = 20.0


def build_requests(size: int, chunk_size: int) -> dict[str, bytes]:
    """The two request shapes, byte for byte: same JSON payload, two framings."""
    payload = json.dumps({"type": "bench.event", "data": "x" * max(0, size - 40)}).encode()[:size]
    head = "POST /bench/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    chunks = [payload[i : i + chunk_size] for i in range(0, len(payload), chunk_size)]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    return {
        "content-length": f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload,
        "chunked": f"{head}Transfer-Encoding: chunked\r\n\r\n".encode() + chunked,
    }


async def _conn_loop(port: int, request: bytes, stop_at: float, lat: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = None
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if not head.startswith(b"HTTP/1.1 200") or length is None:
                raise RuntimeError(f"unexpected answer: {head[:200]!r}")
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            n += 1
    finally:
        writer.close()
    return n


def drive(port: int, request: bytes, seconds: float, connections: int) -> dict[str, float]:
    lat: list[float] = []

    async def run() -> int:
        stop_at = time.monotonic() + seconds
        counts = await asyncio.gather(
            *(_conn_loop(port, request, stop_at, lat) for _ in range(connections))
        )
        return sum(counts)

    t0 = time.perf_counter()
    n = asyncio.run(run())
    elapsed = time.perf_counter() - t0
    lat.sort()
    return {
        "requests": n,
        "rate": n / elapsed,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[max(0, int(len(lat) * 0.99) - 1)] * 1000,
    }


def launch(code: str, args: list[str], log: str) -> tuple[subprocess.Popen[str], int]:
    """Start one server process; it prints ``ready <port>`` once its socket is bound."""
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
        )
    line = proc.stdout.readline() if proc.stdout else ""  # bounded: EOF if the child dies
    if not line.startswith("ready "):
        proc.kill()
        proc.wait(10)
        with open(log) as f:
            raise RuntimeError(f"server did not start: {line!r}\n{f.read()[-2000:]}")
    return proc, int(line.split()[1])


def stop(proc: subprocess.Popen[str], clean: bool) -> None:
    """Stop a server: hooklab's child stops its lab when stdin closes; the peers get SIGTERM."""
    if proc.stdin:
        proc.stdin.close()
    if clean:
        try:
            proc.wait(10)
            return
        except subprocess.TimeoutExpired:
            pass
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def ratio_line(label: str, ratios: list[float], target: float | None) -> str:
    text = f"{label:22} " + ", ".join(f"{r:.2f}" for r in ratios)
    text += f"; median {statistics.median(ratios):.2f}"
    if target is not None:
        verdict = "met" if statistics.median(ratios) >= target else "NOT met"
        text += f" (target >= {target:.1f}: {verdict} by the median, lowest round {min(ratios):.2f})"
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="per server, mode and round")
    ap.add_argument("--rounds", type=int, default=3, help="Content-Length rounds per server")
    ap.add_argument("--chunked-rounds", type=int, default=None,
                    help="chunked-body rounds per server (default: --rounds; 0: none)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--size", type=int, default=1024, help="JSON body size in bytes")
    ap.add_argument("--chunk-size", type=int, default=512, help="bytes per chunk when chunked")
    ap.add_argument("--servers", default=",".join(DEFAULT_SERVERS),
                    help="comma-separated, from " + ",".join(SERVERS)
                    + " (ceiling: the load client's own limit, answering without parsing)")
    args = ap.parse_args()
    chunked_rounds = args.rounds if args.chunked_rounds is None else args.chunked_rounds
    chosen = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(chosen) - set(SERVERS)
    if min(args.seconds, args.connections, args.size, args.chunk_size) <= 0:
        ap.error("--seconds, --connections, --size and --chunk-size must be positive")
    if unknown or not chosen:
        ap.error(f"unknown server(s) {sorted(unknown)}; choose from {list(SERVERS)}")
    requests = build_requests(args.size, args.chunk_size)
    plan = [("content-length", args.rounds), ("chunked", chunked_rounds)]
    results: dict[str, dict[str, list[dict[str, float]]]] = {m: {} for m, n in plan if n > 0}
    acked = 0
    stored: int | None = None
    print(f"{'mode':15} {'round':>5} {'server':27} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
          f" {'requests':>9}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sqlite3")
        procs: dict[str, tuple[subprocess.Popen[str], int]] = {}
        try:
            for key in chosen:
                code = SERVERS[key][1]
                own = {"hooklab": [db], "normal": [db + "-normal"]}
                procs[key] = launch(code, own.get(key, []),
                                    os.path.join(tmp, f"{key}.log"))
                for request in requests.values():  # warm-up, both framings
                    warm = drive(procs[key][1], request, 1.0, args.connections)
                    if key == "hooklab":
                        acked += int(warm["requests"])
            # All servers stay up and take turns; the order rotates each round so that no
            # server always runs right after the same neighbour. Ratios are taken per round.
            for i in range(max(args.rounds, chunked_rounds)):
                order = chosen[i % len(chosen):] + chosen[: i % len(chosen)]
                for mode, n_rounds in plan:
                    if i >= n_rounds:
                        continue
                    for key in order:
                        r = drive(procs[key][1], requests[mode], args.seconds, args.connections)
                        results[mode].setdefault(key, []).append(r)
                        if key == "hooklab":
                            acked += int(r["requests"])
                        print(f"{mode:15} {i + 1:5d} {SERVERS[key][0]:27} {r['rate']:8.0f}"
                              f" {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['requests']:9d}",
                              flush=True)
        finally:
            for key, (proc, _) in procs.items():
                stop(proc, clean=key in ("hooklab", "normal"))
        if "hooklab" in procs:
            import hooklab  # public API only: count what the durable server kept

            kept = hooklab.open(db)
            stored = len(kept.captures)
            kept.stop()

    for mode, by_server in results.items():
        print(f"\n== {mode} ({len(next(iter(by_server.values())))} rounds of {args.seconds:g} s,"
              f" {args.connections} connections, {args.size} B bodies) ==")
        for key, rs in by_server.items():
            rates = [r["rate"] for r in rs]
            print(f"{SERVERS[key][0]:27} req/s {min(rates):7.0f} - {max(rates):7.0f}"
                  f" (median {statistics.median(rates):7.0f}),"
                  f" p99 {min(r['p99_ms'] for r in rs):6.1f} - {max(r['p99_ms'] for r in rs):6.1f} ms")
        hook = by_server.get("hooklab")
        if hook is None:
            continue
        for peer in PEERS:
            if peer in by_server:
                ratios = [h["rate"] / p["rate"] for h, p in zip(hook, by_server[peer], strict=True)]
                print(ratio_line(f"hooklab/{peer}", ratios, TARGETS.get(peer)))
        worst = max(h["p99_ms"] for h in hook)
        verdict = "met" if worst <= P99_TARGET_MS else "NOT met"
        print(f"hooklab p99 worst round {worst:.1f} ms (target <= {P99_TARGET_MS:.0f} ms: {verdict})")
    if stored is not None:
        verdict = "ok" if stored == acked else "MISMATCH"
        print(f"\nhooklab stored {stored} captures for {acked} acknowledged requests ({verdict})")
        if stored != acked:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
