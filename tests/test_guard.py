"""The DNS-rebinding guard of ``/_hooklab/``, tried by a table of Host and Origin values.

Every case goes over a real socket to a running lab, carrying the lab's read token, to the three
guarded surfaces: the JSON API, the stream page and the WebSocket stream. A Host is local only if
it is an IP literal in 127.0.0.0/8 or ``[::1]``, the exact bound address, ``localhost``, a name
under ``.localhost`` or a name listed in ``allowed_hosts``; anything else that is well formed gets
403, anything malformed (empty, duplicated, userinfo, bad port, unbracketed IPv6) gets 400.
Capture paths answer 200 to every one of them: senders may use any name.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from hooklab import HookLab

#: what each surface answers when the Host is accepted
OK = {"api": 200, "page": 200, "stream": 101}
WS_HEAD = (
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


@pytest.fixture(scope="module")
def glab() -> Iterator[HookLab]:
    lab = HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


def _status(port: int, raw: bytes, address: str = "127.0.0.1") -> int:
    """The status code of the first answer to ``raw`` (reads only the status line)."""
    with socket.create_connection((address, port), timeout=10) as s:
        s.sendall(raw)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    line = buf.split(b"\r\n", 1)[0]
    assert line.startswith(b"HTTP/1.1 "), buf[:200]
    return int(line.split()[1])


def _request(surface: str, token: str, host_lines: str, extra: str = "") -> bytes:
    path = {
        "api": "/_hooklab/api/captures",
        "page": "/_hooklab/",
        "stream": "/_hooklab/ws",
    }[surface]
    head = f"GET {path}?token={token} HTTP/1.1\r\n{host_lines}{extra}"
    if surface == "stream":
        head += WS_HEAD
    else:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode("latin-1")


@dataclass(frozen=True)
class HostCase:
    name: str
    host: str | None  # the Host header value; "{port}" is replaced; None: no Host header
    status: int | None  # None: accepted (200 / 200 / 101); else the status on all three
    duplicate: str | None = None  # a second Host header


LOCAL = None
HOST_CASES = [
    # -- accepted: loopback IP literals, localhost names -------------------------------------
    HostCase("127.0.0.1:port", "127.0.0.1:{port}", LOCAL),
    HostCase("127.0.0.1 without port", "127.0.0.1", LOCAL),
    HostCase("127.0.0.2 (any of 127/8)", "127.0.0.2:{port}", LOCAL),
    HostCase("127.255.255.254", "127.255.255.254", LOCAL),
    HostCase("[::1]:port", "[::1]:{port}", LOCAL),
    HostCase("[::1]", "[::1]", LOCAL),
    HostCase("[0:0:0:0:0:0:0:1] (::1 spelled out)", "[0:0:0:0:0:0:0:1]:{port}", LOCAL),
    HostCase("localhost:port", "localhost:{port}", LOCAL),
    HostCase("LOCALHOST (case)", "LOCALHOST", LOCAL),
    HostCase("LocalHost:port (case)", "LocalHost:{port}", LOCAL),
    HostCase("app.localhost", "app.localhost:{port}", LOCAL),
    HostCase("a.b.localhost", "a.b.localhost", LOCAL),
    HostCase("APP.LOCALHOST (case)", "APP.LOCALHOST:{port}", LOCAL),
    HostCase("127.0.0.1.localhost", "127.0.0.1.localhost", LOCAL),
    HostCase("any port (behind a proxy)", "127.0.0.1:1", LOCAL),
    HostCase("highest port", "127.0.0.1:65535", LOCAL),
    # -- refused 403: names that merely look local (DNS can point them anywhere) -----------
    HostCase("127.evil.example", "127.evil.example", 403),
    HostCase("127.evil.example:port", "127.evil.example:{port}", 403),
    HostCase("127.0.0.1.nip.io", "127.0.0.1.nip.io", 403),
    HostCase("127.0.0.1.nip.io:port", "127.0.0.1.nip.io:{port}", 403),
    HostCase("127.0.0.1.evil.example", "127.0.0.1.evil.example:{port}", 403),
    HostCase("localhost.evil.example", "localhost.evil.example:{port}", 403),
    HostCase("LOCALHOST.EVIL.EXAMPLE (case)", "LOCALHOST.EVIL.EXAMPLE", 403),
    HostCase("localhost-evil.example", "localhost-evil.example", 403),
    HostCase("evillocalhost", "evillocalhost", 403),
    HostCase("evil.localhost.example", "evil.localhost.example", 403),
    HostCase("evil.example", "evil.example:{port}", 403),
    HostCase("127.0.0.1x", "127.0.0.1x", 403),
    HostCase("localhost. (trailing dot)", "localhost.:{port}", 403),
    HostCase("127.0.0.1. (trailing dot)", "127.0.0.1.", 403),
    HostCase("app.localhost. (trailing dot)", "app.localhost.", 403),
    HostCase(".localhost (empty label)", ".localhost", 403),
    HostCase("a..localhost (empty label)", "a..localhost:{port}", 403),
    HostCase("LOCALHOST. (case, trailing dot)", "LOCALHOST.", 403),
    HostCase("0177.0.0.1 (octal)", "0177.0.0.1:{port}", 403),
    HostCase("127.000.000.001 (leading zeros)", "127.000.000.001", 403),
    HostCase("0127.0.0.1 (leading zero)", "0127.0.0.1", 403),
    HostCase("0x7f.0.0.1 (hex)", "0x7f.0.0.1", 403),
    HostCase("0x7f000001 (hex int)", "0x7f000001", 403),
    HostCase("2130706433 (decimal int)", "2130706433:{port}", 403),
    HostCase("127.1 (short form)", "127.1", 403),
    HostCase("127.0.1 (short form)", "127.0.1", 403),
    HostCase("256.0.0.1 (not an address)", "256.0.0.1", 403),
    HostCase("0.0.0.0 (not bound here)", "0.0.0.0:{port}", 403),
    HostCase("10.0.0.1 (not loopback)", "10.0.0.1", 403),
    HostCase("[::ffff:127.0.0.1] (mapped)", "[::ffff:127.0.0.1]:{port}", 403),
    HostCase("[::2]", "[::2]", 403),
    HostCase("[fe80::1]", "[fe80::1]", 403),
    # -- refused 400: not a valid Host at all ----------------------------------------------
    HostCase("no Host header", None, 400),
    HostCase("empty Host", "", 400),
    HostCase("duplicate Host (same)", "127.0.0.1:{port}", 400, duplicate="127.0.0.1:{port}"),
    HostCase("duplicate Host (local first)", "127.0.0.1:{port}", 400, duplicate="evil.example"),
    HostCase("duplicate Host (evil first)", "evil.example", 400, duplicate="127.0.0.1:{port}"),
    HostCase("comma list", "127.0.0.1, evil.example", 400),
    HostCase("::1 unbracketed", "::1", 400),
    HostCase("::ffff:127.0.0.1 unbracketed", "::ffff:127.0.0.1", 400),
    HostCase("[::1%lo] zone id", "[::1%25lo]", 400),
    HostCase("[::1 unclosed", "[::1", 400),
    HostCase("[::1]junk", "[::1]x", 400),
    HostCase("userinfo@127.0.0.1", "user@127.0.0.1:{port}", 400),
    HostCase("127.0.0.1@evil.example", "127.0.0.1:{port}@evil.example", 400),
    HostCase("evil.example@127.0.0.1", "evil.example@127.0.0.1", 400),
    HostCase("user:pass@localhost", "user:pass@localhost", 400),
    HostCase("127.0.0.1/path", "127.0.0.1/x", 400),
    HostCase("127.0.0.1#frag", "127.0.0.1#@evil.example", 400),
    HostCase("127.0.0.1?q", "127.0.0.1?evil.example", 400),
    HostCase("backslash", "127.0.0.1\\evil.example", 400),
    HostCase("space inside", "127.0.0.1 evil.example", 400),
    HostCase("port not a number", "127.0.0.1:abc", 400),
    HostCase("port too big", "127.0.0.1:99999", 400),
    HostCase("port one too big", "127.0.0.1:65536", 400),
    HostCase("six-digit port", "127.0.0.1:000080", 400),
    HostCase("empty port", "localhost:", 400),
    HostCase("two ports", "127.0.0.1:1:2", 400),
    HostCase("percent-encoded name", "127%2e0%2e0%2e1", 400),
    HostCase("non-ASCII name", "localhost\u00e9", 400),
]


def _host_lines(case: HostCase, port: int) -> str:
    lines = ""
    for value in (case.host, case.duplicate):
        if value is not None:
            lines += f"Host: {value.replace('{port}', str(port))}\r\n"
    return lines


@pytest.mark.parametrize("case", HOST_CASES, ids=[c.name for c in HOST_CASES])
def test_host_table_on_api_page_and_stream(glab: HookLab, case: HostCase) -> None:
    port = glab.bound_port
    assert port is not None
    hosts = _host_lines(case, port)
    got = {s: _status(port, _request(s, glab.api_token, hosts)) for s in OK}
    want = OK if case.status is None else {s: case.status for s in OK}
    assert got == want
    # capture paths accept whatever Host a sender uses (malformed ones included)
    before = glab.store.last_id
    cap = f"POST /guard/x HTTP/1.1\r\n{hosts}Content-Length: 0\r\nConnection: close\r\n\r\n"
    assert _status(port, cap.encode("latin-1")) == 200
    assert [c.path for c in glab.wait(1, since=before, timeout=10)] == ["/guard/x"]


def test_refusals_name_the_setting_and_leak_no_capture(glab: HookLab) -> None:
    """The 403 says how to allow a name; no capture data is in any refusal."""
    port = glab.bound_port
    assert port is not None
    marker = b"guard-secret-body-7f3a"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /guard/secret HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n%s" % (len(marker), marker))
        s.recv(4096)
    glab.wait(1, path="/guard/secret", timeout=10)
    for surface in ("api", "page"):
        raw = _request(surface, glab.api_token, "Host: 127.0.0.1.nip.io\r\n")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(raw)
            answer = _recv_all(s)
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
        assert b"allowed_hosts" in answer
        assert marker not in answer and b"/guard/secret" not in answer


def _recv_all(s: socket.socket) -> bytes:
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return out
        out += chunk


ALLOWED_CASES = [
    ("hub.example.org", None),
    ("hub.example.org:{port}", None),
    ("HUB.Example.ORG", None),
    ("evil.hub.example.org", 403),
    ("hub.example.org.evil.example", 403),
    ("hub.example.org. (trailing dot)", 403),
    ("xhub.example.org", 403),
    ("127.0.0.1.nip.io", 403),
]


def test_allowed_hosts_are_exact_names(glab: HookLab) -> None:
    port = glab.bound_port
    assert port is not None
    glab.allowed_hosts = ["hub.example.org"]
    try:
        for host, status in ALLOWED_CASES:
            value = host.split(" ", 1)[0].replace("{port}", str(port))
            if "trailing dot" in host:
                value = "hub.example.org."
            got = {s: _status(port, _request(s, glab.api_token, f"Host: {value}\r\n")) for s in OK}
            assert got == (OK if status is None else {s: status for s in OK}), host
    finally:
        glab.allowed_hosts = []
    # removed again: the name is refused
    assert _status(port, _request("api", glab.api_token, "Host: hub.example.org\r\n")) == 403


def test_allowed_hosts_star_allows_any_name_but_not_malformed_hosts(glab: HookLab) -> None:
    port = glab.bound_port
    assert port is not None
    glab.allowed_hosts = ["*"]
    try:
        assert _status(port, _request("api", glab.api_token, "Host: 127.0.0.1.nip.io\r\n")) == 200
        assert _status(port, _request("api", glab.api_token, "Host: user@evil.example\r\n")) == 400
        assert _status(port, _request("api", glab.api_token, "")) == 400
    finally:
        glab.allowed_hosts = []


BOUND_CASES = {
    "0.0.0.0": [("0.0.0.0:{port}", 200), ("127.0.0.1:{port}", 200), ("[::1]", 200),
                ("0.0.0.1", 403), ("0.0.0.0.nip.io", 403), ("0", 403), ("[::]", 403)],
    "::": [("[::]:{port}", 200), ("[0:0:0:0:0:0:0:0]", 200), ("127.0.0.1:{port}", 200),
           ("[::1]", 200), ("0.0.0.0", 403), ("[::2]", 403)],
}


@pytest.mark.parametrize("bind", list(BOUND_CASES))
def test_the_exact_bound_address_is_local(bind: str) -> None:
    """A lab bound to every interface answers to that address by name, and to loopback."""
    with pytest.warns(RuntimeWarning, match=f"binding {bind}"):
        lab = HookLab(host=bind, port=0, db=":memory:").start()
    try:
        port = lab.bound_port
        assert port is not None
        for host, status in BOUND_CASES[bind]:
            line = f"Host: {host.replace('{port}', str(port))}\r\n"
            address = "::1" if ":" in bind else "127.0.0.1"  # Tornado binds :: IPv6-only
            assert _status(port, _request("api", lab.api_token, line), address) == status, host
    finally:
        lab.stop()


def test_malformed_allowed_hosts_entries_allow_nothing(glab: HookLab) -> None:
    port = glab.bound_port
    assert port is not None
    glab.allowed_hosts = ["user@hub.example.org", "hub.example.org/x", "", " ok.example.org:443 "]
    try:
        for host, status in [("hub.example.org", 403), ("ok.example.org", 200),
                             ("ok.example.org:1", 200)]:
            assert _status(port, _request("api", glab.api_token, f"Host: {host}\r\n")) == status
    finally:
        glab.allowed_hosts = []


@dataclass(frozen=True)
class OriginCase:
    name: str
    origin: str | None
    status: int
    host: str = "127.0.0.1:{port}"


# A browser's Origin must be the page's own origin (same host and port as the Host it sends),
# and that host must be local by the same rule as Host.
ORIGIN_CASES = [
    OriginCase("no Origin (not a browser)", None, 101),
    OriginCase("same origin", "http://127.0.0.1:{port}", 101),
    OriginCase("same origin, https", "https://127.0.0.1:{port}", 101),
    OriginCase("same origin, upper case", "HTTP://127.0.0.1:{port}", 101),
    OriginCase("localhost page", "http://localhost:{port}", 101, host="localhost:{port}"),
    OriginCase("127.0.0.2 page", "http://127.0.0.2:{port}", 101, host="127.0.0.2:{port}"),
    OriginCase("[::1] page", "http://[::1]:{port}", 101, host="[::1]:{port}"),
    OriginCase(".localhost page", "http://app.localhost:{port}", 101, host="app.localhost:{port}"),
    OriginCase("another loopback port", "http://127.0.0.1:8888", 403),
    OriginCase("another local name", "http://localhost:{port}", 403),
    OriginCase("127.evil.example", "http://127.evil.example:{port}", 403),
    OriginCase("127.0.0.1.nip.io", "http://127.0.0.1.nip.io:{port}", 403),
    OriginCase("127.0.0.1.evil.example", "http://127.0.0.1.evil.example", 403),
    OriginCase("localhost.evil.example", "http://localhost.evil.example:{port}", 403),
    OriginCase("evil.example", "https://evil.example", 403),
    OriginCase("localhost. (trailing dot)", "http://localhost.:{port}", 403, host="localhost:{port}"),
    OriginCase("decimal int", "http://2130706433:{port}", 403),
    OriginCase("octal", "http://0177.0.0.1:{port}", 403),
    OriginCase("mapped IPv6", "http://[::ffff:127.0.0.1]:{port}", 403),
    OriginCase("null (sandboxed frame, file:)", "null", 403),
    OriginCase("file scheme", "file://", 403),
    OriginCase("other scheme, same host", "ws://127.0.0.1:{port}", 403),
    OriginCase("extension scheme", "chrome-extension://127.0.0.1:{port}", 403),
    OriginCase("userinfo", "http://user@127.0.0.1:{port}", 403),
    OriginCase("userinfo hides evil", "http://127.0.0.1:{port}@evil.example", 403),
    OriginCase("with a path", "http://127.0.0.1:{port}/x", 403),
    OriginCase("garbage", "not an origin", 403),
    OriginCase("unclosed IPv6", "http://[::1", 403),
    OriginCase("empty", "", 403),
]


@pytest.mark.parametrize("case", ORIGIN_CASES, ids=[c.name for c in ORIGIN_CASES])
def test_stream_origin_table(glab: HookLab, case: OriginCase) -> None:
    port = glab.bound_port
    assert port is not None
    extra = "" if case.origin is None else f"Origin: {case.origin.replace('{port}', str(port))}\r\n"
    host = f"Host: {case.host.replace('{port}', str(port))}\r\n"
    assert _status(port, _request("stream", glab.api_token, host, extra)) == case.status


def test_stream_origins_setting_adds_exact_origins(glab: HookLab) -> None:
    port = glab.bound_port
    assert port is not None
    host = f"Host: 127.0.0.1:{port}\r\n"

    def status(origin: str) -> int:
        return _status(port, _request("stream", glab.api_token, host, f"Origin: {origin}\r\n"))

    assert status("https://app.example.org") == 403
    glab.stream_origins = ["https://app.example.org"]
    try:
        assert status("https://app.example.org") == 101
        assert status("https://app.example.org.evil.example") == 403
        assert status("http://app.example.org") == 403
        glab.stream_origins = ["*"]  # any origin (the Host rule and the token still apply)
        assert status("https://evil.example") == 101
    finally:
        glab.stream_origins = []
    assert status("https://app.example.org") == 403


BOUND_NAMES = [
    # (bound host, Host name as parsed, local?)
    ("MyHost.Example", "myhost.example", True),
    ("myhost.example", "other.example", False),
    ("10.1.2.3", "10.1.2.3", True),
    ("10.1.2.3", "10.1.2.4", False),
    ("fd00::1", "[fd00::1]", True),
    ("fd00:0:0::1", "[fd00::1]", True),
    ("fd00::1", "[fd00::2]", False),
    ("", "myhost.example", False),
]


@pytest.mark.parametrize("bound,name,local", BOUND_NAMES)
def test_the_bound_address_by_any_spelling(bound: str, name: str, local: bool) -> None:
    """Hosts a lab may be bound to that this machine cannot bind in a test: the rule itself."""
    from hooklab.server.guard import is_local, parse_host

    class Server:
        host, allowed_hosts = bound, ()

    assert is_local(Server, name) is local
    assert is_local(Server, parse_host(name)[0]) is local


@pytest.mark.parametrize("value,allowed", [
    ("127.0.0.1:8765", True), ("[::1]", True), ("localhost", True), ("a.localhost:1", True),
    ("127.0.0.1.nip.io", False), ("user@127.0.0.1", False), ("", False), (None, False),
    ("127.0.0.1:99999", False), ("::1", False),
])
def test_host_allowed_function(value: str | None, allowed: bool) -> None:
    """The rule as a function (also used for the stream's Origin)."""
    from hooklab.server.guard import host_allowed

    class Server:
        host, allowed_hosts = "127.0.0.1", ()

    assert host_allowed(Server, value) is allowed
