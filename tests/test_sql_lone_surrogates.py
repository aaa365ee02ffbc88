r"""``lab.sql`` over a payload with a lone surrogate escape, on SQLite and on a Parquet dataset.

``"\ud800"`` is valid JSON (what JavaScript's ``JSON.stringify`` writes for a string cut inside
an emoji) but no character. SQLite's ``json_extract`` writes it as the three bytes UTF-8
would give a surrogate (ED A0 80), which ``lab.sql`` read as three U+FFFD (``���x``), where
``schema()``, ``diff()`` and ``flatten=True`` show the six characters ``\ud800`` (as JSON
escapes it). ``lab.sql`` shows it so too: a value, an item of an array, an object key
(``json_each``), beside a pair that is a character (stays it) and a reversed pair (two lone
ones). Real captures posted over 127.0.0.1 to a lab on a file, and its Parquet export opened
with ``hooklab.open`` (DuckDB).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(180)

JSON = {"Content-Type": "application/json"}

#: (body, JSON path, what json_extract gives)
EXTRACT: list[tuple[bytes, str, Any]] = [
    (rb'{"s": "\ud800x", "n": 1}', "$.s", "\\ud800x"),
    (rb'{"s": "Party time \ud83d"}', "$.s", "Party time \\ud83d"),
    (rb'{"s": "x\udc80y"}', "$.s", "x\\udc80y"),
    (rb'{"s": "caf\u00e9 \udfff"}', "$.s", "caf\u00e9 \\udfff"),
    (rb'{"a": ["\udfff", "ok"]}', "$.a[0]", "\\udfff"),
    (rb'{"o": {"d": {"e": "\udbff\udbff"}}}', "$.o.d.e", "\\udbff\\udbff"),
    (rb'{"p": "\ud83d\ude00"}', "$.p", "\U0001f600"),  # (a pair: its character)
    (rb'{"r": "\ude00\ud83d"}', "$.r", "\\ude00\\ud83d"),  # (reversed: two lone ones)
    (rb'{"s": "plain", "t": "\ud800"}', "$.s", "plain"),
    (rb'{"n": 5, "t": "\ud800"}', "$.n", 5),
]
#: (body, the keys json_each gives of it)
KEYS: list[tuple[bytes, list[str]]] = [
    (rb'{"k\udc00": "v", "ok": 1}', ["k\\udc00", "ok"]),
    (rb'{"\ud800": 1, "\ud83d\ude00": 2}', ["\\ud800", "\U0001f600"]),
]


@pytest.fixture(scope="module")
def labs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """{engine: (lab, {body: its capture id})}: a lab on a file the bodies were posted to,
    and its Parquet export opened again."""
    tmp: Path = tmp_path_factory.mktemp("sql")
    bodies = [b for b, *_ in EXTRACT] + [b for b, _ in KEYS]
    lab = hooklab.HookLab(port=0, db=str(tmp / "c.sqlite3")).start()
    try:
        for body in bodies:
            assert post(lab.url_for("s"), body, JSON)[0] == 200
        caps = lab.wait(len(bodies), bin="s", timeout=30)
        ids = {c.body: c.id for c in caps}
        assert lab.export(tmp / "parquet", fmt="parquet") == len(bodies)
        parquet = hooklab.open(tmp / "parquet")
        try:
            yield {"sqlite": (lab, ids), "duckdb": (parquet, ids)}
        finally:
            parquet.stop()
    finally:
        lab.stop()


def shows(df: Any) -> None:
    """The frame as a notebook writes it, as UTF-8."""
    df.to_string().encode("utf-8")
    df._repr_html_().encode("utf-8")


ENGINES = ["sqlite", "duckdb"]


@pytest.mark.parametrize("engine", ENGINES)
def test_json_extract_shows_a_lone_surrogate_as_json_escapes_it(labs: Any, engine: str) -> None:
    lab, ids = labs[engine]
    got, want = [], []
    for body, path, value in EXTRACT:
        df = lab.sql("SELECT json_extract(payload, ?) AS v, json_type(payload, ?) AS t "
                     "FROM captures WHERE id = ?", [path, path, ids[body]])
        shows(df)
        got.append((body, df["v"].tolist(), df["t"].tolist()))
        want.append((body, [value], ["integer" if isinstance(value, int) else "text"]))
    assert got == want


@pytest.mark.parametrize("engine", ENGINES)
def test_json_each_keys_and_a_whole_result(labs: Any, engine: str) -> None:
    lab, ids = labs[engine]
    for body, keys in KEYS:
        df = lab.sql("SELECT key FROM captures, json_each(captures.payload) WHERE captures.id = ? "
                     "ORDER BY key", [ids[body]])
        shows(df)
        assert df["key"].tolist() == sorted(keys), body
    df = lab.sql("SELECT id, json_extract(payload, '$.s') AS s FROM captures ORDER BY id")
    shows(df)
    assert "\ufffd" not in df.to_string()
    assert df["s"].dropna().tolist() == ["\\ud800x", "Party time \\ud83d", "x\\udc80y",
                                         "caf\u00e9 \\udfff", "plain"]


def test_text_that_is_no_utf8_still_reads_as_u_fffd(labs: Any) -> None:
    """Bytes that are no UTF-8 and no surrogate SQLite wrote stay U+FFFD, as before."""
    lab, _ = labs["sqlite"]
    df = lab.sql("SELECT CAST(x'ff21' AS TEXT) AS a, CAST(x'eda080' AS TEXT) AS b, "
                 "CAST(x'e2eda080' AS TEXT) AS c, 'caf\u00e9' AS d")
    assert df.iloc[0].tolist() == ["\ufffd!", "\\ud800", "\ufffd\\ud800", "caf\u00e9"]
