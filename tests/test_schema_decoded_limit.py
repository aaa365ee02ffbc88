"""One decoded-size limit for every reader of a compressed body, schema() included.

A gzip body that decodes to 20 MB (a big export, far from a bomb) was read by
``capture.json()`` (which decodes up to 64 MiB, ``hooklab.jsonread.MAX_DECODED``), the frame's
``json`` column and ``lab.sql``, but ``schema()`` / ``json_schema()`` stopped at 16 MiB ("decoded
body exceeds 16777216 bytes (decompression bomb?)"): its fields were missing and the JSON
Schema built from the captures failed to validate one of them. And a small compressed body
that decodes past 256 KiB was explored whole, where README bounds such a body to its first
100,000 values. Both engines (SQLite, a Parquet dataset) are checked; expected fields and counts
are written from the bodies sent.
"""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from _import_records import imported_lab

import hooklab
from hooklab.explore import MAX_NODES
from hooklab.jsonread import MAX_DECODED

jsonschema = pytest.importorskip("jsonschema")
pytest.importorskip("duckdb")
pytestmark = pytest.mark.timeout(300)

BIG_NOTE = "A" * (20 * 1024 * 1024)  # 20 MiB decoded: over the old 16 MiB, under 64 MiB


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data, 9)


def _bomb() -> bytes:
    """gzip of a JSON object whose text is 1 MiB past MAX_DECODED (a few tens of KB sent)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"0" * (1 << 20)
    parts = [z.compress(b'{"pad": "')]
    parts += [z.compress(chunk) for _ in range(MAX_DECODED // len(chunk) + 1)]
    parts += [z.compress(b'", "bomb": 1}'), z.flush()]
    return b"".join(parts)


#: id -> (body as sent, Content-Encoding or None)
BODIES: dict[int, tuple[bytes, str | None]] = {
    1: (b'{"amount": 5}', None),
    2: (gzip.compress(json.dumps({"note": BIG_NOTE, "status": "paid", "amount": "12.50"}).encode()),
        "gzip"),
    3: (_deflate(json.dumps({"items": [BIG_NOTE[:1000]] * 20_000, "flag": True}).encode()),
        "deflate"),
    4: (_bomb(), "gzip"),
}


def _sent(body: bytes, enc: str | None) -> tuple[bytes, list[tuple[str, str]]]:
    return body, [("Content-Encoding", enc)] if enc else []


@pytest.fixture(scope="module", params=["sqlite", "parquet"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> hooklab.HookLab:
    return imported_lab(tmp_path_factory.mktemp("decoded"),
                        [_sent(b, e) for b, e in BODIES.values()], request.param)


def test_capture_json_reads_what_the_bodies_hold(lab: hooklab.HookLab) -> None:
    assert sorted(lab.get(2).json()) == ["amount", "note", "status"]
    assert sorted(lab.get(3).json()) == ["flag", "items"]
    assert lab.get(4).json() is None  # past MAX_DECODED: not JSON to capture.json()


def test_schema_reads_every_body_capture_json_reads(lab: hooklab.HookLab) -> None:
    s = lab.schema().set_index("field")
    # (body): 4 captures, 3 of them JSON objects, the bomb (4) as its content type
    assert s.loc["(body)", "count"] == 4
    assert s.loc["amount", "types"] == "string|integer" and s.loc["amount", "count"] == 2
    assert s.loc["status", "count"] == 1 and s.loc["status", "example"] == '"paid"'
    assert s.loc["note", "count"] == 1 and s.loc["note", "types"] == "string"
    assert s.loc["flag", "types"] == "boolean" and s.loc["items[]", "count"] == 10_000
    assert "bomb" not in s.index and "pad" not in s.index
    notes = " ".join(str(n) for n in s.loc["(body)"].drop(["count"]).astype(str))
    assert "16777216" not in notes and f"exceeds {MAX_DECODED}" in notes


def test_json_schema_validates_every_capture_it_came_from(lab: hooklab.HookLab) -> None:
    sch = lab.json_schema(None)
    assert {"amount", "note", "status", "items", "flag"} <= set(sch["properties"])
    checker = jsonschema.Draft202012Validator(sch)
    for cid in (1, 2, 3):
        errors = [e.message[:80] for e in checker.iter_errors(lab.get(cid).json())]
        assert not errors, (cid, errors)


def test_a_small_compressed_body_over_256_kib_decoded_is_bounded(tmp_path) -> None:  # noqa: ANN001
    """15 arrays of 10,000 numbers: 150,015 values, about 300 KB decoded, 1 KB sent; README:
    of a body over 256 KiB the first 100,000 values are explored (the root and the 15 arrays
    are among them), so at most 100,000 - 1 - 15 numbers."""
    grid = json.dumps([[7] * 10_000 for _ in range(15)]).encode()
    assert len(grid) > 256 * 1024
    for engine in ("sqlite", "parquet"):
        (tmp_path / engine).mkdir()
        one = imported_lab(tmp_path / engine, [_sent(gzip.compress(grid), "gzip")], engine)
        s = one.schema().set_index("field")
        assert s.loc["[]", "count"] == 15
        assert s.loc["[][]", "count"] == MAX_NODES - 1 - 15
        notes = " ".join(map(str, s.loc["(body)"].tolist()))
        assert f"first {MAX_NODES:,} values explored" in notes
