"""``search=`` with odd text gives the same answer on SQLite and on a Parquet dataset.

A lone surrogate (``"\\ud83d"``, half of an emoji, as ``capture.json()`` keeps it from a body
that cut one) made ``lab.query`` / ``lab.dataframe`` / ``lab.schema`` raise a raw
UnicodeEncodeError on SQLite (sqlite3 cannot bind it as text) while a Parquet dataset answered;
a 40,000-letter search made a Parquet dataset raise pyarrow's ArrowInvalid ("pattern too large")
while SQLite answered. The expected ids are written from the bodies and the README's rules: the
searched text reads a lone surrogate as a separator (it holds none), words are runs of letters
and digits, the last word is a prefix, and text without any word matches as a substring.
"""

from __future__ import annotations

import json

import pytest
from _import_records import imported_lab

import hooklab

pytest.importorskip("duckdb")
pytestmark = pytest.mark.timeout(300)

LONG = "x" * 50_000
#: id -> body (JSON text as sent: the surrogates as JSON escapes, the emoji as UTF-8)
BODIES = {
    1: '{"name": "\\ud83d"}',
    2: '{"note": "refund 42", "smile": "\U0001f600"}',
    3: json.dumps({"long": LONG}),
    4: '{"name": "\\ud83dabc"}',
}

#: (case, search text, expected ids)
CASES = [
    ("lone-high-surrogate", "\ud83d", []),
    ("lone-low-surrogate", "\udc00", []),
    ("surrogate-and-symbol", "@\ud83d", []),
    ("surrogate-then-word", "\ud83dabc", [4]),
    ("word-then-surrogate", "refund\ud83d", [2]),
    ("two-words-surrogate-between", "refund\ud83d42", [2]),
    ("emoji-substring", "\U0001f600", [2]),
    ("long-prefix-of-a-longer-word", "x" * 40_000, [3]),
    ("long-word-longer-than-any", "x" * 60_000, []),
    ("long-word-not-there", "y" * 40_000, []),
    ("word-and-long-word", "refund " + "z" * 40_000, []),
    ("many-long-words", " ".join(["x" * 5_000] * 9), []),
]


@pytest.fixture(scope="module", params=["sqlite", "parquet"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> hooklab.HookLab:
    lab = imported_lab(tmp_path_factory.mktemp("oddsearch"),
                       [b.encode() for b in BODIES.values()], request.param)
    assert lab.get(1).json() == {"name": "\ud83d"}  # (as capture.json() keeps it)
    return lab


@pytest.mark.parametrize(("case", "needle", "want"), CASES, ids=[c[0] for c in CASES])
def test_odd_search_text_answers_alike(lab: hooklab.HookLab, case: str, needle: str,
                                       want: list[int]) -> None:
    assert [c.id for c in lab.query(search=needle)] == want, case
    df = lab.dataframe(search=needle)
    assert (df.id.tolist() if len(df) else []) == want, case
    s = lab.schema(search=needle)
    body = s[s.field == "(body)"]
    assert (int(body["count"].sum()) if len(body) else 0) == len(want), case


def test_a_value_read_from_capture_json_as_the_search(lab: hooklab.HookLab) -> None:
    value = lab.get(1).json()["name"]
    assert lab.query(search=value) == []
    assert [c.id for c in lab.query(search=value + "abc")] == [4]


def test_the_twin_of_the_index_for_rows_not_indexed_yet(tmp_path) -> None:  # noqa: ANN001
    """Rows stored after the index's marker are matched by the twin (an SQL function given the
    search text as a parameter): a database opened read-only, whose writer indexed nothing."""
    import sqlite3

    imported_lab(tmp_path, [b.encode() for b in BODIES.values()], "sqlite").stop()
    db = tmp_path / "captures.sqlite3"
    con = sqlite3.connect(db)  # (as an older hooklab left it: nothing indexed)
    con.execute("UPDATE meta SET value = '0' WHERE key = 'search_upto'")
    con.commit()
    con.close()
    lab = hooklab.open(str(db))
    try:
        for case, needle, want in CASES[:6]:
            assert [c.id for c in lab.query(search=needle)] == want, case
    finally:
        lab.stop()
