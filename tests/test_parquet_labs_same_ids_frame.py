"""Several labs' Parquet exports in one folder (README "Parquet: DuckDB, Dask, Spark": they
open "as one store"): each lab numbers its captures from 1, so an id names one capture of
each lab there. The frame read a capture's ``Content-Encoding`` and its ``handshake`` note by
id, and gave lab B's gzip capture 1 lab A's (plain) capture 1's: its ``json`` None, its
``payload.*`` NaN, the handshake lab A answered shown on lab B's row. Captures are sent over
real HTTP on 127.0.0.1, exported for real, opened with ``hooklab.open``; the expected values
are written out by hand from what was sent.
"""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(120)


def _gzip(b: bytes) -> tuple[bytes, str]:
    return gzip.compress(b), "gzip"


def _deflate(b: bytes) -> tuple[bytes, str]:
    return zlib.compress(b), "deflate"


def _plain(b: bytes) -> tuple[bytes, None]:
    return b, None


def _identity(b: bytes) -> tuple[bytes, str]:
    return b, "identity"


def _br(b: bytes) -> tuple[bytes, str]:  # (a coding hooklab does not undo: no payload)
    return b, "br"


#: capture id -> (lab A's way, lab B's way): every id is sent differently by the two labs,
#: so a lookup by id reads the other lab's Content-Encoding for one of them
CASES = [
    (_plain, _gzip),
    (_gzip, _plain),
    (_deflate, _br),
    (_identity, _deflate),
    (_br, _identity),
    (_gzip, _deflate),
]
#: what each capture's json is, by hand: {"k": "<lab><id>"}, None where the coding is "br"
WANT = {
    ("a", 1): {"k": "a1"}, ("a", 2): {"k": "a2"}, ("a", 3): {"k": "a3"},
    ("a", 4): {"k": "a4"}, ("a", 5): None, ("a", 6): {"k": "a6"},
    ("b", 1): {"k": "b1"}, ("b", 2): {"k": "b2"}, ("b", 3): None,
    ("b", 4): {"k": "b4"}, ("b", 5): {"k": "b5"}, ("b", 6): {"k": "b6"},
}  # fmt: skip


def _serve(tmp_path: Path, name: str, folder: Path) -> None:
    """Lab ``name``: its CASES, then (id 7) a Dropbox challenge for lab "a" (answered: a
    ``handshake`` note) and a plain delivery for lab "b"; exported into ``folder``."""
    side = 0 if name == "a" else 1
    lab = hooklab.start(port=0, db=str(tmp_path / f"{name}.sqlite3"))
    try:
        for k, ways in enumerate(CASES, start=1):
            body, coding = ways[side](json.dumps({"k": f"{name}{k}"}).encode())
            headers = {"Content-Type": "application/json"}
            if coding:
                headers["Content-Encoding"] = coding
            assert post(lab.url_for(name), body, headers)[0] == 200
        if name == "a":
            assert post(lab.url_for(name) + "?challenge=tok123", method="GET")[0] == 200
        else:
            assert post(lab.url_for(name), b'{"k": "b7"}', {"Content-Type": "application/json"})[0] == 200
        lab.wait(7, timeout=30)
        assert lab.export(str(folder), fmt="parquet") == 7
    finally:
        lab.stop()


def test_frame_of_two_labs_folder_reads_each_capture_by_its_own_row(tmp_path: Path) -> None:
    folder = tmp_path / "captures"
    _serve(tmp_path, "a", folder)
    _serve(tmp_path, "b", folder)
    import pandas as pd

    both = hooklab.open(str(folder))
    try:
        want = dict(WANT)
        want[("b", 7)] = {"k": "b7"}
        df = both.dataframe()
        got = {(b, int(i)): j for b, i, j in zip(df["bin"], df["id"], df["json"], strict=True)
               if (b, int(i)) != ("a", 7)}
        assert got == want
        # the captures agree (they are read row by row)
        assert {(c.bin, c.id): c.json() for c in both.captures if (c.bin, c.id) != ("a", 7)} == want
        flat = both.dataframe(flatten=True)
        got_flat = {(b, int(i)): (None if v != v or v is None else v)
                    for b, i, v in zip(flat["bin"], flat["id"], flat["payload.k"], strict=True)
                    if (b, int(i)) != ("a", 7)}
        assert got_flat == {key: (None if v is None else v["k"]) for key, v in want.items()}
        # the handshake note is lab A's capture 7's only, not lab B's capture 7's too
        notes = {(b, int(i)): (None if pd.isna(n) else n)
                 for b, i, n in zip(df["bin"], df["id"], df["handshake"], strict=True)}
        assert notes[("a", 7)] == "dropbox or nylas challenge: echoed (its User-Agent names neither)"
        assert [key for key, n in notes.items() if n is not None] == [("a", 7)]
        # a filter keeps the rows' own values too
        only_b = both.dataframe(bin="b")
        assert dict(zip(only_b["id"].astype(int), only_b["json"], strict=True)) == {
            i: want[("b", i)] for i in range(1, 8)}
    finally:
        both.stop()
