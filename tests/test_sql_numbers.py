"""``json_extract`` numbers compare and sort in ``lab.sql`` as SQLite's do, on a lab's SQLite
store and on its Parquet export opened with ``hooklab.open`` (DuckDB) alike.

(An analyst's check) On Parquet, ``json_extract`` gave JSON floats as DuckDB DOUBLEs inside a
VARIANT, and DuckDB compares a VARIANT's floating numbers apart from its integers: prices
[19.99, 120.5, 1.0, 100.0, 250] ``> 100`` gave all five, ``= 100`` none, ``IN (5, 7, 100)``
missed 7.0 and 1e2, and integers past 64 bits sorted apart from the others.

Captures arrive over real sockets on 127.0.0.1, the lab exports them to a real Parquet
folder, and every query runs on both. What each query must answer is computed here in plain
Python from the bodies sent, by SQLite's rules: an integer in 64 bits is an INTEGER, any
other number a REAL (integers past 64 bits too), ``true``/``false`` are 1/0, INTEGER and
REAL compare by value, every number is less than any text, NULL matches no comparison and
sorts first.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from _labs import served_and_exported

pytest.importorskip("duckdb")
pytestmark = pytest.mark.timeout(120)

#: the JSON text of ``n`` in each body, in the order sent (ids 1, 2, ...); None: no ``n``
SENT: list[str | None] = [
    "19.99", "120.5", "1.0", "100.0", "250",             # the analyst's prices
    "5", "1e2", "7.0", "2.5", "-3", "0", "-0.5", "1E1", "7", "100",
    "9223372036854775807", "9223372036854775808",        # int64's last, and past it: REAL
    "-9223372036854775808", "-9223372036854775809",
    "18446744073709551615", "123456789012345678901234567890",
    "1152921504606846976.0",                            # 2**60 as a REAL
    "0.001", "1e-5", "0.30000000000000004", "1.5e300",
    '"7"', '"abc"', '""', '"100"',                      # text: after every number
    "true", "false", "null", None, "[1,2]", '{"a":1}',
]


def _sqlite(text: str | None) -> Any:
    """What SQLite's ``json_extract(payload, '$.n')`` gives for ``n`` written as ``text``."""
    if text is None:
        return None
    v = json.loads(text)
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int) and not -(2**63) <= v < 2**63:
        return float(v)  # SQLite's JSON reads an integer past 64 bits as a REAL
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return v


VALUES = [_sqlite(t) for t in SENT]


def _key(v: Any) -> tuple[int, Any]:
    """SQLite's order: NULL, then numbers by value, then text (UTF-8 bytes: code points)."""
    if v is None:
        return (0, 0)
    return (2, v) if isinstance(v, str) else (1, v)


def _cmp(op: str, b: Any) -> Callable[[Any], bool | None]:
    def test(a: Any) -> bool | None:
        if a is None:
            return None
        ka, kb = _key(a), _key(b)
        return {"<": ka < kb, "<=": ka <= kb, ">": ka > kb, ">=": ka >= kb, "=": ka == kb,
                "<>": ka != kb}[op]

    return test


def _in(*items: Any) -> Callable[[Any], bool | None]:
    return lambda a: None if a is None else any(_key(a) == _key(b) for b in items)


def _between(lo: Any, hi: Any) -> Callable[[Any], bool | None]:
    return lambda a: None if a is None else _key(lo) <= _key(a) <= _key(hi)


#: (condition on json_extract(payload, '$.n'), parameters, what it means for a SQLite value)
WHERE: list[tuple[str, list[Any], Callable[[Any], bool | None]]] = [
    ("> 100", [], _cmp(">", 100)),
    ("= 100", [], _cmp("=", 100)),
    ("< 50", [], _cmp("<", 50)),
    ("> 100.0", [], _cmp(">", 100.0)),
    (">= 19.99", [], _cmp(">=", 19.99)),
    ("= 19.99", [], _cmp("=", 19.99)),
    ("<> 5", [], _cmp("<>", 5)),
    ("> 6", [], _cmp(">", 6)),
    ("<= 0", [], _cmp("<=", 0)),
    ("= 0.30000000000000004", [], _cmp("=", 0.30000000000000004)),
    ("< 0.01", [], _cmp("<", 0.01)),
    ("IN (5, 7, 100)", [], _in(5, 7, 100)),
    ("IN (2.5, 10)", [], _in(2.5, 10)),
    ("NOT IN (5, 7, 100)", [], lambda a: None if a is None else not _in(5, 7, 100)(a)),
    ("BETWEEN 0 AND 10", [], _between(0, 10)),
    ("BETWEEN -1 AND 1", [], _between(-1, 1)),
    ("> 9223372036854775807", [], _cmp(">", 2**63 - 1)),
    ("= 9223372036854775807", [], _cmp("=", 2**63 - 1)),
    ("< -9223372036854775808", [], _cmp("<", -(2**63))),
    ("= 1152921504606846976", [], _cmp("=", 2**60)),
    ("> 100000000000000000000", [], _cmp(">", 10**20)),
    ("= '7'", [], _cmp("=", "7")),
    ("= '100'", [], _cmp("=", "100")),
    ("> 'a'", [], _cmp(">", "a")),
    ("< ''", [], _cmp("<", "")),
    ("= 1", [], _cmp("=", 1)),          # true is 1
    ("> ?", [19.5], _cmp(">", 19.5)),   # a float parameter
    ("= ?", [2.5], _cmp("=", 2.5)),
    ("= ?", [100], _cmp("=", 100)),
    ("< ?", [-0.5], _cmp("<", -0.5)),
    ("IS NULL", [], lambda a: a is None),
]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The lab that received the bodies (SQLite) and its Parquet export, opened."""
    root = tmp_path_factory.mktemp("sqlnum")
    bodies = [b"{}" if text is None else b'{"n": %s}' % text.encode() for text in SENT]
    with served_and_exported(root, [("num", body) for body in bodies]) as both:
        yield both


ENGINES = ["sqlite", "parquet"]
X = "json_extract(payload, '$.n')"
#: duckdb 1.x (the one Python 3.10 gets: DuckDB 2 has no 3.10 wheels) cannot compare VARIANT
#: values of different types, and sorts them by type before value
DUCKDB_1 = int(importlib.metadata.version("duckdb").split(".")[0]) < 2
ORDER_ON_DUCKDB_1 = ("duckdb 1.x sorts json_extract values by their DuckDB type before their value "
                     "(README: lab.sql on duckdb 1.x); duckdb >= 2 sorts them as SQLite does")


def _number(i: int) -> bool:
    """Whether the ``i``-th body's ``n`` is a JSON number (json_type 'integer' or 'real')."""
    text = SENT[i]
    return text is not None and type(json.loads(text)) in (int, float)


def _ids(df: Any) -> list[int]:
    return [int(i) for i in df["id"]]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("cond, params, means", WHERE, ids=[f"{c} {p}" if p else c for c, p, _ in WHERE])
def test_json_numbers_compare_as_sqlite(both: Any, engine: str, cond: str, params: list[Any],
                                        means: Callable[[Any], bool | None]) -> None:
    if engine == "parquet" and DUCKDB_1 and cond != "IS NULL":
        # numbers and text side by side: duckdb 1.x refuses to compare them, hooklab says so
        with pytest.raises(TypeError, match=r"duckdb 1\.\S+ cannot compare json_extract values of "
                           r"different kinds.*duckdb >= 2 \(Python >= 3\.11\).*TRY_CAST"):
            both[engine].sql(f"SELECT id FROM captures WHERE {X} {cond} ORDER BY id", params)
        return
    got = _ids(both[engine].sql(f"SELECT id FROM captures WHERE {X} {cond} ORDER BY id", params))
    assert got == [i + 1 for i, v in enumerate(VALUES) if means(v)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("desc", [False, True], ids=["asc", "desc"])
def test_json_numbers_sort_as_sqlite(both: Any, engine: str, desc: bool) -> None:
    """ORDER BY the value: numbers by value whatever their kind, then text; NULL first
    (last with DESC, the smallest value either way)."""
    if engine == "parquet" and DUCKDB_1:
        pytest.skip(ORDER_ON_DUCKDB_1)
    got = _ids(both[engine].sql(f"SELECT id FROM captures ORDER BY {X} {'DESC' if desc else ''}, id"))
    # (a stable sort, reversed or not: equal values stay in id order)
    order = sorted(range(len(VALUES)), key=lambda i: _key(VALUES[i]), reverse=desc)
    assert got == [i + 1 for i in order]


@pytest.mark.parametrize("engine", ENGINES)
def test_json_values_and_their_extremes_come_back_as_sqlite_gives_them(both: Any, engine: str) -> None:
    """The values themselves: an integer in 64 bits an exact int, a REAL a float (past 64
    bits too), text as text; min and max by SQLite's order."""
    lab = both[engine]
    got = lab.sql(f"SELECT id, {X} AS v FROM captures ORDER BY id")["v"].tolist()
    got = [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in got]
    assert got == VALUES
    assert [type(v) for v in got] == [type(v) for v in VALUES]
    if engine == "parquet" and DUCKDB_1:
        pytest.skip("min and max: " + ORDER_ON_DUCKDB_1)
    numbers = [v for t, v in zip(SENT, VALUES, strict=True) if t and type(json.loads(t)) in (int, float)]
    row = lab.sql(f"SELECT min({X}) AS lo, max({X}) AS hi FROM captures").iloc[0].tolist()
    assert row == [min(numbers), max((v for v in VALUES if v is not None), key=_key)]
    row = lab.sql(f"SELECT min({X}) AS lo, max({X}) AS hi FROM captures "
                  "WHERE json_type(payload, '$.n') IN ('integer', 'real')").iloc[0].tolist()
    assert row == [min(numbers), max(numbers)]


@pytest.mark.parametrize("engine", ENGINES)
def test_json_numbers_compare_with_each_other_as_sqlite(both: Any, engine: str) -> None:
    """Two json_extract values side by side: 1e2 (a REAL) equals 100.0 and 100 (an INTEGER)."""
    if engine == "parquet" and DUCKDB_1:
        pytest.skip("duckdb 1.x compares two json_extract values by their DuckDB type first "
                    "(1e2 is not 100 there); duckdb >= 2 compares them as SQLite does")
    got = _ids(both[engine].sql(
        f"SELECT a.id FROM captures a, captures b WHERE b.id = 7 AND {X.replace('payload', 'a.payload')}"
        f" = {X.replace('payload', 'b.payload')} ORDER BY a.id"))
    assert got == [i + 1 for i, v in enumerate(VALUES) if _key(v) == _key(VALUES[6])]


#: the way out the error of duckdb 1.x names (DuckDB's SQL: SQLite has no TRY_CAST), on every
#: duckdb: each kind compared as itself, guarded by json_type
CASTS: list[tuple[str, Callable[[int, Any], bool]]] = [
    (f"json_type(payload, '$.n') IN ('integer', 'real') AND TRY_CAST({X} AS DOUBLE) > 100",
     lambda i, v: _number(i) and float(v) > 100),
    (f"json_type(payload, '$.n') IN ('integer', 'real') AND TRY_CAST({X} AS DOUBLE) BETWEEN 0 AND 10",
     lambda i, v: _number(i) and 0 <= float(v) <= 10),
    (f"json_type(payload, '$.n') = 'text' AND CAST({X} AS VARCHAR) = '7'", lambda i, v: v == "7"),
]


@pytest.mark.parametrize("cond, means", CASTS, ids=["> 100", "BETWEEN 0 AND 10", "= '7'"])
def test_the_cast_the_duckdb_1_error_names_answers_as_sqlite(both: Any, cond: str,
                                                            means: Callable[[int, Any], bool]) -> None:
    got = _ids(both["parquet"].sql(f"SELECT id FROM captures WHERE {cond} ORDER BY id"))
    assert got == [i + 1 for i, v in enumerate(VALUES) if means(i, v)]
