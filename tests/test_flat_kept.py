"""``dataframe(flatten=True)`` keeps each column segment's parsed payloads in the store file, and
the next call (in any process) reads those instead of parsing the segment's bodies again: the
frame must stay exactly what parsing every body gives.

Real SQLite files with sealed segments (4,096 captures each), opened with ``hooklab.open`` as a
user would; the kept frame is compared with the first one, with the frame read through SQL
alone, and with values written out from the bodies.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from _flat_frames import assert_frame_equal
from _flat_stores import SEG, T0, copy_store, store_of, wait

import hooklab
from hooklab import frame as frame_mod
from hooklab.frame import FLAT_KIND
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(300)

N = 3 * SEG + 500  # three sealed segments and rows after them


def body_of(i: int) -> tuple[bytes, list[tuple[str, str]]]:
    """Objects whose fields change from segment to segment (an integer field that holds
    floats later, a field that is null in the first segment and text in the third, fields
    that only one segment has), timestamps as text, and in every segment the bodies Arrow
    cannot read as they are: gzip, leading spaces, integers past 64 bits (compressed: as
    they are, they would make Arrow refuse the whole segment), arrays, scalars, text, binary
    and broken JSON."""
    js = [("Content-Type", "application/json")]
    seg = i // SEG
    k = i % 17
    if k == 0:
        return b"\x00\xff binary " + bytes([i % 256]), [("Content-Type", "application/octet-stream")]
    if k == 1:
        return f"plain text {i}".encode(), [("Content-Type", "text/plain")]
    if k == 2:
        return b'{"broken": ', js
    if k == 3:
        return json.dumps([{"n": i}]).encode(), js
    if k == 4:
        return b"42", js
    if k == 5:  # gzip: Python decodes it first
        raw = json.dumps({"id": f"evt_{i}", "zipped": True, "amount": i}).encode()
        return gzip.compress(raw), [*js, ("Content-Encoding", "gzip")]
    if k == 6:  # leading spaces: made compact first
        return b"  \n" + json.dumps({"id": f"evt_{i}", "amount": i}).encode(), js
    if k == 7:  # past 64 bits, in a body Python decodes first
        raw = b'{"id": "evt_%d", "huge": %d}' % (i, 2**70 + i)
        return gzip.compress(raw), [*js, ("Content-Encoding", "gzip")]
    amount: Any = i if seg != 1 else i + 0.5  # integers, then floats, then integers
    note: Any = None if seg == 0 else (f"note {i % 5}" if seg == 2 else None)
    body: dict[str, Any] = {
        "id": f"evt_{i}",
        "type": ["invoice.paid", "charge.refunded"][i % 2],
        "created": (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "amount": amount,
        "note": note,
        "data": {"object": {"id": f"in_{i}", "lines": list(range(i % 3)),
                            "customer": {"email": f"u{i % 7}@example.com"}}},
    }
    if seg == 2:
        body["only_third"] = {"flag": bool(i % 2)}
    if seg == 3:  # the rows after the segments
        body["after"] = i
    return json.dumps(body).encode(), js


def make_store(path: str, n: int = N) -> None:
    records = []
    for i in range(n):
        body, headers = body_of(i)
        records.append({"method": "POST", "path": "/hook", "headers": headers, "body": body,
                        "received_at": T0 + timedelta(seconds=i), "provider": "stripe",
                        "event_type": ["invoice.paid", "charge.refunded"][i % 2]})
    store = CaptureStore(path, durability="normal")
    try:
        assert store.add_many(records) == n
        wait(lambda: len(store.summaries(FLAT_KIND)) == n // SEG)
    finally:
        store.close()


def flattened_and_kept(path: str, segments: int) -> pd.DataFrame:
    """``dataframe(flatten=True)`` of a lab opened on ``path``, once it kept its segments."""
    lab = hooklab.open(path)
    try:
        df = lab.dataframe(flatten=True)
        wait(lambda: len(kept(path)) == segments)
    finally:
        lab.stop()
    return df


def kept(path: str) -> dict[int, bytes | None]:
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT first_id, data FROM segment_summaries WHERE kind = ?",
                               (FLAT_KIND,)).fetchall())
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("flat") / "flat.sqlite3")
    make_store(path)
    return path


@pytest.fixture(scope="module")
def kept_file(store_file: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, pd.DataFrame]:
    """A copy of :func:`store_file` whose three segments a first ``flatten=True`` kept, and
    that frame (parsing every body): made once, read (or copied) by the tests that start
    from it. Never opened by them: a test that changes it works on a copy."""
    path = copy_store(store_file, str(tmp_path_factory.mktemp("kept") / "kept.sqlite3"))
    assert kept(path) == {}
    first = flattened_and_kept(path, 3)
    return path, first


class Reads:
    """Counts the blocks of bodies a frame decompresses."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.blocks: list[int] = []
        real = frame_mod._Bodies.raw_block

        def counted(bodies: Any, b: int) -> Any:
            self.blocks.append(b)
            return real(bodies, b)

        monkeypatch.setattr(frame_mod._Bodies, "raw_block", counted)


def expected_row(i: int) -> dict[str, Any]:
    """The payload columns of capture ``i`` (0-based) as the bodies say."""
    body, headers = body_of(i)
    if dict(headers).get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return own_columns(body)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return list(a) == list(b)
    if pd.isna(a) if not isinstance(a, (list, dict)) else False:
        return b is None or (not isinstance(b, (list, dict)) and pd.isna(b))
    return a == b


def test_the_next_frame_reads_the_kept_segments_and_equals_the_first(store_file, tmp_path,
                                                                      monkeypatch) -> None:
    import shutil

    path = str(tmp_path / "copy.sqlite3")
    shutil.copy(store_file, path)
    assert kept(path) == {}
    lab = hooklab.open(path)
    try:
        first = lab.dataframe(flatten=True)
        wait(lambda: len(kept(path)) == 3)
        assert all(kept(path).values())
        through_sql = frame_mod._frame(lab.store, {}, flatten=True, combined=False)
    finally:
        lab.stop()

    reads = Reads(monkeypatch)
    lab = hooklab.open(path)  # a fresh lab: only the rows after the segments are parsed
    try:
        again = lab.dataframe(flatten=True)
    finally:
        lab.stop()
    assert sorted(set(reads.blocks)) == [3]  # the block after the three segments
    assert_frame_equal(again, first)
    assert_frame_equal(again, through_sql)

    # values, as the bodies say
    assert again["payload.amount"].dtype == "float64"  # floats in the second segment
    assert not pd.api.types.is_datetime64_any_dtype(again["payload.created"])  # text, as sent
    for i in [s * SEG + j for s in range(4) for j in range(17)]:  # every kind, every segment
        want = expected_row(i)
        row = again.iloc[i]
        for col in [c for c in again.columns if c.startswith("payload.")]:
            name = col[len("payload."):]
            assert same(row[col], want.get(name)), (i, col, row[col], want.get(name))
        assert set(want) <= {c[len("payload."):] for c in again.columns}
    # as the json column reads it: exact past 64 bits
    assert again["payload.huge"].iloc[7] == 2**70 + 7 == again["json"].iloc[7]["huge"]
    assert again["payload.created"].iloc[8] == "2026-06-01T00:00:08Z"
    assert again["payload.only_third.flag"].iloc[: 2 * SEG].isna().all()
    assert again["payload.after"].iloc[3 * SEG] == 3 * SEG  # (12288 % 17 = 14: an object)


@pytest.mark.parametrize("damage", [
    "cut", "garbage", "empty", "another segment's", "rows past the end", "rows repeated",
    "slow rows past the end", "another key", "no metadata", "list values past the end",
    "list values of another column", "list values not a list",
])
def test_a_damaged_kept_segment_is_read_again_and_replaced(kept_file, tmp_path, damage) -> None:
    import zlib

    import numpy as np
    import pyarrow as pa
    import pyarrow.ipc as ipc

    path = copy_store(kept_file[0], str(tmp_path / "damaged.sqlite3"))
    first = kept_file[1]  # (the frame that kept them, parsing every body)
    blobs = kept(path)
    assert len(blobs) == 3 and all(blobs.values())
    second = sorted(blobs)[1]
    good = blobs[second]
    table = ipc.open_stream(pa.py_buffer(good[8:])).read_all()  # (after magic and CRC-32)
    meta = dict(table.schema.metadata)
    rows = np.frombuffer(zlib.decompress(meta[b"hooklab.rows"]), "<i4")

    def rewritten(**changes: Any) -> bytes:
        sink = pa.BufferOutputStream()
        if changes.pop("keep", True) is False:
            t = table.replace_schema_metadata(None)
        else:
            t = table.replace_schema_metadata({**meta, **{k.encode(): v for k, v in changes.items()}})
        with ipc.new_stream(sink, t.schema) as w:
            w.write_table(t)
        stream = sink.getvalue().to_pybytes()  # a right checksum: the metadata must refuse it
        key = (second, second + SEG - 1, SEG)
        return frame_mod._FLAT_MAGIC + frame_mod._flat_check(key, stream).to_bytes(4, "little") + stream

    bad = {
        "cut": good[: len(good) // 2],
        "garbage": b"\x00" * 64 + good[64:],
        "empty": b"",
        "another segment's": blobs[sorted(blobs)[0]],
        "rows past the end": rewritten(**{"hooklab.rows": zlib.compress(
            (rows + SEG).astype("<i4").tobytes())}),
        "rows repeated": rewritten(**{"hooklab.rows": zlib.compress(
            np.zeros(len(rows), "<i4").tobytes())}),
        "slow rows past the end": rewritten(**{"hooklab.slow": zlib.compress(
            np.array([SEG + 5], "<i4").tobytes())}),
        "another key": rewritten(**{"hooklab.segment": b"1-4096-4096"}),
        "no metadata": rewritten(keep=False),
        "list values past the end": rewritten(**{"hooklab.lists": frame_mod._packed_lists(
            {"data.object.lines": [(table.num_rows, [1])]})}),
        "list values of another column": rewritten(**{"hooklab.lists": frame_mod._packed_lists(
            {"data.object.id": [(0, [1])]})}),
        "list values not a list": rewritten(**{"hooklab.lists": frame_mod._packed_lists(
            {"data.object.lines": [(0, 1)]})}),
    }[damage]
    db = sqlite3.connect(path)
    db.execute("UPDATE segment_summaries SET data = ? WHERE kind = ? AND first_id = ?",
               (bad, FLAT_KIND, second))
    db.commit()
    db.close()
    with pytest.raises(ValueError):
        frame_mod._unpack_flat(bad, (second, second + SEG - 1, SEG))
    lab = hooklab.open(path)
    try:
        again = lab.dataframe(flatten=True)
        wait(lambda: kept(path)[second] == good)  # made again and replaced
    finally:
        lab.stop()
    assert_frame_equal(again, first)


def test_retention_and_clear_drop_the_kept_segments(tmp_path) -> None:
    path = str(tmp_path / "retained.sqlite3")
    make_store(path, 2 * SEG + 10)
    flattened_and_kept(path, 2)
    store = CaptureStore(path, durability="normal", retention_count=5000)
    try:
        store.add({"method": "POST", "path": "/hook", "headers": [], "body": b'{"last": 1}',
                   "received_at": T0, "provider": "stripe", "event_type": "e0"}).result(10)
        wait(lambda: store.count() == 5000, 30)
    finally:
        store.close()
    assert sorted(kept(path)) == [SEG + 1]  # the first segment lost captures: dropped
    lab = hooklab.open(path)
    try:
        got = lab.dataframe(flatten=True)
        want = frame_mod._frame(lab.store, {}, flatten=True, combined=False)
        assert_frame_equal(got, want)
        assert len(got) == 5000 and got["payload.last"].iloc[-1] == 1
        lab.clear()
        lab.store.flush(30)
        assert lab.dataframe(flatten=True).empty
    finally:
        lab.stop()
    assert kept(path) == {}


def test_a_read_only_store_flattens_and_keeps_nothing(store_file, tmp_path) -> None:
    import os
    import shutil

    path = str(tmp_path / "ro.sqlite3")
    shutil.copy(store_file, path)
    os.chmod(path, 0o444)
    store = CaptureStore(path, readonly=True)
    try:
        df = frame_mod.captures_frame(store, flatten=True)
        assert len(df) == N and df["payload.id"].iloc[8] == "evt_8"
        time.sleep(0.5)
    finally:
        store.close()
    assert kept(path) == {}


def test_segments_whose_types_do_not_combine_are_kept_and_the_frame_stays_right(tmp_path) -> None:
    """A field that is a number in one segment and text in the next: Arrow cannot put the two
    in one column, so the frame takes the long way (pandas' types), both times; the segments
    are kept all the same, and a broken body that starts like an object spoils nothing."""
    path = str(tmp_path / "mixed.sqlite3")
    store_of(path, [b'{"v": ' if i % 1000 == 1  # broken
                    else json.dumps({"id": i, "v": i if i < SEG else f"t{i}"}).encode()
                    for i in range(2 * SEG + 3)])
    lab = hooklab.open(path)
    try:
        first = lab.dataframe(flatten=True)
        wait(lambda: len(kept(path)) == 2)
        again = lab.dataframe(flatten=True)
        want = frame_mod._frame(lab.store, {}, flatten=True, combined=False)
    finally:
        lab.stop()
    assert_frame_equal(first, want)
    assert_frame_equal(again, want)
    assert again["payload.v"].iloc[5] == 5 and again["payload.v"].iloc[SEG + 5] == f"t{SEG + 5}"
    assert again["payload.v"].iloc[1001] is None or pd.isna(again["payload.v"].iloc[1001])
    assert again["payload.id"].iloc[2 * SEG + 2] == 2 * SEG + 2


def test_nan_and_infinity_survive_a_block_arrow_refuses(tmp_path) -> None:
    """A broken body makes Arrow refuse its block, which is then read again from Python's
    parse: NaN, Infinity and 1e400 stay what they are (not null), first call and kept."""
    path = str(tmp_path / "inf.sqlite3")
    specials = [b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}', b'{"x": 1e400}',
                b'{"x": 2.5}', b'{"x": [1.5, NaN]}', b'{"note": "trunc']
    store_of(path, [specials[i % len(specials)] for i in range(SEG + 20)])
    inf = float("inf")
    after = SEG + 7 - SEG % 7  # the first NaN body after the segment
    lab = hooklab.open(path)
    try:
        for _ in range(2):  # parsed, then kept
            df = lab.dataframe(flatten=True)
            for at in (0, after):  # in the segment and after it
                x = df["payload.x"].iloc[at : at + 7].tolist()
                assert pd.isna(x[0]) and x[1:5] == [inf, -inf, inf, 2.5], x
                assert x[5][0] == 1.5 and pd.isna(x[5][1]) and pd.isna(x[6])
            wait(lambda: len(kept(path)) == 1)
    finally:
        lab.stop()


def test_a_segment_of_empty_objects_is_kept_and_not_read_again(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "empty.sqlite3")
    store_of(path, [b"{}" if i < SEG else b'{"a": 1}' for i in range(SEG + 5)])
    lab = hooklab.open(path)
    try:
        first = lab.dataframe(flatten=True)
        wait(lambda: len(kept(path)) == 1)
        blob = kept(path)[1]
        reads = Reads(monkeypatch)
        again = lab.dataframe(flatten=True)
        assert sorted(set(reads.blocks)) == [1]  # only the rows after the segment
        time.sleep(0.3)
        assert kept(path)[1] == blob  # not written again
    finally:
        lab.stop()
    assert_frame_equal(again, first)
    assert again["payload.a"].iloc[:SEG].isna().all() and (again["payload.a"].iloc[SEG:] == 1).all()


def test_every_flipped_bit_of_a_kept_segment_is_refused(kept_file) -> None:
    """LZ4 inside Arrow IPC has no checksum of its own: without one, most flipped bits read as
    other values (a fuzz found 615 of 1,500). Each blob carries a CRC-32 of its stream and its
    segment's name."""
    import random

    path = kept_file[0]  # (only read here)
    first = sorted(kept(path))[0]
    blob = kept(path)[first]
    key = (first, first + SEG - 1, SEG)
    table, rows, slow, _, _ = frame_mod._unpack_flat(blob, key)  # the good one reads
    assert table.num_rows == len(rows) and len(rows) + len(slow) <= SEG
    rng = random.Random(5)
    for at in [0, 3, 4, 7, 8, 9, len(blob) // 2, len(blob) - 1,
               *(rng.randrange(len(blob)) for _ in range(300))]:
        bad = bytearray(blob)
        bad[at] ^= 1 << rng.randrange(8)
        with pytest.raises(ValueError):
            frame_mod._unpack_flat(bytes(bad), key)
    with pytest.raises(ValueError):  # whole, but named for other rows
        frame_mod._unpack_flat(blob, (first + SEG, first + 2 * SEG - 1, SEG))


def test_nan_in_a_compressed_body_stays_nan(tmp_path) -> None:
    """Bodies Python decodes first (gzip) go to Arrow as compact JSON, which has no NaN:
    such objects stay with Python rather than read as null."""
    path = str(tmp_path / "gz.sqlite3")
    bodies = [b'{"x": NaN}', b'{"x": Infinity}', b'{"x": 2.5}', b'{"x": -Infinity}']
    records = [{"method": "POST", "path": "/hook", "body": gzip.compress(body),
                "headers": [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
                "received_at": T0 + timedelta(seconds=i)} for i, body in enumerate(bodies)]
    with CaptureStore(path, durability="normal") as store:
        store.add_many(records)
    lab = hooklab.open(path)
    try:
        x = lab.dataframe(flatten=True)["payload.x"].tolist()
    finally:
        lab.stop()
    assert pd.isna(x[0]) and x[1:] == [float("inf"), 2.5, float("-inf")]


# Bodies next to each other that a reader taking objects one after another (Arrow's) could join
# across their borders, with the payload columns each row must have (its own body alone).
ADJACENT = {
    "a string left open swallows the next body": [
        b'{"a": "', b'{\\"z\\": 1}"}', b'{"p": 1}{"q": 2}', b'{"ok": 4}'],
    "an object left open swallows the next body": [
        b'{"a":', b'{"z":1}}', b'{"p":1}{"q":2}', b'{"ok":4}'],
    "a nested object left open": [
        b'{"a":{"b":', b'{"c":1}}}', b'{"x":1} {"y":2}', b'{"ok":4}'],
    "a string left open on a brace": [
        b'{"s":"}', b'{"t":"}"}', b'{"p":1}\n{"q":2}', b'{"ok":4}'],
    "valid, ending in white space": [b'{"a":1} ', b'{"b":2}\r\n', b'{"c":{"d":3}}\t'],
    "braces and quotes inside strings": [b'{"s":"}{\\"\\\\"}', b'{"t":"\\"}\\n{"}', b'{"u":"{"}'],
    "something after the object": [b'{"a":1}x', b'{"a":1}}', b'{"a":1},', b'{"a":1}]'],
    # what Arrow reads but Python does not, or reads otherwise
    "not JSON for Python": [b'{"a":Inf}', b'{"a":-Inf}', b'{"a":-NaN}', b'{"s":"\xff\xfe"}',
                            b'{"s":"\xed\xa0\x80"}', b'{"a":NaN}', b'{"a":Infinity}'],
    "a byte order mark": [b'\xef\xbb\xbf{"a":1}', b'{"b":2}'],
    "keys with a dot, numbers past int64, a list starting with null": [
        b'{"a.b": [1.0], "a": {"b": [2]}}', b'{"a": {"b": [7]}}', b'{"a.b": [[1]]}',
        b'{"u": 9223372036854775809}', b'{"u": 18446744073709551615}', b'{"x": [null, 1]}'],
    "nested deep": [b'{"d":' * 600 + b"1" + b"}" * 600, b'{"e":' + b"[" * 600 + b"]" * 600 + b"}"],
}


def own_columns(body: bytes) -> dict[str, Any]:
    """The payload columns of one body read alone (none unless it is one JSON object)."""
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    row = frame_mod.flatten_payloads([value], prefix="").iloc[0]  # json_normalize, surrogates too
    return {k: v for k, v in row.to_dict().items() if isinstance(v, (list, dict)) or not pd.isna(v)}


@pytest.mark.parametrize("case", ADJACENT)
def test_no_body_lends_its_values_to_another_row(tmp_path, case) -> None:
    """A sender controls its bodies: two broken ones that together make one object, next to
    one holding two objects, kept the count of objects right while every later row of the
    block showed its neighbour's values. Each row's payload columns are its own body's, in a
    column segment (parsed, then kept) and in the rows after it."""
    crafted = ADJACENT[case]
    bodies = [json.dumps({"row": i}).encode() for i in range(SEG + 40)]
    placed = []
    for at in (100, SEG - 2, SEG + 10):  # inside the segment, across its end, after it
        bodies[at : at + len(crafted)] = crafted
        placed += range(at, at + len(crafted))
    bodies = bodies[: SEG + 40]
    plain = sorted(set(range(len(bodies))) - set(placed))
    path = str(tmp_path / "adjacent.sqlite3")
    store_of(path, bodies)
    for df in first_kept_and_sql(path, 1):
        cols = [c for c in df.columns if c.startswith("payload.")]
        assert df["payload.row"].iloc[plain].tolist() == plain  # every plain row its own
        assert df[[c for c in cols if c != "payload.row"]].iloc[plain].isna().all().all()
        for i in placed:
            have = {c[len("payload."):]: df[c].iloc[i] for c in cols
                    if isinstance(df[c].iloc[i], (list, dict)) or not pd.isna(df[c].iloc[i])}
            want = own_columns(bodies[i])
            assert have.keys() == want.keys() and all(same(have[k], want[k]) for k in want), (i, bodies[i])


@pytest.mark.parametrize("earlier", ["flat-1", "flat-4", "flat-6"])
def test_tables_kept_in_an_earlier_layout_are_not_read_and_are_replaced(tmp_path, earlier) -> None:
    """``flat-1`` tables were read without the borders between bodies checked, ``flat-4`` ones
    without a payload for a body sent with ``Content-Encoding: identity``, ``flat-6`` ones with
    a float for an integer past 64 bits: a store that has
    them gets its segments read again, and the old tables go as the new ones are kept
    (another kind of summary of the same segment stays)."""
    path = str(tmp_path / "old.sqlite3")
    store_of(path, [json.dumps({"row": i}).encode() for i in range(SEG + 3)])
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE IF NOT EXISTS segment_summaries (kind TEXT NOT NULL, first_id INTEGER"
        " NOT NULL, last_id INTEGER NOT NULL, rows INTEGER NOT NULL, data BLOB NOT NULL,"
        " PRIMARY KEY (kind, first_id))")
    for kind in (earlier, "other-1"):
        db.execute("INSERT INTO segment_summaries VALUES (?, 1, ?, ?, x'00')", (kind, SEG, SEG))
    db.commit()
    db.close()
    assert FLAT_KIND != earlier
    df = flattened_and_kept(path, 1)
    assert df["payload.row"].tolist() == list(range(SEG + 3))
    db = sqlite3.connect(path)
    kinds = sorted(k for (k,) in db.execute("SELECT kind FROM segment_summaries"))
    db.close()
    assert kinds == sorted([FLAT_KIND, "other-1"])


def first_kept_and_sql(path: str, segments: int) -> list[pd.DataFrame]:
    """The frames of ``dataframe(flatten=True)`` on ``path``: parsed, then from the kept
    segments, then through SQL alone."""
    lab = hooklab.open(path)
    try:
        frames = [lab.dataframe(flatten=True)]
        wait(lambda: len(kept(path)) == segments)
        frames.append(lab.dataframe(flatten=True))
        frames.append(frame_mod._frame(lab.store, {}, flatten=True, combined=False))
    finally:
        lab.stop()
    return frames


def assert_lists(df: pd.DataFrame, rows: Any, body: Any, paths: list[str]) -> None:
    """Each row's list columns are its body's, type for type (json.dumps tells 1 from 1.0)."""
    for i in rows:
        for col in paths:
            value: Any = body(i)
            for key in col.split("."):
                value = value.get(key) if isinstance(value, dict) else None
            have = df[f"payload.{col}"].iloc[i] if f"payload.{col}" in df else None
            if value is None:
                assert not isinstance(have, list), (i, col, have)
            else:
                assert json.dumps(have) == json.dumps(value), (i, col, have, value)


def test_lists_keep_the_values_of_their_body(tmp_path) -> None:
    """Arrow gives the items of a list column one type: ``[1]`` next to ``[1.5]`` read as
    ``[1.0]``, and ``[{"q": 1}]`` next to ``[{"r": 2}]`` as ``[{"q": 1, "r": None}]``. Each row's
    list is its body's, item for item and type for type (``1`` stays an int), at the top and
    inside objects, in a segment (parsed, then kept), after it and through SQL alone."""
    def body(i: int) -> dict[str, Any]:
        k = i % 6
        if k == 0:
            return {"n": [i, i + 1], "d": {"items": [{"q": i}]}}
        if k == 1:
            return {"n": [i + 0.5], "d": {"items": [{"r": str(i)}, {"q": i, "r": None}]}}
        if k == 2:
            return {"n": [], "d": {"items": []}, "m": [[1, 2.5], [3]]}
        if k == 3:
            return {"d": {"items": [{"q": 2.0}, {"q": -0.0}]}, "m": [[7]]}
        if k == 4:
            return {"n": [1e300, 2], "d": None}
        return {"n": None, "d": {"items": [{"q": 1, "s": {"t": [1]}}, {"s": {"t": [1.25]}}]}}

    path = str(tmp_path / "lists.sqlite3")
    store_of(path, [json.dumps(body(i)).encode() for i in range(SEG + 30)])
    for df in first_kept_and_sql(path, 1):
        assert_lists(df, range(SEG + 30), body, ["n", "m", "d.items"])


def test_the_garbage_collector_is_paused_only_while_flattening(tmp_path) -> None:
    """Flattening pauses the collector (lists of objects: its passes cost more than the
    parse) and leaves it as it found it, even when the frame fails."""
    import gc

    path = str(tmp_path / "gc.sqlite3")
    store_of(path, [b'{"l": [{"q": 1}, {"r": null}]}'] * 10)
    lab = hooklab.open(path)
    seen = []
    real = frame_mod._normalize_like

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(frame_mod, "_normalize_like", spy)
            assert gc.isenabled()
            df = lab.dataframe(flatten=True)
            assert gc.isenabled() and seen and not any(seen)
            assert df["payload.l"].tolist() == [[{"q": 1}, {"r": None}]] * 10
            gc.disable()
            try:
                lab.dataframe(flatten=True)
                assert not gc.isenabled()
            finally:
                gc.enable()
            mp.setattr(frame_mod, "_normalize_like", lambda *a, **k: 1 / 0)
            with pytest.raises(ZeroDivisionError):
                lab.dataframe(flatten=True)
            assert gc.isenabled()
    finally:
        lab.stop()


def test_lists_keep_their_values_when_segments_hold_other_types(tmp_path) -> None:
    """Each segment alone reads exactly, but their types are unified into one column: the
    integers of one segment's lists must not become the floats of the next one's, nor its
    items gain the fields of the next one's items."""
    def body(i: int) -> dict[str, Any]:
        if i < SEG:
            return {"n": [i], "items": [{"q": i}], "d": {"m": [[i]]}}
        if i < 2 * SEG:
            return {"n": [i + 0.5], "items": [{"r": str(i)}], "d": {"m": [[i + 0.25]]}}
        return {"n": [7], "items": [{"q": i, "s": [1]}]} if i % 2 else {"n": None}

    path = str(tmp_path / "types.sqlite3")
    store_of(path, [json.dumps(body(i)).encode() for i in range(2 * SEG + 20)])
    for df in first_kept_and_sql(path, 2):
        assert_lists(df, [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG - 1, 2 * SEG, 2 * SEG + 1, 2 * SEG + 19],
                     body, ["n", "items", "d.m"])



def flatten_elsewhere(path: str, show: str) -> str:
    """``dataframe(flatten=True)`` of ``path`` in a fresh process (a crash there fails the
    test instead of ending this one); prints ``show`` evaluated on the frame ``df``."""
    import subprocess
    import sys

    code = ("import sys, hooklab\nlab = hooklab.open(sys.argv[1])\n"
            "try:\n    df = lab.dataframe(flatten=True)\n    print(" + show + ")\n"
            "finally:\n    lab.stop()\n")
    done = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    return done.stdout.strip()


def test_a_body_nested_20000_deep_does_not_crash_the_kernel(tmp_path) -> None:
    """It killed the process (SIGSEGV) inside Arrow's reader; it now stays with Python, which
    reads no payload from it, as the json column does."""
    bodies = [json.dumps({"row": i}).encode() for i in range(300)]
    bodies[5] = b'{"d":' * 20000 + b"1" + b"}" * 20000
    bodies[6] = b'{"e":' + b"[" * 20000 + b"]" * 20000 + b"}"
    path = str(tmp_path / "deep.sqlite3")
    store_of(path, bodies)
    out = flatten_elsewhere(path, "df['payload.row'].tolist(), [c for c in df if c.startswith('payload.')]")
    rows = [float(i) if i not in (5, 6) else "nan" for i in range(300)]
    assert out == f"{rows} ['payload.row']".replace("'nan'", "nan")


def test_a_broken_body_at_a_block_border_does_not_abort_the_kernel(tmp_path) -> None:
    """When blocks' types disagree, all the bodies go to Arrow at once; read in 4 MiB blocks,
    a broken body (``{"row": 2,]}``) 14 bytes before a block's end made Arrow's chunker throw
    where nothing catches it: the process aborted. The bodies are now read as one block."""
    bodies = [json.dumps({"x": i if i < SEG else {"y": i}, "pad": "p" * 520},
                         separators=(",", ":")).encode() for i in range(3 * SEG)]
    border, at = 4 << 20, 0
    for j in range(len(bodies)):  # the row that would start past border - 14
        if at + len(bodies[j]) + 1 > border - 14:
            break
        at += len(bodies[j]) + 1
    before = json.loads(bodies[j - 1])
    before["pad"] += "q" * (border - 14 - at)
    bodies[j - 1] = json.dumps(before, separators=(",", ":")).encode()
    bodies[j] = b'{"row": 2,]}'
    path = str(tmp_path / "border.sqlite3")
    store_of(path, bodies)
    assert SEG < j - 1
    out = flatten_elsewhere(path, f"df['payload.x.y'].iloc[{j}], df['payload.x.y'].iloc[{j - 1}],"
                                  f" df['payload.x'].iloc[5], df['payload.x.y'].iloc[{3 * SEG - 1}]")
    assert out == f"nan {j - 1}.0 5.0 {3 * SEG - 1}.0", out


def test_bodies_ending_in_a_newline_are_read_by_arrow_not_python(tmp_path, monkeypatch) -> None:
    """Many senders end a body with a newline (pretty-printed JSON): only the last byte that is
    not white space must be ``}``, so these are not parsed by Python first (4x slower)."""
    bodies = [json.dumps({"row": i, "d": {"x": [i]}}, indent=2).encode() + b"\n" for i in range(SEG + 5)]
    path = str(tmp_path / "newline.sqlite3")
    store_of(path, bodies)
    calls = []
    real = frame_mod._parse_one
    monkeypatch.setattr(frame_mod, "_parse_one", lambda *a: calls.append(1) or real(*a))
    lab = hooklab.open(path)
    try:
        df = lab.dataframe(flatten=True)
    finally:
        lab.stop()
    assert df["payload.row"].tolist() == list(range(SEG + 5))
    assert df["payload.d.x"].iloc[7] == [7]
    assert calls == []


@pytest.mark.parametrize(("keeping", "gone"), [
    ("flat-3", ["flat-1", "flat-2"]),
    ("flat", []),
    ("schema-raw", []),
    ("schema-3", ["schema-2"]),
])
def test_keeping_a_summary_drops_only_earlier_layouts_of_its_kind(tmp_path, keeping, gone) -> None:
    path = str(tmp_path / "kinds.sqlite3")
    store_of(path, [b'{"a": 1}'] * (2 * SEG))
    kinds = ["flat-1", "flat-2", "flat", "flat-x", "flatten-1", "schema-2", "schema-raw", "other-1"]
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE IF NOT EXISTS segment_summaries (kind TEXT NOT NULL, first_id INTEGER"
        " NOT NULL, last_id INTEGER NOT NULL, rows INTEGER NOT NULL, data BLOB NOT NULL,"
        " PRIMARY KEY (kind, first_id))")
    db.executemany("INSERT INTO segment_summaries VALUES (?, ?, ?, ?, x'00')",
                   [(k, f, f + SEG - 1, SEG) for k in kinds for f in (1, SEG + 1)])
    db.commit()
    db.close()
    store = CaptureStore(path, durability="normal")
    try:
        assert store.keep_summaries(keeping, [(1, SEG, SEG, b"new")])
        store.flush()
    finally:
        store.close()
    db = sqlite3.connect(path)
    rows = set(db.execute("SELECT kind, first_id FROM segment_summaries"))
    db.close()
    want = {(k, f) for k in kinds for f in (1, SEG + 1)} | {(keeping, 1)}
    assert rows == want - {(k, 1) for k in gone}


def test_segments_with_lists_starting_with_null_or_nested_deep_are_kept(tmp_path) -> None:
    """pyarrow 26 reads ``[null, 1]`` into a table that fails validation (read again with
    its own types), and orjson writes at most 255 levels (the kept lists fall back to json):
    both segments are still kept, and read back right."""
    deep = b'{"l": ' + b"[" * 300 + b"1.0" + b"]" * 300 + b"}"
    bodies = [b'{"x": [null, 1]}' if i % 7 == 0 else b'{"x": [2]}' for i in range(SEG)]
    bodies += [deep if i == 3 else b'{"l": [1]}' for i in range(SEG)] + [b'{"x": [3]}'] * 5
    path = str(tmp_path / "nullfirst.sqlite3")
    store_of(path, bodies)
    for df in first_kept_and_sql(path, 2):
        assert df["payload.x"].iloc[0] == [None, 1] and df["payload.x"].iloc[1] == [2]
        assert json.dumps(df["payload.l"].iloc[SEG + 3]).replace(", ", ",") == deep[6:-1].decode()
        assert json.dumps(df["payload.l"].iloc[SEG + 4]) == "[1]"


def _needs_a_helper() -> None:
    """Quiet-moment work is a helper process's; on one CPU none starts (the first
    ``flatten=True`` then makes the tables itself)."""
    from hooklab.explore import parallel

    if parallel.wanted(1, least=1, per=1, spare=0) == 0:
        pytest.skip("no helper process on one CPU")


def test_a_serving_lab_keeps_the_parsed_payloads_in_quiet_moments(store_file, kept_file, tmp_path,
                                                                 monkeypatch) -> None:
    """``hooklab.start()`` alone (no ``flatten=True`` in any process) has a helper process
    parse every sealed segment's bodies once the lab is quiet, and keeps them as the first
    ``flatten=True`` would have, byte for byte; a fresh lab's first ``flatten=True`` then
    decompresses only the rows after the segments and gives the frame parsing every body
    gives (the frame of an untouched copy, and the frame read through SQL alone)."""
    import shutil

    _needs_a_helper()
    served = str(tmp_path / "served.sqlite3")
    shutil.copy(store_file, served)
    assert kept(served) == {}
    lab = hooklab.start(port=0, db=served)
    try:
        wait(lambda: len(kept(served)) == 3 and all(kept(served).values()), timeout=120)
    finally:
        hooklab.stop()
    made_here = kept(served)
    assert all(blob[:4] == b"HLF1" for blob in made_here.values())

    # an untouched copy's first frame parsed every body and kept the segments itself
    untouched, first = kept_file
    assert kept(untouched) == made_here  # the same tables, byte for byte

    reads = Reads(monkeypatch)
    lab = hooklab.open(served)
    try:
        got = lab.dataframe(flatten=True)
        assert sorted(set(reads.blocks)) == [3]  # only the block after the three segments
        through_sql = frame_mod._frame(lab.store, {}, flatten=True, combined=False)
    finally:
        lab.stop()
    assert_frame_equal(got, first)
    assert_frame_equal(got, through_sql)
    assert got["payload.id"].iloc[8] == "evt_8" and got["payload.amount"].iloc[SEG + 10] == SEG + 10.5


def test_a_segment_arrow_cannot_read_in_one_table_is_marked_and_not_tried_again(tmp_path) -> None:
    """A segment whose objects disagree on a field's type (a number, then text) cannot be
    kept as one table: the quiet-moment work marks it (so it is not parsed again at every
    quiet moment) and a frame takes the long way, as it did before, with the values sent."""
    from hooklab.explore.schema import summarize_segment
    from hooklab.frame import FLAT_UNREADABLE

    _needs_a_helper()
    path = str(tmp_path / "disagree.sqlite3")
    store_of(path, [json.dumps({"id": i, "v": i if i % 2 else f"t{i}"}).encode()
                    for i in range(2 * SEG + 3)])
    store = CaptureStore(path, durability="normal")
    try:
        assert summarize_segment(store, FLAT_KIND, "flat") is True
        store.flush(30)
        marks = store.summaries(FLAT_KIND)
        assert list(marks.values()) == [FLAT_UNREADABLE, FLAT_UNREADABLE]
        assert summarize_segment(store, FLAT_KIND, "flat") is False  # nothing left to try
        df = frame_mod.captures_frame(store, flatten=True)
        want = frame_mod._frame(store, {}, flatten=True, combined=False)
        import threading

        for t in threading.enumerate():  # (what a frame keeps, it keeps on a thread)
            if t.name == "hooklab-keep-flat":
                t.join(30)
        store.flush(30)
        assert store.summaries(FLAT_KIND) == marks  # (the frame kept nothing over them)
    finally:
        store.close()
    assert_frame_equal(df, want)
    assert df["payload.v"].iloc[:4].tolist() == ["t0", 1, "t2", 3]
    assert df["payload.v"].iloc[2 * SEG + 2] == f"t{2 * SEG + 2}"


def test_segments_the_helper_cannot_read_do_not_hold_back_the_others(tmp_path) -> None:
    """Segments sealed by an older hooklab keep no bodies: no helper can make their tables.
    They were never marked, so the oldest eight were handed out again at every quiet
    moment and the newer segments never got theirs; now they are marked like a segment
    Arrow cannot read, and the rest are made."""
    from hooklab.explore.schema import summarize_segment
    from hooklab.frame import FLAT_UNREADABLE
    from hooklab.store import _segments as segments_format

    path = str(tmp_path / "old-segments.sqlite3")
    store_of(path, [json.dumps({"i": i}).encode() for i in range(10 * SEG)])
    db = sqlite3.connect(path)  # the oldest eight as an older hooklab sealed them
    for first, last in db.execute("SELECT first_id, last_id FROM segments ORDER BY first_id"
                                  " LIMIT 8").fetchall():
        rows = db.execute(f"SELECT {segments_format.SELECT} FROM captures WHERE id BETWEEN ? AND ?"
                          " ORDER BY id", (first, last)).fetchall()
        db.execute("UPDATE segments SET data = ? WHERE first_id = ?",
                   (segments_format.encode(rows), first))
    db.commit()
    db.close()
    store = CaptureStore(path, durability="normal")
    try:
        _needs_a_helper()
        for _ in range(4):  # what the upkeep thread runs at each quiet moment
            if summarize_segment(store, FLAT_KIND, "flat") is False:
                break
            store.flush(30)
        got = [store.summaries(FLAT_KIND)[k] for k in sorted(store.summaries(FLAT_KIND))]
        df = frame_mod.captures_frame(store, flatten=True)
    finally:
        store.close()
    assert got[:8] == [FLAT_UNREADABLE] * 8
    assert all(blob[:4] == b"HLF1" for blob in got[8:]) and len(got) == 10
    assert df["payload.i"].tolist() == list(range(10 * SEG))


def test_the_segments_a_frame_parsed_are_kept_once_it_is_made(store_file, tmp_path,
                                                               monkeypatch) -> None:
    """The first ``flatten=True`` packs the segments it parsed (to keep them) once its frame
    is made, not while: packing a million captures' tables took half a second of CPU from
    the frame on two cores. Kept are the tables a helper makes in quiet moments
    (:func:`hooklab.frame.flat_rows`), byte for byte, and the frame is the one read through
    SQL alone."""
    import shutil
    import threading

    path = str(tmp_path / "copy.sqlite3")
    shutil.copy(store_file, path)
    made = threading.Event()
    packed_before: list[bool] = []
    real_pack, real_settle = frame_mod._pack_read, frame_mod._settled_ints

    def pack(*args: Any) -> Any:
        packed_before.append(not made.is_set())
        return real_pack(*args)

    def settle(flat: Any) -> Any:  # the frame's last step, slow: time to pack meanwhile
        time.sleep(0.5)
        out = real_settle(flat)
        made.set()
        return out

    monkeypatch.setattr(frame_mod, "_pack_read", pack)
    monkeypatch.setattr(frame_mod, "_settled_ints", settle)
    lab = hooklab.open(path)
    try:
        first = lab.dataframe(flatten=True)
        wait(lambda: len(kept(path)) == 3)
        monkeypatch.undo()
        through_sql = frame_mod._frame(lab.store, {}, flatten=True, combined=False)
    finally:
        lab.stop()
    assert packed_before == [False, False, False]  # each of the three segments, after
    assert_frame_equal(first, through_sql)
    db = sqlite3.connect(path)
    try:
        keys = db.execute("SELECT first_id, last_id, rows FROM segments").fetchall()
        want = {k[0]: frame_mod.flat_rows(db, k) for k in keys}
    finally:
        db.close()
    assert kept(path) == want and all(blob[:4] == b"HLF1" for blob in want.values())


def test_a_frame_that_fails_still_keeps_the_segments_it_parsed(store_file, kept_file, tmp_path,
                                                                monkeypatch) -> None:
    """The tables wait for their frame to be made, or to fail: a frame that fails while the
    bodies are parsed (here: its other columns) keeps them as soon as it has failed, and
    nothing waits after that."""
    import shutil
    import threading

    path = str(tmp_path / "copy.sqlite3")
    shutil.copy(store_file, path)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("no forward columns")

    monkeypatch.setattr(frame_mod, "_add_forward_columns", broken)
    lab = hooklab.open(path)
    try:
        with pytest.raises(ZeroDivisionError):
            lab.dataframe(flatten=True)
        wait(lambda: len(kept(path)) == 3, timeout=60)
        wait(lambda: not [t for t in threading.enumerate() if t.name == "hooklab-keep-flat"])
    finally:
        lab.stop()
    monkeypatch.undo()
    untouched = kept_file[0]  # (an untouched copy, flattened and kept)
    assert kept(path) == kept(untouched)
