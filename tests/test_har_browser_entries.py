"""HAR files a browser wrote (Chrome DevTools, Playwright) hold entries no server could have
received beside the requests: a WebSocket, a ``blob:`` or ``data:`` fetch, an extension's
page. One of them made ``hooklab.load_har`` refuse the whole file; now they are skipped, and
one warning says how many and of what scheme. A request that failed (Playwright's status
-1, Chrome's 0) is imported as one that got no answer. A malformed entry still refuses the
file, naming it; a WebSocket recording hooklab exported still comes back whole."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

import hooklab

HEADERS = [("Content-Type", "application/json"), ("X-Case", "1")]


def entry(method: Any = "POST", url: str = "http://127.0.0.1:8000/github/push?a=1",
          status: Any = 200, text: str | None = '{"ok": 1}', **extra: Any) -> dict[str, Any]:
    """An entry in the shape Playwright 1.5x / Chrome DevTools write one."""
    e: dict[str, Any] = {
        "startedDateTime": "2026-12-06T02:27:00.000Z", "time": 1,
        "request": {"method": method, "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
                    "headers": [{"name": k, "value": v} for k, v in HEADERS],
                    "queryString": [], "headersSize": -1, "bodySize": len(text or "")},
        "response": {"status": status, "statusText": "", "httpVersion": "HTTP/1.1",
                     "cookies": [], "headers": [], "content": {"size": -1, "mimeType": "x-unknown"},
                     "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": -1, "wait": -1, "receive": -1}, **extra}
    if text is not None:
        e["request"]["postData"] = {"mimeType": "application/json", "text": text, "params": []}
    return e


def write(path: Path, entries: list[Any]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {
        "name": "Playwright", "version": "1.52.0"}, "entries": entries}}))
    return path


def load(path: Path) -> tuple[list[tuple[Any, ...]], list[str]]:
    """``(method, path, query, headers, body, status)`` of each capture, and what the import
    warned (hooklab's warnings only)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lab = hooklab.load_har(path)
    try:
        got = [(c.method, c.path, c.query, c.headers, c.body, c.status) for c in lab.captures]
    finally:
        lab.stop()
    return got, [str(w.message) for w in caught if str(w.message).startswith("hooklab:")]


GOOD = ("POST", "/github/push", {"a": ["1"]}, HEADERS, b'{"ok": 1}', 200)

WS_MESSAGES = [{"type": "send", "time": 1.0, "opcode": 1, "data": "hi"},
               {"type": "receive", "time": 1.1, "opcode": 1, "data": "yo"}]

#: (the entry between two good ones, the capture it gives or None, the scheme skipped)
BROWSER_ENTRIES: dict[str, tuple[dict[str, Any], tuple[Any, ...] | None, str | None]] = {
    "playwright: aborted fetch (status -1)": (
        entry(url="http://127.0.0.1:8000/slow", status=-1, text="{}"),
        ("POST", "/slow", {}, HEADERS, b"{}", 0), None),
    "playwright: status -1 as a string": (
        entry(url="http://127.0.0.1:8000/slow", status="-1", text="{}"),
        ("POST", "/slow", {}, HEADERS, b"{}", 0), None),
    "chrome: no answer (status 0)": (
        entry(url="http://127.0.0.1:8000/slow", status=0, text="{}"),
        ("POST", "/slow", {}, HEADERS, b"{}", 0), None),
    "a fetch of a blob: URL": (
        entry("GET", "blob:http://127.0.0.1:8000/2c014b9a-6c73-446f-96b5-5d47e4ab474e", text=None,
              _resourceType="fetch"), None, "blob:"),
    "a data: image": (
        entry("GET", "data:image/gif;base64,R0lGODlhAQABAAAAACw=", text=None,
              _resourceType="image"), None, "data:"),
    "chrome devtools: a WebSocket": (
        entry("GET", "ws://127.0.0.1:8000/api/kernels/x/channels", 101, text=None,
              _resourceType="websocket", _webSocketMessages=WS_MESSAGES), None, "ws:"),
    "a secure WebSocket, scheme upper-cased": (
        entry("GET", "WSS://127.0.0.1:8000/socket", 101, text=None,
              _resourceType="websocket", _webSocketMessages=WS_MESSAGES), None, "wss:"),
    "a WebSocket with no method": (
        entry(None, "ws://127.0.0.1:8000/socket", 101, text=None,
              _resourceType="websocket"), None, "ws:"),
    "an extension's page": (
        entry("GET", "chrome-extension://abcdefghijklmnop/page.html", text=None), None,
        "chrome-extension:"),
    "a Firefox extension's script": (
        entry("GET", "moz-extension://1234-5678/x.js", text=None), None, "moz-extension:"),
    "about:blank": (entry("GET", "about:blank", text=None), None, "about:"),
}


@pytest.mark.parametrize("case", list(BROWSER_ENTRIES))
def test_a_browser_entry_no_server_receives_is_skipped_and_told(tmp_path: Path, case: str) -> None:
    middle, capture, scheme = BROWSER_ENTRIES[case]
    got, told = load(write(tmp_path / "b.har", [entry(), middle, entry()]))
    assert got == [GOOD, *([capture] if capture else []), GOOD]
    if scheme is None:
        assert told == []
    else:
        assert told == [f"hooklab: {str(tmp_path / 'b.har')!r}: skipped 1 of 3 entries that are "
                        f"no HTTP(S) requests ({scheme} 1)"]


def test_many_skipped_entries_make_one_warning_with_their_count(tmp_path: Path) -> None:
    """JupyterLab's own page: kernels' WebSockets, blob: and data: fetches, all in one file."""
    entries = [entry("GET", f"ws://127.0.0.1:8888/api/kernels/{i}/channels", 101, text=None,
                     _resourceType="websocket", _webSocketMessages=WS_MESSAGES)
               for i in range(40)]
    entries += [entry("GET", "data:image/png;base64,iVBORw0KGgo=", text=None)] * 3
    entries += [entry(), entry("GET", "blob:http://127.0.0.1:8888/x", text=None), entry()]
    got, told = load(write(tmp_path / "lab.har", entries))
    assert got == [GOOD, GOOD]
    assert told == [f"hooklab: {str(tmp_path / 'lab.har')!r}: skipped 44 of 46 entries that "
                    "are no HTTP(S) requests (blob: 1, data: 3, ws: 40)"]


#: entries that are malformed: the file is refused, naming the entry, as before
MALFORMED: dict[str, tuple[Any, str]] = {
    "a request without a method": (entry(None), "request.method is missing"),
    "a method that is no string": (entry(5), "request.method must be a string"),
    "a status that is no number": (entry(status="soon"),
                                   "response.status 'soon' is not an HTTP status (a whole number)"),
    "a status of -2": (entry(status=-2), "status -2 is not an HTTP status"),
    "a request without a URL": ({"request": {"method": "POST"}}, "request.url must be a string"),
    "a relative URL": (entry(url="/github/push"), "is not an absolute http/https URL"),
    "a file: URL": (entry(url="file:///etc/passwd"), "is not an absolute http/https URL"),
    "a gopher: URL": (entry(url="gopher://127.0.0.1:6379/_FLUSHALL"),
                      "is not an absolute http/https URL"),
    "an entry that is no object": ([1, 2], "entry is not an object"),
    "a CRLF in a header": ({**entry(), "request": {**entry()["request"], "headers": [
        {"name": "X-A", "value": "1\r\nX-B: 2"}]}}, "X-A"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_entry_still_refuses_the_file_naming_it(tmp_path: Path, case: str) -> None:
    bad, why = MALFORMED[case]
    path = write(tmp_path / "m.har", [entry(), entry("GET", "blob:http://h/x", text=None), bad])
    with pytest.raises(ValueError, match=r"m\.har': HAR entry 2 is malformed \(.*"
                       + re.escape(why)):
        hooklab.load_har(path).stop()


@pytest.mark.parametrize("content", [b"", b"not json", b"[]", b'{"log": {"entries": null}}',
                                     b"\x00\x01\x02PK"])
def test_a_file_that_is_no_har_is_still_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.har"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"x\.har' is not a HAR file"):
        hooklab.load_har(path).stop()


def test_a_websocket_recording_hooklab_exported_comes_back_whole(tmp_path: Path) -> None:
    """``kind="ws"`` entries (``hooklab.ws.record``'s, ``ws://`` URLs) are hooklab's own: not
    skipped as a browser's WebSocket is."""
    from hooklab.capture import new_record

    lab = hooklab.HookLab(db=":memory:")
    url = "ws://127.0.0.1:9/feed?x=1"
    for method, body, status in (("OPEN", b"", 101), ("RECV", b'{"op": "hi"}', 101),
                                 ("CLOSE", b"", 1000)):
        lab.store.add_sync(new_record(method, "/feed?x=1", [("X-WS-Seq", "1")], body, url=url,
                                      status=status, kind="ws", bin="feed"))
    lab.store.add_sync(new_record("POST", "/github/push", HEADERS, b"{}",
                                  url="http://127.0.0.1:9/github/push"))
    want = [(c.kind, c.method, c.path, c.query, c.headers, c.body, c.status, c.url)
            for c in lab.captures]
    lab.export_har(tmp_path / "own.har")
    lab.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (nothing skipped, nothing to tell)
        back = hooklab.load_har(tmp_path / "own.har")
    try:
        assert [(c.kind, c.method, c.path, c.query, c.headers, c.body, c.status, c.url)
                for c in back.captures] == want
        assert [c.kind for c in back.captures] == ["ws", "ws", "ws", "http"]
    finally:
        back.stop()
