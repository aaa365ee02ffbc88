"""``dataframe(flatten=True)`` of list-heavy payloads, against DuckDB reading the same bodies
in the same run.

    python bench/lists.py [--n 100000] [--rounds 3]

The captures are GitHub-push-like events (about 800 B of JSON each): ``commits`` is a list of
three objects whose fields differ from item to item (a ``username`` that is null in one, an
``extra`` field in some), and ``score`` mixes an integer with a float. Arrow gives the items
of a list column one type, so every row's lists here are read again from the body by Python
(``_exact_lists`` in hooklab/frame.py): the case where ``flatten=True`` does the most work.

Printed: DuckDB ``read_json`` + ``unnest(recursive := true)`` -> Arrow (the baseline, best of
``--rounds``), the first ``flatten=True`` (parses every body, keeps each column segment's
payloads), and the best of the calls after it (kept segments), each with its ratio.
Local files only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import hooklab  # noqa: E402
from hooklab.frame import FLAT_KIND  # noqa: E402
from hooklab.store import CaptureStore  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from frame import duckdb_flatten, timed  # noqa: E402  (bench/frame.py)

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def body(i: int) -> dict[str, Any]:
    commits = [
        {"id": f"{i:040x}", "message": f"fix {i}", "distinct": True, "added": [],
         "modified": ["README.md"],
         "author": {"name": "a", "email": "a@example.com", "username": None if k == 1 else "u"}}
        for k in range(3)
    ]
    if i % 2:
        commits[0]["extra"] = 1
    return {"ref": "refs/heads/main", "before": "0" * 40, "after": f"{i:040x}", "size": 3,
            "commits": commits, "pusher": {"name": "p"}, "score": [1, 2.5]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bodies = os.path.join(tmp, "bodies.jsonl")
        db = os.path.join(tmp, "lists.sqlite3")
        records = []
        with open(bodies, "w") as f:
            for i in range(args.n):
                raw = json.dumps(body(i))
                f.write(raw + "\n")
                records.append({"method": "POST", "path": "/github", "body": raw.encode(),
                                "headers": [("Content-Type", "application/json"),
                                            ("X-GitHub-Event", "push")],
                                "received_at": START + timedelta(seconds=i)})
        store = CaptureStore(db, durability="normal")
        store.add_many(records)
        del records
        t0 = time.monotonic()
        while store._behind() and time.monotonic() - t0 < 600:
            time.sleep(0.2)
        store.close()

        def base() -> Any:
            return duckdb_flatten(bodies)

        lab = hooklab.open(db)
        try:
            base_s = [timed(base)[0]]
            first, df = timed(lambda: lab.dataframe(flatten=True))
            cols = df.shape[1]
            del df
            t0 = time.monotonic()
            while not all(lab.store.summaries(FLAT_KIND).values()) and time.monotonic() - t0 < 300:
                time.sleep(0.2)
            kept = []
            for _ in range(max(1, args.rounds)):
                base_s.append(timed(base)[0])
                t, df = timed(lambda: lab.dataframe(flatten=True))
                kept.append(t)
                del df
        finally:
            lab.stop()
        b = min(base_s)
        print(f"{args.n:,} GitHub-push-like captures, {cols} columns")
        print(f"DuckDB read_json+unnest -> Arrow (baseline)   {b:7.3f} s  rounds {[round(x, 2) for x in base_s]}")
        print(f"dataframe(flatten=True), first call           {first:7.3f} s  {first / b:.2f}x baseline")
        print(f"dataframe(flatten=True), segments kept (best) {min(kept):7.3f} s  {min(kept) / b:.2f}x baseline"
              f"  rounds {[round(x, 2) for x in kept]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
