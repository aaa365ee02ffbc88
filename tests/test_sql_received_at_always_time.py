"""``lab.sql``'s ``received_at`` is a ``datetime64[ns, UTC]`` column in the result (README),
also when no row matches and where a row has none (NULL: ``NaT``), on SQLite and on a Parquet
dataset. An empty result's column was ``object``: ``r["received_at"].dt`` raised the day a
query matched nothing. Captures are imported with known times (12:00:01, 12:00:02 UTC).
"""

from __future__ import annotations

import pandas as pd
import pytest
from _import_records import imported_lab

pytestmark = pytest.mark.timeout(300)

T1 = pd.Timestamp("2026-01-01T12:00:01Z")
T2 = pd.Timestamp("2026-01-01T12:00:02Z")

#: (query, the received_at values expected, in order)
CASES = [
    ("SELECT received_at FROM captures ORDER BY id", [T1, T2]),
    ("SELECT received_at FROM captures WHERE bin = 'nothing-here'", []),
    ("SELECT id, received_at FROM captures WHERE id > 99", []),
    ("SELECT c.id, d.received_at FROM captures c LEFT JOIN captures d ON d.id = c.id + 1 "
     "ORDER BY c.id", [T2, pd.NaT]),
    ("SELECT NULL AS received_at", [pd.NaT]),
]


@pytest.fixture(scope="module", params=["sqlite", "parquet"])
def lab(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    lab = imported_lab(tmp_path_factory.mktemp(request.param), [b'{"a": 1}', b'{"a": 2}'],
                       request.param)
    yield lab
    lab.stop()


@pytest.mark.parametrize(("query", "want"), CASES)
def test_received_at_is_a_utc_time_column_whatever_matched(lab, query: str, want: list) -> None:  # type: ignore[no-untyped-def]
    col = lab.sql(query)["received_at"]
    assert str(col.dtype) == "datetime64[ns, UTC]"
    assert col.tolist() == want or [None if v is pd.NaT else v for v in col.tolist()] == [
        None if v is pd.NaT else v for v in want]
    assert col.dt.tz_convert("Europe/Paris").dt.tz is not None  # (.dt works: the user's next line)


def test_a_column_of_other_values_named_so_is_left_as_it_is(lab) -> None:  # type: ignore[no-untyped-def]
    assert lab.sql("SELECT 1 AS received_at")["received_at"].tolist() == [1]
