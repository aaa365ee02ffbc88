"""``total()`` in ``lab.sql`` on a Parquet dataset answers as SQLite's, text included.

README (the SQL section, "Parquet: DuckDB, Dask, Spark"): ``total()`` is SQLite's there too.
It was a DuckDB macro that read text with ``TRY_CAST``: ``"4 EUR"`` counted as nothing where
SQLite counts 4 (amounts 2.5, "4 EUR", "7": 9.5 against SQLite's 13.5), and as a macro it
refused ``total(x) FILTER (WHERE ...)`` and ``total(DISTINCT x)`` with DuckDB's "Function
total is a Macro Function", which SQLite takes. SQLite's documented rules (lang_aggfunc.html:
total() is a float sum, 0.0 of no row, DISTINCT sums distinct values; lang_expr.html, CAST to
REAL: text is its longest leading number after spaces, 0 when none, and hexadecimal stops at
the "x") give the expected values below, worked out by hand; SQLite itself answers first.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from _labs import served_and_exported

A = "json_extract(payload, '$.a')"

#: the JSON text of ``a`` in one capture -> total() of it, by SQLite's documented rules
ONE = {
    '"4 EUR"': 4.0,
    '" 4"': 4.0,  # leading spaces skipped
    '"\\t\\n12.5e1 kg"': 125.0,  # any leading whitespace; an exponent belongs to the number
    '"4e2x"': 400.0,
    '"1e"': 1.0,  # an "e" without digits is no exponent
    '"-.5"': -0.5,
    '"+5."': 5.0,
    '"7"': 7.0,
    '"1_000"': 1.0,  # (DuckDB's own cast reads 1000)
    '"abc"': 0.0,
    '"0x10"': 0.0,  # hexadecimal: the number stops at the "x"
    '"inf"': 0.0,  # (DuckDB's own cast reads an infinity)
    '"- 3"': 0.0,
    '"."': 0.0,
    '""': 0.0,
    '"1e400"': math.inf,  # past a double: an infinity
    '"-1e400"': -math.inf,
    "2.5": 2.5,
    "true": 1.0,
    "null": 0.0,  # no value: the total of none
    '{"b": 1}': 0.0,  # an object is its JSON text
    "[3]": 0.0,
}
#: bin "mix": total() of these with FILTER and DISTINCT; "7", 7 and 7.0 are two distinct
#: values to SQLite (text is never a number's equal; 7 = 7.0)
MIX = ["2.5", '"4 EUR"', '"7"', "7", "7.0", '"7"', "null"]
TEXT = "json_type(payload, '$.a') = 'text'"
MIXED = {
    f"SELECT total({A}) FROM captures WHERE bin = 'mix'": 2.5 + 4 + 7 + 7 + 7 + 7,
    f"SELECT total({A}) FILTER (WHERE {TEXT}) FROM captures WHERE bin = 'mix'": 4.0 + 7 + 7,
    f"SELECT total({A}) filter(where {A} IS NULL) FROM captures WHERE bin = 'mix'": 0.0,
    f"SELECT total(DISTINCT {A}) FROM captures WHERE bin = 'mix'": 2.5 + 4 + 7 + 7,
    f"SELECT total(DISTINCT {A}) FILTER (WHERE {TEXT}) FROM captures WHERE bin = 'mix'":
        4.0 + 7,
    f"SELECT total(distinct {A}) FILTER (WHERE {A} = 'none') FROM captures": 0.0,
    f"SELECT total({A}) FILTER (WHERE {TEXT}) OVER () FROM captures WHERE bin = 'mix' LIMIT 1":
        4.0 + 7 + 7,
    f"SELECT max(t) FROM (SELECT bin, total(DISTINCT {A}) FILTER (WHERE {TEXT}) AS t "
    "FROM captures WHERE bin IN ('mix', 'v0') GROUP BY bin)": 11.0,  # (v0: "4 EUR", 4)
}


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("total")
    sent = [(f"v{i}", text) for i, text in enumerate(ONE)] + [("mix", t) for t in MIX]
    with served_and_exported(root, [(b, b'{"a": %s}' % t.encode()) for b, t in sent]) as both:
        yield both


@pytest.mark.parametrize("engine", ["sqlite", "parquet"])
def test_total_reads_text_as_sqlite_does(both: Any, engine: str) -> None:
    got = both[engine].sql(f"SELECT bin, total({A}) AS t FROM captures WHERE bin LIKE 'v%' "
                           "GROUP BY bin")
    totals = dict(zip(got["bin"], got["t"], strict=True))
    for i, (text, want) in enumerate(ONE.items()):
        assert totals[f"v{i}"] == want and isinstance(totals[f"v{i}"], float), (engine, text)


@pytest.mark.parametrize("engine", ["sqlite", "parquet"])
@pytest.mark.parametrize("query", MIXED, ids=range(len(MIXED)))
def test_total_takes_filter_and_distinct(both: Any, engine: str, query: str) -> None:
    got = both[engine].sql(query).iloc[0, 0]
    assert got == MIXED[query] and isinstance(got, float), (engine, query, got)


def test_total_in_text_is_left_alone(both: Any) -> None:
    query = ("SELECT 'total(DISTINCT a) FILTER (WHERE b)' AS s, \"total\" "
             "FROM (SELECT 1 AS \"total\")")
    for engine in ("sqlite", "parquet"):
        got = both[engine].sql(query)
        assert got.values.tolist() == [["total(DISTINCT a) FILTER (WHERE b)", 1]], engine


def test_distinct_total_over_a_window_is_refused_on_both(both: Any) -> None:
    """SQLite takes no DISTINCT in a window; the Parquet dataset says so, and what to write."""
    query = f"SELECT total(DISTINCT {A}) OVER (ORDER BY id) FROM captures"
    with pytest.raises(Exception, match="DISTINCT"):
        both["sqlite"].sql(query)
    with pytest.raises(ValueError) as info:
        both["parquet"].sql(query)
    said = str(info.value)
    assert said.startswith("lab.sql takes no total(DISTINCT") and "GROUP BY" in said, said
    assert "Macro" not in said and "Binder" not in said, said
