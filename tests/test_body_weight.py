"""Big and binary bodies weigh what they are, once: on disk, in a DataFrame, in an export.

An operator's check found a store of 200 KB binary webhooks taking three times its body bytes
of memory for ``dataframe()`` and for a CSV export that holds no body at all, and a database
file 2.5 times the body bytes: every column segment kept a zlib copy of every body (random
bytes do not shrink), and the search index took up to a megabyte of junk words from each
binary body.

Real SQLite files (stores filled with ``add_many``, their segments sealed by the store's own
upkeep), frames and exports made as a user makes them, memory measured in a fresh process.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import sqlite3
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from _w6_copies import checkpointed_copy

import hooklab
from hooklab import frame as frame_mod
from hooklab.store import CaptureStore
from hooklab.store import _segments as S

pytestmark = pytest.mark.timeout(240)

T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
SEG = S.SEG_ROWS
JSON = [("Content-Type", "application/json")]


def binary(n: int) -> bytes:
    """``n`` bytes of a binary body: random after a first byte of ``\\x89`` (a PNG's), which
    neither JSON (``{``, ``[``, a blank) nor UTF-8 text can begin with, so it is binary every
    run. ``os.urandom`` alone begins like JSON 8 times in 256, and such a body may be JSON
    (kept): a check that a random body is not kept failed ~3% of runs."""
    return b"\x89" + os.urandom(n - 1)


def wait(ok: Any, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not ok() and time.monotonic() < end:
        time.sleep(0.05)
    assert ok()


def segments_in(path: str) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM segments").fetchone()[0]
    finally:
        db.close()


def fill(path: str, records: list[dict[str, Any]]) -> None:
    """A store file holding ``records``, every full segment sealed, the index caught up."""
    store = CaptureStore(path, durability="normal")
    try:
        assert store.add_many(records) == len(records)
        wait(lambda: segments_in(path) == len(records) // SEG and not store._behind())
    finally:
        store.close()


def record(i: int, body: bytes, headers: list[tuple[str, str]], path: str = "/hook") -> dict[str, Any]:
    return {"method": "POST", "path": path, "headers": headers, "body": body,
            "received_at": T0 + timedelta(seconds=i)}


def stripe_like(i: int) -> bytes:
    return json.dumps({"id": f"evt_{i}", "type": "invoice.paid", "data": {"object": {
        "id": f"in_{i}", "amount": i * 7, "currency": "usd", "lines": list(range(i % 4)),
        "customer": {"email": f"user{i % 97}@example.com"}}}}).encode()


def prose(i: int, rng: random.Random) -> bytes:
    words = ["refund", "invoice", "délivré", "payment", "order", "zebra", "shipped", "crème"]
    return " ".join(rng.choice(words) + str(i % 13) for _ in range(600)).encode()


#: body kinds: name -> (body of capture i, headers)
def kinds(size: int) -> dict[str, Any]:
    rng = random.Random(5)
    return {
        "random binary": lambda i: (binary(size), [("Content-Type", "application/octet-stream")]),
        "gzip JSON": lambda i: (gzip.compress(stripe_like(i) * (size // 300)),
                                [*JSON, ("Content-Encoding", "gzip")]),
        "JSON": lambda i: (b'{"items": [' + b",".join([stripe_like(i)] * (size // 300)) + b"]}", JSON),
        "text": lambda i: (prose(i, rng)[:size], [("Content-Type", "text/plain; charset=utf-8")]),
        "form": lambda i: (b"payload=" + b"%7B%22a%22%3A" + str(i).encode() + b"%7D&note="
                           + b"+".join(b"word%d" % (i % 50 + k) for k in range(size // 8)),
                           [("Content-Type", "application/x-www-form-urlencoded")]),
    }


# -- disk --------------------------------------------------------------------------------------

#: kind -> (at most this many times the body bytes, at most this share of them in segments)
DISK = {
    # one copy of each body; the segment holds the columns only, the index no junk words
    "random binary": (1.15, 0.02),
    # compressed already: not copied into the segment; the index holds the words of the JSON
    # inside (search reads it decoded), many times the compressed bytes
    "gzip JSON": (None, 0.02),
    # kept in the segment, compressed (a fifth or less)
    "JSON": (1.6, 0.35),
    # text: kept in the segment compressed (schema() reads it); the index holds its words
    "text": (2.0, 0.5),
    "form": (2.2, 0.5),
}


@pytest.mark.parametrize("kind", list(DISK))
def test_the_file_holds_each_body_once(tmp_path, kind: str) -> None:
    """4,200 captures of 8 KB bodies of one kind (one sealed segment and rows after it): the
    database file against the body bytes, and what of them the segments keep."""
    make = kinds(8192)[kind]
    records = []
    total = 0
    for i in range(SEG + 104):
        body, headers = make(i)
        total += len(body)
        records.append(record(i, body, headers))
    path = str(tmp_path / "c.sqlite3")
    fill(path, records)
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size").fetchone()[0]
        segments = db.execute("SELECT SUM(length(data)) FROM segments").fetchone()[0]
    finally:
        db.close()
    most, in_segments = DISK[kind]
    rows = len(records)  # (the columns, indexes and SQLite's pages of each row)
    if most is not None:
        assert size <= most * total + 500 * rows, f"{size / total:.2f}x the body bytes"
    assert segments <= in_segments * total + 120 * rows, f"segments hold {segments / total:.2f}x"
    if kind == "JSON":  # (kept: a frame reads it from the segment)
        assert segments > 0.01 * total


# -- frames and exports of every kind of body, old segments too ---------------------------------

def mixed_records(n: int, size: int = 2048) -> list[dict[str, Any]]:
    """Bodies of every kind in every segment, a few big binary ones, JSON-looking binary
    (random bytes after a ``{``), empty bodies, JSON typed as text."""
    made = kinds(size)
    names = list(made)
    out = []
    for i in range(n):
        k = i % 9
        if k < len(names):
            body, headers = made[names[k]](i)
        elif k == 5:
            body, headers = b"{" + os.urandom(size), [("Content-Type", "application/octet-stream")]
        elif k == 6:
            body, headers = b"", JSON
        elif k == 7:
            body, headers = b"  " + stripe_like(i), [("Content-Type", "text/plain")]
        else:
            body, headers = binary(size * (20 if i % 90 == 8 else 1)), []
        out.append(record(i, body, headers, f"/k{k}"))
    return out


def old_format(db: sqlite3.Connection, only: int | None = None) -> None:
    """Rewrite every segment of ``db`` (or only the one whose first id is ``only``) as
    hooklab wrote them before: every body kept, zlib, no flags (the layout of a 5-item
    ``body`` entry)."""
    for first, last in db.execute("SELECT first_id, last_id FROM segments").fetchall():
        if only is not None and first != only:
            continue
        rows = db.execute(f"SELECT {S.SELECT}, body FROM captures WHERE id BETWEEN ? AND ?"
                          " ORDER BY id", (first, last)).fetchall()
        blob = S.encode([r[:-1] for r in rows])  # the columns alone, then the bodies after them
        (hlen,) = struct.unpack_from("<I", blob, 4)
        header = json.loads(blob[8 : 8 + hlen])
        base = 8 + hlen + (-(8 + hlen) % 8)
        data = bytearray(blob[base:])
        bodies = [r[-1] for r in rows]
        packed = zlib.compress(b"".join(bodies), 1)
        z_at = len(data)
        data += packed + b"\0" * (-len(packed) % 8)
        offsets = [0]
        for b in bodies:
            offsets.append(offsets[-1] + len(b))
        o_at = len(data)
        data += struct.pack(f"={len(offsets)}q", *offsets)
        header["cols"].append(["body", "z", [z_at, len(packed)], [o_at, 8 * len(offsets)], offsets[-1]])
        head = json.dumps(header).encode()
        head = b"HLS1" + struct.pack("<I", len(head)) + head
        head += b"\0" * (-len(head) % 8)
        db.execute("UPDATE segments SET data = ? WHERE first_id = ?", (head + bytes(data), first))
    db.commit()


def csv_of(lab: Any, tmp: Any, name: str) -> bytes:
    out = tmp / name
    assert lab.export(str(out), fmt="csv") > 0
    return out.read_bytes()


@pytest.fixture(scope="module")
def mixed_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, Any]]]:
    """A store of :func:`mixed_records` (two sealed segments and rows after them), filled
    once: each test works on a copy of its file. The file and the records."""
    records = mixed_records(2 * SEG + 300)
    path = str(tmp_path_factory.mktemp("mixed") / "c.sqlite3")
    fill(path, records)
    return path, records


@pytest.mark.parametrize("segments", ["this version's", "an older hooklab's (every body kept)"])
def test_frames_and_exports_are_what_every_body_gives(tmp_path, mixed_store, segments: str) -> None:
    """The frame (``json``, ``flatten=True``), the CSV and the Parquet export equal what the
    rows give read one by one through SQL, bodies included, with segments written by this
    version (bodies not kept where useless) and by an older one (every body kept)."""
    import pandas as pd
    import pyarrow.dataset as ds

    from hooklab.export import _defused

    made, records = mixed_store
    path = checkpointed_copy(made, str(tmp_path / "c.sqlite3"))
    if segments != "this version's":
        db = sqlite3.connect(path)
        old_format(db)
        db.close()
    lab = hooklab.open(path)
    try:
        store = lab.store
        by_sql = frame_mod._frame(store, {}, flatten=False, combined=False)
        df = lab.dataframe()
        assert df["json"].astype(object).tolist() == by_sql["json"].astype(object).tolist()
        assert df["json"].astype(object).tolist() == [c.json() for c in lab.captures]
        pd.testing.assert_frame_equal(df.drop(columns=["json"]), by_sql.drop(columns=["json"]))
        flat = lab.dataframe(flatten=True)
        flat_sql = frame_mod._frame(store, {}, flatten=True, combined=False)
        pd.testing.assert_frame_equal(flat.drop(columns=["json"]), flat_sql.drop(columns=["json"]))
        few = lab.dataframe(path=["/k1", "/k5"])  # (filtered: through the segments' columns)
        assert few["json"].astype(object).tolist() == [
            c.json() for c in lab.captures if c.path in ("/k1", "/k5")]
        # CSV: the frame's columns but json, as the frame with bodies gives them
        want = _defused(by_sql.drop(columns=["json"])).to_csv(index=False, lineterminator="\r\n")
        assert csv_of(lab, tmp_path, "x.csv") == want.encode()
        # Parquet: every body byte for byte, in id order; a second export with since= adds the
        # rest only
        out = tmp_path / "pq"
        half = len(records) // 2
        assert lab.export(str(out), fmt="parquet", until=half) == half
        assert lab.export(str(out), fmt="parquet") == len(records) - half
        table = ds.dataset(str(out), format="parquet", partitioning="hive").to_table(
            columns=["id", "body", "size", "headers"]).sort_by("id")
        assert table.column("id").to_pylist() == [c.id for c in lab.captures]
        assert table.column("body").to_pylist() == [r["body"] for r in records]
        assert table.column("size").to_pylist() == [len(r["body"]) for r in records]
        stored = [json.loads(h) for h in table.column("headers").to_pylist()]
        assert stored == [[list(h) for h in c.headers] for c in lab.captures]
    finally:
        lab.stop()


def test_a_segment_keeps_no_binary_body() -> None:
    """The rule, row by row: kept if it may be JSON or is text, and is not compressed
    already; a block of kept bodies that zlib does not shrink is not kept either."""
    def row(ct: str | None, encoded: int = 0) -> tuple:
        return (1, 0, 2, 200, 1, 0, encoded, "http", "b", "POST", None, None, ct, "/b", None, None)

    cases = [
        (row("application/json"), b'{"a": 1}', S.KEPT),
        (row("text/plain"), b'  [1]', S.KEPT),
        (row("application/json"), b"not json at all", S.KEPT),  # (typed JSON: parsed)
        (row(None), b"", S.KEPT),
        (row("application/octet-stream"), b"\x89PNG\r\n\x1a\n\xff", S.NOT_JSON),
        (row(None), binary(64) + b"\xff", S.NOT_JSON),
        (row("application/x-www-form-urlencoded"), b"a=1&b=%7B", S.KEPT),  # (text)
        (row("text/plain"), b"caf\xe9 ok", S.KEPT),
        (row("application/octet-stream"), "crème".encode(), S.KEPT),  # (UTF-8: text)
        (row("application/json", 1), gzip.compress(b"{}"), S.ELSEWHERE),
        (row(None), None, S.NOT_JSON),  # (not read: it cannot be JSON)
    ]
    for r, body, want in cases:
        assert S.keep_flag(r, body) == want, (r, body)
    # random bytes that start like JSON: zlib cannot shrink them, so the segment keeps none
    rows = [row("application/octet-stream")] * 4
    blob = S.encode(rows, [b"{" + os.urandom(4096) for _ in rows])
    assert len(blob) < 2048
    assert S.bodies(blob) is None  # (not every body: read from captures)
    pack, flags = S.json_packed(blob)
    assert flags.tolist() == [S.ELSEWHERE] * 4 and pack[3] == 0


# -- older hooklabs reading this version's segments ----------------------------------------------
#
# Two notebooks of different hooklab versions (kernels in their own environments) can share a
# folder's .hooklab/captures.sqlite3. A hooklab of before this layout takes a "z" entry of a
# segment header's "cols" for every body of the segment: its Parquet export of a file written
# by a version that left binary bodies out of that block wrote empty bodies for 1,321 of 1,500
# binary captures (its dataframe() was right only because those bodies are None there).

def compat_records(n_binary: int = SEG) -> list[dict[str, Any]]:
    """A segment of JSON bodies (every body kept), one of every kind (some kept), one of
    random binary bodies (none kept), rows after them."""
    out = [record(i, stripe_like(i), JSON, "/json") for i in range(SEG)]
    out += [{**r, "received_at": T0 + timedelta(seconds=SEG + i)}
            for i, r in enumerate(mixed_records(SEG, 512))]
    octets = [("Content-Type", "application/octet-stream")]
    out += [record(2 * SEG + i, binary(512), octets, "/bin") for i in range(n_binary + 77)]
    return out


def body_block_for_every_hooklab(blob: bytes) -> tuple[list[Any] | None, bytes]:
    """``(entry, data)``: the ``"z"`` entry of a segment header's ``cols`` (the one place any
    hooklab, older ones too, looks for a segment's bodies; ``None`` if there is none) and the
    data after the header, as the format lays them out."""
    (hlen,) = struct.unpack_from("<I", blob, 4)
    header = json.loads(blob[8 : 8 + hlen])
    base = 8 + hlen + (-(8 + hlen) % 8)
    cols = header["cols"]
    # (an older reader takes every entry but "z" for a column: there must be no other kind)
    assert [(e[0], e[1]) for e in cols if e[1] != "z"] == list(S.COLUMNS)
    listed = [e for e in cols if e[1] == "z"]
    assert len(listed) <= 1
    return (listed[0] if listed else None), blob[base:]


def test_a_segment_gives_older_hooklabs_every_body_or_none(tmp_path) -> None:
    """Every segment this version seals either lists a body block for older readers that
    holds every one of its bodies byte for byte (in the layout of before: 5 items, no flags),
    or lists none (older readers then read the bodies from ``captures``, as for a segment
    sealed without bodies); this version still finds the bodies it kept, and which."""
    path = str(tmp_path / "c.sqlite3")
    records = compat_records()
    fill(path, records)
    db = sqlite3.connect(path)
    try:
        segments = db.execute("SELECT first_id, last_id, data FROM segments ORDER BY first_id").fetchall()
        listed: list[bool] = []
        kept: list[float] = []  # (the share of bodies this version keeps, per segment)
        for first, last, blob in segments:
            bodies = [b for (b,) in db.execute("SELECT body FROM captures WHERE id BETWEEN ? AND ?"
                                               " ORDER BY id", (first, last))]
            entry, data = body_block_for_every_hooklab(blob)
            listed.append(entry is not None)
            if entry is not None:
                assert len(entry) == 5, entry
                (z_at, z_len), (o_at, o_len), total = entry[2], entry[3], entry[4]
                assert zlib.decompress(data[z_at : z_at + z_len]) == b"".join(bodies)
                assert total == sum(map(len, bodies))
                offsets = struct.unpack_from(f"={len(bodies) + 1}q", data, o_at)
                assert o_len == 8 * (len(bodies) + 1)
                assert [offsets[i + 1] - offsets[i] for i in range(len(bodies))] == list(map(len, bodies))
            pack, flags = S.json_packed(blob)  # (this version: the kept bodies, and which)
            assert flags is not None and len(flags) == len(bodies)
            kept.append(float((flags == S.KEPT).mean()))
            assert bool((flags == S.KEPT).all()) == (entry is not None)
        assert listed == [True, False, False]
        assert kept[0] == 1 and 0 < kept[1] < 1 and kept[2] == 0
        # (the gain stays: the binary segment holds its columns and flags, none of its bodies:
        # a sixth of their bytes)
        assert len(segments[2][2]) < 120 * SEG
    finally:
        db.close()


def test_a_segment_that_lists_bodies_it_does_not_keep_is_not_believed() -> None:
    """A segment whose ``cols`` lists a body block (for older readers: every body) while its
    flags say some are not kept is damaged (a crafted file): this version reads it from
    ``captures``, as it does every segment that does not read as one."""
    def row(ct: str) -> tuple:
        return (1, 0, 2, 200, 1, 0, 0, "http", "b", "POST", None, None, ct, "/b", None, None)

    blob = S.encode([row("application/json"), row("image/png")], [b"{}", None])
    (hlen,) = struct.unpack_from("<I", blob, 4)
    header = json.loads(blob[8 : 8 + hlen])
    assert S.json_packed(blob)[1].tolist() == [S.KEPT, S.NOT_JSON]
    header["cols"].append(header["bodies"][:5])
    raw = json.dumps(header).encode()
    head = blob[:4] + struct.pack("<I", len(raw)) + raw
    base = 8 + hlen + (-(8 + hlen) % 8)
    crafted = head + b"\0" * (-len(head) % 8) + blob[base:]
    for read in (S.bodies, S.packed, S.json_packed):
        with pytest.raises(S.DamagedSegment, match="does not keep"):
            read(crafted)
    header["cols"][-1] = [*header["bodies"][:4], 1]  # (listed unlike the block it names)
    raw = json.dumps(header).encode()
    head = blob[:4] + struct.pack("<I", len(raw)) + raw
    with pytest.raises(S.DamagedSegment, match="twice"):
        S.json_packed(head + b"\0" * (-len(head) % 8) + blob[base:])


#: hooklabs of before, from this repository's history: (commit, what it was)
OLDER = {
    "66328d3": "before segments were checked (reads a body block without asking)",
    "144fa8a": "segments checked, every body kept",
}

#: run by an older hooklab (its package extracted from git), in its own process
AS_OLDER = textwrap.dedent("""
    import json, os, random, sys, time
    import hooklab
    path, what, out = sys.argv[1:4]
    result = {"file": hooklab.__file__}
    if what == "read":
        lab = hooklab.open(path)
        try:
            result["json"] = lab.dataframe()["json"].astype(object).tolist()
            flat = lab.dataframe(flatten=True)
            result["flat"] = flat.drop(columns=["json"]).astype(str).values.tolist()
            result["exported"] = lab.export(out, fmt="parquet")
        finally:
            lab.stop()
    else:  # captures of every kind, their segment sealed by that hooklab's own upkeep
        from hooklab.store import CaptureStore
        rng = random.Random(7)
        records = []
        for i in range(int(what)):
            k = i % 3
            body = (json.dumps({"older": i}).encode() if k == 0 else rng.randbytes(300) if k == 1
                    else ("note %d " % i).encode() * 20)
            ct = ["application/json", "application/octet-stream", "text/plain"][k]
            records.append({"method": "POST", "path": "/older%d" % k, "body": body,
                            "headers": [("Content-Type", ct)]})
        store = CaptureStore(path, durability="normal")
        try:
            store.add_many(records)
            end = time.monotonic() + 60
            while store._behind() and time.monotonic() < end:
                time.sleep(0.05)
            result["behind"] = store._behind()
        finally:
            store.close()
    print(json.dumps(result))
""")


@pytest.fixture(scope="module")
def older_hooklabs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """commit -> a folder holding that commit's ``hooklab`` package (``git archive``); skips
    where the repository's history is not there (an sdist, a shallow clone)."""
    import shutil
    import tarfile

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if shutil.which("git") is None:
        pytest.skip("no git: older hooklabs come from this repository's history")
    where = tmp_path_factory.mktemp("older")
    out = {}
    for commit in OLDER:
        got = subprocess.run(["git", "-C", root, "archive", "--format=tar", commit, "hooklab"],
                             capture_output=True, timeout=60)
        if got.returncode != 0:
            pytest.skip(f"commit {commit} is not in this repository's history")
        folder = where / commit
        folder.mkdir()
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        with tarfile.open(fileobj=io.BytesIO(got.stdout)) as tar:
            tar.extractall(folder, **safe)  # type: ignore[arg-type]
        out[commit] = str(folder)
    return out


def as_older(package: str, path: str, what: str, out: str) -> dict[str, Any]:
    """Run :data:`AS_OLDER` with the hooklab in ``package`` (a folder without hooklab/ as
    its working directory: the older package is the one imported)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    got = subprocess.run([sys.executable, "-c", AS_OLDER, path, what, out], cwd=os.path.dirname(out),
                         capture_output=True, text=True, timeout=150, env={**env, "PYTHONPATH": package})
    assert got.returncode == 0, got.stderr[-3000:]
    result = json.loads(got.stdout.strip().splitlines()[-1])
    assert result["file"].startswith(package), result["file"]  # (not this version)
    return result


def parquet_bodies(out: str) -> dict[int, bytes]:
    import pyarrow.dataset as ds

    table = ds.dataset(out, format="parquet", partitioning="hive").to_table(columns=["id", "body"])
    return dict(zip(table.column("id").to_pylist(), table.column("body").to_pylist(), strict=True))


def sql_bodies(path: str) -> dict[int, bytes]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT id, body FROM captures"))
    finally:
        db.close()


@pytest.fixture(scope="module")
def compat_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A file of ``compat_records(SEG // 4)`` this version sealed segments in, filled once:
    each test works on a copy."""
    path = str(tmp_path_factory.mktemp("compat") / "shared.sqlite3")
    fill(path, compat_records(SEG // 4))
    return path


@pytest.mark.parametrize("commit", list(OLDER), ids=list(OLDER.values()))
def test_an_older_hooklab_shares_the_file(older_hooklabs, compat_store, tmp_path, commit: str) -> None:
    """An older hooklab (its package from this repository's history, in its own process)
    reads a file this version sealed segments in: its frame and its Parquet export give
    every body byte for byte (the export of one wrote empty binary bodies). Then it adds
    captures of its own, its upkeep sealing their segment (every body kept, no flags), and
    this version reads the whole file, frames and exports equal to what the rows give."""
    import pandas as pd

    path = checkpointed_copy(compat_store, str(tmp_path / "shared.sqlite3"))
    (tmp_path / "run").mkdir()
    run = str(tmp_path / "run")
    got = as_older(older_hooklabs[commit], path, "read", os.path.join(run, "pq-older"))
    want = sql_bodies(path)
    exported = parquet_bodies(os.path.join(run, "pq-older"))
    assert got["exported"] == len(want)
    wrong = [i for i in want if exported.get(i) != want[i]]
    assert not wrong, f"{len(wrong)} of {len(want)} bodies exported wrong, e.g. id {wrong[0]}"
    lab = hooklab.open(path)
    try:
        assert got["json"] == [c.json() for c in lab.captures]
    finally:
        lab.stop()

    # the older hooklab's upkeep seals a segment into the same file; this version reads it
    assert not as_older(older_hooklabs[commit], path, str(SEG + 10), os.path.join(run, "x"))["behind"]
    db = sqlite3.connect(path)
    try:  # (the third segment is the older hooklab's: every body in cols, no flags)
        blobs = [b for (b,) in db.execute("SELECT data FROM segments ORDER BY first_id")]
    finally:
        db.close()
    assert len(blobs) == 3 and "bodies" not in S.header_of(blobs[2])
    assert len(body_block_for_every_hooklab(blobs[2])[0]) == 5
    lab = hooklab.open(path)
    try:
        store = lab.store
        want = sql_bodies(path)
        df = lab.dataframe()
        assert df["json"].astype(object).tolist() == [c.json() for c in lab.captures]
        by_sql = frame_mod._frame(store, {}, flatten=True, combined=False)
        pd.testing.assert_frame_equal(lab.dataframe(flatten=True).drop(columns=["json"]),
                                      by_sql.drop(columns=["json"]))
        out = str(tmp_path / "pq-this")
        assert lab.export(out, fmt="parquet") == len(want)
        assert parquet_bodies(out) == want
    finally:
        lab.stop()


# -- memory --------------------------------------------------------------------------------------

# (VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking test process)
MEASURE = textwrap.dedent("""
    import json, os, sys
    import hooklab, pandas, pyarrow, pyarrow.dataset
    path, what, out = sys.argv[1:4]
    def status(key):
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))
    lab = hooklab.open(path)
    lab.store.flush()
    before = status("VmRSS")
    if what == "dataframe":
        n = len(lab.dataframe())
    elif what == "csv":
        n = lab.export(out + ".csv", fmt="csv")
    else:
        n = lab.export(out, fmt="parquet")
    peak = status("VmHWM")
    print(json.dumps({"n": n, "grew": peak - before}))
""")


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int]:
    """A store of ~110 MB of 24 KB random binary bodies (a few JSON ones among them): its
    first segment as an older hooklab wrote it (every body kept, ~100 MB in one blob), its
    second as this one does, rows after them."""
    path = str(tmp_path_factory.mktemp("heavy") / "c.sqlite3")
    octets = [("Content-Type", "application/octet-stream")]
    records = [record(i, stripe_like(i) if i % 500 == 0 else binary(24_000),
                      JSON if i % 500 == 0 else octets) for i in range(2 * SEG + 300)]
    total = sum(len(r["body"]) for r in records)
    fill(path, records)
    del records
    db = sqlite3.connect(path)
    first = db.execute("SELECT MIN(first_id) FROM segments").fetchone()[0]
    old_format(db, only=first)  # (the second stays as this version wrote it)
    assert db.execute("SELECT COUNT(*) FROM segments WHERE first_id != ?", (first,)).fetchone() == (1,)
    db.close()
    return path, total


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("what", ["dataframe", "csv", "parquet"])
def test_memory_does_not_follow_the_bodies(heavy, tmp_path, what: str) -> None:
    """In a fresh process, a frame or an export of a store of binary bodies grows by far
    less than the bodies' bytes (it took three times them)."""
    path, total = heavy
    got = subprocess.run([sys.executable, "-c", MEASURE, path, what, str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert got.returncode == 0, got.stderr[-3000:]
    result = json.loads(got.stdout.strip().splitlines()[-1])
    assert result["n"] == 2 * SEG + 300
    # a frame reads none of these bodies, nor a CSV; a Parquet export one batch at a time
    # (8 MiB of bodies; ~100 MiB measured, bounded: the allocators keep some). All three took
    # three times the bodies' bytes or more
    most = {"dataframe": 0.3, "csv": 0.2, "parquet": 0.75}[what]
    assert result["grew"] < most * total, f"grew {result['grew'] / 2**20:.0f} MiB for {total / 2**20:.0f} MiB of bodies"
