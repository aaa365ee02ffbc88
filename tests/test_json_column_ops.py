"""The frame's ``json`` column (dtype ``json``) in the pandas operations a user runs on an
object column: each gives what it gives on ``df["json"].astype(object)`` (README: "``.apply``,
``.astype(object)`` work as before"). An outside tester found ``Series.where``,
``Series.mask`` and ``DataFrame.where`` refused ("the json column is read-only") although they
write nothing into the frame; a second one found the frame's own column refused writes only
while nothing else held it (pandas' copy-on-write copies a column others hold before a write).
Writes go into the frame now, as into an object column: never into the store, the captures or
another frame.

Real lab on 127.0.0.1, captures sent over HTTP (JSON objects, a JSON array, a body that is not
JSON, an empty body); expected values are those the object column gives, checked against
values written out for the main cases.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
from _http import post

import hooklab

A = {"bin": "a", "n": 0}
B = {"bin": "b", "n": 1, "deep": {"x": [1, {"y": None}]}}
C = [1, "two", {"three": 3}]
D = {"bin": "d", "n": 3}
NEW = {"new": True}
SENT: list[tuple[bytes, str]] = [  # (body, content type) -> payload
    (b'{"bin": "a", "n": 0}', "application/json"),
    (b'{"bin": "b", "n": 1, "deep": {"x": [1, {"y": null}]}}', "application/json"),
    (b"not json at all", "text/plain"),
    (b'[1, "two", {"three": 3}]', "application/json"),
    (b"", "application/json"),
    (b'{"bin": "d", "n": 3}', "application/json"),
]
PAYLOADS = [A, B, None, C, None, D]


@pytest.fixture(scope="module")
def served() -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for body, ctype in SENT:
            status, _ = post(lab.url_for("ops"), body, {"Content-Type": ctype})
            assert status == 200
        lab.wait(len(SENT), timeout=10)
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def frame(served: hooklab.HookLab) -> pd.DataFrame:
    """A frame as ``lab.dataframe()`` gives it (its rows in the order they were sent)."""
    df = served.dataframe()
    assert df["id"].tolist() == sorted(df["id"].tolist())
    assert str(df["json"].dtype) == "json"
    assert [plain(v) for v in df["json"]] == PAYLOADS
    return df


def plain(v: Any) -> Any:
    """A cell as a value to compare: every kind of missing is None."""
    if isinstance(v, (dict, list)):
        return v
    return None if pd.isna(v) else v


def has(df: pd.DataFrame) -> pd.Series:
    """Rows whose payload is a dict with an ``n``."""
    return df["json"].astype(object).map(lambda p: isinstance(p, dict) and "n" in p)


def n_of(s: pd.Series) -> pd.Series:
    return s.map(lambda p: p.get("n", -1) if isinstance(p, dict) else -1)


def reassigned(s: pd.Series) -> pd.Series:
    c = s.copy()
    c[0] = NEW
    c[2] = {"was": "not json"}  # (c.iloc[2] = a dict: pandas aligns the dict as a Series)
    c.loc[[3, 5]] = [{"three": 3.5}, None]
    c.iloc[1] = "text"
    return c


def broadcast(s: pd.Series) -> pd.Series:
    c = s.copy()
    c[c.isna()] = "filled"  # (a dict here: pandas takes it for one value per row)
    return c


# name -> operation on the column (a Series: the json one or its object copy), its frame
OPS: dict[str, Callable[[pd.Series, pd.DataFrame], Any]] = {
    "where": lambda s, df: s.where(has(df)),
    "where, other a column": lambda s, df: s.where(has(df), s.shift(1)),
    "where, other an object Series": lambda s, df: s.where(has(df), pd.Series([NEW] * len(s))),
    "mask": lambda s, df: s.mask(df["bin"].eq("ops") & has(df)),
    "mask, other the column reversed": lambda s, df: s.mask(has(df), s[::-1].reset_index(drop=True)),
    "fillna by index": lambda s, df: s.fillna({2: NEW, 4: {"empty": ""}}),
    "fillna from a Series": lambda s, df: s.fillna(pd.Series([NEW] * len(s))),
    "ffill": lambda s, df: s.ffill(),
    "bfill": lambda s, df: s.bfill(),
    "replace a payload": lambda s, df: s.replace([A], [NEW]),
    "replace None": lambda s, df: s.replace({None: "none"}),
    "combine_first": lambda s, df: s.combine_first(pd.Series([NEW] * len(s))),
    "combine_first, other shorter": lambda s, df: s.combine_first(pd.Series({2: NEW})),
    "sort_values by a key": lambda s, df: s.sort_values(key=n_of, kind="stable"),
    "sort_values of dicts": lambda s, df: s.sort_values(),
    "take": lambda s, df: s.take([5, 0, 3]),
    "reindex": lambda s, df: s.reindex([5, 9, 0, 3]),
    "shift": lambda s, df: s.shift(2),
    "dropna": lambda s, df: s.dropna(),
    "copy then assign": lambda s, df: reassigned(s),
    "copy then assign one value to many": lambda s, df: broadcast(s),
    "iloc slice": lambda s, df: s.iloc[1:4],
    "boolean selection": lambda s, df: s[has(df)],
    "isna": lambda s, df: s.isna(),
    "apply": lambda s, df: s.apply(lambda p: p["bin"] if isinstance(p, dict) and "bin" in p else "-"),
    "concat": lambda s, df: pd.concat([s, s.iloc[:2]]),
    "DataFrame.where": lambda s, df: df.assign(json=s)[["json", "bin"]].where(has(df)),
    "DataFrame.mask": lambda s, df: df.assign(json=s)[["json", "bin"]].mask(has(df)),
    "DataFrame.fillna by column": lambda s, df: df.assign(json=s)[["json"]].fillna({"json": NEW}),
    "DataFrame.sort_values": lambda s, df: df.assign(json=s).sort_values("id", ascending=False)[["id", "json"]],
    "DataFrame.copy then loc": lambda s, df: _loc_on_copy(df.assign(json=s)),
}


def _loc_on_copy(df: pd.DataFrame) -> pd.DataFrame:
    c = df[["json", "bin"]].copy()
    c.loc[c.index[:2], "json"] = pd.Series([NEW, NEW], index=c.index[:2])
    return c


def outcome(result: Any) -> Any:
    """What an operation gave, as values: a Series or frame cell by cell (every missing None),
    with its index; an exception by its type."""
    if isinstance(result, pd.DataFrame):
        return ("frame", list(result.columns), list(result.index),
                [[plain(v) for v in result[c].astype(object)] for c in result.columns])
    if isinstance(result, pd.Series):
        return ("series", list(result.index), [plain(v) for v in result.astype(object)])
    return result


def run(op: Callable[[pd.Series, pd.DataFrame], Any], s: pd.Series, df: pd.DataFrame) -> Any:
    try:
        return outcome(op(s, df))
    except Exception as exc:  # noqa: BLE001 - compared by type
        return ("raises", type(exc).__name__)


#: where the json column gives more than an object column (written out in WRITTEN)
BEYOND_OBJECTS = ("sort_values of dicts",)


@pytest.mark.parametrize("name", [n for n in OPS if n not in BEYOND_OBJECTS])
def test_each_operation_gives_what_the_object_column_gives(frame: pd.DataFrame, name: str) -> None:
    df = frame.copy()
    before = [plain(v) for v in df["json"]]
    want = run(OPS[name], df["json"].astype(object), df)
    got = run(OPS[name], df["json"], df)
    assert got == want
    assert [plain(v) for v in df["json"]] == before  # (the frame unchanged)
    assert [plain(v) for v in frame["json"]] == PAYLOADS


# a few written out, not only "the same as the object column"
WRITTEN: dict[str, Any] = {
    "where": ("series", [0, 1, 2, 3, 4, 5], [A, B, None, None, None, D]),
    "mask": ("series", [0, 1, 2, 3, 4, 5], [None, None, None, C, None, None]),
    "where, other a column": ("series", [0, 1, 2, 3, 4, 5], [A, B, B, None, C, D]),
    "fillna by index": ("series", [0, 1, 2, 3, 4, 5], [A, B, NEW, C, {"empty": ""}, D]),
    "ffill": ("series", [0, 1, 2, 3, 4, 5], [A, B, B, C, C, D]),
    "bfill": ("series", [0, 1, 2, 3, 4, 5], [A, B, C, C, D, D]),
    "replace a payload": ("series", [0, 1, 2, 3, 4, 5], [NEW, B, None, C, None, D]),
    "combine_first, other shorter": ("series", [0, 1, 2, 3, 4, 5], [A, B, NEW, C, None, D]),
    "sort_values by a key": ("series", [2, 3, 4, 0, 1, 5], [None, C, None, A, B, D]),
    # (an object column of dicts cannot be sorted: TypeError; the json column sorts by each
    # payload's canonical JSON text, keys sorted, missing last, as groupby needs its keys
    # sorted: arrays '[' before objects '{')
    "sort_values of dicts": ("series", [3, 0, 1, 5, 2, 4], [C, A, B, D, None, None]),
    "take": ("series", [5, 0, 3], [D, A, C]),
    "reindex": ("series", [5, 9, 0, 3], [D, None, A, C]),
    "copy then assign": ("series", [0, 1, 2, 3, 4, 5],
                         [NEW, "text", {"was": "not json"}, {"three": 3.5}, None, None]),
    "copy then assign one value to many": ("series", [0, 1, 2, 3, 4, 5],
                                           [A, B, "filled", C, "filled", D]),
    "DataFrame.where": ("frame", ["json", "bin"], [0, 1, 2, 3, 4, 5],
                        [[A, B, None, None, None, D], ["ops", "ops", None, None, None, "ops"]]),
}


@pytest.mark.parametrize("name", list(WRITTEN))
def test_the_values_written_out(frame: pd.DataFrame, name: str) -> None:
    got = run(OPS[name], frame["json"], frame)
    assert got == WRITTEN[name]


def test_results_stay_json_columns(frame: pd.DataFrame) -> None:
    """The new objects keep the column's dtype (bodies shared, parsed when read)."""
    s = frame["json"]
    for made in (s.where(has(frame)), s.mask(has(frame)), s.fillna({2: NEW}), s.ffill(),
                 s.take([1, 0]), s.reindex([0, 7]), reassigned(s), s.replace([A], [NEW]),
                 s.combine_first(s.shift(1)), s.where(has(frame), "text")):
        assert str(made.dtype) == "json"


# writing into the frame's own column (or rows picked from it, sorted): as an object column
WRITES: dict[str, Callable[[pd.DataFrame], None]] = {  # (into the frame's first row)
    "df.loc[row, 'json'] = text": lambda df: df.loc.__setitem__((df.index[0], "json"), "x"),
    "df.loc[row, 'json'] = a dict": lambda df: df.loc.__setitem__((df.index[0], "json"), NEW),
    "df.at[row, 'json'] = text": lambda df: df.at.__setitem__((df.index[0], "json"), "x"),
    "df.iloc[row, col] = text": lambda df: df.iloc.__setitem__((0, df.columns.get_loc("json")), "x"),
    "df.loc[rows, 'json'] = a Series": lambda df: df.loc.__setitem__(
        (df.index[:2], "json"), pd.Series([NEW, NEW], index=df.index[:2])),
    "the array itself": lambda df: df["json"].array.__setitem__(0, NEW),
    "df.update": lambda df: df.update(pd.DataFrame({"json": [NEW]}, index=df.index[:1])),
}


@pytest.mark.parametrize("rows", ["as made", "sorted", "some rows"])
@pytest.mark.parametrize("name", list(WRITES))
def test_writing_into_the_frames_own_column_is_what_an_object_column_does(
        served: hooklab.HookLab, name: str, rows: str) -> None:
    """Into the frame as ``lab.dataframe()`` made it (and into one held elsewhere too, as a
    kernel's ``Out[]`` holds a column shown): the outcome of the same write into an object
    column; the captures, a new frame and another frame made before stay as they were."""
    def made(kind: str) -> pd.DataFrame:
        frame = served.dataframe()
        return {"as made": frame, "sorted": frame.sort_values("id", ascending=False),
                "some rows": frame[frame["id"] > frame["id"].min()]}[kind]

    other = served.dataframe()
    outcomes = []
    for df in (made(rows), made(rows).pipe(lambda d: d.assign(json=d["json"].astype(object)))):
        held = df["json"]  # (a reference elsewhere: pandas copies before the write)
        try:
            WRITES[name](df)
            outcomes.append([plain(v) for v in df["json"].astype(object)])
        except (TypeError, ValueError) as exc:
            outcomes.append(type(exc).__name__)
        assert held is not None
    assert outcomes[0] == outcomes[1], outcomes
    assert [plain(v) for v in other["json"]] == PAYLOADS
    assert [plain(v) for v in served.dataframe()["json"]] == PAYLOADS
    assert [plain(c.json()) for c in served.captures] == PAYLOADS


@pytest.mark.parametrize("name", [n for n in WRITES if n != "the array itself"])
def test_a_copy_of_the_frame_takes_the_same_writes(frame: pd.DataFrame, name: str) -> None:
    """``df.copy()`` is the user's: writes go in (the lab's frame stays as it was)."""
    mine = frame.copy()
    obj = frame.assign(json=frame["json"].astype(object))
    outcomes = []
    for df in (mine, obj):
        try:
            WRITES[name](df)
            outcomes.append([plain(v) for v in df["json"].astype(object)])
        except (TypeError, ValueError) as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[0] == outcomes[1]
    assert [plain(v) for v in frame["json"]] == PAYLOADS


NOT_JSON = {"a set": {1, 2}, "an object": object(), "a Timestamp inside": {"when": pd.Timestamp("2026-01-01")},
            "bytes": b"raw", "a complex number": 1j}


@pytest.mark.parametrize("name", list(NOT_JSON))
def test_a_value_json_cannot_hold_is_refused_with_the_way_out(frame: pd.DataFrame, name: str) -> None:
    c = frame["json"].copy()
    with pytest.raises(TypeError, match=r"JSON values.*astype\(object\)"):
        c[1] = NOT_JSON[name]
    assert c[1] == B
    o = frame["json"].astype(object).copy()
    o[1] = NOT_JSON[name]  # (the way out the message gives)
    assert o[1] is NOT_JSON[name]


def test_values_come_back_as_set(frame: pd.DataFrame) -> None:
    """NaN, integers at int64's ends and within 64 bits, text with a lone surrogate."""
    c = frame["json"].copy()
    c[0] = {"nan": float("nan"), "big": 2**63 + 5, "neg": -(2**63), "s": "\ud800x", "f": 1.5}
    got = c[0]
    assert got["nan"] != got["nan"]
    assert (got["big"], got["neg"], got["s"], got["f"]) == (2**63 + 5, -(2**63), "\ud800x", 1.5)


def test_a_pickled_frame_and_its_copies_take_writes(frame: pd.DataFrame) -> None:
    df = pickle.loads(pickle.dumps(frame))
    df["json"].array[0] = NEW
    assert df["json"][0] == NEW and frame["json"][0] == A
    c = pickle.loads(pickle.dumps(reassigned(frame["json"])))
    c[1] = NEW
    assert [plain(v) for v in c] == [NEW, NEW, {"was": "not json"}, {"three": 3.5}, None, None]


@pytest.mark.parametrize("fn, dtype, want", [
    (lambda p: p["n"], "int64", [0, 1, 3]),
    (lambda p: p["n"] > 0, "bool", [False, True, True]),
    (lambda p: p["n"] / 2, "float64", [0.0, 0.5, 1.5]),
    (lambda p: {"m": p["n"]}, "json", [{"m": 0}, {"m": 1}, {"m": 3}]),
])
def test_apply_gives_pandas_own_dtypes_for_numbers(frame: pd.DataFrame, fn: Any, dtype: str, want: list) -> None:
    """(A copy taking numpy's numbers must not make ``apply``'s numbers json payloads.)"""
    objects = frame[has(frame)]["json"]
    got = objects.apply(fn)
    assert str(got.dtype) == dtype
    assert got.tolist() == want
