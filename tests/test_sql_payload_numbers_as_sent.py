"""``lab.sql``'s ``payload`` of a body hooklab writes again (a key with a ``\\u`` escape, as
``json.dumps`` and PHP's ``json_encode`` write "clé"; NaN or an infinity; a lone surrogate):
a number past the double range (``1e400``, valid JSON per RFC 8259) was written back as
``Infinity``, which SQLite's JSON refuses, so one such webhook made every ``json_extract``
over the table raise "malformed JSON". Numbers now keep the text they were sent as. Captures are
sent over real HTTP on 127.0.0.1 into a real SQLite file, and exported to Parquet; every
expected value is written out by hand from the bodies.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(120)

JSON = {"Content-Type": "application/json"}
INF = float("inf")

#: (body, amount, what json_extract(payload, '$.r') gives, its json_type, payload -> '$.r');
#: every body has a key written with a \u escape (or another reason to be written again)
CASES = [
    (rb'{"amount": 250, "r": 1e400, "cl\u00e9": "v"}', 250, INF, "real", "1e400"),
    (rb'{"amount": 1, "r": -1E+400, "cl\u00e9": "v"}', 1, -INF, "real", "-1E+400"),
    (rb'{"amount": 2, "r": 1e-400, "cl\u00e9": "v"}', 2, 0.0, "real", "1e-400"),
    (rb'{"amount": 3, "r": -0.0, "cl\u00e9": "v"}', 3, -0.0, "real", "-0.0"),
    (rb'{"amount": 4, "r": 123456789012345678901234567890, "cl\u00e9": "v"}', 4,
     1.2345678901234568e29, "integer", "123456789012345678901234567890"),
    (rb'{"amount": 5, "r": 1.0000000000000001, "cl\u00e9": "v"}', 5, 1.0, "real",
     "1.0000000000000001"),
    (rb'{"amount": 6, "r": NaN, "cl\u00e9": "v"}', 6, None, "null", "null"),
    (rb'{"amount": 7, "r": -Infinity, "cl\u00e9": "v"}', 7, -INF, "real", "-9e999"),
    # (a key twice in a body written again: capture.json()'s reading, the last, README says)
    (rb'{"amount": 8, "r": 2, "r": 3, "cl\u00e9": "v"}', 8, 3, "integer", "3"),
    (rb'{"amount": 9, "r": 1e400, "s": "\ud800", "cl\u00e9": "v"}', 9, INF, "real", "1e400"),
    (b'{"amount": 10, "r": 1e400, "s": "\\ud83d", "cl\xc3\xa9": "v"}', 10, INF, "real", "1e400"),
    (rb'{"amount": 11, "r": 1e400, "cl\u00e9": "v", "s": "1e400 NaN Infinity \"x\" \\u"}', 11,
     INF, "real", "1e400"),
    (rb'{"amount": 12, "r": [1e400, -1e400], "cl\u00e9": "v"}', 12, "[1e400,-1e400]", "array",
     "[1e400,-1e400]"),
]


def _same(got: object, want: object) -> bool:
    if isinstance(want, float) and isinstance(got, (int, float)):
        return got == want and math.copysign(1, got) == math.copysign(1, want)
    return got == want


def test_sql_reads_numbers_past_double_range_in_rewritten_payloads(tmp_path: Path) -> None:
    lab = hooklab.start(port=0, db=str(tmp_path / "db.sqlite3"))
    try:
        for body, *_ in CASES:
            assert post(lab.url_for("orders"), body, JSON)[0] == 200
        lab.wait(len(CASES), timeout=30)
        total = sum(c[1] for c in CASES)  # 250 + 1 + ... + 12
        assert total == 328
        # the whole table: no "malformed JSON"
        got = lab.sql("SELECT sum(json_extract(payload, '$.amount')) AS s FROM captures")
        assert got["s"].tolist() == [total]
        rows = lab.sql("SELECT id, json_extract(payload, '$.r') AS r, json_type(payload, '$.r') AS t,"
                       " payload -> '$.r' AS raw, json_extract(payload, '$.clé') AS k,"
                       " json_valid(payload) AS ok FROM captures ORDER BY id").to_dict("records")
        assert len(rows) == len(CASES)
        for row, (body, _amount, r, kind, raw) in zip(rows, CASES, strict=True):
            value = None if row["r"] is None or row["r"] != row["r"] else row["r"]
            assert _same(value, r), (body, row)
            assert (row["t"], row["raw"], row["k"], row["ok"]) == (kind, raw, "v", 1), (body, row)
        # the text in the string stays as sent
        s = lab.sql("SELECT json_extract(payload, '$.s') AS s FROM captures WHERE id = 12")["s"][0]
        assert s == '1e400 NaN Infinity "x" \\u'
        # the same sum from the Parquet export, in DuckDB
        lab.export(str(tmp_path / "ds"), fmt="parquet")
        pq = hooklab.open(str(tmp_path / "ds"))
        try:
            got = pq.sql("SELECT sum(json_extract(payload, '$.amount')) AS s FROM captures")
            assert got["s"].tolist() == [total]
            rows = pq.sql("SELECT json_extract(payload, '$.r') AS r, json_type(payload, '$.r') AS t,"
                          " json_extract(payload, '$.clé') AS k FROM captures ORDER BY id"
                          ).to_dict("records")
            for row, (body, _amount, r, kind, _raw) in zip(rows, CASES, strict=True):
                value = None if row["r"] is None or row["r"] != row["r"] else row["r"]
                # (README: DuckDB reads -0.0 as 0.0, so the value only, not its sign)
                assert value == r and (row["t"], row["k"]) == (kind, "v"), (body, row)
        finally:
            pq.stop()
    finally:
        lab.stop()
