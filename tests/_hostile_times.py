"""The table of times other tools write, right and wrong, that a HAR import and a JSON Lines
import read alike: one table for tests/test_har_hostile_entries.py (an entry's
``startedDateTime``) and tests/test_jsonl_hostile_records.py (a line's ``received_at``), each
giving the field's name, what it holds one of (``"entry"``, ``"line"``) and how to set the
field of one; and what the two files' tests do alike around it (the capture of a good entry
or line, an import's captures and warnings, the helper processes waited for).

>>> def received(value):
...     def change(r):
...         r["received_at"] = value
...     return change
>>> cases = time_cases("received_at", "line", received)
>>> cases["time: yesterday"][1]
"received_at 'yesterday' is not an ISO 8601 time"
>>> cases["time: missing"][1] == (NOW, 201, untimed("received_at", "line"))
True
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

UTC = timezone.utc
NOW = object()  # (an expected time: the time of the import)
KEPT = object()  # (an expected time: the entry's or line's own)
ABSENT = object()  # (a field left out of the entry or line)
#: a megabyte of a time (an error names it cut, not whole)
LONG = "2024-05-01T10:00:00" + "9" * 1_000_000 + "Z"
#: (pandas.Timestamp.min and .max, to the microsecond a capture keeps)
OUTSIDE = ("is outside 1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z "
           "(what a DataFrame can hold)")

#: a capture as the tables say it: ``(method, path, status, received_at)``
Row = tuple[str, str, int, datetime]
#: how the middle entry or line is made to differ from a good one
Change = Callable[[dict[str, Any]], None]
#: what comes of it: a capture ``(received_at: NOW, KEPT or the time; status; the warning's
#: words or None)``, or the words of the error refusing the file
Expected = tuple[Any, int, str | None] | str


def good(i: int) -> Row:
    """``(method, path, status, received_at)`` of the capture of good entry or line ``i``
    (both files write ``10:MM:SS.123`` at ``+02:00``, status 201, to ``/hooks/<i>``)."""
    return ("POST", f"/hooks/{i}", 201,
            datetime(2024, 5, 1, 8, i // 60 % 60, i % 60, 123000, tzinfo=UTC))


def children() -> set[int]:
    """Processes whose parent is this one (Linux): the helper processes an import started."""
    me, out = str(os.getpid()), set()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                out.add(int(pid))
    return out


def none_left(before: set[int]) -> None:
    """Fails unless every child process started since ``before`` (:func:`children`) is gone
    within 10 seconds."""
    end = time.monotonic() + 10
    while children() - before and time.monotonic() < end:
        time.sleep(0.05)
    assert children() <= before, "a helper process outlived the import"


def helpers_for_small_files(monkeypatch: Any, range_bytes: int) -> list[bool]:
    """Makes an import of a small file take a big one's way: read by one helper process,
    in ranges of ``range_bytes`` (``hooklab.export.jsonl``'s sizes that decide it made
    small). Returns the list that each start of the helpers adds to: whether it started
    them."""
    import hooklab.export.jsonl as J
    from hooklab.explore import parallel

    monkeypatch.setattr(J, "HELPER_BYTES", 1)
    monkeypatch.setattr(J, "RANGE_BYTES", range_bytes)
    monkeypatch.setattr(parallel, "PROCESSES", 1)
    starts: list[bool] = []
    start = parallel.start

    def counted(*args: Any, **kw: Any) -> Any:
        helpers = start(*args, **kw)
        starts.append(helpers is not None)
        return helpers

    monkeypatch.setattr(parallel, "start", counted)
    return starts


def imported(read: Callable[..., Any], path: Path, **kw: Any) -> tuple[list[Row], list[str]]:
    """What ``read(path, **kw)`` (``hooklab.load_har``, ``hooklab.load_jsonl``) imported:
    the captures as :data:`Row` s, and hooklab's warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lab = read(path, **kw)
    try:
        got = [(c.method, c.path, c.status, c.received_at) for c in lab.captures]
    finally:
        lab.stop()
    return got, [str(w.message) for w in caught if str(w.message).startswith("hooklab:")]


def many(n: int) -> tuple[list[int], list[int], list[int]]:
    """Which of ``n`` entries or lines the tests of many stand-ins make untimed (the first
    ``None``, the other ``""``), naive (``10:00:00``, no offset) and unanswered."""
    return [1, n - 2], [n // 2], [3, 4, 5, 7, 8, n - 1]


def make_many(items: list[dict[str, Any]], setter: Callable[[Any], Change],
              unanswer: Change) -> None:
    """Makes ``items`` (good entries or lines) what :func:`many` says: ``setter(v)`` sets
    one's time to ``v``, ``unanswer`` takes its status away."""
    untimed_, naive_, unanswered = many(len(items))
    for i in untimed_:
        setter(None if i == 1 else "")(items[i])
    for i in naive_:
        setter("2024-05-01T10:00:00")(items[i])
    for i in unanswered:
        unanswer(items[i])


def many_wanted(got: list[Row], n: int) -> list[Row]:
    """The captures those ``n`` (:func:`many`) come back as: status 0 where unanswered,
    10:00 UTC where naive; where untimed, the time ``got`` gives (each test checks that it
    is the time of the import)."""
    untimed_, naive_, unanswered = many(n)
    want = [good(i) for i in range(n)]
    for i in unanswered:
        want[i] = (*want[i][:2], 0, want[i][3])
    for i in naive_:
        want[i] = (*want[i][:3], datetime(2024, 5, 1, 10, tzinfo=UTC))
    for i in untimed_:
        want[i] = (*want[i][:3], got[i][3])
    return want


def untimed(field: str, noun: str) -> str:
    """The warning's words for one ``noun`` without ``field`` (``{n}``: its number)."""
    return f"1 {noun} has no {field} ({noun} {{n}}): stamped with the time of this import"


def naive(field: str, noun: str) -> str:
    """The warning's words for one ``noun`` whose ``field`` names no UTC offset."""
    return f"1 {noun}'s {field} names no UTC offset ({noun} {{n}}): read as UTC"


def time_cases(field: str, noun: str,
               setter: Callable[[Any], Change]) -> dict[str, tuple[Change, Expected]]:
    """``{case: (change, expected)}`` for the time in ``field`` (what a HAR entry's
    ``startedDateTime`` and a JSON Lines record's ``received_at`` hold alike): ``setter(v)``
    sets it to ``v`` (``ABSENT``: leaves it out). A good entry's or line's status (201) is
    kept; an error's words are those in the parentheses of the error refusing the file.
    (Each file adds the time as its own writer writes it: DevTools', hooklab's export.)"""
    no_time, no_offset = untimed(field, noun), naive(field, noun)
    kind = f"{field} must be a string (an ISO 8601 time), got"
    return {
        "time: Z, nanoseconds": (
            setter("2024-05-01T10:00:00.123456789Z"),
            (datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC), 201, None)),
        "time: missing": (setter(ABSENT), (NOW, 201, no_time)),
        "time: null": (setter(None), (NOW, 201, no_time)),
        "time: empty": (setter(""), (NOW, 201, no_time)),
        "time: no UTC offset": (
            setter("2024-05-01T10:00:00.5"),
            (datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC), 201, no_offset)),
        "time: a date alone": (
            setter("2024-05-01"), (datetime(2024, 5, 1, tzinfo=UTC), 201, no_offset)),
        "time: the earliest a DataFrame holds": (
            setter("1677-09-22T00:00:00Z"), (datetime(1677, 9, 22, tzinfo=UTC), 201, None)),
        "time: the latest a DataFrame holds": (
            setter("2262-04-11T00:00:00Z"), (datetime(2262, 4, 11, tzinfo=UTC), 201, None)),
        "time: milliseconds since 1970": (setter(1714557600000), f"{kind} int"),
        "time: seconds as a float": (setter(1714557600.5), f"{kind} float"),
        "time: true": (setter(True), f"{kind} bool"),
        "time: false": (setter(False), f"{kind} bool"),
        "time: 0": (setter(0), f"{kind} int"),
        "time: a list": (setter(["2024-05-01T10:00:00Z"]), f"{kind} list"),
        "time: an object": (setter({}), f"{kind} dict"),
        "time: yesterday": (setter("yesterday"), f"{field} 'yesterday' is not an ISO 8601 time"),
        "time: an HTTP date": (
            setter("Wed, 01 May 2024 10:00:00 GMT"),
            f"{field} 'Wed, 01 May 2024 10:00:00 GMT' is not an ISO 8601 time"),
        "time: month 13": (
            setter("2024-13-01T00:00:00Z"),
            f"{field} '2024-13-01T00:00:00Z' is not an ISO 8601 time"),
        "time: offset +24:00": (
            setter("2024-05-01T10:00:00+24:00"),
            f"{field} '2024-05-01T10:00:00+24:00' is not an ISO 8601 time"),
        "time: a blank before it": (
            setter(" 2024-05-01T10:00:00Z"),
            f"{field} ' 2024-05-01T10:00:00Z' is not an ISO 8601 time"),
        "time: an escape sequence": (
            setter("2024-05-01T10:00:00Z\x1b[2J"),
            f"{field} '2024-05-01T10:00:00Z\\x1b[2J' is not an ISO 8601 time"),
        "time: a megabyte": (
            setter(LONG),
            f"{field} {repr(LONG)[:80]}...(+{len(repr(LONG)) - 80} chars) is not an ISO "
            "8601 time"),
        "time: year 1": (
            setter("0001-01-01T00:00:00Z"), f"{field} '0001-01-01T00:00:00Z' {OUTSIDE}"),
        "time: year 1, an hour east": (
            setter("0001-01-01T00:00:00+01:00"),
            f"{field} '0001-01-01T00:00:00+01:00' {OUTSIDE}"),
        "time: year 9999": (
            setter("9999-12-31T23:59:59.999999Z"),
            f"{field} '9999-12-31T23:59:59.999999Z' {OUTSIDE}"),
        "time: year 9999, an hour west": (
            setter("9999-12-31T23:59:59-01:00"),
            f"{field} '9999-12-31T23:59:59-01:00' {OUTSIDE}"),
        "time: a second before the earliest": (
            setter("1677-09-21T00:12:42.145225Z"),
            f"{field} '1677-09-21T00:12:42.145225Z' {OUTSIDE}"),
        "time: a microsecond past the latest": (
            setter("2262-04-11T23:47:16.854776Z"),
            f"{field} '2262-04-11T23:47:16.854776Z' {OUTSIDE}"),
    }
