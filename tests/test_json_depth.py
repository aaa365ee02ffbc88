"""One JSON nesting limit (1,024 levels) on every Python version, as a user meets it.

A body is posted to a real lab over HTTP; ``Capture.json()``, the DataFrame's ``json`` column
and ``lab.sql``'s ``payload`` read JSON nested up to 1,024 arrays/objects deep and nothing
deeper (``None``), whatever the interpreter: Python 3.10 and 3.11 stopped near 1,000 levels
(RecursionError), 3.13 read 5,000, orjson stops after 1,024. Bodies that orjson refuses (NaN, a
lone surrogate) or reads inexactly (integers past 64 bits) take the standard library's path
and must keep the same limit.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from _labs import module_lab

import hooklab

pytestmark = pytest.mark.timeout(120)


def nested(depth: int, leaf: bytes, kind: str = "list") -> bytes:
    if kind == "list":
        return b"[" * (depth - 1) + b"[" + leaf + b"]" + b"]" * (depth - 1)
    return b'{"a":' * depth + leaf + b"}" * depth


def unwrap(value: Any, kind: str) -> tuple[int, Any]:
    """(depth, leaf) of a chain of one-element lists / {"a": ...} objects, walked without
    recursion (comparing 1,024-deep values with == would recurse)."""
    depth = 0
    while True:
        if kind == "list" and isinstance(value, list) and len(value) == 1:
            value = value[0]
        elif kind == "dict" and isinstance(value, dict) and list(value) == ["a"]:
            value = value["a"]
        else:
            return depth, value
        depth += 1


BIG = 123456789012345678901234567890
CASES = [
    # (name, depth, leaf bytes, kind, expected leaf or None for "not JSON")
    ("list-1", 1, b"1", "list", 1),
    ("list-999", 999, b"1", "list", 1),
    ("list-1000", 1000, b"1", "list", 1),
    ("list-1024", 1024, b"1", "list", 1),
    ("list-1025", 1025, b"1", "list", None),
    ("list-5000", 5000, b"1", "list", None),
    ("dict-1024", 1024, b"true", "dict", True),
    ("dict-1025", 1025, b"true", "dict", None),
    ("dict-5000", 5000, b"true", "dict", None),
    # orjson refuses NaN: the standard library reads it, with the same limit
    ("nan-1024", 1024, b"NaN", "list", "nan"),
    ("nan-1025", 1025, b"NaN", "list", None),
    ("nan-5000", 5000, b"NaN", "dict", None),
    # an integer past 64 bits: read exactly by the standard library, with the same limit
    ("bigint-1024", 1024, str(BIG).encode(), "list", BIG),
    ("bigint-1025", 1025, str(BIG).encode(), "list", None),
    # a lone surrogate, which orjson refuses
    ("surrogate-1024", 1024, b'"\\ud800"', "dict", "\ud800"),
    ("surrogate-1030", 1030, b'"\\ud800"', "dict", None),
]

# brackets inside strings (and escaped quotes before them) do not nest
SHALLOW_STRINGS = [
    ("brackets-in-string", b'["' + b"[" * 3000 + b'"]', ["[" * 3000]),
    ("escaped-quote", b'["\\"' + b"[{" * 2000 + b'", 1]', ['"' + "[{" * 2000, 1]),
    ("backslashes", b'["\\\\", "' + b"[" * 2000 + b'"]', ["\\", "[" * 2000]),
    ("many-siblings", b"[" + b",".join([b"[[1]]"] * 3000) + b"]", [[[1]]] * 3000),
]


lab = module_lab()  # (one lab for the module's tests)


def post(lab: hooklab.HookLab, name: str, body: bytes) -> hooklab.Capture:
    import urllib.request

    req = urllib.request.Request(lab.url_for(name), data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    [cap] = lab.wait(1, bin=name, timeout=10)
    assert cap.body == body
    return cap


def check_leaf(got: Any, expected: Any) -> None:
    if expected == "nan":
        assert isinstance(got, float) and math.isnan(got)
    else:
        assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(("name", "depth", "leaf", "kind", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_one_depth_limit(lab: hooklab.HookLab, name: str, depth: int, leaf: bytes, kind: str,
                         expected: Any) -> None:
    body = nested(depth, leaf, kind)
    cap = post(lab, name, body)
    value = cap.json()
    if expected is None:
        assert value is None
        assert cap.text == body.decode()  # the body itself is kept whole
    else:
        got_depth, got_leaf = unwrap(value, kind)
        assert got_depth == depth
        check_leaf(got_leaf, expected)

    frame = lab.dataframe(bin=name)
    assert len(frame) == 1
    cell = frame["json"].iloc[0]
    if expected is None:
        assert cell is None
    else:
        got_depth, got_leaf = unwrap(cell, kind)
        assert got_depth == depth
        check_leaf(got_leaf, expected)  # (an integer past 64 bits too: exact)


@pytest.mark.parametrize(("name", "body", "expected"), SHALLOW_STRINGS,
                         ids=[c[0] for c in SHALLOW_STRINGS])
def test_brackets_in_strings_do_not_nest(lab: hooklab.HookLab, name: str, body: bytes,
                                         expected: Any) -> None:
    cap = post(lab, name, body)
    assert cap.json() == expected
    assert lab.dataframe(bin=name)["json"].iloc[0] == expected


def test_sql_payload_follows_the_limit(lab: hooklab.HookLab) -> None:
    post(lab, "sqlshallow", nested(3, b"7"))
    post(lab, "sqldeep", nested(1025, b"7"))
    rows = lab.sql("SELECT bin, payload IS NULL AS missing FROM captures "
                   "WHERE bin IN ('sqlshallow', 'sqldeep') ORDER BY bin")
    assert rows.to_dict("records") == [{"bin": "sqldeep", "missing": 1},
                                       {"bin": "sqlshallow", "missing": 0}]


@pytest.mark.parametrize("depth", [1024, 1025, 1999, 2001, 5000])
def test_sql_payload_on_sqlite_and_parquet(tmp_path: Any, depth: int) -> None:
    """``payload`` is the body's JSON text exactly when ``Capture.json()`` reads it, in a lab's
    SQLite view and in a Parquet folder's DuckDB view (SQLite's json_valid takes 2,000 levels,
    DuckDB's any depth)."""
    pytest.importorskip("duckdb")
    pytest.importorskip("pyarrow")
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "lab.sqlite3")).start()
    try:
        post(lab, "deep", nested(depth, b"1"))
        post(lab, "wide", b"[" + b",".join([b"[1]"] * 3000) + b"]")
        lab.export(str(tmp_path / "pq"), fmt="parquet")
        query = "SELECT bin, payload IS NULL AS missing FROM captures ORDER BY bin"
        expected = [{"bin": "deep", "missing": depth > 1024}, {"bin": "wide", "missing": False}]
        got_sqlite = [{k: bool(v) if k == "missing" else v for k, v in r.items()}
                      for r in lab.sql(query).to_dict("records")]
        assert got_sqlite == expected
    finally:
        lab.stop()
    folder = hooklab.open(str(tmp_path / "pq"))
    got_parquet = [{k: bool(v) if k == "missing" else v for k, v in r.items()}
                   for r in folder.sql(query).to_dict("records")]
    assert got_parquet == expected
    wide = folder.sql("SELECT json_extract(payload, '$[2999][0]') AS v FROM captures "
                      "WHERE bin = 'wide'")
    assert wide["v"].tolist() == [1]


# UTF-16: json.loads reads it; its characters' bytes may hold a "[" (U+015B) or a quote (U+0122)
WIDE = [
    ("wide-shallow", '["\u0122' + "\u015b" * 2000 + '\u0122"]', "value"),
    ("wide-deep", '["\u0122",' + "[" * 2000 + "]" * 2000 + ',"\u0122"]', None),
    ("wide-escaped", '["\\"' + "[" * 2000 + '", "\u015b"]', "value"),
]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16", "utf-32"])
@pytest.mark.parametrize(("name", "text", "expected"), WIDE, ids=[w[0] for w in WIDE])
def test_utf16_and_32_bodies_have_their_depth_read_as_text(lab: hooklab.HookLab, name: str,
                                                           text: str, expected: Any,
                                                           encoding: str) -> None:
    import json

    bin_ = f"{name}-{encoding}"
    cap = post(lab, bin_, text.encode(encoding))
    want = json.loads(text) if expected == "value" else None
    assert cap.json() == want
    assert lab.dataframe(bin=bin_)["json"].iloc[0] == want
    missing = lab.sql("SELECT payload IS NULL AS m FROM captures WHERE bin = ?", (bin_,))
    assert bool(missing["m"].iloc[0]) is (want is None)


def test_threads_reading_json_leave_the_recursion_limit_as_it_was(lab: hooklab.HookLab) -> None:
    """Python 3.10/3.11 parse with the recursion limit raised while a call needs it; threads
    that each raised and restored it left it higher after every overlap (32,000 after 4,000
    parses in two threads), and then a deep body overflowed the C stack."""
    import sys
    import threading

    body = b'{"n": 123456789012345678901234567890, "pad": "' + b"x" * 4000 + b'"}'
    cap = post(lab, "limit", body)
    before = sys.getrecursionlimit()
    stop = threading.Event()

    def reader() -> None:
        for _ in range(1500):
            if stop.is_set():
                return
            assert cap.json()["n"] == 123456789012345678901234567890

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=reader) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        stop.set()
        sys.setswitchinterval(old_interval)
    assert sys.getrecursionlimit() == before


@pytest.mark.parametrize("depth", [99, 500, 899, 1024])
def test_the_limit_does_not_depend_on_the_callers_stack(lab: hooklab.HookLab, depth: int) -> None:
    """Python 3.10/3.11 count the parser's levels against the recursion limit, with the
    caller's frames: a body 899 deep (1,798 bytes, under the size for which the limit was
    raised) read as None from 150 frames down (a framework's callback, recursive code)."""
    cap = post(lab, f"stack-{depth}", nested(depth, b"1"))

    def down(n: int) -> Any:
        return cap.json() if n == 0 else down(n - 1)

    got_depth, leaf = unwrap(down(150), "list")
    assert (got_depth, leaf) == (depth, 1)
