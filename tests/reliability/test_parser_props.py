"""Property tests (hypothesis) on every parser that sees untrusted input: none may crash."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from datetime import datetime, timezone

import pytest
from _http import raw_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooklab.capture import Capture, bin_of, decode_body
from hooklab.frame import flatten_payloads, parse_payloads
from hooklab.providers import PROVIDERS, detect, detect_record
from hooklab.server import CaptureServer
from hooklab.signatures import Verification, verify_signature
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(120)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NOW = datetime(2024, 1, 1, tzinfo=timezone.utc)

ENCODINGS = ["gzip", "x-gzip", "deflate", "identity", "", "br", "GZIP", " gzip ", "gzip, gzip",
             "compress", "zstd", "\x00"]
CHARSETS = ["utf-8", "latin-1", "utf-16", "utf-32", "idna", "punycode", "rot13", "base64",
            "uu", "zlib", "hex", "utf-7", "cp1252", "ascii", "x-nope", "", "\x00", "utf_8_sig",
            "mbcs", "undefined", "unicode_escape", "raw_unicode_escape", "palmos", "utf-8\x00"]
CTYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain", "text/xml",
          "multipart/form-data; boundary=x", "application/octet-stream", ""]
SIG_HEADERS = ["Stripe-Signature", "X-Hub-Signature-256", "X-GitHub-Event", "X-GitHub-Delivery",
               "X-Shopify-Hmac-Sha256", "X-Shopify-Topic", "X-Slack-Signature",
               "X-Slack-Request-Timestamp", "webhook-id", "webhook-signature", "webhook-timestamp",
               "svix-id", "svix-signature", "X-Twilio-Signature", "X-Gitlab-Token",
               "X-Gitlab-Event", "Paddle-Signature", "x-zm-signature", "x-square-signature",
               "X-Signature-Ed25519", "User-Agent", "Content-Type", "Content-Encoding"]

content_types = st.one_of(
    st.sampled_from(CTYPES),
    st.builds(lambda t, c: f"{t}; charset={c}", st.sampled_from(CTYPES), st.sampled_from(CHARSETS)),
    st.builds(lambda t, c: f"{t}; charset=\"{c}\"", st.sampled_from(CTYPES), st.text(max_size=12)),
    st.text(max_size=40),
)
latin1 = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=60)
header_lists = st.lists(
    st.one_of(
        st.tuples(st.just("Content-Type"), content_types),
        st.tuples(st.just("Content-Encoding"), st.one_of(st.sampled_from(ENCODINGS), latin1)),
        st.tuples(st.sampled_from(SIG_HEADERS), latin1),
        st.tuples(latin1, latin1),
    ),
    max_size=8,
)


def _compressed(data: bytes) -> st.SearchStrategy[bytes]:
    return st.sampled_from([gzip.compress(data), zlib.compress(data), zlib.compress(data)[2:-4],
                            gzip.compress(data)[:-3], data])


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(st.text(max_size=10), inner, max_size=5)),
    max_leaves=40,
)
bodies = st.one_of(
    st.binary(max_size=400),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=200).flatmap(_compressed),
    json_values.map(lambda v: json.dumps(v).encode()).flatmap(_compressed),
    st.sampled_from([b"[" * 3000, b'{"a":' * 3000, b"payload=%7B%22type%22%3A1%7D",
                     b"payload=%7Bnot json", b"a=1&a=2&%zz=%00", b"\xef\xbb\xbf{}", b"1e999999"]),
)


def _capture(headers, body) -> Capture:  # type: ignore[no-untyped-def]
    return Capture(id=1, received_at=NOW, method="POST", path="/p", headers=headers, body=body)


@FAST
@given(header_lists, bodies)
def test_capture_views_never_raise(headers, body):
    c = _capture(headers, body)
    assert isinstance(c.text, str)
    c.json()
    form = c.form()
    assert isinstance(form, dict)
    assert c.content_type is None or isinstance(c.content_type, str)
    assert isinstance(c.charset, str)
    repr(c)
    try:
        decoded = c.decoded_body()
    except ValueError:
        pass  # documented: corrupt, truncated, unsupported or over the cap
    else:
        assert isinstance(decoded, bytes)


@FAST
@given(st.binary(max_size=2000), st.one_of(st.sampled_from(ENCODINGS), st.text(max_size=10)),
       st.integers(min_value=0, max_value=5000))
def test_decode_body_only_raises_value_error_and_respects_the_cap(body, enc, limit):
    try:
        out = decode_body(body, enc, limit=limit)
    except ValueError:
        return
    assert len(out) <= max(limit, len(body))


@FAST
@given(header_lists, bodies)
def test_provider_detection_never_raises(headers, body):
    prov, ev, did = detect(headers, body)
    assert prov is None or prov in PROVIDERS
    assert ev is None or isinstance(ev, str)
    assert did is None or isinstance(did, str)
    record = {"headers": headers, "body": body}
    detect_record(record)
    assert record["provider"] == prov


@FAST
@given(st.one_of(st.sampled_from(["", "stripe", "github", "gitlab", "svix", "discord", "nope"]),
                 st.text(max_size=10)),
       st.one_of(st.text(max_size=40), st.binary(max_size=40)), header_lists, bodies)
def test_verification_on_captures_never_raises(provider, secret, headers, body):
    c = _capture(headers, body)
    v = c.verify(secret, provider or None)
    assert isinstance(v, Verification) and isinstance(v.reason, str)
    v2 = verify_signature(provider, secret, headers, body, url="http://127.0.0.1/p", now=NOW)
    assert isinstance(v2, Verification)


@pytest.fixture(scope="module")
def capture_server():
    store = CaptureStore(":memory:")
    srv = CaptureServer(store, port=0, idle_timeout=2.0, body_timeout=2.0).start()
    try:
        yield srv, store
    finally:
        srv.stop()
        store.close()


ON_SERVER = settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _send_half_closed(port: int, data: bytes) -> bytes:
    """Send ``data``, close our sending side, read the answer until the server closes."""
    import socket

    from _http import recv_until_close

    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_until_close(s, 5)


@ON_SERVER
@given(st.binary(max_size=600))
def test_any_request_head_is_captured_or_refused_never_dropped(capture_server, head):
    # whatever the bytes, the server answers 200 (stored) or 400 (nothing stored: malformed,
    # or a head promising a body that never came before the sender closed its side)
    srv, store = capture_server
    before = store.last_id
    answer = _send_half_closed(srv.port, b"POST /x HTTP/1.1\r\n" + head + b"\r\n\r\n")
    store.flush()
    caps = store.query(since=before)
    codes = [int(c) for c in re.findall(rb"^HTTP/1\.1 (\d{3}) ", answer, re.M)]
    assert codes in ([], [200], [400]), answer[:200]
    if codes == [200]:
        (cap,) = caps
        assert b"X-Hooklab-Capture-Id: %d" % cap.id in answer
    else:
        assert caps == []
    assert srv.is_running


@ON_SERVER
@given(st.lists(st.tuples(
    st.from_regex(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}", fullmatch=True).filter(
        lambda k: k.lower() not in ("content-length", "transfer-encoding", "connection",
                                    "expect", "upgrade")),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_characters="\x7f"),
            max_size=30),
), max_size=30))
def test_header_order_duplicates_and_bytes_are_kept(capture_server, pairs):
    srv, store = capture_server
    before = store.last_id
    head = b"POST /props/h HTTP/1.1\r\n" + b"".join(
        k.encode() + b": " + v.encode("latin-1") + b"\r\n" for k, v in pairs
    ) + b"Connection: close\r\n\r\n"
    answer = raw_request(srv.port, head)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    store.flush()
    (cap,) = store.query(since=before)
    assert cap.headers == [*pairs, ("Connection", "close")]


@FAST
@given(st.text(max_size=100))
def test_bin_of_never_raises(path):
    assert isinstance(bin_of(path), str)


@FAST
@given(st.lists(st.one_of(json_values, st.binary(max_size=50)), max_size=20))
def test_payload_parsing_and_flattening_never_raise(values):
    bodies_ = [v if isinstance(v, bytes) else json.dumps(v).encode() for v in values]
    encoded = [i % 3 == 0 for i in range(len(bodies_))]
    bodies_ = [gzip.compress(b) if e else b for b, e in zip(bodies_, encoded, strict=True)]
    payloads = parse_payloads(bodies_, [int(e) for e in encoded], ["application/json"] * len(bodies_))
    assert len(payloads) == len(bodies_)
    df = flatten_payloads(payloads)
    assert len(df) in (0, len(bodies_))


@settings(max_examples=60, deadline=None)
@given(method=st.from_regex(r"[A-Z][A-Z-]{0,11}", fullmatch=True),
       path=latin1.map(lambda s: "/" + s), headers=st.lists(st.tuples(latin1, latin1), max_size=6),
       body=st.binary(max_size=300), query=st.dictionaries(latin1, st.lists(latin1, max_size=3),
                                                           max_size=3))
def test_store_round_trips_every_server_record_exactly(method, path, headers, body, query):
    # everything the server produces is latin-1 text or bytes: it must come back unchanged
    with CaptureStore(":memory:") as s:
        cap = s.add_sync({"method": method, "path": path, "headers": headers, "body": body,
                          "query": query, "received_at": NOW})
        got = s.get(cap.id)
    assert got is not None
    assert (got.method, got.path, got.headers, got.body, got.query) == (
        method, path, headers, body, query)


har_entries = st.lists(
    st.one_of(
        json_values,
        st.fixed_dictionaries({}, optional={
            "startedDateTime": st.one_of(st.text(max_size=30), st.integers(),
                                         st.just("2024-01-01T00:00:00Z")),
            "request": st.one_of(json_values, st.fixed_dictionaries({}, optional={
                "method": st.one_of(st.text(max_size=8), st.integers()),
                "url": st.one_of(st.text(max_size=40), st.integers(), st.none()),
                "headers": st.one_of(json_values, st.lists(st.one_of(
                    st.fixed_dictionaries({"name": st.text(max_size=10),
                                           "value": st.text(max_size=10)}), json_values),
                    max_size=3)),
                "postData": st.one_of(json_values, st.fixed_dictionaries({}, optional={
                    "text": st.one_of(st.text(max_size=30), st.integers()),
                    "encoding": st.sampled_from(["base64", "", "utf-8"]),
                })),
            })),
            "response": json_values,
            "_hooklab": st.one_of(json_values, st.fixed_dictionaries({}, optional={
                "status": st.one_of(st.integers(), st.text(max_size=5)),
                "path": st.one_of(st.text(max_size=10), st.integers()),
                "kind": st.one_of(st.text(max_size=5), st.integers()),
            })),
        }),
    ),
    max_size=4,
)
har_documents = st.one_of(
    json_values,
    st.builds(lambda e: {"log": {"version": "1.2", "entries": e}}, har_entries),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(har_documents)
def test_load_har_accepts_or_refuses_cleanly(tmp_path, doc):
    from hooklab import load_har

    path = tmp_path / "x.har"
    path.write_text(json.dumps(doc))
    try:
        lab = load_har(path)
    except ValueError as exc:
        assert "x.har" in str(exc)
        return
    try:
        assert len(lab.captures) <= len(doc["log"]["entries"])
    finally:
        lab.stop()


# what the capture server can receive (and so what HAR import accepts): no spaces or control
# characters in a path, none but tab in a header value
path_chars = st.text(st.characters(min_codepoint=0x21, max_codepoint=255,
                                   blacklist_characters="\x7f?#"), max_size=60)
value_chars = st.text(st.characters(min_codepoint=0x20, max_codepoint=255,
                                    blacklist_characters="\x7f"), max_size=60)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.fixed_dictionaries({
    "method": st.sampled_from(["GET", "POST", "PROPFIND"]),
    "path": path_chars.map(lambda s: "/h/" + s),
    "headers": st.lists(st.tuples(st.from_regex(r"X-[A-Za-z]{1,8}", fullmatch=True),
                                  st.one_of(value_chars, st.just("a\tb"))), max_size=4),
    "body": st.binary(max_size=200),
}), min_size=1, max_size=4))
def test_har_round_trip_of_arbitrary_captures(tmp_path, records):
    from hooklab import load_har

    with CaptureStore(":memory:") as store:
        for r in records:
            store.add_sync({**r, "received_at": NOW})
        from hooklab.export import export

        path = tmp_path / "rt.har"
        export(store, path, fmt="har")
    lab = load_har(path)
    try:
        got = [(c.method, c.path, [h for h in c.headers if h[0].startswith("X-")], c.body)
               for c in lab.captures]
    finally:
        lab.stop()
    assert got == [(r["method"], r["path"], r["headers"], r["body"]) for r in records]
