"""The reads a user makes of a capture database someone handed them, each reduced to a
fingerprint: run as a script, in a process of its own, so that a read that crashes the
interpreter (a segfault) shows as the process's exit by signal instead of taking pytest down.

    python _crafted_reads.py DB OUT_DIR        # one database
    python _crafted_reads.py - < CASES.json    # [[name, DB, OUT_DIR], ...] one after another

For each database, in turn (each opened anew: ``hooklab.open(db)``, then ``stop()``), prints
one line ``{"case": name, "reads": {read: ["ok", fingerprint] or ["error", "Type: message"]}}``
(``name`` is ``-`` for the first form); before each step it writes ``reading: [name, step]``
to stderr, so that whoever started it can tell which database and read was running when a
signal ended it. A database whose reads take over :data:`CASE_TIMEOUT` seconds ends the
process (exit 1, every thread's stack on stderr): a hang is bounded like a crash.
"""

from __future__ import annotations

import faulthandler
import hashlib
import json
import os
import sys
from typing import Any

#: (name, what it reads): the user-facing reads of ``hooklab.open(db)``
READS = ("dataframe", "dataframe_filtered", "dataframe_flat", "schema", "search",
         "export_parquet", "export_jsonl")
CASE_TIMEOUT = 90  # seconds, all the reads of one database


def digest(value: Any) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def frame_print(df: Any) -> str:
    """Every cell of a frame: as text, the ``json`` column as its values (sorted keys), times
    as their dtype and nanoseconds (as text they cost more than every other column)."""
    cols = sorted(df.columns)
    rows: list[Any] = []
    for col in cols:
        s = df[col]
        if col == "json":  # (each value decoded: a damaged compressed body raises here)
            rows.append(json.dumps(s.tolist(), sort_keys=True, default=repr))
        elif hasattr(s.array, "asi8"):
            rows.append((str(s.dtype), s.array.asi8.tolist()))
        else:
            rows.append(s.astype(str).tolist())
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


def step(case: str, name: str) -> None:
    print("reading: " + json.dumps([case, name]), file=sys.stderr, flush=True)


def read_all(hooklab: Any, case: str, db: str, out: str) -> dict[str, Any]:
    step(case, "open")
    lab = hooklab.open(db)
    got: dict[str, Any] = {}
    try:
        for name in READS:
            step(case, name)
            try:
                got[name] = ["ok", run(name, lab, out)]
            except Exception as exc:  # noqa: BLE001 - reported: the test judges it
                got[name] = ["error", f"{type(exc).__module__}.{type(exc).__name__}: {exc}"[:300]]
    finally:
        step(case, "stop")
        lab.stop()
    return got


def main() -> None:
    faulthandler.enable()  # (a crash's Python stack on stderr: the test shows it)
    if sys.argv[1:] == ["-"]:
        cases = json.load(sys.stdin)
    else:
        cases = [["-", sys.argv[1], sys.argv[2]]]
    import hooklab

    for case, db, out in cases:
        os.makedirs(out, exist_ok=True)
        faulthandler.dump_traceback_later(CASE_TIMEOUT, exit=True)
        got = read_all(hooklab, case, db, out)
        faulthandler.cancel_dump_traceback_later()
        print(json.dumps({"case": case, "reads": got}), flush=True)


if __name__ == "__main__":
    main()
