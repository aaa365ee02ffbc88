"""``dataframe(flatten=True)``: a field that is an object in some bodies and ``null`` in others
gives only its object's columns, without the empty column ``json_normalize`` adds for the
nulls, whichever way the frame reads the bodies (README). An outside tester found an all-None
``payload.b`` beside ``payload.b.c`` as soon as an unrelated field was a number in one body
and text in another (the frame then reads the bodies the long way, with pandas).

Each case is a set of bodies pushing the frame down one of its paths: Arrow's reader in one
go, the long way (types that disagree, within one event type or between event types), rows
only Python reads (NaN, an integer past int64, a dotted key) beside Arrow's, gzip bodies,
lists, nulls at several depths. Each is read from a lab served over HTTP on 127.0.0.1 (twice)
and its Parquet export opened with ``hooklab.open``, and from SQLite files whose first 4,096
captures are a sealed segment (first read, then read again from the kept tables, and that
file's Parquet export), the case's bodies inside the segment or spread over the segment and
the newer captures. Expected columns and values are written out from the bodies.

A field that is an object in some bodies, ``null`` in others and a scalar in a third keeps a
column of its own for the scalar: ``payload.b`` holds the scalar in that row and is missing in
the others (the object's row and the null's), beside the object's ``payload.b.c``.
"""

from __future__ import annotations

import gzip
import http.client
import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _flat_rows import Rows

import hooklab
from hooklab.frame import FLAT_KIND
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(600)

T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
SEG = 4096
NAN = float("nan")
M = None  # missing in that row (not in the body, or null there)


class Gz:
    """A body sent gzip-compressed (``Content-Encoding: gzip``)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


class Ev:
    """A body sent as a GitHub delivery of event type ``event`` (``X-GitHub-Event``)."""

    def __init__(self, event: str, body: dict[str, Any]) -> None:
        self.event, self.body = event, body


# name -> (bodies, {column: value in each body's row}): the case's columns, all of them
CASES: dict[str, tuple[list[Any], dict[str, list[Any]]]] = {
    "Arrow in one go": (
        [{"a": 1, "b": {"c": 1}}, {"a": 2, "b": None}],
        {"payload.a": [1, 2], "payload.b.c": [1, M]}),
    "another field int then text (the tester's)": (
        [{"a": 1, "b": {"c": 1}}, {"a": "t", "b": None}],
        {"payload.a": [1, "t"], "payload.b.c": [1, M]}),
    "another field int then text, null first": (
        [{"a": "t", "b": None}, {"a": 1, "b": {"c": 1}}, {"a": 2, "b": None}],
        {"payload.a": ["t", 1, 2], "payload.b.c": [M, 1, M]}),
    "types differ between event types": (
        [Ev("push", {"a": 1, "b": {"c": 1}}), Ev("issues", {"a": "t", "b": None}),
         Ev("push", {"a": 2, "b": None})],
        {"payload.a": [1, "t", 2], "payload.b.c": [1, M, M]}),
    "the null in a body only Python reads (NaN)": (
        [{"a": 1, "b": {"c": 1}}, {"a": NAN, "b": None}],
        {"payload.a": [1, M], "payload.b.c": [1, M]}),
    "the object in a body only Python reads (NaN)": (
        [{"a": NAN, "b": {"c": 1}}, {"a": 2, "b": None}],
        {"payload.a": [M, 2], "payload.b.c": [1, M]}),
    "the null beside an integer past int64": (
        [{"a": 1, "b": {"c": 1}}, {"l": [2**63 + 5], "b": None}],
        {"payload.a": [1, M], "payload.l": [M, [2**63 + 5]], "payload.b.c": [1, M]}),
    "the null beside a dotted key": (
        [{"a": 1, "b": {"c": 1}}, {"x.y": 1, "b": None}],
        {"payload.a": [1, M], "payload.x.y": [M, 1], "payload.b.c": [1, M]}),
    "gzip bodies": (
        [Gz({"a": 1, "b": {"c": 1}}), Gz({"a": 2, "b": None})],
        {"payload.a": [1, 2], "payload.b.c": [1, M]}),
    "gzip null, another field's types differ": (
        [{"a": 1, "b": {"c": 1}}, Gz({"a": "t", "b": None})],
        {"payload.a": [1, "t"], "payload.b.c": [1, M]}),
    "lists beside": (
        [{"l": [1, 2], "b": {"c": [1]}}, {"l": [], "b": None}],
        {"payload.l": [[1, 2], []], "payload.b.c": [[1], M]}),
    "lists of other item types beside": (
        [{"l": [1, 2], "b": {"c": [1]}}, {"l": [{"q": 1}], "b": None}, {"l": ["x"], "b": None}],
        {"payload.l": [[1, 2], [{"q": 1}], ["x"]], "payload.b.c": [[1], M, M]}),
    "nulls at several depths": (
        [{"b": {"c": {"d": 1}}}, {"b": {"c": None}}, {"b": None}, {"e": 1}],
        {"payload.b.c.d": [1, M, M, M], "payload.e": [M, M, M, 1]}),
    "nulls at several depths, another field's types differ": (
        [{"a": 1, "b": {"c": {"d": 1}}}, {"a": "t", "b": {"c": None}}, {"b": None}, {"e": 1}],
        {"payload.a": [1, "t", M, M], "payload.b.c.d": [1, M, M, M], "payload.e": [M, M, M, 1]}),
    "an empty object and a null, another field's types differ": (
        [{"a": 1, "b": {}}, {"a": "t", "b": None}],
        {"payload.a": [1, "t"]}),
    "object, null, number": (
        [{"b": {"c": 1}}, {"b": None}, {"b": 5}],
        {"payload.b": [M, M, 5], "payload.b.c": [1, M, M]}),
    "object, null, text, another field's types differ": (
        [{"a": 1, "b": {"c": 1}}, {"a": "t", "b": None}, {"b": "x"}],
        {"payload.a": [1, "t", M], "payload.b": [M, M, "x"], "payload.b.c": [1, M, M]}),
    "null in every body that has it stays a column of None": (
        [{"a": 1, "b": None}, {"a": "t"}],
        {"payload.a": [1, "t"], "payload.b": [M, M]}),
}
FILLER = ("payload.kind", "payload.amount")
#: the rows the stores' captures are stored as (``add_rows``), each made once: the 4,100 filler
#: captures are the same in every store
ROWS = Rows(T0)


def wire(body: Any) -> tuple[bytes, dict[str, str]]:
    """The bytes and headers a case's body is sent with."""
    headers = {"Content-Type": "application/json"}
    if isinstance(body, Ev):
        headers["X-GitHub-Event"] = body.event
        body = body.body
    if isinstance(body, Gz):
        headers["Content-Encoding"] = "gzip"
        return gzip.compress(json.dumps(body.body).encode()), headers
    return json.dumps(body).encode(), headers  # (NaN written as NaN: only Python reads it)


def filler(i: int) -> dict[str, Any]:
    return {"kind": "order", "amount": i}


def plain(v: Any) -> Any:
    """A cell as a value to compare: every kind of missing is None, numbers Python's, a
    whole float the integer (the filler's rows make the case's integers floats)."""
    if isinstance(v, (list, dict)):
        return v
    if pd.isna(v):
        return None
    v = v.item() if hasattr(v, "item") else v
    return int(v) if isinstance(v, float) and v.is_integer() else v


def kept(lab: hooklab.HookLab) -> None:
    """Wait until what a ``flatten=True`` keeps is in the file (a thread of its own)."""
    for t in threading.enumerate():
        if t.name == "hooklab-keep-flat":
            t.join(30)
    lab.store.flush(30)


def served_frames(tmp: Path, bodies: list[Any]) -> dict[str, pd.DataFrame]:
    """The case's bodies sent to a serving lab over HTTP: its frame twice, its Parquet export."""
    out = {}
    lab = hooklab.start(port=0, db=str(tmp / "served.sqlite3"))
    try:
        port = int(lab.url.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for body in bodies:
                data, headers = wire(body)
                conn.request("POST", "/hook", body=data, headers=headers)
                r = conn.getresponse()
                r.read()
                assert r.status == 200
        finally:
            conn.close()
        lab.wait(len(bodies), timeout=30)
        out["served"] = lab.dataframe(flatten=True)
        out["served again"] = lab.dataframe(flatten=True)
        assert lab.export(str(tmp / "served-pq"), fmt="parquet") == len(bodies)
    finally:
        lab.stop()
    pq = hooklab.open(str(tmp / "served-pq"))
    try:
        out["served: parquet"] = pq.dataframe(flatten=True)
    finally:
        pq.stop()
    return out


def sealed_frames(tmp: Path, stored: list[Any], name: str) -> dict[str, pd.DataFrame]:
    """``stored`` (bodies) in a SQLite file whose first 4,096 are a sealed segment: its first
    frame, a second one (the kept tables), its Parquet export."""
    path = tmp / f"{name}.sqlite3"
    rows = []
    for i, body in enumerate(stored):
        data, headers = wire(body)
        rows.append(ROWS.of(data, list(headers.items()), i))  # (the filler's: made once)
    store = CaptureStore(str(path), durability="normal")
    try:
        assert store.add_rows(rows) == len(stored)
        end = time.monotonic() + 60
        while not store.summaries(FLAT_KIND) and time.monotonic() < end:
            time.sleep(0.05)  # (the serving lab's quiet-moment work, or none: either is read)
    finally:
        store.close()
    out = {}
    lab = hooklab.open(str(path))
    try:
        out[f"{name}"] = lab.dataframe(flatten=True)
        kept(lab)
        out[f"{name} again"] = lab.dataframe(flatten=True)
        assert lab.export(str(tmp / f"{name}-pq"), fmt="parquet") == len(stored)
    finally:
        lab.stop()
    pq = hooklab.open(str(tmp / f"{name}-pq"))
    try:
        out[f"{name}: parquet"] = pq.dataframe(flatten=True)
    finally:
        pq.stop()
    return out


HOWS = ["served", "served again", "served: parquet",
        "in a segment", "in a segment again", "in a segment: parquet",
        "spread", "spread again", "spread: parquet"]


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[pd.DataFrame, list[int]]]:
    """{(case, how): (frame sorted by id, the rows of the case's bodies)}."""
    got = {}
    for case, (bodies, _) in CASES.items():
        tmp = tmp_path_factory.mktemp("case")
        for how, df in served_frames(tmp, bodies).items():
            got[(case, how)] = (df.sort_values("id").reset_index(drop=True), list(range(len(bodies))))
        n = SEG + 40
        for name, rows in (("in a segment", [100 + 3 * j for j in range(len(bodies))]),
                           ("spread", [100] + [SEG + 10 + j for j in range(len(bodies) - 1)])):
            stored: list[Any] = [filler(i) for i in range(n)]
            for at, body in zip(rows, bodies, strict=True):
                stored[at] = body
            for how, df in sealed_frames(tmp, stored, name).items():
                got[(case, how)] = (df.sort_values("id").reset_index(drop=True), rows)
    return got


@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("case", list(CASES))
def test_a_null_object_gives_only_its_objects_columns(frames, case: str, how: str) -> None:
    df, rows = frames[(case, how)]
    want = CASES[case][1]
    have = [c for c in df.columns if c.startswith("payload.") and c not in FILLER]
    assert sorted(have) == sorted(want), have
    for column, values in want.items():
        cells = [plain(df[column].iloc[i]) for i in rows]
        assert cells == values, column
        others = [plain(v) for i, v in enumerate(df[column]) if i not in set(rows)]
        assert others == [None] * len(others), column
