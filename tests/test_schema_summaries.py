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
        return (b'{"id": "evt_%d", "huge": %d, "f": %s}'  # (past 64 bits: read exactly)
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


def fresh_schema(path: str) -> tuple[pd.DataFrame, list[list[int]]]:
    """``schema()`` of a freshly opened lab, and which chunks of the store's table it read
    row by row (a segment whose summary was kept is not read)."""
    import hooklab.explore.schema as schema_module

    read_rows: list[list[int]] = []
    plain_rows = schema_module._SegmentRows.rows

    def counted(self: Any, ks: list[int]) -> Any:
        read_rows.append(ks)
        return plain_rows(self, ks)

    lab = hooklab.open(path)
    schema_module._SegmentRows.rows = counted  # type: ignore[method-assign]
    try:
        return lab.schema(), read_rows
    finally:
        schema_module._SegmentRows.rows = plain_rows  # type: ignore[method-assign]
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

    second, read_rows = fresh_schema(path)
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
    assert row("huge")["types"] == "integer"  # past 64 bits: exact, as json.loads reads it
    assert row("huge")["distinct"] == len({2**70 + i // 156 % 3 for i in eights}) == 3
    fives = [i for i in group if i % 13 == 5]
    assert row("big")["types"] == "integer"
    assert row("big")["distinct"] == len({i // 4096 for i in fives}) == 4
    assert row("f")["distinct"] == 3  # -0.0, 0.5, 1e300
    assert row("name")["distinct"] == len({i // 156 % 4 for i in fives}) == 4
    first_name = f"\ud800x{fives[0] // 156 % 4}"  # a lone surrogate, shown as JSON escapes it
    assert row("name")["example"] == json.dumps(first_name)
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
        _rewrite(good, lambda m: [f[9].update(s=["a", "b"]) for f in m["groups"][0][4] if f[9]]),
        _rewrite(good, lambda m: m["groups"].append(m["groups"][0])),  # a group twice
        _rewrite(good, lambda m: m["groups"][0][4][0].__setitem__(4, 2**62)),  # past year 2262
        _rewrite(good, lambda m: m["groups"][0][4][0].__setitem__(2, 2**64)),  # a count too big
        _rewrite(good, lambda m: m.__setitem__("ids", ["1", 4096])),
    ]
    import hooklab.explore.schema as schema_module

    small = schema_module._PACK_MAX
    schema_module._PACK_MAX = 1000  # a summary unpacking to more than the bound
    try:
        with pytest.raises(ValueError, match="larger than 1,000 bytes"):
            SchemaBuilder.unpack(good)
    finally:
        schema_module._PACK_MAX = small
    for blob in hostile:
        with pytest.raises(ValueError):
            SchemaBuilder.unpack(blob)
    others = [v for v in kept(path).values() if v != good]
    assert SchemaBuilder.unpack(good).ids == (1, 4096)
    hostile += [good, others[0]]  # well made, but each of another segment's captures
    for blob in hostile:
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
        assert all(SchemaBuilder.unpack(v).ids == k[:2] for k, v in again.items() if v)


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


def test_a_serving_lab_keeps_summaries_up_in_quiet_moments_only(store_file, tmp_path) -> None:
    """After a first schema(), a serving lab summarizes the segments sealed later, in quiet
    moments only: nothing while webhooks keep arriving, the new segment once they stop; a
    fresh lab's schema() then reads no segment's bodies."""
    import shutil
    import threading

    from _http import post

    path = str(tmp_path / "live.sqlite3")
    shutil.copy(store_file, path)
    lab = hooklab.start(port=0, db=path)
    stop = threading.Event()
    sent: list[int] = []

    def traffic() -> None:  # a webhook every 0.2 s: never a quiet second
        end = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < end:
            status, _ = post(lab.url_for("live"), b'{"id": "evt_live"}',
                             {"Content-Type": "application/json"})
            sent.append(status)
            stop.wait(0.2)

    def made() -> int:
        return sum(v is not None for v in lab.store.summaries(SUMMARY_KIND).values())

    try:
        lab.schema()  # makes the three segments' summaries itself
        lab.store.flush(30)
        assert made() == 3 and len(lab.store.summaries(SUMMARY_KIND)) == 3
        sender = threading.Thread(target=traffic)
        sender.start()
        more = []
        for i in range(4096):
            body, headers = body_of(i)
            more.append({"method": "POST", "path": "/hook", "headers": headers, "body": body,
                         "received_at": T0 + timedelta(seconds=N + i), "provider": "stripe",
                         "event_type": "e0"})
        lab.store.add_many(more)
        deadline = time.monotonic() + 60
        while len(lab.store.summaries(SUMMARY_KIND)) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(lab.store.summaries(SUMMARY_KIND)) == 4  # a fourth segment, sealed
        time.sleep(2.5)
        assert made() == 3  # not summarized while webhooks keep arriving
        stop.set()
        sender.join(30)
        assert sent and set(sent) == {200}
        deadline = time.monotonic() + 60
        while made() < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert made() == 4  # once they stopped
        reference = one_pass(lab)
    finally:
        stop.set()
        hooklab.stop()

    got, read_rows = fresh_schema(path)
    assert read_rows == [[4]]  # only the rows after the four segments
    pd.testing.assert_frame_equal(got, reference)
    assert got.loc[got["field"] == "(body)", "count"].sum() == N + 4096 + len(sent)


def test_a_serving_lab_summarizes_what_it_holds_without_a_schema_call(store_file, tmp_path) -> None:
    """``hooklab.start()`` alone (no ``schema()`` in this process) has the store's upkeep
    thread summarize every sealed segment once the lab is quiet; a fresh lab's first
    ``schema()`` then reads only the rows no segment covers, and gets the one-pass table."""
    import shutil

    path = str(tmp_path / "served.sqlite3")
    shutil.copy(store_file, path)
    assert not any(kept(path).values())  # the copy starts with none made
    lab = hooklab.start(port=0, db=path)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not all(lab.store.summaries(SUMMARY_KIND).values()):
            time.sleep(0.1)
        assert sum(v is not None for v in lab.store.summaries(SUMMARY_KIND).values()) == 3
        reference = one_pass(lab)
    finally:
        hooklab.stop()
    got, read_rows = fresh_schema(path)
    assert read_rows == [[3]]  # only the 700 rows after the three segments
    pd.testing.assert_frame_equal(got, reference)
    assert got.loc[got["field"] == "(body)", "count"].sum() == N


def test_summaries_handed_to_the_writer_are_not_made_again_until_they_may_be_lost(
        store_file, tmp_path, monkeypatch) -> None:
    """Quiet-moment pieces run one after another; summaries handed to the writer a moment
    ago (not kept yet) are not made again, and while only those are missing the work asks
    again later (``None``) instead of parking; after ``_HANDED_FOR`` seconds a summary the
    writer dropped is made again. Batches of two here: three segments."""
    import shutil

    import hooklab.explore.schema as schema_module
    from hooklab.explore.schema import summarize_segment

    monkeypatch.setattr(schema_module, "_BATCH", 2)
    # (an hour: a full run at 4 workers on 2 cores took more than the 10 s between two of
    # the steps below, and the handed summaries were made again before the test looked)
    monkeypatch.setattr(schema_module, "_HANDED_FOR", 3600.0)
    path = str(tmp_path / "back-to-back.sqlite3")
    shutil.copy(store_file, path)
    store = CaptureStore(path)
    try:
        keys = sorted(store.summaries(SUMMARY_KIND))
        made: list[tuple[int, int, int]] = []
        real_keep = store.keep_summaries
        dropping = [True]

        def keep(kind: str, items: Any) -> bool:
            made.extend(tuple(item[:3]) for item in items)
            return True if dropping[0] else real_keep(kind, items)  # (handed, then lost)

        store.keep_summaries = keep  # type: ignore[method-assign]
        assert summarize_segment(store) is True
        assert made == keys[:2]
        assert summarize_segment(store) is True  # (the first two are being kept)
        assert made == keys
        assert summarize_segment(store) is None  # only handed ones missing: ask again later
        assert made == keys
        monkeypatch.setattr(schema_module, "_HANDED_FOR", 0.0)  # ... they were dropped
        dropping[0] = False
        assert summarize_segment(store) is True
        store.flush(30)  # (kept now: with _HANDED_FOR = 0 they would be made again)
        assert summarize_segment(store) is True
        assert made == keys + keys
        store.flush(30)
        assert all(store.summaries(SUMMARY_KIND).values())
        assert summarize_segment(store) is False  # nothing left
    finally:
        store.close()


_NO_NEW_IMPORTS = r"""
import sys
import hooklab  # (no numpy, pandas or orjson: the kernel needs none of them for this)
from hooklab.explore.schema import SUMMARY_KIND, summarize_segment
from hooklab.frame import FLAT_KIND  # (a light module: what keep_summaries_up imports)
from hooklab.store import CaptureStore

kind, task = {"schema": (SUMMARY_KIND, "schema"), "flat": (FLAT_KIND, "flat")}[sys.argv[2]]
store = CaptureStore(sys.argv[1])
before = set(sys.modules)
for _ in range(10):  # what the upkeep thread runs, here on the main thread
    if not summarize_segment(store, kind, task):
        break
    store.flush(30)
print(sum(bool(v) for v in store.summaries(kind).values()), sorted(set(sys.modules) - before))
store.close()
"""


@pytest.mark.parametrize("work", ["schema", "flat"])
def test_summarizing_in_quiet_moments_imports_nothing(store_file, tmp_path, work) -> None:
    """The upkeep thread must never import a module for the first time (two threads
    importing at once can deadlock): summarizing every segment of the varied corpus (forms,
    gzip, binary, surrogates, huge integers) in the background, for ``schema()`` and for
    ``flatten=True``, hands the work to a helper process and imports nothing in the
    kernel's, even one that never imported numpy, pyarrow or pandas; in a fresh interpreter."""
    import shutil
    import subprocess
    import sys

    from hooklab.explore import parallel

    if work == "flat" and parallel.wanted(1, least=1, per=1, spare=0) == 0:
        pytest.skip("no helper process on one CPU")
    path = str(tmp_path / "imports.sqlite3")
    shutil.copy(store_file, path)
    out = subprocess.run([sys.executable, "-c", _NO_NEW_IMPORTS, path, work], capture_output=True,
                         text=True, timeout=120, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split(None, 1) == ["3", "[]\n"]


def test_the_store_s_own_summaries_do_not_make_it_busy(store_file, tmp_path) -> None:
    """Quiet-moment work stops for a second after any capture, but not after the summaries
    it keeps itself (or it could make only one summary every second or two)."""
    import shutil

    path = str(tmp_path / "quiet.sqlite3")
    shutil.copy(store_file, path)
    store = CaptureStore(path)
    try:
        store.flush(30)
        time.sleep(0.05)
        before = store._last_write
        assert store.keep_summaries(SUMMARY_KIND, [(1, 4096, 4096, b"not a summary")])
        store.flush(30)  # (a flush marker of its own batch)
        assert store.keep_summaries(SUMMARY_KIND, [(4097, 8192, 4096, b"not a summary")])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(
                v is not None for v in store.summaries(SUMMARY_KIND).values()) < 2:
            time.sleep(0.05)
        assert sum(v is not None for v in store.summaries(SUMMARY_KIND).values()) == 2
        assert store._last_write == before
        store.add({"method": "POST", "path": "/hook", "headers": [], "body": b"{}",
                   "received_at": T0}).result(10)
        assert store._last_write > before
    finally:
        store.close()


def test_the_string_hash_is_the_same_in_every_process(store_file, tmp_path) -> None:
    """Summaries made by another process merge here: the string hash does not depend on the
    process (Python's hash() would), pinned to SipHash-2-4 values."""
    import os
    import shutil
    import subprocess
    import sys

    from hooklab.explore.schema import _str_hashes

    pinned = [9126501879573559724, -1537934940950697753, 3996807897149577168]
    assert _str_hashes(["evt_1", "é", "\ud800x"]).tolist() == pinned
    code = ("from hooklab.explore.schema import _str_hashes; "
            "print(_str_hashes(['evt_1', 'é', '\\ud800x']).tolist())")
    for seed in ("0", "1", "12345"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}, timeout=120)
        assert out.stdout.strip() == str(pinned), out.stderr

    path = str(tmp_path / "other.sqlite3")
    shutil.copy(store_file, path)
    made = subprocess.run(
        [sys.executable, "-c", "import sys, hooklab; lab = hooklab.open(sys.argv[1]); "
         "lab.schema(); lab.store.flush(60); lab.stop()", path],
        capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "7"},
        timeout=300)
    assert made.returncode == 0, made.stderr
    assert all(kept(path).values())
    lab = hooklab.open(path)
    try:
        pd.testing.assert_frame_equal(lab.schema(), one_pass(lab))
    finally:
        lab.stop()


# -- however the captures are split into summaries, the table is the one pass's ----------------
def _rows(bodies: list[Any], providers: list[str] | None = None) -> list[tuple[Any, ...]]:
    out = []
    for i, b in enumerate(bodies):
        ct, body = ("application/octet-stream", b) if isinstance(b, bytes) and b[:1] == b"\0" else (
            "application/json", b if isinstance(b, bytes) else json.dumps(b).encode())
        out.append((i + 1, 1_000_000 * (i + 1), (providers or ["p"] * len(bodies))[i], "e", ct,
                    None, body))
    return out


def _merged(rows: list[tuple[Any, ...]], cuts: list[int], **kw: Any) -> SchemaBuilder:
    b = SchemaBuilder(**kw)
    edges = [0, *cuts, len(rows)]
    for lo, hi in zip(edges, edges[1:], strict=False):
        part = SchemaBuilder()
        part.add(rows[lo:hi])
        b.merge(part.pack())
    return b


CHUNKINGS = [
    # (what, bodies, cuts, field -> expected (types, count, example) or None for "listed")
    ("the example is the first value in row order, not in order of key sets",
     [{"k": None}, {"k": "x", "z": 1}, {"k": "y"}], [2],
     {"k": ("string|null", 3, '"x"'), "z": ("integer", 1, "1")}),
    ("nested keys in order of first appearance across key sets",
     [{"k": {"p": 1}}, {"k": {"q": 1}, "z": 1}, {"k": {"r": 1}}], [2],
     {"k": ("object", 3, None), "k.p": None, "k.q": None, "k.r": None, "z": None}),
    ("objects and arrays at one path: the keys, then the items",
     [{"x": {"k": 1}}, {"x": [1]}, {"x": {"m": 1}}], [2],
     {"x": ("object|array", 3, None), "x.k": None, "x.m": None, "x[]": ("integer", 1, "1")}),
    ("notes in one order however they were met",
     [list(range(10_001)), b'{"broken": '], [1], {}),
    ("first_seen of a field is the first capture that has it (not a non-JSON body's)",
     [{"a": []}, b"\0binary", {"a": 0}, {"a": []}], [1, 3],
     {"a": ("array|integer", 3, "0")}),
    ("null beside objects or arrays only is no example, whichever came first",
     [{"c": None, "d": [1]}, {"c": {"k": 1}, "d": None}, {"c": None}], [1],
     {"c": ("object|null", 3, None), "c.k": ("integer", 1, "1"), "d": ("array|null", 2, None),
      "d[]": ("integer", 1, "1")}),
    ("null, an object, then a string: the string is the example",
     [{"e": None}, {"e": {"k": 1}}, {"e": "s"}], [2],
     {"e": ("object|string|null", 3, '"s"'), "e.k": ("integer", 1, "1")}),
    ("a field that only ever held null shows null",
     [{"n": None}, {"n": None}], [1], {"n": ("null", 2, "null")}),
]


@pytest.mark.parametrize(("what", "bodies", "cuts", "expected"), CHUNKINGS,
                         ids=[c[0][:40] for c in CHUNKINGS])
def test_merged_summaries_give_the_one_pass_table(what, bodies, cuts, expected) -> None:
    rows = _rows(bodies)
    one = SchemaBuilder()
    one.add(rows)
    want = one.frame()
    for c in ([], cuts, list(range(1, len(rows)))):
        pd.testing.assert_frame_equal(_merged(rows, c).frame(), want)
    fields = [f for f in want["field"] if f != "(body)"]
    if expected:
        assert fields == list(expected)
    s = want.set_index("field")
    for field, exp in expected.items():
        if exp is not None:
            types, count, example = exp  # (example None: the field shows none)
            assert (s.loc[field, "types"], s.loc[field, "count"], s.loc[field, "example"]) == (
                types, count, example), field
    if "first_seen" in what:
        assert s.loc["a", "first_seen"] == pd.Timestamp(1, unit="s", tz="UTC")
    if "notes" in what:  # (sorted: the order they were met in depends on the chunks)
        assert s.loc["(body)", "example"] == (
            '{"broken":  (first 10,000 items of each array explored; not JSON: Expecting value)')


#: (key, its values capture after capture, the schema row, its expected types and example:
#: the first scalar other than null; null only for a field that never held anything else;
#: none when its other values were objects or arrays)
EXAMPLE_RULE = [
    ("a", [None, {"k": 1}], "a", "object|null", None),
    ("b", [{"k": 1}, None], "b", "object|null", None),
    ("c", [None, [1]], "c", "array|null", None),
    ("d", [[1], None, [2]], "d", "array|null", None),
    ("e", [{"k": 1}, {"k": 2}], "e", "object", None),
    ("f", [None, None], "f", "null", "null"),
    ("g", [None, {"k": 1}, "s"], "g", "object|string|null", '"s"'),
    ("h", [{"k": 1}, None, 3], "h", "object|integer|null", "3"),
    ("i", [[None], [{"k": 1}]], "i[]", "object|null", None),
    ("j", [None, 0], "j", "integer|null", "0"),
]


def _example_bodies() -> list[bytes]:
    most = max(len(values) for _, values, *_ in EXAMPLE_RULE)
    return [json.dumps({key: values[n] for key, values, *_ in EXAMPLE_RULE if n < len(values)}).encode()
            for n in range(most)]


@pytest.mark.parametrize("path", ["sqlite", "parquet", "kept"])
def test_the_example_follows_one_rule_on_every_path(path, tmp_path) -> None:
    """A field null in the first capture and an object later showed the example "null",
    where a field that is always an object shows none (and the docstring says "null" only
    for a field that never held another value): the same example now whatever the order of
    its values, read row by row from SQLite, from a Parquet export, or from the summary a
    serving lab's helper process kept of a sealed segment (its first value in the segment,
    the others in the rows after it)."""
    from _http import post

    bodies = _example_bodies()
    db = str(tmp_path / "captures.sqlite3")
    if path == "kept":
        js = [("Content-Type", "application/json")]
        filler = [json.dumps({"pad": n}).encode() for n in range(1, 4096)]
        records = [{"method": "POST", "path": "/x", "headers": js, "body": body,
                    "received_at": T0 + timedelta(seconds=n)}
                   for n, body in enumerate([bodies[0], *filler, *bodies[1:]])]
        store = CaptureStore(db, durability="normal")
        try:
            assert store.add_many(records) == len(records)
            wait_segments(store, 1)
        finally:
            store.close()
        lab = hooklab.start(port=0, db=db)  # (its upkeep thread has a helper summarize it)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not all(lab.store.summaries(SUMMARY_KIND).values()):
                time.sleep(0.1)
            assert all(lab.store.summaries(SUMMARY_KIND).values())
            reference = one_pass(lab)
        finally:
            hooklab.stop()
        s, read_rows = fresh_schema(db)
        assert read_rows == [[1]]  # the segment from its kept summary, the rows after it
        pd.testing.assert_frame_equal(s, reference)
    else:
        lab = hooklab.HookLab(port=0, db=db).start()
        try:
            for body in bodies:
                assert post(lab.url_for("x"), body, {"Content-Type": "application/json"})[0] == 200
            lab.wait(len(bodies), timeout=10)
            s = lab.schema()
            if path == "parquet":
                assert lab.export(tmp_path / "pq", fmt="parquet") == len(bodies)
                opened = hooklab.open(tmp_path / "pq")
                try:
                    s = opened.schema()
                finally:
                    opened.stop()
        finally:
            lab.stop()
    rows = s.set_index("field")
    for _key, _values, field, types, example in EXAMPLE_RULE:
        assert (rows.loc[field, "types"], rows.loc[field, "example"]) == (types, example), field


def test_fields_past_the_limit_are_counted_once(monkeypatch) -> None:
    """Past MAX_FIELDS, "N more not listed" counts each field once (not once per chunk), and
    not the keys of a field that is itself not listed; which ones are listed depends on the
    order they were read in."""
    import hooklab.explore.schema as schema_module

    monkeypatch.setattr(schema_module, "MAX_FIELDS", 3)
    rows = _rows([{"a": {"x": 1}, "b": 1, "c": {"d": 1}}, {"a": {"y": 1}, "c": {"e": 1}},
                  {"b": 2, "f": 1}])
    every = {"a", "a.x", "a.y", "b", "c", "c.d", "c.e", "f"}
    one = SchemaBuilder()
    one.add(rows)
    for frame in (one.frame(), _merged(rows, [1]).frame(), _merged(rows, [1, 2]).frame()):
        listed = set(frame["field"]) - {"(body)"}
        assert len(listed) == 3
        parent_listed = {p for p in every - listed if "." not in p or p.rsplit(".", 1)[0] in listed}
        note = frame.set_index("field").loc["(body)", "example"]
        assert note == f"(more than 3 fields: {len(parent_listed)} more not listed)"


def test_json_schema_keeps_the_order_properties_arrived_in(tmp_path) -> None:
    """Two providers send one event type: properties in the order they first arrived, as one
    pass over every capture gives them (JSON text compared, not only dicts)."""
    from hooklab.explore.schema import infer_json_schema

    path = str(tmp_path / "two.sqlite3")
    records = []
    for i in range(4096 + 10):
        provider = ["p1", "p2"][i % 2]
        body = {"a": i, **({"b": 1} if provider == "p2" else {}), **({"c": 1} if i > 2 else {})}
        records.append({"method": "POST", "path": "/", "headers": [("Content-Type", "application/json")],
                        "body": json.dumps(body).encode(), "received_at": T0 + timedelta(seconds=i),
                        "provider": provider, "event_type": "e"})
    store = CaptureStore(path, durability="normal")
    try:
        store.add_many(records)
        wait_segments(store, 1)
    finally:
        store.close()
    lab = hooklab.open(path)
    try:
        lab.schema()
        lab.store.flush(30)
        assert all(lab.store.summaries(SUMMARY_KIND).values())
        rows = [r for chunk in _chunks(lab.store, {"since": 0}) for r in chunk]
        want = infer_json_schema([rows], title="e")
        assert list(want["properties"]) == ["a", "b", "c"]
        assert json.dumps(lab.json_schema("e")) == json.dumps(want)
        assert json.dumps(lab.json_schema("e", provider="p2")) == json.dumps(
            infer_json_schema([[r for r in rows if r[2] == "p2"]], title="e"))
    finally:
        lab.stop()


def test_a_summary_that_cannot_be_kept_never_costs_the_captures_beside_it(tmp_path) -> None:
    """A summary the database refuses (here a table of another layout by that name) is
    dropped inside its savepoint; the captures committed in the same batch are all kept."""
    path = str(tmp_path / "foreign.sqlite3")
    store = CaptureStore(path, durability="normal")
    store.close()
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE segment_summaries (something_else TEXT)")
    db.commit()
    db.close()
    store = CaptureStore(path, durability="normal")
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        rec = {"method": "POST", "path": "/", "headers": [], "body": b"{}", "provider": "p",
               "event_type": "e"}
        blocker.execute("BEGIN IMMEDIATE")  # the writer waits on its first batch meanwhile
        first = store.add(dict(rec))
        time.sleep(0.3)
        assert store.keep_summaries(SUMMARY_KIND, [(1, 4096, 4096, b"x" * 100)])
        futures = [store.add(dict(rec, body=b'{"n": %d}' % i)) for i in range(49)]
        blocker.execute("COMMIT")  # the summary and the 49 now go in one batch
        caps = [f.result(30) for f in [first, *futures]]
        assert len({c.id for c in caps}) == 50
        assert store.count() == 50
    finally:
        blocker.close()
        store.close()
