"""JSON Lines records with a time or a status that is missing or wrong, read as a HAR
import reads them (tests/test_har_hostile_entries.py).

``hooklab.load_jsonl`` stamped a line without ``received_at`` (or with a number there) with
the time of the import, read a time without a UTC offset as UTC, and imported a line without
``status`` (or with ``0``, ``false``, ``""``) as status 200: all without a word; and it
refused ``"status": 200.0`` and ``"404"``, which a HAR import reads. Now what is present but
wrong refuses the file, naming the line and the field; what is missing is imported with a
stand-in, and one warning names the lines: no time is the time of the import, a time
without its offset is read as UTC, no status is status 0 (what hooklab's own exports write
for a request that got no answer: a WebSocket recording's failed connect).

Both ways a file is read: in this process, and by helper processes (a big file:
``hooklab.export.jsonl.HELPER_BYTES`` made small here, so that a small file takes that
path; the helpers are waited for, so that they make every range they can). Real files, real
helper processes, ``hooklab.load_jsonl`` as a user calls it.
"""

from __future__ import annotations

import base64
import json
import socket
import warnings
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import _hostile_times as shared
import pytest
from _hostile_times import ABSENT, KEPT, NOW, UTC, Change, Expected, Row, good, time_cases

import hooklab
import hooklab.export.jsonl as J
from hooklab.explore import parallel

pytestmark = pytest.mark.timeout(300)

SMALL_N, BIG_N = 3, 120  # records in a small file and in a big one
RANGE = 8 * 1024  # bytes of a helper's range here (a big file: 5 or more)


def record(i: int) -> dict[str, Any]:
    """Line ``i`` as hooklab exports a capture (``lab.export(path, fmt="jsonl")``)."""
    return {
        "id": i + 1, "kind": "http",
        "received_at": f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}.123000+02:00",
        "method": "POST", "path": f"/hooks/{i}", "bin": "hooks",
        "url": f"http://127.0.0.1:8000/hooks/{i}?x=1", "query": {"x": ["1"]},
        "headers": [["Content-Type", "application/json"], ["X-Pad", "p" * 150]],
        "remote_addr": "127.0.0.1", "content_type": "application/json", "size": 8,
        "status": 201, "provider": None, "event_type": None, "delivery_id": None,
        "verified": None, "verify_reason": None, "duplicate": False, "handshake": None,
        "body_b64": base64.b64encode(b'{"n": 1}').decode(),
    }


def field(name: str, value: Any) -> Change:
    def change(r: dict[str, Any]) -> None:
        if value is ABSENT:
            del r[name]
        else:
            r[name] = value
    return change


def received(value: Any) -> Change:
    return field("received_at", value)


def status(value: Any) -> Change:
    return field("status", value)


def ws(value: Any) -> Change:
    """A recorded WebSocket message's line (its status is a close code) with status ``value``."""
    def change(r: dict[str, Any]) -> None:
        r.update(kind="ws", method="CLOSE", url="ws" + r["url"][len("http"):])
        status(value)(r)
    return change


def both(*changes: Change) -> Change:
    def change(r: dict[str, Any]) -> None:
        for c in changes:
            c(r)
    return change


UNTIMED, NAIVE = shared.untimed("received_at", "line"), shared.naive("received_at", "line")
UNANSWERED = ("1 line has no status (line {n}): imported with status 0, as requests that "
              "got no answer")
WHOLE = "is not an HTTP status (a whole number)"

#: (how the middle line differs from a good one, what comes of it): a capture
#: ``(received_at: NOW, KEPT or the time; status; the warning's words or None)``, or the
#: words of the error refusing the file (after "line <n> is not a capture ("); the times as
#: the HAR import's table (tests/_hostile_times.py)
CASES: dict[str, tuple[Change, Expected]] = {
    # -- received_at ------------------------------------------------------------------------
    "time: as the export writes it": (
        received("2024-05-01T10:00:00.123000+02:00"),
        (datetime(2024, 5, 1, 8, 0, 0, 123000, tzinfo=UTC), 201, None)),
    **time_cases("received_at", "line", received),
    # -- status ------------------------------------------------------------------------------
    "status: 404": (status(404), (KEPT, 404, None)),
    "status: as text": (status("404"), (KEPT, 404, None)),
    "status: 200.0 (the JSON number 200)": (status(200.0), (KEPT, 200, None)),
    "status: 0 (no answer, as the export writes it)": (status(0), (KEPT, 0, None)),
    "status: '0'": (status("0"), (KEPT, 0, None)),
    "status: 999": (status(999), (KEPT, 999, None)),
    "status: missing": (status(ABSENT), (KEPT, 0, UNANSWERED)),
    "status: null": (status(None), (KEPT, 0, UNANSWERED)),
    "status: 200.9": (status(200.9), f"status 200.9 {WHOLE}"),
    "status: 1e3": (status(1e3), "status 1000 is not an HTTP status (0 to 999)"),
    "status: true": (status(True), f"status True {WHOLE}"),
    "status: false": (status(False), f"status False {WHOLE}"),
    "status: -1": (status(-1), "status -1 is not an HTTP status (0 to 999)"),
    "status: '-1'": (status("-1"), "status -1 is not an HTTP status (0 to 999)"),
    "status: 1000": (status(1000), "status 1000 is not an HTTP status (0 to 999)"),
    "status: 2**70": (status(2**70), f"status {2**70} is not an HTTP status (0 to 999)"),
    "status: 'OK'": (status("OK"), f"status 'OK' {WHOLE}"),
    "status: ''": (status(""), f"status '' {WHOLE}"),
    "status: ' 404'": (status(" 404"), f"status ' 404' {WHOLE}"),
    "status: '404.0'": (status("404.0"), f"status '404.0' {WHOLE}"),
    "status: Arabic digits": (
        status("\u0664\u0660\u0664"), f"status '\u0664\u0660\u0664' {WHOLE}"),
    "status: an escape sequence": (status("\x1b[2J"), f"status '\\x1b[2J' {WHOLE}"),
    "status: a list": (status([200]), f"status [200] {WHOLE}"),
    "status: an object": (status({}), f"status {{}} {WHOLE}"),
    # -- a recorded WebSocket message: its status is a close code ----------------------------
    "ws: close code 1000": (ws(1000), (KEPT, 1000, None)),
    "ws: close code 4999": (ws(4999), (KEPT, 4999, None)),
    "ws: close code as text": (ws("4000"), (KEPT, 4000, None)),
    "ws: no status": (ws(ABSENT), (KEPT, 0, UNANSWERED)),
    "ws: close code 5000": (
        ws(5000), "status 5000 is not an HTTP status (a WebSocket close code, 0 to 4999)"),
    "ws: close code 1000.5": (ws(1000.5), f"status 1000.5 {WHOLE}"),
    # -- both at once ------------------------------------------------------------------------
    "no offset and no status": (
        both(received("2024-05-01T10:00:00"), status(ABSENT)),
        (datetime(2024, 5, 1, 10, tzinfo=UTC), 0, f"{NAIVE}; {UNANSWERED}")),
    "no time and no status": (
        both(received(ABSENT), status(None)), (NOW, 0, f"{UNTIMED}; {UNANSWERED}")),
    "a wrong time before a wrong status": (
        both(received("yesterday"), status("OK")),
        "received_at 'yesterday' is not an ISO 8601 time"),
}


def write(path: Path, records: list[dict[str, Any]]) -> list[int]:
    """The records as JSON Lines, as a user's file may hold them: a byte order mark, blank
    lines, CRLF line ends, no line end after the last. Returns each record's line number."""
    numbers, number = [], 0
    with open(path, "wb") as f:
        f.write(b"\xef\xbb\xbf")
        for i, r in enumerate(records):
            if i % 10 == 3:
                f.write(b"\n \r\n")  # (two blank lines: skipped, counted)
                number += 2
            number += 1
            numbers.append(number)
            end = b"" if i == len(records) - 1 else b"\r\n" if i % 7 == 0 else b"\n"
            f.write(json.dumps(r, ensure_ascii=i % 2 == 0).encode() + end)
    return numbers


#: in the last import by helpers: per range, whether a helper answered it, and how many
#: ranges this process made itself (a helper's answer refused, or none)
ANSWERED: list[bool] = []
MADE_HERE: list[tuple[int, int, int]] = []


@pytest.fixture(params=["small", "big"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``"small"``: a file read in this process; ``"big"``: one helper processes read (the
    sizes that decide it made small, and each range waited for until a helper answers it).
    Yields the way; checks that the helpers were started for a big file and that none is
    left."""
    before = shared.children()
    starts: list[bool] = []
    ANSWERED.clear()
    MADE_HERE.clear()
    if request.param == "big":
        starts = shared.helpers_for_small_files(monkeypatch, RANGE)
        take, prepare = parallel.Helpers.take, J._prepare

        def patient(self: Any, key: Any, give_up: Any = None) -> Any:
            """A range a helper has not been handed yet is waited for (``answer``), not made
            here: every range a helper can make is its."""
            if key in self._slots:
                got = take(self, key, give_up)
            else:
                got = self.answer(key, 60, give_up)  # (which takes it once handed out)
            ANSWERED.append(got is not None)
            return got

        def here(*args: Any) -> Any:
            MADE_HERE.append(args[1])
            return prepare(*args)

        monkeypatch.setattr(parallel.Helpers, "take", patient)
        monkeypatch.setattr(J, "_prepare", here)
    yield request.param
    if request.param == "big":
        assert starts and all(starts), "the helper processes were not started"
        assert ANSWERED and all(ANSWERED), "a range no helper answered"
    shared.none_left(before)


def warned(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if str(w.message).startswith("hooklab:")]


def load(path: Path, **kw: Any) -> tuple[list[Row], list[str]]:
    """The captures ``(method, path, status, received_at)`` and hooklab's warnings."""
    return shared.imported(hooklab.load_jsonl, path, **kw)


@pytest.mark.parametrize("case", list(CASES))
def test_a_line_with_a_missing_or_wrong_time_or_status(tmp_path: Path, way: str,
                                                       case: str) -> None:
    change, expected = CASES[case]
    n = SMALL_N if way == "small" else BIG_N
    middle = n // 2
    records = [record(i) for i in range(n)]
    change(records[middle])
    path = tmp_path / "captures.jsonl"
    lines = write(path, records)
    if way == "big":
        assert path.stat().st_size > 4 * RANGE
    if isinstance(expected, str):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(ValueError) as refused:
                load(path)
        assert str(refused.value) == (f"{str(path)!r}: line {lines[middle]} is not a capture "
                                      f"({expected})")
        assert warned(caught) == []
        return
    when, answered, told = expected
    before = datetime.now(UTC)
    got, said = load(path)
    after = datetime.now(UTC)
    want = [good(i) for i in range(n)]
    method = "CLOSE" if case.startswith("ws:") else "POST"
    want[middle] = (method, f"/hooks/{middle}", answered,
                    {NOW: got[middle][3], KEPT: want[middle][3]}.get(when, when))
    assert got == want
    if when is NOW:
        assert before <= got[middle][3] <= after
    assert said == ([] if told is None else
                    [f"hooklab: {str(path)!r}: {told.format(n=lines[middle])}"])
    if way == "big":  # (a time only this process may give: its range made here, alone)
        assert len(MADE_HERE) == (1 if when is NOW else 0)


def test_many_such_lines_make_one_warning_naming_them(tmp_path: Path, way: str) -> None:
    """Across ranges (a big file): the first five lines of each, in line order, and how
    many."""
    n = SMALL_N * 4 if way == "small" else BIG_N
    records = [record(i) for i in range(n)]
    shared.make_many(records, received, status(ABSENT))
    path = tmp_path / "many.jsonl"
    lines = write(path, records)
    before = datetime.now(UTC)
    got, said = load(path)
    after = datetime.now(UTC)
    assert got == shared.many_wanted(got, n)
    assert before <= got[1][3] <= got[n - 2][3] <= after  # (in line order)
    shown = ", ".join(str(lines[i]) for i in shared.many(n)[2][:5])
    assert said == [
        f"hooklab: {str(path)!r}: 2 lines have no received_at (lines {lines[1]}, "
        f"{lines[n - 2]}): stamped with the time of this import; 1 line's received_at names "
        f"no UTC offset (line {lines[n // 2]}): read as UTC; 6 lines have no status (lines "
        f"{shown}, ...): imported with status 0, as requests that got no answer"]


def test_thousands_of_lines_without_them_make_one_line(tmp_path: Path, way: str) -> None:
    """A file written by hand (no id, no time, no status on any line): every capture is
    imported, and the one warning counts them."""
    n = 3_000
    path = tmp_path / "by-hand.jsonl"
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"method": "post", "path": f"/orders/{i}",
                                "body": json.dumps({"n": i, "pad": "x" * 40})}) + "\n")
    got, said = load(path)
    assert [(m, p, s) for m, p, s, _ in got] == [("POST", f"/orders/{i}", 0) for i in range(n)]
    assert said == [
        f"hooklab: {str(path)!r}: 3,000 lines have no received_at (lines 1, 2, 3, 4, 5, ...): "
        "stamped with the time of this import; 3,000 lines have no status (lines 1, 2, 3, 4, "
        "5, ...): imported with status 0, as requests that got no answer"]


@pytest.mark.parametrize("skip", [0, 2, 3, 7, 100])
def test_an_import_resumed_with_skip_names_only_the_lines_it_stored(
        tmp_path: Path, way: str, skip: int) -> None:
    """``skip=N`` (an interrupted import's rest): the first ``N`` records were stored by the
    import before, which gave them their stand-ins; this one names only the lines it
    stores."""
    n = 60 if way == "small" else BIG_N
    records = [record(i) for i in range(n)]
    for i in (1, 2, 5, 50):
        del records[i]["status"]
    path = tmp_path / "resumed.jsonl"
    lines = write(path, records)
    got, said = load(path, skip=skip)
    assert [(p, s) for _, p, s, _ in got] == [
        (f"/hooks/{i}", 0 if i in (1, 2, 5, 50) else 201) for i in range(skip, n)]
    left = [i for i in (1, 2, 5, 50) if i >= skip]
    if not left:
        assert said == []
        return
    which = ", ".join(str(lines[i]) for i in left)
    assert said == [f"hooklab: {str(path)!r}: {len(left)} line{'' if len(left) == 1 else 's'} "
                    f"{'has' if len(left) == 1 else 'have'} no status "
                    f"(line{'' if len(left) == 1 else 's'} {which}): imported with status 0, "
                    "as requests that got no answer"]


def test_a_file_refused_by_its_last_line_names_that_line(tmp_path: Path, way: str) -> None:
    """The lines before it were read (and, in a big file, stored from the helpers' rows),
    some of them with stand-ins: the file is still refused, naming the line, and nothing
    is said of the stand-ins."""
    n = SMALL_N if way == "small" else BIG_N
    records = [record(i) for i in range(n)]
    del records[0]["status"]
    records[-1]["status"] = 200.9
    path = tmp_path / "last.jsonl"
    lines = write(path, records)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError) as refused:
            load(path)
    assert str(refused.value) == (f"{str(path)!r}: line {lines[-1]} is not a capture "
                                  f"(status 200.9 {WHOLE})")
    assert warned(caught) == []


def test_read_jsonl_gives_the_stand_ins_and_warns_once_at_the_end(tmp_path: Path) -> None:
    records = [record(i) for i in range(4)]
    del records[1]["status"]
    records[2]["received_at"] = "2024-05-01T10:00:00"
    records[3]["status"] = "404"
    path = tmp_path / "read.jsonl"
    lines = write(path, records)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read = J.read_jsonl(path)
        first = next(read)
        assert warned(caught) == []  # (not before the last line is read)
        rest = list(read)
    assert [(r["path"], r["status"], r["received_at"]) for r in [first, *rest]] == [
        ("/hooks/0", 201, datetime(2024, 5, 1, 8, 0, 0, 123000, tzinfo=UTC)),
        ("/hooks/1", 0, datetime(2024, 5, 1, 8, 0, 1, 123000, tzinfo=UTC)),
        ("/hooks/2", 201, datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("/hooks/3", 404, datetime(2024, 5, 1, 8, 0, 3, 123000, tzinfo=UTC))]
    assert warned(caught) == [
        f"hooklab: {str(path)!r}: 1 line's received_at names no UTC offset (line "
        f"{lines[2]}): read as UTC; 1 line has no status (line {lines[1]}): imported with "
        "status 0, as requests that got no answer"]
    assert caught[0].filename == __file__  # (it points at the caller's line)


def test_a_websocket_recordings_failed_connect_comes_back_with_status_0(tmp_path: Path) -> None:
    """A recording's ERROR (a connect refused: no answer, status 0) exported as JSON Lines
    came back as status 200 (0 was read as "not given"); HAR always kept it. (A small file:
    read in this process; the helpers' way reads status 0 in the table above.)"""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lab = hooklab.HookLab(port=0, db=":memory:")
    try:
        summary = hooklab.ws.record(f"ws://127.0.0.1:{port}/feed", duration=10,
                                    connect_timeout=5, lab=lab)
        assert summary.stopped_by.startswith("could not connect")
        assert [(c.method, c.status) for c in lab.query(kind="ws")] == [("ERROR", 0)]
        lab.export(tmp_path / "ws.jsonl", fmt="jsonl")
        lab.export(tmp_path / "ws.har", fmt="har")
    finally:
        lab.stop()
    for name, loaded in (("ws.jsonl", hooklab.load_jsonl), ("ws.har", hooklab.load_har)):
        path = tmp_path / name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            back = loaded(path)
        try:
            assert [(c.kind, c.method, c.path, c.status) for c in back.captures] == [
                ("ws", "ERROR", "/feed", 0)], name
        finally:
            back.stop()
        assert warned(caught) == []
