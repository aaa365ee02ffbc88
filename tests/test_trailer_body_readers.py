"""Every reader of a capture's body takes what describes it (``Content-Encoding``,
``Content-Type``) from the header section: a field sent only as a trailer (after a chunked
body) describes none of it, and a header *value* "content-encoding" names no encoding.

Raw chunked requests with trailers are sent to a real lab on 127.0.0.1 (before and after its
column segments are sealed), the same captures imported into it (sealed from the values in
memory), and the lot exported to Parquet and opened with ``hooklab.open``. Checked, with the
values written out: the DataFrame's ``json`` column (from the segments and through SQL only),
``lab.sql``'s ``payload``, ``lab.schema()``, ``lab.diff``, ``search=`` on the Parquet dataset
and the credentials a body shows hidden (``hooklab.credentials.hidden_body``)."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _http import raw_request

import hooklab
from hooklab import frame as frame_mod
from hooklab.credentials import hidden_body
from hooklab.explore import schema_frame
from hooklab.store import CaptureStore

Fields = list[tuple[str, str]]

#: the fields every request below starts with (Connection: close: the lab closes after it)
FIRST: Fields = [("Host", "x"), ("Transfer-Encoding", "chunked"), ("Connection", "close")]
JSON, FORM = "application/json", "application/x-www-form-urlencoded"
MULTIPART = b'--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\nhunter2\r\n--XyZ--\r\n'
#: captures per column segment (hooklab.store._segments.SEG_ROWS)
SEG = 4096


class Case:
    """A request (header section fields after :data:`FIRST`, trailer fields, body) and what
    reading its body must give: ``json`` (``capture.json()``, the frame's ``json`` column and
    ``lab.sql``'s ``payload`` parsed), ``hidden`` (``hidden_body``: its credentials hidden)."""

    def __init__(self, head: Fields, trailers: Fields, body: bytes, *, json_: Any,
                 hidden: bytes | None) -> None:
        self.head, self.trailers, self.body = head, trailers, body
        self.json, self.hidden = json_, hidden


CASES: dict[str, Case] = {
    "Content-Encoding: gzip only as a trailer, a plain JSON body": Case(
        [("Content-Type", JSON)], [("Content-Encoding", "gzip")],
        b'{"k": 1, "tr_gzip": true, "password": "hunter2"}',
        json_={"k": 1, "tr_gzip": True, "password": "hunter2"},
        hidden=b'{"k": 1, "tr_gzip": true, "password": "<hidden: 7 chars>"}'),
    "gzip in the header section, Content-Encoding: identity as a trailer": Case(
        [("Content-Type", JSON), ("Content-Encoding", "gzip")], [("Content-Encoding", "identity")],
        gzip.compress(b'{"k": 2, "hdr_gzip": true}', mtime=0),
        json_={"k": 2, "hdr_gzip": True}, hidden=None),
    "form Content-Type only as a trailer (the body is no form)": Case(
        [], [("Content-Type", FORM)], b"password=hunter2&note=caf%C3%A9",
        json_=None, hidden=None),
    "a header value 'content-encoding', no trailers": Case(
        [("Content-Type", JSON), ("X-A", "content-encoding")], [], b'{"k": 4, "value_ce": true}',
        json_={"k": 4, "value_ce": True}, hidden=None),
    "form in the header section, gzip only as a trailer": Case(
        [("Content-Type", FORM)], [("Content-Encoding", "gzip")], b"user=bob&password=hunter2",
        json_=None, hidden=b"user=bob&password=<hidden: 7 chars>"),
    "multipart in the header section, gzip only as a trailer": Case(
        [("Content-Type", "multipart/form-data; boundary=XyZ")], [("Content-Encoding", "gzip")],
        MULTIPART, json_=None,
        hidden=MULTIPART.replace(b"hunter2", b"<hidden: 7 chars>")),
    "charset=utf-16 only in a trailer's Content-Type, a UTF-8 body": Case(
        [], [("Content-Type", "text/plain; charset=utf-16")], "h\u00e9llo w\u00f6rld".encode(),
        json_=None, hidden=None),
    "no trailers": Case(
        [("Content-Type", JSON)], [], b'{"k": 6, "plain": true}',
        json_={"k": 6, "plain": True}, hidden=None),
}
NAMES = list(CASES)
#: the JSON fields lab.schema() lists (each read only when the body's encoding is read
#: right), and the form fields of the form in the header section with a trailer gzip
SCHEMA_FIELDS = {"k", "tr_gzip", "password", "hdr_gzip", "value_ce", "plain", "user"}


def _chunked(path: str, head: Fields, trailers: Fields, body: bytes) -> bytes:
    """A chunked POST of ``body`` in two chunks, with ``trailers`` after it."""
    lines = [f"POST {path} HTTP/1.1", *(f"{k}: {v}" for k, v in [*FIRST, *head])]
    half = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:half], body[half:]) if c)
    tail = "".join(f"{k}: {v}\r\n" for k, v in trailers).encode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + chunks + b"0\r\n" + tail + b"\r\n"


def _send_all(db: Path, tag: str) -> dict[int, str]:
    """Every case sent to a lab on ``db`` as a raw chunked request: {capture id: case}."""
    ids: dict[int, str] = {}
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    try:
        for i, name in enumerate(NAMES):
            case = CASES[name]
            answer = raw_request(lab.bound_port,
                                 _chunked(f"/{tag}{i}/x", case.head, case.trailers, case.body))
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
            ids[json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]] = name
    finally:
        lab.stop()
    return ids


class Sent:
    def __init__(self, db: Path, ids: dict[int, str], parquet: Path) -> None:
        self.db, self.ids, self.parquet = db, ids, parquet


def _segments(db: Path) -> list[tuple[int, int]]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT first_id, last_id FROM segments ORDER BY first_id").fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sent]:
    """The cases sent to a real lab, imported after them with filler enough to seal a column
    segment over both, then sent again (rows no segment covers); exported to Parquet."""
    where = tmp_path_factory.mktemp("trailer_readers")
    db = where / "captures.sqlite3"
    ids = _send_all(db, "a")
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    records: list[dict[str, Any]] = []
    imported: list[str] = []
    for i, name in enumerate(NAMES):
        case = CASES[name]
        fields = [*FIRST, *case.head, *case.trailers]
        records.append({"method": "POST", "path": f"/b{i}/x", "headers": fields, "body": case.body,
                        "received_at": t0 + timedelta(seconds=i),
                        "trailers_at": len(FIRST) + len(case.head) if case.trailers else None})
        imported.append(name)
    filler = SEG + 100
    records += [{"method": "POST", "path": "/fill", "headers": [("Content-Type", JSON)],
                 "body": b'{"f": %d}' % i, "received_at": t0 + timedelta(seconds=100 + i)}
                for i in range(filler)]
    store = CaptureStore(str(db), durability="normal")
    try:
        before = max(ids)
        assert store.add_many(records) == len(records)
    finally:
        store.close()
    ids.update({before + 1 + i: name for i, name in enumerate(imported)})
    sealed = _segments(db)
    assert sealed and sealed[0][0] <= 1 and sealed[0][1] >= before + len(imported), sealed
    ids.update(_send_all(db, "c"))  # (after the last segment: read from the table)
    assert max(ids) > sealed[-1][1]
    parquet = where / "pq"
    lab = hooklab.open(db)
    try:
        assert lab.export(str(parquet), fmt="parquet") == len(ids) + filler
    finally:
        lab.stop()
    yield Sent(db, ids, parquet)


@pytest.fixture(params=["sqlite", "parquet"])
def lab(request: pytest.FixtureRequest, sent: Sent) -> Iterator[hooklab.HookLab]:
    lab = hooklab.open(sent.db if request.param == "sqlite" else sent.parquet)
    try:
        yield lab
    finally:
        lab.stop()


def _json_of(value: Any) -> Any:
    return None if value is None or value != value else value  # (NaN: none)


def test_each_capture_reads_its_body_as_its_header_section_says(lab: hooklab.HookLab,
                                                                 sent: Sent) -> None:
    for cid, name in sent.ids.items():
        cap = lab.get(cid)
        case = CASES[name]
        assert cap.body == case.body, name
        assert cap.json() == case.json, name
        assert hidden_body(cap) == case.hidden, name


def test_frame_json_column_from_segments_and_from_sql(lab: hooklab.HookLab, sent: Sent) -> None:
    df = lab.dataframe()
    through_sql = frame_mod._frame(lab.store, {}, flatten=False, combined=False)
    for frame in (df, through_sql):
        got = dict(zip(frame["id"].tolist(), frame["json"].tolist(), strict=True))
        for cid, name in sent.ids.items():
            assert _json_of(got[cid]) == CASES[name].json, (cid, name)
        fill = [v for v in got.values() if isinstance(v, dict) and "f" in v]
        assert sorted(v["f"] for v in fill) == list(range(SEG + 100))
    assert df["json"].tolist() == through_sql["json"].tolist()
    assert df["id"].tolist() == through_sql["id"].tolist()


def test_sql_payload(lab: hooklab.HookLab, sent: Sent) -> None:
    rows = lab.sql("SELECT id, payload FROM captures WHERE path <> '/fill' ORDER BY id")
    got = {int(i): (None if p is None or p != p else json.loads(p))
           for i, p in zip(rows["id"], rows["payload"], strict=True)}
    assert got == {cid: CASES[name].json for cid, name in sent.ids.items()}


@pytest.mark.parametrize("name", NAMES)
def test_schema_of_each_case(lab: hooklab.HookLab, sent: Sent, name: str) -> None:
    """A filtered schema (read through SQL), case by case: the fields of the body as read
    (``field: types``); a credential's example hidden."""
    obj = {"(body)": "object", "k": "integer"}
    want = {
        NAMES[0]: {**obj, "tr_gzip": "boolean", "password": "string"},
        NAMES[1]: {**obj, "hdr_gzip": "boolean"},
        NAMES[2]: {"(body)": "text"},
        NAMES[3]: {**obj, "value_ce": "boolean"},
        NAMES[4]: {"(body)": "form", "user": "string", "password": "string"},
        NAMES[5]: {"(body)": "multipart/form-data"},
        NAMES[6]: {"(body)": "text"},
        NAMES[7]: {**obj, "plain": "boolean"},
    }[name]
    i = NAMES.index(name)
    for tag in ("a", "b", "c"):
        s = lab.schema(bin=f"{tag}{i}")
        assert dict(zip(s["field"], s["types"], strict=True)) == want, (tag, name)
        if "password" in want:
            assert s.loc[s["field"] == "password", "example"].tolist() == ["<hidden: 7 chars>"]


def test_schema_of_all(lab: hooklab.HookLab) -> None:
    """Unfiltered (from the column segments where the store has them)."""
    s = lab.schema()
    assert set(s["field"]) == SCHEMA_FIELDS | {"(body)", "f"}
    types = dict(zip(s["field"], s["types"], strict=True))
    assert types["tr_gzip"] == types["hdr_gzip"] == types["value_ce"] == "boolean"
    assert set(types["(body)"].split("|")) == {"object", "form", "multipart/form-data", "text"}


def test_diff_reads_a_plain_body_with_a_trailer_gzip(lab: hooklab.HookLab, sent: Sent) -> None:
    by_name = {}
    for cid, name in sorted(sent.ids.items()):
        by_name.setdefault(name, cid)
    d = lab.diff(by_name[NAMES[0]], by_name[NAMES[7]])
    assert d.astype(object).where(d.notna(), None).values.tolist() == [
        ["k", "changed", 1, 6],
        ["tr_gzip", "removed", True, None],
        ["password", "removed", "<hidden: 7 chars>", None],
        ["plain", "added", None, True],
    ]
    d = lab.diff(by_name[NAMES[0]], by_name[NAMES[1]])  # (gzip in the header section)
    assert d.astype(object).where(d.notna(), None).values.tolist() == [
        ["k", "changed", 1, 2],
        ["tr_gzip", "removed", True, None],
        ["password", "removed", "<hidden: 7 chars>", None],
        ["hdr_gzip", "added", None, True],
    ]


SEARCHES = [
    # (words, cases found): a form type sent as a trailer undoes no %XX; a trailer's charset
    # reads no UTF-8 body as UTF-16
    ("café", []),
    ("wörld", [NAMES[6]]),
    ("tr_gzip", [NAMES[0]]),
    ("hunter2", [NAMES[0], NAMES[2], NAMES[4], NAMES[5]]),
    ("content-encoding", [NAMES[3]]),  # (header names and values are searched too)
]


@pytest.mark.parametrize(("words", "found"), SEARCHES)
def test_search_on_the_parquet_dataset(sent: Sent, words: str, found: list[str]) -> None:
    lab = hooklab.open(sent.parquet)
    try:
        got = sorted(c.id for c in lab.query(search=words))
    finally:
        lab.stop()
    want = sorted(cid for cid, name in sent.ids.items() if name in found)
    if words == "content-encoding":  # every capture with a Content-Encoding field names it
        want = sorted(cid for cid, name in sent.ids.items()
                      if any(k.lower() == "content-encoding" or v == "content-encoding"
                             for k, v in [*CASES[name].head, *CASES[name].trailers]))
    assert got == want



def test_an_older_database_opened_read_only_still_gives_its_frame(sent: Sent,
                                                                   tmp_path: Path) -> None:
    """A database of a hooklab from before the trailers_at column, opened read-only (it is not
    given the column): its DataFrame, SQL and schema read as before, every field a header
    field (nothing says where trailers start: a gzip sent as a trailer is the body's then)."""
    db = tmp_path / "older.sqlite3"
    src, dst = sqlite3.connect(sent.db), sqlite3.connect(db)
    try:
        src.backup(dst)
        dst.execute("ALTER TABLE captures DROP COLUMN trailers_at")
        dst.commit()
    finally:
        src.close()
        dst.close()
    as_before = {  # (json() of each case when every field counts)
        NAMES[0]: None, NAMES[1]: {"k": 2, "hdr_gzip": True}, NAMES[2]: None,
        NAMES[3]: {"k": 4, "value_ce": True}, NAMES[4]: None, NAMES[5]: None, NAMES[6]: None,
        NAMES[7]: {"k": 6, "plain": True},
    }
    store = CaptureStore(str(db), readonly=True)
    try:
        last = max(upto for _, upto in _segments(db))
        after = {cid: name for cid, name in sent.ids.items() if cid > last}  # (read from the table)
        assert sorted(after.values()) == sorted(NAMES)
        for combined in (True, False):
            df = frame_mod._frame(store, {}, flatten=False, combined=combined)
            got = dict(zip(df["id"].tolist(), df["json"].tolist(), strict=True))
            assert {cid: _json_of(got[cid]) for cid in after} == {
                cid: as_before[name] for cid, name in after.items()}
            assert {cid: store.get(cid).json() for cid in after} == {
                cid: as_before[name] for cid, name in after.items()}
        s = schema_frame(store, bin="c1")
        assert dict(zip(s["field"], s["types"], strict=True)) == {
            "(body)": "object", "k": "integer", "hdr_gzip": "boolean"}
    finally:
        store.close()
