"""A capture's URL and the sender's ``Host``, on real sockets (127.0.0.1).

The URL was made by pasting the raw ``Host`` value in front of the request target:
``Host: a b`` stored ``http://a b/x``, ``Host: [::1`` ``http://[::1/x`` and ``Host: a/b?c``
before ``/z`` ``http://a/b?c/z`` (read back as host ``a``, query ``c/z``). A HAR export of
such a capture made ``hooklab.load_har`` refuse the whole file. Now a ``Host`` that is no
URL authority (RFC 3986) gives way to the lab's own address, as a missing one does; the
headers keep it as it was sent, and a HAR export of a capture stored before (an invalid URL)
still loads. ``X-Forwarded-Proto`` says https in any case.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import raw_request

import hooklab
from hooklab.capture import new_record

pytestmark = pytest.mark.timeout(120)

OWN = "{own}"  # (in an expected URL: the lab's own address, 127.0.0.1:<port>)

#: a Host line's values as sent (none: no Host at all), the request target, and the URL the
#: capture must be stored with (``None``: the request is refused 400, nothing stored)
HOSTS: dict[str, tuple[list[bytes], str, str | None]] = {
    # valid authorities: kept as the sender wrote them
    "reg-name": ([b"hooks.example"], "/x", "http://hooks.example/x"),
    "reg-name with port": ([b"hooks.example:8443"], "/x?a=1", "http://hooks.example:8443/x?a=1"),
    "IPv4 with port": ([b"10.0.0.1:80"], "/x", "http://10.0.0.1:80/x"),
    "IPv6 literal with port": ([b"[::1]:8080"], "/x", "http://[::1]:8080/x"),
    "IPv6 literal": ([b"[2001:db8::1]"], "/x", "http://[2001:db8::1]/x"),
    "IPv4 in IPv6": ([b"[::ffff:10.0.0.1]:81"], "/x", "http://[::ffff:10.0.0.1]:81/x"),
    "IPvFuture literal": ([b"[v1.fe:x]"], "/x", "http://[v1.fe:x]/x"),
    "sub-delims": ([b"a!$&'()*+,;=b"], "/x", "http://a!$&'()*+,;=b/x"),
    "percent escape": ([b"a%2Eb"], "/x", "http://a%2Eb/x"),
    "empty port": ([b"h:"], "/x", "http://h:/x"),
    "largest port": ([b"h:65535"], "/x", "http://h:65535/x"),
    "255 characters": ([b"a" * 255], "/x", "http://" + "a" * 255 + "/x"),
    "with asterisk target": ([b"h:81"], "*", "http://h:81"),
    # no URL authority: the lab's own address
    "no Host": ([], "/x", f"http://{OWN}/x"),
    "empty": ([b""], "/x", f"http://{OWN}/x"),
    "blanks only": ([b"   "], "/x", f"http://{OWN}/x"),
    "space": ([b"a b"], "/x", f"http://{OWN}/x"),
    "tab": ([b"a\tb"], "/x", f"http://{OWN}/x"),
    "unbalanced [": ([b"[::1"], "/x", f"http://{OWN}/x"),
    "unbalanced ]": ([b"::1]"], "/x", f"http://{OWN}/x"),
    "empty brackets": ([b"[]"], "/x", f"http://{OWN}/x"),
    "IPv4 in brackets": ([b"[1.2.3.4]"], "/x", f"http://{OWN}/x"),
    "not IPv6 in brackets": ([b"[x]"], "/x", f"http://{OWN}/x"),
    "after the brackets": ([b"[::1]x"], "/x", f"http://{OWN}/x"),
    "IPv6 zone": ([b"[fe80::1%25eth0]"], "/x", f"http://{OWN}/x"),
    "IPvFuture in upper case": ([b"[V1.fe]"], "/x", f"http://{OWN}/x"),
    "bare IPv6": ([b"::1"], "/x", f"http://{OWN}/x"),
    "slash": ([b"a/b"], "/x", f"http://{OWN}/x"),
    "slash and query": ([b"a/b?c"], "/z", f"http://{OWN}/z"),
    "query": ([b"a?b"], "/x?q=1", f"http://{OWN}/x?q=1"),
    "fragment": ([b"a#b"], "/x", f"http://{OWN}/x"),
    "userinfo": ([b"user@h"], "/x", f"http://{OWN}/x"),
    "userinfo and password": ([b"u:pw@h:80"], "/x", f"http://{OWN}/x"),
    "at sign alone": ([b"@"], "/x", f"http://{OWN}/x"),
    "backslash": ([b"a\\b"], "/x", f"http://{OWN}/x"),
    "quote and angle brackets": ([b'a"<b>'], "/x", f"http://{OWN}/x"),
    "bad percent escape": ([b"a%zz"], "/x", f"http://{OWN}/x"),
    "non-ASCII (UTF-8)": (["b\u00fccher.example".encode()], "/x", f"http://{OWN}/x"),
    "non-ASCII (Latin-1)": ([b"b\xfccher.example"], "/x", f"http://{OWN}/x"),
    "256 characters": ([b"a" * 256], "/x", f"http://{OWN}/x"),
    "very long": ([b"a" * 6000], "/x", f"http://{OWN}/x"),
    "very long port": ([b"h:" + b"1" * 5000], "/x", f"http://{OWN}/x"),
    "port only": ([b":80"], "/x", f"http://{OWN}/x"),
    "port not digits": ([b"h:80x"], "/x", f"http://{OWN}/x"),
    "port a word": ([b"h:http"], "/x", f"http://{OWN}/x"),
    "port too big": ([b"h:65536"], "/x", f"http://{OWN}/x"),
    "port padded": ([b"h:000080"], "/x", f"http://{OWN}/x"),
    "two ports": ([b"h:1:2"], "/x", f"http://{OWN}/x"),
    "IPv6 port not digits": ([b"[::1]:x"], "/x", f"http://{OWN}/x"),
    "two Host fields": ([b"a", b"b"], "/x", f"http://{OWN}/x"),
    "two equal Host fields": ([b"h", b"h"], "/x", f"http://{OWN}/x"),
    "two Host fields, one bad": ([b"a b", b"h"], "/x", f"http://{OWN}/x"),
    "bad, with asterisk target": ([b"a/b"], "*", f"http://{OWN}"),
    # control characters other than tab: refused as before, nothing stored
    "control character": ([b"a\x01b"], "/x", None),
    "DEL": ([b"a\x7fb"], "/x", None),
    "escape": ([b"a\x1bb"], "/x", None),
}  # fmt: skip


def _request(hosts: list[bytes], target: str, extra: bytes = b"") -> bytes:
    method = b"OPTIONS" if target == "*" else b"POST"
    lines = b"".join(b"Host: " + h + b"\r\n" for h in hosts)
    return (method + b" " + target.encode() + b" HTTP/1.1\r\n" + lines + extra
            + b"Content-Length: 2\r\nConnection: close\r\n\r\nhi")


def _status(answer: bytes) -> int:
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert m, answer[:200]
    return int(m.group(1))


def _capture_id(answer: bytes) -> int:
    m = re.search(rb"\r\nX-Hooklab-Capture-Id: (\d+)\r\n", answer)
    assert m, answer[:300]
    return int(m.group(1))


@pytest.fixture(scope="module")
def shared() -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


def _sent(lab: hooklab.HookLab, hosts: list[bytes], target: str,
          extra: bytes = b"") -> hooklab.Capture | None:
    """Send one request; the capture it made (None if it was refused 400)."""
    answer = raw_request(lab.bound_port, _request(hosts, target, extra))
    if _status(answer) == 400:
        return None
    assert _status(answer) == 200, answer[:300]
    wanted = _capture_id(answer)
    (cap,) = [c for c in lab.wait(1, since=wanted - 1, timeout=10) if c.id == wanted]
    return cap


@pytest.mark.parametrize("case", HOSTS)
def test_a_capture_url_has_the_host_only_when_it_is_an_authority(
        shared: hooklab.HookLab, case: str) -> None:
    hosts, target, want = HOSTS[case]
    cap = _sent(shared, hosts, target)
    if want is None:
        assert cap is None
        return
    assert cap is not None
    assert cap.url == want.replace(OWN, f"127.0.0.1:{shared.bound_port}")
    # the Host fields stay in the headers exactly as they came (as Latin-1 code points)
    assert [v for k, v in cap.headers if k == "Host"] == [
        h.decode("latin-1").strip() for h in hosts]
    assert cap.body == b"hi"


def loads_back(har: Path, sent: list[hooklab.Capture]) -> None:
    """``hooklab.load_har(har)`` gives back the captures ``sent``: method, URL, path, query,
    headers and body each."""
    back = hooklab.load_har(har)
    try:
        got = back.query()
        assert [(c.method, c.url, c.path, c.query, c.headers, c.body) for c in got] == [
            (c.method, c.url, c.path, c.query, c.headers, c.body) for c in sent]
    finally:
        back.stop()


def test_every_hostile_host_comes_back_from_a_har_export(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The README: a HAR export loads back with ``hooklab.load_har``. One file holding all
    of them (one bad entry refused the whole file)."""
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for hosts, target, want in HOSTS.values():
            if want is not None:
                assert _sent(lab, hosts, target) is not None
        sent = lab.query()
        assert len(sent) == sum(want is not None for _, _, want in HOSTS.values())
        assert lab.export(tmp_path / "all.har", fmt="har") == len(sent)
    finally:
        lab.stop()
    loads_back(tmp_path / "all.har", sent)


#: captures stored before the server checked the Host (``new_record`` as the server made
#: them): target, headers, the URL stored, and the URL their HAR entry must have
STORED_BEFORE: dict[str, tuple[str, list[tuple[str, str]], str, str]] = {
    "space": ("/x", [("Host", "a b")], "http://a b/x", "http://localhost/x"),
    "unbalanced [": ("/x?a=1", [("Host", "[::1")], "http://[::1/x?a=1", "http://localhost/x?a=1"),
    "slash and query": ("/z", [("Host", "a/b?c")], "http://a/b?c/z", "http://localhost/z"),
    "fragment": ("/z?q=1", [("Host", "a#b")], "http://a#b/z?q=1", "http://localhost/z?q=1"),
    "https": ("/x", [("Host", "a b"), ("X-Forwarded-Proto", "https")], "https://a b/x",
              "https://localhost/x"),
    "two Host fields, joined": ("/x", [("Host", "a b"), ("Host", "c")], "http://a b,c/x",
                                "http://localhost/x"),
    "asterisk": ("*", [("Host", "a/b")], "http://a/b", "http://localhost"),
    "CONNECT, no IPv6": ("[:::::]:1", [("Host", "[:::::]:1")], "http://[:::::]:1",
                         "http://localhost"),
    "no Host, imported": ("/b/y?c=2", [], "http://a b/b/y?c=2", "http://localhost/b/y?c=2"),
    "relative": ("/b/x?a=1", [], "/b/x?a=1", "http://localhost/b/x?a=1"),
    "relative, two slashes": ("//b/x", [], "//b/x", "http://localhost//b/x"),
    # sound URLs stay as they are
    "kept": ("/x", [("Host", "h:81")], "http://h:81/x", "http://h:81/x"),
    "kept, another host": ("/x", [("Host", "a")], "http://ab/x", "http://ab/x"),
    "kept, relayed": ("/x", [("Host", "127.0.0.1:9")], "https://hub.example/u/x",
                      "https://hub.example/u/x"),
    "kept, odd but loads": ("/x", [("Host", "u@h")], "http://u@h/x", "http://u@h/x"),
}  # fmt: skip


def test_a_har_export_of_captures_stored_with_an_invalid_url_loads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Nothing is lost making their URL again: the Host field is still in the headers."""
    lab = hooklab.HookLab(db=":memory:")
    try:
        for target, headers, url, _ in STORED_BEFORE.values():
            method = "CONNECT" if not target.startswith(("/", "*")) else "POST"
            lab.store.add_sync(new_record(method, target, headers, b"hi", url=url))
        stored = lab.query()
        assert lab.export(tmp_path / "old.har", fmt="har") == len(STORED_BEFORE)
    finally:
        lab.stop()
    entries = json.loads((tmp_path / "old.har").read_text())["log"]["entries"]
    assert {case: e["request"]["url"] for case, e in zip(STORED_BEFORE, entries, strict=True)} == {
        case: want for case, (_, _, _, want) in STORED_BEFORE.items()}
    back = hooklab.load_har(tmp_path / "old.har")
    try:
        got = back.query()
        assert [c.url for c in got] == [want for _, _, _, want in STORED_BEFORE.values()]
        assert [(c.method, c.path, c.query, c.headers, c.body) for c in got] == [
            (c.method, c.path, c.query, c.headers, c.body) for c in stored]
    finally:
        back.stop()


#: ``X-Forwarded-Proto`` fields as sent (with ``Host: h``), and the scheme the URL takes: the
#: first field's first value, in any case
FORWARDED_PROTO: dict[str, tuple[list[bytes], str]] = {
    "https": ([b"https"], "https"),
    "HTTPS": ([b"HTTPS"], "https"),
    "Https": ([b"Https"], "https"),
    "blanks around": ([b"  https  "], "https"),
    "https, http": ([b"https, http"], "https"),
    "HTTPS,http": ([b"HTTPS,http"], "https"),
    "two fields, HTTPS first": ([b"HTTPS", b"http"], "https"),
    "http": ([b"http"], "http"),
    "HTTP": ([b"HTTP"], "http"),
    "http, https": ([b"http, https"], "http"),
    "two fields, http first": ([b"http", b"https"], "http"),
    "httpsx": ([b"httpsx"], "http"),
    "wss": ([b"wss"], "http"),
    "empty": ([b""], "http"),
    "none": ([], "http"),
}  # fmt: skip


@pytest.mark.parametrize("case", FORWARDED_PROTO)
@pytest.mark.parametrize("host", [b"h", b"a b"], ids=["valid Host", "invalid Host"])
def test_x_forwarded_proto_https_is_read_in_any_case(
        shared: hooklab.HookLab, case: str, host: bytes) -> None:
    values, scheme = FORWARDED_PROTO[case]
    extra = b"".join(b"X-Forwarded-Proto: " + v + b"\r\n" for v in values)
    cap = _sent(shared, [host], "/p?q=1", extra)
    assert cap is not None
    authority = "h" if host == b"h" else f"127.0.0.1:{shared.bound_port}"
    assert cap.url == f"{scheme}://{authority}/p?q=1"
