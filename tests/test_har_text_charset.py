"""A HAR export writes a request body as the text its charset makes, and gets the bytes back.

``postData.text`` was the body read as UTF-8 whatever the ``Content-Type`` declared: the bytes
``caf\\xc3\\xa9`` sent as ``charset=iso-8859-1`` (``capture.text`` 'cafÃ©') were written
'café', a UTF-16LE "hi" 'h\\x00i\\x00'. HAR 1.2's ``postData.text`` is the posted text, and
hooklab's own importer encodes another tool's text in the charset its ``mimeType`` declares:
once a HAR tool dropped the ``_hooklab`` members, the bytes came back changed (and their
signature failed). Now the text is read in the declared charset, as ``capture.text`` reads it,
and a body that no text gives back byte for byte is written in base64.

Real requests to a real lab on 127.0.0.1, exported with ``lab.export``, imported with
``hooklab.load_har`` as written and with every ``_`` member removed; the expected texts are
written out here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from _http import exact_request

import hooklab

# case -> (the bytes sent, the Content-Type, the postData.text expected; None: base64)
CASES: dict[str, tuple[bytes, str, str | None]] = {
    "utf-8 declared": (b'{"a":"caf\xc3\xa9"}', "application/json; charset=utf-8",
                       '{"a":"café"}'),
    "none declared": (b'{"a":"caf\xc3\xa9"}', "application/json", '{"a":"café"}'),
    "iso-8859-1": (b"caf\xe9", "text/plain; charset=iso-8859-1", "café"),
    "utf-8 bytes, iso-8859-1 declared": (b"caf\xc3\xa9", "text/plain; charset=iso-8859-1",
                                         "caf\u00c3\u00a9"),
    "windows-1252, quoted": (b"price: 5 \x80", 'text/plain; charset="windows-1252"',
                             "price: 5 \u20ac"),
    "utf-16le": (b"h\x00i\x00", "text/plain; charset=utf-16le", "hi"),
    "utf-16le with a BOM": (b"\xff\xfeh\x00i\x00", "text/plain; charset=UTF-16LE", "\ufeffhi"),
    "utf-16be": (b"\x00h\x00i", "text/plain; charset=utf-16be", "hi"),
    "shift_jis": (b"\x96\xbc\x91O", "text/plain; charset=Shift_JIS", "\u540d\u524d"),
    "unknown charset, utf-8 bytes": (b"caf\xc3\xa9", "text/plain; charset=x-no-such", "café"),
    "ascii": (b"a=1&b=2", "application/x-www-form-urlencoded", "a=1&b=2"),
    # bytes no text in the declared charset gives back: base64
    "unknown charset, latin-1 bytes": (b"caf\xe9", "text/plain; charset=x-no-such", None),
    "invalid utf-8": (b"caf\xe9", "text/plain; charset=utf-8", None),
    "invalid utf-8, none declared": (b"\x00\xff\xfe", "application/octet-stream", None),
    "windows-1252 has no 0x81": (b"a\x81b", "text/plain; charset=windows-1252", None),
    "utf-16le, an odd byte": (b"h\x00i", "text/plain; charset=utf-16le", None),
    "utf-16le, a lone surrogate": (b"\x00\xd8a\x00", "text/plain; charset=utf-16le", None),
    "shift_jis, a cut character": (b"\x96", "text/plain; charset=shift_jis", None),
    "no charset: punycode": (b"caf\xe9", "text/plain; charset=punycode", None),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[tuple[dict[str, Any], dict[str, dict[str, Any]], Path]]:
    """Every case sent to a lab (one bin each), exported as HAR: (the captures by case,
    the entries by case, the folder)."""
    folder = tmp_path_factory.mktemp("har")
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        port = urlsplit(lab.url).port
        assert port is not None
        for i, (body, ctype, _) in enumerate(CASES.values()):
            status, _ = exact_request(port, "POST", f"/c{i}/x", [("Content-Type", ctype)], body)
            assert status == 200
        lab.wait(len(CASES), timeout=30)
        lab.export(str(folder / "all.har"))
        captures = {name: c for name, c in zip(CASES, lab.captures, strict=True)}
    finally:
        lab.stop()
    entries = json.loads((folder / "all.har").read_text(encoding="utf-8"))["log"]["entries"]
    yield captures, dict(zip(CASES, entries, strict=True)), folder


@pytest.mark.parametrize("case", list(CASES))
def test_post_data_is_the_text_its_charset_makes(exported: Any, case: str) -> None:
    captures, entries, _ = exported
    body, ctype, text = CASES[case]
    assert captures[case].body == body  # (what was sent)
    post = entries[case]["request"]["postData"]
    assert post["mimeType"] == ctype
    if text is None:
        assert post["encoding"] == "base64"
        assert base64.b64decode(post["text"]) == body
    else:
        assert "encoding" not in post
        assert post["text"] == text
        assert captures[case].text == text  # (as capture.text reads it)


def _without_own_members(value: Any) -> Any:
    """What a HAR tool that keeps only HAR 1.2's fields writes back: no ``_`` members."""
    if isinstance(value, dict):
        return {k: _without_own_members(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_without_own_members(v) for v in value]
    return value


@pytest.mark.parametrize("members", ["kept", "dropped"])
def test_a_reimport_gives_the_bytes_back(exported: Any, members: str) -> None:
    _, entries, folder = exported
    har = json.loads((folder / "all.har").read_text(encoding="utf-8"))
    if members == "dropped":
        har = _without_own_members(har)
        assert "_hooklab" not in json.dumps(har) and "_charset" not in json.dumps(har)
    path = folder / f"{members}.har"
    path.write_text(json.dumps(har), encoding="utf-8")
    lab = hooklab.load_har(str(path))
    try:
        got = {name: c for name, c in zip(CASES, lab.captures, strict=True)}
    finally:
        lab.stop()
    for name, (body, _, _) in CASES.items():
        assert got[name].body == body, name
        assert got[name].verify_reason is None, name  # (no "changed when written as text?")


def test_an_older_export_s_utf_8_text_reads_as_it_did(tmp_path: Path) -> None:
    """A hooklab entry without ``postData._charset`` (an older export: UTF-8 text whatever the
    charset) is read as UTF-8, as it was; one with it in that charset; text the charset it
    names cannot hold refuses the file, naming the entry."""
    def har(post: dict[str, Any]) -> Path:
        entry = {"startedDateTime": "2026-12-07T00:00:00Z",
                 "request": {"method": "POST", "url": "http://x.test/b/x", "headers": [],
                             "postData": post},
                 "response": {"status": 200}, "_hooklab": {"id": 1, "path": "/b/x"}}
        path = tmp_path / "old.har"
        path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
        return path

    latin = "text/plain; charset=iso-8859-1"
    for post, body in [({"mimeType": latin, "text": "café"}, b"caf\xc3\xa9"),
                       ({"mimeType": latin, "text": "café", "_charset": "iso8859-1"}, b"caf\xe9")]:
        lab = hooklab.load_har(str(har(post)))
        try:
            assert [c.body for c in lab.captures] == [body]
        finally:
            lab.stop()
    path = har({"mimeType": latin, "text": "snow \u2603", "_charset": "iso8859-1"})
    with pytest.raises(ValueError, match=r"HAR entry 0 is malformed \(postData.text is not text "
                                         r"in its _charset 'iso8859-1'\)"):
        hooklab.load_har(str(path)).stop()
