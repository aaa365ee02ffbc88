"""HAR entries other tools write with a time or an answer that is missing or wrong.

``hooklab.load_har`` imported an entry without ``startedDateTime`` (or with a number there)
at the time of the import, an entry without ``response`` as status 200, ``"status": 200.9``
as 200 and ``true`` as 200, a time without its UTC offset as UTC: all silently. Now what is
present but wrong refuses the file, naming the entry and the field (as a wrong method or URL
always did); what is missing (HAR 1.2 requires both fields, but a hand-written or cut-down
file may lack them) is imported with a stand-in, and one warning names the entries and the
field: no time is the time of the import, a time without its offset is read as UTC, no
answer is status 0 (a request that got no answer, as Chrome writes it).

Both ways a file is read: a small one as a whole, and a big one written one entry a line
(hooklab's own layout) by helper processes (``hooklab.export.jsonl.HELPER_BYTES`` made
small here, so that a small file takes that path). Real files, real helper processes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import _hostile_times as shared
import pytest
from _hostile_times import ABSENT, KEPT, NOW, UTC, Change, Expected, Row, good, time_cases

import hooklab
import hooklab.export.jsonl as J

pytestmark = pytest.mark.timeout(300)

SMALL_N, BIG_N = 3, 120  # entries in a small file and in a big one (one entry a line)


def entry(i: int) -> dict[str, Any]:
    """Entry ``i`` in the shape Chrome DevTools writes one (no ``_hooklab``)."""
    return {
        "startedDateTime": f"2024-05-01T10:{i // 60 % 60:02d}:{i % 60:02d}.123+02:00",
        "time": 12.5,
        "request": {"method": "POST", "url": f"http://127.0.0.1:8000/hooks/{i}?x=1",
                    "httpVersion": "HTTP/1.1", "cookies": [],
                    "headers": [{"name": "Content-Type", "value": "application/json"}],
                    "queryString": [{"name": "x", "value": "1"}], "headersSize": -1,
                    "bodySize": 8, "postData": {"mimeType": "application/json",
                                                "text": '{"n": 1}'}},
        "response": {"status": 201, "statusText": "Created", "httpVersion": "HTTP/1.1",
                     "cookies": [], "headers": [], "content": {"size": 0, "mimeType": "x"},
                     "redirectURL": "", "headersSize": -1, "bodySize": 0},
        "cache": {}, "timings": {"send": 0, "wait": 12, "receive": 0.5},
    }


def started(value: Any) -> Change:
    def change(e: dict[str, Any]) -> None:
        if value is ABSENT:
            del e["startedDateTime"]
        else:
            e["startedDateTime"] = value
    return change


def status(value: Any) -> Change:
    def change(e: dict[str, Any]) -> None:
        if value is ABSENT:
            del e["response"]["status"]
        else:
            e["response"]["status"] = value
    return change


def response(value: Any) -> Change:
    def change(e: dict[str, Any]) -> None:
        if value is ABSENT:
            del e["response"]
        else:
            e["response"] = value
    return change


def own(meta: dict[str, Any]) -> Change:
    """As hooklab exports a capture: ``_hooklab`` beside the HAR fields (a WebSocket
    message's URL is a ``ws://`` one)."""
    def change(e: dict[str, Any]) -> None:
        url = e["request"]["url"]
        e["_hooklab"] = {"id": 7, "path": url.split("?")[0][len("http://127.0.0.1:8000"):],
                         **meta}
        if meta.get("kind") == "ws":
            e["request"]["url"] = "ws" + url[len("http"):]
    return change


UNANSWERED = ("1 entry has no response status (entry {n}): imported with status 0, as "
              "requests that got no answer")

#: (how the middle entry differs from a good one, what comes of it): a capture
#: ``(received_at, NOW or KEPT; status; the warning's words or None)``, or the words of the error
#: refusing the file (after "HAR entry <n> is malformed ("); the times as the JSON Lines
#: import's table (tests/_hostile_times.py)
CASES: dict[str, tuple[Change, Expected]] = {
    # -- startedDateTime --------------------------------------------------------------------
    "time: as DevTools writes it": (
        started("2024-05-01T10:00:00.123+02:00"),
        (datetime(2024, 5, 1, 8, 0, 0, 123000, tzinfo=UTC), 201, None)),
    **time_cases("startedDateTime", "entry", started),
    # -- response.status ---------------------------------------------------------------------
    "status: 404": (status(404), (KEPT, 404, None)),
    "status: as text": (
        status("404"), (KEPT, 404, None)),
    "status: 200.0 (the JSON number 200)": (
        status(200.0), (KEPT, 200, None)),
    "status: 0 (no answer, Chrome)": (
        status(0), (KEPT, 0, None)),
    "status: -1 (no answer, Playwright)": (
        status(-1), (KEPT, 0, None)),
    "status: 999": (status(999), (KEPT, 999, None)),
    "status: missing": (
        status(ABSENT), (KEPT, 0, UNANSWERED)),
    "status: null": (
        status(None), (KEPT, 0, UNANSWERED)),
    "response: missing": (
        response(ABSENT), (KEPT, 0, UNANSWERED)),
    "response: null": (
        response(None), (KEPT, 0, UNANSWERED)),
    "response: {}": (
        response({}), (KEPT, 0, UNANSWERED)),
    "status: 200.9": (status(200.9), "response.status 200.9 is not an HTTP status (a whole number)"),
    "status: 1e3": (status(1e3), "response.status 1000 is not an HTTP status (0 to 999)"),
    "status: NaN": (status(float("nan")), "response.status nan is not an HTTP status (a whole number)"),
    "status: true": (status(True), "response.status True is not an HTTP status (a whole number)"),
    "status: false": (status(False), "response.status False is not an HTTP status (a whole number)"),
    "status: -2": (status(-2), "response.status -2 is not an HTTP status (0 to 999)"),
    "status: 1000": (status(1000), "response.status 1000 is not an HTTP status (0 to 999)"),
    "status: 2**70": (status(2**70), f"response.status {2**70} is not an HTTP status (0 to 999)"),
    "status: 'OK'": (status("OK"), "response.status 'OK' is not an HTTP status (a whole number)"),
    "status: ''": (status(""), "response.status '' is not an HTTP status (a whole number)"),
    "status: ' 404'": (status(" 404"), "response.status ' 404' is not an HTTP status (a whole number)"),
    "status: '404.0'": (status("404.0"), "response.status '404.0' is not an HTTP status (a whole number)"),
    "status: Arabic digits": (
        status("\u0664\u0660\u0664"),
        "response.status '\u0664\u0660\u0664' is not an HTTP status (a whole number)"),
    "status: a list": (status([200]), "response.status [200] is not an HTTP status (a whole number)"),
    "response: []": (response([]), "response must be an object, got list"),
    "response: a string": (response("200 OK"), "response must be an object, got str"),
    "response: 200": (response(200), "response must be an object, got int"),
    # -- hooklab's own entries: _hooklab.status is the lab's answer --------------------------
    "own: the lab's status, not the response's": (
        own({"status": 404}), (KEPT, 404, None)),
    "own: the lab's status, no response": (
        lambda e: (own({"status": 404})(e), e.pop("response")),
        (KEPT, 404, None)),
    "own: a WebSocket close code": (
        own({"kind": "ws", "status": 4999}),
        (KEPT, 4999, None)),
    "own: status true": (
        own({"status": True}), "_hooklab.status True is not an HTTP status (a whole number)"),
    "own: status 200.5": (
        own({"status": 200.5}), "_hooklab.status 200.5 is not an HTTP status (a whole number)"),
    "own: status 1000 of an HTTP capture": (
        own({"status": 1000}), "_hooklab.status 1000 is not an HTTP status (0 to 999)"),
    "own: status 5000 of a WebSocket message": (
        own({"kind": "ws", "status": 5000}),
        "_hooklab.status 5000 is not an HTTP status (a WebSocket close code, 0 to 4999)"),
}


def write(path: Path, entries: list[dict[str, Any]]) -> Path:
    """A HAR file as hooklab writes one: one entry a line (the layout the helpers read)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": '
                '"537.36"}, "entries": [')
        f.write(",".join("\n" + json.dumps(e, ensure_ascii=False) for e in entries))
        f.write("\n]}}\n")
    return path


#: what the big-file path (``hooklab.export.jsonl.load_har``) gave in the last import: the
#: captures it stored, or ``None`` when the file was then read as a whole
BIG_PATH: list[int | None] = []


@pytest.fixture(params=["small", "big"])
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``"small"``: a file read as a whole; ``"big"``: one the helper processes read (the
    sizes that decide it made small). Yields the way; checks that the helpers were started
    for a big file and that none is left."""
    before = shared.children()
    starts: list[bool] = []
    BIG_PATH.clear()
    if request.param == "big":
        read = J.load_har

        def told(*args: Any, **kw: Any) -> Any:
            BIG_PATH.append(read(*args, **kw))
            return BIG_PATH[-1]

        monkeypatch.setattr(J, "load_har", told)
        starts = shared.helpers_for_small_files(monkeypatch, 8 * 1024)
    yield request.param
    if request.param == "big":
        assert starts and all(starts), "the helper processes were not started"
    shared.none_left(before)


def load(path: Path) -> tuple[list[Row], list[str]]:
    """The captures ``(method, path, status, received_at)`` and hooklab's warnings."""
    return shared.imported(hooklab.load_har, path)


@pytest.mark.parametrize("case", list(CASES))
def test_an_entry_with_a_missing_or_wrong_time_or_status(tmp_path: Path, way: str,
                                                         case: str) -> None:
    change, expected = CASES[case]
    n = SMALL_N if way == "small" else BIG_N
    middle = n // 2
    entries = [entry(i) for i in range(n)]
    change(entries[middle])
    path = write(tmp_path / "devtools.har", entries)
    if way == "big":
        assert J.har_lines(path) is not None and path.stat().st_size > 4 * 8 * 1024
    if isinstance(expected, str):
        with pytest.raises(ValueError) as refused:
            load(path)
        assert str(refused.value) == (f"{str(path)!r}: HAR entry {middle} is malformed "
                                      f"({expected})")
        assert BIG_PATH == ([None] if way == "big" else [])  # (the whole file said it)
        return
    received, answered, told = expected
    before = datetime.now(UTC)
    got, warned = load(path)
    after = datetime.now(UTC)
    want = [good(i) for i in range(n)]
    want[middle] = ("POST", f"/hooks/{middle}", answered,
                    {NOW: got[middle][3], KEPT: want[middle][3]}.get(received, received))
    assert got == want
    if received is NOW:
        assert before <= got[middle][3] <= after
    assert warned == ([] if told is None else
                      [f"hooklab: {str(path)!r}: {told.format(n=middle)}"])
    if way == "big":  # (stored from the lines; what it cannot store as they are, as a whole)
        assert BIG_PATH == [n if told is None else None]


def test_many_such_entries_make_one_warning_naming_them(tmp_path: Path, way: str) -> None:
    n = SMALL_N * 4 if way == "small" else BIG_N
    entries = [entry(i) for i in range(n)]
    shared.make_many(entries, started, response(ABSENT))
    path = write(tmp_path / "many.har", entries)
    before = datetime.now(UTC)
    got, warned = load(path)
    after = datetime.now(UTC)
    assert got == shared.many_wanted(got, n)
    assert before <= got[1][3] <= got[n - 2][3] <= after  # (in entry order)
    assert warned == [
        f"hooklab: {str(path)!r}: 2 entries have no startedDateTime (entries 1, {n - 2}): "
        "stamped with the time of this import; 1 entry's startedDateTime names no UTC offset "
        f"(entry {n // 2}): read as UTC; 6 entries have no response status (entries 3, 4, 5, "
        "7, 8, ...): imported with status 0, as requests that got no answer"]


def test_a_file_refused_by_its_last_entry_names_that_entry(tmp_path: Path, way: str) -> None:
    """The entries before it were read (and, in a big file, stored by the helpers' rows):
    the file is still refused as a whole, naming the entry."""
    n = SMALL_N if way == "small" else BIG_N
    entries = [entry(i) for i in range(n)]
    entries[-1]["response"]["status"] = 200.9
    path = write(tmp_path / "last.har", entries)
    with pytest.raises(ValueError) as refused:
        load(path)
    assert str(refused.value) == (f"{str(path)!r}: HAR entry {n - 1} is malformed "
                                  "(response.status 200.9 is not an HTTP status (a whole number))")
