"""A big JSON Lines import (``hooklab.load_jsonl``) has helper processes prepare the rows of byte
ranges of the file (``hooklab.export.jsonl.load``): the store must be exactly the one a single
process makes, a bad line must raise the same error after storing the same captures, whatever
the helpers do (answer, die, hang, lie, answer garbage), and no helper may outlive the import.

Real files, real SQLite stores, real helper processes, through ``hooklab.load_jsonl`` as a user
calls it. The file is small (tests stay fast), so the sizes that decide when helpers start are
made small, and this process is slowed down a little per range so that helpers, ready after
their imports, get a share.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from test_schema_parallel import children, given  # noqa: F401  (given: a fixture, used below)

import hooklab
import hooklab.export.jsonl as J
from hooklab.explore import parallel
from hooklab.export import read_har
from hooklab.signatures.book import SecretBook
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(300)

N = 12_000  # captures: more than two of the store's bulk chunks (5,000)
RANGE = 48 * 1024  # bytes per helper request here (about 80 ranges)
SLOW = 0.015  # seconds this process takes longer per range it prepares itself

STRIPE = [["Content-Type", "application/json"], ["Stripe-Signature", "t=1,v1=00"],
          ["User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"]]
GITHUB = [["Content-Type", "application/json"], ["X-GitHub-Event", "push"],
          ["X-GitHub-Delivery", "d-1"], ["User-Agent", "GitHub-Hookshot/abc"]]


def capture(i: int, rng: random.Random) -> dict[str, Any]:
    """One line of a hooklab export, of a varied kind (detected senders, binary and empty
    bodies, text from many scripts, repeated deliveries, offsets, queries)."""
    kind = i % 7
    if kind == 0:
        body = json.dumps({"id": f"evt_{i % 900}", "type": "invoice.paid",
                           "data": {"object": {"amount": rng.randint(1, 10**6)}}}).encode()
        headers, path = STRIPE, "/stripe"
    elif kind == 1:
        body = json.dumps({"ref": "refs/heads/main", "commits": [{"id": i}] * (i % 3)}).encode()
        headers, path = GITHUB, "/gh/push"
    elif kind == 2:
        body = rng.randbytes(rng.randint(0, 300))  # binary, invalid UTF-8
        headers, path = [["Content-Type", "application/octet-stream"]], "/bin"
    elif kind == 3:
        body = b""
        headers, path = [], "/empty"
    elif kind == 4:
        body = json.dumps({"name": "Zoë ☃ 東京 🚀", "n": i}, ensure_ascii=False).encode()
        headers, path = [["Content-Type", "application/json; charset=utf-8"]], "/ünïcode/ß"
    elif kind == 5:
        body = b"a=1&b=" + str(i).encode()
        headers, path = [["Content-Type", "application/x-www-form-urlencoded"]], "/form"
    else:
        body = b"<xml>" + b"x" * rng.randint(0, 2000) + b"</xml>"
        headers, path = [["Content-Type", "text/xml"]], "/xml"
    line: dict[str, Any] = {
        "id": i + 1, "kind": "http", "method": "POST", "path": path,
        "query": {"q": [str(i)]} if i % 5 == 0 else {},
        "received_at": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:00:00{'+05:30' if i % 11 == 0 else 'Z'}",
        "headers": headers, "remote_addr": "127.0.0.1", "status": 200 + (i % 3) * 100,
        "body_b64": base64.b64encode(body).decode(),
    }
    if i % 13 == 0:  # (to one bin: a repeated delivery id is a retry to the same endpoint)
        line.update(provider="custom", event_type=f"custom.{i % 4}", delivery_id=f"c-{i % 50}",
                    verified=bool(i % 2), verify_reason="kept", path="/custom")
    return line


def write_file(path: Path, n: int = N, bad: dict[int, bytes] | None = None) -> list[dict[str, Any]]:
    """``n`` captures as JSON Lines, with blank lines, CRLF endings and no newline at the end;
    ``bad`` replaces the line of those capture numbers. Returns the captures written."""
    rng = random.Random(5)
    out: list[dict[str, Any]] = []
    with open(path, "wb") as f:
        for i in range(n):
            if i % 97 == 0:
                f.write(b"\n   \n")  # blank lines are skipped, but counted
            if bad and i in bad:
                f.write(bad[i] + b"\n")
                continue
            line = capture(i, rng)
            out.append(line)
            end = b"" if i == n - 1 else (b"\r\n" if i % 17 == 0 else b"\n")
            f.write(json.dumps(line, ensure_ascii=i % 2 == 0).encode() + end)
    return out


@pytest.fixture()
def eager(monkeypatch: pytest.MonkeyPatch, given: list[bool]) -> list[bool]:  # noqa: F811
    """Helpers for this small file (two of them), this process slowed per range; returns the
    list of whether each range came from a helper."""
    monkeypatch.setattr(J, "HELPER_BYTES", 1)
    monkeypatch.setattr(J, "RANGE_BYTES", RANGE)
    monkeypatch.setattr(parallel, "PROCESSES", 2)
    prepare = J._prepare

    def slow(*args: Any) -> Any:
        time.sleep(SLOW)
        return prepare(*args)

    start = parallel.start

    def ready(*args: Any, **kw: Any) -> Any:  # the import begins once a helper took a range
        helpers = start(*args, **kw)  # (or all of them ended): ready after ~0.5 s, or more
        end = time.monotonic() + 20  # on a busy machine
        while (helpers is not None and not helpers._slots and time.monotonic() < end
               and any(p.poll() is None for p in helpers._procs)):
            time.sleep(0.01)
        return helpers

    monkeypatch.setattr(parallel, "start", ready)

    monkeypatch.setattr(J, "_prepare", slow)
    return given


def assert_no_helper_left(before: set[int]) -> None:
    end = time.monotonic() + 10
    while set(children()) - before and time.monotonic() < end:
        time.sleep(0.05)
    assert set(children()) <= before


def table(db: str) -> list[tuple]:
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT * FROM captures ORDER BY id").fetchall()
    con.close()
    return rows


_ALONE: dict[bytes, tuple[list[tuple], str | None]] = {}


def alone(path: Path, db: str) -> tuple[list[tuple], str | None]:
    """What one process makes of the file: the rows stored and the error raised (worked out
    once for each file content)."""
    import hashlib

    key = hashlib.sha256(path.read_bytes()).digest()
    if key not in _ALONE:  # (errors name the file: kept without its name)
        rows, error = _alone(path, db)
        _ALONE[key] = rows, None if error is None else error.replace(str(path), "<file>")
    rows, error = _ALONE[key]
    return rows, None if error is None else error.replace("<file>", str(path))


def _alone(path: Path, db: str) -> tuple[list[tuple], str | None]:
    error = None
    store = CaptureStore(db)
    try:
        store.add_many(J.read_jsonl(path))
    except ValueError as exc:
        error = str(exc)
    finally:
        store.close()
    return table(db), error


def imported(path: Path, db: str) -> tuple[list[tuple], str | None]:
    error = None
    try:
        hooklab.load_jsonl(path, db=db).stop()
    except ValueError as exc:
        error = str(exc)
    return table(db), error


def test_the_store_is_the_one_a_single_process_makes(tmp_path: Path, eager: list[bool]) -> None:
    path = tmp_path / "captures.jsonl"
    written = write_file(path)
    before = set(children())
    rows, error = imported(os.fsencode(path), str(tmp_path / "helped.sqlite3"))  # (bytes: fine)
    assert error is None
    assert sum(eager) >= 10 and len(eager) == len(J.ranges(path, RANGE))  # helpers took part
    assert set(children()) <= before
    want, _ = alone(path, str(tmp_path / "alone.sqlite3"))
    assert rows == want
    # and the values themselves, from the file
    assert len(rows) == len(written) == N
    lab = hooklab.open(str(tmp_path / "helped.sqlite3"))
    try:
        df = lab.dataframe()
        assert [c.body for c in lab.captures] == [base64.b64decode(c["body_b64"]) for c in written]
        assert df["path"].tolist() == [c["path"] for c in written]
        providers = df["provider"].astype(object).tolist()
        assert providers[0::7][:100] == ["custom" if (7 * k) % 13 == 0 else "stripe"
                                         for k in range(100)]
        assert providers[1::7][:50] == ["custom" if (7 * k + 1) % 13 == 0 else "github"
                                        for k in range(50)]
        assert lab.captures[-1].received_at.isoformat() == "2026-11-16T23:00:00+00:00"
        offset = lab.captures[0].received_at  # +05:30
        assert offset.isoformat() == "2026-10-31T18:30:00+00:00"
        dup = df[df["provider"] == "custom"]["duplicate"].tolist()
        assert dup[:50] == [False] * 50 and all(dup[50:])  # delivery ids c-0 .. c-49, then again
    finally:
        lab.stop()


#: lines that are not captures, where they are (capture number) - each must raise what one
#: process raises, after storing the same captures
BAD = {
    "first line": (0, b"{not json"),
    "in the first chunk": (1_234, b'{"status": 1000}'),
    "right after the first chunk": (5_000, b"[1, 2]"),
    "in a later range": (9_876, b'{"headers": [["a"]]}'),
    "bad base64": (10_001, b'{"body_b64": "@@@"}'),
    "a number too large": (7_777, b'{"status": 1' + b"0" * 30 + b"}"),
    "invalid UTF-8": (6_000, b'{"path": "\xff\xfe"}'),
    "a NUL byte": (11_111, b'{"path": "/a"}\x00'),
    "the last line": (N - 1, b'{"query": {"a": "b"}}'),
    "a truncated object": (8_500, b'{"path": "/a", "headers": [["x", "y"]'),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_line_raises_the_same_error_after_the_same_captures(
        case: str, tmp_path: Path, eager: list[bool]) -> None:
    at, line = BAD[case]
    path = tmp_path / "captures.jsonl"
    write_file(path, bad={at: line})
    rows, error = imported(path, str(tmp_path / "helped.sqlite3"))
    want_rows, want_error = alone(path, str(tmp_path / "alone.sqlite3"))
    assert want_error is not None and "is not a capture" in want_error
    assert error == want_error
    assert len(rows) == len(want_rows) == at // 5_000 * 5_000  # whole chunks before it stay
    assert rows == want_rows


#: what a helper process may do instead of its job; each must cost nothing but time
HOSTILE = {
    "exits at once": "import sys; sys.exit(3)",
    "says it is ready, then hangs": "import sys, time; sys.stdin.buffer.readline();"
                                    " sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush();"
                                    " sys.stdin.buffer.readline(); time.sleep(60)",
    "answers garbage": "import sys; sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush()\n"
                       "for line in sys.stdin.buffer:\n"
                       "    sys.stdout.buffer.write((9).to_bytes(8, 'little') + b'junk!junk');"
                       " sys.stdout.buffer.flush()",
    "answers another range's rows": "LIAR",
    "answers rows of the wrong shape": "SHAPE",
    "answers bodies as text": "BODY",
    "answers a status as text": "STATUS",
    "answers a huge length": "import sys; sys.stdin.buffer.readline(); sys.stdout.buffer.write(b'HLH1');"
                             " sys.stdout.buffer.flush(); sys.stdin.buffer.readline();"
                             " sys.stdout.buffer.write((1 << 62).to_bytes(8, 'little'));"
                             " sys.stdout.buffer.flush(); sys.stdin.buffer.read()",
    "answers empty": "import sys; sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush()\n"
                     "for line in sys.stdin.buffer:\n"
                     "    sys.stdout.buffer.write(bytes(8)); sys.stdout.buffer.flush()",
}

_TWISTED = (  # a real helper whose answers are changed before they are sent
    "{boot}; import marshal, json; from hooklab.export import jsonl as J; "
    "f = open(h['source'], 'rb'); first = None; "
    "sys.stdout.buffer.write(b'HLH1'); sys.stdout.buffer.flush()\n"
    "for line in sys.stdin.buffer:\n"
    "    key = tuple(json.loads(line)); first = first or key\n"
    "    k, rows, local = marshal.loads(J.prepare_range(f, key))\n"
    "    {twist}\n"
    "    p = marshal.dumps((k, rows, local))\n"
    "    sys.stdout.buffer.write(len(p).to_bytes(8, 'little') + p); sys.stdout.buffer.flush()"
)
TWISTS = {
    "LIAR": "k, rows, local = marshal.loads(J.prepare_range(f, first))",
    "SHAPE": "rows = [r[:-1] for r in rows]",
    "BODY": "rows = [r[:7] + [r[7].decode('latin-1')] + r[8:] for r in rows]",
    "STATUS": "rows = [r[:10] + [str(r[10])] + r[11:] for r in rows]",
}


@pytest.mark.parametrize("behaviour", list(HOSTILE))
def test_a_helper_that_misbehaves_costs_nothing_but_time(
        behaviour: str, tmp_path: Path, eager: list[bool], monkeypatch: pytest.MonkeyPatch) -> None:
    boot = HOSTILE[behaviour]
    if boot in TWISTS:
        boot = _TWISTED.format(boot=parallel._BOOT.replace("serve(h)", "pass"), twist=TWISTS[boot])
    monkeypatch.setattr(parallel, "_BOOT", boot)
    hangs = behaviour == "says it is ready, then hangs"
    monkeypatch.setattr(parallel, "TAKE_TIMEOUT", 2.0 if hangs else 60.0)
    path = tmp_path / "captures.jsonl"
    write_file(path, bad={11_500: b"{oops"})
    before = set(children())
    t0 = time.monotonic()
    rows, error = imported(path, str(tmp_path / "helped.sqlite3"))
    took = time.monotonic() - t0
    want_rows, want_error = alone(path, str(tmp_path / "alone.sqlite3"))
    assert error == want_error and "line" in (error or "")
    assert rows == want_rows and len(rows) == 10_000
    if behaviour in ("answers garbage", "answers another range's rows",
                     "answers rows of the wrong shape", "answers bodies as text",
                     "answers a status as text"):
        assert True in eager  # they did answer: what they answered was refused
    else:
        assert True not in eager
    assert took < 60  # a hung helper costs one TAKE_TIMEOUT
    assert_no_helper_left(before)


@pytest.mark.parametrize("budget", ["ranges", "bytes"])
def test_helpers_run_only_two_ranges_ahead_of_the_store(budget: str, tmp_path: Path,
                                                        eager: list[bool],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if budget == "bytes":  # any answer fills the budget: one waiting per helper at most
        monkeypatch.setattr(J, "ANSWER_BYTES", 1)
    path = tmp_path / "captures.jsonl"
    write_file(path)
    most: list[int] = []
    take = parallel.Helpers.take

    def watched(self: Any, key: Any) -> Any:
        time.sleep(0.02)  # the store is slow: helpers would run far ahead
        most.append(sum(s.done.is_set() for s in list(self._slots.values())))
        return take(self, key)

    monkeypatch.setattr(parallel.Helpers, "take", watched)
    rows, error = imported(path, str(tmp_path / "helped.sqlite3"))
    assert error is None and len(rows) == N
    assert sum(eager) >= 10
    assert max(most) <= (2 * 2 if budget == "ranges" else 2)  # two helpers
    assert max(most) >= (2 if budget == "ranges" else 1)  # (and they did run ahead)


def test_a_store_that_verifies_signatures_reads_the_file_itself(
        tmp_path: Path, eager: list[bool]) -> None:
    path = tmp_path / "captures.jsonl"
    write_file(path, n=300)
    book = SecretBook()
    book.set("stripe", "whsec_test", "stripe", None)
    store = CaptureStore(str(tmp_path / "verified.sqlite3"), secrets=book)
    before = set(children())
    try:
        assert J.load(store, path) == 300
        assert eager == []  # no helper was asked: they would not verify
        assert set(children()) <= before
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "verified.sqlite3") as con:
        got = con.execute("SELECT verified, verify_reason FROM captures WHERE bin = 'stripe'"
                          " AND verify_reason != 'kept'").fetchall()
    con.close()
    assert len(got) == 39 and all(v == 0 and r for v, r in got)  # checked, and wrong


@pytest.mark.parametrize(("ranges", "processes", "cpus", "want"), [
    (16, None, 1, 0), (16, None, 2, 2), (16, None, 8, 4), (15, None, 8, 0), (240, None, 16, 7),
    (240, 0, 8, 0), (240, 3, 1, 3),
])
def test_how_many_helpers_an_import_starts(ranges: int, processes: int | None, cpus: int,
                                           want: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "PROCESSES", processes)
    monkeypatch.setattr(parallel, "cpus", lambda: cpus)
    least = J.HELPER_BYTES // J.RANGE_BYTES
    assert parallel.wanted(ranges, least, 4, spare=0) == want


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_a_script_without_a_main_guard_imports_once(tmp_path: Path) -> None:
    """A person's script runs once (helpers are no ``multiprocessing`` spawn), and a module in
    the working directory named like one the helpers import takes no part."""
    path = tmp_path / "captures.jsonl"
    write_file(path)
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "orjson.py").write_text("raise SystemExit('the working directory was imported')\n")
    marker = tmp_path / "ran.txt"
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        with open({str(marker)!r}, "a") as f:
            f.write("ran\\n")
        import orjson  # (this process has its own before the working directory changes)
        sys.path.insert(0, "")
        os.chdir({str(evil)!r})
        import hooklab, hooklab.export.jsonl as J
        from hooklab.explore import parallel
        J.HELPER_BYTES, J.RANGE_BYTES, parallel.PROCESSES = 1, {RANGE}, 2
        p = J._prepare
        J._prepare = lambda *a: (time.sleep({SLOW}), p(*a))[1]
        s = parallel.start
        def ready(*a, **k):
            h = s(*a, **k); end = time.monotonic() + 20
            while h and not h._slots and time.monotonic() < end and any(p.poll() is None for p in h._procs):
                time.sleep(0.01)
            return h
        parallel.start = ready
        given = []; t = parallel.Helpers.take
        parallel.Helpers.take = lambda self, k: (lambda g: (given.append(g is not None), g)[1])(t(self, k))
        lab = hooklab.load_jsonl({str(path)!r}, db={str(tmp_path / "s.sqlite3")!r})
        print(len(lab.captures), sum(given))
        lab.stop()
    """))
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=240, env={**os.environ, "PYTHONPATH": ""})
    assert r.returncode == 0, r.stderr[-3000:]
    count, from_helpers = map(int, r.stdout.split())
    assert count == N and from_helpers >= 10
    assert marker.read_text() == "ran\n"


# -- HAR files as hooklab writes them (one entry a line) ------------------------------------------

HAR_N = 6_000


@pytest.fixture(scope="module")
def har_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HAR export of a lab holding the varied captures above."""
    folder = tmp_path_factory.mktemp("har")
    write_file(folder / "c.jsonl", n=HAR_N)
    lab = hooklab.load_jsonl(folder / "c.jsonl", db=str(folder / "c.sqlite3"))
    try:
        assert lab.export_har(folder / "c.har") == HAR_N
    finally:
        lab.stop()
    return folder / "c.har"


def lab_rows(lab: Any) -> list[tuple]:
    with lab.store.read_connection() as con:
        return con.execute("SELECT * FROM captures ORDER BY id").fetchall()


def har_alone(path: Path) -> tuple[list[tuple], str | None]:
    """What one process makes of a HAR file (``read_har`` of the whole file, then one bulk
    write), as ``load_har`` did before helpers: the rows and the error."""
    name = str(path)
    store = CaptureStore(":memory:")
    try:
        try:
            records = read_har(path)
            store.add_many(records)
        except ValueError as exc:
            text = str(exc)
            return [], text if text.startswith(repr(name)) else (
                f"{name!r}: HAR {text.replace('record', 'entry', 1)}")
        with store.read_connection() as con:
            return con.execute("SELECT * FROM captures ORDER BY id").fetchall(), None
    finally:
        store.close()


def har_helped(path: Path) -> tuple[list[tuple], str | None]:
    try:
        lab = hooklab.load_har(path)
    except ValueError as exc:
        return [], str(exc)
    try:
        return lab_rows(lab), None
    finally:
        lab.stop()


def test_a_har_file_is_read_by_helpers_into_the_same_store(har_file: Path, eager: list[bool]) -> None:
    before = set(children())
    rows, error = har_helped(har_file)
    assert error is None and len(rows) == HAR_N
    first, end = J.har_lines(har_file) or (0, 0)
    assert len(eager) == len(J.ranges(har_file, RANGE, first=first, end=end, kind=J.HAR_LINES))
    assert sum(eager) >= 10  # helpers took part
    assert set(children()) <= before
    want, _ = har_alone(har_file)
    assert rows == want
    assert [r[8] for r in rows[:50]] == [r[8] for r in want[:50]]  # (bodies, for a readable diff)


def _edit_lines(path: Path, out: Path, edit: Any) -> Path:
    lines = path.read_bytes().split(b"\n")
    out.write_bytes(b"\n".join(edit(lines)))
    return out


#: files that are not (or not quite) one entry a line: read as a whole, they give what one
#: process gives (the same table, or the same error)
HAR_CASES = {
    "pretty-printed (a valid HAR of another layout)": lambda ls: json.dumps(
        json.loads(b"\n".join(ls)), indent=2).encode().split(b"\n"),
    "no comma between two entries": lambda ls: ls[:3000] + [ls[3000].rstrip(b",")] + ls[3001:],
    "a comma after the last entry": lambda ls: ls[:-3] + [ls[-3] + b","] + ls[-2:],
    "a broken entry line": lambda ls: ls[:4000] + [ls[4000][:50]] + ls[4001:],
    "an entry that is no object": lambda ls: ls[:2000] + [b"1,"] + ls[2000:],
    "an entry whose request is no object": lambda ls: ls[:2500] + [b'{"request": 3},'] + ls[2500:],
    "NaN in an entry (Python's json reads it)": lambda ls: ls[:1500] + [
        ls[1500].replace(b'"time": 0', b'"time": NaN', 1)] + ls[1501:],
    "an integer past 64 bits": lambda ls: ls[:1500] + [
        ls[1500].replace(b'"time": 0', b'"time": ' + b"9" * 30, 1)] + ls[1501:],
    "text after the end": lambda ls: ls + [b"trailing"],
    "a first line that opens another list": lambda ls: [
        ls[0].replace(b'"entries": [', b'"entries": [], "pages": [')] + ls[1:],
    "a byte-order mark": lambda ls: [b"\xef\xbb\xbf" + ls[0]] + ls[1:],
    "invalid UTF-8 in an entry": lambda ls: ls[:1000] + [ls[1000].replace(b"POST", b"PO\xffST", 1)] + ls[1001:],
    "a blank line between entries": lambda ls: ls[:1000] + [b""] + ls[1000:],
    "CRLF line ends": lambda ls: [line + b"\r" for line in ls[:-1]] + ls[-1:],
}


@pytest.mark.parametrize("case", list(HAR_CASES))
def test_a_har_file_of_another_layout_gives_what_one_process_gives(
        case: str, har_file: Path, tmp_path: Path, eager: list[bool]) -> None:
    path = _edit_lines(har_file, tmp_path / "edited.har", HAR_CASES[case])
    before = set(children())
    rows, error = har_helped(path)
    want_rows, want_error = har_alone(path)
    assert error == want_error
    assert rows == want_rows
    if case in ("pretty-printed (a valid HAR of another layout)", "NaN in an entry (Python's json reads it)",
                "an integer past 64 bits", "a blank line between entries", "CRLF line ends",
                "a byte-order mark"):
        assert want_error is None and len(rows) == HAR_N  # (valid files: nothing lost)
    elif case == "a first line that opens another list":
        assert want_error is None and rows == []  # (log.entries is empty: pages are no entries)
    else:
        assert want_error is not None
    assert_no_helper_left(before)


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_captures_without_their_time_are_stamped_in_order(fmt: str, tmp_path: Path, har_file: Path,
                                                          eager: list[bool]) -> None:
    """A line without ``received_at`` (an entry without ``startedDateTime``) gets the time it
    is read at: in file order, as when one process reads it, never earlier than the line
    before it."""
    path = tmp_path / "captures.jsonl"
    if fmt == "har":  # (the HAR export of write_file(n=HAR_N) the module made once)
        lines = har_file.read_bytes().split(b"\n")
        lines[1:-2] = [re.sub(rb'"startedDateTime": "[^"]*", ', b"", line) for line in lines[1:-2]]
        path = tmp_path / "c.har"
        path.write_bytes(b"\n".join(lines))
        lab = hooklab.load_har(path)
    else:
        write_file(path, n=HAR_N)
        text = path.read_bytes()
        path.write_bytes(re.sub(rb'"received_at": "[^"]*", ', b"", text))
        lab = hooklab.load_jsonl(path, db=str(tmp_path / "untimed.sqlite3"))
    try:
        with lab.store.read_connection() as con:
            times = [t for (t,) in con.execute("SELECT received_us FROM captures ORDER BY id")]
    finally:
        lab.stop()
    assert len(times) == HAR_N
    assert times == sorted(times)
    assert times[-1] > 1_700_000_000 * 10**6  # (today, not 2026-11's)
