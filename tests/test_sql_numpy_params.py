"""Values read from a frame (NumPy scalars) as ``lab.sql`` parameters and as capture ids.

Any value a user reads from ``lab.dataframe()`` is a NumPy scalar: ``df.id[2]`` is a
``numpy.int64``. SQLite's ``sqlite3`` bound one as an 8-byte BLOB, so ``WHERE id = ?`` silently
matched nothing, and DuckDB (a Parquet dataset) refused it; ``lab.diff(df.id[0], df.id[1])``
raised TypeError while ``lab.get(df.id[0])`` worked. Each parameter below must give, on both
engines, the ids written out here from the bodies (not from the other engine's answer).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _import_records import imported_lab

import hooklab

pytest.importorskip("duckdb")
pytestmark = pytest.mark.timeout(180)

#: the captures' bodies, ids 1, 2, 3
BODIES = [{"n": 1, "flag": True, "price": 19.99},
          {"n": 2, "flag": False, "price": 0.5},
          {"n": 3, "flag": True, "price": 7}]


@pytest.fixture(scope="module", params=["sqlite", "parquet"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> hooklab.HookLab:
    return imported_lab(tmp_path_factory.mktemp("npparams"),
                        [json.dumps(b).encode() for b in BODIES], request.param)


#: (case, query, parameter, expected ids)
CASES = [
    ("int64-id", "id = ?", np.int64(3), [3]),
    ("int32-id", "id = ?", np.int32(3), [3]),
    ("int8-id", "id = ?", np.int8(2), [2]),
    ("uint64-id", "id = ?", np.uint64(1), [1]),
    ("uint16-id-gt", "id > ?", np.uint16(1), [2, 3]),
    ("int64-json", "json_extract(payload, '$.n') = ?", np.int64(2), [2]),
    ("uint8-json-real", "json_extract(payload, '$.price') = ?", np.uint8(7), [3]),
    ("float64-json", "json_extract(payload, '$.price') = ?", np.float64(19.99), [1]),
    ("float32-json", "json_extract(payload, '$.price') = ?", np.float32(0.5), [2]),
    ("float16-json", "json_extract(payload, '$.price') = ?", np.float16(7), [3]),
    ("bool-true", "json_extract(payload, '$.flag') = ?", np.True_, [1, 3]),
    ("bool-false", "json_extract(payload, '$.flag') = ?", np.False_, [2]),
    ("py-true", "json_extract(payload, '$.flag') = ?", True, [1, 3]),
    ("pd-na", "? IS NULL AND id = 1", pd.NA, [1]),
    ("pd-nat", "? IS NULL AND id = 1", pd.NaT, [1]),
    ("np-nan", "? IS NULL AND id = 1", np.nan, [1]),
    ("np-nat", "? IS NULL AND id = 1", np.datetime64("NaT"), [1]),
    ("na-equals-nothing", "json_extract(payload, '$.n') = ?", pd.NA, []),
    ("nan-equals-nothing", "json_extract(payload, '$.price') = ?", np.float64("nan"), []),
]


@pytest.mark.parametrize(("case", "where", "value", "want"), CASES, ids=[c[0] for c in CASES])
def test_numpy_and_missing_parameters_bind_as_python_values(
        lab: hooklab.HookLab, case: str, where: str, value: object, want: list[int]) -> None:
    got = lab.sql(f"SELECT id FROM captures WHERE {where} ORDER BY id", [value]).id.tolist()
    assert got == want, case
    named = lab.sql(f"SELECT id FROM captures WHERE {where.replace('?', ':v')} ORDER BY id",
                    {"v": value}).id.tolist()
    assert named == want, case


def test_an_id_read_from_the_frame(lab: hooklab.HookLab) -> None:
    df = lab.dataframe()
    third = df.id[2]
    assert isinstance(third, np.integer)
    assert lab.sql("SELECT id FROM captures WHERE id = ?", [third]).id.tolist() == [3]
    assert lab.sql("SELECT id, json_extract(payload, '$.n') AS n FROM captures WHERE id = $i",
                   {"i": third}).to_dict("records") == [{"id": 3, "n": 3}]
    # the frame's column itself, or an array of it, as the parameters
    assert lab.sql("SELECT id FROM captures WHERE id IN (?, ?) ORDER BY id",
                   df.id[:2]).id.tolist() == [1, 2]
    assert lab.sql("SELECT id FROM captures WHERE id IN (?, ?) ORDER BY id",
                   df.id.to_numpy()[1:]).id.tolist() == [2, 3]


def test_diff_takes_ids_read_from_the_frame(lab: hooklab.HookLab) -> None:
    df = lab.dataframe()
    d = lab.diff(df.id[0], df.id[1])
    rows = {r["field"]: (r["change"], r["a"], r["b"]) for r in d.to_dict("records")}
    assert rows["n"] == ("changed", 1, 2)
    assert rows["price"] == ("changed", 19.99, 0.5)
    assert lab.diff(np.int32(3), 1).equals(lab.diff(3, 1))
    assert lab.get(df.id[2]).id == 3


@pytest.mark.parametrize("bad", [True, np.True_, "1", 1.0, np.float64(1.0), None])
def test_diff_refuses_what_is_no_capture_id(lab: hooklab.HookLab, bad: object) -> None:
    with pytest.raises(TypeError, match="expected a Capture or a capture id"):
        lab.diff(bad, 2)


def test_one_helper_says_what_a_capture_id_is() -> None:
    from hooklab.filters import is_capture_id

    for yes in (0, 7, np.int64(7), np.uint8(7), np.int32(-1)):
        assert is_capture_id(yes), repr(yes)
    for no in (True, False, np.True_, 7.0, np.float64(7), "7", None, [7]):
        assert not is_capture_id(no), repr(no)


def test_live_view_says_a_deleted_capture_picked_by_a_numpy_id_is_gone(tmp_path) -> None:  # noqa: ANN001
    from hooklab.widget._ui import TAB_TITLES

    lab = imported_lab(tmp_path, [json.dumps(b).encode() for b in BODIES], "sqlite")
    try:
        second = lab.dataframe().id[1]
        view = lab.live()
        view.tabs.selected_index = TAB_TITLES.index("Diff with previous")
        assert lab.clear() == 3
        assert view.select(second) is None
        assert "#2 is no longer stored: deleted by retention or a clear" in view.diff_pane.value
    finally:
        lab.stop()
