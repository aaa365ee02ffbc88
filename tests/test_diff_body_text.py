"""``lab.diff`` of bodies that are neither JSON nor forms reads their text as ``capture.text`` does.

A ``text/plain; charset=windows-1252`` body ("prix du café: 3€") was shown as
``<16 bytes text/plain>`` while ``capture.text`` and ``search=`` read it; a gzip'd text body
was bytes; a UTF-8 body whose 4 KiB cut fell inside a character was ``<N bytes>``. The
``(body)`` row shows each body's text in the charset its sender declared (Content-Encoding
undone), and two bodies that are the same text in two charsets are no change.

Webhooks are posted over real sockets to a real lab; each shown text is written out by hand.
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from _http import post

from hooklab import HookLab

pytestmark = pytest.mark.timeout(120)

BASE = ("prix du caf\u00e9: 3 EUR".encode(), "text/plain; charset=utf-8", {})
BASE_TEXT = "prix du caf\u00e9: 3 EUR"
LONG = "a" + "\u00e9" * 3000  # (6,001 bytes in UTF-8: the 4,096-byte cut falls inside an é)

#: (name, body, its Content-Type, more headers, the text the (body) row shows)
CASES: list[tuple[str, bytes, str, dict[str, str], str]] = [
    ("windows-1252", "prix du caf\u00e9: 3\u20ac".encode("cp1252"), "text/plain; charset=windows-1252", {},
     "prix du caf\u00e9: 3\u20ac"),
    ("latin-1", "gar\u00e7on".encode("latin-1"), "text/plain; charset=ISO-8859-1", {}, "gar\u00e7on"),
    ("shift-jis", "\u65e5\u672c\u8a9e".encode("shift_jis"), "text/plain; charset=Shift_JIS", {},
     "\u65e5\u672c\u8a9e"),
    ("koi8-r", "\u043f\u0440\u0438\u0432\u0435\u0442".encode("koi8_r"), "text/plain; charset=koi8-r", {},
     "\u043f\u0440\u0438\u0432\u0435\u0442"),
    ("utf-16", "h\u00e9llo".encode("utf-16"), "text/plain; charset=utf-16", {}, "h\u00e9llo"),
    ("csv-1252", "nom;prix\ncaf\u00e9;3\u20ac\n".encode("cp1252"), "text/csv; charset=cp1252", {},
     "nom;prix\ncaf\u00e9;3\u20ac\n"),
    ("gzip-latin-1", gzip.compress("cr\u00e8me".encode("latin-1")), "text/plain; charset=latin-1",
     {"Content-Encoding": "gzip"}, "cr\u00e8me"),
    ("xml-1252", '<?xml version="1.0"?><p>\u20ac</p>'.encode("cp1252"), "application/xml; charset=windows-1252",
     {}, '<?xml version="1.0"?><p>\u20ac</p>'),
    ("undeclared-bad-byte", b"caf\xe9 ok", "text/plain", {}, "caf\ufffd ok"),
    ("unknown-charset", b"plain words", "text/plain; charset=x-made-up", {}, "plain words"),
    ("cut-inside-a-character", LONG.encode(), "text/plain; charset=utf-8", {},
     "a" + "\u00e9" * 2047 + "\u2026 (6,001 bytes)"),
    ("cut-1252", ("\u20ac" * 5000).encode("cp1252"), "text/plain; charset=windows-1252", {},
     "\u20ac" * 4096 + "\u2026 (5,000 bytes)"),
    ("binary", bytes(range(256)), "application/octet-stream", {}, "<256 bytes application/octet-stream>"),
    ("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "image/png", {}, "<18 bytes image/png>"),
]
IDS = [c[0] for c in CASES]


@pytest.fixture(scope="module")
def lab() -> Any:
    with HookLab(port=0, db=":memory:") as lab:
        for name, body, ctype, more, _text in [("base", *BASE, ""), *CASES]:
            status, answer = post(lab.url_for(name), body, {"Content-Type": ctype, **more})
            assert status == 200, (name, answer)
        lab.wait(len(CASES) + 1, timeout=20)
        yield lab


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_body_row_shows_the_text_capture_text_reads(lab: HookLab, case: Any) -> None:
    name, _body, _ctype, _more, text = case
    (base,) = lab.query(bin="base")
    (cap,) = lab.query(bin=name)
    if not text.startswith("<"):
        assert cap.text.startswith(text.split("\u2026 (")[0])  # (what capture.text reads)
    for reveal in (False, True):
        rows = [tuple(r) for r in lab.diff(base, cap, reveal=reveal).itertuples(index=False)]
        assert rows == [("(body)", "changed", BASE_TEXT, text)]
        back = [tuple(r) for r in lab.diff(cap, base, reveal=reveal).itertuples(index=False)]
        assert back == [("(body)", "changed", text, BASE_TEXT)]


#: the same text in two charsets: no change; the same bytes read in two charsets: a change
SAME = [
    ("caf\u00e9 cr\u00e8me".encode(), "text/plain; charset=utf-8",
     "caf\u00e9 cr\u00e8me".encode("latin-1"), "text/plain; charset=iso-8859-1", []),
    ("3\u20ac".encode("cp1252"), "text/plain; charset=windows-1252",
     gzip.compress("3\u20ac".encode()), "text/plain", []),
    (b"\x80\xe9", "text/plain; charset=windows-1252", b"\x80\xe9", "text/plain; charset=latin-1",
     [("(body)", "changed", "\u20ac\u00e9", "\x80\u00e9")]),
    # bytes the charset does not hold read "\ufffd" alike: changed all the same (a review)
    (b"amount: \xe9 ok", "text/plain", b"amount: \xff ok", "text/plain",
     [("(body)", "changed", "amount: \ufffd ok", "amount: \ufffd ok")]),
    (b"id,sig\n1,\x80\x81", "text/csv; charset=utf-8", b"id,sig\n1,\x90\x91",
     "text/csv; charset=utf-8", [("(body)", "changed", "id,sig\n1,\ufffd\ufffd",
                                  "id,sig\n1,\ufffd\ufffd")]),
    (b"same \xe9", "text/plain", b"same \xe9", "text/plain", []),  # (the same bytes: no change)
    (bytes(range(256)), "application/octet-stream", bytes(range(255, -1, -1)), "application/octet-stream",
     [("(body)", "changed", "<256 bytes application/octet-stream>", "<256 bytes application/octet-stream>")]),
]


@pytest.mark.parametrize("case", SAME, ids=range(len(SAME)))
def test_a_body_is_compared_as_its_text(case: Any) -> None:
    body_a, ct_a, body_b, ct_b, want = case
    extra = {"Content-Encoding": "gzip"} if body_b[:2] == b"\x1f\x8b" else {}
    with HookLab(port=0, db=":memory:") as lab:
        assert post(lab.url_for("a"), body_a, {"Content-Type": ct_a})[0] == 200
        assert post(lab.url_for("b"), body_b, {"Content-Type": ct_b, **extra})[0] == 200
        a, b = lab.wait(2, timeout=10)
        assert [tuple(r) for r in lab.diff(a, b).itertuples(index=False)] == want
