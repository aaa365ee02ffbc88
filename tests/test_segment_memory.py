"""Sealing a column segment takes memory bounded by what a segment keeps, not by what senders
send: any sender (no token needed) can POST 4,096 big JSON webhooks, and the lab seals them in
the next quiet second, in the notebook's kernel. Sealing held every body of the segment and a
joined copy of them (1 GB for bodies of 100 KiB); it now reads one body at a time and keeps a
segment's bodies only while they come to at most 32 MiB (else they stay in ``captures``, where
every reader finds them): the process grows by at most that much zlib output, one body and
SQLite's pages, whatever the bodies weigh. Every body still reads back exactly.
"""

from __future__ import annotations

import json
import random
import socket
import sqlite3
import subprocess
import sys

import pytest

import hooklab

SEG = 4096  # captures per column segment (README: "a few thousand captures per blob")
N = SEG + 4
PAD = 16 * 1024  # random bytes per body, sent as hex: 32 KiB, which zlib makes about 0.55 of
MIB = 1 << 20
# what a segment keeps at most (32 MiB of bodies), what zlib makes of it at most (no more
# than it is given), one body being read and SQLite's page caches, with room for the
# allocator: sealing these 4,100 bodies (131 MiB) took about 330 MiB
BOUND = 32 * MIB + 48 * MIB

CHILD = r"""
import json, os, sqlite3, sys, time
import hooklab

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

path, seg = sys.argv[1], int(sys.argv[2])
lab = hooklab.start(port=0, db=path)
print("URL", lab.url, flush=True)
end = time.monotonic() + 600
while len(lab.captures) < seg and time.monotonic() < end:
    time.sleep(0.02)
# (a segment is sealed a quiet second after the last write: the peak is measured from here)
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the RSS now
except OSError:
    print("RESULT", json.dumps(None), flush=True)
    sys.exit(0)
base = status("VmRSS")
db = sqlite3.connect(path)
sealed = []
while not sealed and time.monotonic() < end:
    time.sleep(0.05)
    sealed = db.execute("SELECT first_id, last_id FROM segments").fetchall()
db.close()
print("RESULT", json.dumps({"base": base, "peak": status("VmHWM"), "sealed": sealed}),
      flush=True)
lab.stop()
"""


def body_of(i: int) -> bytes:
    pad = random.Random(i).randbytes(PAD).hex()
    return json.dumps({"type": "invoice.paid", "i": i, "pad": pad}).encode()


def send_all(port: int) -> None:
    """``N`` JSON webhooks, 20 a connection (kept alive, pipelined), each answered."""
    for start in range(0, N, 20):
        data = b"".join(
            b"POST /stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(b), b)
            for b in map(body_of, range(start, min(start + 20, N))))
        count = min(20, N - start)
        with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
            s.sendall(data)
            got = b""
            while got.count(b"HTTP/1.1 200") < count:
                chunk = s.recv(1 << 16)
                assert chunk, got[-300:]
                got += chunk


@pytest.mark.timeout(900)
def test_sealing_a_segment_of_big_bodies_takes_bounded_memory_and_every_body_reads_back(tmp_path):
    path = str(tmp_path / "captures.sqlite3")
    child = subprocess.Popen([sys.executable, "-c", CHILD, path, str(SEG)],
                             stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.startswith("URL "), line
        port = int(line.split(":")[-1])
        send_all(port)
        line = child.stdout.readline()
        assert line.startswith("RESULT "), line
        got = json.loads(line.split(" ", 1)[1])
        assert child.wait(120) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(30)
    if got is None:
        pytest.skip("no /proc/self/clear_refs here: the peak cannot be measured from a moment")
    assert got["sealed"] == [[1, SEG]]  # (the segment was sealed while measured)
    grew = got["peak"] - got["base"]
    print(f"sealing grew the lab by {grew / MIB:.1f} MiB")
    assert grew < BOUND, f"sealing grew the lab by {grew / MIB:.0f} MiB (bound {BOUND / MIB:.0f})"

    lab = hooklab.open(path)
    try:
        caps = lab.captures
        assert len(caps) == N
        for k in range(N):
            c = caps[k]
            assert c.id == k + 1 and c.body == body_of(k), k
        df = lab.dataframe()
        assert df["id"].tolist() == list(range(1, N + 1))
        for k, value in enumerate(df["json"]):
            assert value == json.loads(body_of(k)), k
        del df
        out = tmp_path / "all.parquet"
        lab.export(str(out), fmt="parquet")
    finally:
        lab.stop()
    import pyarrow.dataset as ds

    seen = 0
    for batch in ds.dataset(str(out), format="parquet").to_batches(columns=["id", "body"]):
        for cid, body in zip(batch.column("id").to_pylist(), batch.column("body").to_pylist(),
                             strict=True):
            assert body == body_of(cid - 1), cid
            seen += 1
    assert seen == N
    with sqlite3.connect(path) as db:  # (the segment kept none of them: read from captures)
        assert db.execute("SELECT length(data) < ? FROM segments", (MIB,)).fetchall() == [(1,)]
