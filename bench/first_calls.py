"""What a fresh process pays on its first frames of a large store, against its next ones.

    python bench/first_calls.py --db STORE.sqlite3 [--runs 4]
    python bench/first_calls.py --db EXPORT_FOLDER        # a Parquet export (lab.export)
    ARROW_DEFAULT_MEMORY_POOL=system python bench/first_calls.py --db STORE.sqlite3

Each run starts a new Python process that opens the store with ``hooklab.open`` and times,
in order, ``dataframe()``, ``dataframe(flatten=True)`` twice and ``dataframe()`` twice; the
second calls are the same process's baseline for the first ones. Make a store with ``bench/frame.py`` (or
``hooklab.HookLab.from_jsonl(path, db=...)``). Reads local files only; every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

_CHILD = """
import gc, json, sys, time
import numpy, pandas, pyarrow
import hooklab
lab = hooklab.open(sys.argv[1])
out = []
for flat in (False, True, True, False, False):
    t = time.perf_counter()
    df = lab.dataframe(flatten=flat)
    out.append(time.perf_counter() - t)
    del df
    gc.collect()
print(json.dumps([pyarrow.default_memory_pool().backend_name, out]))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True, help="a hooklab SQLite store or Parquet export")
    ap.add_argument("--runs", type=int, default=4)
    args = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", here)}
    names = ("dataframe() 1st", "flatten 1st", "flatten 2nd", "dataframe() 2nd", "dataframe() 3rd")
    print(f"{'pool':9s} " + " ".join(f"{n:>16s}" for n in names))
    for _ in range(max(1, min(args.runs, 20))):
        got = subprocess.run([sys.executable, "-c", _CHILD, args.db], env=env, capture_output=True,
                             text=True, timeout=600, check=True)
        pool, times = json.loads(got.stdout.strip().splitlines()[-1])
        print(f"{pool:9s} " + " ".join(f"{t:15.2f}s" for t in times), flush=True)


if __name__ == "__main__":
    main()
