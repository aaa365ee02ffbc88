"""Over a Parquet dataset, ``search=`` reads in Python (the exact check after Arrow's
superset of candidates) no row for naming plain ``Transfer-Encoding: chunked``, what most
senders send: only a row whose field names another coding may hide the word in a body
that must be decoded. Rows sent over real sockets on 127.0.0.1 to a lab with a SQLite file,
exported; the rows read are counted by a profile function.
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
from _http import chunked_post

import hooklab

pytestmark = pytest.mark.timeout(300)


def _post(lab: hooklab.HookLab, te: str, body: bytes) -> None:
    """POST ``body`` chunked, with ``Transfer-Encoding: <te>``."""
    status, answer = chunked_post(lab.bound_port, "/b/x", [
        ("Content-Type", "application/json"), ("Transfer-Encoding", te)], body)
    assert status == 200, answer[:200]


def _search_reads(opened: hooklab.HookLab, word: str) -> tuple[int, int]:
    """Rows found, and rows whose text hooklab read in Python to check them (calls of
    ``search_text``, counted by a profile function in this thread)."""
    reads = [0]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_name == "search_text":
            reads[0] += 1

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        n = len(opened.dataframe(search=word))
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    return n, reads[0]


@pytest.mark.parametrize("te, candidates", [
    ("chunked", 0), ("Chunked", 0), ("CHUNKED", 0),
    ("gzip, chunked", 40), ("deflate, chunked", 40), ("identity, chunked", 40)])
def test_parquet_search_reads_no_plain_chunked_row_in_python(
        tmp_path: Path, te: str, candidates: int) -> None:
    """40 rows sent with ``Transfer-Encoding: <te>`` (their bodies coded so), exported to
    Parquet: a word in none of them has a row read in Python only where the field names
    more than ``chunked`` (a superset is read: the exact check decides)."""
    code = {"gzip": gzip.compress, "deflate": zlib.compress}.get(te.split(",")[0],
                                                                 lambda b: b)
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        for i in range(40):
            body = json.dumps({"id": i, "text": f"koala{i}"}).encode()
            _post(lab, te, code(body))
        lab.wait(40, timeout=30)
        lab.export(str(tmp_path / "out.parquet"), fmt="parquet")
    finally:
        lab.stop()
    opened = hooklab.open(str(tmp_path / "out.parquet"))
    try:
        assert _search_reads(opened, "platypus") == (0, candidates)
        assert _search_reads(opened, "koala7")[0] == 1
    finally:
        opened.stop()
