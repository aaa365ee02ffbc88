"""The public relay, as a sender and a notebook meet it: a real ``jupyter server`` with the
extension, run as JupyterHub runs single-user servers (``/user/alice/``, ``trust_xheaders``),
and the tunnel's relay (ngrok replaced by an offline stand-in); real sockets on 127.0.0.1.

- a status the lab answers comes back as it is, 599 included (it read as Tornado's "no answer"
  and the sender got 502), and a lab that gives no answer still gives 502;
- a key given out under two origins: a delivery signed over either URL verifies, and its
  ``capture.url`` is the URL its sender called (the relay kept only the last origin); a Host
  naming an origin never given out changes nothing;
- HEAD through the relay says the lab's ``Content-Length`` (it said 0);
- ``close_tunnels()`` closes the tunnel relay's port and its connections (they hung);
- the tunnel relay's log never shows a query (``?token=`` came out on stderr);
- ``public_url(host=...)`` refused shows no credential, and a path with a space is encoded.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
import sys
import types
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from _http import free_port, recv_until_close
from _jupyter_server import server_fixtures
from _rawapp import RawServer

from hooklab import HookLab, ingress
from hooklab.signatures import sign_request

pytestmark = pytest.mark.timeout(180)

TOKEN = "relay-w9-token-0123456789"

jupyter, env, lab = server_fixtures("jupyter-relay-w9", TOKEN, "/user/alice/",
                                     args=("--ServerApp.trust_xheaders=True",))


def send(port: int, data: bytes) -> bytes:
    """``data`` to ``port`` on a fresh connection; the answer, read to the close."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        return recv_until_close(s, 10)


def head_of(answer: bytes) -> tuple[int, dict[str, list[str]], bytes]:
    """(status, header fields by lower-case name, body) of a whole HTTP/1.1 answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split(" ", 2)[1]), fields, body


def request(method: str, path: str, host: str, extra: str = "", body: bytes = b"") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


# -- statuses ------------------------------------------------------------------------------------
#: the lab's rule (status, body) -> what the sender gets through the relay: the same
STATUSES = [(599, b"custom 599"), (503, b"custom 503"), (200, b"fine"), (404, b""),
            (598, b"x"), (500, b"oops")]


@pytest.mark.parametrize("code,body", STATUSES)
def test_the_lab_s_status_reaches_the_sender_599_too(lab: HookLab, env: dict[str, object],
                                                     code: int, body: bytes) -> None:
    path = urlsplit(ingress.public_url(lab, "st", host="http://127.0.0.1")).path
    lab.respond("st", status=code, body=body)
    got = head_of(send(int(env["port"]), request("POST", path + "/x", "127.0.0.1", body=b"{}")))
    direct = head_of(send(lab.bound_port, request("POST", "/st/x", "127.0.0.1", body=b"{}")))
    assert (got[0], got[2]) == (code, body) == (direct[0], direct[2])
    assert [c.path for c in lab.wait(2, timeout=10)] == ["/st/x", "/st/x"]


class _Half(RawServer):
    """A 'lab' on a real port that proves it knows the nonce, then answers the relayed request
    as ``how`` says: ``"close"`` (no answer at all), ``"garbage"`` (no HTTP)."""

    def __init__(self, nonce: str, how: str) -> None:
        super().__init__()
        self.nonce, self.how = nonce, how
        self.port = self.sock.getsockname()[1]

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            got = self.read_request(conn, read_body=False)
            head = got[0] if got is not None else b""
            target = head.split(b" ", 2)[1].decode() if head.count(b" ") >= 2 else ""
            if target.startswith("/_hooklab/relay?challenge="):
                challenge = target.split("=", 1)[1]
                proof = hmac.new(self.nonce.encode(), challenge.encode(), hashlib.sha256).hexdigest()
                body = f'{{"proof": "{proof}"}}'.encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                             % len(body) + body)
            elif self.how == "garbage":
                conn.sendall(b"no http here\r\n\r\n")


class _FakeLab:
    """Just what ingress.register reads from a lab."""

    host = "127.0.0.1"
    max_body = 100

    def __init__(self, port: int, nonce: str) -> None:
        self.bound_port = port
        self.server = types.SimpleNamespace(relay_nonce=nonce, max_body=100)


@pytest.mark.parametrize("how", ["close", "garbage", "nothing listening"])
def test_a_lab_that_gives_no_answer_still_gives_502(env: dict[str, object], how: str) -> None:
    nonce = "w9-nonce-0123456789"
    with _Half(nonce, how) as half:
        fake = _FakeLab(free_port() if how == "nothing listening" else half.port, nonce)
        try:
            key = ingress.register(fake, "half")
            answer = send(int(env["port"]), request("POST", f"/user/alice/hooklab/in/{key}/x",
                                                    "127.0.0.1", body=b"{}"))
            assert head_of(answer)[0] == 502, answer[:300]
        finally:
            ingress.unregister(fake)


# -- origins -------------------------------------------------------------------------------------
A, B = "https://a.example", "https://b.example"
#: case -> (the URL the sender signed: an origin given out (A, B) or not, the header fields it
#: reached the Jupyter server with ("{port}": the server's own port), the origin the capture's
#: URL must name, whether it verifies)
ORIGIN_CASES = {
    "sent to the first URL": (A, "Host: a.example\r\nX-Forwarded-Proto: https\r\n", A, True),
    "sent to the second URL": (B, "Host: b.example\r\nX-Forwarded-Proto: https\r\n", B, True),
    "the first through a TLS proxy": (
        A, "Host: 127.0.0.1:{port}\r\nX-Forwarded-Host: a.example\r\nX-Forwarded-Proto: https\r\n", A, True),
    "the second through a proxy that says Forwarded": (
        B, "Host: 127.0.0.1:{port}\r\nForwarded: for=203.0.113.9;proto=https;host=b.example\r\n", B, True),
    "the first, its port written out": (A, "Host: a.example:443\r\nX-Forwarded-Proto: https\r\n", A, True),
    # a Host (or scheme) no URL was given out under: the last origin given out, not the Host
    "a forged host": ("https://evil.example", "Host: evil.example\r\nX-Forwarded-Proto: https\r\n", B, False),
    "a forged forwarded host": (
        "https://evil.example", "Host: 127.0.0.1:{port}\r\nX-Forwarded-Host: evil.example\r\n"
        "X-Forwarded-Proto: https\r\n", B, False),
    "the first host over http": ("http://a.example", "Host: a.example\r\n", B, False),
}  # fmt: skip


@pytest.mark.parametrize("case", ORIGIN_CASES)
def test_a_key_given_out_under_two_origins_verifies_at_either(
        lab: HookLab, env: dict[str, object], case: str) -> None:
    signed_origin, fields, stored_origin, verified = ORIGIN_CASES[case]
    lab.secret("tw", "twilio-token-w9", provider="twilio")
    first = ingress.public_url(lab, "tw", host=A)
    second = ingress.public_url(lab, "tw", host=B)
    path = urlsplit(first).path
    assert urlsplit(second).path == path and first == A + path and second == B + path
    key = path.rsplit("/", 1)[1]
    target = path + "/sms?x=1"
    body = b"Body=hi&From=%2B15550001"
    signed = sign_request("twilio", "twilio-token-w9", url=signed_origin + target, body=body,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    extra = "".join(f"{k}: {v}\r\n" for k, v in signed.headers.items())
    head = (f"POST {target} HTTP/1.1\r\n" + fields.format(port=env["port"]) + extra
            + "Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    assert head_of(send(int(env["port"]), head.encode() + body))[0] == 200
    (cap,) = lab.wait(1, timeout=10)
    assert cap.url == (stored_origin + target).replace(key, "[key]")
    assert cap.verified is verified, cap.verify_reason
    assert cap.header("x-forwarded-proto") == "https"


# -- HEAD ----------------------------------------------------------------------------------------
#: the lab's rule (status, body) -> the Content-Length a HEAD gets: the GET body's, as the lab says
HEADS = [(200, b"hello", "5"), (200, b"", "0"), (404, b"not here", "8"), (201, b"x" * 70000, "70000")]


@pytest.mark.parametrize("code,body,length", HEADS)
def test_head_through_the_relay_says_the_lab_s_content_length(
        lab: HookLab, env: dict[str, object], code: int, body: bytes, length: str) -> None:
    path = urlsplit(ingress.public_url(lab, "hd", host="http://127.0.0.1")).path
    lab.respond("hd", status=code, body=body)
    relayed = head_of(send(int(env["port"]), request("HEAD", path + "/x", "127.0.0.1")))
    direct = head_of(send(lab.bound_port, request("HEAD", "/hd/x", "127.0.0.1")))
    assert relayed[0] == direct[0] == code
    assert relayed[1]["content-length"] == direct[1]["content-length"] == [length]
    assert relayed[2] == direct[2] == b""


# -- the tunnel's relay ----------------------------------------------------------------------------
@pytest.fixture
def offline_ngrok(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake = types.ModuleType("pyngrok")
    fake.ngrok = types.SimpleNamespace(  # type: ignore[attr-defined]
        connect=lambda port, proto, **kw: types.SimpleNamespace(public_url=f"https://w9.ngrok.test:{port}"),
        disconnect=lambda url: None)  # fmt: skip
    monkeypatch.setitem(sys.modules, "pyngrok", fake)
    try:
        yield
    finally:
        ingress.close_tunnels()


def test_close_tunnels_closes_the_relay_s_port_and_connections(lab: HookLab, offline_ngrok: None) -> None:
    for _ in range(3):  # (each tunnel() after close_tunnels() is a new relay on a new port)
        url = ingress.tunnel(lab, "gh")
        port = urlsplit(url).port
        relay = ingress._TUNNEL
        assert relay is not None and relay.port == port
        kept = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            kept.sendall(f"POST {urlsplit(url).path}/x HTTP/1.1\r\nHost: w9.ngrok.test\r\n"
                         "Content-Length: 2\r\n\r\n{}".encode())
            assert kept.recv(65536).startswith(b"HTTP/1.1 200 ")  # (kept alive)
            ingress.close_tunnels()
            assert not relay._thread.is_alive()
            assert recv_until_close(kept, 5) == b""  # closed, not left hanging
        finally:
            kept.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    assert len(lab.wait(3, timeout=10)) == 3


#: where a request went on the tunnel's port -> it is logged with this path, without its query
LOGGED = {
    "the lab's API": ("/_hooklab/api/captures?token={secret}&x=1", "/_hooklab/api/captures"),
    "a relay route": ("{path}/hook?token={secret}", "/hooklab/in/<key>/hook"),
    "an unknown key": ("/hooklab/in/nope?token={secret}", "/hooklab/in/<key>"),
    "a path parameter": ("/x;a=1?access_token={secret}", "/x;a=1"),
}


@pytest.mark.parametrize("case", LOGGED)
def test_the_tunnel_relay_logs_no_query(lab: HookLab, offline_ngrok: None,
                                        caplog: pytest.LogCaptureFixture, case: str) -> None:
    target, shown = LOGGED[case]
    url = ingress.tunnel(lab, "gh")
    path = urlsplit(url).path
    secret = lab.api_token
    caplog.set_level(logging.INFO, logger="tornado.access")
    send(urlsplit(url).port or 0, request("GET", target.format(path=path, secret=secret), "w9.ngrok.test"))
    ingress.close_tunnels()  # (the relay's thread logged before it ended)
    lines = [r.getMessage() for r in caplog.records if r.name == "tornado.access"]
    assert len(lines) == 1 and f"GET {shown} (" in lines[0], lines
    assert secret not in caplog.text and "token" not in caplog.text and "?" not in lines[0]


# -- host= ---------------------------------------------------------------------------------------
#: a host= refused -> what its message shows of it
REFUSED_SHOWN = {
    "https://alice:hunter2pass@hub.example.org": "'https://alice:[secret]@hub.example.org'",
    "https://hub.example.org/?token=0123456789abcdef": "'https://hub.example.org/?token=[secret]'",
    "https://ghp_0123456789abcdef@hub.example.org/jupyter/": "'https://[secret]@hub.example.org/jupyter/'",
}


@pytest.mark.parametrize("host", REFUSED_SHOWN)
def test_a_refused_host_is_shown_without_its_credentials(lab: HookLab, env: dict[str, object], host: str) -> None:
    with pytest.raises(ValueError, match="host=") as refused:
        ingress.public_url(lab, "h", host=host)
    assert str(refused.value).endswith(": " + REFUSED_SHOWN[host])
    assert "hunter2pass" not in str(refused.value) and "0123456789abcdef" not in str(refused.value)


#: a host= with a path -> the root of the URL given out (percent-encoded where it must be)
ENCODED = {
    "https://hub.example.org/my lab/": "https://hub.example.org/my%20lab/",
    "https://hub.example.org/a%20b/c": "https://hub.example.org/a%20b/c/",
    "https://hub.example.org/caf\u00e9/": "https://hub.example.org/caf%C3%A9/",
    "https://hub.example.org/100%/x": "https://hub.example.org/100%25/x/",
    "https://hub.example.org/a<b>\"c/": "https://hub.example.org/a%3Cb%3E%22c/",
    "https://hub.example.org/jupyter": "https://hub.example.org/jupyter/",
}


@pytest.mark.parametrize("host", ENCODED)
def test_a_host_path_is_percent_encoded(lab: HookLab, env: dict[str, object],
                                        monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    given = ingress.public_url(lab, "h", host=host)
    assert given.rsplit("/", 1)[0] == ENCODED[host] + "hooklab/in"
    monkeypatch.setenv("HOOKLAB_PUBLIC_URL", host)  # (read alike)
    assert ingress.public_url(lab, "h") == given
