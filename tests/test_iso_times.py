"""ISO 8601 times as hooklab reads them (``since=`` / ``until=``, HAR ``startedDateTime``,
JSON Lines ``received_at`` and forwarding outcomes' ``at``), the same on every Python it
supports (``requires-python >= 3.10``).

Before 3.11 ``datetime.fromisoformat`` read only its own output: ``since="2020-01-01T00:00:00.5Z"``,
``"2020-01-01 00:00:00+0000"`` and a HAR entry started at ``"2024-01-01T00:00:00.1Z"`` were
refused on 3.10, read on 3.11. :func:`hooklab.capture.parse_iso` reads on 3.10 what 3.11
reads; the tables run against its 3.10 reader directly too, so that reader is tried on the
Python that runs the suite, and on 3.11 or later each row is checked against
``datetime.fromisoformat`` itself.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import hooklab
from hooklab import HookLab
from hooklab.capture import _parse_iso_310, parse_iso

UTC = timezone.utc
READERS: dict[str, Callable[[str], datetime]] = {"parse_iso": parse_iso, "3.10 reader": _parse_iso_310}
NEW_FROMISO = sys.version_info >= (3, 11)


def tz(hours: int, minutes: int = 0, seconds: int = 0, us: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(sign * timedelta(hours=abs(hours), minutes=minutes, seconds=seconds,
                                     microseconds=us))


# (text, the datetime 3.11's fromisoformat gives for it)
READ = [
    # the three the packaging tester found refused on 3.10
    ("2020-01-01T00:00:00.5Z", datetime(2020, 1, 1, 0, 0, 0, 500000, UTC)),
    ("2020-01-01 00:00:00+0000", datetime(2020, 1, 1, tzinfo=UTC)),
    ("2024-01-01T00:00:00.1Z", datetime(2024, 1, 1, 0, 0, 0, 100000, UTC)),
    # what 3.10 read already
    ("2026-01-31T12:30:45.123456+00:00", datetime(2026, 1, 31, 12, 30, 45, 123456, UTC)),
    ("2026-01-31T12:30:45.123+01:00", datetime(2026, 1, 31, 12, 30, 45, 123000, tz(1))),
    ("2026-01-31", datetime(2026, 1, 31)),
    ("2026-01-31T12", datetime(2026, 1, 31, 12)),
    ("2026-01-31T12:30", datetime(2026, 1, 31, 12, 30)),
    ("2026-01-31 12:30:45", datetime(2026, 1, 31, 12, 30, 45)),
    ("2026-01-31X12:30", datetime(2026, 1, 31, 12, 30)),  # any one character but a digit
    ("2026-01-31T12:30:45+05:30:15", datetime(2026, 1, 31, 12, 30, 45, tzinfo=tz(5, 30, 15))),
    ("2026-01-31T12:30:45-23:59", datetime(2026, 1, 31, 12, 30, 45, tzinfo=tz(-23, 59))),
    # Z, offsets without a colon or minutes
    ("2026-01-31T12:30Z", datetime(2026, 1, 31, 12, 30, tzinfo=UTC)),
    ("2026-01-31T12Z", datetime(2026, 1, 31, 12, tzinfo=UTC)),
    ("2026-01-31T12:30:45+05", datetime(2026, 1, 31, 12, 30, 45, tzinfo=tz(5))),
    ("2026-01-31T12:30:45-0530", datetime(2026, 1, 31, 12, 30, 45, tzinfo=tz(-5, 30))),
    ("2026-01-31T12:30:45-00:00", datetime(2026, 1, 31, 12, 30, 45, tzinfo=UTC)),
    ("2026-01-31T12:30:45+053015", datetime(2026, 1, 31, 12, 30, 45, tzinfo=tz(5, 30, 15))),
    ("2026-01-31T12:30:45+05:30:15.5",
     datetime(2026, 1, 31, 12, 30, 45, tzinfo=tz(5, 30, 15, 500000))),
    # fractions of any length, cut (not rounded) after six digits; a comma for the point
    ("2026-01-31T12:30:45.1234567Z", datetime(2026, 1, 31, 12, 30, 45, 123456, UTC)),
    ("2026-01-31T12:30:45.999999999Z", datetime(2026, 1, 31, 12, 30, 45, 999999, UTC)),
    ("2026-01-31T12:30:45.0000001Z", datetime(2026, 1, 31, 12, 30, 45, 0, UTC)),
    ("2026-01-31T12:30:45.12", datetime(2026, 1, 31, 12, 30, 45, 120000)),
    ("2026-01-31T12:30:45,25", datetime(2026, 1, 31, 12, 30, 45, 250000)),
    ("2026-01-31T12:30:45.5+0530", datetime(2026, 1, 31, 12, 30, 45, 500000, tz(5, 30))),
    ("2026-01-31T12:30:45.123456789+05:30",
     datetime(2026, 1, 31, 12, 30, 45, 123456, tz(5, 30))),
    # basic format, week dates
    ("20260131", datetime(2026, 1, 31)),
    ("20260131T123045Z", datetime(2026, 1, 31, 12, 30, 45, tzinfo=UTC)),
    ("20260131T12:30:45", datetime(2026, 1, 31, 12, 30, 45)),
    ("2026-01-31T1230", datetime(2026, 1, 31, 12, 30)),
    ("2026-01-31T123045.5Z", datetime(2026, 1, 31, 12, 30, 45, 500000, UTC)),
    ("2026-W05-6", datetime(2026, 1, 31)),
    ("2026W056", datetime(2026, 1, 31)),
    ("2026-W05", datetime(2026, 1, 26)),
    ("2020-W01-2", datetime(2019, 12, 31)),  # week 1 of 2020 starts in 2019
    ("2020-W53-5", datetime(2021, 1, 1)),
    ("2026-W05-6T12:30Z", datetime(2026, 1, 31, 12, 30, tzinfo=UTC)),
    # the ends of the range
    ("0001-01-01T00:00:00+01:00", datetime(1, 1, 1, tzinfo=tz(1))),
    ("9999-12-31T23:59:59.999999-01:00", datetime(9999, 12, 31, 23, 59, 59, 999999, tz(-1))),
]

# no time in 3.11's reading either: each is a ValueError
REFUSED = [
    "", "yesterday", "now", "2026", "2026-01", "2026-13-01", "2026-02-30", "2026-1-31",
    "2026-0131", "0000-01-01", "2026-01-31T", "2026-01-3112:30", "2026-01-31TT12:30",
    "2026-01-31T24:00", "2026-01-31T12:60", "2026-01-31T12:30:60", "2026-01-31T12:3045",
    "2026-01-31T12:30:45.", "2026-01-31T12:30:45..5", "2026-01-31T12:30:45+5",
    "2026-01-31T12:30:45+05:3", "2026-01-31T12:30:45+0530:15", "2026-01-31T12:30:45+05:3015",
    "2026-01-31T12:30:45+24:00", "2026-01-31T12:30:45-24:00", "2026-01-31T12:30:45+ 05:00",
    "2026-01-31t12:30:45z", "2026-01-31T12:30:45z", "2026-01-31T12:30:45Zx",
    "2026-01-31T12:30:45Z ", " 2026-01-31", "2026-01-31\n", "2026-01-31Z", "2026-01-31TZ",
    "2021-W53-1", "2026-W05-8", "2026-W00-1", "2026-W056", "2026W05-6",
    "\u0662\u0660\u0662\u0666-01-31",  # Arabic-Indic digits: \d would take them
    "2026-01-31T12:30:45.\u0661",
]


def _same(got: datetime, expected: datetime) -> None:
    assert (got, got.tzinfo, got.utcoffset()) == (expected, expected.tzinfo, expected.utcoffset())


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("text, expected", READ, ids=[r[0] for r in READ])
def test_iso_times_read_as_python_3_11_reads_them(reader: str, text: str, expected: datetime) -> None:
    _same(READERS[reader](text), expected)
    if NEW_FROMISO:  # the table says what 3.11 reads
        _same(datetime.fromisoformat(text), expected)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("text", REFUSED)
def test_what_is_no_iso_time_is_refused(reader: str, text: str) -> None:
    # (3.11 says "month must be in 1..12" and the like for a time out of range)
    with pytest.raises(ValueError, match=None if reader == "parse_iso" and NEW_FROMISO
                       else "Invalid isoformat string"):
        READERS[reader](text)
    if NEW_FROMISO:
        with pytest.raises(ValueError):
            datetime.fromisoformat(text)


@pytest.mark.parametrize("text", [
    "2026-01-31T12.5",            # 3.11: 12:00:00.5 (a fraction of the hour read as of a second)
    "2026-01-31T12:30.5",         # 3.11: 12:30:00.5
    "2026-01-31T12:30:45.Z",      # a point without digits
    "2026-01-31T12:30:45 Z",      # a space before the zone
    "2026-01-31T12:30:45+05:60",  # 3.11: an offset of 6 hours
    "20260131112",                # 3.11: "1" the separator, 12:00
])
@pytest.mark.parametrize("reader", READERS)
def test_readings_of_3_11_that_are_no_iso_8601_are_not_copied(reader: str, text: str) -> None:
    """Where 3.11 reads a time that ISO 8601 does not write (or writes otherwise), the 3.10
    reader refuses it rather than guess, and so does parse_iso on 3.11 and later (a JSON
    Lines file with such times imported on 3.11+ and was refused on 3.10)."""
    with pytest.raises(ValueError, match="Invalid isoformat string"):
        READERS[reader](text)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("value", [None, 20260131, b"2026-01-31", datetime(2026, 1, 31)])
def test_a_time_that_is_no_text_is_a_type_error(reader: str, value: object) -> None:
    with pytest.raises(TypeError, match="argument must be str"):
        READERS[reader](value)  # type: ignore[arg-type]


# -- as users meet them ------------------------------------------------------------------------

# (since=, until=, how many of the lab's captures (all sent after 2020) match)
BOUNDS = [
    ("2020-01-01T00:00:00.5Z", None, 1),
    ("2020-01-01 00:00:00+0000", None, 1),
    ("20200101T000000Z", None, 1),
    ("2020-W01-1", None, 1),
    (None, "2020-01-01T00:00:00.5Z", 0),
    (None, "2999-01-01 00:00:00+0000", 1),
    ("2999-12-31T23:59:59.9999999-05", None, 0),
]


@pytest.mark.parametrize("since, until, n", BOUNDS)
def test_since_and_until_take_those_times_in_python_and_the_api(
        lab: HookLab, since: str | None, until: str | None, n: int) -> None:
    r = hooklab.send(lab.url_for("github"), provider="github", event="push")
    assert r.status == 200, r.body
    lab.wait(1, timeout=10)
    bounds = {k: v for k, v in (("since", since), ("until", until)) if v is not None}
    assert len(lab.dataframe(**bounds)) == n
    assert len(lab.query(**bounds)) == n
    url = lab.url + "/_hooklab/api/captures?" + urllib.parse.urlencode(bounds)
    req = urllib.request.Request(url, headers={"Authorization": f"token {lab.api_token}"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        assert len(json.loads(answer.read())["captures"]) == n


# (a time another tool wrote, the capture's received_at in UTC)
STAMPS = [
    ("2024-01-01T00:00:00.1Z", datetime(2024, 1, 1, 0, 0, 0, 100000, UTC)),
    ("2024-01-01T00:00:00.123456789+01:00", datetime(2023, 12, 31, 23, 0, 0, 123456, UTC)),
    ("2024-01-01 00:00:00+0100", datetime(2023, 12, 31, 23, tzinfo=UTC)),
    ("2024-01-01T00:00:00", datetime(2024, 1, 1, tzinfo=UTC)),  # no offset: UTC
]


@pytest.mark.parametrize("stamp, received", STAMPS, ids=[s[0] for s in STAMPS])
def test_imports_read_those_times(tmp_path: Path, stamp: str, received: datetime) -> None:
    """HAR ``startedDateTime`` (one digit of fraction: refused on 3.10), JSON Lines
    ``received_at`` and a forwarding outcome's ``at``."""
    outcome = {"at": stamp, "target": "http://127.0.0.1:9/x", "status": 200, "latency_ms": 1.0,
               "error": None}
    entry = {"startedDateTime": stamp, "request": {"method": "POST", "url": "http://h/a"},
             "_hooklab": {"id": 1, "forwards": [outcome]}}
    (tmp_path / "a.har").write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    line = {"id": 1, "method": "POST", "path": "/a", "received_at": stamp, "forwards": [outcome]}
    (tmp_path / "a.jsonl").write_text(json.dumps(line) + "\n")
    for loader, name in ((hooklab.load_har, "a.har"), (hooklab.load_jsonl, "a.jsonl")):
        lab = loader(tmp_path / name)
        try:
            (cap,) = lab.captures
            assert cap.received_at == received, name
            assert [f["status"] for f in lab.forwards()] == [200], name
        finally:
            lab.stop()
