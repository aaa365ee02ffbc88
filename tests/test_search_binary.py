"""``search=`` finds no words in binary bodies, and still finds them in their headers and path.

An operator's check found the search index taking up to a megabyte of junk words from each
binary body (a third of the file for 16 KB random bodies). Bodies that are neither UTF-8 nor
typed as text are now binary (``hooklab.filters.is_text``): no words. Text in another charset,
or with a few bad bytes but typed as text, is searched as before. Real sockets, a lab on a
real SQLite file; the index, the store, a DataFrame and the Python twin must agree.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3

import pytest
from _http import post

import hooklab
from hooklab.filters import is_text, matches_text

pytestmark = pytest.mark.timeout(120)

# -- search ------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
#: bin -> (headers, body): binary bodies hold the word "zebra" in their bytes, text ones too
SEARCH_BODIES = {
    "octets": ({"Content-Type": "application/octet-stream", "X-Tag": "findme"},
               os.urandom(300) + b" zebra " + b"\xff\xfe" * 50),
    "png": ({"Content-Type": "image/png"}, PNG + b" zebra " + os.urandom(200)),
    "protobuf": ({"Content-Type": "application/x-protobuf"}, b"\xc3\x28 zebra \xa0\xa1"),
    "gzip-binary": ({"Content-Type": "application/octet-stream", "Content-Encoding": "gzip"},
                    gzip.compress(b"\xff\xfe zebra \x00\x81" * 20)),
    "latin1": ({"Content-Type": "text/csv; charset=iso-8859-1"}, "café zebra".encode("latin-1")),
    "latin1-charset": ({"Content-Type": "application/x-custom; charset=latin-1"},
                       "déjà zebra".encode("latin-1")),
    "text-bad-bytes": ({"Content-Type": "text/plain"}, b"zebra \xff\xfe crossing"),
    "json": ({"Content-Type": "application/json"}, json.dumps({"animal": "zebra", "n": "é"}).encode()),
    "gzip-json": ({"Content-Type": "application/json", "Content-Encoding": "gzip"},
                  gzip.compress(json.dumps({"animal": "zebra"}).encode())),
    "utf8-octets": ({"Content-Type": "application/octet-stream"}, "zebra crème".encode()),
}
#: search text -> the bins it finds (binary bodies give no words; headers and paths do)
SEARCH = {
    "zebra": {"latin1", "latin1-charset", "text-bad-bytes", "json", "gzip-json", "utf8-octets"},
    "findme": {"octets"},
    "x tag": {"octets"},
    "png": {"png"},  # (its path: /png)
    "crossing": {"text-bad-bytes"},
}


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory):
    path = str(tmp_path_factory.mktemp("binsearch") / "c.sqlite3")
    lab = hooklab.start(port=0, db=path)
    try:
        for name, (headers, body) in SEARCH_BODIES.items():
            status, _ = post(lab.url_for(name), body, headers)
            assert status == 200
        lab.wait(len(SEARCH_BODIES), timeout=10)
        yield lab, path
    finally:
        lab.stop()


@pytest.mark.parametrize("needle", list(SEARCH))
def test_search_finds_no_words_in_binary_bodies(searched, needle: str) -> None:
    """The index, the store's answer, a DataFrame's and the Python twin agree."""
    lab, path = searched
    want = SEARCH[needle]
    assert {c.bin for c in lab.query(search=needle)} == want
    assert set(lab.dataframe(search=needle)["bin"]) == want
    assert {c.bin for c in lab.captures if matches_text(c, needle)} == want
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:  # (the index itself: no row holds the words of a binary body)
        fts = db.execute("SELECT COUNT(*) FROM captures_fts WHERE captures_fts MATCH ?",
                         ('"' + needle.replace('"', "") + '"*',)).fetchone()[0]
    finally:
        db.close()
    assert fts == len(want)


@pytest.mark.parametrize(("body", "ctype", "text"), [
    (b"plain ascii", None, True),
    ("crème".encode(), "application/octet-stream", True),
    (b"\x89PNG\r\n\x1a\n\xff\x00", "image/png", False),
    (b"\xff\xfe\x00", None, False),
    (b"caf\xe9", "text/plain", True),
    (b"caf\xe9", "application/xml", True),
    (b"caf\xe9", "application/vnd.x; charset=windows-1252", True),
    (b"caf\xe9", "application/vnd.x; charset=base64", False),  # (not a text charset)
    (b"caf\xe9", "application/vnd.x; charset=nonsense", False),
    # (the review: judged by name, unknown names and charset=binary were text, and a 200 KB
    # random body gave 189,500 characters of junk words)
    (b"\x89PNG\r\n\x1a\n\xff", "image/png; charset=binary", False),  # (as file --mime says)
    (b"caf\xe9", "application/octet-stream; charset=x-nonsense", False),
    (b"caf\xe9", "application/vnd.x; charset=zlib", False),
    (b"caf\xe9", "application/vnd.x; charset=hex", False),
    (b"caf\xe9", 'application/vnd.x; charset="ISO-8859-1"', True),
    (b"caf\xe9", "application/vnd.x; charset=latin1", True),
    (b"\x82\xa0", "application/vnd.x; charset=Shift_JIS", True),
    (b"ab\xc3", None, False),  # (a cut character ends the whole body: not UTF-8)
])
def test_is_text(body: bytes, ctype: str | None, text: bool) -> None:
    assert is_text(body, ctype) is text


def test_a_character_cut_at_the_search_limit_is_still_text() -> None:
    from hooklab.filters import MAX_SEARCH_BODY

    body = ("a" + "é" * MAX_SEARCH_BODY).encode()[:MAX_SEARCH_BODY]  # (ends inside an é)
    assert not is_text(body) and is_text(body, cut=True)
