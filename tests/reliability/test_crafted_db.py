"""A capture database someone hands you (``hooklab.open(db)``: read-only, so "safe" to open)
holds blobs hooklab wrote and reads back: column segments, schema summaries, the parsed
payloads ``flatten=True`` keeps, the search index. Each is damaged here in a table of ways
(offsets past the end, negative, going back, truncated, huge counts, wrong magic, ...), in a
real SQLite file, and every user-facing read runs on it outside pytest (``_crafted_reads.py``):
a segfault fails the test instead of ending pytest. Once the undamaged file is read, every
table's damaged copies are read one after another by one process (starting one per copy, or
one per table, cost more than the reads); the test of a copy judges its reads. A copy during
whose reads the process ended (by a signal, a hang, an exit) fails, naming how and in which
read; the copies after it are read by a new process.

Each read must give exactly what it gives on the undamaged file (a damaged segment is read as
if it were absent: its rows from the ``captures`` table; a damaged summary is made again from
the rows), or, where a table row allows it, a clear error that names the damage; never an
exit by signal, never foreign memory in a body.

Found by an outside tester: a segment's middle body or word offset past its data made
``export(fmt="parquet")`` write 2 KB of the process's heap as a body, and
``dataframe()`` raise ``SystemError: Negative size passed to PyUnicode_New`` or segfault.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest

from hooklab.explore.schema import SUMMARY_KIND
from hooklab.frame import FLAT_KIND

pytestmark = pytest.mark.timeout(600)  # (the first test waits for every copy's reads)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
N = 4096 + 200  # one sealed segment and rows after it


# -- the store -------------------------------------------------------------------------------
def _make_store(path: str) -> None:
    """One sealed segment (with its bodies), its schema summary and kept parsed payloads,
    the search index; rows after the segment."""
    import hooklab
    from hooklab.store import CaptureStore

    records = []
    for i in range(N):
        body = json.dumps({"id": f"evt_{i}", "n": i, "word": "zebra" if i % 500 == 7 else "horse",
                           "items": list(range(i % 3))}).encode()
        records.append({"method": "GET" if i % 7 == 3 else "POST", "path": f"/bin{i % 3}/x",
                        "headers": [("Content-Type", "application/json")], "body": body,
                        "received_at": T0 + timedelta(seconds=i)})
    store = CaptureStore(path, durability="normal")
    try:
        assert store.add_many(records) == N
        _wait(lambda: not store._behind())
    finally:
        store.close()
    lab = hooklab.HookLab(db=path)  # (writable: what its reads make is kept in the file)
    try:
        lab.dataframe(flatten=True)
        lab.schema()
        _wait(lambda: set(_kinds(path)) == {FLAT_KIND, SUMMARY_KIND})
    finally:
        lab.stop()
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT first_id, last_id, rows FROM segments").fetchall() == [(1, 4096, 4096)]
    finally:
        db.close()


def _kinds(path: str) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [k for (k,) in db.execute("SELECT kind FROM segment_summaries")]
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def _wait(ok: Callable[[], bool], timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not ok() and time.monotonic() < end:
        time.sleep(0.05)
    assert ok()


#: a copy's reads: each read's ``[status, value]``, or why they did not finish
Result = dict[str, Any] | str


def _reads_each(cases: dict[str, tuple[str, str]]) -> dict[str, Result]:
    """The reads of ``_crafted_reads.py`` on each ``{name: (db, out dir)}``: one process
    reads them all in turn, never ended by a signal; after one that ended it, a new process
    reads those left."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    got: dict[str, Result] = {}
    todo = list(cases)
    for _ in range(len(cases)):  # each process answers at least one copy, or fails it
        if not todo:
            break
        try:
            r = subprocess.run([sys.executable, os.path.join(HERE, "_crafted_reads.py"), "-"],
                               input=json.dumps([[c, *cases[c]] for c in todo]),
                               capture_output=True, text=True, env=env, cwd=ROOT,
                               timeout=60 + 90 * len(todo))  # (it ends itself: 90 s a copy)
            code, out, err = r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired as exc:
            code, out, err = None, _text(exc.stdout), _text(exc.stderr)
        for line in out.splitlines():
            if line.startswith('{"case": '):
                answer = json.loads(line)
                got[answer["case"]] = answer["reads"]
        ran, todo = todo, [c for c in todo if c not in got]
        if not todo:
            break
        how = ("its time ran out" if code is None else f"exit {code}" if code >= 0 else
               f"signal {_signal_name(-code)}")
        steps = [json.loads(line[len("reading: "):]) for line in err.splitlines()
                 if line.startswith("reading: ")]
        case, step = steps[-1] if steps else (None, "start")
        if case not in todo:  # not during a copy's reads: every copy left fails
            for c in todo:
                got[c] = f"the reads process ended by {how} at {step!r}, before {c!r}:\n{_last(err)}"
            break
        before = [c for c in ran if c in got]
        after = (f" (after the reads of {len(before)} other copies in the same process, the"
                 f" first {before[0]!r})" if before else "")
        got[case] = f"{case!r}: the reads ended by {how} during {step!r}{after}:\n{_last(err)}"
        todo.remove(case)
    return got


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _last(err: str) -> str:
    """What the process wrote after its last step: a crash's first line and the stack of the
    thread it was in (``faulthandler``), else the end (a traceback)."""
    rest = err[err.find("\n", err.rfind("reading: ")) + 1 :] if "reading: " in err else err
    text = "\n".join(line for line in rest.splitlines()
                     if not line.startswith("Extension modules:"))
    at = text.find("\nCurrent thread ")
    return text[: text.find("\n") + 1] + text[at + 1 : at + 2000] if at >= 0 else text[-2000:]


def _text(b: bytes | str | None) -> str:
    return b.decode(errors="replace") if isinstance(b, bytes) else b or ""


def _got(results: dict[str, Result], damage: str) -> dict[str, Any]:
    """The reads of ``damage``'s copy (a copy whose reads ended the process fails here)."""
    if damage not in results:
        pytest.fail(f"{damage!r} was not read (not among the cases selected when its table was)")
    got = results[damage]
    if isinstance(got, str):
        pytest.fail(got)
    return got


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """The undamaged store, and what every read gives on it."""
    where = tmp_path_factory.mktemp("crafted")
    path = str(where / "base.sqlite3")
    _make_store(path)
    got = _got(_reads_each({"undamaged": (path, str(where / "out"))}), "undamaged")
    assert all(status == "ok" for status, _ in got.values()), got
    assert got["search"][1][0] == [i + 1 for i in range(N) if i % 500 == 7]
    return path, got


@pytest.fixture(scope="module")
def all_reads(request: pytest.FixtureRequest, pristine: tuple[str, dict[str, Any]]
              ) -> dict[str, Result]:
    """The reads of each damaged copy of the undamaged store (made once it was read, as a
    user's file is: its export keeps the name of its exported files in it) that this session
    runs, as ``{"<test>/<damage>": reads}``: every table's copies in one process, one table
    after another (a process per table, each importing pandas and Arrow again, cost as much
    as the reads of a few copies)."""
    cases = {}
    for test, table, damage in _tables():
        for name, where in _damaged(request, pristine, test, table, damage).items():
            cases[f"{test.__name__}/{name}"] = where
    return _reads_each(cases)


def _table_reads(all_reads: dict[str, Result], test: Callable[..., None]) -> dict[str, Result]:
    """The reads of ``test``'s damaged copies, by damage."""
    prefix = f"{test.__name__}/"
    return {case[len(prefix):]: got for case, got in all_reads.items() if case.startswith(prefix)}


def _damaged(request: pytest.FixtureRequest, pristine: tuple[str, dict[str, Any]],
             test: Callable[..., None], table: list[Any], damage: Callable[[str, Any], None]
             ) -> dict[str, tuple[str, str]]:
    """A copy of the undamaged store per row of ``table`` (``(name, ...)``) that this session
    runs ``test`` with, ``damage(copy, row)`` done to each: ``{name: (db, out dir)}``."""
    wanted = {item.callspec.params["damage"] for item in request.session.items
              if getattr(item, "function", None) is test and hasattr(item, "callspec")}
    if not wanted:
        return {}
    where = request.getfixturevalue("tmp_path_factory").mktemp(test.__name__[5:35])
    cases = {}
    for k, row in enumerate(r for r in table if r[0] in wanted):
        os.makedirs(where / f"{k:02d}")
        path = _copy(pristine[0], where / f"{k:02d}")
        damage(path, row)
        cases[row[0]] = (path, str(where / f"{k:02d}" / "out"))
    return cases


# -- damage, blob by blob ----------------------------------------------------------------------
def _segment_parts(blob: bytes) -> tuple[dict[str, Any], int]:
    (hlen,) = struct.unpack_from("<I", blob, 4)
    header = json.loads(blob[8 : 8 + hlen])
    base = 8 + hlen
    return header, base + (-base % 8)


def _with_header(blob: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """The segment with its header changed (the data after it kept, re-aligned)."""
    header, base = _segment_parts(blob)
    change(header)
    raw = json.dumps(header).encode()
    head = blob[:4] + struct.pack("<I", len(raw)) + raw
    return head + b"\0" * (-len(head) % 8) + blob[base:]


def _entry(header: dict[str, Any], name: str) -> list[Any]:
    return next(e for e in header["cols"] if e[0] == name)


def _poke(blob: bytes, name: str, part: int, dtype: str, index: int, value: int) -> bytes:
    """The segment with value ``index`` of column ``name``'s buffer ``part`` (2: values or
    codes, 3: offsets) set to ``value``."""
    header, base = _segment_parts(blob)
    at = _entry(header, name)[part][0]
    out = bytearray(blob)
    size = np.dtype(dtype).itemsize
    out[base + at + index * size : base + at + (index + 1) * size] = np.array([value], dtype).tobytes()
    return bytes(out)


def _words_end(blob: bytes, name: str = "bin") -> int:
    return _entry(_segment_parts(blob)[0], name)[4][1]


def _bodies_total(blob: bytes) -> int:
    return _entry(_segment_parts(blob)[0], "body")[4]


def _garble_bodies(blob: bytes) -> bytes:
    header, base = _segment_parts(blob)
    at, size = _entry(header, "body")[2]
    out = bytearray(blob)
    out[base + at + size // 2 : base + at + size // 2 + 64] = bytes(range(64))
    return bytes(out)


def _set(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda h: h.__setitem__(field, value)


def _set_entry(name: str, index: int, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda h: _entry(h, name).__setitem__(index, value)


def _drop_entry(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda h: h["cols"].remove(_entry(h, name))


# (a segment that keeps every body describes them twice: in the header's "bodies" entry, with
# their flags, as this version reads them, and in cols, as older hooklabs read them)
def _set_bodies(index: int, value: Any) -> Callable[[dict[str, Any]], None]:
    """Both descriptions of the bodies changed alike (this version's checks, not their match)."""
    def change(h: dict[str, Any]) -> None:
        h["bodies"][index] = value
        if index < 5:
            _entry(h, "body")[index] = value
    return change


def _poke_flag(blob: bytes, index: int, value: int) -> bytes:
    header, base = _segment_parts(blob)
    out = bytearray(blob)
    out[base + header["bodies"][5][0] + index] = value & 0xFF
    return bytes(out)


def _flags_place(change: Callable[[list[int]], list[int]]) -> Callable[[dict[str, Any]], None]:
    return lambda h: h["bodies"].__setitem__(5, change(h["bodies"][5]))


def _no_bodies_at_all(h: dict[str, Any]) -> None:
    h["cols"].remove(_entry(h, "body"))
    del h["bodies"]


#: (name, change of the segment's blob)
SEGMENT_BLOBS: list[tuple[str, Callable[[bytes], bytes]]] = [
    # the outside tester's two: a middle offset past the data (the first and last are right)
    ("word offset past the data", lambda b: _poke(b, "bin", 3, "<i8", 1, _words_end(b) + 2000)),
    ("word offset far past the data", lambda b: _poke(b, "bin", 3, "<i8", 1, _words_end(b) + (1 << 28))),
    ("body offset past the data", lambda b: _poke(b, "body", 3, "<i8", 1, _bodies_total(b) + 2048)),
    ("body offset far past the data", lambda b: _poke(b, "body", 3, "<i8", 1, _bodies_total(b) + (1 << 28))),
    ("word offset negative", lambda b: _poke(b, "method", 3, "<i8", 1, -8)),
    ("word offsets going back", lambda b: _poke(b, "bin", 3, "<i8", 2, 1)),
    ("body offset negative", lambda b: _poke(b, "body", 3, "<i8", 5, -1 << 40)),
    ("body offsets going back", lambda b: _poke(b, "body", 3, "<i8", 3, 0)),
    ("last body offset short", lambda b: _poke(b, "body", 3, "<i8", 4096, 10)),
    ("code past the words", lambda b: _poke(b, "bin", 2, "<i4", 7, 3)),
    ("code negative", lambda b: _poke(b, "path", 2, "<i4", 7, -7)),
    ("word not UTF-8", lambda b: _utf8_broken(b)),
    # (eighth attacker: encoded 0 -> 243 read as a flag, one body's json None in the frame)
    ("encoded neither 0 nor 1", lambda b: _poke(b, "encoded", 2, "i1", 7, -13)),
    ("verified past 1", lambda b: _poke(b, "verified", 2, "i1", 7, 5)),
    ("duplicate below -1", lambda b: _poke(b, "duplicate", 2, "i1", 7, -128)),
    ("ids out of order", lambda b: _poke(b, "id", 2, "<i8", 10, 5)),
    ("ids of other captures", lambda b: _poke(b, "id", 2, "<i8", 0, 999_999)),
    ("row count huge", lambda b: _with_header(b, _set("n", 10**12))),
    ("row count negative", lambda b: _with_header(b, _set("n", -1))),
    ("row count one less", lambda b: _with_header(b, _set("n", 4095))),
    ("byte order flipped", lambda b: _with_header(b, _set("order", "big"))),
    ("byte order unknown", lambda b: _with_header(b, _set("order", "middle"))),
    ("word count huge", lambda b: _with_header(b, _set_entry("bin", 5, 10**9))),
    ("column past the end", lambda b: _with_header(b, _set_entry("id", 2, [10**9, 8 * 4096]))),
    ("column negative place", lambda b: _with_header(b, _set_entry("size", 2, [-64, 8 * 4096]))),
    ("column short", lambda b: _with_header(b, _set_entry("received_us", 2, [0, 8]))),
    ("words past the end", lambda b: _with_header(b, _set_entry("bin", 4, [0, 10**8]))),
    ("bodies size huge", lambda b: _with_header(b, _set_entry("body", 4, 1 << 40))),
    ("bodies size off by one", lambda b: _with_header(b, _set_entry("body", 4, _bodies_total(b) + 1))),
    ("bodies place past the end", lambda b: _with_header(b, _set_entry("body", 2, [8, 10**9]))),
    ("column missing", lambda b: _with_header(b, _drop_entry("bin"))),
    ("columns not lists", lambda b: _with_header(b, _set("cols", {"id": 1}))),
    ("no bodies kept", lambda b: _with_header(b, _drop_entry("body"))),  # (a legal segment)
    # the header's "bodies" entry (the kept bodies with their flags), as this version reads it
    ("flagged bodies size huge", lambda b: _with_header(b, _set_bodies(4, 1 << 40))),
    ("flagged bodies size off by one", lambda b: _with_header(b, _set_bodies(4, _bodies_total(b) + 1))),
    ("flagged bodies place past the end", lambda b: _with_header(b, _set_bodies(2, [8, 10**9]))),
    ("body flags past the end", lambda b: _with_header(b, _flags_place(lambda w: [10**9, w[1]]))),
    ("body flags short", lambda b: _with_header(b, _flags_place(lambda w: [w[0], 10]))),
    ("body flag not one", lambda b: _poke_flag(b, 7, 9)),
    ("body flag negative", lambda b: _poke_flag(b, 7, -1)),
    ("a kept body flagged as not kept", lambda b: _poke_flag(b, 7, 0)),
    ("bodies entry not a list", lambda b: _with_header(b, _set("bodies", 7))),
    ("bodies entry without flags", lambda b: _with_header(b, lambda h: h["bodies"].pop())),
    # (legal: a segment as older hooklabs seal them, every body in cols; one without bodies)
    ("bodies for older hooklabs only", lambda b: _with_header(b, lambda h: h.pop("bodies"))),
    ("no bodies kept at all", lambda b: _with_header(b, _no_bodies_at_all)),
    ("header length past the end", lambda b: b[:4] + struct.pack("<I", 0xFFFFFFFF) + b[8:]),
    ("header not JSON", lambda b: b[:8] + b"[" * 40 + b[48:]),
    ("header deeply nested", lambda b: _deep_header(b)),
    ("wrong magic", lambda b: b"XXXX" + b[4:]),
    ("truncated to its header", lambda b: b[: _segment_parts(b)[1]]),
    ("truncated in half", lambda b: b[: len(b) // 2]),
    ("empty", lambda b: b""),
]


def _utf8_broken(blob: bytes) -> bytes:
    header, base = _segment_parts(blob)
    at, _ = _entry(header, "bin")[4]
    out = bytearray(blob)
    out[base + at] = 0xFF
    return bytes(out)


def _deep_header(blob: bytes) -> bytes:
    raw = b"[" * 100_000 + b"]" * 100_000
    head = blob[:4] + struct.pack("<I", len(raw)) + raw
    return head + b"\0" * (-len(head) % 8) + blob[_segment_parts(blob)[1]:]


def _update(path: str, sql: str, args: tuple[Any, ...] = ()) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute(sql, args)
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _blob(path: str, sql: str) -> bytes:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def _copy(pristine: str, tmp_path: Any) -> str:
    path = str(tmp_path / "crafted.sqlite3")
    shutil.copy(pristine, path)
    for ext in ("-wal", "-shm"):
        if os.path.exists(pristine + ext):
            shutil.copy(pristine + ext, path + ext)
    return path


def _same_or(got: dict[str, Any], want: dict[str, Any], may_fail: dict[str, str]) -> None:
    """Every read as on the undamaged file; a read in ``may_fail`` may instead raise an
    error whose text holds that phrase (naming the damage)."""
    for read, (status, value) in got.items():
        if status == "ok":
            assert value == want[read][1], f"{read}: not what the undamaged file gives"
        else:
            assert read in may_fail and may_fail[read] in value, f"{read}: {value}"


def _damage_segment(path: str, row: tuple[str, Callable[[bytes], bytes]]) -> None:
    _update(path, "UPDATE segments SET data = ?", (row[1](_blob(path, "SELECT data FROM segments")),))


@pytest.fixture(scope="module")
def segment_reads(all_reads) -> dict[str, Result]:  # type: ignore[no-untyped-def]
    return _table_reads(all_reads, test_a_damaged_segment_is_read_from_the_captures_table)


@pytest.mark.parametrize(("damage", "change"), SEGMENT_BLOBS, ids=[d for d, _ in SEGMENT_BLOBS])
def test_a_damaged_segment_is_read_from_the_captures_table(pristine, segment_reads, damage, change) -> None:  # type: ignore[no-untyped-def]
    _same_or(_got(segment_reads, damage), pristine[1], {})


#: (name, SQL on the ``segments`` table, reads that may fail and the phrase their error holds)
SEGMENT_ROWS: list[tuple[str, str, dict[str, str]]] = [
    ("rows not its count", "UPDATE segments SET rows = 5", {}),
    ("last id past its rows", "UPDATE segments SET last_id = 10000", {}),
    ("last id before its first", "UPDATE segments SET last_id = 0", {}),
    ("data as text", "UPDATE segments SET data = 'HLS1 not a blob'", {}),
    ("an overlapping segment", "INSERT INTO segments SELECT 100, last_id + 50, rows, data FROM segments", {}),
    ("a segment past the captures", "INSERT INTO segments SELECT 100000, 104095, rows, data FROM segments", {}),
    # the compressed bodies themselves are read when a value is (a frame's json column keeps
    # them compressed): damage there is an error that says so (exports read them from the table)
    ("bodies not zlib", "", {"dataframe": "decompress", "dataframe_filtered": "decompress",
                             "dataframe_flat": "decompress", "schema": "decompress"}),
]


def _damage_segment_row(path: str, row: tuple[str, str, dict[str, str]]) -> None:
    if row[1]:
        _update(path, row[1])
    else:
        _update(path, "UPDATE segments SET data = ?",
                (_garble_bodies(_blob(path, "SELECT data FROM segments")),))


@pytest.fixture(scope="module")
def segment_row_reads(all_reads) -> dict[str, Result]:  # type: ignore[no-untyped-def]
    return _table_reads(all_reads, test_a_segment_row_that_lies_is_not_believed)


@pytest.mark.parametrize(("damage", "sql", "may_fail"), SEGMENT_ROWS, ids=[d for d, _, _ in SEGMENT_ROWS])
def test_a_segment_row_that_lies_is_not_believed(pristine, segment_row_reads, damage, sql, may_fail) -> None:  # type: ignore[no-untyped-def]
    want = pristine[1]
    got = _got(segment_row_reads, damage)
    _same_or(got, want, may_fail)
    assert got["export_parquet"] == want["export_parquet"]  # (bodies read whole: from the table)


# -- schema summaries --------------------------------------------------------------------------
def _summary(blob: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    data = zlib.decompress(blob[4:])
    (n,) = struct.unpack_from("<Q", data)
    return json.loads(data[9 : 8 + n]), data[8 : 9], data[8 + n :]


def _resummary(blob: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    meta, _, numbers = _summary(blob)
    change(meta)
    head = b"J" + json.dumps(meta).encode()
    return blob[:4] + zlib.compress(struct.pack("<Q", len(head)) + head + numbers)


def _first_field(meta: dict[str, Any]) -> list[Any]:
    return next(f for f in meta["groups"][0][4] if f[9] is not None and f[9]["i"] is not None)


SUMMARIES: list[tuple[str, Callable[[bytes], bytes]]] = [
    ("wrong magic", lambda b: b"XXXX" + b[4:]),
    ("truncated", lambda b: b[: len(b) // 2]),
    ("not zlib", lambda b: b[:4] + b"\x78\x9c" + bytes(range(200))),
    ("head length huge", lambda b: b[:4] + zlib.compress(struct.pack("<Q", 1 << 62) + b"J{}")),
    ("head not JSON", lambda b: b[:4] + zlib.compress(struct.pack("<Q", 5) + b"J{{{{")),
    ("head deeply nested", lambda b: b[:4] + zlib.compress(struct.pack("<Q", 200_001) + b"J" + b"[" * 200_000)),
    ("distinct values past the end", lambda b: _resummary(b, lambda m: _first_field(m)[9].__setitem__("i", [10**6, 50]))),
    ("distinct count huge", lambda b: _resummary(b, lambda m: _first_field(m)[9].__setitem__("i", [0, 1 << 61]))),
    ("distinct place negative", lambda b: _resummary(b, lambda m: _first_field(m)[9].__setitem__("i", [-4, 2]))),
    ("a count negative", lambda b: _resummary(b, lambda m: _first_field(m).__setitem__(1, -5))),
    ("captures of another segment", lambda b: _resummary(b, lambda m: m.__setitem__("ids", [1, 99]))),
    ("groups not a list", lambda b: _resummary(b, lambda m: m.__setitem__("groups", 7))),
    ("a field without its parent", lambda b: _resummary(b, lambda m: _first_field(m).__setitem__(0, ["a", "b", "c"]))),
]


def _damage_summary(path: str, row: tuple[str, Callable[[bytes], bytes]]) -> None:
    blob = row[1](_blob(path, f"SELECT data FROM segment_summaries WHERE kind = '{SUMMARY_KIND}'"))
    _update(path, "UPDATE segment_summaries SET data = ? WHERE kind = ?", (blob, SUMMARY_KIND))


@pytest.fixture(scope="module")
def summary_reads(all_reads) -> dict[str, Result]:  # type: ignore[no-untyped-def]
    return _table_reads(all_reads, test_a_damaged_schema_summary_is_made_again)


@pytest.mark.parametrize(("damage", "change"), SUMMARIES, ids=[d for d, _ in SUMMARIES])
def test_a_damaged_schema_summary_is_made_again(pristine, summary_reads, damage, change) -> None:  # type: ignore[no-untyped-def]
    _same_or(_got(summary_reads, damage), pristine[1], {})


# -- the parsed payloads flatten=True keeps -----------------------------------------------------
def _flat(blob: bytes) -> Any:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    return ipc.open_stream(pa.py_buffer(blob)[8:]).read_all()


def _reflat(table: Any, meta: dict[bytes, bytes] | None = None, compression: str | None = "lz4") -> bytes:
    """A kept blob of ``table`` (its metadata changed by ``meta``), its check made right."""
    import pyarrow as pa
    import pyarrow.ipc as ipc


    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **(meta or {})})
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema, options=ipc.IpcWriteOptions(compression=compression)) as w:
        w.write_table(table)
    stream = sink.getvalue().to_pybytes()
    return _signed(stream)


def _signed(stream: bytes) -> bytes:
    from hooklab import frame

    key = (1, 4096, 4096)
    return b"HLF1" + frame._flat_check(key, stream).to_bytes(4, "little") + stream


def _positions(values: list[int]) -> bytes:
    return zlib.compress(np.asarray(values, "<i4").tobytes())


def _bad_offsets(b: bytes) -> bytes:
    """Its first string column rebuilt with a middle offset far past the data (the first and
    last right: as ``from_buffers`` lets through), written uncompressed."""
    import pyarrow as pa

    t = _flat(b)
    name = next(f.name for f in t.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    col = t.column(name).combine_chunks().cast(pa.large_string())
    offs = np.frombuffer(col.buffers()[1], np.int64, len(col) + 1, col.offset * 8).copy()
    offs[1] = offs[-1] + (1 << 26)
    bad = pa.Array.from_buffers(pa.large_string(), len(col),
                                [col.buffers()[0], pa.py_buffer(offs), col.buffers()[2]])
    t = t.set_column(t.schema.get_field_index(name), name, bad)
    return _reflat(t, compression=None)


def _flipped(b: bytes, where: float) -> bytes:
    stream = bytearray(b[8:])
    at = int(len(stream) * where)
    stream[at : at + 8] = b"\xff" * 8
    return _signed(bytes(stream))


FLAT: list[tuple[str, Callable[[bytes], bytes]]] = [
    ("wrong magic", lambda b: b"XXXX" + b[4:]),
    ("check wrong", lambda b: b[:4] + b"\0\0\0\0" + b[8:]),
    ("truncated, check made right", lambda b: _signed(b[8 : len(b) // 2])),
    ("not Arrow, check made right", lambda b: _signed(bytes(range(256)) * 4)),
    *[(f"bytes flipped at {w:.0%}, check made right", lambda b, w=w: _flipped(b, w))
      for w in (0.02, 0.3, 0.7, 0.97)],
    ("a string offset far past its data", _bad_offsets),
    ("rows past the segment", lambda b: _reflat(_flat(b), {b"hooklab.rows": _positions(list(range(5000, 5000 + _flat(b).num_rows)))})),
    ("rows negative", lambda b: _reflat(_flat(b), {b"hooklab.rows": _positions([-1] * _flat(b).num_rows)})),
    ("a row twice", lambda b: _reflat(_flat(b), {b"hooklab.rows": _positions([0] * _flat(b).num_rows)})),
    ("rows fewer than the table's", lambda b: _reflat(_flat(b), {b"hooklab.rows": _positions([0, 1])})),
    ("rows a zlib bomb", lambda b: _reflat(_flat(b), {b"hooklab.rows": zlib.compress(b"\0" * (64 << 20), 9)})),
    ("slow values not its rows'", lambda b: _reflat(_flat(b), {b"hooklab.slowjson": zlib.compress(b"[1, 2, 3]")})),
    ("lists claim a huge size", lambda b: _reflat(_flat(b), {b"hooklab.lists": (1 << 34).to_bytes(8, "little") + b"\x04\x22\x4d\x18"})),
    ("lists of rows it has not", lambda b: _reflat(_flat(b), {b"hooklab.lists": _lz4_json({"items": [[10**6, [1]]]})})),
    ("another segment's name", lambda b: _reflat(_flat(b), {b"hooklab.segment": b"1-10-10"})),
    ("the unreadable marker", lambda b: b"HLF0"),
]


def _lz4_json(value: Any) -> bytes:
    import pyarrow as pa

    raw = json.dumps(value).encode()
    return len(raw).to_bytes(8, "little") + pa.compress(raw, "lz4", asbytes=True)


def _damage_flat(path: str, row: tuple[str, Callable[[bytes], bytes]]) -> None:
    blob = row[1](_blob(path, f"SELECT data FROM segment_summaries WHERE kind = '{FLAT_KIND}'"))
    _update(path, f"UPDATE segment_summaries SET data = ? WHERE kind = '{FLAT_KIND}'", (blob,))


@pytest.fixture(scope="module")
def flat_reads(all_reads) -> dict[str, Result]:  # type: ignore[no-untyped-def]
    return _table_reads(all_reads, test_damaged_kept_payloads_are_parsed_again)


@pytest.mark.parametrize(("damage", "change"), FLAT, ids=[d for d, _ in FLAT])
def test_damaged_kept_payloads_are_parsed_again(pristine, flat_reads, damage, change) -> None:  # type: ignore[no-untyped-def]
    _same_or(_got(flat_reads, damage), pristine[1], {})


# -- the search index ---------------------------------------------------------------------------
SEARCH: list[tuple[str, str]] = [
    ("index blocks zeroed", "UPDATE captures_fts_data SET block = zeroblob(length(block))"),
    ("index blocks garbled", "UPDATE captures_fts_data SET block = randomblob(length(block)) WHERE id > 10"),
    ("index blocks truncated", "UPDATE captures_fts_data SET block = substr(block, 1, length(block) / 2)"),
    ("index blocks gone", "DELETE FROM captures_fts_data WHERE id > 10"),
    ("index structure garbled", "UPDATE captures_fts_data SET block = randomblob(40) WHERE id = 10"),
    ("index config garbled", "UPDATE captures_fts_config SET v = 99"),
]


@pytest.fixture(scope="module")
def search_reads(all_reads) -> dict[str, Result]:  # type: ignore[no-untyped-def]
    return _table_reads(all_reads, test_a_damaged_search_index_fails_search_alone)


@pytest.mark.parametrize(("damage", "sql"), SEARCH, ids=[d for d, _ in SEARCH])
def test_a_damaged_search_index_fails_search_alone(pristine, search_reads, damage, sql) -> None:  # type: ignore[no-untyped-def]
    """SQLite's FTS5 reads its own index (hooklab hands it no offsets): damage there is
    SQLite's error, or other matches (the file's owner could as well have changed the
    captures themselves); never a crash, and no other read changes."""
    want = pristine[1]
    got = dict(_got(search_reads, damage))
    status, value = got.pop("search")
    # (SQLite's own errors: sqlite3.*, or MemoryError, which Python's sqlite3 raises for
    # SQLITE_NOMEM, what FTS5 answers to some random structure records)
    assert status == "ok" or value.startswith(("sqlite3.", "builtins.MemoryError")), value
    if status == "ok":
        assert all(0 < i <= N for ids in value for i in ids)
    _same_or(got, want, {})


def _tables() -> list[tuple[Callable[..., None], list[Any], Callable[[str, Any], None]]]:
    """Each table of damage: (its test, its rows, the damage of a copy by a row)."""
    return [
        (test_a_damaged_segment_is_read_from_the_captures_table, SEGMENT_BLOBS, _damage_segment),
        (test_a_segment_row_that_lies_is_not_believed, SEGMENT_ROWS, _damage_segment_row),
        (test_a_damaged_schema_summary_is_made_again, SUMMARIES, _damage_summary),
        (test_damaged_kept_payloads_are_parsed_again, FLAT, _damage_flat),
        (test_a_damaged_search_index_fails_search_alone, SEARCH,
         lambda path, row: _update(path, row[1])),
    ]
