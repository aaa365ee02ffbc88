"""Hostile payloads never crash or hang schema, diff, search, SQL or the tree view.

A table of bodies (100,000-deep arrays, 5,000-deep objects, 10 MB bodies, huge numbers, a
decompression bomb, ...) is POSTed to a real lab over loopback; each exploration call must
finish within a bound and say which limit it applied, with the values written out here.
"""

from __future__ import annotations

import gzip
import json
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from _http import post

from hooklab import HookLab
from hooklab.explore import MAX_DEPTH, MAX_FIELDS, MAX_ITEMS, MAX_NODES, read_payload
from hooklab.widget import _tree
from hooklab.widget.view import LiveView

pytestmark = pytest.mark.timeout(600)

#: seconds of the process's CPU one exploration call may take ("never runs away"; CPU, not
#: the clock: a loaded machine stretched a 4 s diff to 38 s of wall time; a hang is the
#: timeout's)
BOUND = 30.0


def _bomb(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    return b"".join(z.compress(block) for _ in range(size >> 20)) + z.flush()


@dataclass
class Hostile:
    bin: str
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    check: Callable[[pd.DataFrame], None] | None = None  # on its schema rows (indexed by field)


def _rows(n: int) -> Callable[[pd.DataFrame], None]:
    def check(s: pd.DataFrame) -> None:
        assert len(s) == n, s.index.tolist()[:10]
    return check


def _root(types: str, note: str) -> Callable[[pd.DataFrame], None]:
    def check(s: pd.DataFrame) -> None:
        assert s.index.tolist() == ["(body)"]
        assert s.loc["(body)", "types"] == types
        assert note in s.loc["(body)", "example"], s.loc["(body)", "example"]
    return check


def _deep_ok(s: pd.DataFrame) -> None:
    assert len(s) == MAX_DEPTH + 1  # (body), [], [][], ... down to 64 levels
    last = "[]" * MAX_DEPTH
    assert s.index[-1] == last and s.loc[last, "types"] == "array"
    assert "nested deeper than 64 levels: not explored" in s.loc[last, "example"]


def _long_array(s: pd.DataFrame) -> None:
    assert s.loc["(body)", "types"] == "array"
    note = s.loc["(body)", "example"]
    assert "first 100,000 values explored" in note and "first 10,000 items of each array" in note
    assert s.loc["[]", "count"] == MAX_ITEMS and s.loc["[]", "distinct"] == 1


def _long_string(s: pd.DataFrame) -> None:
    assert s.loc["s", "types"] == "string" and s.loc["s", "distinct"] == 1
    assert s.loc["s", "example"] == '"' + "x" * 78 + "…"


def _wide(s: pd.DataFrame) -> None:
    assert len(s) == MAX_FIELDS + 1
    note = s.loc["(body)", "example"]
    assert "first 100,000 values explored" in note
    assert f"more than {MAX_FIELDS:,} fields: {MAX_NODES - 1 - MAX_FIELDS:,} more not listed" in note


def _numbers(s: pd.DataFrame) -> None:
    assert s.loc["big", "types"] == "integer"  # past 64 bits: exact, as dataframe() reads it
    assert s.loc["max", "types"] == "number" and s.loc["neg0", "types"] == "number"
    assert s.loc["max", "example"] == "1e+308"


def _nan(s: pd.DataFrame) -> None:
    assert s.loc["a", "types"] == "number" and s.loc["a", "example"] == "NaN"
    assert s.loc["b", "example"] == "Infinity"


def _grid(s: pd.DataFrame) -> None:
    assert s.loc["[]", "count"] == 1000 and s.loc["[]", "types"] == "array"
    assert s.loc["[][]", "count"] == MAX_NODES - 1 - 1000


def _odd_keys(s: pd.DataFrame) -> None:
    assert s.index.tolist() == ["(body)", "\x00k", "<script>alert(1)</script>", "", "a.b"]


def _big_form(s: pd.DataFrame) -> None:
    assert s.loc["(body)", "types"] == "form"
    assert s.loc["a", "types"] == "array" and s.loc["a[]", "count"] == 10_000


CORPUS = [
    Hostile("deep-list", b"[" * 100_000 + b"]" * 100_000,
            check=_root("application/json", "not JSON: nested deeper than 1,024 levels")),
    Hostile("deep-dict", b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
            check=_root("application/json", "not JSON: nested deeper than 1,024 levels")),
    Hostile("deep-900", b"[" * 900 + b"1" + b"]" * 900, check=_deep_ok),
    Hostile("long-array", b"[" + b"1," * 4_999_999 + b"1]", check=_long_array),
    Hostile("long-string", json.dumps({"s": "x" * 10_000_000}).encode(), check=_long_string),
    Hostile("wide", json.dumps({f"k{i}": i for i in range(200_000)}).encode(), check=_wide),
    # (Python's words: "(4300 digits)" from 3.11, "(4300) for integer string conversion" on 3.10)
    Hostile("huge-number", b'{"n": ' + b"9" * 100_000 + b"}",
            check=_root("application/json", "Exceeds the limit (4300")),
    Hostile("numbers", b'{"big": 123456789012345678901234567890, "max": 1e308, "neg0": -0.0}',
            check=_numbers),
    Hostile("nan", b'{"a": NaN, "b": Infinity, "c": -Infinity}', check=_nan),
    Hostile("bomb", _bomb(256 << 20), headers=(("Content-Encoding", "gzip"),),
            check=_root("application/json", "decoded body exceeds")),
    Hostile("surrogate", b'{"s": "\\ud800 lone"}', check=_rows(2)),
    Hostile("grid", json.dumps([[0] * 1000 for _ in range(1000)]).encode(), check=_grid),
    Hostile("odd-keys", json.dumps({"\x00k": 1, "<script>alert(1)</script>": 2, "": 3,
                                    "a.b": 4}).encode(), check=_odd_keys),
    Hostile("big-form", b"a=1&" * 2_500_000, "application/x-www-form-urlencoded", check=_big_form),
    Hostile("binary-json", bytes(range(256)) * 40_000, check=_root("application/json", "not JSON")),
]


@pytest.fixture(scope="module")
def hostile() -> Iterator[HookLab]:
    lab = HookLab(port=0, db=":memory:", max_body=32 * 1024 * 1024).start()
    try:
        for h in CORPUS:
            status, _ = post(lab.url_for(h.bin), h.body, {"Content-Type": h.content_type,
                                                          **dict(h.headers)})
            assert status == 200, h.bin
        post(lab.url_for("plain"), b'{"needle": "hostile-needle"}', {"Content-Type": "application/json"})
        lab.wait(len(CORPUS) + 1, timeout=60)
        yield lab
    finally:
        lab.stop()


def timed(fn: Callable[[], Any]) -> Any:
    t0 = time.process_time()
    out = fn()
    took = time.process_time() - t0
    assert took < BOUND, f"took {took:.1f} s of CPU"
    return out


@pytest.mark.parametrize("h", CORPUS, ids=[h.bin for h in CORPUS])
def test_schema_bounds_each_hostile_body(hostile: HookLab, h: Hostile) -> None:
    s = timed(lambda: hostile.schema(bin=h.bin))
    assert s["count"].iloc[0] == 1  # the body row: one capture
    if h.check is not None:
        h.check(s.set_index("field"))


def test_schema_of_everything_at_once(hostile: HookLab) -> None:
    s = timed(hostile.schema)
    assert s.loc[s["field"] == "(body)", "count"].sum() == len(CORPUS) + 1
    sql = timed(lambda: hostile.sql("SELECT bin, payload IS NOT NULL AS json FROM captures ORDER BY id"))
    as_json = dict(zip(sql["bin"], sql["json"], strict=True))
    assert as_json["deep-list"] == 0 and as_json["wide"] == 1 and as_json["plain"] == 1


@pytest.mark.parametrize("h", CORPUS, ids=[h.bin for h in CORPUS])
def test_diff_bounds_each_hostile_body(hostile: HookLab, h: Hostile) -> None:
    (cap,) = hostile.query(bin=h.bin)
    (plain,) = hostile.query(bin="plain")
    same = timed(lambda: hostile.diff(cap, cap))
    assert same.empty and same.attrs["notes"] == []
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        other = timed(lambda: hostile.diff(plain, cap))
    assert 1 <= len(other) <= 10_000
    # diff's own warnings: the recorder also catches any other code's (a stray one, whose text
    # had no ": ", failed this once in a full run)
    said = [w for w in said if str(w.message).startswith("diff of #")]
    assert [str(w.message).split(": ", 1)[1] for w in said] == other.attrs["notes"]
    if len(other) == 10_000:
        assert other.attrs["notes"] == ["stopped at 10,000 rows"]


def test_diff_of_two_long_arrays_stops_and_says_so(hostile: HookLab) -> None:
    post(hostile.url_for("long-array-2"), b"[" + b"2," * 4_999_999 + b"2]",
         {"Content-Type": "application/json"})
    hostile.wait(1, timeout=30, bin="long-array-2")
    (a,) = hostile.query(bin="long-array")
    (b,) = hostile.query(bin="long-array-2")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        d = timed(lambda: hostile.diff(a, b))
    # (its own: a collection during the big diff may warn of another test's unclosed objects;
    # make test saw 5 warnings here, and 2 when the file ran alone)
    said = [w for w in said if str(w.message).startswith("diff of #")]
    assert len(said) == 2 and "stopped at 10,000 rows" in str(said[0].message)
    assert len(d) == 10_000 and d["field"].iloc[0] == "[0]" and d["field"].iloc[-1] == "[9999]"
    assert d.attrs["notes"] == ["stopped at 10,000 rows",
                                "compared the first 1,000,000 values; the rest was not compared"]


def test_search_over_hostile_bodies(hostile: HookLab) -> None:
    found = timed(lambda: hostile.query(search="hostile-needle"))
    assert [c.bin for c in found] == ["plain"]
    assert timed(lambda: hostile.query(search="<script>alert(1)"))[0].bin == "odd-keys"
    assert timed(lambda: hostile.dataframe(search="no such text")).empty


@pytest.mark.parametrize("h", CORPUS, ids=[h.bin for h in CORPUS])
def test_tree_view_bounds_each_hostile_body(hostile: HookLab, h: Hostile) -> None:
    (cap,) = hostile.query(bin=h.bin)

    def build() -> list[tuple[str, Any]]:
        t = _tree.Tree.of(read_payload(cap.body, cap.content_type, cap.header("content-encoding"),
                                       exact=True))
        rows = t.rows()
        t.open_to(_tree.MAX_INDENT)  # "Open all"
        return rows + t.rows()

    rows = timed(build)
    assert 1 <= len(rows) <= 2 * (_tree.MAX_ROWS + 1)
    assert all(len(label) < 400 for label, _ in rows)
    assert all("\x00" not in label for label, _ in rows)  # control characters made visible


def test_live_view_tree_and_diff_tabs_on_hostile_bodies(hostile: HookLab) -> None:
    view = LiveView(hostile.store)
    try:
        for cap in hostile.captures:
            timed(lambda c=cap: view.select(c.id))
            view.tabs.selected_index = 1  # Tree
            labels = [label for label, _ in view.tree.options]
            assert labels, cap.path
            keys = [k for k in view._tree_keys if k]
            if keys:
                timed(lambda k=keys[-1]: view.pick_field(k))
                assert "schema field" in view.field_info.value
            view.tabs.selected_index = 2  # Diff with previous
            assert "hl-title" in view.diff_pane.value
            view.tabs.selected_index = 0
    finally:
        view.close()
    odd = hostile.query(bin="odd-keys")[0]
    view = LiveView(hostile.store)
    try:
        view.select(odd.id)
        view.tabs.selected_index = 1
        labels = [label for label, _ in view.tree.options]
        assert '    \\x00k: 1' in labels and "    <script>alert(1)</script>: 2" in labels
        view.pick_field(("<script>alert(1)</script>",))
        assert "<script>" not in view.field_info.value
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in view.field_info.value
        assert view.field_column.value == "payload.<script>alert(1)</script>"
    finally:
        view.close()


def test_gzip_json_is_explored_decoded(hostile: HookLab) -> None:
    post(hostile.url_for("gz"), gzip.compress(b'{"inner": [1, 2]}'),
         {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    hostile.wait(1, timeout=10, bin="gz")
    s = hostile.schema(bin="gz").set_index("field")
    assert s.loc["inner[]", "count"] == 2
