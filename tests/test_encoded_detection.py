"""Detection reads a ``Content-Encoding: gzip`` (or deflate) delivery as ``capture.json()``
reads it: its event type and delivery id come from the decoded payload, so ``event_type=``
finds it and a compressed retry is flagged ``duplicate``. An outside tester found a gzip
Stripe delivery stored with provider stripe but ``event_type`` and ``delivery_id`` None,
while ``capture.json()``, ``flatten=True`` and ``lab.sql`` all decoded it.

A body that cannot be undone (corrupt, cut, an encoding hooklab does not know, one that
inflates past the 8 MiB detection reads at most) is read by its headers alone, as before;
a decompression bomb costs no more than that cap. Every path that detects is taken: the
live server, a JSON Lines import with helper processes, ``store.add_many``."""

from __future__ import annotations

import base64
import gzip
import json
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_import_parallel import eager  # noqa: F401  (a fixture: helper processes take part)
from test_schema_parallel import given  # noqa: F401  (eager's fixture)

import hooklab
from hooklab.providers.samples import Sample, sample

pytestmark = pytest.mark.timeout(300)

CAP = 8 << 20  # the most detection decodes (as it parses at most 8 MiB of a plain body)


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, mtime=0)


def _raw_deflate(body: bytes) -> bytes:  # (deflate without zlib's header, as some send it)
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return z.compress(body) + z.flush()


#: (provider, sample event, its event type, its delivery id, and what the headers alone
#: say: (provider, event type, delivery id) with ``"<id>"`` for the sample's delivery id)
PAYLOADS: list[tuple[str, str, str, Callable[[Sample], str], tuple[Any, Any, Any]]] = [
    ("stripe", "invoice.paid", "invoice.paid", lambda s: s.data["id"], ("stripe", None, None)),
    ("github", "issues.opened", "issues.opened", lambda s: s.header("X-GitHub-Delivery"),
     ("github", "issues", "<id>")),
    ("clerk", "user.created", "user.created", lambda s: s.header("svix-id"),
     ("svix", None, "<id>")),
    ("slack", "event_callback", "app_mention", lambda s: s.data["event_id"],
     ("slack", None, None)),
    ("meta", "whatsapp.messages", "whatsapp_business_account.messages",
     lambda s: s.data["entry"][0]["changes"][0]["value"]["messages"][0]["id"], (None, None, None)),
    ("typeform", "form_response", "form_response", lambda s: s.data["event_id"],
     (None, None, None)),
    ("sendgrid", "delivered", "delivered", lambda s: s.data[0]["sg_event_id"], (None, None, None)),
    ("mailgun", "delivered", "delivered", lambda s: s.data["event-data"]["id"],
     (None, None, None)),
]

#: (name, Content-Encoding sent, the body as sent, whether detection can read it)
ENCODINGS: list[tuple[str, str, Callable[[bytes], bytes], bool]] = [
    ("gzip", "gzip", _gzip, True),
    ("x-gzip", "x-gzip", _gzip, True),
    ("GZIP", " GZIP ", _gzip, True),
    ("deflate", "deflate", zlib.compress, True),
    ("raw-deflate", "deflate", _raw_deflate, True),
    ("identity", "identity", lambda b: b, True),
    # JSON cut in half, then gzipped: no payload (its headers still name the sender)
    ("gzip-broken-json", "gzip", lambda b: _gzip(b[: len(b) // 2]), False),
    ("gzip-cut-short", "gzip", lambda b: _gzip(b)[:-9], False),
    ("gzip-corrupt", "gzip", lambda b: b"\x1f\x8b\x08\x00" + b[:40], False),
    # ~9 KB that inflates to the payload and 9 MiB of spaces (JSON still, were it read
    # whole): past the cap, read by its headers alone
    ("bomb", "gzip", lambda b: _gzip(b + b" " * (CAP + (1 << 20))), False),
    ("br", "br", _gzip, False),  # (gzip bytes named as an encoding hooklab does not undo)
    ("zstd", "zstd", lambda b: b, False),
    ("stacked", "gzip, gzip", lambda b: _gzip(_gzip(b)), False),
]


def _cases() -> list[dict[str, Any]]:
    """One delivery per (payload, encoding), each a fresh sample (its own ids), to its own
    bin, with what its capture must say."""
    out = []
    for p, (provider, event, event_type, delivery, alone) in enumerate(PAYLOADS):
        for e, (name, encoding, encode, readable) in enumerate(ENCODINGS):
            s = sample(provider, event)
            did = delivery(s)
            assert did, (provider, event)
            want = (provider, event_type, did) if readable else tuple(
                did if v == "<id>" else v for v in alone)
            headers = [*((k, v) for k, v in s.headers if k.lower() != "content-encoding"),
                       ("Content-Encoding", encoding)]
            out.append({"bin": f"b{p}x{e}", "name": f"{provider}-{name}", "headers": headers,
                        "body": encode(s.body), "want": want})
    return out


def _check(lab: hooklab.HookLab, cases: list[dict[str, Any]]) -> None:
    """Each case's two deliveries (the first and its retry) say what the case wants."""
    by_bin: dict[str, list[Any]] = {}
    for c in lab.query():
        by_bin.setdefault(c.bin, []).append(c)
    wrong = []
    for case in cases:
        got = by_bin.get(case["bin"], [])
        assert len(got) == 2, case["name"]
        want_dup = case["want"][2] is not None  # (a retry of a delivery with an id)
        for i, c in enumerate(got):
            assert c.body == case["body"], case["name"]
            seen = ((c.provider, c.event_type, c.delivery_id), c.duplicate)
            if seen != (case["want"], i == 1 and want_dup):
                wrong.append((case["name"], seen, (case["want"], i == 1 and want_dup)))
    assert not wrong, wrong
    # the frame's filter finds every readable one by its event type
    for provider, _event, event_type, _d, _alone in PAYLOADS:
        got = set(lab.dataframe(event_type=event_type, provider=provider)["bin"])
        want = {c["bin"] for c in cases if c["want"][:2] == (provider, event_type)}
        assert got == want, (provider, event_type)


def test_a_live_lab_reads_encoded_deliveries_as_capture_json_does(tmp_path: Path) -> None:
    cases = _cases()
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "live.sqlite3")).start()
    try:
        for case in cases:
            for _ in range(2):  # (one after the other: the second is the retry)
                r = hooklab.send(lab.url_for(case["bin"]), payload=case["body"],
                                 headers=case["headers"], method="POST")
                assert r.status == 200, case["name"]
        lab.wait(2 * len(cases), timeout=60)
        _check(lab, cases)
        readable = next(c for c in cases if c["name"] == "stripe-gzip")
        assert lab.query(bin=readable["bin"])[0].json()["type"] == "invoice.paid"
    finally:
        lab.stop()


def _line(case: dict[str, Any]) -> str:
    return json.dumps({"method": "POST", "url": f"https://hooks.example/{case['bin']}",
                       "headers": [list(h) for h in case["headers"]],
                       "body_b64": base64.b64encode(case["body"]).decode()}) + "\n"


def test_a_json_lines_import_with_helpers_reads_encoded_deliveries(
        tmp_path: Path, eager: list[bool]) -> None:  # noqa: F811
    """Helper processes prepare ranges of the file (detection included); every retry is
    far from its first delivery (another range), and still flagged."""
    cases = _cases()
    filler = json.dumps({"method": "POST", "url": "https://hooks.example/filler",
                         "headers": [["Content-Type", "text/plain"]], "body": "x" * 1000}) + "\n"
    path = tmp_path / "encoded.jsonl"
    with open(path, "w") as f:
        f.writelines(_line(c) for c in cases)
        f.writelines(filler for _ in range(600))
        f.writelines(_line(c) for c in cases)
    lab = hooklab.load_jsonl(str(path), db=str(tmp_path / "imported.sqlite3"))
    try:
        assert sum(eager) >= 1  # helpers took part
        _check(lab, cases)
    finally:
        lab.stop()


def test_add_many_reads_encoded_deliveries(tmp_path: Path) -> None:
    cases = _cases()
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "bulk.sqlite3"))
    try:
        records = [{"method": "POST", "path": f"/{c['bin']}", "headers": c["headers"],
                    "body": c["body"]} for c in cases]
        lab.store.add_many(records)
        lab.store.add_many(records)  # (the retries)
        _check(lab, cases)
    finally:
        lab.stop()


def test_a_bomb_costs_no_more_than_the_cap(tmp_path: Path) -> None:
    """256 KiB that inflate to 256 MiB: the capture is stored, read by its headers, and
    detection never holds more than the cap (measured over the whole receive)."""
    s = sample("stripe", "invoice.paid")
    bomb = _gzip(s.body + b" " * (256 << 20))
    assert len(bomb) < 300_000
    headers = [*s.headers, ("Content-Encoding", "gzip")]
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "bomb.sqlite3")).start()
    try:
        tracemalloc.start()
        start = time.monotonic()
        r = hooklab.send(lab.url_for("bomb"), payload=bomb, headers=headers, method="POST")
        (c,) = lab.wait(1, bin="bomb", timeout=30)
        took = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert r.status == 200
        assert (c.provider, c.event_type, c.delivery_id) == ("stripe", None, None)
        assert peak < 4 * CAP, f"{peak:,} bytes"
        assert took < 20, took  # (generous: a 2-core machine shared with others)
    finally:
        if tracemalloc.is_tracing():
            tracemalloc.stop()
        lab.stop()
