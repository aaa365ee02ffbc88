"""Ingest benchmark: hooklab (durable SQLite, group commit) vs a bare Tornado handler.

    python bench/ingest.py [--seconds 5] [--rounds 3] [--connections 32] [--size 1024]

Each server runs in its own process on 127.0.0.1; this process drives 32 keep-alive
connections posting 1 KB JSON bodies with an asyncio client. Both servers stay up and take
turns for ``--rounds`` rounds of ``--seconds`` each, so a noisy machine loads both alike.
Prints requests/s and p50/p99 latency per round, the ratio hooklab/bare per round and its
median. Loopback only; every loop is bounded by time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BARE = r"""
import asyncio, sys
from tornado import web
received = []
class H(web.RequestHandler):
    def post(self, *a):
        received.append(self.request.body)
        self.finish(b'{"ok": true}')
async def main():
    web.Application([(r"/.*", H)]).listen(int(sys.argv[1]), "127.0.0.1")
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_ready(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


async def _conn_loop(port: int, request: bytes, stop_at: float, lat: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    try:
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head[:60])
            lat.append(time.perf_counter() - t0)
            n += 1
    finally:
        writer.close()
    return n


def drive(port: int, seconds: float, connections: int, size: int) -> dict[str, float]:
    payload = json.dumps({"type": "bench.event", "data": "x" * max(0, size - 40)}).encode()[:size]
    request = (
        f"POST /bench/ingest HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
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
        "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="per server and round")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per server")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--size", type=int, default=1024)
    args = ap.parse_args()
    rounds: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sqlite3")
        servers = {
            "bare tornado (list append)": [sys.executable, "-c", BARE],
            "hooklab (sqlite, durable)": [
                sys.executable, "-m", "hooklab.cli", "serve", "--quiet", "--db", db, "--port",
            ],
        }
        procs: dict[str, tuple[subprocess.Popen, int]] = {}
        try:
            for name, cmd in servers.items():
                port = free_port()
                proc = subprocess.Popen(
                    [*cmd, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                procs[name] = (proc, port)
                wait_ready(port)
                drive(port, 1.0, args.connections, args.size)  # warm-up
            # Both servers stay up and take turns, so load that comes and goes on a shared
            # machine hits both alike; the ratio is taken per round.
            for _ in range(args.rounds):
                for name, (_, port) in procs.items():
                    r = drive(port, args.seconds, args.connections, args.size)
                    rounds.setdefault(name, []).append(r)
            hook_port = procs["hooklab (sqlite, durable)"][1]
            health = json.loads(
                urllib.request.urlopen(f"http://127.0.0.1:{hook_port}/_hooklab/health").read()
            )
        finally:
            for proc, _ in procs.values():
                proc.terminate()
                proc.wait(10)
    print(f"{'server':30} {'round':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'requests':>9}")
    for name, rs in rounds.items():
        for i, r in enumerate(rs, 1):
            print(
                f"{name:30} {i:5d} {r['rate']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f}"
                f" {r['requests']:9d}"
            )
    hook, bare = rounds["hooklab (sqlite, durable)"], rounds["bare tornado (list append)"]
    ratios = [h["rate"] / b["rate"] for h, b in zip(hook, bare, strict=True)]
    print(
        "ratio hooklab/bare per round: " + ", ".join(f"{r:.2f}" for r in ratios)
        + f"; median {statistics.median(ratios):.2f} (target >= 1.0, stretch 1.5)"
    )
    p99 = max(h["p99_ms"] for h in hook)
    print(f"hooklab p99 (worst round): {p99:.1f} ms (target <= 20 ms)")
    acked = sum(int(h["requests"]) for h in hook)
    print(f"hooklab stored {health['captures']} captures for {acked} acknowledged + warm-up")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
