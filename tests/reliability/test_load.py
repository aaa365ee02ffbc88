"""Load: 100 concurrent keep-alive connections, 20,000 requests, nothing lost or mangled."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _rawclient import body_for

from hooklab import HookLab

pytestmark = pytest.mark.timeout(240)

CONNECTIONS = 100
PER_CONNECTION = 200  # 100 x 200 = 20,000 requests
CLIENT = Path(__file__).with_name("_rawclient.py")


def test_20000_requests_on_100_connections_stored_exactly_once(tmp_path):
    db = tmp_path / "load.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()  # durability "full": fsync per group commit
    try:
        t0 = time.monotonic()
        # the client runs in its own process, as a real sender would (no shared GIL)
        out = subprocess.run(
            [sys.executable, str(CLIENT), str(lab.bound_port), str(CONNECTIONS),
             str(PER_CONNECTION), "150"],
            capture_output=True, text=True, timeout=200, check=True,
        )
        elapsed = time.monotonic() - t0
        result = json.loads(out.stdout)
        lab.store.flush()
    finally:
        lab.stop()

    acked = result["acked"]
    print(
        f"\nload: sent {result['sent']}, acknowledged {len(acked)} in {result['elapsed']:.1f} s "
        f"({len(acked) / result['elapsed']:.0f} req/s), errors {result['n_errors']}"
    )
    assert result["n_errors"] == 0, result["errors"]
    assert result["sent"] == CONNECTIONS * PER_CONNECTION
    assert len(acked) == CONNECTIONS * PER_CONNECTION
    assert {status for _, _, status, _ in acked} == {200}

    # every answer carried a distinct capture id, increasing along each connection
    ids = [cid for _, _, _, cid in acked]
    assert len(set(ids)) == len(ids) and min(ids) >= 1
    per_conn: dict[int, list[int]] = {}
    for conn, _seq, _status, cid in acked:
        per_conn.setdefault(conn, []).append(cid)
    assert all(v == sorted(v) for v in per_conn.values())

    # read the file with plain sqlite3, independently of hooklab
    con = sqlite3.connect(db)
    rows = con.execute("SELECT id, path, query, headers, body FROM captures ORDER BY id").fetchall()
    con.close()
    assert len(rows) == len(acked), "stored count differs from acknowledged count"
    stored_ids = [r[0] for r in rows]
    assert stored_ids == sorted(set(stored_ids))
    want = {cid: (conn, seq) for conn, seq, _, cid in acked}
    assert set(stored_ids) == set(want), "stored ids differ from acknowledged ids"
    seen: set[tuple[int, int]] = set()
    for cid, path, query, headers, body in rows:
        conn, seq = want[cid]
        assert path == f"/load/c{conn}"
        assert json.loads(query) == {"seq": [str(seq)]}
        assert ["X-Seq", str(seq)] in json.loads(headers)
        assert bytes(body) == body_for(conn, seq), f"capture {cid} body differs"
        seen.add((conn, seq))
    assert len(seen) == len(rows)  # each request exactly once
    print(f"load: stored {len(rows)} (byte-exact), total {elapsed:.1f} s")
