"""Captures as ``hooklab.load_jsonl`` imports them, and a lab of them on either engine.

>>> lab = imported_lab(tmp_path, [b'{"a": 1}'], "parquet")   # SQLite file, or its Parquet export
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path

import hooklab


def import_record(i: int, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> dict:
    """A JSON Lines record of capture ``i`` (received ``i`` seconds after noon, 2026-01-01) with
    ``body`` as sent, ``Content-Type: application/json`` and ``headers`` after it."""
    return {"id": i, "kind": "http", "received_at": f"2026-01-01T12:00:{i:02d}.000000Z",
            "method": "POST", "path": "/b", "query": {},
            "headers": [["Content-Type", "application/json"], *map(list, headers)],
            "remote_addr": "127.0.0.1", "status": 200, "provider": None, "event_type": None,
            "delivery_id": None, "verified": None, "body_b64": base64.b64encode(body).decode()}


def imported_lab(root: Path, bodies: Sequence[bytes | tuple[bytes, Sequence[tuple[str, str]]]],
                 engine: str) -> hooklab.HookLab:
    """A lab of ``bodies`` (ids 1, 2, ...; a body may come with its extra headers) imported
    into the SQLite file ``root/captures.sqlite3`` (``engine="sqlite"``), or that lab's
    Parquet export opened (``engine="parquet"``, read by DuckDB)."""
    lines = []
    for i, b in enumerate(bodies, 1):
        body, headers = b if isinstance(b, tuple) else (b, ())
        lines.append(json.dumps(import_record(i, body, headers)) + "\n")
    (root / "captures.jsonl").write_text("".join(lines))
    lab = hooklab.load_jsonl(str(root / "captures.jsonl"), db=str(root / "captures.sqlite3"))
    if engine == "sqlite":
        return lab
    assert engine == "parquet", engine
    assert lab.export(str(root / "ds"), fmt="parquet") == len(bodies)
    return hooklab.open(str(root / "ds"))
