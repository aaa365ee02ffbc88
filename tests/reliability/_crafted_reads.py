"""The reads a user makes of a capture database someone handed them, each reduced to a
fingerprint: run as a script, in its own process, so that a read that crashes the interpreter
(a segfault) shows as the process's exit by signal instead of taking pytest down.

    python _crafted_reads.py DB OUT_DIR

prints one JSON object: ``{read: ["ok", fingerprint] or ["error", "Type: message"]}``; before
each read it writes the read's name to stderr (the one running when a signal ended it).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import Any

#: (name, what it reads): the user-facing reads of ``hooklab.open(db)``
READS = ("dataframe", "dataframe_filtered", "dataframe_flat", "schema", "search",
         "export_parquet", "export_jsonl")


def digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def frame_print(df: Any) -> str:
    """Every cell of a frame as text (the ``json`` column as its values, sorted keys)."""
    cols = sorted(df.columns)
    rows = []
    for col in cols:
        if col == "json":
            rows.append([json.dumps(v, sort_keys=True, default=repr) for v in df[col]])
        else:
            rows.append(df[col].astype(str).tolist())
    return digest((cols, rows))


def run(name: str, lab: Any, out: str) -> Any:
    if name == "dataframe":
        return frame_print(lab.dataframe())
    if name == "dataframe_filtered":
        return frame_print(lab.dataframe(method="POST"))  # (not indexed: the segments, masked)
    if name == "dataframe_flat":
        return frame_print(lab.dataframe(flatten=True))
    if name == "schema":
        s = lab.schema()
        return digest(s.drop(columns=["example"]).astype(str).values.tolist())
    if name == "search":
        return [[c.id for c in lab.query(search="zebra")],
                lab.dataframe(search="zebra")["id"].tolist()]
    if name == "export_parquet":
        import pyarrow.compute as pc
        import pyarrow.dataset as ds

        path = os.path.join(out, "pq")
        n = lab.export(path, fmt="parquet", method="POST")
        t = ds.dataset(path, format="parquet", partitioning="hive").to_table(columns=["id", "body"])
        t = t.take(pc.sort_indices(t, [("id", "ascending")]))
        return [n, digest((t.column("id").to_pylist(), t.column("body").to_pylist()))]
    if name == "export_jsonl":
        path = os.path.join(out, "all.jsonl")
        n = lab.export(path, fmt="jsonl")
        with open(path, "rb") as f:
            return [n, hashlib.sha256(f.read()).hexdigest()[:16]]
    raise AssertionError(name)


def main() -> None:
    db, out = sys.argv[1], sys.argv[2]
    import hooklab

    lab = hooklab.open(db)
    got: dict[str, Any] = {}
    try:
        for name in READS:
            print(name, file=sys.stderr, flush=True)
            try:
                got[name] = ["ok", run(name, lab, out)]
            except Exception as exc:  # noqa: BLE001 - reported: the test judges it
                got[name] = ["error", f"{type(exc).__module__}.{type(exc).__name__}: {exc}"[:300]]
    finally:
        lab.stop()
    print(json.dumps(got))


if __name__ == "__main__":
    main()
