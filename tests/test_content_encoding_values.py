"""A body is read by the value of its ``Content-Encoding``, the same way everywhere:
``identity`` (in any case, with spaces around it, or an empty value) is the body as is,
parsed like any JSON body; gzip and deflate are undone; one hooklab cannot undo (``br``,
``x-custom``, a list such as ``gzip, identity``), or a body that is not what its value says,
gives no payload.

The DataFrame's ``json`` column took any ``Content-Encoding`` for gzip or deflate, guessed
from the body's first bytes: ``identity`` gave ``None``, while ``capture.json()``,
``lab.sql``'s ``payload`` and ``lab.schema()`` read the JSON; a gzip body sent as ``br``
or ``deflate`` was decoded there and nowhere else. Checked with the values written out:
``capture.json()``, ``lab.dataframe()``'s ``json``, ``flatten=True``'s ``payload.k``,
``lab.schema()`` and ``lab.sql``'s ``payload``, on a lab's SQLite file, in memory, with
the rows in a sealed column segment, and in a Parquet export opened in place. Raw requests
over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import raw_request
from _labs import sealed_copy

import hooklab

pytestmark = pytest.mark.timeout(180)


def _body(k: int) -> bytes:
    return b'{"k": %d, "name": "v"}' % k


def _gz(k: int) -> bytes:
    return gzip.compress(_body(k), mtime=0)


#: bin -> (the Content-Encoding value sent, the body, whether its JSON is read)
CASES: dict[str, tuple[str, bytes, bool]] = {
    "identity": ("identity", _body(0), True),
    "Identity": ("Identity", _body(1), True),
    "spaced": ("  identity ", _body(2), True),
    "upper": ("IDENTITY", _body(3), True),
    "empty": ("", _body(4), True),
    "gzip": ("gzip", _gz(5), True),
    "xgzip": ("x-gzip", _gz(6), True),
    "deflate": ("deflate", zlib.compress(_body(7)), True),
    "br-json": ("br", _body(8), False),
    "br-gzip": ("br", _gz(9), False),             # (a gzip body under another name)
    "custom-gzip": ("x-custom", _gz(10), False),
    "list": ("gzip, identity", _gz(11), False),
    "list-plain": ("identity, identity", _body(12), False),
    "deflate-gzip": ("deflate", _gz(13), False),   # (gzip's bytes are no deflate stream)
    "gzip-zlib": ("gzip", zlib.compress(_body(14)), False),
    "identity-gzip": ("identity", _gz(15), False),  # (as is: gzip's bytes are no JSON)
}
NAMES = list(CASES)
WANT = {name: (json.loads(_body(i)) if read else None)
        for i, (name, (_, _, read)) in enumerate(CASES.items())}


def _request(name: str) -> bytes:
    enc, body, _ = CASES[name]
    return (f"POST /{name}/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Encoding: {enc}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def _send(lab: hooklab.HookLab) -> None:
    port = lab.bound_port
    assert port is not None
    for name in NAMES:
        assert raw_request(port, _request(name)).startswith(b"HTTP/1.1 200 "), name
    caps = lab.wait(len(CASES), timeout=10)
    assert [c.header("content-encoding") for c in caps] == [
        CASES[n][0].strip() for n in NAMES]  # (as received: the parser drops outer spaces)


def _check(lab: hooklab.HookLab) -> None:
    bins = set(NAMES)
    caps = {c.bin: c for c in lab.query() if c.bin in bins}
    assert {n: caps[n].json() for n in NAMES} == WANT
    df = lab.dataframe()
    df = df[df["bin"].isin(bins)]
    assert dict(zip(df["bin"], df["json"], strict=True)) == WANT
    flat = lab.dataframe(flatten=True)
    flat = flat[flat["bin"].isin(bins)]
    got = {b: (None if k is None or k != k else int(k))
           for b, k in zip(flat["bin"], flat["payload.k"].astype(object), strict=True)}
    assert got == {n: (w["k"] if w else None) for n, w in WANT.items()}
    sql = lab.sql("SELECT bin, payload FROM captures ORDER BY id")
    got = {b: (None if p is None or p != p else json.loads(p))
           for b, p in zip(sql["bin"], sql["payload"].astype(object), strict=True) if b in bins}
    assert got == WANT
    for name in NAMES:
        fields = set(lab.schema(bin=name)["field"])
        assert ("k" in fields) is (WANT[name] is not None), (name, fields)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    where = tmp_path_factory.mktemp("content_encoding")
    lab = hooklab.start(port=0, db=str(where / "c.sqlite3"))
    try:
        _send(lab)
        assert lab.export(where / "pq", fmt="parquet") == len(CASES)
    finally:
        lab.stop()
    yield where


def test_a_lab_on_a_file(served: Path) -> None:
    lab = hooklab.open(served / "c.sqlite3")
    try:
        _check(lab)
    finally:
        lab.stop()


def test_an_in_memory_lab() -> None:
    lab = hooklab.start(port=0, db=":memory:")
    try:
        _send(lab)
        _check(lab)
    finally:
        lab.stop()


def test_a_parquet_export(served: Path) -> None:
    lab = hooklab.open(served / "pq")
    try:
        _check(lab)
    finally:
        lab.stop()


def test_rows_in_a_sealed_column_segment(served: Path, tmp_path: Path) -> None:
    """The cases imported with filler enough to seal a column segment over them (the frame
    then reads the segment's flag, set for every Content-Encoding)."""
    src = hooklab.open(served / "c.sqlite3")
    try:
        cases = src.query()
    finally:
        src.stop()
    lab = sealed_copy(cases, tmp_path / "sealed.sqlite3")
    try:
        _check(lab)
    finally:
        lab.stop()
