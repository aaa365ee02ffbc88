"""HAR files other tools write (DevTools, Insomnia, mitmproxy): a request body given as
``postData.text`` is the text of the posted data, its encoding said by ``mimeType`` (HAR 1.2).
A Latin-1 GitHub delivery was stored as UTF-8 (35 bytes for 30 sent): its signature failed
and ``capture.text`` was mojibake. A base64 body with characters no base64 holds was read with
them dropped; a lone surrogate in ``request.url`` was refused for the whole file, unnamed.

Real files written here, imported with ``hooklab.load_har``; expected bytes written out.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

import hooklab

SECRET = "gh-secret-1"
TEXT = '{"zen":"Grüße aus Köln, café"}'


def _har(path: Path, entries: list[dict[str, Any]]) -> str:
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "DevTools"},
                                        "entries": entries}}), encoding="utf-8")
    return str(path)


def _entry(text: str, mime: str | None, headers: list[tuple[str, str]], *,
           encoding: str | None = None, url: str = "https://hooks.example/gh") -> dict[str, Any]:
    post: dict[str, Any] = {"text": text}
    if mime is not None:
        post["mimeType"] = mime
    if encoding is not None:
        post["encoding"] = encoding
    return {"startedDateTime": "2026-11-02T10:00:00.000Z", "time": 1,
            "request": {"method": "POST", "url": url, "httpVersion": "HTTP/1.1",
                        "headers": [{"name": k, "value": v} for k, v in headers],
                        "queryString": [], "cookies": [], "headersSize": -1, "bodySize": -1,
                        "postData": post},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                         "headers": [], "cookies": [], "content": {"size": 0, "mimeType": ""},
                         "redirectURL": "", "headersSize": -1, "bodySize": 0},
            "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}


# case -> (the body's text, postData.mimeType, the Content-Type header, the bytes expected)
CHARSETS: dict[str, tuple[str, str | None, str | None, bytes]] = {
    "latin-1 in mimeType": (TEXT, "application/json; charset=ISO-8859-1", None,
                            TEXT.encode("latin-1")),
    "latin-1 in Content-Type only": (TEXT, None, "application/json; charset=iso-8859-1",
                                     TEXT.encode("latin-1")),
    "windows-1252, quoted": ("price: 5 \u20ac", 'text/plain; charset="windows-1252"', None,
                             b"price: 5 \x80"),
    "shift_jis": ("\u540d\u524d=\u592a\u90ce", "text/plain; charset=Shift_JIS", None,
                  "\u540d\u524d=\u592a\u90ce".encode("shift_jis")),
    "utf-8 declared": (TEXT, "application/json; charset=utf-8", None, TEXT.encode()),
    "none declared": (TEXT, "application/json", None, TEXT.encode()),
    "unknown charset": (TEXT, "application/json; charset=x-no-such", None, TEXT.encode()),
    # (characters the declared charset cannot hold: the text was not that charset's)
    "text past latin-1": ("snow \u2603", "text/plain; charset=ISO-8859-1", None,
                          "snow \u2603".encode()),
    "ascii text, latin-1 declared": ("plain", "text/plain; charset=ISO-8859-1", None, b"plain"),
    # (the second review) a charset no ASCII text keeps as it is: the charset's bytes too
    "ascii text, utf-16 declared": ("cafe", "text/plain; charset=UTF-16", None,
                                    "cafe".encode("utf-16")),
    "ascii text, ebcdic declared": ("cafe", "text/plain; charset=cp500", None,
                                    "cafe".encode("cp500")),
    # no charsets: Python's quadratic punycode (8,000 characters took 9 s), idna (a label
    # past 63 characters raised UnicodeError: the whole import failed), a codec that encodes
    # nothing ("undefined"), a bytes codec
    "punycode": ("\u00e9" * 2000, "text/plain; charset=punycode", None,
                 ("\u00e9" * 2000).encode()),
    "idna": ("\u00e9" * 70, "text/plain; charset=idna", None, ("\u00e9" * 70).encode()),
    "undefined": (TEXT, "text/plain; charset=undefined", None, TEXT.encode()),
    "a bytes codec": (TEXT, "text/plain; charset=base64_codec", None, TEXT.encode()),
}


@pytest.mark.parametrize("case", list(CHARSETS))
def test_a_posted_text_is_the_bytes_its_charset_makes(tmp_path: Path, case: str) -> None:
    text, mime, content_type, want = CHARSETS[case]
    headers = [("Content-Type", content_type)] if content_type else []
    lab = hooklab.load_har(_har(tmp_path / "x.har", [_entry(text, mime, headers)]))
    try:
        (cap,) = lab.captures
        assert cap.body == want
    finally:
        lab.stop()


def test_a_latin_1_github_delivery_verifies_and_reads_as_sent(tmp_path: Path) -> None:
    raw = TEXT.encode("latin-1")
    sig = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    headers = [("Content-Type", "application/json; charset=ISO-8859-1"),
               ("X-GitHub-Event", "meta"), ("X-GitHub-Delivery", "d-1"),
               ("X-Hub-Signature-256", sig)]
    entries = [_entry(TEXT, "application/json; charset=ISO-8859-1", headers),
               _entry(TEXT, "application/json; charset=ISO-8859-1",
                      [*headers, ("Content-Length", str(len(raw)))])]
    lab = hooklab.load_har(_har(tmp_path / "gh.har", entries))
    try:
        for cap in lab.captures:
            assert cap.body == raw and cap.text == TEXT
            assert cap.verify(SECRET, provider="github").valid
            assert cap.verify_reason is None or "not checked" not in cap.verify_reason
    finally:
        lab.stop()


# base64 text -> the bytes expected, or the error's words
BASE64: dict[str, tuple[str, bytes | str]] = {
    "plain": ("SGVsbG8gd29ybGQ=", b"Hello world"),
    "wrapped in lines": ("SGVsbG8g\nd29ybGQ=\n", b"Hello world"),
    "a character no base64 holds": ("SGVs*bG8gd29y!bGQ=", "postData.text is not base64"),
    "bad padding": ("SGVsbG8", "postData.text is not base64"),
    "url-safe alphabet": ("-_8=", "postData.text is not base64"),
}


@pytest.mark.parametrize("case", list(BASE64))
def test_a_base64_body_is_read_strictly(tmp_path: Path, case: str) -> None:
    text, want = BASE64[case]
    path = _har(tmp_path / "b.har", [_entry("x", None, []),
                                    _entry(text, "application/octet-stream", [], encoding="base64")])
    if isinstance(want, bytes):
        lab = hooklab.load_har(path)
        try:
            assert [c.body for c in lab.captures] == [b"x", want]
        finally:
            lab.stop()
    else:
        with pytest.raises(ValueError, match=rf"HAR entry 1 is malformed \({want}"):
            hooklab.load_har(path)


@pytest.mark.parametrize("where", ["path", "query"])
def test_a_lone_surrogate_in_the_url_names_its_entry(tmp_path: Path, where: str) -> None:
    url = "https://hooks.example/a\ud800" if where == "path" else "https://hooks.example/a?q=\ud800"
    entries = [_entry("x", None, []) for _ in range(5)]
    entries[3] = _entry("x", None, [], url=url)
    path = tmp_path / "s.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), encoding="utf-8")
    with pytest.raises(ValueError, match=r"HAR entry 3 is malformed \(request\.url is not valid "
                                         r"Unicode"):
        hooklab.load_har(str(path))
