"""``lab.sql`` on a Parquet dataset with JSON numbers wider than DuckDB reads them in sums.

README (the SQL section, "Parquet: DuckDB, Dask, Spark"): ``json_extract`` answers as
SQLite's, integers past 64 bits are floats. DuckDB reads a ``json_extract`` value in
``sum()`` and arithmetic as a whole number of the other side's type (BIGINT in ``sum()``,
INTEGER in ``+ 1``), and one that does not fit stopped the query with DuckDB's raw
``ConversionException`` ("Can't convert VARIANT(DECIMAL) value ... to 'BIGINT'"), README's
own wei amounts among them; SQLite's way out, ``total()``, did not exist there. Now
``total()`` is SQLite's on both engines, and what DuckDB cannot read is refused with a
hooklab error that says what to write instead.
"""

from __future__ import annotations

from typing import Any

import pytest
from _http import post

import hooklab

#: bin -> the JSON texts of ``a`` sent to it
SENT = {
    "wei": ["5", "1180591620717411303425"],  # 2**70 + 1: past 64 bits (a float to SQLite)
    "ms": ["3000000000"],  # past 32 bits, in 64
    "txt": ['"abc"', '"7"'],
}
A = "json_extract(payload, '$.a')"
BIG = float(2**70 + 1)  # what SQLite's json_extract makes of it: the double 2**70


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("wide")
    lab = hooklab.start(port=0, db=str(root / "captures.sqlite3"))
    try:
        n = 0
        for bin_, texts in SENT.items():
            for text in texts:
                status = post(lab.url_for(bin_), b'{"a": %s}' % text.encode(),
                              {"Content-Type": "application/json"})[0]
                assert status == 200
                n += 1
        lab.wait(n, timeout=10)
        assert lab.export(str(root / "ds"), fmt="parquet") == n
        pq = hooklab.open(str(root / "ds"))
        yield {"sqlite": lab, "parquet": pq}
        pq.stop()
    finally:
        lab.stop()


# query -> the one value it answers, worked out by hand from SENT as SQLite's documented
# functions do (total(): a float sum, 0.0 of no row, text as its leading number or 0)
ANSWERED = {
    f"SELECT total({A}) FROM captures WHERE bin = 'wei'": 5.0 + BIG,
    f"SELECT total({A}) FROM captures WHERE bin = 'nowhere'": 0.0,
    f"SELECT total({A}) FROM captures WHERE bin = 'txt'": 7.0,
    f"SELECT total({A}) FROM captures WHERE bin = 'ms'": 3e9,
    f"SELECT sum({A}) FROM captures WHERE bin = 'ms'": 3_000_000_000,
    f"SELECT CAST({A} AS DOUBLE) + 1 FROM captures WHERE bin = 'wei' AND {A} > 1000": BIG + 1,
    f"SELECT count(*) FROM captures WHERE bin = 'wei' AND {A} > 9223372036854775807": 1,
}


@pytest.mark.parametrize("engine", ["sqlite", "parquet"])
@pytest.mark.parametrize("query", ANSWERED, ids=range(len(ANSWERED)))
def test_wide_json_numbers_answer_as_on_sqlite(both: Any, engine: str, query: str) -> None:
    df = both[engine].sql(query)
    got = df.iloc[0, 0]
    want = ANSWERED[query]
    assert got == want and type(got) is not bool, (engine, query, got)
    assert isinstance(got, float) == isinstance(want, float), (engine, query, type(got))


# query on the Parquet dataset -> the hooklab error it raises (DuckDB cannot read the value
# as the type it reads it as there), and what the error tells to write
REFUSED = {
    f"SELECT sum({A}) FROM captures WHERE bin = 'wei'": (OverflowError, "AS DOUBLE"),
    f"SELECT avg({A}) FROM captures WHERE bin = 'wei'": (OverflowError, "AS DOUBLE"),
    f"SELECT {A} + 1 FROM captures WHERE bin = 'wei'": (OverflowError, "AS DOUBLE"),
    f"SELECT {A} * 2 FROM captures WHERE bin = 'wei'": (OverflowError, "AS DOUBLE"),
    f"SELECT {A} + 1 FROM captures WHERE bin = 'ms'": (OverflowError, "AS DOUBLE"),
    f"SELECT sum({A}) FROM captures WHERE bin = 'txt'": (TypeError, "TRY_CAST"),
    f"SELECT {A} - 1 FROM captures WHERE bin = 'txt'": (TypeError, "TRY_CAST"),
}


@pytest.mark.parametrize("query", REFUSED, ids=range(len(REFUSED)))
def test_what_duckdb_cannot_read_is_refused_with_what_to_write(both: Any, query: str) -> None:
    kind, hint = REFUSED[query]
    with pytest.raises(Exception) as info:
        both["parquet"].sql(query)
    assert type(info.value) is kind, repr(info.value)
    said = str(info.value)
    assert said.startswith("lab.sql on a Parquet dataset: ") and hint in said, said
    assert "total(" in said and "VARIANT" not in said and "Conversion Error" not in said, said
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_what_the_refusal_names_answers(both: Any) -> None:
    """The CAST the error names gives SQLite's answer on the Parquet dataset."""
    cast = f"CAST({A} AS DOUBLE)"
    for engine in ("sqlite", "parquet"):
        got = both[engine].sql(f"SELECT sum({cast}) AS s FROM captures WHERE bin = 'wei'")
        assert got["s"].tolist() == [5.0 + BIG], engine
        got = both[engine].sql(f"SELECT avg({cast}) AS s FROM captures WHERE bin = 'wei'")
        assert got["s"].tolist() == [(5.0 + BIG) / 2], engine
        got = both[engine].sql(f"SELECT {cast} + 1 AS p FROM captures WHERE bin = 'ms'")
        assert got["p"].tolist() == [3e9 + 1], engine
