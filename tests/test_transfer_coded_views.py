"""A body sent with a transfer coding besides ``chunked`` (``Transfer-Encoding: gzip,
chunked``) is stored as received (the gzip bytes, once ``chunked`` was undone), and every
view of its content reads it with the transfer codings undone, as with a
``Content-Encoding``: a transfer coding is framing, not content (RFC 9112 section 7), and
replay already sends it decoded. ``capture.json()``, ``text``, provider detection and the
event type on arrival, the signature check on arrival and ``capture.verify`` (the provider
signed the content, before its HTTP layer coded it), the frame's ``json`` column,
``flatten=True``, ``lab.sql``'s ``payload``, ``lab.schema()``, ``search=`` (indexed), and a
Parquet export opened again. Codings hooklab cannot undo, corrupt or cut-off streams and a
decompression bomb give no payload (the stored bytes stay as they came).

Raw requests over real sockets on 127.0.0.1 to a lab with a SQLite file; what each view must
give is worked out here from the plain JSON before it was coded.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from _labs import file_module_lab, sealed_copy

import hooklab

pytestmark = pytest.mark.timeout(300)

SECRET = "whsec_transfer"


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data)


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def _members(data: bytes) -> bytes:  # a gzip stream of two members
    return gzip.compress(data[:10]) + gzip.compress(data[10:])


#: (name, Transfer-Encoding, Content-Encoding or None, coder of the plain JSON, decodable);
#: the signature is made over the plain JSON: it verifies where the bytes with the transfer
#: codings undone (or as sent, where they cannot be undone) are the plain JSON, see SIGNED
CASES: list[tuple[str, str, str | None, Callable[[bytes], bytes], bool]] = [
    ("gzip", "gzip, chunked", None, gzip.compress, True),
    ("x-gzip any case", "X-GZIP, Chunked", None, gzip.compress, True),
    ("deflate", "deflate, chunked", None, _deflate, True),
    ("raw deflate", "deflate, chunked", None, _raw_deflate, True),
    ("gzip members", "gzip, chunked", None, _members, True),
    ("two codings", "gzip, deflate, chunked", None, lambda b: _deflate(gzip.compress(b)), True),
    ("with a parameter", "gzip;q=1, chunked", None, gzip.compress, True),
    ("and Content-Encoding gzip", "gzip, chunked", "gzip",
     lambda b: gzip.compress(gzip.compress(b)), True),
    ("and Content-Encoding deflate", "gzip, chunked", "deflate",
     lambda b: gzip.compress(_deflate(b)), True),
    ("identity then gzip", "identity, gzip, chunked", None, gzip.compress, True),
    # hostile or unknown: no payload
    ("compress", "compress, chunked", None, gzip.compress, False),
    ("corrupt gzip", "gzip, chunked", None, lambda b: b"\x1f\x8b" + b"\x00" * 20 + b, False),
    ("gzip cut short", "gzip, chunked", None, lambda b: gzip.compress(b)[:-12], False),
    ("gzip then garbage", "gzip, chunked", None, lambda b: gzip.compress(b) + b"junk", False),
    ("and Content-Encoding br", "gzip, chunked", "br", gzip.compress, False),
    ("and a list Content-Encoding", "gzip, chunked", "gzip, identity",
     lambda b: gzip.compress(gzip.compress(b)), False),
    ("not coded at all", "gzip, chunked", None, lambda b: b, False),
]


#: the cases whose body, once its transfer codings are undone, is not the plain JSON signed:
#: a Content-Encoding applied before (the provider would have signed those bytes), or a
#: transfer coding that cannot be undone over bytes that are not the JSON
UNSIGNED = {"compress", "corrupt gzip", "gzip cut short", "gzip then garbage",
            "and Content-Encoding gzip", "and Content-Encoding deflate", "and a list Content-Encoding"}


def _plain(name: str) -> bytes:
    return json.dumps({"id": f"evt_{abs(hash(name)) % 10**8}", "object": "event",
                       "type": "charge.succeeded", "data": {"word": "zanzibar"}}).encode()


def _stripe_signature(body: bytes) -> str:
    t = int(time.time())  # (when it is sent: a module's import time was 940 s old by then in a
    # full run, beyond Stripe's 300 s)
    mac = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _send(port: int, head: bytes, body: bytes, trailer: bytes = b"") -> int:
    """POST ``body`` chunked (in pieces of 7 bytes) after ``head``; the capture's id."""
    pieces = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                      for i in range(0, len(body), 7))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head + b"\r\n" + pieces + b"0\r\n" + trailer + b"\r\n")
        s.settimeout(30)
        got = b""
        for _ in range(1000):  # (bounded: the answer is small)
            got += s.recv(65536)
            if b"\r\n\r\n" in got and got.rstrip().endswith(b"}"):
                break
    status = int(got.split(b" ", 2)[1])
    assert status == 200, got
    return int(json.loads(got.partition(b"\r\n\r\n")[2])["id"])


lab = file_module_lab()


@pytest.fixture(scope="module")
def sent(lab: hooklab.HookLab) -> Iterator[dict[str, tuple[int, bytes, bool, bytes]]]:
    """Each case sent once to bin ``stripe`` (signed over the plain JSON): name -> (id,
    plain JSON, decodable, the coded bytes sent)."""
    lab.secret("stripe", SECRET)
    out = {}
    for name, te, ce, code, ok in CASES:
        plain = _plain(name)
        head = (f"POST /stripe/te HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Stripe-Signature: {_stripe_signature(plain)}\r\nTransfer-Encoding: {te}\r\n"
                + (f"Content-Encoding: {ce}\r\n" if ce else "")).encode()
        coded = code(plain)
        out[name] = (_send(lab.bound_port, head, coded), plain, ok, coded)
    lab.wait(len(CASES), bin="stripe", timeout=30)
    yield out


IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name", IDS)
def test_capture_views(lab: hooklab.HookLab, sent: dict[str, Any], name: str) -> None:
    cid, plain, ok, coded = sent[name]
    ce = next(c[2] for c in CASES if c[0] == name)
    cap = lab.get(cid)
    assert cap.body == coded  # stored as received
    expected = json.loads(plain) if ok else None
    assert cap.json() == expected
    if ok:
        assert cap.text == plain.decode()
        assert cap.decoded_body() == plain
    assert cap.provider == "stripe"  # (its bin and Stripe-Signature)
    assert cap.event_type == ("charge.succeeded" if ok else None)
    # Stripe signed the JSON; its HTTP layer gzipped it afterwards
    assert cap.verified is (name not in UNSIGNED), cap.verify_reason
    assert cap.verify(SECRET).valid is (name not in UNSIGNED)
    if ce is not None:  # a Content-Encoding is part of what a provider signs: a signature
        # over the bytes with the transfer coding (gzip) undone, not the JSON, verifies
        signed = gzip.decompress(coded)
        headers = [(k, v) for k, v in cap.headers if k.lower() != "stripe-signature"]
        headers.append(("Stripe-Signature", _stripe_signature(signed)))
        assert hooklab.verify_signature("stripe", SECRET, headers, cap.body).valid
        assert (signed == plain) is (name == "and Content-Encoding br")


def test_frame_sql_schema_and_search(lab: hooklab.HookLab, sent: dict[str, Any]) -> None:
    ids: dict[int, Any]
    ids = {v[0]: (json.loads(v[1]) if v[2] else None) for v in sent.values()}
    df = lab.dataframe(bin="stripe").set_index("id")
    assert {i: df.loc[i, "json"] for i in ids} == ids
    flat = lab.dataframe(bin="stripe", flatten=True).set_index("id")
    assert {i: flat.loc[i, "payload.type"] if ids[i] else None for i in ids} == {
        i: v["type"] if v else None for i, v in ids.items()}
    rows = lab.sql("SELECT id, payload FROM captures WHERE bin = 'stripe'")
    got = {int(r.id): (json.loads(r.payload) if isinstance(r.payload, str) else None)
           for r in rows.itertuples()}
    assert got == ids
    schema = lab.schema(bin="stripe")
    row = schema[(schema.event_type == "charge.succeeded") & (schema.field == "data.word")]
    assert int(row["count"].iloc[0]) == sum(1 for v in ids.values() if v)
    # search reads what it can undo, else the bytes as they are: the plain JSON is in those
    # of three cases that give no payload (after 22 zero bytes; under a Content-Encoding br
    # that is not one; not coded at all)
    visible = {sent[n][0] for n in ("corrupt gzip", "and Content-Encoding br", "not coded at all")}
    found = {int(i) for i in lab.dataframe(bin="stripe", search="zanzibar")["id"]}
    assert found == {i for i, v in ids.items() if v} | visible


def test_parquet_export_reads_them_alike(lab: hooklab.HookLab, sent: dict[str, Any],
                                         tmp_path: Any) -> None:
    ids = {v[0]: (json.loads(v[1]) if v[2] else None) for v in sent.values()}
    path = tmp_path / "te.parquet"
    lab.export(str(path), fmt="parquet", bin="stripe")
    opened = hooklab.open(str(path))
    try:
        df = opened.dataframe().set_index("id")
        assert {i: df.loc[i, "json"] for i in df.index} == {
            i: v for i, v in zip(sorted(df.index), [ids[k] for k in sorted(ids)], strict=True)}
        rows = opened.sql("SELECT id, payload FROM captures")
        assert sorted(isinstance(r.payload, str) for r in rows.itertuples()) == sorted(
            v is not None for v in ids.values())
    finally:
        opened.stop()


def test_plain_chunked_changes_nothing(lab: hooklab.HookLab) -> None:
    plain = b'{"type": "plain.chunked"}'
    head = b"POST /plain/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    a = lab.get(_send(lab.bound_port, head, plain))
    b = lab.get(_send(lab.bound_port, head, plain, b"Content-Encoding: gzip\r\n"))  # (a trailer)
    for cap in (a, b):
        assert cap.body == plain and cap.json() == {"type": "plain.chunked"}
    df = lab.dataframe(bin="plain").set_index("id")
    assert df.loc[a.id, "json"] == df.loc[b.id, "json"] == {"type": "plain.chunked"}


def test_a_decompression_bomb_is_bounded(lab: hooklab.HookLab) -> None:
    bomb = gzip.compress(b"{" + b" " * (65 * 1024 * 1024) + b"}", compresslevel=9)
    head = (b"POST /bomb/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: gzip, chunked\r\n")
    cap = lab.get(_send(lab.bound_port, head, bomb))
    assert cap.body == bomb  # stored as received
    assert cap.json() is None  # past hooklab.jsonread.MAX_DECODED: not read
    with pytest.raises(ValueError):
        cap.decoded_body()
    assert lab.dataframe(bin="bomb")["json"].tolist() == [None]


def test_rows_in_a_sealed_column_segment(lab: hooklab.HookLab, sent: dict[str, Any],
                                         tmp_path: Any) -> None:
    """The cases stored again with filler enough to seal a column segment over them: the
    frame, ``flatten=True`` and the schema then read the segment's flags and bodies."""
    by_id = {v[0]: (json.loads(v[1]) if v[2] else None) for v in sent.values()}
    caps = [lab.get(i) for i in sorted(by_id)]
    other = sealed_copy(caps, tmp_path / "sealed.sqlite3")
    try:
        want = [by_id[c.id] for c in caps]
        assert other.dataframe(bin="stripe")["json"].tolist() == want
        flat = other.dataframe(bin="stripe", flatten=True)
        assert [t if isinstance(t, str) else None for t in flat["payload.type"]] == [
            w["type"] if w else None for w in want]
        schema = other.schema(bin="stripe")
        row = schema[(schema.event_type.isna() | (schema.event_type == "charge.succeeded"))
                     & (schema.field == "data.word")]
        assert int(row["count"].sum()) == sum(1 for w in want if w)
    finally:
        other.stop()
