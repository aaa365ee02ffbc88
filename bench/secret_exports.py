"""What hiding secrets given with ``lab.secret`` costs an export: captures stored after the
secret was given ("after": scrubbed on arrival, written as stored) and before it ("before":
scrubbed as exported), against no secret at all.

    python bench/secret_exports.py [N]        # N captures (100000)

Run it with ``PYTHONPATH`` set to each checkout compared, alternately, in the same session.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

import hooklab
from hooklab.capture import new_record


def _records(n: int):
    headers = [("Host", "127.0.0.1:1"), ("Content-Type", "application/json"),
               ("X-GitHub-Event", "push"), ("User-Agent", "GitHub-Hookshot/1")]
    for i in range(n):
        yield new_record("POST", f"/github/x{i % 50}", headers, json.dumps({"i": i}).encode(),
                         url=f"http://127.0.0.1:1/github/x{i % 50}?a=1")


def _export(lab: hooklab.HookLab, out: str, fmt: str) -> float:
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    t = time.perf_counter()
    lab.export(f"{out}/c.{fmt}")
    return time.perf_counter() - t


def main(n: int) -> None:
    out = tempfile.mkdtemp()
    for case in ("none", "before", "after"):
        lab = hooklab.HookLab(db=":memory:")
        if case == "after":
            lab.secret("github", "s3cretvalue-zzz", provider="github")
        lab.store.add_many(_records(n))
        lab.store.flush()
        if case == "before":
            lab.secret("github", "s3cretvalue-zzz", provider="github")
        for fmt in ("parquet", "jsonl"):
            _export(lab, out + "/w", fmt)  # (warm)
            print(f"{case:6} {fmt:7} {_export(lab, out + '/m', fmt):.2f} s", flush=True)
        lab.stop()
    shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
