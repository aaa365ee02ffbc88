"""The bin of a path whose first segment holds bytes that are no UTF-8, sent raw or as
``%XX`` escapes (README, "Filters": "bytes that are no UTF-8 read one character a byte").

``/%E9/x`` and ``/%FF/y`` both landed in bin ``"\\ufffd"`` (the escapes were read as UTF-8
with replacement), so different senders' captures merged into one bin, while a raw E9 byte
landed in ``"é"``. Each target below goes over a real socket to a real lab on 127.0.0.1 with
a real SQLite file; the expected bins are read by hand from the README rule: the segment's
bytes (raw and escaped alike) as UTF-8 where they are UTF-8, each other byte the character
of its value (U+0000 - U+00FF)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import raw_request

import hooklab

# (raw request target, its bin by the README rule)
CASES: dict[str, tuple[bytes, str]] = {
    # the finding: three senders, three bins (all three read U+FFFD)
    "escape E9": (b"/%E9/x", "\u00e9"),
    "escape FF": (b"/%FF/y", "\u00ff"),
    "latin-1 escape in a word": (b"/caf%E9/w", "caf\u00e9"),
    "lower-case escape": (b"/%e9/x", "\u00e9"),
    # raw bytes: as before
    "raw E9": (b"/\xe9/z", "\u00e9"),
    "raw FF": (b"/\xff/z", "\u00ff"),
    # escapes that are UTF-8: as before
    "utf-8 escapes": (b"/%C3%A9t%C3%A9/x", "\u00e9t\u00e9"),
    "four-byte utf-8 escapes": (b"/%F0%9F%9A%80/x", "\U0001f680"),
    # raw and escaped bytes are one byte string: a sequence may run across them
    "escaped lead, raw continuation": (b"/%C3\xa9/x", "\u00e9"),
    "raw lead, escaped continuation": (b"/\xc3%A9/x", "\u00e9"),
    "raw utf-8 then an escape that is none": (b"/\xc3\xa9%FF/x", "\u00e9\u00ff"),
    "raw byte then its escape": (b"/\xe9%E9/x", "\u00e9\u00e9"),
    # UTF-8 decoders refuse these: a character a byte
    "overlong slash escaped": (b"/%C0%AF/x", "\u00c0\u00af"),
    "overlong slash raw": (b"/\xc0\xaf/x", "\u00c0\u00af"),
    "surrogate as utf-8 escaped": (b"/%ED%A0%80/x", "\u00ed\u00a0\u0080"),
    "surrogate as utf-8 raw": (b"/\xed\xa0\x80/x", "\u00ed\u00a0\u0080"),
    "lone continuation escaped": (b"/%80/x", "\u0080"),
    "lone continuations in a word": (b"/a%80%BFb/x", "a\u0080\u00bfb"),
    "truncated sequence": (b"/%E2%82/x", "\u00e2\u0082"),
    "truncated then whole": (b"/%E2%82%E2%82%AC/x", "\u00e2\u0082\u20ac"),
    "past U+10FFFF": (b"/%F5%80/x", "\u00f5\u0080"),
    # escapes that are no byte of a path's own
    "escaped nul": (b"/%00/x", "\x00"),
    "escaped slash in the segment": (b"/a%2Fb/x", "a/b"),
    "escaped slash between bytes that are no utf-8": (b"/%E9%2F%FF/x", "\u00e9/\u00ff"),
    "percent that is no escape": (b"/100%/x", "100%"),
    "bad hex": (b"/%zz%E9/x", "%zz\u00e9"),
    "query after": (b"/%FF?q=%E9", "\u00ff"),
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[hooklab.HookLab, dict[str, int]]]:
    """One lab on a real SQLite file, each target of :data:`CASES` sent to it once, raw: the
    lab and each case's capture id."""
    db = tmp_path_factory.mktemp("bins") / "captures.sqlite3"
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    ids: dict[str, int] = {}
    try:
        for name, (target, _) in CASES.items():
            ids[name] = _post(lab, target).id
        yield lab, ids
    finally:
        lab.stop()


def _post(lab: hooklab.HookLab, target: bytes, method: bytes = b"POST") -> hooklab.Capture:
    before = len(lab.captures)
    raw = (method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
           b"Connection: close\r\n\r\n{}")
    answer = raw_request(lab.bound_port, raw)
    assert answer.split(b"\r\n")[0].endswith(b" 200 OK"), answer[:200]
    return lab.wait(before + 1, timeout=10)[-1]


@pytest.mark.parametrize("name", list(CASES))
def test_the_bin_reads_bytes_that_are_no_utf8_a_character_a_byte(stored, name: str) -> None:  # type: ignore[no-untyped-def]
    lab, ids = stored
    target, expected = CASES[name]
    cap = lab.get(ids[name])
    assert cap.bin == expected
    assert "\ufffd" not in cap.bin
    found = lab.query(bin=expected)  # (the filter: the SQL column the server wrote)
    assert ids[name] in [c.id for c in found]
    assert {c.bin for c in found} == {expected}
    assert sorted(ids[n] for n, (_, b) in CASES.items() if b == expected) == [c.id for c in found]
    frame = lab.dataframe(bin=expected)
    assert set(frame["bin"].astype(str)) == {expected} and ids[name] in frame["id"].tolist()


def test_different_bytes_are_different_bins_and_raw_equals_escaped(stored) -> None:  # type: ignore[no-untyped-def]
    lab, ids = stored
    bins = {name: lab.get(i).bin for name, i in ids.items()}
    assert len({bins["escape E9"], bins["escape FF"], bins["latin-1 escape in a word"]}) == 3
    for escaped, raw in [("escape E9", "raw E9"), ("escape FF", "raw FF"),
                         ("overlong slash escaped", "overlong slash raw"),
                         ("surrogate as utf-8 escaped", "surrogate as utf-8 raw")]:
        assert bins[escaped] == bins[raw]
    assert len(lab.query(bin="\ufffd")) == 0


def test_the_bins_are_kept_in_the_file(stored) -> None:  # type: ignore[no-untyped-def]
    """Read back by another lab on the same file (and by plain SQLite): the bins stored."""
    lab, ids = stored
    db = lab.db_path
    with sqlite3.connect(db) as con:
        rows = dict(con.execute("SELECT id, bin FROM captures").fetchall())
    again = hooklab.open(db)
    try:
        for name, (_, expected) in CASES.items():
            assert rows[ids[name]] == expected
            assert again.get(ids[name]).bin == expected
    finally:
        again.stop()


def test_url_for_each_bin_lands_in_it(lab) -> None:  # type: ignore[no-untyped-def]
    """``lab.url_for(bin)`` (its UTF-8 escapes) and the raw target land in one bin, which the
    ``bin`` filter, ``/``-spelt too, names."""
    pairs: dict[str, tuple[int, int]] = {}
    for n, (name, (target, expected)) in enumerate(CASES.items()):
        raw = _post(lab, target)
        assert hooklab.send(lab.url_for(expected, "again"), payload={"n": n}).status == 200
        pairs[name] = (raw.id, lab.wait(2 * n + 2, timeout=10)[-1].id)
    for name, (_, expected) in CASES.items():
        both = [i for n, (_, b) in CASES.items() if b == expected for i in pairs[n]]
        assert [lab.get(i).bin for i in pairs[name]] == [expected, expected], name
        assert [c.id for c in lab.query(bin=expected)] == sorted(both), name
        assert [c.id for c in lab.query(bin=f"/{expected}/")] == sorted(both), name


def test_a_rule_and_a_verify_token_on_the_bin_apply_to_its_escaped_path(lab) -> None:  # type: ignore[no-untyped-def]
    """``lab.respond("é")`` answers ``/%E9/x``, and ``lab.secret("ÿ", verify_token=...)``
    checks a Meta subscription sent to ``/%FF/x`` (and ``"été"`` one sent raw: the handshake
    read those bins as ``"\\ufffd"`` and ``"Ã©tÃ©"``, found no verify token, echoed any challenge)."""
    lab.respond("\u00e9", status=202)
    lab.secret("\u00ff", None, provider="meta", verify_token="tok")
    lab.secret("\u00e9t\u00e9", None, provider="meta", verify_token="tok")
    assert _answer(lab, b"POST /%E9/x") == 202
    assert _answer(lab, b"POST /%FF/x") == 200  # (no rule on that bin)
    challenge = b"?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token="
    for target, status in [(b"/%FF/x" + challenge + b"wrong", 403), (b"/\xff/x" + challenge + b"wrong", 403),
                           (b"/%FF/x" + challenge + b"tok", 200), (b"/%E9/x" + challenge + b"wrong", 202),
                           (b"/\xc3\xa9t\xc3\xa9/x" + challenge + b"wrong", 403),
                           (b"/%C3%A9t%C3%A9/x" + challenge + b"wrong", 403)]:
        assert _answer(lab, b"GET " + target) == status, target


def _answer(lab: hooklab.HookLab, request_line: bytes) -> int:
    answer = raw_request(lab.bound_port, request_line + b" HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
    return int(answer.split(b" ", 2)[1])


def test_an_imported_path_gets_its_bin_by_the_same_rule(tmp_path: Path) -> None:
    """Another tool's HAR and a JSON Lines line without a bin: the bin is read from the path."""
    cases = {k: CASES[k] for k in ("escape E9", "escape FF", "surrogate as utf-8 escaped",
                                   "truncated then whole", "utf-8 escapes")}
    har = {"log": {"version": "1.2", "creator": {"name": "other", "version": "1"}, "entries": [
        {"startedDateTime": "2026-01-01T00:00:00.000Z", "time": 0,
         "request": {"method": "POST", "url": "http://127.0.0.1:9" + t.decode("latin-1"),
                     "httpVersion": "HTTP/1.1", "headers": [], "queryString": [], "cookies": [],
                     "headersSize": -1, "bodySize": 0},
         "response": {"status": 200, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [],
                      "cookies": [], "content": {"size": 0, "mimeType": ""}, "redirectURL": "",
                      "headersSize": -1, "bodySize": 0},
         "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}}
        for t, _ in cases.values()]}}
    (tmp_path / "other.har").write_text(json.dumps(har))
    loaded = hooklab.load_har(str(tmp_path / "other.har"))
    try:
        assert [c.bin for c in loaded.captures] == [b for _, b in cases.values()]
    finally:
        loaded.stop()
    with (tmp_path / "lines.jsonl").open("w") as f:
        for t, _ in cases.values():
            f.write(json.dumps({"received_at": "2026-01-01T00:00:00Z", "method": "POST",
                                "path": t.decode("latin-1"), "headers": [], "body": "",
                                "status": 200}) + "\n")
    loaded = hooklab.load_jsonl(str(tmp_path / "lines.jsonl"))
    try:
        assert [c.bin for c in loaded.captures] == [b for _, b in cases.values()]
    finally:
        loaded.stop()


def test_an_export_imports_into_the_same_bins(stored, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lab, _ = stored
    for fmt, loader in [("jsonl", hooklab.load_jsonl), ("har", hooklab.load_har)]:
        out = tmp_path / f"caps.{fmt}"
        lab.export(str(out), fmt=fmt)
        again = loader(str(out))
        try:
            assert [c.bin for c in again.captures] == [c.bin for c in lab.captures]
            assert [c.bin for c in again.captures] == [b for _, b in CASES.values()]
        finally:
            again.stop()


def test_a_database_written_before_keeps_its_replacement_bins(tmp_path: Path) -> None:
    """A capture an older hooklab stored in bin ``"\\ufffd"`` keeps it (the bin column is
    what was written); a new one to the same path gets its own bin."""
    db = str(tmp_path / "old.sqlite3")
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        old = _post(lab, b"/%E9/x")
    finally:
        lab.stop()
    with sqlite3.connect(db) as con:  # (as an older hooklab wrote it)
        con.execute("UPDATE captures SET bin = ? WHERE id = ?", ("\ufffd", old.id))
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        new = _post(lab, b"/%E9/x")
        assert lab.get(old.id).bin == "\ufffd" and new.bin == "\u00e9"
        assert [c.id for c in lab.query(bin="\ufffd")] == [old.id]
        assert [c.id for c in lab.query(bin="\u00e9")] == [new.id]
    finally:
        lab.stop()
