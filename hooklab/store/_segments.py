"""Column segments: the captures' scalar columns, a few thousand rows per blob, for bulk reads.

SQLite stores rows; reading one column of a million rows through Python costs a Python object
per value (seconds). So the store also keeps the columns that DataFrames need (no
bodies) in ``segments``: one row per :data:`SEG_ROWS` captures, holding each column as a
plain array (integers) or as codes into a dictionary of strings. Reading a million captures
is then a few hundred blobs turned into Arrow arrays without copying.

A segment covers the captures with ids ``first_id .. last_id``; captures are never changed
after they are stored, and whatever deletes captures deletes the segments that cover them (in
the same transaction), so a segment is always exactly the rows it covers. Rows no segment
covers (the newest ones, or those next to a deletion) are read from ``captures`` directly.

A segment also keeps its captures' bodies, zlib-compressed one after another (a fifth or
less of their size for JSON): a DataFrame of a million reads them as a few hundred blobs
instead of a million rows of the table.

Encoding uses only the standard library (on the store's upkeep thread, or its writer for an
in-memory store); decoding uses numpy and pyarrow, in the reading thread (zlib works without
the GIL).
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from array import array
from collections.abc import Sequence
from typing import Any

__all__: list[str] = []

#: captures per segment
SEG_ROWS = 4096

_MAGIC = b"HLS1"

#: (name, kind): "q" int64, "b" int8 (None -> -1), "s" string (dictionary-encoded, None ok)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "q"),
    ("received_us", "q"),
    ("size", "q"),
    ("status", "q"),
    ("verified", "b"),
    ("duplicate", "b"),
    ("encoded", "b"),
    ("kind", "s"),
    ("bin", "s"),
    ("method", "s"),
    ("provider", "s"),
    ("event_type", "s"),
    ("content_type", "s"),
    ("path", "s"),
    ("delivery_id", "s"),
    ("remote_addr", "s"),
)
NAMES = tuple(name for name, _ in COLUMNS)

#: the SELECT list producing :data:`COLUMNS` from ``captures``
SELECT = (
    "id, received_us, length(body), status, verified, duplicate,"
    " instr(lower(headers), '\"content-encoding\"') > 0, kind, bin, method, provider,"
    " event_type, content_type, path, delivery_id, remote_addr"
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    first_id INTEGER PRIMARY KEY,
    last_id INTEGER NOT NULL,
    rows INTEGER NOT NULL,
    data BLOB NOT NULL
);
"""


def _pad(n: int) -> bytes:
    return b"\0" * (-n % 8)


def encode(rows: Sequence[tuple], bodies: Sequence[bytes] | None = None) -> bytes:
    """One blob holding ``rows`` (tuples in :data:`COLUMNS` order) and, if given, their
    ``bodies`` (compressed)."""
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in COLUMNS]
    parts: list[bytes] = []
    pos = 0
    directory: list[list[Any]] = []

    def put(data: bytes) -> list[int]:
        nonlocal pos
        at = pos
        parts.append(data)
        parts.append(_pad(len(data)))
        pos += len(data) + (-len(data) % 8)
        return [at, len(data)]

    for (name, kind), values in zip(COLUMNS, cols, strict=True):
        if kind == "q":
            directory.append([name, kind, put(array("q", values).tobytes())])
        elif kind == "b":
            data = array("b", [-1 if v is None else int(v) for v in values]).tobytes()
            directory.append([name, kind, put(data)])
        else:
            seen: dict[str, int] = {}
            codes = array("i", [-1 if v is None else seen.setdefault(v, len(seen)) for v in values])
            words = [str(v).encode("utf-8", "replace") for v in seen]
            offsets = array("q", [0])
            total = 0
            for w in words:
                total += len(w)
                offsets.append(total)
            directory.append(
                [name, kind, put(codes.tobytes()), put(offsets.tobytes()), put(b"".join(words)),
                 len(words)]
            )
    if bodies is not None:
        offsets = array("q", [0])
        total = 0
        for b in bodies:
            total += len(b)
            offsets.append(total)
        packed = zlib.compress(b"".join(bodies), 1)
        directory.append(["body", "z", put(packed), put(offsets.tobytes()), total])
    header = json.dumps({"n": len(rows), "order": sys.byteorder, "cols": directory}).encode()
    head = _MAGIC + struct.pack("<I", len(header)) + header
    head += _pad(len(head))
    return head + b"".join(parts)


def decode(blob: bytes) -> Any:
    """A ``pyarrow.Table`` of a segment (int64/int8 columns, dictionary<int32, large_string>)."""
    import numpy as np
    import pyarrow as pa

    if blob[:4] != _MAGIC:
        raise ValueError("not a hooklab column segment")
    (hlen,) = struct.unpack_from("<I", blob, 4)
    header = json.loads(bytes(blob[8 : 8 + hlen]))
    base = 8 + hlen
    base += -base % 8
    buf = pa.py_buffer(blob)
    end = "<" if header["order"] == "little" else ">"
    n = header["n"]
    arrays = {}
    for entry in header["cols"]:
        name, kind = entry[0], entry[1]
        if kind == "z":  # the bodies: see bodies()
            continue
        if kind in ("q", "b"):
            at, size = entry[2]
            dtype = np.dtype(end + ("i8" if kind == "q" else "i1"))
            arrays[name] = pa.array(np.frombuffer(blob, dtype, n, base + at).astype(dtype.newbyteorder("="), copy=False))
            continue
        (c_at, _), (o_at, _), (d_at, d_len), k = entry[2], entry[3], entry[4], entry[5]
        codes = np.frombuffer(blob, np.dtype(end + "i4"), n, base + c_at).astype(np.int32, copy=False)
        offsets = np.frombuffer(blob, np.dtype(end + "i8"), k + 1, base + o_at).astype(np.int64, copy=False)
        words = pa.Array.from_buffers(
            pa.large_string(), k, [None, pa.py_buffer(offsets), buf.slice(base + d_at, d_len)]
        )
        indices = pa.array(codes, mask=codes < 0)
        arrays[name] = pa.DictionaryArray.from_arrays(indices, words)
    return pa.table(arrays)


def bodies(blob: bytes) -> Any:
    """The bodies a segment keeps, as a ``large_binary`` array (``None`` if it keeps none)."""
    import numpy as np
    import pyarrow as pa

    found = _bodies_entry(blob)
    if found is None:
        return None
    base, n, end, entry = found
    (z_at, z_len), (o_at, _), total = entry[2], entry[3], entry[4]
    data = zlib.decompress(memoryview(blob)[base + z_at : base + z_at + z_len], bufsize=max(total, 1))
    if len(data) != total:
        raise ValueError("a segment's bodies do not decompress to their size")
    offsets = np.frombuffer(blob, np.dtype(end + "i8"), n + 1, base + o_at).astype(np.int64, copy=False)
    return pa.Array.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def packed(blob: bytes) -> tuple[str, bytes, Any, int] | None:
    """The bodies a segment keeps as they are kept: ``("zlib", compressed bytes, offsets
    (n + 1 int64, from 0), decompressed size)``; ``None`` if it keeps none."""
    import numpy as np

    found = _bodies_entry(blob)
    if found is None:
        return None
    base, n, end, entry = found
    (z_at, z_len), (o_at, _), total = entry[2], entry[3], entry[4]
    offsets = np.frombuffer(blob, np.dtype(end + "i8"), n + 1, base + o_at).astype(np.int64)
    if offsets[0] != 0 or offsets[-1] != total or (np.diff(offsets) < 0).any():
        raise ValueError("a segment's body offsets do not add up")
    return "zlib", bytes(memoryview(blob)[base + z_at : base + z_at + z_len]), offsets, total


def _bodies_entry(blob: bytes) -> tuple[int, int, str, list[Any]] | None:
    """Where a segment's bodies are: (data offset, rows, byte order, directory entry)."""
    (hlen,) = struct.unpack_from("<I", blob, 4)
    header = json.loads(bytes(blob[8 : 8 + hlen]))
    base = 8 + hlen
    base += -base % 8
    end = "<" if header["order"] == "little" else ">"
    for entry in header["cols"]:
        if entry[1] == "z":
            return base, header["n"], end, entry
    return None


def empty() -> Any:
    """A table with the segment columns and no rows."""
    return decode(encode([]))
