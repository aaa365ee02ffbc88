"""HAR / JSON Lines / CSV export, HAR import and copy-as-curl: byte-exact round trips."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import subprocess

import pytest
from _http import post, raw_request
from _target import Target

import hooklab
from hooklab import load_har
from hooklab.export import export, to_curl
from hooklab.frame import COLUMNS

BINARY = bytes(range(256)) + b"\x00\xff\xfe'\"%\\n"
TEXT = 'héllo "wörld" \'quoted\' $HOME `x` \\ 100%\r\nline2\t\x7f'


@pytest.fixture
def filled(lab):  # type: ignore[no-untyped-def]
    lab.secret("stripe", "whsec_TOPSECRET")
    hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid",
                 secret="whsec_TOPSECRET")
    post(lab.url_for("bin", "x?a=1&a=2&b="), BINARY,
         {"Content-Type": "application/octet-stream", "X-Dup": "1"}, method="PUT")
    post(lab.url_for("text"), TEXT.encode(), {"Content-Type": "text/plain; charset=utf-8"})
    post(lab.url_for("empty"), b"", method="DELETE")
    lab.wait(4)
    return lab


def _same(a, b) -> None:  # type: ignore[no-untyped-def]
    for f in ("method", "path", "query", "headers", "body", "status", "provider", "event_type",
              "delivery_id", "verified", "received_at", "url", "remote_addr", "bin"):
        assert getattr(a, f) == getattr(b, f), f


def test_har_round_trip_is_exact(filled, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.har"
    assert filled.export_har(path) == 4
    har = json.loads(path.read_text())
    assert har["log"]["version"] == "1.2" and har["log"]["creator"]["name"] == "hooklab"
    e = har["log"]["entries"]
    assert e[0]["_hooklab"]["provider"] == "stripe" and e[0]["_hooklab"]["verified"] is True
    assert e[1]["request"]["postData"]["encoding"] == "base64"
    assert base64.b64decode(e[1]["request"]["postData"]["text"]) == BINARY
    assert e[1]["request"]["queryString"] == [{"name": "a", "value": "1"},
                                              {"name": "a", "value": "2"},
                                              {"name": "b", "value": ""}]
    assert e[2]["request"]["postData"]["text"] == TEXT and "encoding" not in e[2]["request"]["postData"]
    assert "postData" not in e[3]["request"] and e[3]["request"]["method"] == "DELETE"
    assert "TOPSECRET" not in path.read_text()
    loaded = load_har(path)
    try:
        assert not loaded.is_running and len(loaded.captures) == 4
        for a, b in zip(filled.captures, loaded.captures, strict=True):
            _same(a, b)
        df = loaded.dataframe()
        assert list(df["event_type"].astype(object))[0] == "invoice.paid"
        assert loaded.captures[0].json()["type"] == "invoice.paid"
    finally:
        loaded.stop()


def test_load_foreign_har_classifies_like_arrival(tmp_path) -> None:  # type: ignore[no-untyped-def]
    har = {"log": {"version": "1.2", "creator": {"name": "devtools", "version": "1"}, "entries": [{
        "startedDateTime": "2024-05-01T10:00:00.123Z", "time": 5,
        "request": {"method": "POST", "url": "https://example.com/hooks/gh?x=1",
                    "headers": [{"name": "X-GitHub-Event", "value": "issues"},
                                {"name": "Content-Type", "value": "application/json"}],
                    "postData": {"mimeType": "application/json", "text": '{"action":"opened"}'}},
        "response": {"status": 204}}]}}
    p = tmp_path / "f.har"
    p.write_text(json.dumps(har))
    lab = hooklab.load_har(p)
    try:
        (c,) = lab.captures
        assert (c.provider, c.event_type, c.status, c.bin) == ("github", "issues.opened", 204, "hooks")
        assert c.query == {"x": ["1"]} and c.received_at.microsecond == 123000
    finally:
        lab.stop()
    p.write_text("{}")
    with pytest.raises(ValueError, match="not a HAR"):
        load_har(p)


def test_jsonl_and_csv(filled, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert filled.export(tmp_path / "c.jsonl") == 4
    rows = [json.loads(line) for line in (tmp_path / "c.jsonl").read_text().splitlines()]
    assert [base64.b64decode(r["body_b64"]) for r in rows] == [c.body for c in filled.captures]
    assert rows[1]["headers"] == [list(h) for h in filled.captures[1].headers]
    assert rows[1]["query"] == {"a": ["1", "2"], "b": [""]} and rows[0]["event_type"] == "invoice.paid"
    assert filled.export(tmp_path / "c.csv") == 4
    table = list(csv.DictReader((tmp_path / "c.csv").open()))
    assert list(table[0]) == [c for c in COLUMNS if c != "json"] and len(table) == 4
    assert table[0]["provider"] == "stripe" and table[1]["size"] == str(len(BINARY))
    assert export(filled.store, tmp_path / "s.har", bin="text") == 1
    for p in tmp_path.iterdir():
        assert "TOPSECRET" not in p.read_text()


def test_export_to_text_file_and_format_errors(filled, tmp_path) -> None:  # type: ignore[no-untyped-def]
    buf = io.StringIO()
    assert export(filled.store, buf) == 4 and json.loads(buf.getvalue())["log"]["entries"]
    buf = io.StringIO()
    assert export(filled.store, buf, fmt="jsonl", bin="bin") == 1
    assert len(buf.getvalue().splitlines()) == 1
    with pytest.raises(ValueError, match=r"\.har \(or \.json\), \.jsonl \(or \.ndjson\) or \.csv file, or a \.parquet folder"):
        export(filled.store, tmp_path / "x.txt")
    with pytest.raises(ValueError, match="unknown export format"):
        export(filled.store, tmp_path / "x.har", fmt="xml")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize("kind", ["binary", "text", "at", "empty", "json", "dash"])
def test_to_curl_resends_byte_exact(lab, kind: str, shell: str) -> None:  # type: ignore[no-untyped-def]
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} not installed")
    body = {"binary": BINARY, "text": TEXT.encode(), "at": b"@/etc/passwd", "empty": b"",
            "json": b'{"a": [1, 2]}',
            # binary, starting with "-": printf must not take it for an option
            "dash": b"-v\xff\x00--x"}[kind]
    headers = {"X-Quote": "it's \"q\" $x", "Content-Type": "application/json", "X-Empty": ""}
    if kind in ("binary", "dash"):
        del headers["Content-Type"]
    post(lab.url_for("c", "p?q=[1]&r=a%20b"), body, headers, method="PATCH" if body else "POST")
    (cap,) = lab.wait(1)
    with Target() as t:
        cmd = to_curl(cap, url=t.url + "/to")
        subprocess.run([shell, "-c", cmd + " -s -o /dev/null"], check=True, timeout=20)
        (got,) = t.wait(1)
    assert got.body == body and got.path == "/to/p?q=[1]&r=a%20b"
    assert got.method == cap.method and got.header("X-Quote") == "it's \"q\" $x"
    assert got.header("X-Empty") == ""  # (curl's "X-Empty:" leaves a header out)
    assert got.header("Content-Type") == cap.header("Content-Type")
    # (TEXT ends in a DEL, which a pasted command must not hold: printed by printf too)
    assert "printf" in cmd if kind in ("binary", "at", "dash", "text") else "printf" not in cmd


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("path", ["/c/../_hooklab/api/captures", "/c/./x", "/c/x/.."])
def test_to_curl_resends_a_path_with_dot_segments_as_it_came(lab, path) -> None:  # type: ignore[no-untyped-def]
    """curl folds "/c/../x" into "/x" unless told not to: copy-as-curl aimed at the lab
    would have requested another path than the one captured (/_hooklab/... here)."""
    from _http import raw_request

    port = lab.bound_port
    raw_request(port, f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 2\r\n"
                      "Connection: close\r\n\r\nhi".encode())
    (cap,) = lab.wait(1, timeout=10)
    assert cap.path == path
    with Target() as t:
        cmd = to_curl(cap, base=t.url)
        subprocess.run(["sh", "-c", cmd + " -s -o /dev/null"], check=True, timeout=20)
        (got,) = t.wait(1)
    assert got.path == path and got.body == b"hi"


def test_to_curl_display_options_hide_credentials_and_wrap() -> None:
    from datetime import datetime, timezone

    from hooklab.capture import Capture
    from hooklab.export import to_curl

    cap = Capture(
        id=7, received_at=datetime.now(timezone.utc), method="POST", path="/b",
        url="http://127.0.0.1:8765/b?token=abc&x=1", query={"token": ["abc"], "x": ["1"]},
        headers=[("Authorization", "Bearer s3cret"), ("Content-Type", "application/octet-stream")],
        body=bytes(range(256)) * 2,
    )
    shown = to_curl(cap, hide_headers={"authorization"}, hide_query={"token"},
                    max_inline=100, multiline=True)
    assert "s3cret" not in shown and "abc" not in shown
    assert "Authorization: <hidden>" in shown and "token=HIDDEN&x=1" in shown
    assert shown.startswith("# body (512 bytes) too large to inline") and "@body.bin" in shown
    assert " \\\n  -H " in shown
    plain = to_curl(cap)
    assert "s3cret" in plain and "token=abc" in plain and "printf" in plain and "\n" not in plain


def test_copy_as_curl_keeps_a_large_text_body_out_of_the_widget() -> None:
    """The live view's "Copy as curl" is widget state: a 16 MiB JSON body must not be inlined."""
    from datetime import datetime, timezone

    from hooklab.capture import Capture
    from hooklab.widget._render import CURL_LIMIT, curl_command

    def cap(body: bytes) -> Capture:
        return Capture(id=9, received_at=datetime.now(timezone.utc), method="POST", path="/big",
                       headers=[("Content-Type", "application/json")], body=body)

    big = b'{"data": "' + b"x" * (CURL_LIMIT + 1) + b'"}'
    shown = curl_command(cap(big), base="http://127.0.0.1:8765")
    assert len(shown) < 2_000, len(shown)
    assert shown.startswith(f"# body ({len(big)} bytes) too large to inline")
    assert "open('body.bin', 'wb').write(lab.get(9).body)" in shown
    assert shown.rstrip().endswith("--data-binary @body.bin")
    small = b'{"data": "' + b"x" * 100 + b'"}'
    inline = curl_command(cap(small), base="http://127.0.0.1:8765")
    assert "--data-binary '" + small.decode() + "'" in inline and "body.bin" not in inline


@pytest.mark.parametrize("fmt", ["har", "jsonl"])
@pytest.mark.parametrize(("filters", "want"), [
    ({}, lambda i: True),
    ({"bin": "odd"}, lambda i: i % 2 == 1),
    ({"since": 999, "until": 2001}, lambda i: 999 < i + 1 <= 2001),
    ({"bin": "even", "since": 1500}, lambda i: i % 2 == 0 and i + 1 > 1500),
    ({"search": "needle"}, lambda i: i % 250 == 7),
    # (seventh attacker: lab.export(out, path=...) was a TypeError, "multiple values for path")
    ({"path": "/odd"}, lambda i: i % 2 == 1),
])
def test_an_export_holds_every_capture_once_in_order(fmt, filters, want, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Exports read the store a page at a time (a thousand captures): across those pages,
    each capture that matches is written once, oldest first."""
    n = 2_600
    lab = hooklab.HookLab(db=str(tmp_path / "s.sqlite3"))
    try:
        lab.store.add_many({"path": "/odd" if i % 2 else "/even",
                            "body": (b"needle %d" if i % 250 == 7 else b"hay %d") % i}
                           for i in range(n))
        lab.store.flush(60)
        path = tmp_path / f"out.{fmt}"
        count = lab.export(path, **filters)
    finally:
        lab.stop()
    if fmt == "har":
        bodies = [e["request"].get("postData", {}).get("text", "")
                  for e in json.loads(path.read_text())["log"]["entries"]]
    else:
        bodies = [base64.b64decode(json.loads(line)["body_b64"]).decode()
                  for line in path.read_text().splitlines()]
    expected = [("needle %d" if i % 250 == 7 else "hay %d") % i for i in range(n) if want(i)]
    assert count == len(bodies) == len(expected)
    assert bodies == expected


def test_every_request_target_the_server_stores_comes_back_from_har_and_jsonl(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Asterisk and authority forms (OPTIONS *, CONNECT host:port) are stored as received;
    one of them in an export must not make the whole HAR file unreadable. They name no path
    on the lab, so "copy as curl" to it refuses them (with a URL given, it works)."""
    from _http import raw_request

    lab = hooklab.start(port=0, db=":memory:")
    try:
        sent = [("OPTIONS", "*"), ("CONNECT", "127.0.0.1:443"), ("CONNECT", "[::1]:443"),
                ("CONNECT", "example.com:8443"), ("POST", "/plain")]
        for method, target in sent:
            answer = raw_request(lab.bound_port, f"{method} {target} HTTP/1.1\r\nHost: a\r\n"
                                 "Content-Length: 2\r\nConnection: close\r\n\r\n{}".encode())
            # (CONNECT: captured, answered 501, as a 2xx would open a tunnel)
            ok = b"HTTP/1.1 501" if method == "CONNECT" else b"HTTP/1.1 200"
            assert answer.startswith(ok), answer[:200]
        caps = lab.wait(len(sent), timeout=10)
        assert [(c.method, c.path) for c in caps] == sent
        lab.export(str(tmp_path / "x.har"))
        lab.export(str(tmp_path / "x.jsonl"))
    finally:
        hooklab.stop()
    with pytest.raises(ValueError, match="names no path on the lab"):
        to_curl(caps[0])
    assert to_curl(caps[1], "http://127.0.0.1:9/x").split()[4] == "http://127.0.0.1:9/x"
    for opened in (hooklab.load_har(str(tmp_path / "x.har")),
                   hooklab.load_jsonl(str(tmp_path / "x.jsonl"))):
        try:
            assert [(c.method, c.path, c.body) for c in opened.captures] == [
                (m, t, b"{}") for m, t in sent]
        finally:
            opened.stop()


@pytest.mark.parametrize("field,value", [
    ("method", "GET /admin"),  # would put a path into a replayed request line
    ("method", "POST\r\nX-Injected: 1"),
    ("headers", [["X-A", "1\r\nX-Injected: 1"]]),
    ("headers", [["X-A\r\nX-B", "1"]]),
    ("headers", [["X A", "1"]]),
    ("path", "/a b"),
    ("path", "relative"),
])
def test_a_json_lines_import_refuses_what_the_server_could_not_have_received(
        tmp_path, field, value) -> None:  # type: ignore[no-untyped-def]
    """A JSON Lines file is as untrusted as a HAR file: the same request rules apply (it
    used to store a method "GET /admin", which replay then sent as the request line
    "GET /ADMIN /rep/y HTTP/1.1")."""
    line = {"method": "POST", "path": "/rep/y", "headers": [["Content-Type", "text/plain"]],
            "body_b64": base64.b64encode(b"x").decode(), "received_at": "2026-12-01T00:00:00Z"}
    line[field] = value
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(ValueError, match="line 1 is not a capture"):
        hooklab.load_jsonl(path).stop()


@pytest.mark.parametrize("post_data,body", [
    ({"mimeType": "application/x-www-form-urlencoded",
      "params": [{"name": "amount", "value": "42"}, {"name": "note", "value": "a&b c"},
                 {"name": "empty"}]}, b"amount=42&note=a%26b+c&empty="),
    ({"mimeType": "application/x-www-form-urlencoded", "text": "a=1", "params": [
        {"name": "ignored", "value": "x"}]}, b"a=1"),  # text wins: it is the exact body
])
def test_har_form_bodies_given_as_params_are_imported(tmp_path, post_data, body) -> None:  # type: ignore[no-untyped-def]
    """HAR 1.2 lets postData list a URL-encoded form as params instead of text: the body is
    rebuilt from them (it used to be imported empty); a file upload cannot be: imported empty, told."""
    def har(pd):  # type: ignore[no-untyped-def]
        entry = {"startedDateTime": "2026-12-01T00:00:00Z", "request": {
            "method": "POST", "url": "http://127.0.0.1:8765/forms/x", "httpVersion": "HTTP/1.1",
            "headers": [{"name": "Content-Type", "value": pd["mimeType"]}], "queryString": [],
            "postData": pd}, "response": {"status": 200}}
        path = tmp_path / "f.har"
        path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
        return path

    lab = load_har(har(post_data))
    try:
        assert [c.body for c in lab.captures] == [body]
    finally:
        lab.stop()
    upload = {"mimeType": "multipart/form-data; boundary=x",
              "params": [{"name": "f", "fileName": "a.txt", "value": "hi"}]}
    # (it cannot be rebuilt byte for byte: imported without its body, and said; it refused the
    # whole file, where README says a body the HAR does not hold is imported and told)
    with pytest.warns(UserWarning, match="1 request body is not in the file"):
        lab = load_har(har(upload))
    try:
        assert [c.body for c in lab.captures] == [b""]
        assert "postData.params" in (lab.captures[0].verify_reason or "")
    finally:
        lab.stop()


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_a_parquet_dataset_exports_to_json_lines_and_har(filled, tmp_path, fmt) -> None:  # type: ignore[no-untyped-def]
    """hooklab.open(<Parquet dataset>).export(..., fmt="jsonl"/"har") used to raise
    AttributeError (no iter_captures); now the captures come back exactly, in order, also
    a few at a time and with filters."""
    filled.export(str(tmp_path / "pq"), fmt="parquet")
    archive = hooklab.open(str(tmp_path / "pq"))
    try:
        assert archive.export(str(tmp_path / f"all.{fmt}")) == 4
        assert archive.export(str(tmp_path / f"bin.{fmt}"), bin="bin") == 1
        assert [c.id for c in archive.store.iter_captures(chunk=1)] == [c.id for c in filled.captures]
    finally:
        archive.stop()
    loader = hooklab.load_jsonl if fmt == "jsonl" else load_har
    back = loader(tmp_path / f"all.{fmt}")
    try:
        for a, b in zip(filled.captures, back.captures, strict=True):
            for f in ("method", "path", "query", "headers", "body", "status", "provider",
                      "event_type", "received_at"):
                assert getattr(a, f) == getattr(b, f), f
    finally:
        back.stop()
    one = loader(tmp_path / f"bin.{fmt}")
    try:
        assert [c.body for c in one.captures] == [BINARY]
    finally:
        one.stop()


def _jsonl_line(**fields):  # type: ignore[no-untyped-def]
    line = {"method": "POST", "path": "/pay/charge", "headers": [["Content-Type", "text/plain"]],
            "body_b64": base64.b64encode(b"x").decode(), "received_at": "2026-12-01T00:00:00Z"}
    line.update(fields)
    return json.dumps(line) + "\n"


@pytest.mark.parametrize("fields,message", [
    ({"path": "/pay/x#"}, "holds '?' or '#'"),
    ({"path": "/pay/x?admin=true"}, "holds '?' or '#'"),
    ({"url": "javascript:alert(1)"}, "is not an http/https URL or a path"),
    ({"url": "ftp://h/pay/charge"}, "is not an http/https URL or a path"),
    ({"url": "http://h/pay/charge\r\nX: 1"}, "is not an http/https URL or a path"),
    ({"received_at": "9999-12-31T23:59:59-23:59"}, "outside 1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z"),
    ({"received_at": "2300-01-01T00:00:00Z"}, "outside 1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z"),
    ({"received_at": "1600-01-01T00:00:00Z"}, "outside 1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z"),
])
def test_a_json_lines_import_refuses_what_replay_would_send_otherwise(tmp_path, fields, message) -> None:  # type: ignore[no-untyped-def]
    """(A second attack on the import rules.) A path with '?' or '#', a URL that is not one,
    or a time no DataFrame can hold (it made every frame and export of the lab fail)."""
    path = tmp_path / "bad.jsonl"
    path.write_text(_jsonl_line(**fields))
    with pytest.raises(ValueError, match=re.escape(message)):
        hooklab.load_jsonl(path).stop()


def test_the_labs_own_json_lines_export_comes_back_whatever_its_urls(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A record stored without a URL has a relative one; a sender's Host may make it odd
    ("a b", "[x"): the lab's own export must import again (the first version of the import
    rules refused both, and with them the whole file)."""
    from hooklab.capture import new_record

    lab = hooklab.HookLab(db=":memory:")
    lab.store.add_sync(new_record("POST", "/b/x?a=1", [], b"one"))  # url "/b/x?a=1"
    lab.store.add_sync(new_record("POST", "/b/y", [], b"two", url="http://a b/b/y?c=2"))
    lab.store.add_sync(new_record("POST", "/b/z", [], b"three", url="http://[x/b/z?d=3"))
    lab.export(str(tmp_path / "own.jsonl"))
    lab.stop()
    back = hooklab.load_jsonl(tmp_path / "own.jsonl")
    try:
        assert [(c.body, c.query) for c in back.captures] == [
            (b"one", {"a": ["1"]}), (b"two", {"c": ["2"]}), (b"three", {"d": ["3"]})]
    finally:
        back.stop()


def test_a_json_lines_capture_shows_the_query_its_url_replays(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A line whose url's query differs from its query field: the capture's query is the
    URL's, the one replay and copy-as-curl send (it showed amount=1 and sent 1000000)."""
    path = tmp_path / "q.jsonl"
    path.write_text(_jsonl_line(query={"amount": ["1"]},
                                url="http://shop/pay/charge?amount=1000000&admin=true"))
    lab = hooklab.load_jsonl(path)
    try:
        (cap,) = lab.captures
        assert cap.query == {"amount": ["1000000"], "admin": ["true"]}
        assert "amount=1000000&admin=true" in to_curl(cap)
    finally:
        lab.stop()


@pytest.mark.parametrize("case", ["deep", "surrogate", "far"])
def test_a_har_import_refuses_what_would_break_later(tmp_path, case) -> None:  # type: ignore[no-untyped-def]
    """Deep nesting gave a RecursionError traceback; a lone surrogate in a header was
    imported and then every export stopped half-way; a far date broke every frame."""
    path = tmp_path / "x.har"
    entry = {"startedDateTime": "2026-12-01T00:00:00Z", "request": {
        "method": "POST", "url": "http://127.0.0.1:8765/h/x", "httpVersion": "HTTP/1.1",
        "headers": [{"name": "X-A", "value": "ok"}], "queryString": []}, "response": {"status": 200}}
    if case == "deep":
        path.write_text("[" * 100_000 + "]" * 100_000)
        match = "is not a HAR file"
    else:
        if case == "surrogate":
            entry["request"]["headers"][0]["value"] = "\ud800"
            match = "not valid Unicode"
        else:
            entry["startedDateTime"] = "2300-01-01T00:00:00Z"
            match = "outside 1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z"
        path.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    with pytest.raises(ValueError, match=match):
        load_har(path).stop()


@pytest.mark.parametrize("layout", ["only-foreign", "foreign-beside-export", "foreign-file",
                                    "a-column-of-another-type"])
def test_opening_parquet_files_hooklab_did_not_write_says_which(filled, tmp_path, layout) -> None:  # type: ignore[no-untyped-def]
    """``hooklab.open`` took any folder with a ``.parquet`` file for a capture export: a
    pandas table gave "2 captures" and then an Arrow error; beside a real export it added a
    capture with id -9223372036854775808 dated 1970. Now a file that is not an export's is
    named in a clear error, and a real export still opens."""
    import pandas as pd
    import pyarrow.parquet as pq

    export = tmp_path / "pq"
    filled.export(str(export), fmt="parquet")
    if layout == "only-foreign":
        target = tmp_path / "sales"
        target.mkdir()
        bad = target / "data" / "sales.parquet"
        bad.parent.mkdir()
        pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(bad)
    elif layout == "foreign-beside-export":
        target, bad = export, export / "other.parquet"
        pd.DataFrame({"a": [1]}).to_parquet(bad)
    elif layout == "foreign-file":
        target = bad = tmp_path / "one.parquet"
        pd.DataFrame({"id": [1]}).to_parquet(bad)
    else:
        first = sorted(export.rglob("*.parquet"))[0]
        table = pq.read_table(first)
        table = table.set_column(table.schema.get_field_index("status"), "status",
                                 table.column("status").cast("string"))
        target, bad = export, first.with_name("retyped.parquet")
        pq.write_table(table, bad)
    with pytest.raises(ValueError, match=f"{bad.name}.*is not a hooklab capture export"):
        hooklab.open(str(target))
    bad.unlink()
    if target != bad:
        if layout == "only-foreign":
            with pytest.raises(FileNotFoundError):
                hooklab.open(str(target))
        else:
            archive = hooklab.open(str(target))
            try:
                assert [c.id for c in archive.captures] == [c.id for c in filled.captures]
            finally:
                archive.stop()


def test_an_export_written_before_a_column_was_added_still_opens(filled, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Files of an older hooklab lack the ``handshake`` column: they opened before the check
    of foreign files, and still do (the column reads as empty)."""
    import pyarrow.parquet as pq

    export = tmp_path / "old"
    filled.export(str(export), fmt="parquet")
    for f in export.rglob("*.parquet"):
        table = pq.read_table(f)
        pq.write_table(table.drop_columns(["handshake"]), f)
    archive = hooklab.open(str(export))
    try:
        df = archive.dataframe()
        assert df["id"].tolist() == [c.id for c in filled.captures]
        assert df["handshake"].isna().all()
    finally:
        archive.stop()


def test_a_parquet_export_stopped_part_way_leaves_nothing_readers_stumble_on(filled, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An export killed while writing left a cut ``part-*.parquet`` under its final name: the
    next export failed ("magic bytes not found") and ``hooklab.open(folder)`` gave 0 rows
    without a word. Files are now written as ``.part-*.parquet.tmp`` and renamed once whole;
    a cut file of another kind is named in a clear error."""
    import os
    import time

    export = tmp_path / "pq"
    assert filled.export(str(export), fmt="parquet") == 4
    files = sorted(export.rglob("*"))
    assert [f for f in files if f.name.endswith(".tmp") or f.name.startswith(".part")] == []
    parts = [f for f in files if f.suffix == ".parquet"]
    assert parts and all(f.name.startswith("part-") for f in parts)
    # what a kill part-way leaves now: a cut file under the name no reader takes
    source = parts[0].name.split("-")[1]
    cut = parts[0].with_name(f".part-{source}-90-99-0.parquet.tmp")
    cut.write_bytes(parts[0].read_bytes()[:100])
    opened = hooklab.open(str(export))
    assert len(opened.dataframe()) == 4 and len(opened.sql("SELECT id FROM captures")) == 4
    import duckdb

    glob = str(export / "**" / "*.parquet")
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall() == [(4,)]
    hooklab.send(filled.url_for("more"), payload={"n": 5})
    filled.wait(5, timeout=10)
    assert filled.export(str(export), fmt="parquet") == 1  # the next export: only what is new
    assert cut.exists()  # (young: an export may be writing it now)
    old = time.time() - 7200
    os.utime(cut, (old, old))
    assert filled.export(str(export), fmt="parquet") == 0
    assert not cut.exists()  # an hour old: removed by the next export of that database
    # other files beside an export are no part of it (a review: a README.md broke open())
    (export / "README.md").write_text("exported on monday\n")
    (export / "day=2026-01-01").mkdir(exist_ok=True)
    (export / "day=2026-01-01" / "notes.txt").write_text("x")
    assert len(hooklab.open(str(export)).dataframe()) == 5
    # a cut file under a final name (an older hooklab's export stopped part-way): said so,
    # whether it sorts first or last
    for name in ("part-x-1-2-0.parquet", "part-0-0-0-0.parquet"):
        bad = parts[0].with_name(name)
        bad.write_bytes(parts[0].read_bytes()[:100])
        with pytest.raises(ValueError, match=f"{bad.name}.*cannot be read as Parquet.*stopped part-way"):
            hooklab.open(str(export))
        bad.unlink()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize("body", [
    "'\x7f; touch /nonexistent/pwned #",  # DEL: erases the quote when pasted without
    "a\x9b31mb",                             # bracketed paste; C1 CSI (as U+009B in UTF-8)
    "amount \u202e01$ \u202c",              # a bidi override: the command reads otherwise
    "zero\u200bwidth and caf\u00e9\u00a0!",  # invisible and non-breaking characters
    "caf\u00e9 \u65e5\u672c \U0001f600",     # printable: inline as before
])
def test_copy_as_curl_shows_no_control_characters_and_resends_exactly(lab, body, shell) -> None:  # type: ignore[no-untyped-def]
    """(seventh attacker) A text body holding DEL went inline into "copy as curl": pasted into
    a shell without bracketed paste, DEL erased the closing quote and the sender's text ran.
    Bodies and header lines with characters that are not printable go through ``printf``;
    header values (latin-1 on the wire: a quoted ``é`` went out as UTF-8) come back exact."""
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} not installed")
    data = body.encode()
    head = (b"POST /c HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"X-Bytes: caf\xe9 \x9b[31m caf\xc3\xa9\r\nContent-Length: %d\r\nConnection: close\r\n\r\n")
    raw_request(lab.bound_port, head % len(data) + data)
    (cap,) = lab.wait(1)
    cmd = to_curl(cap, url="http://127.0.0.1:9/unused")
    printable = all(ch in "\n" or ch.isprintable() for ch in body)
    assert cmd.startswith("printf ") is not printable  # (the body piped in: --data-binary @-)
    assert all(ch.isprintable() for ch in cmd) and "\\351 \\233[31m" in cmd  # (the header)
    other = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        cmd = to_curl(cap, url=other.url_for("to"))
        subprocess.run([shell, "-c", cmd + " -s -o /dev/null"], check=True, timeout=20)
        (got,) = other.wait(1, timeout=10)
    finally:
        other.stop()
    assert got.body == data and got.header("X-Bytes") == cap.header("X-Bytes")
    assert cap.header("X-Bytes") == "caf\xe9 \x9b[31m caf\xc3\xa9"


#: a hand-written JSON Lines line's url and path: (the capture's path, bin, query). Without a
#: path the URL's is taken (it was "/" and bin ""); given both, the line's path wins
URL_AND_PATH = [
    ({"url": "http://127.0.0.1:9/github/push?a=1"}, ("/github/push", "github", {"a": ["1"]})),
    ({"url": "https://h.example/stripe"}, ("/stripe", "stripe", {})),
    ({"url": "http://127.0.0.1:9"}, ("/", "", {})),
    ({"url": "http://127.0.0.1:9?x=2"}, ("/", "", {"x": ["2"]})),
    ({"url": "http://127.0.0.1:9/caf%C3%A9/x;v=1?q=%20#frag"}, ("/caf%C3%A9/x;v=1", "caf\u00e9",
                                                                {"q": [" "]})),
    ({"url": "/relative/x?b=1"}, ("/relative/x", "relative", {"b": ["1"]})),
    ({"url": "//github/push"}, ("//github/push", "github", {})),  # (a path, as the server has it)
    ({"url": "http://[x/b/z?d=3"}, ("/b/z", "b", {"d": ["3"]})),  # (a sender's odd Host)
    ({"url": "http://127.0.0.1:9/github/push", "path": "/gitlab/x"}, ("/gitlab/x", "gitlab", {})),
    ({"url": "http://127.0.0.1:9/github/push?a=1", "path": None}, ("/github/push", "github",
                                                                   {"a": ["1"]})),
    ({}, ("/", "", {})),
]


@pytest.mark.parametrize("fields,want", URL_AND_PATH, ids=[str(f) for f, _ in URL_AND_PATH])
def test_a_json_lines_line_without_a_path_takes_the_urls(tmp_path, fields, want) -> None:  # type: ignore[no-untyped-def]
    line = {"method": "POST", "headers": [["X-GitHub-Event", "push"]], "body": '{"ref": "x"}',
            "received_at": "2026-01-01T00:00:00Z", **fields}
    path = tmp_path / "hand.jsonl"
    path.write_text(json.dumps(line) + "\n")
    lab = hooklab.load_jsonl(path)
    try:
        (cap,) = lab.captures
        assert (cap.method, cap.path, cap.bin, cap.query, cap.headers, cap.body) == (
            "POST", *want, [("X-GitHub-Event", "push")], b'{"ref": "x"}')
        assert lab.dataframe()["bin"].tolist() == [want[1]]
        assert len(lab.query(bin=want[1])) == 1
    finally:
        lab.stop()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://h/pay/charge"])
def test_a_json_lines_line_without_a_path_still_refuses_a_url_that_is_none(tmp_path, url) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"method": "POST", "url": url}) + "\n")
    with pytest.raises(ValueError, match="is not an http/https URL or a path"):
        hooklab.load_jsonl(path).stop()


@pytest.mark.parametrize("layout", [
    "bom, one line", "bom, then lines", "bom, blank first line", "bom, CRLF"])
def test_a_json_lines_file_after_a_byte_order_mark_is_read(tmp_path, layout) -> None:  # type: ignore[no-untyped-def]
    """Windows tools write a UTF-8 byte order mark before the first line (a HAR file's is
    skipped too); one anywhere else is no JSON, and refused naming its line."""
    lines = [_jsonl_line(path=f"/b/{i}") for i in range(3)]
    data = {"bom, one line": "\ufeff" + lines[0],
            "bom, then lines": "\ufeff" + "".join(lines),
            "bom, blank first line": "\ufeff\n" + "".join(lines),
            "bom, CRLF": "\ufeff" + "".join(x.replace("\n", "\r\n") for x in lines)}[layout]
    path = tmp_path / "bom.jsonl"
    path.write_bytes(data.encode("utf-8"))
    lab = hooklab.load_jsonl(path)
    try:
        want = 1 if layout == "bom, one line" else 3
        assert [(c.path, c.body) for c in lab.captures] == [(f"/b/{i}", b"x") for i in range(want)]
    finally:
        lab.stop()
    path.write_bytes(lines[0].encode() + b"\xef\xbb\xbf" + lines[1].encode())
    with pytest.raises(ValueError, match="line 2 is not a capture"):
        hooklab.load_jsonl(path).stop()


def test_a_big_json_lines_file_after_a_byte_order_mark_is_read_by_helpers_too(  # type: ignore[no-untyped-def]
        tmp_path, monkeypatch) -> None:
    """The helper processes that read a big file (here: any, in 64 KB pieces) skip the mark
    as one process does."""
    import hooklab.export.jsonl as J
    from hooklab.explore import parallel

    monkeypatch.setattr(J, "HELPER_BYTES", 1)
    monkeypatch.setattr(J, "RANGE_BYTES", 64 * 1024)
    monkeypatch.setattr(parallel, "PROCESSES", 2)
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(_jsonl_line(path=f"/b/{i}")
                                               for i in range(3000)).encode())
    lab = hooklab.load_jsonl(path)
    try:
        assert [c.path for c in lab.captures] == [f"/b/{i}" for i in range(3000)]
    finally:
        lab.stop()
