"""One filter vocabulary, four matchers: the store's SQL (``lab.query``), column segments
(``lab.dataframe`` over sealed rows), a Parquet dataset (``hooklab.open(folder)``) and the
Python twin the stream and the live view use (``hooklab.filters.matches``). Each must give what
the filter means, computed here by plain Python over the captures' own fields (an outside audit
found ``method=`` documented as "any case" matching no capture sent as ``post``)."""

from __future__ import annotations

import socket
import time
from datetime import timedelta

import pytest
from _http import post

import hooklab
from hooklab.filters import matches, validate

pytestmark = pytest.mark.timeout(180)

N_BULK = 4_400  # (more than one column segment of 4,096 rows)
METHODS = ["POST", "post", "Patch", "GET", "PUT", "delete"]
BINS = ["shop", "Shop", "github", "stripe", "mixed"]


def _raw(port: int, method: str, target: str, body: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
                  "Connection: close\r\n\r\n".encode() + body)
        s.recv(65536)


#: (target, content type, body) whose words are read as a person reads them: a path's %XX
#: undone, JSON after a byte order mark, a single JSON string, UTF-16 and UTF-32 JSON, UTF-16
#: text (typed so) whose first letter is past ASCII (no zero byte near its start)
READ_AS_A_PERSON = [
    ("/pct/zanzibar%20quartz", "text/plain", b""),
    ("/pct/caf%C3%A9", "text/plain", b""),
    ("/pct?x=zanzibar%20quartz&y=caf%C3%A9", "text/plain", b""),
    ("/wide/bom", "application/json", b'\xef\xbb\xbf{"dish": "cr\\u00e8me"}'),
    ("/wide/str", "application/json", b'"caf\\u00e9 cr\\u00e8me"'),
    ("/wide/utf16", "application/json", '{"animal": "wombat"}'.encode("utf-16")),
    ("/wide/utf16le", "application/json", '{"animal": "wombat"}'.encode("utf-16-le")),
    ("/wide/utf32", "application/json", '{"animal": "wombat"}'.encode("utf-32")),
    ("/wide/text", "text/plain; charset=utf-16", "Ünder a wombat".encode("utf-16")),
]


@pytest.fixture
def stores(tmp_path):  # type: ignore[no-untyped-def]
    root = tmp_path
    lab = hooklab.HookLab(port=0, db=str(root / "c.sqlite3")).start()
    lab.secret("stripe", "whsec_parity")
    lab.store.add_many(
        {"method": METHODS[i % len(METHODS)], "path": f"/{BINS[i % len(BINS)]}/p{i % 7}",
         "headers": [("Content-Type", "application/json")],
         "body": (b'{"n": %d, "word": "%s"}' % (i, b"needle" if i % 97 == 0 else b"hay"))}
        for i in range(N_BULK))
    hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid", secret="whsec_parity")
    hooklab.send(lab.url_for("stripe"), provider="stripe", event="invoice.paid", secret="wrong")
    hooklab.send(lab.url_for("github"), provider="github", event="push")
    for method in ("post", "pOsT", "PATCH", "get"):
        _raw(lab.bound_port, method, "/mixed/case%2Fpath?q=Refund-42", b"Refund-42 caf\xc3\xa9")
    post(lab.url_for("shop", "x"), b"{}", {"Content-Type": "application/json"})
    for target, ctype, body in READ_AS_A_PERSON:
        status, _ = post(lab.url + target, body, {"Content-Type": ctype})
        assert status == 200
    total = N_BULK + 3 + 4 + 1 + len(READ_AS_A_PERSON)
    lab.wait(total, timeout=60)
    end = time.monotonic() + 60  # (sealed into segments by the upkeep thread, in quiet moments)
    while lab.store._segments_upto < 4096 and time.monotonic() < end:
        time.sleep(0.05)
    assert lab.store._segments_upto >= 4096, "no column segment was made"
    assert lab.export(str(root / "ds"), fmt="parquet") == total
    parquet = hooklab.open(str(root / "ds"))
    yield lab, parquet, lab.query()
    parquet.stop()
    lab.stop()


def _cases(caps):  # (filters, what they mean, in plain Python)
    mid = caps[N_BULK + 1].received_at
    return [
        ({"method": "post"}, lambda c: c.method.upper() == "POST"),
        ({"method": "POST"}, lambda c: c.method.upper() == "POST"),
        ({"method": ["patch", "Delete"]}, lambda c: c.method.upper() in ("PATCH", "DELETE")),
        ({"method": "get", "bin": "mixed"}, lambda c: c.method.upper() == "GET" and c.bin == "mixed"),
        ({"bin": "shop"}, lambda c: c.bin == "shop"),
        ({"bin": "Shop"}, lambda c: c.bin == "Shop"),
        ({"bin": ["github", "stripe"]}, lambda c: c.bin in ("github", "stripe")),
        ({"provider": "stripe"}, lambda c: c.provider == "stripe"),
        ({"event_type": "push"}, lambda c: c.event_type == "push"),
        ({"path": "/mixed/case%2Fpath"}, lambda c: c.path == "/mixed/case%2Fpath"),
        ({"path": "/shop/p3"}, lambda c: c.path == "/shop/p3"),
        ({"kind": "http"}, lambda c: c.kind == "http"),
        ({"verified": True}, lambda c: c.verified is True),
        ({"verified": False}, lambda c: c.verified is False),
        ({"since": 100, "until": 4200}, lambda c: 100 < c.id <= 4200),
        ({"since": mid}, lambda c: c.received_at > mid),
        ({"until": mid - timedelta(microseconds=1)}, lambda c: c.received_at <= mid - timedelta(microseconds=1)),
        ({"search": "needle"}, lambda c: b"needle" in c.body),
        ({"search": "refund-42", "method": "POST"},
         lambda c: b"Refund-42" in c.body and c.method.upper() == "POST"),
        # (the captures of READ_AS_A_PERSON, named by hand; /mixed/case%2Fpath's bodies say café)
        ({"search": "zanzibar quartz"},
         lambda c: c.path == "/pct/zanzibar%20quartz" or c.query.get("x") == ["zanzibar quartz"]),
        ({"search": "café"},
         lambda c: c.path in ("/pct/caf%C3%A9", "/pct", "/wide/str", "/mixed/case%2Fpath")),
        ({"search": "crème"}, lambda c: c.path in ("/wide/bom", "/wide/str")),
        ({"search": "wombat"}, lambda c: c.path in (
            "/wide/utf16", "/wide/utf16le", "/wide/utf32", "/wide/text")),
        ({"search": "ünder"}, lambda c: c.path == "/wide/text"),
    ]


def test_every_matcher_gives_what_the_filter_means(stores) -> None:  # type: ignore[no-untyped-def]
    lab, parquet, caps = stores
    for filters, means in _cases(caps):
        want = [c.id for c in caps if means(c)]
        assert want, filters  # (each case matches something)
        got = {
            "sql": [c.id for c in lab.query(**filters)],
            "segments": lab.dataframe(**filters)["id"].tolist(),
            "python": [c.id for c in caps if matches(c, validate(filters))],
            "parquet": [c.id for c in parquet.query(**filters)],
            "parquet frame": parquet.dataframe(**filters)["id"].tolist(),
        }
        wrong = {k: v for k, v in got.items() if v != want}
        assert not wrong, (filters, len(want), {k: len(v) for k, v in wrong.items()})
