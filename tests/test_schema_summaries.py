"""``schema()`` keeps a summary per column segment in the store file, and a fresh lab reads
those instead of every body: the table must stay exactly what reading every capture gives.

Real SQLite files with sealed segments (4,096 captures each), opened with ``hooklab.open`` as a
user would; expected values are written out for what repeats across segments, and the whole
table is compared with a single pass of the schema builder over every row.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import time
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest

import hooklab
from hooklab.explore.schema import SUMMARY_KIND, SchemaBuilder, _chunks
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(300)

T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
N = 3 * 4096 + 700  # three sealed segments and rows after them


def body_of(i: int) -> tuple[bytes, list[tuple[str, str]]]:
    """A varied corpus: types that change along the way, arrays and objects at one path,
    integers past 64 bits, -0.0, lone surrogates, forms, gzip, text and binary bodies."""
    js = [("Content-Type", "application/json")]
    k = i % 13
    if k == 0:
        return b"\x00\xff\xfe binary " + bytes([i % 256]), [("Content-Type", "application/octet-stream")]
    if k == 1:
        return f"plain text {i % 5}".encode(), [("Content-Type", "text/plain")]
    if k == 2:
        form = f"payload=%7B%22n%22%3A{i % 7}%7D&team=t{i % 3}&tag=a&tag=b"
        return form.encode(), [("Content-Type", "application/x-www-form-urlencoded")]
    if k == 3:
        raw = json.dumps({"id": f"evt_{i}", "zipped": True}).encode()
        return gzip.compress(raw), [*js, ("Content-Encoding", "gzip")]
    if k == 4:
        return b'{"broken": ', js
    if k == 5:  # a lone surrogate (JSON allows the escape)
        # (orjson refuses it, so the standard library parses it: integers past 64 bits exact)
        name = f"\\ud800x{i // 156 % 4}"
        return f'{{"id": "evt_{i}", "name": "{name}", "big": {2**70 + i // 4096}}}'.encode(), js
    if k == 6:  # the same path an object here, an array there, a number elsewhere
        j = i // 156 % 3
        shape: Any = {"a": i % 2} if j == 0 else ([i % 4, None] if j == 1 else i)
        return json.dumps({"id": f"evt_{i}", "mixed": shape}).encode(), js
    if k == 7:
        return json.dumps([{"n": i % 9}, {"n": "nine"}]).encode(), js
    if k == 8:  # integers past 64 bits, floats, -0.0
        return (b'{"id": "evt_%d", "huge": %d, "f": %s}'  # (orjson: past 64 bits, a float)
                % (i, 2**70 + i // 156 % 3, [b"-0.0", b"0.5", b"1e300"][i // 156 % 3])), js
    value: Any = [None, "late", 7, 7.5, True][i // 2000 % 5]  # its type changes with time
    return json.dumps({"id": f"evt_{i}", "type": f"e{i % 3}", "v": value,
                       "nested": {"deep": {"x": i % 11, "list": list(range(i % 4))}}}).encode(), js


def provider_of(i: int) -> tuple[str | None, str | None]:
    return (["stripe", "github", None][i % 3], [f"e{i % 3}", None, "push"][i % 4 % 3])


def make_store(path: str, n: int = N) -> None:
    records = []
    for i in range(n):
        body, headers = body_of(i)
        provider, event = provider_of(i)
        records.append({"method": "POST", "path": "/hook", "headers": headers, "body": body,
                        "received_at": T0 + timedelta(seconds=i), "provider": provider,
                        "event_type": event})
    store = CaptureStore(path, durability="normal")
    try:
        assert store.add_many(records) == n
        wait_segments(store, n // 4096)
    finally:
        store.close()


def wait_segments(store: CaptureStore, n: int) -> None:
    end = time.monotonic() + 120
    while len(store.summaries(SUMMARY_KIND)) < n and time.monotonic() < end:
        time.sleep(0.05)
    assert len(store.summaries(SUMMARY_KIND)) == n


def one_pass(lab: hooklab.HookLab, **filters: Any) -> pd.DataFrame:
    """The schema a single builder makes reading every matching row through SQL."""
    b = SchemaBuilder()
    rows = [r for chunk in _chunks(lab.store, {"since": 0, **filters}) for r in chunk]
    b.add(rows)
    return b.frame()


def kept(path: str) -> dict[tuple[int, int, int], bytes | None]:
    lab = hooklab.open(path)
    try:
        return lab.store.summaries(SUMMARY_KIND)
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("summaries") / "captures.sqlite3")
    make_store(path)
    return path


def test_a_fresh_lab_reads_the_kept_summaries_and_gets_the_same_table(store_file, tmp_path) -> None:
    import shutil

    path = str(tmp_path / "copy.sqlite3")
    shutil.copy(store_file, path)
    assert set(kept(path).values()) == {None}  # nothing kept before the first schema()

    lab = hooklab.open(path)
    try:
        reference = one_pass(lab)
        first = lab.schema()
        lab.store.flush(30)
    finally:
        lab.stop()
    summaries = kept(path)
    assert len(summaries) == 3 and all(summaries.values())

    import hooklab.explore.schema as schema_module

    read_rows: list[list[int]] = []
    plain_rows = schema_module._SegmentRows.rows

    def counted(self: Any, ks: list[int]) -> Any:
        read_rows.append(ks)
        return plain_rows(self, ks)

    lab = hooklab.open(path)
    schema_module._SegmentRows.rows = counted  # type: ignore[method-assign]
    try:
        second = lab.schema()
    finally:
        schema_module._SegmentRows.rows = plain_rows  # type: ignore[method-assign]
        lab.stop()
    assert read_rows == [[3]]  # only the rows after the three segments were read
    pd.testing.assert_frame_equal(first, reference)
    pd.testing.assert_frame_equal(second, reference)

    # what repeats across segments is counted once: expected values from the corpus itself
    s = second.set_index(["provider", "event_type", "field"])
    group = [i for i in range(N) if provider_of(i) == ("stripe", "e0")]
    g = ("stripe", "e0")

    def row(field: str) -> Any:
        return s.loc[(*g, field)]

    assert row("(body)")["count"] == len(group)
    assert row("id")["distinct"] == len({i for i in group if i % 13 in (3, 5, 6, 8, 9, 10, 11, 12)})
    late = [i for i in group if i % 13 >= 9]
    values = [[None, "late", 7, 7.5, True][i // 2000 % 5] for i in late]
    assert row("v")["types"] == "string|integer|number|boolean|null"
    assert row("v")["distinct"] == len({(type(v), v) for v in values}) == 5
    assert row("v")["example"] == json.dumps(next(v for v in values if v is not None))
    assert row("nested.deep.x")["distinct"] == len({i % 11 for i in late}) == 11
    assert row("nested.deep.x")["first_seen"] == T0 + timedelta(seconds=late[0])
    assert row("nested.deep.x")["last_seen"] == T0 + timedelta(seconds=late[-1])
    assert row("nested.deep.list[]")["distinct"] == len({j for i in late for j in range(i % 4)})
    eights = [i for i in group if i % 13 == 8]
    assert row("huge")["types"] == "number"
    assert row("huge")["distinct"] == len({float(2**70 + i // 156 % 3) for i in eights}) == 1
    fives = [i for i in group if i % 13 == 5]
    assert row("big")["types"] == "integer"
    assert row("big")["distinct"] == len({i // 4096 for i in fives}) == 4
    assert row("f")["distinct"] == 3  # -0.0, 0.5, 1e300
    assert row("name")["distinct"] == len({i // 156 % 4 for i in fives}) == 4
    first_name = f"\ud800x{fives[0] // 156 % 4}"  # a lone surrogate, kept as it is
    assert row("name")["example"] == json.dumps(first_name, ensure_ascii=False)
    assert row("mixed")["types"] == "object|array|integer"
    sixes = [i for i in group if i % 13 == 6]
    assert row("mixed.a")["count"] == sum(i // 156 % 3 == 0 for i in sixes)
    assert row("mixed[]")["types"] == "integer|null"
    assert row("mixed")["distinct"] == len({i for i in sixes if i // 156 % 3 == 2})


def test_damaged_summaries_are_made_again_from_the_rows(store_file, tmp_path) -> None:
    import shutil

    path = str(tmp_path / "damaged.sqlite3")
    shutil.copy(store_file, path)
    lab = hooklab.open(path)
    try:
        reference = one_pass(lab)
        lab.schema()
        lab.store.flush(30)
    finally:
        lab.stop()
    good = next(iter(kept(path).values()))
    assert good is not None
    meta_bad = zlib.compress(b"\x05\0\0\0\0\0\0\0O{}{}")
    hostile = [
        b"",  # empty
        b"HSS1",  # the magic alone
        good[:-20],  # cut short
        b"XXXX" + good[4:],  # another magic
        b"HSS1" + zlib.compress(b"\xff" * 64),  # no JSON
        b"HSS1" + meta_bad,  # JSON that is not one
        b"HSS1" + zlib.compress(b"\x0b\0\0\0\0\0\0\0" + b'O{"v": 2}  '),  # a newer version
        _rewrite(good, lambda m: m["groups"][0][4][1].__setitem__(1, "many")),  # a count as text
        _rewrite(good, lambda m: m["groups"][0][4][1][9] and m["groups"][0][4][1][9].update(
            i=[10**9, 5], s=["a"], f=None, b=[], n=False, B=[])),  # numbers past the end
        _rewrite(good, lambda m: m["groups"][0][4].insert(0, [["x", "y"], 1, 1, {}, None, None,
                                                                None, [], False, None])),  # no parent
        _rewrite(good, lambda m: m["groups"][0][4][0].__setitem__(6, ["?", "1"])),  # examples
        _rewrite(good, lambda m: m["groups"][0][4][0].__setitem__(6, ["v", [1, 2]])),
        _rewrite(good, lambda m: m["groups"][0][4][0].__setitem__(6, ["v", 5])),
        _rewrite(good, lambda m: [f[9].update(s=[1, 2]) for f in m["groups"][0][4] if f[9]]),
        _rewrite(good, lambda m: m["groups"].append(m["groups"][0])),  # a group twice
    ]
    for blob in hostile:
        with pytest.raises(ValueError):
            SchemaBuilder.unpack(blob)
        db = sqlite3.connect(path)
        with db:
            db.execute("UPDATE segment_summaries SET data = ?", (blob,))
        db.close()
        lab = hooklab.open(path)
        try:
            got = lab.schema()
            lab.store.flush(30)
        finally:
            lab.stop()
        pd.testing.assert_frame_equal(got, reference)
        again = kept(path)  # made again and kept in place of the damaged ones
        assert all(v is not None and v[:4] == b"HSS1" for v in again.values())
        assert all(SchemaBuilder.unpack(v).groups for v in again.values() if v)


def _rewrite(blob: bytes, change: Any) -> bytes:
    import struct

    data = zlib.decompress(blob[4:])
    (n,) = struct.unpack_from("<Q", data)
    head = data[8 : 8 + n]
    meta = json.loads(head[1:])
    change(meta)
    new = b"J" + json.dumps(meta).encode()
    return b"HSS1" + zlib.compress(struct.pack("<Q", len(new)) + new + data[8 + n :])


def test_filtered_schema_and_json_schema_come_from_the_summaries_too(store_file, tmp_path) -> None:
    import shutil

    from hooklab.explore.schema import infer_json_schema

    path = str(tmp_path / "filtered.sqlite3")
    shutil.copy(store_file, path)
    lab = hooklab.open(path)
    try:
        lab.schema()
        lab.store.flush(30)
    finally:
        lab.stop()
    lab = hooklab.open(path)
    try:
        whole = lab.schema()
        for filters in ({"event_type": "e0"}, {"provider": "github"},
                        {"provider": ["stripe", "github"], "event_type": ["e0", "push"]},
                        {"event_type": "nothing"}):
            got = lab.schema(**filters)
            pd.testing.assert_frame_equal(got, one_pass(lab, **filters))
            wanted = pd.Series(True, index=whole.index)
            for key, value in filters.items():
                values = value if isinstance(value, list) else [value]
                wanted &= whole[key].isin(values)
            pd.testing.assert_frame_equal(got, whole[wanted].reset_index(drop=True))
        rows = [r for chunk in _chunks(lab.store, {"since": 0, "event_type": "e0"}) for r in chunk]
        assert lab.json_schema("e0") == infer_json_schema([rows], title="e0")
        with pytest.raises(LookupError, match="no captures with event_type='nothing'"):
            lab.json_schema("nothing")
    finally:
        lab.stop()


def test_deleting_captures_drops_the_summaries_of_their_segments(tmp_path) -> None:
    path = str(tmp_path / "retained.sqlite3")
    make_store(path, 2 * 4096 + 10)
    lab = hooklab.open(path)
    try:
        lab.schema()
        lab.store.flush(30)
        assert all(lab.store.summaries(SUMMARY_KIND).values())
    finally:
        lab.stop()
    db = sqlite3.connect(path)
    (rows,) = db.execute("SELECT count(*) FROM segment_summaries").fetchone()
    db.close()
    assert rows == 2

    store = CaptureStore(path, durability="normal", retention_count=5000)  # drops the oldest
    try:
        store.add({"method": "POST", "path": "/hook", "headers": [], "body": b"{}",
                   "received_at": T0, "provider": "stripe", "event_type": "e0"}).result(10)
        end = time.monotonic() + 30
        while store.count() > 5000 and time.monotonic() < end:
            time.sleep(0.05)
        assert store.count() == 5000
    finally:
        store.close()
    db = sqlite3.connect(path)
    left = db.execute("SELECT first_id FROM segment_summaries").fetchall()
    db.close()
    assert left == [(4097,)]  # the first segment held deleted captures, the second none

    lab = hooklab.open(path)
    try:
        got = lab.schema()
        pd.testing.assert_frame_equal(got, one_pass(lab))
        assert got.loc[got["field"] == "(body)", "count"].sum() == 5000
        lab.clear()
        lab.store.flush(30)
        assert lab.schema().empty
    finally:
        lab.stop()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM segment_summaries").fetchone() == (0,)
    db.close()


def test_a_read_only_store_still_answers_and_keeps_nothing(store_file, tmp_path) -> None:
    import os
    import shutil

    path = str(tmp_path / "ro.sqlite3")
    shutil.copy(store_file, path)
    os.chmod(path, 0o444)
    store = CaptureStore(path, readonly=True)
    try:
        assert store.keep_summaries(SUMMARY_KIND, [(1, 2, 2, b"x")]) is False
        from hooklab.explore.schema import schema_frame

        got = schema_frame(store)
        assert got.loc[got["field"] == "(body)", "count"].sum() == N
        assert set(store.summaries(SUMMARY_KIND).values()) == {None}
    finally:
        store.close()


def test_a_serving_lab_makes_the_summaries_in_quiet_moments_only(store_file, tmp_path) -> None:
    """While webhooks keep arriving nothing is summarized; once the lab is quiet it makes the
    summaries one segment at a time, and a fresh lab's schema() then reads no segment's
    bodies."""
    import shutil

    from _http import post

    path = str(tmp_path / "live.sqlite3")
    shutil.copy(store_file, path)
    lab = hooklab.start(port=0, db=path)
    try:
        def made() -> int:
            return sum(v is not None for v in lab.store.summaries(SUMMARY_KIND).values())

        reference_count = N
        start = time.monotonic()
        sent = 0
        before = None
        while time.monotonic() < start + 4.0:  # a webhook every 0.2 s: never a quiet second
            status, _ = post(lab.url_for("live"), b'{"id": "evt_live"}', {"Content-Type": "application/json"})
            assert status == 200
            sent += 1
            time.sleep(0.2)
            if before is None and time.monotonic() > start + 1.0:
                # (one may have been made in a quiet second before the first webhook)
                before = made()
                assert before <= 1
        assert made() == before  # nothing more while webhooks kept arriving
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(lab.store.summaries(SUMMARY_KIND).values()):
            time.sleep(0.2)
        assert all(lab.store.summaries(SUMMARY_KIND).values())
        reference = one_pass(lab)
    finally:
        hooklab.stop()

    import hooklab.explore.schema as schema_module

    read_rows: list[list[int]] = []
    plain_rows = schema_module._SegmentRows.rows

    def counted(self: Any, ks: list[int]) -> Any:
        read_rows.append(ks)
        return plain_rows(self, ks)

    fresh = hooklab.open(path)
    schema_module._SegmentRows.rows = counted  # type: ignore[method-assign]
    try:
        got = fresh.schema()
    finally:
        schema_module._SegmentRows.rows = plain_rows  # type: ignore[method-assign]
        fresh.stop()
    assert read_rows == [[3]]  # only the rows after the three segments
    pd.testing.assert_frame_equal(got, reference)
    assert got.loc[got["field"] == "(body)", "count"].sum() == reference_count + sent
