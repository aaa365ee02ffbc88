"""A request target sent as raw UTF-8 bytes (``POST /b/\\xc3\\xa9t\\xc3\\xa9?q=\\xc3\\xbc``, as
curl, nginx and uvicorn pass it on) reads as the characters it holds, as its percent-encoded
twin does: ``capture.query`` is ``{'q': ['ü']}``, not ``{'q': ['Ã¼']}``; ``path=`` and
``search=`` find ``/b/été``; exports write the query so. Bytes that are no UTF-8 keep their
reading of one character a byte (an escape that is no UTF-8: ``\\ufffd``), and the target's
bytes are kept, so a replay sends them unchanged (a real lab on 127.0.0.1, raw HTTP, real
files)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _http import raw_request

import hooklab
from hooklab.filters import matches, validate

# name -> (raw request target, the capture's query)
QUERIES: dict[str, tuple[bytes, dict[str, list[str]]]] = {
    "raw utf-8": (b"/b/\xc3\xa9t\xc3\xa9?q=\xc3\xbc", {"q": ["\u00fc"]}),
    "percent-encoded": (b"/b/%C3%A9t%C3%A9?q=%C3%BC", {"q": ["\u00fc"]}),
    "mixed raw and escape in a value": (b"/b/x?q=\xc3%BC", {"q": ["\u00fc"]}),
    "raw utf-8 name": (b"/b/x?\xc3\xbc=1", {"\u00fc": ["1"]}),
    "emoji and cjk": ("/b/x?e=\U0001f680&c=\u6771\u4eac".encode(),
                      {"e": ["\U0001f680"], "c": ["\u6771\u4eac"]}),
    "plus in the query": (b"/b/x?q=a+\xc3\xbc+b&p=%2B&s=+", {"q": ["a \u00fc b"], "p": ["+"],
                                                            "s": [" "]}),
    "empty values": (b"/b/x?a=&b&=\xc3\xa9&&", {"a": [""], "b": [""], "": ["\u00e9"]}),
    "repeated keys": (b"/b/x?k=\xc3\xa9&k=%C3%A9&k=e&k=", {"k": ["\u00e9", "\u00e9", "e", ""]}),
    "escaped separators": (b"/b/x?q=%26%3D\xc3\xa9", {"q": ["&=\u00e9"]}),
    "c1 control as utf-8": (b"/b/x?q=\xc2\x9b", {"q": ["\x9b"]}),
    "utf-8 in one value only": (b"/b/x?a=\xc3\xbc&b=\xff", {"a": ["\u00fc"], "b": ["\u00ff"]}),
    # no UTF-8: one character a byte, as before
    "lone 0xff": (b"/b/x?q=\xff", {"q": ["\u00ff"]}),
    "latin-1 byte": (b"/b/x?q=caf\xe9", {"q": ["caf\u00e9"]}),
    "overlong slash": (b"/b/x?q=\xc0\xaf", {"q": ["\u00c0\u00af"]}),
    "surrogate as utf-8": (b"/b/x?q=\xed\xa0\x80", {"q": ["\u00ed\xa0\x80"]}),
    "cut sequence": (b"/b/x?q=\xc3", {"q": ["\u00c3"]}),
    "escape no utf-8": (b"/b/x?q=%FF", {"q": ["\ufffd"]}),
    "raw utf-8 then a bad escape": (b"/b/x?q=\xc3\xa9%FF", {"q": ["\u00e9\ufffd"]}),
    "ascii": (b"/b/x?a=1&a=2&b=", {"a": ["1", "2"], "b": [""]}),
    "no query": (b"/b/x", {}),
    "empty query": (b"/b/x?", {}),
}


def _post(lab: hooklab.HookLab, target: bytes, body: bytes = b"{}") -> hooklab.Capture:
    before = len(lab.captures)
    raw = (b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    answer = raw_request(lab.bound_port, raw)
    assert b" 200 " in answer.split(b"\r\n")[0], answer[:200]
    return lab.wait(before + 1, timeout=10)[-1]


def _target_bytes(cap: hooklab.Capture) -> bytes:
    """The request target as the lab keeps it (one character a byte): what replay sends."""
    query = urlsplit(cap.url).query if cap.url else ""
    asked = bool(query) or cap.url.endswith("?")  # ("/b/x?": its "?" too)
    return (cap.path + (f"?{query}" if asked else "")).encode("latin-1")


@pytest.mark.parametrize("name", list(QUERIES))
def test_a_raw_query_reads_as_the_characters_sent(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    target, expected = QUERIES[name]
    cap = _post(lab, target)
    assert cap.query == expected
    assert lab.get(cap.id).query == expected  # (as stored, read back from the database)
    assert _target_bytes(cap) == target  # (the bytes as sent: replay gives them back)


def test_exports_write_the_query_as_read(lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """HAR ``queryString`` and JSON Lines ``query`` hold the characters; importing the JSON
    Lines export gives the same bytes back."""
    names = list(QUERIES)
    caps = [_post(lab, QUERIES[n][0]) for n in names]
    har, jsonl = tmp_path / "caps.har", tmp_path / "caps.jsonl"
    lab.export(str(har), fmt="har")
    lab.export(str(jsonl), fmt="jsonl")
    entries = json.loads(har.read_text("utf-8"))["log"]["entries"]
    lines = [json.loads(line) for line in jsonl.read_text("utf-8").splitlines()]
    for name, entry, line in zip(names, entries, lines, strict=True):
        want = QUERIES[name][1]
        assert entry["request"]["queryString"] == [
            {"name": k, "value": v} for k, vs in want.items() for v in vs], name
        assert line["query"] == want, name
    again = hooklab.load_jsonl(str(jsonl))
    try:
        assert [_target_bytes(c) for c in again.captures] == [_target_bytes(c) for c in caps]
        assert [c.query for c in again.captures] == [QUERIES[n][1] for n in names]  # (read so)
    finally:
        again.stop()
    again = hooklab.load_har(str(har))
    try:
        assert [_target_bytes(c) for c in again.captures] == [_target_bytes(c) for c in caps]
        assert [c.query for c in again.captures] == [QUERIES[n][1] for n in names]
    finally:
        again.stop()


# (raw target, path filter, search text): each finds the capture of that target
FOUND = {
    "raw utf-8 path": (b"/b/\xc3\xa9t\xc3\xa9?q=\xc3\xbc", "/b/\u00e9t\u00e9", "\u00e9t\u00e9"),
    "as capture.path shows it": (b"/b/\xc3\xa9t\xc3\xa9", "/b/\u00c3\u00a9t\u00c3\u00a9",
                                 "/b/\u00e9t\u00e9"),
    "raw utf-8 query": (b"/c/x?q=gr\xc3\xbc\xc3\x9fe", "/c/x", "gr\u00fc\u00dfe"),
    "raw cjk": ("/d/\u6771\u4eac".encode(), "/d/\u6771\u4eac", "\u6771\u4eac"),
    "raw emoji": ("/e/\U0001f680x".encode(), "/e/\U0001f680x", "\U0001f680"),
    "percent-encoded path": (b"/f/caf%C3%A9", "/f/caf%C3%A9", "caf\u00e9"),
    "lone 0xff": (b"/g/\xff", "/g/\u00ff", "\u00ff"),
    "latin-1 byte": (b"/h/caf\xe9", "/h/caf\u00e9", "caf\u00e9"),
    "overlong": (b"/i/\xc0\xaf", "/i/\u00c0\u00af", "\u00c0"),
}


@pytest.mark.parametrize("name", list(FOUND))
def test_path_and_search_filters_read_raw_utf8(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    target, path, needle = FOUND[name]
    other = _post(lab, b"/z/plain?q=x")
    cap = _post(lab, target)
    for filters in ({"path": path}, {"search": needle}, {"path": [path, "/none"]}):
        assert [c.id for c in lab.query(**filters)] == [cap.id], filters
        assert matches(cap, validate(filters)) and not matches(other, validate(filters))
        assert lab.wait(1, timeout=5, **filters)[0].id == cap.id
        assert lab.dataframe(**filters)["id"].tolist() == [cap.id]


def test_a_replay_of_a_raw_query_sends_its_bytes(lab) -> None:  # type: ignore[no-untyped-def]
    """The query after the bin goes to the target byte for byte, as the sender sent it, and
    reads there as it read here."""
    other = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        sent = [QUERIES[n][0] for n in ("raw utf-8", "utf-8 in one value only", "lone 0xff",
                                        "repeated keys", "plus in the query")]
        caps = [_post(lab, t) for t in sent]
        results = lab.replay(caps, to=other.url_for("in"))
        assert [r.status for r in results] == [200] * len(caps)
        got = other.wait(len(caps), timeout=10)
        assert [_target_bytes(g) for g in got] == [b"/in" + t[t.index(b"/", 1):] for t in sent]
        assert [g.query for g in got] == [c.query for c in caps]
    finally:
        other.stop()


def test_a_database_written_before_keeps_its_query(tmp_path: Path) -> None:
    """A row stored before a raw UTF-8 query was read as UTF-8 holds ``Ã¼`` in its ``query``
    column: it reads so still (no row changes); ``path=`` and ``search=`` (the index is rebuilt
    for the new reading of a path) find it as they find a new row."""
    db = tmp_path / "old.sqlite3"
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    try:
        _post(lab, b"/b/\xc3\xa9t\xc3\xa9?q=\xc3\xbc")
    finally:
        lab.stop()
    with sqlite3.connect(db) as con:  # the row and index version as the earlier hooklab left them
        con.execute("""UPDATE captures SET query = '{"q":["\u00c3\u00bc"]}'""")
        con.execute("UPDATE meta SET value = '7' WHERE key = 'search_version'")
    con.close()
    old = hooklab.open(str(db))
    try:
        (cap,) = old.captures
        assert cap.query == {"q": ["\u00c3\u00bc"]}
        assert cap.path == "/b/\u00c3\u00a9t\u00c3\u00a9"
        for filters in ({"path": "/b/\u00e9t\u00e9"}, {"search": "\u00e9t\u00e9"},
                        {"path": cap.path}):
            assert [c.id for c in old.query(**filters)] == [cap.id], filters
    finally:
        old.stop()
