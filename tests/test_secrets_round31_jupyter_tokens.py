"""Jupyter's credentials as Jupyter reads them, live and on import.

jupyter_server takes ``Authorization`` as ``(token|bearer)\\s+(.+)`` in any letter case: a tab
(or any whitespace) after ``token`` is its token scheme as much as a space, and such a header is
stored as ``[redacted]`` whichever it is. An import (``load_har``, ``load_jsonl``) scrubs the
user's Jupyter tokens (``$JUPYTER_TOKEN``, the runtime files' tokens) as the capture server does
on arrival: in the URL, any header, ``Bearer`` credentials."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _http import raw_request

import hooklab

TOK = "0123456789abcdef0123456789abcdef0123456789abcdef"

# (the Authorization value sent, as bytes on the wire; stored as)
LIVE = [
    (b"token " + TOK.encode(), "[redacted]"),
    (b"token\t" + TOK.encode(), "[redacted]"),
    (b"TOKEN\t" + TOK.encode(), "[redacted]"),
    (b"Token \t " + TOK.encode(), "[redacted]"),
    (b"\ttoken\t" + TOK.encode(), "[redacted]"),  # (leading whitespace: the field's, stripped)
    (b"token\xa0" + TOK.encode(), "[redacted]"),  # (NBSP read as Latin-1: Python's \s)
    (b"token\x85" + TOK.encode(), "[redacted]"),  # (NEL: Python's \s too)
    (b"tokenabc", "tokenabc"),                    # (no whitespace: no token scheme)
    (b"tokens " + TOK.encode(), "tokens " + TOK),
    (b"Bearer " + TOK.encode(), "Bearer " + TOK),  # (a webhook's credential: kept)
]


@pytest.mark.parametrize(("sent", "stored"), LIVE, ids=[repr(v[:9]) for v, _ in LIVE])
def test_jupyter_token_scheme_with_any_whitespace_is_redacted(tmp_path: Path, sent: bytes,
                                                             stored: str) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        answer = raw_request(lab.bound_port, b"POST /a HTTP/1.1\r\nHost: x\r\nAuthorization: "
                             + sent + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:60]
        (cap,) = lab.wait(1, timeout=10)
        assert cap.header("Authorization") == stored
    finally:
        lab.stop()


# (an Authorization value in an imported file; stored as, with the default redact_credentials)
IMPORTED = [
    ("token\t" + TOK, "[redacted]"),
    ("Token  " + TOK, "[redacted]"),
    ("tOkEn\t\t" + TOK, "[redacted]"),
    ("token\xa0" + TOK, "[redacted]"),
    ("tokenabc", "tokenabc"),
    ("Bearer " + TOK, "Bearer " + TOK),
]


def _har(path: Path, url: str, headers: list[tuple[str, str]]) -> None:
    entry = {"startedDateTime": "2026-01-01T00:00:00Z", "time": 0,
             "request": {"method": "GET", "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
                         "headers": [{"name": k, "value": v} for k, v in headers],
                         "queryString": [], "headersSize": -1, "bodySize": 0},
             "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                          "cookies": [], "headers": [], "content": {"size": 0, "mimeType": "x/y"},
                          "redirectURL": "", "headersSize": -1, "bodySize": 0},
             "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}}
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "t", "version": "1"},
                                        "entries": [entry]}}), encoding="utf-8")


def _jsonl(path: Path, url: str, headers: list[tuple[str, str]]) -> None:
    line = {"received_at": "2026-01-01T00:00:00Z", "method": "GET", "url": url,
            "path": urlsplit(url).path, "headers": [list(h) for h in headers], "body_b64": "",
            "status": 200}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")


LOADERS = [("har", _har, hooklab.load_har), ("jsonl", _jsonl, hooklab.load_jsonl)]


@pytest.mark.parametrize(("fmt", "write", "load"), LOADERS, ids=[f for f, _, _ in LOADERS])
@pytest.mark.parametrize(("value", "stored"), IMPORTED, ids=[repr(v[:8]) for v, _ in IMPORTED])
def test_an_import_redacts_the_token_scheme_as_jupyter_reads_it(
        tmp_path: Path, fmt: str, write, load, value: str, stored: str) -> None:
    path = tmp_path / f"in.{fmt}"
    write(path, "http://127.0.0.1:8888/a", [("Host", "127.0.0.1:8888"), ("Authorization", value)])
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        lab = load(str(path))
    assert lab.captures[0].header("Authorization") == stored
    # (the import says what it redacted, and how to keep it)
    assert any("redact_credentials=False" in str(w.message) for w in told) is (stored != value)


JT = "f00dfacecafe1234567890abcdef0011223344556677"
RT = "c0ffee0123456789c0ffee0123456789"  # (a running server's, in its runtime file)

# (the URL imported, its headers; what must be stored: URL and the headers but Host)
TOKEN_PLACES = [
    ("query", f"http://127.0.0.1:8888/api/contents?token={JT}", [],
     "http://127.0.0.1:8888/api/contents?token=[redacted]", []),
    ("query, percent-encoded", f"http://h/a?t={JT[:4]}%{ord(JT[4]):02X}{JT[5:]}", [],
     "http://h/a?t=[redacted]", []),
    ("path", f"http://h/a/{JT}/b", [], "http://h/a/[redacted]/b", []),
    ("a header", "http://h/a", [("X-Foo", JT)], "http://h/a", [("X-Foo", "[redacted]")]),
    ("Bearer", "http://h/a", [("Authorization", f"Bearer {JT}")], "http://h/a",
     [("Authorization", "Bearer [redacted]")]),
    ("runtime file's token", f"http://h/a?token={RT}", [("X-Foo", RT)],
     "http://h/a?token=[redacted]", [("X-Foo", "[redacted]")]),
]


@pytest.mark.parametrize("redact_credentials", [True, False])
@pytest.mark.parametrize(("fmt", "write", "load"), LOADERS, ids=[f for f, _, _ in LOADERS])
@pytest.mark.parametrize(("where", "url", "headers", "url_stored", "headers_stored"), TOKEN_PLACES,
                         ids=[c[0] for c in TOKEN_PLACES])
def test_an_import_scrubs_the_users_jupyter_tokens(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redact_credentials: bool, fmt: str,
        write, load, where: str, url: str, headers: list, url_stored: str,
        headers_stored: list) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "jpserver-1.json").write_text(json.dumps({"token": RT, "port": 8888}))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("JUPYTER_TOKEN", JT)
    path = tmp_path / f"in.{fmt}"
    write(path, url, [("Host", "h"), *headers])
    lab = load(str(path), redact_credentials=redact_credentials)
    cap = lab.captures[0]
    assert cap.url == url_stored
    assert [h for h in cap.headers if h[0] != "Host"] == headers_stored
    assert JT not in json.dumps([cap.url, cap.headers, cap.path, cap.query])
    assert RT not in json.dumps([cap.url, cap.headers, cap.path, cap.query])
