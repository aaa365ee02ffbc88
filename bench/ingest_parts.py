"""Where a durable capture's CPU goes: hooklab with parts of its work switched off, against the
Starlette app of ``bench/ingest.py``, each figure taken in the same run.

    python bench/ingest_parts.py [--seconds 5] [--rounds 3] [--parts hooklab,receive,...]

A diagnostic for issue 13's ingest targets, not a product configuration: the variants switch
parts off through private attributes of the store, which may change without notice.

- ``hooklab``: ``hooklab.start(port=0, db=<temp file>)``, the defaults (what ``ingest.py``
  measures);
- ``receive``: the same server whose store answers every capture at once without storing it:
  HTTP parsing, the capture record, the handshake check, the answer; no SQLite, no threads
  but the server's;
- ``no-handshakes``: ``handshakes=False`` (a public trait: endpoint handshakes not looked for);
- ``no-detection``: provider detection off;
- ``no-search-index``: captures not added to the search index as they are stored;
- ``no-sync``: ``durability="normal"`` (a public setting: commits not fsynced);
- ``starlette``: the Starlette/uvicorn app that keeps captures in a list (the baseline).

Each runs in its own process on 127.0.0.1, all stay up and take turns (``--seconds`` each per
round, the order rotating), driven by ``ingest.py``'s client (32 keep-alive connections,
1 KB JSON POSTs with ``Content-Length``). For each: requests per second, the server process's
CPU per request (user + system time of all its threads, from ``/proc``; Linux only), the
busiest threads' share of a CPU, and the rate against Starlette's in the same round (median
of the rounds). Loopback only; every loop is bounded by time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ingest  # noqa: E402  (the client, the servers and their start/stop)

_START = r"""
import sys
from urllib.parse import urlsplit
import hooklab
lab = hooklab.start(port=0, db=sys.argv[1]{config})
{switch}
print("ready", urlsplit(lab.url).port, flush=True)
sys.stdin.read()  # closed by the benchmark: stop
lab.stop()
"""

_RECEIVE_ONLY = r"""
import itertools
from hooklab.capture import Capture
_ids = itertools.count(1)
def _answer_now(record, on_done=None):  # the store's submit(): answer, store nothing
    on_done(Capture(id=next(_ids), received_at=None, kind="http", method=record["method"],
                    path=record["path"], query={}, headers=[], body=b"", remote_addr="",
                    url="", status=record["status"]))
lab.store.submit = _answer_now
"""

PARTS = {
    "hooklab": ("hooklab, all of it", _START.format(config="", switch="")),
    "receive": ("receive and answer only", _START.format(config="", switch=_RECEIVE_ONLY)),
    "no-handshakes": ("no handshake check", _START.format(config=", handshakes=False", switch="")),
    "no-detection": ("no provider detection", _START.format(
        config="", switch="import hooklab.store.store as s\ns._detect = lambda record: None")),
    "no-search-index": ("no search index", _START.format(
        config="", switch="lab.store._fts = False")),
    "no-sync": ("no fsync (durability=normal)", _START.format(
        config=", durability='normal'", switch="")),
    "starlette": ("starlette/uvicorn (list)", ingest.STARLETTE),
}


def _cpu_ticks(pid: int) -> dict[str, int]:
    """user + system clock ticks of each thread of ``pid`` (empty where /proc is missing)."""
    out: dict[str, int] = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[tid] = int(fields[11]) + int(fields[12])
    return out


def measure(pid: int, port: int, request: bytes, seconds: float, connections: int) -> dict:
    """Drive one server; its CPU is read over the middle of the run (not the ramp)."""
    result: dict = {}
    driver = threading.Thread(target=lambda: result.update(
        ingest.drive(port, request, seconds, connections)))
    driver.start()
    settle = min(1.0, seconds / 4)
    time.sleep(settle)
    before, t0 = _cpu_ticks(pid), time.monotonic()
    time.sleep(max(0.1, seconds - 2 * settle))
    after, elapsed = _cpu_ticks(pid), time.monotonic() - t0
    driver.join()
    hz = os.sysconf("SC_CLK_TCK")
    shares = sorted(((after[t] - before[t]) / hz / elapsed for t in after if t in before),
                    reverse=True)
    result["cpu"] = sum(shares) if shares else float("nan")
    result["threads"] = [s for s in shares if s >= 0.01]
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--parts", default=",".join(PARTS), help="comma-separated, from " + ",".join(PARTS))
    args = ap.parse_args()
    chosen = [p.strip() for p in args.parts.split(",") if p.strip()]
    if not chosen or set(chosen) - set(PARTS) or args.seconds <= 0 or args.rounds <= 0:
        ap.error(f"choose parts from {list(PARTS)}; --seconds and --rounds must be positive")
    request = ingest.build_requests(args.size, 512)["content-length"]
    results: dict[str, list[dict]] = {k: [] for k in chosen}
    print(f"{'round':>5} {'part':30} {'req/s':>8} {'CPU us/req':>10} {'p99 ms':>7}  threads (CPU)")
    with tempfile.TemporaryDirectory() as tmp:
        procs = {}
        try:
            for key in chosen:
                own = [] if key == "starlette" else [os.path.join(tmp, f"{key}.sqlite3")]
                procs[key] = ingest.launch(PARTS[key][1], own, os.path.join(tmp, f"{key}.log"))
                ingest.drive(procs[key][1], request, 1.0, args.connections)  # warm-up
            for i in range(args.rounds):
                for key in chosen[i % len(chosen):] + chosen[: i % len(chosen)]:
                    proc, port = procs[key]
                    r = measure(proc.pid, port, request, args.seconds, args.connections)
                    results[key].append(r)
                    us = r["cpu"] / r["rate"] * 1e6
                    print(f"{i + 1:5d} {PARTS[key][0]:30} {r['rate']:8.0f} {us:10.1f}"
                          f" {r['p99_ms']:7.1f}  " + " ".join(f"{s:.0%}" for s in r["threads"]),
                          flush=True)
        finally:
            for key, (proc, _) in procs.items():
                ingest.stop(proc, clean=key != "starlette")
    print(f"\n{'part':30} {'req/s':>8} {'CPU us/req':>10} {'vs starlette':>13} {'vs hooklab':>11}"
          "   (medians of the rounds; ratios per round)")
    base = results.get("starlette")
    full = results.get("hooklab")
    for key, rs in results.items():
        rate = statistics.median(r["rate"] for r in rs)
        us = statistics.median(r["cpu"] / r["rate"] * 1e6 for r in rs)
        vs = (f"{statistics.median(a['rate'] / b['rate'] for a, b in zip(rs, base, strict=True)):13.2f}"
              if base else f"{'-':>13}")
        vh = (f"{statistics.median(a['rate'] / b['rate'] for a, b in zip(rs, full, strict=True)):11.2f}"
              if full else f"{'-':>11}")
        print(f"{PARTS[key][0]:30} {rate:8.0f} {us:10.1f} {vs} {vh}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
