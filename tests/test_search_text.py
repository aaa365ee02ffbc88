"""``search=`` reads a body as a person reads it: JSON escapes and form encoding undone.

Bodies as senders really write them (Python's ``json.dumps`` escapes every letter past ASCII
as ``\\u00e8`` and line breaks as ``\\n``; Slack posts forms whose ``payload=`` is JSON) are
sent over real sockets to a lab on a real SQLite file; every search is answered by the
index, by a second process's read-only view of the file, and by a Parquet export opened in
place, and must give the bins written out here by hand.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import urllib.request
from urllib.parse import urlencode

import pytest
from _http import post

import hooklab
from hooklab.filters import matches_text
from hooklab.store._search import phrase

pytestmark = pytest.mark.timeout(120)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

#: bin -> (content type, body bytes as sent)
BODIES = {
    # json.dumps' defaults: \n, \u00e8, a surrogate pair for the emoji, \/ from another encoder
    "escaped": (JSON, json.dumps({"message": "Fix bug\n\nDetails here", "dish": "crème brûlée",
                                  "emoji": "ok 😀 go"}).encode()[:-1]
                + b', "url": "https:\\/\\/x.io\\/refunds", "q": "say \\"hi\\" now"}'),
    # a Slack-like form: %XX, + and a JSON payload with its own escape inside
    "form": (FORM, b"text=%2Fdeploy+now&user=zo%C3%AB&payload=%7B%22type%22%3A%22block_actions"
                   b"%22%2C%22note%22%3A%22a%5Cnb%22%7D"),
    # not JSON and not a form: backslashes are just characters
    "plain": ("text/plain", b"C:\\new folder\\data"),
    # an escaped backslash before an n is no line break: C:\new stays "c new"
    "winpath": (JSON, json.dumps({"file": "C:\\new\\data", "quote": "a\\"}).encode()),
    # ASCII letters escaped (no encoder needs to; some do): found all the same
    "asciiesc": (JSON, b'{"a": "\\u0064ocs ready"}'),
    "pctform": (FORM, b"t=%72eady+set"),
    # UTF-8 as it is
    "utf8": (JSON, json.dumps({"who": "Zoë", "dish": "crème"}, ensure_ascii=False).encode()),
    # JSON as capture.json() reads it (json.loads of bytes): after a UTF-8 byte order mark, a
    # single JSON string, UTF-16 (with and without a byte order mark) and UTF-32
    "bom": (JSON, b'\xef\xbb\xbf{"dish": "p\\u00e2t\\u00e9 lorrain"}'),
    "jsonstr": (JSON, b' "caf\\u00e9 au\\nlait"\n'),
    "utf16": (JSON, '{"animal": "wombat", "home": "Zürich"}'.encode("utf-16")),
    "utf16le": (JSON, '{"animal": "numbat"}'.encode("utf-16-le")),
    "utf32": (JSON, '["quokka"]'.encode("utf-32")),
    # UTF-16 text typed as text, with a byte order mark (no JSON; its first letter past ASCII)
    "utf16text": ("text/plain; charset=utf-16", "Ünder the koala eucalyptus".encode("utf-16")),
    # hostile: a quote opens it but it is not one JSON string (a backslash is a character);
    # binary with zero bytes at its start (as UTF-16 has) and a word stays binary: no words
    "quoted": ("text/plain", b'"C:\\new" folder'),
    # a charset other than UTF declared: read in it, as capture.text reads it
    "latin1": ("text/plain; charset=ISO-8859-1", "garçon français".encode("latin-1")),
    "cp1252": ('text/csv; charset="windows-1252"', "naïve “smart” Pâtisserie".encode("cp1252")),
    "sjis": ("text/plain; charset=Shift_JIS", "東京 ramen".encode("shift_jis")),
    # valid UTF-8 bytes declared Latin-1: a person reading capture.text sees "cafÃ©"
    "mislabel": ("text/plain; charset=latin-1", "bistro café".encode()),
    # a charset no codec (or a rare one): read as UTF-8, as before
    "unknowncs": ("text/plain; charset=x-made-up", "ñandú kiwi".encode()),
    "nulbinary": ("application/octet-stream", b"\x08\x00\x92\x06 wombat \xff\xfe"),
}

#: bin -> a request target with a percent-encoded path (or query), its body empty: the path
#: is read as a person reads it, as the query always was
TARGETS = {
    "pctspace": "/pctspace/hello%20world",
    "pctutf8": "/pctutf8/caf%C3%A9",
    "pctquery": "/pctquery?x=hello%20world&y=caf%C3%A9",
    "pctslash": "/pctslash/x%2Freleases%2Bv2",
    "pctbad": "/pctbad/%FF%FEzz%zz%C3",  # (bytes no UTF-8 has, a bad escape, a cut one)
}

#: search text -> the bins it finds
SEARCHES = {
    "details": {"escaped"},
    "fix bug details": {"escaped"},
    "crème": {"escaped", "utf8"},
    "CRÈME BRÛ": {"escaped"},
    "brûlée": {"escaped"},
    "ok go": {"escaped"},
    "x io refunds": {"escaped"},
    "say hi now": {"escaped"},
    "ndetails": set(),
    "u00e8me": set(),
    "deploy now": {"form"},
    "/deploy": {"form"},
    "2Fdeploy": set(),
    "zoë": {"form", "utf8"},
    "block_actions": {"form"},
    "type block": {"form"},
    "note a b": {"form"},
    "new folder data": {"plain"},
    "ew folder": set(),
    "c new data": {"winpath"},
    "docs ready": {"asciiesc"},
    "ready set": {"pctform"},
    "ready": {"asciiesc", "pctform"},
    "ew data": set(),
    # a percent-encoded path (words were pctspace, hello, 20world: "world" missed it)
    "world": {"pctspace", "pctquery"},
    "hello world": {"pctspace", "pctquery"},
    "café": {"pctutf8", "pctquery", "jsonstr"},
    "CAFÉ AU LAIT": {"jsonstr"},
    "x releases v2": {"pctslash"},
    "pctbad zz zz": {"pctbad"},
    "20world": set(),
    "caf c3": set(),
    "2freleases": set(),
    "fezz": set(),
    # JSON bodies capture.json() reads (a BOM stopped the \u escapes being undone; a JSON
    # string had none undone; UTF-16 gave letters between zero bytes)
    "pâté lorrain": {"bom"},
    "u00e2t": set(),
    "wombat": {"utf16"},
    "animal": {"utf16", "utf16le"},
    "zürich": {"utf16"},
    "numbat": {"utf16le"},
    "quokka": {"utf32"},
    "ünder the koala": {"utf16text"},
    "c new folder": {"plain", "quoted"},
    "garçon": {"latin1"},
    "FRANÇAIS": {"latin1"},
    "naïve smart pâtisserie": {"cp1252"},
    "東京": {"sjis"},
    "ramen": {"sjis"},
    "bistro": {"mislabel"},
    "cafã": {"mislabel"},
    "kiwi": {"unknowncs"},
}


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("search_text")
    # (not the default lab: each test's end stops that one, and the API test needs it serving)
    lab = hooklab.HookLab(port=0, db=str(root / "c.sqlite3")).start()
    try:
        for name, (ctype, body) in BODIES.items():
            status, _ = post(lab.url_for(name), body, {"Content-Type": ctype})
            assert status == 200
        for target in TARGETS.values():
            status, _ = post(lab.url + target)
            assert status == 200
        total = len(BODIES) + len(TARGETS)
        lab.wait(total, timeout=10)
        assert lab.export(str(root / "ds"), fmt="parquet") == total
        yield lab, root
    finally:
        lab.stop()


@pytest.mark.parametrize("needle", list(SEARCHES))
def test_search_reads_bodies_as_a_person_does(sent, needle: str) -> None:
    lab, root = sent
    want = SEARCHES[needle]
    assert {c.bin for c in lab.query(search=needle)} == want
    assert set(lab.dataframe(search=needle)["bin"]) == want
    assert lab.count(search=needle) == len(want) if hasattr(lab, "count") else True
    assert {c.bin for c in hooklab.open(str(root / "ds")).query(search=needle)} == want
    # the Python twin the stream and the live view match arrivals with
    assert {c.bin for c in lab.captures if matches_text(c, needle)} == want


@pytest.mark.parametrize("needle", list(SEARCHES))
def test_the_index_and_the_api_find_the_same(sent, needle: str) -> None:
    """The FTS index itself holds the words (not only the twin's answer), and the HTTP API
    (``/_hooklab/api/captures?search=``) answers what the lab does."""
    lab, root = sent
    want = SEARCHES[needle]
    db = sqlite3.connect(f"file:{root / 'c.sqlite3'}?mode=ro", uri=True)
    try:
        ids = {r[0] for r in db.execute(
            "SELECT rowid FROM captures_fts WHERE captures_fts MATCH ?", (phrase(needle),))}
    finally:
        db.close()
    assert {c.bin for c in lab.captures if c.id in ids} == want
    url = f"{lab.url}/_hooklab/api/captures?{urlencode({'search': needle})}"
    req = urllib.request.Request(url, headers={"Authorization": f"token {lab.api_token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        answer = json.loads(r.read())
    assert {c["bin"] for c in answer["captures"]} == want


def test_another_process_reading_the_file_finds_the_same(sent) -> None:
    """A second process opens the file read-only (a lab's store another kernel writes)."""
    _, root = sent
    code = textwrap.dedent(f"""
        import json, sys
        from hooklab.store import CaptureStore
        s = CaptureStore({str(root / "c.sqlite3")!r}, readonly=True)
        print(json.dumps({{n: sorted(c.bin for c in s.query(search=n)) for n in {list(SEARCHES)!r}}}))
        s.close()
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {k: sorted(v) for k, v in SEARCHES.items()}


def test_an_older_index_is_rebuilt_or_not_used(tmp_path) -> None:
    """A file whose index holds an older hooklab's words (``ndetails`` for ``\\n\\nDetails``):
    a read-only store does not use it, a writable one rebuilds it."""
    path = str(tmp_path / "old.sqlite3")
    lab = hooklab.start(port=0, db=path)
    try:
        post(lab.url_for("escaped"), BODIES["escaped"][1], {"Content-Type": JSON})
        lab.wait(1, timeout=10)
    finally:
        lab.stop()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO captures_fts(captures_fts) VALUES ('delete-all')")
    db.execute("INSERT INTO captures_fts(rowid, words) VALUES (1, 'escaped fix bug n ndetails here')")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'search_version'")
    db.commit()
    db.close()
    from hooklab.store import CaptureStore

    ro = CaptureStore(path, readonly=True)
    try:
        assert [c.bin for c in ro.query(search="details")] == ["escaped"]
        assert ro.query(search="ndetails") == []
    finally:
        ro.close()
    again = hooklab.open(path)
    assert [c.bin for c in again.query(search="details")] == ["escaped"]
    assert again.query(search="ndetails") == []
    again.stop()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'search_version'").fetchone() != ("1",)
    # the rebuilt index itself holds the new words (not only the twin's answer)
    assert db.execute("SELECT rowid FROM captures_fts WHERE captures_fts MATCH 'details'").fetchall() == [(1,)]
    db.close()


@pytest.mark.parametrize("old", ["3", "4"])
def test_an_older_versions_index_is_rebuilt_with_the_paths_words(tmp_path, old: str) -> None:
    """A file a hooklab of search version 3 indexed holds ``20world`` for ``hello%20world``
    (version 4 read paths, not yet UTF-16 JSON): opened for writing, its index is rebuilt
    (the search version moved on), and the index itself then finds ``world``."""
    path = str(tmp_path / "v3.sqlite3")
    lab = hooklab.HookLab(port=0, db=path).start()
    try:
        assert post(lab.url + TARGETS["pctspace"])[0] == 200
        lab.wait(1, timeout=10)
    finally:
        lab.stop()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO captures_fts(captures_fts) VALUES ('delete-all')")
    db.execute("INSERT INTO captures_fts(rowid, words) VALUES (1, 'pctspace hello 20world')")
    db.execute("UPDATE meta SET value = ? WHERE key = 'search_version'", (old,))
    db.commit()
    db.close()
    again = hooklab.open(path)
    assert [c.bin for c in again.query(search="hello world")] == ["pctspace"]
    again.stop()
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT value FROM meta WHERE key = 'search_version'").fetchone() != (old,)
        assert db.execute("SELECT rowid FROM captures_fts WHERE captures_fts MATCH "
                          "'\"hello world\"'").fetchall() == [(1,)]
        assert db.execute("SELECT rowid FROM captures_fts WHERE captures_fts MATCH "
                          "'\"20world\"'").fetchall() == []
    finally:
        db.close()
