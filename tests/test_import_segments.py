"""An import leaves its store ready: the column segments of the imported captures are sealed
as they are stored, so a DataFrame right after ``hooklab.load_jsonl`` (the next cell of a
notebook) reads segments instead of a million rows one by one (it took 20 times DuckDB's time
for the half minute the upkeep thread needed to seal them after the import).

Real JSON Lines files and real SQLite databases; every sealed segment must be byte for byte
what the store makes when it reads the same rows back from its table (the way segments were
sealed before, and still are for captures that arrive while serving), and the DataFrame must
hold the values the records say.
"""

from __future__ import annotations

import base64
import gzip
import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from _http import post

import hooklab
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(300)

SEG = 4096
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def record(i: int) -> dict:
    """Capture ``i`` of a varied import: binary, text, gzip (its header in odd case), empty and
    space-led bodies, non-ASCII header values (one lowers to ASCII in Python, not in SQLite),
    repeated delivery ids, no provider, every verification state, other statuses and methods."""
    k = i % 13
    headers = [["Content-Type", "application/json"]]
    body = json.dumps({"id": f"evt_{i}", "n": i, "who": "zoë" if i % 5 else None}).encode()
    if k == 0:
        body, headers = bytes(range(256)) * 3, [["Content-Type", "application/octet-stream"]]
    elif k == 1:
        body, headers = f"plain text {i}".encode(), [["Content-Type", "text/plain; charset=utf-8"]]
    elif k == 2:
        body = gzip.compress(body)
        headers = [*headers, ["CONTENT-Encoding", "gzip"]]
    elif k == 3:
        body = b""
    elif k == 4:
        body = b"  \n" + body
    elif k == 5:
        headers = [*headers, ["X-Name", "Ünïcödé \u212a"], ["X-Content-Encoding-Note", "none"]]
    elif k == 6:
        headers = [["content-type", "application/x-www-form-urlencoded"]]
        body = b"a=1&b=%C3%A9"
    provider = None if k == 7 else ("github" if k == 8 else "stripe")
    return {
        "id": i + 1, "kind": "http",
        "received_at": (T0 + timedelta(milliseconds=7 * i)).isoformat(),
        "method": "PUT" if k == 9 else "POST",
        "path": f"/b{i % 4000 % 3}/hook", "query": {"q": [str(i)]} if k == 10 else {},
        "headers": headers, "remote_addr": "" if k == 11 else f"10.0.0.{i % 7}",
        "status": 202 if k == 12 else 200, "provider": provider,
        "event_type": None if provider is None else f"t{i % 4}",
        "delivery_id": None if provider is None else f"d{i % 4000}",  # repeats after 4,000
        "verified": [None, True, False][i % 3], "body_b64": base64.b64encode(body).decode(),
    }


def duplicates(n: int) -> list[bool]:
    """Which of the first ``n`` records are repeats: the same bin, provider and delivery id as
    an earlier one (how a retry is told from a new event)."""
    seen: set = set()
    out = []
    for i in range(n):
        r = record(i)
        key = (r["path"].split("/")[1], r["provider"] or "", r["delivery_id"])
        out.append(r["delivery_id"] is not None and key in seen)
        if r["delivery_id"] is not None:
            seen.add(key)
    return out


def plain(column) -> list:
    """A column's values with pandas' missing values (NA, NaN) as None."""
    return [None if pd.isna(v) else v for v in column.tolist()]


def write_jsonl(path, n: int, start: int = 0) -> None:
    with open(path, "w") as f:
        for i in range(start, start + n):
            f.write(json.dumps(record(i)) + "\n")


def segments_of(path) -> list[tuple[int, int, int, bytes]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT first_id, last_id, rows, data FROM segments ORDER BY first_id").fetchall()


def assert_segments_read_back(path, covering: int) -> None:
    """The file's segments cover ids 1..``covering`` one after another, each exactly the blob
    the store makes from the same rows read back from its table."""
    db = sqlite3.connect(path)
    try:
        found = segments_of(path)
        assert [(f, last, n) for f, last, n, _ in found] == [
            (1 + s * SEG, (s + 1) * SEG, SEG) for s in range(covering // SEG)]
        (upto,) = db.execute("SELECT value FROM meta WHERE key = 'segments_upto'").fetchone()
        assert int(upto) == covering
        for first, last, n, data in found:
            assert CaptureStore._encode_segment(db, first - 1) == (first - 1, first, last, n, data)
    finally:
        db.close()


def test_a_json_lines_import_returns_with_its_segments_sealed(tmp_path):
    n = 3 * SEG + 123
    src = tmp_path / "in.jsonl"
    write_jsonl(src, n)
    db = tmp_path / "lab.sqlite3"
    lab = hooklab.load_jsonl(str(src), db=str(db))
    try:
        # at once, not after the upkeep thread's catch-up: the rows after the last whole
        # segment are the only ones a DataFrame reads from the table
        assert_segments_read_back(db, 3 * SEG)
        df = lab.dataframe()
        assert df["id"].tolist() == list(range(1, n + 1))
        assert df["bin"].astype(str).tolist() == [f"b{i % 4000 % 3}" for i in range(n)]
        assert df["duplicate"].tolist() == duplicates(n)
        assert sum(duplicates(n)) > 100
        assert df["size"].tolist() == [len(base64.b64decode(record(i)["body_b64"])) for i in range(n)]
        assert df["status"].tolist() == [202 if i % 13 == 12 else 200 for i in range(n)]
        assert plain(df["verified"]) == [[None, True, False][i % 3] for i in range(n)]
        assert (df["received_at"] == [T0 + timedelta(milliseconds=7 * i) for i in range(n)]).all()
        assert plain(df["provider"]) == [
            None if i % 13 == 7 else ("github" if i % 13 == 8 else "stripe") for i in range(n)]
        # the JSON column as the bodies say: objects, None for binary/text/form bodies
        js = df["json"].tolist()
        for i in (0, 1, 2, 3, 4, 5, 6, 14, SEG, 3 * SEG + 122):
            k = i % 13
            want = None if k in (0, 1, 6) else json.loads(gzip.decompress(base64.b64decode(
                record(i)["body_b64"])) if k == 2 else base64.b64decode(record(i)["body_b64"]) or b"null")
            assert js[i] == (None if k == 3 else want), i
    finally:
        lab.stop()
    # and the file reopened in a new lab: the same segments, the same frame
    again = hooklab.open(str(db))
    try:
        assert len(again.dataframe()) == n
    finally:
        again.stop()


def test_an_import_after_served_captures_seals_them_with_its_own(tmp_path):
    """A lab that served a few webhooks, then took an import into its store: the served ones
    (not a whole segment, so not sealed) go into the import's first segment, and one that
    arrives in the middle of the import goes into the segment where its id falls."""
    db = tmp_path / "lab.sqlite3"
    lab = hooklab.HookLab(db=str(db), port=0).start()
    try:
        for i in range(10):
            assert post(lab.url + f"/live/{i}", b'{"live": %d}' % i,
                        {"Content-Type": "application/json"})[0] == 200
        assert lab.store.count() == 10

        def records():
            for i in range(2 * SEG):
                if i == SEG // 2:  # a webhook in the middle (between two chunks or inside one)
                    assert post(lab.url + "/live/mid", b'{"live": "mid"}',
                                {"Content-Type": "application/json"})[0] == 200
                r = record(i)
                del r["id"]
                r["body"] = base64.b64decode(r.pop("body_b64"))
                r["received_at"] = datetime.fromisoformat(r["received_at"])
                yield r

        assert lab.store.add_many(records()) == 2 * SEG
        total = 10 + 2 * SEG + 1
        assert lab.store.count() == total
        # whole segments sealed by the time add_many returned, each as read back
        assert_segments_read_back(db, (total // SEG) * SEG)
        df = lab.dataframe()
        assert len(df) == total
        live = df[df["bin"] == "live"]
        assert len(live) == 11 and live["id"].tolist()[:10] == list(range(1, 11))
    finally:
        lab.stop()


def test_imports_into_a_store_in_memory_and_twice_into_one_file(tmp_path):
    """A second import into the store of the first continues from the first one's unsealed
    rows; an in-memory lab's import is correct too."""
    db = tmp_path / "lab.sqlite3"
    a = tmp_path / "a.jsonl"
    write_jsonl(a, SEG + 1000)
    lab = hooklab.load_jsonl(str(a), db=str(db))
    try:
        lab.store.add_many({**{k: v for k, v in record(i).items() if k not in ("id", "body_b64")},
                            "body": base64.b64decode(record(i)["body_b64"]),
                            "received_at": T0 + timedelta(milliseconds=7 * i)}
                           for i in range(SEG + 1000, 3 * SEG + 1000))
        assert_segments_read_back(db, 3 * SEG)
        assert lab.dataframe()["duplicate"].tolist() == duplicates(3 * SEG + 1000)
    finally:
        lab.stop()
    mem = hooklab.load_jsonl(str(a))
    try:
        df = mem.dataframe()
        assert df["id"].tolist() == list(range(1, SEG + 1001))
        assert df["size"].tolist() == [len(base64.b64decode(record(i)["body_b64"]))
                                       for i in range(SEG + 1000)]
    finally:
        mem.stop()


def test_numbers_given_for_text_columns_are_sealed_as_sqlite_stores_them(tmp_path):
    """``add_many`` takes a number where text is expected (``kind=5``, ``provider=7``,
    ``event_type=1.5``): SQLite stores it in the TEXT column as text, so a segment made from
    the values in memory held ``5`` and ``"5"`` as two words of its dictionary where the table
    has one. Such rows are sealed as they read back from the table."""
    db = tmp_path / "odd.sqlite3"
    lab = hooklab.HookLab(db=str(db))
    try:
        n = SEG + 100
        recs = [{"path": f"/p{i % 3}", "body": b"{}", "method": "POST", "status": 200,
                 "kind": 5 if i % 2 else "5", "provider": 7 if i % 3 == 0 else "stripe",
                 "event_type": 1.5 if i % 5 == 0 else "x", "delivery_id": i if i % 4 == 0 else None,
                 "remote_addr": b"1.2.3.4" if i % 7 == 0 else "9.9.9.9"} for i in range(n)]
        assert lab.store.add_many(recs) == n
        got = segments_of(db)
        if got:  # (sealed at once or by the upkeep thread since: as read back either way)
            assert_segments_read_back(db, SEG)
        assert lab.store.wait_for(lambda: len(segments_of(db)) == 1, timeout=60)
        assert_segments_read_back(db, SEG)
        df = lab.dataframe()
        assert df["kind"].astype(str).tolist() == ["5"] * n
        assert plain(df["provider"]) == ["7" if i % 3 == 0 else "stripe" for i in range(n)]
    finally:
        lab.stop()
