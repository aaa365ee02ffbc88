"""An import takes every time a DataFrame can hold, and its error says the range it uses.

``hooklab.load_jsonl`` and ``hooklab.load_har`` refused ``2262-04-11T23:47:16.854775Z`` (within
``pandas.Timestamp.max``), ``2262-04-11T23:47:16Z`` and ``1677-09-21T01:00:00Z`` as "outside
1677-2262 (what a DataFrame can hold)": the range in use was 1677-09-22 to 2262-04-11 at
midnight. Now it is pandas' own (``datetime64[ns]``: ``Timestamp.min`` to ``.max``) to the
microsecond a capture keeps (digits past it are cut, as Python reads them), and the error
names it.

Expected values come from pandas itself: a time is taken when ``pandas.Timestamp`` of it, cut
to the microsecond, fits ``datetime64[ns]``, and the capture then carries that time (in
``lab.captures``, the DataFrame and an export read back).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

import hooklab

pytestmark = pytest.mark.timeout(300)

#: edge times (the first word of each line): given with offsets, past the microsecond, a
#: microsecond either side of pandas' bounds, and far outside
_TABLE = """
1677-09-21T00:12:43.145225Z        the first microsecond pandas holds
1677-09-21T00:12:43.145224Z        the one before it
1677-09-21T00:12:43.145224193Z     Timestamp.min itself: its microsecond is before it
1677-09-21T00:12:43.1452259Z       cut to .145225
1677-09-20T23:12:43.145225-01:00   the first, an hour west
1677-09-21T01:12:43.145224+01:00   the one before it, an hour east
1677-09-21T00:00:00Z               midnight before it
1677-09-21T01:00:00Z               an hour after midnight
1677-09-22T00:00:00Z               the earliest taken before
2262-04-11T00:00:00.000001Z        refused before
2262-04-11T23:47:16Z               the last whole second
2262-04-11T23:47:16.854775Z        the last microsecond pandas holds
2262-04-11T23:47:16.854775807Z     Timestamp.max itself, cut to .854775
2262-04-11T23:47:16.854776Z        the one after it
2262-04-12T01:47:16.854775+02:00   the last, two hours east
2262-04-11T22:47:16.854776-01:00   the one after it, an hour west
2262-04-11T23:47:17Z               the next second
2262-04-12T00:00:00Z               the next midnight
0001-01-01T00:00:00Z               year 1
9999-12-31T23:59:59.999999Z        year 9999
"""
TIMES = [row.split()[0] for row in _TABLE.strip().splitlines()]


def held(text: str) -> pd.Timestamp | None:
    """The time a DataFrame holds for ``text`` cut to microseconds, or ``None`` if it cannot."""
    cut = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        return pd.Timestamp(cut).tz_convert("UTC").as_unit("ns")
    except (pd.errors.OutOfBoundsDatetime, OverflowError, ValueError):
        return None


def said(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


#: the range an error names, from pandas' bounds
RANGE = (f"outside {said(pd.Timestamp.min.ceil('us'))} to {said(pd.Timestamp.max.floor('us'))}"
         " (what a DataFrame can hold)")


def test_the_table_holds_both_answers() -> None:
    kept = [t for t in TIMES if held(t) is not None]
    assert 0 < len(kept) < len(TIMES)
    assert RANGE == ("outside 1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z (what a"
                     " DataFrame can hold)")


def jsonl_line(when: str) -> str:
    return json.dumps({"received_at": when, "path": "/b", "status": 200, "body": "{}"}) + "\n"


def har_file(when: str) -> str:
    entry = {"startedDateTime": when, "time": 0,
             "request": {"method": "POST", "url": "http://127.0.0.1:8765/b",
                         "httpVersion": "HTTP/1.1", "cookies": [], "headers": [],
                         "queryString": [], "headersSize": -1, "bodySize": 0},
             "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                          "cookies": [], "headers": [], "content": {"size": 0, "mimeType": ""},
                          "redirectURL": "", "headersSize": -1, "bodySize": 0},
             "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}}
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                               "entries": [entry]}})


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
@pytest.mark.parametrize("when", TIMES)
def test_an_import_takes_the_times_a_dataframe_holds(tmp_path: Path, fmt: str, when: str) -> None:
    path = tmp_path / f"one.{fmt}"
    path.write_text(jsonl_line(when) if fmt == "jsonl" else har_file(when))
    load = hooklab.load_jsonl if fmt == "jsonl" else hooklab.load_har
    want = held(when)
    if want is None:
        with pytest.raises(ValueError) as refused:
            load(path).stop()
        field, where = ("received_at", "line 1 is not a capture") if fmt == "jsonl" else (
            "startedDateTime", "HAR entry 0")
        message = str(refused.value)
        assert message.startswith(f"{str(path)!r}: {where}"), message
        assert f"{field} {when!r} is {RANGE}" in message
        return
    lab = load(path)
    try:
        (cap,) = lab.captures
        assert cap.received_at == want.to_pydatetime()
        assert isinstance(cap.received_at, datetime) and cap.received_at.utcoffset().total_seconds() == 0
        frame = lab.dataframe()
        assert frame["received_at"].tolist() == [want]
        assert str(frame["received_at"].dtype) == "datetime64[ns, UTC]"
        lab.export(tmp_path / "back.jsonl")
    finally:
        lab.stop()
    back = hooklab.load_jsonl(tmp_path / "back.jsonl")
    try:
        assert back.dataframe()["received_at"].tolist() == [want]
    finally:
        back.stop()
