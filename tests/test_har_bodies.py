"""Request bodies a HAR file does not hold inline. Playwright's ``record_har_content="attach"``
keeps each one in a file beside the HAR (``postData._file``), or in the ``.zip`` it writes
for ``record_har_path="x.zip"``; its "embed" writes a binary body as ``""``; "omit" writes
none. The import read none of them and said nothing: captures kept ``Content-Length: N`` with
0 bytes. Now bodies are read where the HAR says they are (never from outside its folder: a
HAR is untrusted), and a body that is not there is imported empty with one warning, the
capture's ``verify_reason`` saying so. A UTF-8 byte order mark (Fiddler's) is skipped."""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

import hooklab
import hooklab.export

JSON_BODY = '{"ref":"refs/heads/main","who":"caf\u00e9 \u2603"}'.encode()
BINARY = bytes([0xFF, 0xFE, 0x00, 0x80, 0xC3, 0x28, 0x41, 0xED, 0xA0, 0x80])
FORM = b"a=1&b=two+words&c=%C3%A9%26%3D"


def entry(path: str, ctype: str | None, size: int, post: dict[str, Any] | None,
          length: int | None = None, method: str = "POST") -> dict[str, Any]:
    """An entry as Playwright writes one (``length``: its Content-Length header)."""
    headers = [{"name": "Content-Type", "value": ctype}] if ctype else []
    if length is not None:
        headers.append({"name": "Content-Length", "value": str(length)})
    e: dict[str, Any] = {
        "startedDateTime": "2026-12-06T02:26:54.946Z", "time": 3,
        "request": {"method": method, "url": f"http://127.0.0.1:43913{path}",
                    "httpVersion": "HTTP/1.1", "cookies": [], "headers": headers,
                    "queryString": [], "headersSize": -1, "bodySize": size},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                     "cookies": [], "headers": [], "content": {"size": 2, "mimeType": "x"},
                     "redirectURL": "", "headersSize": -1, "bodySize": 2},
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 1}}
    if post is not None:
        e["request"]["postData"] = post
    return e


def attached(folder: Path | None, body: bytes, ext: str, ctype: str, path: str,
             archive: dict[str, bytes] | None = None) -> dict[str, Any]:
    """An "attach" entry: its body in a file named by its SHA-1, as Playwright names it."""
    name = hashlib.sha1(body).hexdigest() + "." + ext
    if folder is not None:
        (folder / name).write_bytes(body)
    if archive is not None:
        archive[name] = body
    return entry(path, ctype, len(body), {"mimeType": ctype, "text": "", "params": [],
                                          "_file": name}, len(body))


def write(path: Path, entries: list[Any], prefix: bytes = b"") -> Path:
    path.write_bytes(prefix + json.dumps({"log": {"version": "1.2", "creator": {
        "name": "Playwright", "version": "1.52.0"}, "entries": entries}}).encode())
    return path


def load(path: Path) -> tuple[list[tuple[Any, ...]], list[str]]:
    """``(method, path, headers, body, size, verify_reason)`` of each capture, and what the
    import warned (hooklab's warnings only)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lab = hooklab.load_har(path)
    try:
        sizes = lab.dataframe()["size"].tolist()
        got = [(c.method, c.path, c.headers, c.body, size, c.verify_reason)
               for c, size in zip(lab.captures, sizes, strict=True)]
    finally:
        lab.stop()
    return got, [str(w.message) for w in caught if str(w.message).startswith("hooklab:")]


def h(ctype: str | None, length: int | None) -> list[tuple[str, str]]:
    out = [("Content-Type", ctype)] if ctype else []
    return out + ([("Content-Length", str(length))] if length is not None else [])


def test_attached_bodies_are_read_from_the_hars_folder(tmp_path: Path) -> None:
    entries = [
        attached(tmp_path, JSON_BODY, "json", "application/json", "/github/push"),
        attached(tmp_path, BINARY, "bin", "application/octet-stream", "/binary"),
        attached(tmp_path, FORM, "dat", "application/x-www-form-urlencoded;charset=UTF-8", "/form"),
        attached(tmp_path, b"line1\r\nline2\n\xc3\xa9", "txt", "text/plain;charset=UTF-8", "/t"),
        entry("/get", None, 0, None, method="GET"),
    ]
    got, told = load(write(tmp_path / "attach.har", entries))
    assert got == [
        ("POST", "/github/push", h("application/json", len(JSON_BODY)), JSON_BODY, len(JSON_BODY), None),
        ("POST", "/binary", h("application/octet-stream", 10), BINARY, 10, None),
        ("POST", "/form", h("application/x-www-form-urlencoded;charset=UTF-8", len(FORM)), FORM,
         len(FORM), None),
        ("POST", "/t", h("text/plain;charset=UTF-8", 15), b"line1\r\nline2\n\xc3\xa9", 15, None),
        ("GET", "/get", [], b"", 0, None),
    ]
    assert told == []


#: a name as Playwright gives an attached body (``<sha1>.<ext>``), for files that are no body
PW_NAME = "a" * 40 + ".json"


def _below(folder: Path) -> str:
    """Playwright keeps bodies directly beside the HAR: a folder below is no place of one."""
    (folder / "resources").mkdir()
    (folder / "resources" / "b.bin").write_bytes(BINARY)
    return "resources/b.bin"


def _link_out(folder: Path) -> str:
    (folder.parent / "secret.txt").write_bytes(b"ssh key")
    (folder / PW_NAME).symlink_to(folder.parent / "secret.txt")
    return PW_NAME


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / PW_NAME)
    return PW_NAME


def _folder(folder: Path) -> str:
    (folder / PW_NAME).mkdir()
    return PW_NAME


#: names an untrusted HAR may give its body files: (what makes it, the error's words)
HOSTILE_NAMES: dict[str, tuple[Any, str]] = {
    "up and out": ("../../etc/passwd", "is not a file beside the HAR file"),
    "up from a folder below": ("sub/../../secret.txt", "is not a file beside the HAR file"),
    "up alone": ("..", "is not a file beside the HAR file"),
    "absolute": ("/etc/passwd", "is not a file beside the HAR file"),
    "a Windows drive": ("C:\\Windows\\win.ini", "is not a file beside the HAR file"),
    "a Windows climb": ("..\\..\\secret.txt", "is not a file beside the HAR file"),
    "a NUL": ("a\x00.json", "is not a file beside the HAR file"),
    "a file in a folder below": (_below, "is not a file beside the HAR file"),
    "a link out of the folder": (_link_out, "leads out of the HAR file's folder"),
    "a FIFO": (_fifo, "is not a regular file (a FIFO)"),
    "a folder": (_folder, "is not a regular file (a folder)"),
    "a number": (7, "postData._file must be a string, got int"),
}


@pytest.mark.parametrize("case", list(HOSTILE_NAMES))
def test_a_body_file_outside_the_hars_folder_refuses_the_file(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "har"
    folder.mkdir()
    (tmp_path / "secret.txt").write_bytes(b"ssh key")
    name, words = HOSTILE_NAMES[case]
    name = name(folder) if callable(name) else name
    bad = entry("/x", "application/json", 7, {"mimeType": "application/json", "text": "",
                                              "_file": name}, 7)
    path = write(folder / "x.har", [entry("/ok", None, 0, None), bad])
    with pytest.raises(ValueError, match=r"x\.har': HAR entry 1 is malformed \(.*"
                       + re.escape(words)):
        hooklab.load_har(path).stop()


def test_a_body_file_over_the_limit_is_refused_naming_the_limit(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooklab.export, "MAX_ATTACHED", 9)
    path = write(tmp_path / "x.har", [attached(tmp_path, BINARY, "bin", "application/octet-stream", "/b")])
    with pytest.raises(ValueError, match=r"HAR entry 0 is malformed .*holds more than 9 bytes "
                       r"\(hooklab\.export\.MAX_ATTACHED\)"):
        hooklab.load_har(path).stop()
    monkeypatch.setattr(hooklab.export, "MAX_ATTACHED", 10)
    got, _ = load(path)
    assert [c[3] for c in got] == [BINARY]


MISSING = "not checked: the request body is not in the HAR file"

#: entries whose body the file does not hold: (entry, the capture's headers, verify_reason)
NOT_IN_THE_FILE: dict[str, tuple[dict[str, Any], list[tuple[str, str]], str]] = {
    "embed of a binary body (text '')": (
        entry("/binary", "application/octet-stream", 10,
              {"mimeType": "application/octet-stream", "text": "", "params": []}, 10),
        h("application/octet-stream", 10),
        f"{MISSING} (Content-Length 10, bodySize 10); imported empty"),
    "omit (no postData)": (
        entry("/github/push", "application/json", 86, None, 86), h("application/json", 86),
        f"{MISSING} (Content-Length 86, bodySize 86); imported empty"),
    "a multipart form (no postData, bodySize 0)": (
        entry("/multi", "multipart/form-data; boundary=XX", 0, None, 302),
        h("multipart/form-data; boundary=XX", 302),
        f"{MISSING} (Content-Length 302); imported empty"),
    "bodySize without Content-Length (HTTP/2)": (
        entry("/h2", "application/json", 12, {"mimeType": "application/json", "text": ""}),
        h("application/json", None), f"{MISSING} (bodySize 12); imported empty"),
    "an attached file that is missing": (
        entry("/gone", "application/json", 7, {"mimeType": "application/json", "text": "",
                                               "_file": "b" * 40 + ".json"}, 7),
        h("application/json", 7),
        f"{MISSING} (its attached file is missing) (Content-Length 7, bodySize 7); imported empty"),
}


@pytest.mark.parametrize("case", list(NOT_IN_THE_FILE))
def test_a_body_not_in_the_file_is_imported_empty_and_told(tmp_path: Path, case: str) -> None:
    e, headers, reason = NOT_IN_THE_FILE[case]
    path = e["request"]["url"].split("43913", 1)[1]
    got, told = load(write(tmp_path / "x.har", [entry("/get", None, 0, None, method="GET"), e]))
    assert got == [("GET", "/get", [], b"", 0, None), ("POST", path, headers, b"", 0, reason)]
    assert told == [f"hooklab: {str(tmp_path / 'x.har')!r}: 1 request body is not in the file "
                    "(entry 1): imported empty, headers as recorded; the captures say so in "
                    "verify_reason"]


#: bodies the file holds that need no word: nothing expected, or what was expected
WHOLE: dict[str, dict[str, Any]] = {
    "no body": entry("/get", None, 0, None, method="GET"),
    "an empty POST": entry("/empty", None, 0, None, 0),
    "a body as its Content-Length says": entry(
        "/j", "application/json", 7, {"mimeType": "application/json", "text": '{"a":1}'}, 7),
    "a body without Content-Length": entry(
        "/j", "application/json", 7, {"mimeType": "application/json", "text": '{"a":1}'}),
    "non-ASCII text, bodySize in characters": entry(
        "/j", "text/plain", 4, {"mimeType": "text/plain", "text": "caf\u00e9"}, 5),
    "chunked (Transfer-Encoding, no length)": {**entry(
        "/c", "text/plain", 2, {"mimeType": "text/plain", "text": "hi"})} | {"request": {
            **entry("/c", "text/plain", 2, {"mimeType": "text/plain", "text": "hi"})["request"],
            "headers": [{"name": "Transfer-Encoding", "value": "chunked"}]}},
}


@pytest.mark.parametrize("case", list(WHOLE))
def test_a_body_the_file_holds_is_imported_without_a_word(tmp_path: Path, case: str) -> None:
    got, told = load(write(tmp_path / "x.har", [WHOLE[case]]))
    assert [c[5] for c in got] == [None] and told == []


def test_a_body_changed_when_written_as_text_is_told(tmp_path: Path) -> None:
    """Playwright's "embed" decodes a body that is no UTF-8 as text: bytes become U+FFFD."""
    e = entry("/binjson", "application/json", 9,
              {"mimeType": "application/json", "text": '{"a":"\ufffd"}', "params": []}, 9)
    got, told = load(write(tmp_path / "x.har", [e]))
    assert got == [("POST", "/binjson", h("application/json", 9), b'{"a":"\xef\xbf\xbd"}', 11,
                    "not checked: the request body in the HAR file is 11 bytes where "
                    "Content-Length says 9 (changed when written as text?)")]
    assert told == [f"hooklab: {str(tmp_path / 'x.har')!r}: 1 request body does not match "
                    "its Content-Length (entry 0): changed when written as text?; the captures "
                    "say so in verify_reason"]


def test_one_warning_tells_skipped_entries_missing_and_changed_bodies(tmp_path: Path) -> None:
    binary = entry("/binary", "application/octet-stream", 10,
                   {"mimeType": "application/octet-stream", "text": ""}, 10)
    changed = entry("/g", "application/json", 50,
                    {"mimeType": "application/json", "text": "\x1f\ufffd\x08"}, 50)
    ws = entry("/ws", None, 0, None, method="GET")
    ws["request"]["url"] = "ws://127.0.0.1:43913/socket"
    entries = [binary] * 7 + [ws, changed, changed]
    got, told = load(write(tmp_path / "x.har", entries))
    assert len(got) == 9
    assert told == [f"hooklab: {str(tmp_path / 'x.har')!r}: skipped 1 of 10 entries that are "
                    "no HTTP(S) requests (ws: 1); 7 request bodies are not in the file "
                    "(entries 0, 1, 2, 3, 4, ...): imported empty, headers as recorded; 2 request "
                    "bodies do not match their Content-Length (entries 8, 9): changed when "
                    "written as text?; the captures say so in verify_reason"]


def test_an_own_export_of_every_kind_of_body_comes_back_without_a_word(tmp_path: Path) -> None:
    from hooklab.capture import new_record

    lab = hooklab.HookLab(db=":memory:")
    for body in (b"", JSON_BODY, BINARY, FORM, b"\xef\xbb\xbf{}"):
        lab.store.add_sync(new_record("POST", "/b/x", [("Content-Length", str(len(body)))], body,
                                      url="http://127.0.0.1:9/b/x"))
    lab.export_har(tmp_path / "own.har")
    lab.stop()
    got, told = load(tmp_path / "own.har")
    assert [(c[3], c[5]) for c in got] == [(b, None) for b in (b"", JSON_BODY, BINARY, FORM,
                                                               b"\xef\xbb\xbf{}")]
    assert told == []


# -- a Playwright .zip ---------------------------------------------------------------------------

def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _har_bytes(entries: list[Any]) -> bytes:
    return json.dumps({"log": {"version": "1.2", "entries": entries}}).encode()


def test_a_playwright_zip_is_read_with_its_bodies(tmp_path: Path) -> None:
    members: dict[str, bytes] = {}
    entries = [attached(None, JSON_BODY, "json", "application/json", "/github/push", members),
               attached(None, BINARY, "bin", "application/octet-stream", "/binary", members),
               entry("/get", None, 0, None, method="GET")]
    path = _zip(tmp_path / "pw.zip", {"har.har": _har_bytes(entries), **members})
    got, told = load(path)
    assert got == [
        ("POST", "/github/push", h("application/json", len(JSON_BODY)), JSON_BODY, len(JSON_BODY), None),
        ("POST", "/binary", h("application/octet-stream", 10), BINARY, 10, None),
        ("GET", "/get", [], b"", 0, None)]
    assert told == []


def test_a_zip_never_gives_a_file_from_outside_it(tmp_path: Path) -> None:
    """A member named ``../secret`` is never looked for: the name is refused as it is for a
    folder; a member the HAR names that the zip lacks is a missing body."""
    (tmp_path / "secret").write_bytes(b"ssh key")
    bad = entry("/x", "application/json", 7, {"mimeType": "application/json", "text": "",
                                              "_file": "../secret"}, 7)
    path = _zip(tmp_path / "evil.zip", {"har.har": _har_bytes([bad]), "../secret": b"zip's"})
    with pytest.raises(ValueError, match=r"HAR entry 0 is malformed .*is not a file beside"):
        hooklab.load_har(path).stop()
    gone = entry("/x", "application/json", 7, {"mimeType": "application/json", "text": "",
                                               "_file": PW_NAME}, 7)
    got, told = load(_zip(tmp_path / "gone.zip", {"har.har": _har_bytes([gone])}))
    assert [(c[3], c[5]) for c in got] == [(b"", f"{MISSING} (its attached file is missing) "
                                            "(Content-Length 7, bodySize 7); imported empty")]
    assert len(told) == 1


def _bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("har.har", "w", force_zip64=True) as f:
            f.write(b'{"log": {"entries": []}}' + b" " * (3 << 20))
    return path


#: zips that are not HAR files as hooklab reads them: (the file, the error's words)
BAD_ZIPS: dict[str, tuple[Any, str]] = {
    "no .har in it": (lambda p: _zip(p, {"readme.txt": b"hi"}), "a zip holding no .har file"),
    "cut short": (lambda p: p.write_bytes(_zip(p, {"har.har": _har_bytes([])}).read_bytes()[:40]),
                  "a zip that cannot be read"),
    "a .har that is no UTF-8": (lambda p: _zip(p, {"har.har": b"\x86\x00 no"}),
                                "its 'har.har': 'utf-8' codec can't decode byte 0x86"),
    "a .har that is no JSON": (lambda p: _zip(p, {"x/y.HAR": b"{no"}),
                               "its 'x/y.HAR': Expecting property name"),
    "a .har unzipping past MAX_UNZIPPED": (_bomb, "unzips to more than 1,048,576 bytes "
                                           "(hooklab.export.MAX_UNZIPPED)"),
}


@pytest.mark.parametrize("case", list(BAD_ZIPS))
def test_a_zip_that_is_no_har_says_so(tmp_path: Path, case: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooklab.export, "MAX_UNZIPPED", 1 << 20)
    make, words = BAD_ZIPS[case]
    path = tmp_path / "x.zip"
    make(path)
    with pytest.raises(ValueError, match=r"x\.zip' is not a HAR file: .*" + re.escape(words)):
        hooklab.load_har(path).stop()


# -- a byte order mark ---------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["file", "zip"])
def test_a_har_after_a_byte_order_mark_is_read(tmp_path: Path, where: str) -> None:
    """Fiddler writes a UTF-8 byte order mark before the JSON."""
    e = entry("/hook", "application/json", 2, {"mimeType": "application/json", "text": "{}"}, 2)
    data = codecs.BOM_UTF8 + _har_bytes([e])
    if where == "file":
        path = tmp_path / "fiddler.har"
        path.write_bytes(data)
    else:
        path = _zip(tmp_path / "fiddler.zip", {"fiddler.har": data})
    got, told = load(path)
    assert got == [("POST", "/hook", h("application/json", 2), b"{}", 2, None)] and told == []


def test_a_utf16_har_is_refused_saying_so(tmp_path: Path) -> None:
    path = tmp_path / "x.har"
    path.write_bytes(_har_bytes([]).decode().encode("utf-16"))
    with pytest.raises(ValueError, match=r"x\.har' is not a HAR file: it is UTF-16 text; save "
                       "it as UTF-8"):
        hooklab.load_har(path).stop()
