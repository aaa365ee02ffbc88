"""Review of round 31: a HAR round trip changed ``capture.url`` when the ``Host`` held a mark
of what the lab hides: the export writes ``http://%5Bsecret%5D.example.com:8443/...`` (a URL's
host holds no brackets), and the import kept that encoded form, while a JSON Lines round trip
keeps ``[secret]``. An entry hooklab exported (``_hooklab`` meta) now has the marks in its
host read back; its path and query, and another tool's entry, are kept as written. Met as a
user meets it: ``import hooklab``, a lab on a real SQLite file, raw requests on a real socket
to 127.0.0.1, real export files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _http import raw_request

import hooklab

S = "Zq9xK7wP"
JT = "f00dfacecafe1234567890abcdef0011223344556677"

# (Host sent, request target, the capture's URL: written out by hand from both)
CASES = [
    (f"{S}.example.com:8443", "/orders/x?a=1", "http://[secret].example.com:8443/orders/x?a=1"),
    (S, "/orders/x", "http://[secret]/orders/x"),
    (f"a.{S}.example.com", "/orders/x", "http://a.[secret].example.com/orders/x"),
    (f"{S}:8080", "/orders/x", "http://[secret]:8080/orders/x"),
    (f"{S}{S}.example.com", "/orders/x", "http://[secret][secret].example.com/orders/x"),
    (f"{JT}.example.com", "/orders/x", "http://[redacted].example.com/orders/x"),
    # (the path's own escapes stay as sent: only the host's marks are read back)
    ("api.example.com", "/orders/%5Bsecret%5D?q=%5Bredacted%5D",
     "http://api.example.com/orders/%5Bsecret%5D?q=%5Bredacted%5D"),
    ("127.0.0.1:9", "/orders/x", "http://127.0.0.1:9/orders/x"),
]


@pytest.mark.parametrize(("host", "target", "url"), CASES, ids=[c[0][:14] for c in CASES])
def test_har_round_trip_keeps_the_captures_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               host: str, target: str, url: str) -> None:
    monkeypatch.setenv("JUPYTER_TOKEN", JT)
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        lab.secret("orders", S)
        answer = raw_request(lab.bound_port, f"POST {target} HTTP/1.1\r\nHost: {host}\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:60]
        (cap,) = lab.wait(1, timeout=10)
        assert cap.url == url
        lab.export(str(tmp_path / "a.har"), fmt="har")
        lab.export(str(tmp_path / "a.jsonl"), fmt="jsonl")
    finally:
        lab.stop()
    har_lab = hooklab.load_har(str(tmp_path / "a.har"))
    jsonl_lab = hooklab.load_jsonl(str(tmp_path / "a.jsonl"))
    try:
        assert har_lab.captures[0].url == url == jsonl_lab.captures[0].url
        har_lab.export(str(tmp_path / "b.har"), fmt="har")  # (and again: no drift)
    finally:
        har_lab.stop()
        jsonl_lab.stop()
    first = json.loads((tmp_path / "a.har").read_text(encoding="utf-8"))
    second = json.loads((tmp_path / "b.har").read_text(encoding="utf-8"))
    assert second["log"]["entries"][0]["request"]["url"] == \
        first["log"]["entries"][0]["request"]["url"]
    third = hooklab.load_har(str(tmp_path / "b.har"))
    try:
        assert third.captures[0].url == url
    finally:
        third.stop()


def test_another_tools_entry_keeps_its_url_as_written(tmp_path: Path) -> None:
    url = "http://%5Bsecret%5D.example.com/orders/x"
    har = {"log": {"version": "1.2", "creator": {"name": "other", "version": "1"}, "entries": [
        {"startedDateTime": "2026-01-02T03:04:05.000Z", "time": 1,
         "request": {"method": "POST", "url": url, "httpVersion": "HTTP/1.1",
                     "headers": [{"name": "Host", "value": "%5Bsecret%5D.example.com"}],
                     "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
         "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                      "headers": [], "cookies": [], "content": {"size": 0, "mimeType": ""},
                      "redirectURL": "", "headersSize": -1, "bodySize": 0},
         "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}}]}}
    (tmp_path / "o.har").write_text(json.dumps(har), encoding="utf-8")
    lab = hooklab.load_har(str(tmp_path / "o.har"))
    try:
        assert lab.captures[0].url == url
    finally:
        lab.stop()
