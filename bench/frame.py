"""DataFrame benchmark: 100,000 stored captures -> ``dataframe()`` and ``dataframe(flatten=True)``.

    python bench/frame.py [--n 100000]

Baseline in the same run: ``pandas.json_normalize`` over the already-parsed payload dicts.
Targets: ``dataframe()`` < 1 s; ``flatten=True`` within 1.5x of (its own plain frame +
json_normalize), i.e. flattening adds no more than 1.5x what json_normalize alone costs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone

import pandas as pd

from hooklab.store import CaptureStore


def payload(i: int, rng: random.Random) -> dict:
    kind = rng.choice(["invoice.paid", "charge.refunded", "payment_intent.succeeded"])
    return {
        "id": f"evt_{i:08d}",
        "object": "event",
        "type": kind,
        "created": 1_700_000_000 + i,
        "livemode": False,
        "data": {
            "object": {
                "id": f"in_{i:08d}",
                "amount": rng.randint(100, 100_000),
                "currency": rng.choice(["usd", "eur", "gbp"]),
                "customer": {"id": f"cus_{i % 977}", "email": f"user{i % 977}@example.com"},
                "metadata": {"order": str(i), "channel": rng.choice(["web", "app"])},
            }
        },
    }


def fill(store: CaptureStore, n: int) -> list[dict]:
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    dicts = []
    for i in range(n):
        p = payload(i, rng)
        dicts.append(p)
        store.add(
            {
                "received_at": start + timedelta(milliseconds=37 * i),
                "method": "POST",
                "path": "/stripe",
                "headers": [
                    ("Content-Type", "application/json"),
                    ("Stripe-Signature", "t=1,v1=" + "0" * 64),
                    ("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
                ],
                "body": json.dumps(p).encode(),
            }
        )
    store.flush(120)
    return dicts


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    args = ap.parse_args()
    from hooklab.frame import captures_frame

    with tempfile.TemporaryDirectory() as tmp:
        store = CaptureStore(os.path.join(tmp, "frame.sqlite3"), durability="normal")
        t0 = time.perf_counter()
        dicts = fill(store, args.n)
        print(f"stored {store.count()} captures in {time.perf_counter() - t0:.1f} s")
        t_plain = best(lambda: captures_frame(store))
        t_flat = best(lambda: captures_frame(store, flatten=True))
        t_norm = best(lambda: pd.json_normalize(dicts))
        df = captures_frame(store, flatten=True)
        store.close()
    print(f"dataframe()              {t_plain:6.3f} s  (target < 1 s)")
    print(f"dataframe(flatten=True)  {t_flat:6.3f} s  ({df.shape[1]} columns)")
    print(f"json_normalize baseline  {t_norm:6.3f} s  (already-parsed dicts)")
    print(f"flatten / json_normalize ratio: {t_flat / t_norm:.2f}")
    print(f"flatten extra / json_normalize: {(t_flat - t_plain) / t_norm:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
