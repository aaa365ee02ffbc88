"""A HAR export keeps the host a capture was sent to when the lab hid a secret in it: a ``Host``
of ``<secret>.example.com:8443`` is written ``http://%5Bsecret%5D.example.com:8443/...`` (a
URL's host holds no brackets), never swapped silently for ``http://localhost/...``; the
import reads the marks back (`[secret]`), as the capture had them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _http import raw_request

import hooklab

S = "Zq9xK7wP"
JT = "f00dfacecafe1234567890abcdef0011223344556677"

# (Host sent; given the secret before (True) or after the capture was stored; HAR URL)
CASES = [
    (f"{S}.example.com:8443", True, "http://%5Bsecret%5D.example.com:8443/orders/x?a=1"),
    (f"{S}.example.com:8443", False, "http://%5Bsecret%5D.example.com:8443/orders/x?a=1"),
    (S, True, "http://%5Bsecret%5D/orders/x?a=1"),
    (f"a.{S}.example.com", True, "http://a.%5Bsecret%5D.example.com/orders/x?a=1"),
    (f"{S}:8080", True, "http://%5Bsecret%5D:8080/orders/x?a=1"),
    (f"{JT}.example.com", True, "http://%5Bredacted%5D.example.com/orders/x?a=1"),
    ("api.example.com:8443", True, "http://api.example.com:8443/orders/x?a=1"),
    ("127.0.0.1:9", True, "http://127.0.0.1:9/orders/x?a=1"),
]


@pytest.mark.parametrize(("host", "before", "har_url"), CASES,
                         ids=[f"{h[:12]}-{'before' if b else 'after'}" for h, b, _ in CASES])
def test_har_keeps_a_marked_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host: str,
                                 before: bool, har_url: str) -> None:
    monkeypatch.setenv("JUPYTER_TOKEN", JT)
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        if before:
            lab.secret("orders", S)
        answer = raw_request(lab.bound_port, f"POST /orders/x?a=1 HTTP/1.1\r\nHost: {host}\r\n"
                             "Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:60]
        (cap,) = lab.wait(1, timeout=10)
        if not before:
            lab.secret("orders", S)
        lab.export(str(tmp_path / "out.har"), fmt="har")
        lab.export(str(tmp_path / "out.jsonl"), fmt="jsonl")
    finally:
        lab.stop()
    har = json.loads((tmp_path / "out.har").read_text(encoding="utf-8"))
    request = har["log"]["entries"][0]["request"]
    assert request["url"] == har_url
    jsonl_url = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))["url"]
    assert jsonl_url == har_url.replace("%5B", "[").replace("%5D", "]")
    text = json.dumps(har)
    assert S not in text and JT not in text
    again = hooklab.load_har(str(tmp_path / "out.har"))
    # (the import reads the marks back: the capture's URL as exported, as JSON Lines keeps it;
    # tests/test_review31_har_marks.py)
    assert again.captures[0].url == jsonl_url
    assert again.captures[0].query == {"a": ["1"]} and again.captures[0].path == "/orders/x"
