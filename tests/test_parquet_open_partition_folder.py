"""``hooklab.open`` of one partition folder of a Parquet export (``ds/day=.../provider=stripe``,
or a file in one): ``lab.sql`` (DuckDB reads the folder names) said stripe, but the frame
said NaN, ``lab.captures`` None and ``dataframe(provider="stripe")`` found nothing. The
partition values are read from the path now, as the export's own folder gives them, on every
surface. Captures are sent over real HTTP on 127.0.0.1 and exported for real; what each
opened folder holds is written out by hand from what was sent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An export of two stripe captures, one github push and one of no provider."""
    root = tmp_path_factory.mktemp("partitions")
    lab = hooklab.start(port=0, db=str(root / "db.sqlite3"))
    try:
        hooklab.send(lab.url_for("s"), provider="stripe", event="invoice.paid")
        hooklab.send(lab.url_for("s"), provider="stripe", event="charge.refunded")
        hooklab.send(lab.url_for("g"), provider="github", event="push")
        assert post(lab.url_for("p"), json.dumps({"a": 1}).encode(),
                    {"Content-Type": "application/json"})[0] == 200
        lab.wait(4, timeout=30)
        assert lab.export(str(root / "ds"), fmt="parquet") == 4
    finally:
        lab.stop()
    return root / "ds"


def _day(ds: Path) -> str:
    days = [d for d in os.listdir(ds) if d.startswith("day=")]
    assert len(days) == 1  # (all sent now: one UTC day, unless midnight passed in between)
    return days[0]


#: (what to open, relative to the export: {day} is its day folder; the providers of its
#: captures, by hand, oldest first)
CASES = [
    ("{day}/provider=stripe", ["stripe", "stripe"]),
    ("{day}/provider=stripe/", ["stripe", "stripe"]),
    ("{day}/provider=github", ["github"]),
    ("{day}/provider=unknown", [None]),
    ("{day}", ["stripe", "stripe", "github", None]),
    ("", ["stripe", "stripe", "github", None]),
    ("{day}/provider=github/<file>", ["github"]),
]


@pytest.mark.parametrize(("where", "providers"), CASES)
def test_every_surface_reads_the_partition_values_of_the_path(ds: Path, where: str,
                                                              providers: list[str | None]) -> None:
    import pandas as pd

    path = str(ds) + os.sep + where.format(day=_day(ds))
    if path.endswith("<file>"):
        folder = path[: -len("<file>")]
        (name,) = [n for n in os.listdir(folder) if n.endswith(".parquet")]
        path = folder + name
    lab = hooklab.open(path)
    try:
        df = lab.dataframe()
        assert [None if pd.isna(p) else p for p in df["provider"]] == providers
        assert [c.provider for c in lab.captures] == providers
        sql = lab.sql("SELECT provider FROM captures ORDER BY id")["provider"].tolist()
        assert [None if p is None or p != p else p for p in sql] == providers
        for name in ("stripe", "github"):
            if name in providers:
                assert len(lab.dataframe(provider=name)) == providers.count(name)
                assert len(lab.query(provider=name)) == providers.count(name)
        # (a lab's schema() reads the same view: its providers too)
        schema = lab.schema()
        assert set(schema["provider"].dropna()) == {p for p in providers if p is not None}
        assert len(lab.dataframe(provider="unknown")) == providers.count(None)
        assert len(lab.query(provider="unknown")) == providers.count(None)
    finally:
        lab.stop()


def test_a_relative_partition_folder(ds: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ds / _day(ds))
    lab = hooklab.open("provider=stripe")
    try:
        assert lab.dataframe()["provider"].tolist() == ["stripe", "stripe"]
        assert len(lab.dataframe(provider="stripe")) == 2
    finally:
        lab.stop()
