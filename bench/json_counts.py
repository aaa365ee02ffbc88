"""Counting payloads in the frame's ``json`` column: value_counts, nunique, drop_duplicates,
groupby and mode on n Shopify-like payloads (a tenth of them repeated), against pandas'
value_counts of the same payloads made JSON text in a plain column (the baseline, same run,
the text's making included).

    .venv/bin/python bench/json_counts.py --n 10000 100000 [--skip-over 60]

An operation slower than ``--skip-over`` seconds at one n is not run at larger n (quadratic
code would take hours).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import tempfile
import time

import pandas as pd

import hooklab


def frame(n: int, folder: str) -> pd.DataFrame:
    path = os.path.join(folder, f"in-{n}.jsonl")
    with open(path, "w") as f:
        for i in range(n):
            body = {"id": 2**53 + i % (n - n // 10), "total_price": "1.00",
                    "line_items": [{"sku": "S", "qty": i % 3}]}
            f.write(json.dumps({
                "received_at": "2026-11-01T00:00:00Z", "method": "POST", "path": "/shopify",
                "status": 200, "headers": [["Content-Type", "application/json"]],
                "body_b64": base64.b64encode(json.dumps(body).encode()).decode()}) + "\n")
    return hooklab.load_jsonl(path).dataframe()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--skip-over", type=float, default=60.0)
    args = ap.parse_args()
    ops = {
        "value_counts": lambda df: df["json"].value_counts(),
        "nunique": lambda df: df["json"].nunique(),
        "drop_duplicates": lambda df: df.drop_duplicates(subset=["json"]),
        "groupby.size": lambda df: df.groupby("json").size(),
        "mode": lambda df: df["json"].mode(),
    }
    slow: set[str] = set()
    with tempfile.TemporaryDirectory() as folder:
        for n in args.n:
            df = frame(n, folder)
            t0 = time.perf_counter()
            pd.Series([json.dumps(v, sort_keys=True) for v in df["json"].astype(object)]).value_counts()
            base = time.perf_counter() - t0
            print(f"n={n:,}: baseline (payloads to JSON text, value_counts) {base:.3f} s", flush=True)
            for name, op in ops.items():
                if name in slow:
                    print(f"  {name:16s} skipped (over {args.skip_over:g} s at a smaller n)")
                    continue
                t0 = time.perf_counter()
                try:
                    result = op(df)
                    shown = f"{len(result):,} rows" if hasattr(result, "__len__") else f"{result:,}"
                except TypeError as e:
                    shown = f"TypeError: {e}"
                took = time.perf_counter() - t0
                if took > args.skip_over:
                    slow.add(name)
                print(f"  {name:16s} {took:8.3f} s  ({took / base:6.1f}x baseline)  {shown}", flush=True)


if __name__ == "__main__":
    main()
