"""Hostile and odd input: each request is captured exactly or refused with the right status."""

from __future__ import annotations

import gzip
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from _http import raw_request, recv_until_close
from _relsupport import rss_kib, serve

from hooklab import HookLab
from hooklab.capture import Capture

pytestmark = pytest.mark.timeout(120)

MAX_BODY = 1024 * 1024


@pytest.fixture(scope="module")
def hlab() -> Iterator[HookLab]:
    lab = HookLab(port=0, db=":memory:", max_body=MAX_BODY).start()
    try:
        yield lab
    finally:
        lab.stop()


def req(method: str, target: bytes | str, headers: list[tuple[str, str]] | bytes = (),
        body: bytes = b"", version: str = "HTTP/1.1", close: bool = True,
        length: bool = True) -> bytes:
    """Raw request bytes; ``headers`` may be pre-built bytes for odd cases."""
    t = target.encode("latin-1") if isinstance(target, str) else target
    head = f"{method} ".encode() + t + f" {version}\r\nHost: 127.0.0.1\r\n".encode()
    if isinstance(headers, bytes):
        head += headers
    else:
        head += b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in headers)
    if length:
        head += b"Content-Length: %d\r\n" % len(body)
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body


def statuses(answer: bytes) -> list[int]:
    """Status codes of every response in ``answer`` (final responses, 100 Continue included)."""
    return [int(m) for m in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)]


@dataclass
class Case:
    name: str
    raw: bytes
    status: list[int]
    # checks on the captures this request produced (none expected for refusals)
    check: Callable[[list[Capture]], Any] | None = None
    count: int = 1
    notes: list[str] = field(default_factory=list)


def _one(**want: Any) -> Callable[[list[Capture]], None]:
    def check(caps: list[Capture]) -> None:
        (c,) = caps
        for k, v in want.items():
            got = getattr(c, k)
            assert got == v, f"{k}: {got!r} != {v!r}"
    return check


def _bomb(size: int) -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    return b"".join(z.compress(block) for _ in range(size >> 20)) + z.flush()


BINARY = bytes(range(256)) * 64
INVALID_UTF8 = b"\xff\xfe\xc3\x28 valid \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80"
GZ = gzip.compress(b'{"a": [1, 2, 3]}', mtime=0)  # (mtime fixed: test ids the same in every process)
DEFLATE = zlib.compress(b'{"d": true}')
RAW_DEFLATE = zlib.compress(b'{"raw": 1}')[2:-4]
BOMB = _bomb(256 << 20)  # 256 MiB of zeros in ~250 KiB
MANY_HEADERS = [(f"X-H-{i}", f"v{i}") for i in range(5000)]
DEEP_DICT = b'{"a":' * 5000 + b"1" + b"}" * 5000
DEEP_LIST = b"[" * 100_000 + b"]" * 100_000
MULTIPART = (
    b"--XyZ\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n"
    b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
    b"Content-Type: application/octet-stream\r\n\r\n" + bytes(range(256)) + b"\r\n--XyZ--\r\n"
)
XML = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x a="1">&e;<y/></x>'


def _json_is(value: Any) -> Callable[[list[Capture]], None]:
    def check(caps: list[Capture]) -> None:
        assert caps[0].json() == value
    return check


def _all(*checks: Callable[[list[Capture]], Any]) -> Callable[[list[Capture]], None]:
    def check(caps: list[Capture]) -> None:
        for c in checks:
            c(caps)
    return check


def _decoded_raises(caps: list[Capture]) -> None:
    (c,) = caps
    with pytest.raises(ValueError):
        c.decoded_body()
    assert c.json() is None
    assert isinstance(c.text, str)


def _headers_exact(expected: list[tuple[str, str]]) -> Callable[[list[Capture]], None]:
    def check(caps: list[Capture]) -> None:
        got = [h for h in caps[0].headers if h[0].lower().startswith("x-")]
        assert got == expected
    return check


def _pipelined(n: int) -> bytes:
    out = b""
    for i in range(n):
        out += req("POST", f"/pipe/{i}", body=f"p{i}".encode(), close=i == n - 1)
    return out


CASES = [
    # -- bodies ---------------------------------------------------------------------------
    Case("binary", req("POST", "/b/bin", [("Content-Type", "application/octet-stream")], BINARY),
         [200], _one(body=BINARY, size=len(BINARY))),
    Case("invalid-utf8", req("POST", "/b/utf8", [("Content-Type", "text/plain; charset=utf-8")],
         INVALID_UTF8), [200], _all(_one(body=INVALID_UTF8),
                                     lambda c: "\ufffd" in c[0].text and c[0].json() is None)),
    Case("unknown-charset", req("POST", "/b/cs", [("Content-Type", "text/plain; charset=x-nope")],
         b"abc\xff"), [200], lambda c: c[0].text.startswith("abc")),
    Case("gzip", req("POST", "/b/gz", [("Content-Encoding", "gzip"),
         ("Content-Type", "application/json")], GZ), [200],
         _all(_one(body=GZ), _json_is({"a": [1, 2, 3]}))),
    Case("deflate-zlib", req("POST", "/b/df", [("Content-Encoding", "deflate")], DEFLATE), [200],
         _all(_one(body=DEFLATE), _json_is({"d": True}))),
    Case("deflate-raw", req("POST", "/b/dfr", [("Content-Encoding", "deflate")], RAW_DEFLATE),
         [200], _all(_one(body=RAW_DEFLATE), _json_is({"raw": 1}))),
    Case("gzip-corrupt", req("POST", "/b/gzc", [("Content-Encoding", "gzip")], GZ[:-9] + b"xx"),
         [200], _decoded_raises),
    Case("encoding-unknown", req("POST", "/b/br", [("Content-Encoding", "br")], b"\x8b\x02\x80"),
         [200], _decoded_raises),
    Case("gzip-bomb", req("POST", "/b/bomb", [("Content-Encoding", "gzip"),
         ("Content-Type", "application/json")], BOMB), [200],
         _all(_one(body=BOMB), _decoded_raises)),
    Case("json-malformed", req("POST", "/b/badjson", [("Content-Type", "application/json")],
         b'{"a": 1,, "b": [1, 2'), [200], _json_is(None)),
    Case("json-bom", req("POST", "/b/bom", [("Content-Type", "application/json")],
         b'\xef\xbb\xbf{"a": 1}'), [200], _one(body=b'\xef\xbb\xbf{"a": 1}')),
    Case("json-huge-number", req("POST", "/b/num", [("Content-Type", "application/json")],
         b'{"n": 1e999999, "i": 123456789012345678901234567890}'), [200],
         lambda c: c[0].json()["i"] == 123456789012345678901234567890),
    Case("json-deep-dict", req("POST", "/b/deepd", [("Content-Type", "application/json")],
         DEEP_DICT), [200], _all(_one(body=DEEP_DICT), _json_is(None),
                                 lambda c: c[0].text == DEEP_DICT.decode())),
    Case("json-deep-list", req("POST", "/b/deepl", [("Content-Type", "application/json")],
         DEEP_LIST), [200], _one(body=DEEP_LIST)),
    Case("form", req("POST", "/b/form", [("Content-Type", "application/x-www-form-urlencoded")],
         b"a=1&a=2&b=&c=%zz&d=%00&e=caf%C3%A9&=x&f"), [200],
         lambda c: c[0].form() == {"a": ["1", "2"], "b": [""], "c": ["%zz"], "d": ["\x00"],
                                   "e": ["café"], "": ["x"], "f": [""]}),
    Case("form-slack-payload", req("POST", "/b/slack", [
         ("Content-Type", "application/x-www-form-urlencoded"), ("X-Slack-Request-Timestamp", "1")],
         b"payload=%7B%22type%22%3A%22block_actions%22%7D"), [200],
         _one(provider="slack", event_type="block_actions")),
    Case("multipart", req("POST", "/b/mp", [("Content-Type", "multipart/form-data; boundary=XyZ")],
         MULTIPART), [200], _all(_one(body=MULTIPART), lambda c: c[0].form() == {})),
    Case("xml", req("POST", "/b/xml", [("Content-Type", "application/xml")], XML), [200],
         _all(_one(body=XML, content_type="application/xml"), lambda c: c[0].text == XML.decode())),
    Case("empty-post-no-length", req("POST", "/b/empty", length=False), [200], _one(body=b"")),
    Case("get-with-body", req("GET", "/b/getbody", body=b"abc"), [200], _one(body=b"abc")),
    # -- transfer -------------------------------------------------------------------------
    Case("chunked", req("POST", "/t/chunked", b"Transfer-Encoding: chunked\r\n",
         b"5\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\n\r\n", length=False), [200],
         _one(body=b"hello 0123456789")),
    Case("chunked-1000-tiny", req("POST", "/t/tiny", b"Transfer-Encoding: chunked\r\n",
         b"".join(b"1\r\n%c\r\n" % (65 + i % 26) for i in range(1000)) + b"0\r\n\r\n",
         length=False), [200], _one(body=bytes(65 + i % 26 for i in range(1000)))),
    # legal HTTP that Tornado refused (400); captured since the parser is llhttp
    Case("chunked-extension", req("POST", "/t/ext", b"Transfer-Encoding: chunked\r\n",
         b"5;x=1\r\nhello\r\n6;name=\"quoted value\";flag\r\n world\r\n0;last\r\n\r\n",
         length=False), [200], _one(body=b"hello world")),
    Case("chunked-trailer", req("POST", "/t/trailer", b"Transfer-Encoding: chunked\r\n"
         b"Trailer: X-Checksum\r\n", b"5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-T: 1\r\n\r\n",
         length=False), [200],
         _all(_one(body=b"hello"),  # trailer fields follow the header section, in order
              lambda c: c[0].headers[-2:] == [("X-Checksum", "abc"), ("X-T", "1")]
              and c[0].header("trailer") == "X-Checksum")),
    Case("http/1.0", req("POST", "/t/h10", [("X-V", "1.0")], b"old", version="HTTP/1.0",
         close=False), [200], _one(body=b"old", method="POST")),
    Case("http/1.0-no-host", b"GET /t/h10b HTTP/1.0\r\n\r\n", [200], _one(path="/t/h10b")),
    Case("pipelined-50", _pipelined(50), [200] * 50,
         lambda caps: [c.body for c in caps] == [f"p{i}".encode() for i in range(50)]
         and [c.id for c in caps] == sorted(c.id for c in caps), count=50),
    # -- methods --------------------------------------------------------------------------
    Case("PROPFIND", req("PROPFIND", "/m/dav", [("Depth", "1"), ("Content-Type", "text/xml")],
         b'<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>'), [200],
         _one(method="PROPFIND", path="/m/dav")),
    Case("MKCOL", req("MKCOL", "/m/col"), [200], _one(method="MKCOL")),
    Case("M-SEARCH", req("M-SEARCH", "/m/ssdp"), [200], _one(method="M-SEARCH")),
    Case("OPTIONS *", req("OPTIONS", "*"), [200], _one(method="OPTIONS", path="*")),
    Case("absolute-form", req("POST", "http://example.com/m/abs?q=1"), [200],
         _one(path="/m/abs", query={"q": ["1"]})),
    # -- headers --------------------------------------------------------------------------
    Case("duplicate-headers", req("POST", "/h/dup", [("X-D", "1"), ("X-E", "2"), ("x-d", "3"),
         ("X-D", "")]), [200], _headers_exact([("X-D", "1"), ("X-E", "2"), ("x-d", "3"), ("X-D", "")])),
    Case("5000-headers", req("POST", "/h/many", MANY_HEADERS), [200], _headers_exact(MANY_HEADERS)),
    Case("500KB-header-value", req("POST", "/h/long", [("X-Long", "v" * 500_000)]), [200],
         lambda c: c[0].header("x-long") == "v" * 500_000),
    Case("non-ascii-header-bytes", req("POST", "/h/latin", b"X-U: caf\xc3\xa9 \xff\r\n"), [200],
         lambda c: c[0].header("x-u").encode("latin-1") == b"caf\xc3\xa9 \xff"),
    Case("utf8-header-values-ending-in-a0-85", req("POST", "/h/utf8", "X-A: voilà\r\nX-B: Å\r\n"
         "X-C: \u00a0padded\u00a0\r\n".encode()), [200],
         lambda c: [v.encode("latin-1") for k, v in c[0].headers if k.startswith("X-")]
         == ["voilà".encode(), "Å".encode(), "\u00a0padded\u00a0".encode()]),
    Case("100000-headers (431)", req("POST", "/h/toomany",
         [(f"X-{i}", "v") for i in range(100_000)]), [431]),
    Case("obs-fold (Tornado refuses)", req("POST", "/h/fold", b"X-F: a\r\n  b\r\n"), [400]),
    Case("bare CR line ends (400 at once, not the idle timeout)",
         b"POST /h/barecr HTTP/1.1\rHost: a\r\rContent-Length: 3\r\r\rabc", [400]),
    Case("bare CR inside a header value", b"POST /h/cr HTTP/1.1\r\nX-A: a\rb", [400]),
    # -- request targets: "//" starts a path, not a host ----------------------------------
    Case("target starting with //", req("POST", "//github/push?a=1", b"", b"{}"), [200],
         _one(path="//github/push", bin="github")),
    Case("absolute-form target", req("POST", "http://example.com/gitlab/x?y=1", b"", b"{}"),
         [200], _one(path="/gitlab/x", bin="gitlab", url="http://example.com/gitlab/x?y=1")),
    Case("OPTIONS *", req("OPTIONS", "*"), [200], _one(path="*", method="OPTIONS")),
    # (captured, but answered 501: a 2xx to CONNECT would open a tunnel, RFC 9110 9.3.6)
    Case("CONNECT host:port", req("CONNECT", "example.com:443"), [501],
         _one(path="example.com:443", method="CONNECT", status=501)),
    Case("target that is no path (GET foo)", req("GET", "foo"), [400]),
    Case("target that is no path (GET a:1)", req("GET", "a:1"), [400]),
    Case("target with another scheme", req("GET", "ftp://example.com/x"), [400]),
    Case("target that is no URL (http://[x/y)", req("GET", "http://[x/y"), [400]),
    Case("host:port without CONNECT", req("GET", "example.com:443"), [400]),
    # -- paths and query strings ----------------------------------------------------------
    Case("path-100KB", req("GET", "/p/" + "a" * 100_000), [200],
         _one(path="/p/" + "a" * 100_000, bin="p")),
    Case("query-100KB", req("GET", "/p/q?" + "&".join(f"k{i}=v{i}" for i in range(10_000))), [200],
         lambda c: len(c[0].query) == 10_000 and c[0].query["k9999"] == ["v9999"]),
    Case("path-2MB (414)", req("GET", "/p/" + "a" * 2_000_000), [414]),
    Case("query-2MB (414)", req("GET", "/p/q2?x=" + "a" * 2_000_000), [414]),
    Case("percent-oddities", req("GET", "/pct/%00/%zz/a%2Fb?x=%zz&y=%00&z=%E2%98%83&w=%ff&v=%"),
         [200], _one(path="/pct/%00/%zz/a%2Fb", bin="pct",
                     query={"x": ["%zz"], "y": ["\x00"], "z": ["☃"], "w": ["\ufffd"], "v": ["%"]})),
    Case("percent-slash-in-bin", req("POST", "/a%2Fb/c"), [200], _one(bin="a/b", path="/a%2Fb/c")),
    Case("percent-nul-in-bin", req("POST", "/%00x/c"), [200], _one(bin="\x00x")),
    Case("dot-segments", req("GET", "/%2e%2e/%2e%2e/etc/passwd"), [200],
         _one(path="/%2e%2e/%2e%2e/etc/passwd", bin="..")),
    Case("raw-utf8-path", req("GET", "/p/caf\xc3\xa9".encode("latin-1")), [200],
         lambda c: c[0].path.encode("latin-1") == b"/p/caf\xc3\xa9"),
    Case("root", req("GET", "/"), [200], _one(path="/", bin="")),
    # -- invalid requests: 400, nothing stored ---------------------------------------------
    *[
        Case(f"invalid: {name}", raw, [400])
        for name, raw in {
            "garbage": b"GARBAGE\r\n\r\n",
            "bad version": b"GET / HTTP/9.9\r\n\r\n",
            "http/0.9": b"GET /\r\n\r\n",
            "binary line": b"\x00\x01\x02 / HTTP/1.1\r\n\r\n",
            "double space": b"GET  /a HTTP/1.1\r\nHost: x\r\n\r\n",
            "tab in line": b"GET\t/a HTTP/1.1\r\nHost: x\r\n\r\n",
            "ctl in path": b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
            "http/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "bad length": b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            "negative length": b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\nx",
            "two lengths": b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "length + chunked": b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "bad chunk size": b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "NUL in header": b"POST /x HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
            "CR in header": b"POST /x HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
            "no colon": b"POST /x HTTP/1.1\r\nHost: x\r\nbogus\r\n\r\n",
            "space before colon": b"POST /x HTTP/1.1\r\nHost : x\r\n\r\n",
            "empty name": b"POST /x HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n",
        }.items()
    ],
    # -- limits -----------------------------------------------------------------------------
    Case("body-at-limit", req("POST", "/l/at", body=b"z" * MAX_BODY), [200],
         _one(size=MAX_BODY)),
    Case("body-over-limit (413, whole body sent)", req("POST", "/l/over", body=b"z" * (8 * MAX_BODY)),
         [413]),
    Case("chunked-over-limit (413)", req("POST", "/l/overc", b"Transfer-Encoding: chunked\r\n",
         b"10000\r\n" + b"y" * 65536 + b"\r\n" * 1 + (b"10000\r\n" + b"y" * 65536 + b"\r\n") * 20
         + b"0\r\n\r\n", length=False), [413]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_input_is_captured_exactly_or_refused(hlab, case):
    store = hlab.store
    before = store.last_id
    answer = raw_request(hlab.bound_port, case.raw, timeout=10)
    got = statuses(answer)
    assert got == case.status, answer[:300]
    store.flush()
    caps = store.query(since=before)
    if case.check is None:
        assert caps == [], f"refused request was stored: {caps}"
        return
    assert len(caps) == case.count
    if case.status[0] == 200:
        ids = [int(h.split(b":")[1]) for h in answer.split(b"\r\n") if h.startswith(b"X-Hooklab-Capture-Id")]
        assert ids == [c.id for c in caps]
    result = case.check(caps)
    assert result in (None, True), f"check failed: {result!r}"


def test_every_case_builds_a_dataframe_without_exploding():
    """One DataFrame (flattened) of every accepted odd request; needs no other test first."""
    accepted = [c for c in CASES if c.status and c.status[0] in (200, 501)]  # (501: CONNECT)
    expected = sum(c.count for c in accepted)
    lab = HookLab(port=0, db=":memory:", max_body=MAX_BODY).start()
    try:
        for case in accepted:
            assert statuses(raw_request(lab.bound_port, case.raw, timeout=10)) == case.status
        lab.wait(expected, timeout=30)
        t0 = time.monotonic()
        df = lab.dataframe(flatten=True)
        assert len(df) == lab.store.count() == expected
        assert sorted(set(df["bin"])) == sorted({c.bin for c in lab.captures})
        assert len(df.columns) < 300  # deep JSON is kept as objects, not exploded into columns
        assert time.monotonic() - t0 < 30
    finally:
        lab.stop()


def test_expect_100_continue(hlab):
    port = hlab.bound_port
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(b"POST /e/ok HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100")
        s.sendall(b"hello")
        assert s.recv(1000).startswith(b"HTTP/1.1 200")
    finally:
        s.close()
    # over the limit: 413 at once, no 100 Continue, the body is never requested
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(
            b"POST /e/big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            b"Content-Length: %d\r\n\r\n" % (MAX_BODY * 100)
        )
        answer = recv_until_close(s)
        assert statuses(answer) == [413], answer
    finally:
        s.close()
    hlab.store.flush()
    assert [c.body for c in hlab.store.query(bin="e")] == [b"hello"]


def _read_into(sock: socket.socket, box: list[bytes]) -> None:
    box.append(recv_until_close(sock, 10))


def test_over_limit_bodies_are_refused_without_buffering(tmp_path):
    """A 200 MB body to a 1 MB limit: 413, and the server's memory does not grow by the body."""
    db = tmp_path / "rss.sqlite3"
    proc, port = serve(db, "--max-body", str(MAX_BODY))
    try:
        # warm up, then measure
        raw_request(port, req("POST", "/warm", body=b"w" * 1000))
        rss0 = rss_kib(proc.pid)
        total = 200 * 1024 * 1024
        block = b"x" * (1 << 20)
        results = {}
        for kind in ("content-length", "chunked", "reader-while-sending"):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if kind == "chunked":
                s.sendall(b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                chunk = b"100000\r\n" + block + b"\r\n"
            else:
                s.sendall(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % total)
                chunk = block
            answer = b""
            if kind == "reader-while-sending":  # a client that reads as it sends (curl-like)
                box: list[bytes] = []
                reader = threading.Thread(target=_read_into, args=(s, box))
                reader.start()
            try:
                for _ in range(total >> 20):
                    s.sendall(chunk)
            except OSError:
                pass  # the server may stop reading once it answered
            if kind == "reader-while-sending":
                reader.join(15)
                answer = box[0] if box else b""
            else:
                answer = recv_until_close(s, 10)
            s.close()
            results[kind] = statuses(answer)
        grown = rss_kib(proc.pid) - rss0
    finally:
        proc.kill()
        proc.wait(10)
    print(f"\nover-limit: 3 x 200 MB sent to a 1 MB limit -> {results}; server RSS grew {grown} KiB")
    assert results == {k: [413] for k in results}
    assert grown < 32 * 1024, f"server RSS grew by {grown} KiB"
    lab = HookLab(db=str(db))
    try:
        assert [c.path for c in lab.captures] == ["/warm"]
    finally:
        lab.stop()
