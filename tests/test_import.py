"""Bulk imports (``hooklab.load_jsonl``, ``CaptureStore.add_many``): every check an imported
file gets, and the exact values stored, line by line - as a user meets them, through
``hooklab.load_jsonl`` on real files and real SQLite databases."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

import hooklab
from hooklab.store import CaptureStore

GOOD = '{"method": "POST", "path": "/ok", "body_b64": "e30="}'

# (a line, what the error says about it) - the line is line 3 of its file (after a good line
# and a blank one), and nothing of a file with a bad line may be half-read silently
BAD_LINES = [
    ("[1]", "a line is not an object"),
    ('"text"', "a line is not an object"),
    ("{nope", "line 3 is not a capture"),
    ('{"method": 5}', "method must be a string, got int"),
    ('{"method": null, "path": 7}', "path must be a string, got int"),
    ('{"headers": [["a"]]}', r"headers must be \[name, value\] string pairs"),
    ('{"headers": [["a", 1]]}', r"headers must be \[name, value\] string pairs"),
    ('{"headers": [{"a": "b"}]}', r"headers must be \[name, value\] string pairs"),
    ('{"headers": "a: b"}', r"headers must be \[name, value\] string pairs"),
    ('{"query": [1]}', "query must be an object"),
    ('{"query": {"a": "b"}}', "query 'a' must be a list of strings"),
    ('{"query": {"a": ["b", 2]}}', "query 'a' must be a list of strings"),
    ('{"status": "OK"}', r"status 'OK' is not an HTTP status \(a whole number\)"),
    ('{"status": 1000}', "status 1000 is not an HTTP status"),
    ('{"status": -1}', "status -1 is not an HTTP status"),
    ('{"status": true}', "status True is not an HTTP status"),
    ('{"status": 200.5}', r"status 200.5 is not an HTTP status \(a whole number\)"),
    ('{"body_b64": "!!!!"}', "line 3 is not a capture"),
    ('{"body_b64": "e30"}', "line 3 is not a capture"),  # bad padding
    ('{"body_b64": 5}', "body_b64 must be a string, got int"),
    ('{"body_b64": "\u00e9A=="}', "only ASCII characters"),
    ('{"received_at": "yesterday"}', "line 3 is not a capture"),
    ('{"received_at": "2026-13-01T00:00:00"}', "line 3 is not a capture"),
    ('{"remote_addr": 1}', "remote address must be a string, got int"),
    ('{"url": {}}', "url must be a string, got dict"),
    ('{"kind": ["ws"]}', "kind must be a string, got list"),
    ('{"provider": 1}', "provider must be a string, got int"),
    ('{"body": "x", "body_b64": "eA=="}', "give body_b64 or body, not both"),
    ('{"body": {"id": 1}}', "body must be a string, got dict"),
    # a provider names a folder of a Parquet export: ids only ("12345" broke Dask's groupby,
    # "café" came back from Spark as "cafÃ©", "unknown" merged with captures of none)
    ('{"provider": "caf\u00e9"}', "provider 'café' is not a provider id"),
    ('{"provider": "12345"}', "provider '12345' is not a provider id"),
    ('{"provider": "unknown"}', "provider 'unknown' is not a provider id"),
    ('{"provider": "Stripe"}', "provider 'Stripe' is not a provider id"),
    ('{"provider": "../x"}', "provider '../x' is not a provider id"),
    ('{"provider": "a=b"}', "provider 'a=b' is not a provider id"),
    ('{"event_type": false}', "event_type must be a string, got bool"),
    ('{"delivery_id": 1.5}', "delivery_id must be a string, got float"),
    ('{"verify_reason": []}', "verify_reason must be a string, got list"),
    ('{"s": "\\ud800"}', "line 3 is not a capture"),  # a lone surrogate
    ('{"n": 1e999}', "line 3 is not a capture"),
]


@pytest.mark.parametrize("line, says", BAD_LINES, ids=[b[0][:30] for b in BAD_LINES])
def test_a_bad_line_is_refused_naming_its_line(tmp_path, line, says):
    path = tmp_path / "bad.jsonl"
    path.write_text(GOOD + "\n\n" + line + "\n" + GOOD + "\n")
    with pytest.raises(ValueError, match="line 3") as err:
        hooklab.load_jsonl(str(path))
    assert str(path) in str(err.value)
    import re

    assert re.search(says, str(err.value)), str(err.value)


def test_lines_are_counted_as_an_editor_counts_them(tmp_path):
    """CRLF endings, blank and whitespace-only lines, a last line without a newline: every
    capture is read, and an error names its line."""
    lines = [GOOD, "", "  \t ", GOOD.replace("/ok", "/" + "x" * 150), "\x0c", GOOD]
    path = tmp_path / "crlf.jsonl"
    path.write_bytes("\r\n".join(lines).encode())  # no newline after the last line
    lab = hooklab.load_jsonl(str(path))
    try:
        assert [c.path for c in lab.query()] == ["/ok", "/" + "x" * 150, "/ok"]
    finally:
        lab.stop()
    path.write_bytes("\r\n".join([*lines, '{"status": "x"}']).encode())
    with pytest.raises(ValueError, match="line 7 is not a capture"):
        hooklab.load_jsonl(str(path))


T = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone.utc)

# (a line's fields, what is stored: capture attributes / DataFrame columns)
GOOD_LINES = [
    ({}, {"method": "GET", "path": "/", "bin": "", "query": {}, "headers": [], "body": b"",
          "status": 0, "kind": "http", "remote_addr": "", "url": "", "provider": None,
          "verified": None, "content_type": None}),
    ({"received_at": "2026-03-04T05:06:07.891011Z"}, {"received_at": T}),
    ({"received_at": "2026-03-04T05:06:07.891011"}, {"received_at": T}),  # naive: UTC
    ({"received_at": "2026-03-04T07:06:07.891011+02:00"}, {"received_at": T}),
    ({"method": "post", "path": "", "kind": ""}, {"method": "POST", "path": "/", "kind": "http"}),
    # (a path holding "?" or "#" is refused: test_export.py)
    ({"path": "/caf%C3%A9/x;y=1"}, {"path": "/caf%C3%A9/x;y=1", "bin": "café"}),
    ({"query": {"a": ["1", "2"], "b": []}}, {"query": {"a": ["1", "2"], "b": []}}),
    # (a value with a CR or LF is refused, as by a HAR import: test_export.py)
    ({"headers": [["Content-Type", "Application/JSON; charset=utf-8"], ["X-A", "é\t "]]},
     {"headers": [("Content-Type", "Application/JSON; charset=utf-8"), ("X-A", "é\t ")],
      "content_type": "application/json"}),
    ({"headers": [["content-type", " ; x"]]}, {"content_type": None}),
    ({"body_b64": "AAEC/w=="}, {"body": b"\x00\x01\x02\xff"}),
    # (no status is 0, said in a warning: tests/test_jsonl_hostile_records.py; 0 is a
    # WebSocket recording's ERROR, which the export writes as 0)
    ({"status": 0}, {"status": 0}),
    ({"status": 200.0}, {"status": 200}),  # (the same JSON number; as a HAR import reads it)
    ({"status": "404"}, {"status": 404}),  # (as some tools write it)
    ({"status": 999, "remote_addr": "::1", "url": "http://h/x"},
     {"status": 999, "remote_addr": "::1", "url": "http://h/x"}),
    ({"provider": "stripe", "event_type": "e.v", "delivery_id": "d1", "verified": True,
      "verify_reason": "ok"},
     {"provider": "stripe", "event_type": "e.v", "delivery_id": "d1", "verified": True,
      "verify_reason": "ok"}),
    ({"verified": 0}, {"verified": False}),
    ({"kind": "ws", "path": "/sock"}, {"kind": "ws", "bin": "sock"}),
    ({"headers": [["X-GitHub-Event", "push"], ["X-GitHub-Delivery", "g-1"]],
      "body_b64": "eyJyZWYiOiAibWFpbiJ9"},  # no provider in the line: detected on import
     {"provider": "github", "event_type": "push", "delivery_id": "g-1"}),
    ({"provider": "", "headers": [["X-GitHub-Event", "push"]], "body_b64": "e30="},
     {"provider": "github", "event_type": "push"}),  # "": none given
    ({"provider": "", "body_b64": "e30="}, {"provider": None}),
    # written by hand: the body as text (it was left out: an empty body, silently)
    ({"method": "POST", "path": "/orders", "body": '{"id": 42, "note": "caf\u00e9"}'},
     {"body": '{"id": 42, "note": "café"}'.encode()}),
]


@pytest.mark.parametrize("fields, stored", GOOD_LINES, ids=[str(g[0])[:40] for g in GOOD_LINES])
def test_every_field_of_a_line_is_stored_exactly(tmp_path, fields, stored):
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(fields) + "\n")
    before = datetime.now(timezone.utc)
    lab = hooklab.load_jsonl(str(path), db=str(tmp_path / "one.sqlite3"))
    try:
        (cap,) = lab.query()
        df = lab.dataframe()
        for key, want in stored.items():
            got = df.loc[0, key] if key in ("content_type", "bin") else getattr(cap, key)
            if key == "content_type" and not isinstance(got, str):
                got = None
            assert got == want, key
        if "received_at" not in fields:  # no time in the line: when it was imported
            assert before - timedelta(seconds=1) <= cap.received_at <= datetime.now(timezone.utc)
    finally:
        lab.stop()


def test_a_large_import_is_chunked_keeps_order_and_flags_repeats(tmp_path):
    n = 12_345  # three chunks of the bulk load
    path = tmp_path / "many.jsonl"
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({
                "received_at": (T + timedelta(seconds=i)).isoformat(), "method": "POST",
                # (a repeat is a retry to the same endpoint: its bin is the first's)
                "path": f"/b{i % 10_000 % 7}/x", "headers": [["Content-Type", "application/json"]],
                "provider": "stripe", "delivery_id": f"evt_{i % 10_000}",
                "body_b64": "eyJpIjogMX0=",
            }) + "\n")
    lab = hooklab.load_jsonl(str(path), db=str(tmp_path / "many.sqlite3"))
    try:
        df = lab.dataframe()
        assert len(df) == n
        assert df["id"].tolist() == list(range(1, n + 1))
        assert df["bin"].astype(str).tolist() == [f"b{i % 10_000 % 7}" for i in range(n)]
        assert (df["received_at"] == [T + timedelta(seconds=i) for i in range(n)]).all()
        assert df["duplicate"].tolist() == [i >= 10_000 for i in range(n)]
        assert lab.store.count(bin="b3") == sum(i % 10_000 % 7 == 3 for i in range(n))  # indexes back
    finally:
        lab.stop()


# records handed to add_many directly, of shapes the JSON Lines reader never makes
ODD_RECORDS = [
    ({"received_at": datetime(2026, 1, 1, 12, 0)}, "received_at", datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)),
    ({"headers": [["Content-Type", "text/plain"]]}, "content_type", "text/plain"),
    ({"headers": (("Content-Type", "text/csv"),)}, "content_type", "text/csv"),
    ({"path": "/a/b", "bin": "given"}, "bin", "given"),
    ({"path": "/%ZZ/b"}, "bin", "%ZZ"),
    ({"query": {"q": ["1"]}}, "query", {"q": ["1"]}),
    ({"method": b"PUT".decode()}, "method", "PUT"),
]


@pytest.mark.parametrize("record, column, want", ODD_RECORDS, ids=[str(r[0])[:40] for r in ODD_RECORDS])
def test_add_many_stores_records_of_any_accepted_shape(tmp_path, record, column, want):
    store = CaptureStore(str(tmp_path / "odd.sqlite3"), durability="normal")
    try:
        assert store.add_many([{"method": "POST", "path": "/x", **record}]) == 1
        got = store.columns() if column in ("content_type", "bin") else None
        if got is not None:  # as stored (Capture.bin is worked out from the path)
            assert got.column(column).to_pylist() == [want]
        else:
            assert getattr(store.query()[0], column) == want
    finally:
        store.close()


def test_a_har_saved_by_a_browser_imports(tmp_path):
    """Chromium's DevTools ("Save all as HAR"): HTTP/2 pseudo-headers refused the whole file;
    a request that got no answer (status 0) came in as answered 200; the server's address
    (``serverIPAddress``) became the sender's ``remote_addr``."""
    def entry(method, url, headers, status, body=None):  # as DevTools writes one
        request = {"method": method, "url": url, "httpVersion": "http/2.0", "cookies": [],
                   "headers": [{"name": k, "value": v} for k, v in headers],
                   "queryString": [], "headersSize": -1, "bodySize": len(body or "")}
        if body is not None:
            request["postData"] = {"mimeType": "application/json", "text": body}
        return {"_resourceType": "fetch", "cache": {}, "pageref": "page_1", "request": request,
                "response": {"status": status, "statusText": "", "httpVersion": "http/2.0",
                             "headers": [], "cookies": [], "content": {"size": 0, "mimeType": ""},
                             "redirectURL": "", "headersSize": -1, "bodySize": -1,
                             "_error": "net::ERR_FAILED" if status == 0 else None},
                "serverIPAddress": "93.184.216.34", "startedDateTime": "2024-05-01T10:00:01.123Z",
                "time": 42.1, "timings": {"send": 0.1, "wait": 40, "receive": 1}}

    har = {"log": {"version": "1.2", "creator": {"name": "WebInspector", "version": "537.36"},
                   "pages": [], "entries": [
        entry("POST", "https://example.com/api/hook?a=1&a=2",
              [(":authority", "example.com"), (":method", "POST"), (":path", "/api/hook?a=1&a=2"),
               (":scheme", "https"), ("content-type", "application/json")], 201, '{"hello":"w"}'),
        entry("GET", "https://example.com/", [("Host", "example.com"), ("Accept", "text/html")], 200),
        entry("POST", "https://example.com/upload", [(":authority", "example.com"),
                                                     ("content-type", "application/json")], 0, "{}"),
    ]}}
    path = tmp_path / "chromium.har"
    path.write_text(json.dumps(har))
    caps = hooklab.load_har(str(path)).captures
    assert [(c.method, c.path, c.status, c.remote_addr) for c in caps] == [
        ("POST", "/api/hook", 201, ""), ("GET", "/", 200, ""), ("POST", "/upload", 0, "")]
    assert caps[0].headers == [("Host", "example.com"), ("content-type", "application/json")]
    assert caps[0].body == b'{"hello":"w"}' and caps[0].query == {"a": ["1", "2"]}
    assert caps[1].headers == [("Host", "example.com"), ("Accept", "text/html")]


@pytest.mark.parametrize("provider, outcome", [
    ("stripe", "stripe"), ("", None), ("caf\u00e9", "not a provider id"),
    ("unknown", "not a provider id"), ("12345", "not a provider id"), ("a/b", "not a provider id"),
])
def test_a_har_s_provider_is_an_id_as_in_json_lines(tmp_path, provider, outcome):
    """(review) The provider check was wired into JSON Lines only: a HAR's ``_hooklab``
    provider wrote ``provider=caf%C3%A9`` or ``provider=`` folders into Parquet exports."""
    lab = hooklab.HookLab(db=":memory:")
    lab.store.add_sync({"method": "POST", "path": "/x", "headers": [], "body": b"{}"})
    path = tmp_path / "c.har"
    lab.export_har(str(path))
    lab.stop()
    har = json.loads(path.read_text())
    har["log"]["entries"][0]["_hooklab"]["provider"] = provider
    har["log"]["entries"][0]["response"]["status"] = "404"  # (some tools write text)
    har["log"]["entries"][0]["_hooklab"].pop("status", None)
    path.write_text(json.dumps(har))
    if outcome is not None and " " in outcome:
        with pytest.raises(ValueError, match=outcome):
            hooklab.load_har(str(path))
        return
    (cap,) = hooklab.load_har(str(path)).captures
    assert (cap.provider, cap.status) == (outcome, 404)


_CREDENTIALS = [  # (header, as sent, as stored)
    ("Cookie", "_xsrf=abc; username-127-0-0-1-8888=secretlogin", "[redacted]"),
    ("cookie", "jupyterhub-session-id=1", "[redacted]"),
    ("Authorization", "token jupytertoken123", "[redacted]"),
    ("authorization", "  Token jupytertoken123", "[redacted]"),
    ("X-XSRFToken", "abc", "[redacted]"),
    ("Authorization", "Bearer whsec_webhook_credential", "Bearer whsec_webhook_credential"),
    ("Authorization", "Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"),
    ("X-Hub-Signature-256", "sha256=00", "sha256=00"),
]


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_imports_scrub_jupyter_credentials_as_on_arrival(tmp_path, fmt):
    """(outside check) JSON Lines import built its records by hand and stored a file's
    ``Cookie`` and Jupyter ``Authorization: token`` headers as they were; HAR import (through
    ``new_record``) stored ``[redacted]``. A webhook's own credentials stay (they are checked)."""
    headers = [[name, sent] for name, sent, _ in _CREDENTIALS]
    line = {"received_at": "2024-01-01T00:00:00+00:00", "method": "POST", "path": "/github",
            "url": "http://127.0.0.1:8765/github", "headers": headers, "body": "{}",
            "status": 200, "kind": "http"}
    if fmt == "jsonl":
        path = tmp_path / "c.jsonl"
        path.write_text(json.dumps(line) + "\n")
        lab = hooklab.load_jsonl(str(path))
    else:
        entry = {"startedDateTime": line["received_at"], "time": 0, "cache": {}, "timings": {},
                 "request": {"method": "POST", "url": line["url"], "httpVersion": "HTTP/1.1",
                             "headers": [{"name": k, "value": v} for k, v in headers],
                             "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 2,
                             "postData": {"mimeType": "application/json", "text": "{}"}},
                 "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                              "headers": [], "cookies": [], "content": {"size": 0, "mimeType": ""},
                              "redirectURL": "", "headersSize": -1, "bodySize": 0}}
        path = tmp_path / "c.har"
        path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "x"},
                                            "entries": [entry]}}))
        lab = hooklab.load_har(str(path))
    try:
        (cap,) = lab.captures
        assert cap.headers == [(name, stored) for name, _, stored in _CREDENTIALS]
    finally:
        lab.stop()


@pytest.mark.parametrize("received", ["2026-01-01T00:00:00Z", 1767225600, 1.5])
def test_add_many_names_the_record_whose_time_is_no_datetime(tmp_path, received):
    """(security review) a ``received_at`` given as text or a number was an AttributeError from
    inside the store ("'str' object has no attribute 'tzinfo'"), naming no record."""
    store = CaptureStore(str(tmp_path / "c.sqlite3"))
    try:
        records = [{"path": "/a", "body": b"{}"}, {"path": "/b", "body": b"{}", "received_at": received}]
        with pytest.raises(ValueError, match=r"^record 1: cannot be stored \("):
            store.add_many(records)
        assert store.count() == 0
    finally:
        store.close()
