"""``flatten=True`` over wide bodies when one body is read by Python (NaN, Infinity, 1e400:
``capture.json()`` reads them, Arrow does not).

Found by an outside analyst: 2,000 keys plus ``{"x": NaN}`` took 2.7 s, 4,000 keys 10.4 s,
20,000 more than two minutes (the same bodies without the NaN: 0.15 s; pandas'
``json_normalize``: 0.01 s). pandas deep-copies a frame's ``attrs`` into each column it hands
out, and the frame carried a list naming its integer columns: each of the n column reads copied
n names.
"""

from __future__ import annotations

import json
import math
import time

import pandas as pd
import pytest
from _http import post

pytestmark = pytest.mark.timeout(240)

WIDE = 4_000  # keys of the wide body: 10.4 s before, under a second after
BIG = 2**60 + 1  # a float64 would change it: the flat frame keeps it exact (Int64)

# (name, the other body, its payload.x as the frame gives it)
ODD_BODIES = [
    ("NaN", b'{"x": NaN}', math.nan),
    ("Infinity", b'{"x": Infinity}', math.inf),
    ("-Infinity", b'{"x": -Infinity}', -math.inf),
    ("1e400", b'{"x": 1e400}', math.inf),
    ("plain float (Arrow reads it)", b'{"x": 1.5}', 1.5),
]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize(("name", "odd", "x"), ODD_BODIES, ids=[c[0] for c in ODD_BODIES])
def test_a_wide_flatten_stays_linear_when_one_body_needs_python(file_lab, name, odd, x):
    wide = {f"k{i}": i for i in range(WIDE)} | {"big": BIG}
    for body in (json.dumps(wide).encode(), odd):
        status, _ = post(file_lab.url_for("w"), body, {"Content-Type": "application/json"})
        assert status == 200
    file_lab.wait(2, timeout=10)
    file_lab.dataframe()  # (pandas and Arrow imported, the store read once: the flatten is timed)

    t0 = time.perf_counter()
    df = file_lab.dataframe(flatten=True)
    took = time.perf_counter() - t0

    assert took < 5.0, f"{WIDE:,} columns and a {name} body: {took:.1f} s"
    assert len(df) == 2
    flat = [c for c in df.columns if c.startswith("payload.")]
    assert set(flat) == {f"payload.k{i}" for i in range(WIDE)} | {"payload.big", "payload.x"}
    for i in (0, 1, 1234, WIDE - 1):  # integers with a missing row: floats, as json_normalize
        col = df[f"payload.k{i}"]
        assert col.dtype == "float64" and col.iloc[0] == i and math.isnan(col.iloc[1])
    big = df["payload.big"]
    assert isinstance(big.dtype, pd.Int64Dtype) and big.iloc[0] == BIG and big.isna().iloc[1]
    assert df["payload.x"].dtype == "float64"
    assert math.isnan(df["payload.x"].iloc[0]) and _same(df["payload.x"].iloc[1], x)
