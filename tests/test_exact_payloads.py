"""Payload values as the bodies hold them, on a lab's SQLite store and on its Parquet export
alike: 64-bit ids in ``flatten=True``, ``lab.sql``'s ``json_extract`` and ``payload``, as a
user meets them (captures sent over real HTTP on 127.0.0.1, a real export, ``hooklab.open``).
Expected values are written out or computed from the bodies sent, never taken from the other
path.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(120)

JSON = {"Content-Type": "application/json"}


def _lab_and_export(tmp_path: Path, bodies: list[tuple[str, bytes, dict[str, str]]]
                    ) -> tuple[hooklab.HookLab, hooklab.HookLab]:
    """A serving lab that received ``bodies`` ((bin, body, headers) each), and its Parquet
    export opened with ``hooklab.open``."""
    lab = hooklab.start(port=0, db=str(tmp_path / "captures.sqlite3"))
    for bin_, body, headers in bodies:
        assert post(lab.url_for(bin_), body, headers)[0] == 200
    lab.wait(len(bodies), timeout=10)
    assert lab.export(str(tmp_path / "ds"), fmt="parquet") == len(bodies)
    return lab, hooklab.open(str(tmp_path / "ds"))


def test_flatten_keeps_64_bit_ids_exact_when_some_captures_lack_them(tmp_path: Path) -> None:
    """``payload.guild_id`` of [1234567890123456789, 9007199254740993, missing] came out as
    float64 [1.2345678901234568e+18, 9007199254740992.0, nan]: a float cannot hold integers
    past 2**53. They come out as pandas' nullable Int64 now, from SQLite and from Parquet;
    small integers with a gap stay float64, as ``json_normalize`` gives them."""
    ids = [1234567890123456789, 9007199254740993, -(2**63)]
    sent = [{"type": "message", "guild_id": g, "n": k} for k, g in enumerate(ids)]
    sent.append({"type": "ping"})  # no guild_id, no n
    bodies = [("discord", json.dumps(b).encode(), JSON) for b in sent]
    bodies.append(("discord", b"not json at all", {"Content-Type": "text/plain"}))
    lab, pq = _lab_and_export(tmp_path, bodies)
    try:
        want = [b.get("guild_id") for b in sent] + [None]
        for opened in (lab, pq, lab):  # (the third: the segments the first call kept)
            f = opened.dataframe(flatten=True).sort_values("id")
            col = f["payload.guild_id"]
            assert str(col.dtype) == "Int64"
            assert [None if v is pd_na() else int(v) for v in col] == want
            assert str(f["payload.n"].dtype) == "float64"  # within 2**53: as json_normalize
            assert [None if v != v else v for v in f["payload.n"]] == [0.0, 1.0, 2.0, None, None]
        # every capture has it: plain int64, as before
        whole = lab.dataframe(flatten=True, until=3)["payload.guild_id"]
        assert str(whole.dtype) == "int64" and whole.tolist() == ids
    finally:
        lab.stop()
        pq.stop()


def pd_na() -> object:
    import pandas as pd

    return pd.NA


def test_flatten_reads_utf16_and_utf32_json_objects_as_json_does(tmp_path: Path) -> None:
    """A UTF-16 JSON object was parsed by ``capture.json()`` and the ``json`` column but got no
    ``payload.*`` columns in ``flatten=True`` (a UTF-8 byte order mark did)."""
    sent = {"utf8": {"type": "a", "n": 1}, "u16": {"type": "c", "n": 3},
            "u16be": {"type": "d", "n": 4}, "u32": {"type": "e", "n": 5}}
    codecs = {"utf8": "utf-8", "u16": "utf-16", "u16be": "utf-16-be", "u32": "utf-32"}
    bodies = [(b, json.dumps(v).encode(codecs[b]), {"Content-Type": f"application/json; charset={codecs[b]}"})
              for b, v in sent.items()]
    lab, pq = _lab_and_export(tmp_path, bodies)
    try:
        for opened in (lab, pq):
            f = opened.dataframe(flatten=True).sort_values("id")
            assert [c.json() for c in opened.captures] == list(sent.values())
            assert f["payload.type"].tolist() == [v["type"] for v in sent.values()]
            assert f["payload.n"].tolist() == [v["n"] for v in sent.values()]
    finally:
        lab.stop()
        pq.stop()
