"""What the public relay passes on, through a real ``jupyter server`` run as JupyterHub runs its
single-user servers (``trust_xheaders=True``, ``base_url=/user/alice/``).

A relayed capture should say what the sender sent, as a capture sent straight to the lab does,
and nothing a sender writes may pass for what the relay saw.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from _http import recv_until_close
from _jupyter_server import server_fixtures

from hooklab import HookLab, ingress

pytestmark = pytest.mark.timeout(180)

TOKEN = "relay-test-token-0123456789"


jupyter, env, lab = server_fixtures("jupyter-relay", TOKEN, "/user/alice/",
                                     args=("--ServerApp.trust_xheaders=True",))


def _path(lab: HookLab, bin: str, origin: str = "http://127.0.0.1") -> str:
    """The public URL's path (the local jupyter server serves it; its origin is given)."""
    return urlsplit(ingress.public_url(lab, bin, host=origin)).path


def send(port: int, data: bytes, source: str = "127.0.0.1") -> bytes:
    """``data`` from ``source`` (any 127/8 address) to ``port``; the answer, read to the close."""
    with socket.socket() as s:
        s.bind((source, 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        return recv_until_close(s, 10)


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


# what a sender writes to pass for the relay's peer or scheme (trust_xheaders reads these)
SPOOFS = [
    "", "X-Real-IP: 203.0.113.66\r\n", "X-Scheme: https\r\n", "X-Forwarded-Proto: https\r\n",
    "X-Real-IP: 203.0.113.66\r\nX-Scheme: https\r\nX-Forwarded-Proto: https\r\n",
]  # fmt: skip


@pytest.mark.parametrize("spoof", SPOOFS)
def test_the_relay_appends_its_own_peer_and_the_public_scheme(
        lab: HookLab, env: dict[str, object], spoof: str) -> None:
    """X-Forwarded-For got ``request.remote_ip``, which trust_xheaders takes from the
    sender's X-Real-IP; X-Scheme made X-Forwarded-Proto https on an http origin."""
    port = int(str(env["port"]))
    head = (f"POST {_path(lab, 'spoof')}/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{spoof}"
            "Content-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert status(send(port, head.encode(), source="127.0.0.9")) == 200
    (cap,) = lab.wait(1, timeout=10)
    assert cap.header_all("x-forwarded-for") == ["127.0.0.9"]  # the socket's peer, once
    assert cap.header_all("x-forwarded-proto") == ["http"]  # the origin public_url gave out
    assert cap.remote_addr == "127.0.0.1"  # the relay's own connection to the lab
    assert cap.url.startswith("http://127.0.0.1/user/alice/hooklab/in/[key]/x")
    # a chain that came is kept, and the peer appended once
    head = (f"POST {_path(lab, 'spoof')}/y HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{spoof}"
            "X-Forwarded-For: 198.51.100.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert status(send(port, head.encode(), source="127.0.0.9")) == 200
    assert lab.wait(2, timeout=10)[1].header_all("x-forwarded-for") == ["198.51.100.1, 127.0.0.9"]


def test_an_https_origin_gives_https_as_the_forwarded_scheme(lab: HookLab, env: dict[str, object]) -> None:
    port = int(str(env["port"]))
    path = _path(lab, "tls", origin="https://hub.example.org")
    head = (f"POST {path} HTTP/1.1\r\nHost: hub.example.org\r\nX-Scheme: http\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n")
    assert status(send(port, head.encode())) == 200
    (cap,) = lab.wait(1, timeout=10)
    assert cap.header_all("x-forwarded-proto") == ["https"]
    assert cap.header_all("x-forwarded-for") == ["127.0.0.1"]


def exchange(port: int, data: bytes) -> int:
    """Send one request on a fresh connection and read its one answer (head, then
    ``Content-Length`` bytes): the status. The connection may stay open (keep-alive)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = s.recv(65536)
            assert chunk, got
            got += chunk
        head, _, rest = got.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            chunk = s.recv(65536)
            assert chunk
            rest += chunk
        return status(head)


H = "hooks.example.org"
# (what a sender sends: its header fields in order, its body as framed on the wire;
#  what the Jupyter server's parser (Tornado) makes of the fields, where that differs:
#  names in its spelling, repeats of a name together at the first one's place)
FIDELITY = {
    "no content type": ([("Host", H), ("Content-Length", "7")], b"a=1&b=2", None),
    "no user agent": ([("Host", H), ("Content-Type", "application/json"),
                       ("Content-Length", "2")], b"{}", None),
    "duplicates": ([("Host", H), ("X-Dup", "1"), ("X-Dup", "2"), ("Accept", "a"),
                    ("Accept", "b"), ("Content-Length", "0")], b"", None),
    "odd order": ([("Content-Length", "2"), ("X-Z", "z"), ("Content-Type", "text/plain"),
                   ("Host", H), ("Accept", "*/*"), ("User-Agent", "Stripe/1.0")], b"hi", None),
    "chunked": ([("Host", H), ("Transfer-Encoding", "chunked"), ("Content-Type", "text/plain"),
                 ("X-After", "1")], b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", None),
    "connection and keep-alive": ([("Host", H), ("Connection", "keep-alive, X-Hop"),
                                   ("Keep-Alive", "timeout=5"), ("X-Hop", "h"),
                                   ("Content-Length", "1")], b"k", None),
    "empty and spaced values": ([("Host", H), ("X-Empty", ""), ("X-Spaced", "a  b"),
                                 ("Content-Length", "0")], b"", None),
    "non-ASCII value": ([("Host", H), ("X-Name", "café".encode().decode("latin-1")),
                         ("Content-Length", "0")], b"", None),
    "lower-case names": ([("host", H), ("content-type", "text/plain"), ("x-github-event", "push"),
                          ("content-length", "2")], b"hi",
                         [("Host", H), ("Content-Type", "text/plain"), ("X-Github-Event", "push"),
                          ("Content-Length", "2")]),
    "repeats apart": ([("Host", H), ("X-Dup", "1"), ("X-Other", "o"), ("X-Dup", "2"),
                       ("Content-Length", "0")], b"",
                      [("Host", H), ("X-Dup", "1"), ("X-Dup", "2"), ("X-Other", "o"),
                       ("Content-Length", "0")]),
    # (review: a hop's credential was listed and stored; the relay used to drop it)
    "proxy credentials": ([("Host", H), ("Proxy-Authorization", "Basic cHJveHk6cHc="),
                           ("X-Kept", "k"), ("Content-Length", "0")], b"",
                          [("Host", H), ("X-Kept", "k"), ("Content-Length", "0")]),
}  # fmt: skip


@pytest.mark.parametrize("case", FIDELITY)
def test_a_relayed_capture_stores_the_fields_as_received(
        lab: HookLab, env: dict[str, object], case: str) -> None:
    """Relayed, a POST without Content-Type was stored with Tornado's client's
    ``Content-Type: application/x-www-form-urlencoded`` (and ``capture.form()`` parsed it),
    its ``User-Agent`` and ``Connection: close``; a chunked one with a Content-Length at the
    end and no Transfer-Encoding."""
    fields, body, parsed = FIDELITY[case]
    expected = parsed if parsed is not None else fields
    head = "".join(f"{k}: {v}\r\n" for k, v in fields).encode("latin-1")
    port = int(str(env["port"]))
    assert exchange(lab.bound_port, f"POST /fid/{case.replace(' ', '-')} HTTP/1.1\r\n".encode()
                    + head + b"\r\n" + body) == 200  # type: ignore[arg-type]
    path = _path(lab, "fid") + "/" + case.replace(" ", "-")
    assert exchange(port, f"POST {path} HTTP/1.1\r\n".encode() + head + b"\r\n" + body) == 200
    direct, relayed = lab.wait(2, timeout=10)
    assert direct.headers == fields  # (sent straight to the lab: exactly as sent)
    *kept, xff, proto, xhost, prefix = relayed.headers
    assert kept == expected
    assert [xff[0], proto[0], xhost[0], prefix[0]] == [
        "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix"]
    assert relayed.body == direct.body and relayed.size == direct.size
    assert relayed.content_type == direct.content_type
    assert relayed.form() == direct.form()
    assert relayed.path == direct.path


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_sender_gets_the_lab_s_answer_without_an_etag_of_the_relay(
        lab: HookLab, env: dict[str, object], method: str) -> None:
    """Tornado gave each 200 answer to a relayed GET or HEAD an ETag of its own (a HEAD the
    SHA-1 of no body), and answered a GET repeated with that ``If-None-Match`` with 304 and
    no body: a Meta-style GET handshake got no challenge back, while the lab answered 200
    with it and stored 200."""
    port = int(str(env["port"]))
    lab.respond("etag", status=200, body=b"1158201444")
    path = _path(lab, "etag") + "/h"
    answers = []
    for extra in ("", 'If-None-Match: "x", *\r\n'):
        raw = send(port, f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}"
                         "Connection: close\r\n\r\n".encode())
        head, _, body = raw.partition(b"\r\n\r\n")
        answers.append((status(raw), b"\netag:" in head.lower(), body))
    want_body = b"1158201444" if method == "GET" else b""
    assert answers == [(200, False, want_body), (200, False, want_body)]
    assert [c.status for c in lab.wait(2, timeout=10, bin="etag")] == [200, 200]


def test_a_header_list_from_a_sender_is_stored_as_sent_not_believed(
        lab: HookLab, env: dict[str, object]) -> None:
    """The lab stores the relay's list of fields only under the relay's proof: a sender that
    writes one (straight to the lab, or through the relay) changes nothing it did not send."""
    from hooklab.server.guard import (
        RELAY_HEADERS,
        RELAY_PROOF,
        RELAY_URL,
        relay_headers,
        relay_proof,
    )

    url = "https://victim.example/hook"
    listed = relay_headers([("X-Forged", "1")])
    forged = [(RELAY_URL, url), (RELAY_HEADERS, listed),
              (RELAY_PROOF, relay_proof("not-the-nonce", url, listed))]
    fields = [("Host", H), *forged, ("Content-Length", "0")]
    head = "".join(f"{k}: {v}\r\n" for k, v in fields).encode()
    assert exchange(lab.bound_port, b"POST /forge HTTP/1.1\r\n" + head + b"\r\n") == 200  # type: ignore[arg-type]
    port = int(str(env["port"]))
    assert exchange(port, f"POST {_path(lab, 'forge')} HTTP/1.1\r\n".encode() + head + b"\r\n") == 200
    direct, relayed = lab.wait(2, timeout=10)
    # (a proof the lab cannot check: every relay field dropped, for they may hold a key)
    assert direct.headers == [("Host", H), ("Content-Length", "0")]
    assert direct.header("x-forged") is None
    assert relayed.header("x-forged") is None and "victim" not in relayed.url
    assert [k for k, _ in relayed.headers if k.lower().startswith("x-hooklab-relay")] == []
    assert relayed.headers[:2] == [("Host", H), ("Content-Length", "0")]


def test_bodies_on_their_way_share_one_budget_in_the_jupyter_server(
        lab: HookLab, env: dict[str, object]) -> None:
    """Each relayed body is held in the Jupyter server until the lab answers, and nothing
    bounded them together: eight connections each sending 15 of 16 MiB and stalling grew the
    user's server by 105 MiB. Past MAX_IN_FLIGHT (64 MiB): 503 with Retry-After, and what
    a request held is free again once it ends."""
    port = int(str(env["port"]))
    path = _path(lab, "slow")
    full, part = 16 * 1024 * 1024, 15 * 1024 * 1024
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {full}\r\n\r\n".encode()
    stalled = []
    done = threading.Event()

    def trickle() -> None:  # (a byte now and then: slow, not stalled, so none makes room)
        for _ in range(120):  # (bounded: 60 s at most, 120 bytes of the 1 MiB left)
            try:
                for s in stalled:
                    s.send(b"s")
            except OSError:  # (closed: the assertions below say by whom)
                return
            if done.wait(0.5):
                return

    keeper = threading.Thread(target=trickle, daemon=True)
    try:
        for _ in range(4):  # 4 x 15 MiB: 60 of the 64 MiB (the README's MAX_IN_FLIGHT)
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            stalled.append(s)
            s.sendall(head + b"s" * part)
        keeper.start()
        time.sleep(1.0)  # (the server reads them all meanwhile: nothing else is going on)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + b"f" * full)
            reply = recv_until_close(s, 30)
        assert status(reply) == 503, reply[:300]
        assert b"\r\nretry-after: 5\r\n" in reply.lower() and b"busy" in reply
        done.set()
        keeper.join(10)
        for s in stalled:  # still waiting for their ends, unanswered
            s.setblocking(False)
            with pytest.raises(BlockingIOError):
                s.recv(1)
    finally:
        done.set()
        for s in stalled:
            s.close()
    # what the stalled requests held is free once their connections are gone
    body = b"n" * part
    for _ in range(20):
        if exchange(port, head.replace(str(full).encode(), str(part).encode()) + body) == 200:
            break
        time.sleep(0.25)
    (cap,) = lab.wait(1, timeout=10)
    assert cap.body == body


def test_stalled_bodies_make_room_in_the_budget(lab: HookLab, env: dict[str, object]) -> None:
    """Four uploads that stopped at 15 of 16 MiB held the relay's whole budget for
    BODY_SECONDS (60 s), and every webhook meanwhile got 503 (one holder of a public URL
    could keep a user's relay busy). A body that needs the room now gets it from those with
    no byte for STALL_SECONDS (2 s): they get 408 and their connections close."""
    from hooklab.ingress import relay

    port = int(str(env["port"]))
    path = _path(lab, "stall")
    full, part = 16 * 1024 * 1024, 15 * 1024 * 1024
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {full}\r\n\r\n".encode()
    stalled = []
    try:
        for _ in range(4):  # 60 of the 64 MiB
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            stalled.append(s)
            s.sendall(head + b"s" * part)
        time.sleep(relay.STALL_SECONDS + 1.0)  # (read by the server, then silent)
        body = b"f" * full
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(head.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n") + body)
            reply = recv_until_close(s, 30)
        assert status(reply) == 200, reply[:300]
        (cap,) = lab.wait(1, timeout=10)
        assert cap.body == body
        for s in stalled:  # each answered 408 and closed
            answer = recv_until_close(s, 10)
            assert status(answer) == 408, answer[:200]
            assert b"stalled" in answer and b"connection: close" in answer.lower()
    finally:
        for s in stalled:
            s.close()
    assert lab.store.count() == 1  # (nothing of the stalled ones stored)


def test_a_whole_body_waiting_for_the_lab_is_no_stalled_upload(
        lab: HookLab, env: dict[str, object]) -> None:
    """A complete webhook waiting for the lab's answer (a ``delay=`` rule, a slow commit) kept
    its bytes in the budget with a last byte that never moved: when others' bodies filled the
    budget, it got "408 the request body stalled" though the lab had stored it (the sender's
    retry a duplicate), and the Jupyter log "Cannot write() after finish()" (ninth attacker)."""
    lab.respond("slowapp", status=200, body={"ok": True}, delay=4)
    port = int(str(env["port"]))
    waiting, other = _path(lab, "slowapp"), _path(lab, "other")
    got: dict[str, bytes] = {}

    def deliver() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
            s.sendall(f"POST {waiting} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\n"
                      "Connection: close\r\n\r\n".encode() + b'{"real":1}\n')
            got["answer"] = recv_until_close(s, 20)

    sender = threading.Thread(target=deliver, daemon=True)
    sender.start()
    time.sleep(2.5)  # (the whole body arrived; its answer is 1.5 s away)
    full, part = 16 * 1024 * 1024, 16 * 1024 * 1024 - 4096
    head = f"POST {other} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {full}\r\n\r\n".encode()
    uploads = []
    try:
        for _ in range(5):  # the fifth does not fit: room is looked for
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            uploads.append(s)
            s.sendall(head + b"x" * part)
        sender.join(20)
    finally:
        for s in uploads:
            s.close()
    answer = got.get("answer", b"")
    assert status(answer) == 200, answer[:200]
    assert lab.wait(1, bin="slowapp", timeout=10)[0].body == b'{"real":1}\n'


def _fake_ngrok(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ingress.tunnel`` without ngrok: the in-process relay, reached on its local port."""
    import sys
    import types

    fake = types.ModuleType("pyngrok")
    fake.ngrok = types.SimpleNamespace(  # type: ignore[attr-defined]
        connect=lambda port, proto, **kw: types.SimpleNamespace(
            public_url=f"http://127.0.0.1:{port}"),
        disconnect=lambda url: None)  # fmt: skip
    monkeypatch.setitem(sys.modules, "pyngrok", fake)


@pytest.mark.parametrize("case", ["stalled body", "longer than the drain", "drained", "stops"])
def test_the_relay_bounds_how_long_and_how_much_it_reads(
        monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """A body not complete in BODY_SECONDS gets 408 (what it held is freed); a refused body
    is read and dropped up to DRAIN_BYTES, until DRAIN_IDLE passes without a byte, then
    answered and the connection closed; one announced longer than that is answered at once."""
    from hooklab.ingress import relay

    monkeypatch.setattr(relay, "BODY_SECONDS", 1.0)
    monkeypatch.setattr(relay, "DRAIN_BYTES", 10_000)
    monkeypatch.setattr(relay, "DRAIN_IDLE", 1.0)
    _fake_ngrok(monkeypatch)
    lab = HookLab(port=0, db=":memory:", max_body=1000).start()
    try:
        url = urlsplit(ingress.tunnel(lab, "t"))
        length, sent, want = {
            "stalled body": (500, 10, 408), "longer than the drain": (12_000, 0, 413),
            "drained": (9_000, 9_000, 413), "stops": (9_000, 4_000, 413)}[case]  # fmt: skip
        head = (f"POST {url.path} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
                ).encode()
        with socket.create_connection(("127.0.0.1", url.port), timeout=10) as s:  # type: ignore[arg-type]
            t0 = time.monotonic()
            s.sendall(head + b"z" * sent)
            reply = recv_until_close(s, 10)  # (ends: the relay closes after answering)
            took = time.monotonic() - t0
        assert status(reply) == want, reply[:200]
        assert b"connection: close" in reply.lower()
        assert took < {"stalled body": 3, "longer than the drain": 0.5, "drained": 0.5,
                       "stops": 3}[case], took  # fmt: skip
        assert lab.store.count() == 0
        # the relay works on afterwards
        assert exchange(url.port, head.replace(str(length).encode(), b"3")  # type: ignore[arg-type]
                        + b"abc") == 200
        assert [c.body for c in lab.wait(1, timeout=10)] == [b"abc"]
    finally:
        ingress.close_tunnels()
        lab.stop()


def test_relays_of_either_version_are_understood_and_no_key_is_stored(lab: HookLab) -> None:
    """(review) The relay's one proof of URL and list together was refused by a lab of the
    previous version (a kernel in its own environment), which then stored every header as
    sent: the public URL with its key among them. Now the URL has its proof as before and
    the list its own; a lab stores no relay field it cannot check."""
    from hooklab.server.guard import (
        RELAY_HEADERS,
        RELAY_HEADERS_PROOF,
        RELAY_PROOF,
        RELAY_URL,
        relay_headers,
        relay_proof,
    )

    nonce = lab.server.relay_nonce
    url = "https://hub.example.org/user/ada/hooklab/in/S3CRETKEY/sms"
    prefix = ("X-Forwarded-Prefix", "/user/ada/hooklab/in")
    listed = relay_headers([("Host", H), ("X-Listed", "1"), prefix])  # (as the relay lists)
    cases = {  # what the relay sends -> (the X-Listed field stored?, the URL shown?)
        "previous relay: URL and its proof": (
            [prefix, (RELAY_URL, url), (RELAY_PROOF, relay_proof(nonce, url))], False, True),
        "this relay: both proofs": (
            [prefix, (RELAY_URL, url), (RELAY_PROOF, relay_proof(nonce, url)),
             (RELAY_HEADERS, listed), (RELAY_HEADERS_PROOF, relay_proof(nonce, url, listed))],
            True, True),
        "a list without its proof": (
            [prefix, (RELAY_URL, url), (RELAY_PROOF, relay_proof(nonce, url)),
             (RELAY_HEADERS, listed)], False, True),
        "a list under a wrong proof": (
            [prefix, (RELAY_URL, url), (RELAY_PROOF, relay_proof(nonce, url)),
             (RELAY_HEADERS, listed), (RELAY_HEADERS_PROOF, relay_proof("x", url, listed))],
            False, True),
        "a relay this lab cannot check": (
            [prefix, (RELAY_URL, url), (RELAY_PROOF, relay_proof(nonce, url, listed)),
             (RELAY_HEADERS, listed), (RELAY_HEADERS_PROOF, "0" * 64)], False, False),
    }
    for n, (fields, listed_kept, shown) in enumerate(cases.values(), 1):
        head = "".join(f"{k}: {v}\r\n" for k, v in [("Host", H), *fields]).encode()
        assert exchange(lab.bound_port, b"POST /sms HTTP/1.1\r\n" + head +  # type: ignore[arg-type]
                        b"Content-Length: 0\r\n\r\n") == 200
        cap = lab.wait(n, timeout=10)[-1]
        what = list(cases)[n - 1]
        assert "S3CRETKEY" not in repr(cap), what
        assert [k for k, _ in cap.headers if k.lower().startswith("x-hooklab-relay")] == [], what
        assert (cap.header("X-Listed") == "1") is listed_kept, what
        assert (cap.url == url.replace("S3CRETKEY", "[key]")) is shown, (what, cap.url)


def test_a_sender_hanging_up_through_the_relay_during_a_delay_is_not_answered(
        lab: HookLab, env: dict[str, object]) -> None:
    """The relay's own request to the lab goes with its sender: the capture says 0 (no
    answer), as a direct sender's does; a sender that waits reads the rule's 201."""
    port = int(str(env["port"]))
    lab.respond("hangup", status=201, delay=1.5)
    path = _path(lab, "hangup")
    head = (f"POST {path}/gone HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\n{}").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        time.sleep(0.5)  # (the lab holds the answer 1.5 s)
    assert status(send(port, head.replace(b"/gone ", b"/read "))) == 201
    lab.wait(2, timeout=10, bin="hangup")
    end = time.monotonic() + 8
    while time.monotonic() < end:
        got = {c.path.rsplit("/", 1)[-1]: c.status for c in lab.captures if c.bin == "hangup"}
        if got == {"gone": 0, "read": 201}:
            break
        time.sleep(0.1)
    assert got == {"gone": 0, "read": 201}
