"""A request path sent as raw UTF-8 bytes (``POST /\\xc3\\xa9t\\xc3\\xa9/x``, as curl, nginx and
uvicorn pass it on) lands in the bin its percent-encoded twin and ``lab.url_for`` name: ``été``,
not ``Ã©tÃ©``; bytes that are no UTF-8 are still captured, in a readable bin (a real lab on
127.0.0.1, raw HTTP, real files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _http import raw_request

import hooklab

# (raw request target, expected bin)
CASES = {
    "raw utf-8": (b"/\xc3\xa9t\xc3\xa9/x", "\u00e9t\u00e9"),
    "percent-encoded": (b"/%C3%A9t%C3%A9/x", "\u00e9t\u00e9"),
    "mixed raw and escape": (b"/\xc3\xa9t%C3%A9/x", "\u00e9t\u00e9"),
    "raw, query after": (b"/caf\xc3\xa9?q=\xc3\xa9", "caf\u00e9"),
    "four-byte emoji": ("/\U0001f680-hooks/y".encode(), "\U0001f680-hooks"),
    "raw cjk": ("/\u6771\u4eac/z".encode(), "\u6771\u4eac"),
    "lone 0xff": (b"/\xff/x", "\u00ff"),
    "latin-1 byte": (b"/caf\xe9/x", "caf\u00e9"),
    "overlong slash": (b"/\xc0\xaf/x", "\u00c0\u00af"),
    # (the escape's byte FF is no UTF-8: one character, as a raw FF is; it read U+FFFD,
    # which every such byte shared: tests/test_bin_from_bytes.py)
    "raw utf-8 then a bad escape": (b"/\xc3\xa9%FF/x", "\u00e9\u00ff"),
    "raw c1 control as utf-8": (b"/a\xc2\x9bb/x", "a\x9bb"),
    "ascii": (b"/plain/x", "plain"),
}


def _post(lab: hooklab.HookLab, target: bytes, headers: bytes = b"", body: bytes = b"{}"
          ) -> hooklab.Capture:
    before = len(lab.captures)
    raw = (b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           + headers + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    answer = raw_request(lab.bound_port, raw)
    assert b" 200 " in answer.split(b"\r\n")[0], answer[:200]
    return lab.wait(before + 1, timeout=10)[-1]


def _target_bytes(cap: hooklab.Capture) -> bytes:
    from urllib.parse import urlsplit

    query = urlsplit(cap.url).query if cap.url else ""
    return (cap.path + (f"?{query}" if query else "")).encode("latin-1")


@pytest.mark.parametrize("name", list(CASES))
def test_the_bin_of_a_raw_path_is_read_as_utf8(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    target, expected = CASES[name]
    cap = _post(lab, target)
    assert cap.bin == expected
    assert _target_bytes(cap) == target  # (the bytes as sent: replay gives them back)
    assert [c.id for c in lab.query(bin=expected)] == [cap.id]
    assert lab.dataframe()["bin"].tolist() == [expected]
    assert lab.captures[-1].bin == expected


@pytest.mark.parametrize("name", [n for n, (t, b) in CASES.items() if b.isprintable()])
def test_url_for_the_bin_lands_where_the_raw_path_did(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    target, expected = CASES[name]
    raw = _post(lab, target)
    r = hooklab.send(lab.url_for(expected, "again"), payload={"a": 1})
    assert r.status == 200
    sent = lab.wait(2, timeout=10)[-1]
    assert sent.bin == raw.bin == expected
    assert len(lab.query(bin=expected)) == 2


def test_a_secret_and_a_rule_on_the_bin_apply_to_a_raw_path(lab) -> None:  # type: ignore[no-untyped-def]
    """``lab.secret("été", ...)`` verifies, and ``lab.respond("été")`` answers, a delivery
    whose path came as raw UTF-8 (they looked for the bin ``Ã©tÃ©``)."""
    secret = "whsec_utf8_path"
    lab.secret("\u00e9t\u00e9", secret, provider="stripe")
    lab.respond("\u00e9t\u00e9", status=202)
    body = b'{"id": "evt_1", "object": "event", "type": "invoice.paid"}'
    sig = hooklab.signatures.sign("stripe", secret, body)["Stripe-Signature"]
    raw = (b"POST /\xc3\xa9t\xc3\xa9/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Stripe-Signature: " + sig.encode() + b"\r\nContent-Length: %d\r\n"
           b"Connection: close\r\n\r\n" % len(body) + body)
    answer = raw_request(lab.bound_port, raw)
    assert b" 202 " in answer.split(b"\r\n")[0], answer[:200]
    (cap,) = lab.wait(1, timeout=10)
    assert cap.verified is True, cap.verify_reason
    assert cap.status == 202 and cap.bin == "\u00e9t\u00e9"


@pytest.mark.parametrize("fmt, loader", [("jsonl", hooklab.load_jsonl), ("har", hooklab.load_har)])
def test_an_export_of_a_raw_path_imports_into_the_same_bin(
        lab, tmp_path: Path, fmt: str, loader) -> None:  # type: ignore[no-untyped-def]
    for name in ("raw utf-8", "lone 0xff", "raw cjk"):
        _post(lab, CASES[name][0])
    out = tmp_path / f"caps.{fmt}"
    lab.export(str(out), fmt=fmt)
    again = loader(str(out))
    try:
        assert [c.bin for c in again.captures] == [c.bin for c in lab.captures] == [
            CASES["raw utf-8"][1], CASES["lone 0xff"][1], CASES["raw cjk"][1]]
        assert [c.path for c in again.captures] == [c.path for c in lab.captures]
    finally:
        again.stop()


def test_a_forward_of_a_raw_path_carries_its_bytes(lab) -> None:  # type: ignore[no-untyped-def]
    """The path after the bin goes to the target byte for byte, as the sender sent it."""
    other = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        cap = _post(lab, b"/\xc3\xa9t\xc3\xa9/caf\xc3\xa9/\xff")
        (r,) = lab.replay(cap, to=other.url_for("in"))
        assert r.status == 200
        (got,) = other.wait(1, timeout=10)
        assert _target_bytes(got) == b"/in/caf\xc3\xa9/\xff"
    finally:
        other.stop()
