"""The public relay (``hooklab.serverext``) against a hostile sender, through a real jupyter server.

What a sender on the internet controls: the path after the key, every header, the body. None of
it may leave the bin, forge the capture's URL, dodge the lab's size limit, or reach a process
that took over a dead kernel's port.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from _http import post, raw_request
from _jupyter_server import server_fixtures

from hooklab import HookLab, ingress
from hooklab.signatures import sign_request

pytestmark = pytest.mark.timeout(180)

TOKEN = "guard-test-token-0123456789"


jupyter, env, lab = server_fixtures("jupyter-guard", TOKEN, "/user/g/")


def _relay_path(lab: HookLab, bin: str) -> str:
    """The public URL's path, served here by the local jupyter server (its host is given)."""
    return urlsplit(ingress.public_url(lab, bin, host="http://127.0.0.1")).path


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


RELAY_DOTS = [
    "/../../api/contents", "/..", "/.", "/a/./b", "/%2e%2e/x", "/%2E%2e/x", "/.%2e/x", "/%2e/x",
    "/..;/x", "/..;a=b/x", "/.;/x", "/%2e%2e;/x", "/%2e%2e%2fx", "/..%2fx", "/..%2F..%2Fx",
    "/..%5cx", "/a/..%5c..%5cx", "/%252e%252e/x", "/%252e%252e%252fx", "/%2e%2e%5c_hooklab",
]


def test_relay_refuses_every_spelling_of_a_dot_segment(lab: HookLab, env: dict[str, object]) -> None:
    path = _relay_path(lab, "gh")
    port = int(str(env["port"]))
    for trick in RELAY_DOTS:
        head = f"POST {path}{trick} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        out = raw_request(port, head.encode())
        assert _status(out) == 400, (trick, out[:120])
    for fine in ("/a..b", "/.well-known/x", "/...", "/%2e%2e%2e"):
        head = f"POST {path}{fine} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        assert _status(raw_request(port, head.encode())) == 200, fine
    assert [c.path for c in lab.wait(4, timeout=10)] == [
        "/gh/a..b", "/gh/.well-known/x", "/gh/...", "/gh/%2e%2e%2e"]


def test_client_forwarding_headers_do_not_forge_the_capture(lab: HookLab, env: dict[str, object]) -> None:
    path = _relay_path(lab, "fw")
    port = int(str(env["port"]))
    head = (f"POST {path}/x?a=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n"
            "X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Prefix: /evil\r\n"
            "X-XSRFToken: xsrf-secret\r\nX-CSRFToken: csrf-secret\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\nhi")
    assert _status(raw_request(port, head.encode())) == 200
    (cap,) = lab.wait(1, timeout=10)
    assert cap.url.startswith("http://") and "evil" not in cap.url, cap.url
    assert cap.header_all("x-forwarded-proto") == ["http"]
    assert cap.header_all("x-forwarded-host") == [f"127.0.0.1:{port}"]
    assert cap.header_all("x-forwarded-prefix") == ["/user/g/hooklab/in"]
    assert cap.header_all("x-forwarded-for") == ["203.0.113.7, 127.0.0.1"]
    names = {k.lower() for k, _ in cap.headers}
    assert not names & {"x-xsrftoken", "x-csrftoken", "cookie", "authorization"}


def test_changing_max_body_reaches_the_relay(env: dict[str, object]) -> None:
    lab = HookLab(port=0, db=":memory:", max_body=1000).start()
    try:
        url = str(env["local"]) + _relay_path(lab, "size")[len("/user/g/"):]
        assert post(url, b"x" * 2000)[0] == 413
        lab.max_body = 100_000
        assert post(url, b"x" * 50_000)[0] == 200
        lab.max_body = 500
        assert post(url, b"x" * 600)[0] == 413
        assert [c.size for c in lab.captures] == [50_000]
    finally:
        ingress.unregister(lab)
        lab.stop()


class _Imposter(BaseHTTPRequestHandler):
    """Another user's process that took the dead kernel's port: records whatever reaches it."""

    got: list[tuple[str, str, bytes]] = []
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _any(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _Imposter.got.append((self.command, self.path, body))
        payload = b'{"ok": true, "id": 1}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = _any


def test_a_process_on_a_dead_labs_port_gets_nothing(env: dict[str, object]) -> None:
    lab = HookLab(port=0, db=":memory:").start()
    url = str(env["local"]) + _relay_path(lab, "dead")[len("/user/g/"):]
    assert post(url, b"first")[0] == 200
    port = lab.bound_port
    assert port is not None
    lab.server.stop()  # type: ignore[union-attr]  # the lab's server dies, the registration stays
    srv = None
    for _ in range(50):  # the port is free again at once, but be patient with TIME_WAIT
        try:
            srv = ThreadingHTTPServer(("127.0.0.1", port), _Imposter)
            break
        except OSError:
            time.sleep(0.1)
    assert srv is not None, "could not take over the port"
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    _Imposter.got.clear()
    try:
        status, body = post(url + "/secret", b"customer-data-4242")
        assert status == 502, body
        assert not any(b"customer-data" in b or "secret" in p for _, p, b in _Imposter.got)
        assert not any(p.startswith("/dead") for _, p, _ in _Imposter.got)
    finally:
        srv.shutdown()
        srv.server_close()
        ingress.unregister(lab)
        lab.stop()


def test_the_relay_check_needs_no_token_and_reveals_no_nonce(lab: HookLab) -> None:
    """The relay proves the lab is the one it registered; the answer cannot be replayed."""
    port = lab.bound_port
    assert port is not None

    def proof(challenge: str) -> tuple[int, bytes]:
        head = (f"GET /_hooklab/relay?challenge={challenge} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Connection: close\r\n\r\n")
        out = raw_request(port, head.encode())
        return _status(out), out.split(b"\r\n\r\n", 1)[1]

    s1, p1 = proof("a" * 32)
    s2, p2 = proof("b" * 32)
    assert s1 == s2 == 200 and p1 != p2
    assert lab.server.relay_nonce.encode() not in p1 + p2  # type: ignore[union-attr]
    assert proof("short")[0] == 400
    assert proof("")[0] == 400


def test_the_relay_check_is_guarded_against_rebinding(lab: HookLab) -> None:
    """The relay check endpoint is guarded like the rest of /_hooklab/ against rebinding."""
    port = lab.bound_port
    assert port is not None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET /_hooklab/relay?challenge={'c' * 32} HTTP/1.1\r\nHost: 127.0.0.1.nip.io\r\n"
                  "Connection: close\r\n\r\n".encode())
        assert s.recv(100).startswith(b"HTTP/1.1 403")



HUB_TOKEN = "hub-api-token-5f0e8c2a9d7b4e61"
_JUPYTER_TOKEN_FORMS = [  # (target suffix, headers): Jupyter's tokens, sent straight to lab.url
    ("?token={t}", []),  # copied from JupyterLab's address bar
    ("?a=1&token={t}&b=2", []),
    ("/{t}/x", []),  # in the path
    ("?{t}=1", []),  # as a query key
    ("?token={t_pct}", []),  # percent-encoded
    ("", [("Authorization", "token {t}")]),  # Jupyter's own scheme
    ("", [("Authorization", "Bearer {t}")]),
    ("", [("X-Jupyter-Token", "{t}")]),
    ("", [("Authorization", "Bearer {t_upper}")]),  # upper case
    ("", [("Cookie", "_xsrf=x; jupyterhub-session-id={t}")]),
]


@pytest.mark.parametrize("which", ["server", "hub"])
@pytest.mark.parametrize("suffix,headers", _JUPYTER_TOKEN_FORMS)
def test_jupyter_tokens_sent_straight_to_a_capture_url_are_never_stored(
    env: dict[str, object], monkeypatch: pytest.MonkeyPatch, tmp_path, which: str, suffix: str,
    headers: list[tuple[str, str]],
) -> None:
    """The token of the user's running Jupyter server (read from its runtime file) and the
    hub's API token (the kernel's environment) never reach the database or an export, in
    any form a request can carry it; the body stays exact. (The relay strips them; a capture
    sent to ``lab.url`` directly cannot tell them from a webhook's values.)"""
    if which == "hub":
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", HUB_TOKEN)
    tok = TOKEN if which == "server" else HUB_TOKEN
    fill = {"t": tok, "t_upper": tok.upper(), "t_pct": "".join(f"%{b:02X}" for b in tok.encode())}
    lab = HookLab(port=0, db=str(tmp_path / "j.sqlite3")).start()
    try:
        post(lab.url + "/in" + suffix.format(**fill), b'{"body": "exact"}',
             {k: v.format(**fill) for k, v in headers})
        (cap,) = lab.wait(1, timeout=10)
        assert cap.body == b'{"body": "exact"}'
        lab.export(str(tmp_path / "x.har"))
        lab.export(str(tmp_path / "x.jsonl"))
        lab.store.flush()
    finally:
        ingress.unregister(lab)
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.rglob("*") if f.is_file())
    for needle in (tok, tok.upper(), fill["t_pct"], tok[4:]):
        assert needle.encode() not in blob, needle


_URL_SIGNERS = [  # (provider, secret, content type, body): they sign the URL they call
    ("twilio", "twilio-auth-token", "application/x-www-form-urlencoded", b"Body=hi&From=%2B15550001"),
    ("square", "square-sig-key", "application/json", b'{"type":"payment.created"}'),
    ("hubspot", "hubspot-app-secret", "application/json", b'[{"eventId":1}]'),
    ("plivo", "plivo-auth-token", "application/x-www-form-urlencoded", b"From=1&To=2"),
    ("trello", "trello-app-secret", "application/json", b'{"action":{"type":"updateCard"}}'),
    ("mandrill", "mandrill-webhook-key", "application/x-www-form-urlencoded",
     b"mandrill_events=%5B%5D"),
]


@pytest.mark.parametrize("query", ["?a=1", "?token=myapp-0a1b2c3d&a=1"], ids=["query", "own-token"])
@pytest.mark.parametrize("provider,secret,ctype,body", _URL_SIGNERS)
def test_url_signing_providers_verify_through_the_relay_and_the_key_is_never_stored(
        env: dict[str, object], tmp_path, provider: str, secret: str, ctype: str, body: bytes,
        query: str) -> None:
    """Twilio, Square, HubSpot, Plivo, Trello and Mandrill sign the public URL they call
    (``.../hooklab/in/<key>/...``); the lab used to check them against its own address
    (``http://<host>/<bin>/...``), so every one failed on arrival through a hub. The relay
    now passes that URL on with a proof: verified on arrival, stored with the key as [key].
    A URL the user gave the provider with a ``token=`` of its own (an outside-in tester's
    Twilio and Square setups) is checked with it, as signed, and stored without it, as any
    ``token=`` through the relay (it failed on arrival: checked without the token)."""
    port = int(str(env["port"]))
    lab = HookLab(port=0, db=str(tmp_path / "u.sqlite3")).start()
    try:
        lab.secret("signed", secret, provider=provider)
        public = ingress.public_url(lab, "signed", host=f"http://127.0.0.1:{port}") + "/hook" + query
        key = urlsplit(public).path.split("/hooklab/in/", 1)[1].split("/", 1)[0]
        req = sign_request(provider, secret, url=public, body=body,
                           headers={"Content-Type": ctype})
        status, _ = post(req.url, req.body, {"Content-Type": ctype, **req.headers})
        assert status == 200
        (cap,) = lab.wait(1, timeout=10)
        assert (cap.provider, cap.verified) == (provider, True), cap.verify_reason
        assert cap.url == public.replace(key, "[key]").replace("token=myapp-0a1b2c3d&", "")
        assert cap.path == "/signed/hook"
        names = {k.lower() for k, _ in cap.headers}
        assert not names & {"x-hooklab-relay-url", "x-hooklab-relay-proof"}
        assert cap.verify(secret, url=req.url).valid  # (later: the URL given again)
        # a wrong signature: the reason's hint quotes the URL it was checked against, keyless
        bad = sign_request(provider, secret + "-other", url=public, body=body,
                           headers={"Content-Type": ctype})
        assert post(bad.url, bad.body, {"Content-Type": ctype, **bad.headers})[0] == 200
        wrong = lab.wait(2, timeout=10)[-1]
        assert wrong.verified is False and key not in (wrong.verify_reason or "")
        lab.store.flush()
    finally:
        ingress.unregister(lab)
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.glob("u.sqlite3*"))
    assert key.encode() not in blob and b"myapp-0a1b2c3d" not in blob


def test_relay_headers_from_a_sender_prove_nothing(env: dict[str, object], lab: HookLab) -> None:
    """A sender that adds the relay's headers itself (straight to the lab, or through the
    relay) cannot choose the URL a signature is checked against."""
    from hooklab.server.guard import RELAY_PROOF, RELAY_URL, relay_proof

    forged = "https://victim.example/hook"
    lab.secret("tw", "twilio-auth-token", provider="twilio")
    req = sign_request("twilio", "twilio-auth-token", url=forged, body=b"A=1",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    fake = {RELAY_URL: forged, RELAY_PROOF: relay_proof("not-the-nonce", forged),
            "X-Forwarded-Prefix": "/"}
    headers = {"Content-Type": "application/x-www-form-urlencoded", **req.headers, **fake}
    post(lab.url_for("tw"), b"A=1", headers)  # straight to the lab
    port = int(str(env["port"]))
    post(f"http://127.0.0.1:{port}{_relay_path(lab, 'tw')}", b"A=1", headers)  # through the relay
    direct, relayed = lab.wait(2, timeout=10)
    # (a proof the lab cannot check: the relay's fields are dropped, for they may hold a key)
    assert direct.verified is False and direct.header(RELAY_URL) is None
    assert relayed.verified is False and relayed.header(RELAY_URL) is None  # the relay drops them
    assert "victim" not in direct.url + relayed.url


def test_a_token_sent_through_the_relay_stays_out_of_the_capture_url(env: dict[str, object], tmp_path) -> None:
    """The relay strips ``token=`` from what it passes on, and from the URL it passes on
    for signature checks (which becomes ``capture.url``): a hub user's API token in the
    query was stored there, in the database and in exports."""
    port = int(str(env["port"]))
    lab = HookLab(port=0, db=str(tmp_path / "t.sqlite3")).start()
    try:
        path = _relay_path(lab, "in")
        for query in ("?token=hub-user-api-token-5e1f&a=1", "?a=1&token=hub-user-api-token-5e1f",
                      "?%74oken=hub-user-api-token-5e1f&a=1"):
            assert post(f"http://127.0.0.1:{port}{path}/x{query}", b"{}")[0] == 200
        caps = lab.wait(3, timeout=10)
        assert [c.url.endswith("/x?a=1") for c in caps] == [True] * 3, [c.url for c in caps]
        lab.store.flush()
    finally:
        ingress.unregister(lab)
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.glob("t.sqlite3*"))
    assert b"hub-user-api-token-5e1f" not in blob


@pytest.mark.parametrize("host", ["[x]", "[::1", "[]", "a:b:c", "h:99999"])
def test_a_malformed_host_through_the_relay_is_still_captured(env: dict[str, object], lab: HookLab,
                                                              host: str) -> None:
    """The URL the relay passes on is made from the request's Host; one that is no URL
    (``[x]``) made the lab's check raise: 500, nothing captured."""
    port = int(str(env["port"]))
    head = (f"POST {_relay_path(lab, 'h')}/x HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\nhi")
    answer = raw_request(port, head.encode())
    if _status(answer) == 400:  # (the Jupyter server may refuse such a Host itself)
        return
    assert _status(answer) == 200, answer[:200]
    (cap,) = lab.wait(1, timeout=10)
    assert cap.body == b"hi" and cap.path == "/h/x"
    # the relay's proof was right: its headers (the URL holds the key) are never stored
    assert not [k for k, _ in cap.headers if k.lower().startswith("x-hooklab-relay")], cap.headers


@pytest.mark.parametrize("registered", [False, True])
def test_a_jupyter_token_as_method_event_or_delivery_id_is_not_stored(
        env: dict[str, object], tmp_path, registered: bool) -> None:
    """(A second attack.) The server takes any token as a method, and detection reads the
    event type and delivery id out of the body after the first scrub: all three are
    scrubbed too (the body keeps it: bodies are stored exactly)."""
    lab = HookLab(port=0, db=str(tmp_path / "m.sqlite3")).start()
    if registered:  # (the bin's provider given: verification reads the body's type again)
        lab.secret("stripe", "whsec_dGVzdHNlY3JldA", provider="stripe")
    try:
        port = lab.bound_port
        head = (f"{TOKEN} /m HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n")
        assert _status(raw_request(port, head.encode())) == 200  # type: ignore[arg-type]
        body = json.dumps({"id": f"evt_{TOKEN}", "type": f"charge.{TOKEN}", "object": "event",
                           "data": {"object": {}}}).encode()
        post(lab.url_for("stripe"), body, {"Content-Type": "application/json",
                                           "Stripe-Signature": "t=1,v1=00"})
        method_cap, stripe_cap = lab.wait(2, timeout=10)
        assert TOKEN not in method_cap.method and method_cap.method == "redacted"
        assert stripe_cap.provider == "stripe" and TOKEN not in (stripe_cap.event_type or "")
        assert TOKEN not in (stripe_cap.delivery_id or "") and stripe_cap.body == body
        lab.store.flush()
        cols = lab.dataframe()[["method", "event_type", "delivery_id"]].astype(str).to_string()
        assert TOKEN not in cols
    finally:
        ingress.unregister(lab)
        lab.stop()


def test_the_relay_checks_against_the_url_public_url_gave_out(env: dict[str, object], tmp_path) -> None:
    """``public_url(bin, host=...)`` (or ``$HOOKLAB_PUBLIC_URL`` in the kernel): the key keeps
    the origin it was given out with, and the relay checks signatures against that, not
    against the origin the Jupyter server would guess or the request's Host."""
    port = int(str(env["port"]))
    lab = HookLab(port=0, db=":memory:").start()
    try:
        lab.secret("tw", "twilio-auth-token", provider="twilio")
        given = ingress.public_url(lab, "tw", host="https://webhooks.example.com") + "/in?x=1"
        key = urlsplit(given).path.split("/hooklab/in/", 1)[1].split("/", 1)[0]
        req = sign_request("twilio", "twilio-auth-token", url=given, body=b"Body=hi",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        local = f"http://127.0.0.1:{port}{urlsplit(given).path}?x=1"
        assert post(local, req.body, {"Content-Type": "application/x-www-form-urlencoded",
                                      **req.headers})[0] == 200
        (cap,) = lab.wait(1, timeout=10)
        assert cap.verified is True, cap.verify_reason
        assert cap.url == given.replace(key, "[key]")
    finally:
        ingress.unregister(lab)
        lab.stop()


def test_a_jupyter_server_started_after_the_lab_has_its_token_scrubbed_too(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The tokens were read once, when the lab started: a Jupyter server started later (a
    second JupyterLab, a restarted one) had its token stored when it reached a capture URL.
    The server now reads the runtime directory again when it changes; a token once seen stays
    scrubbed after its server stops."""
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    later = "later-server-token-8c1f7a93be20d4"
    lab = HookLab(port=0, db=str(tmp_path / "late.sqlite3")).start()
    try:
        post(lab.url + f"/in?token={later}", b"{}", {})  # not a Jupyter server's token yet
        (first,) = lab.wait(1, timeout=10)
        assert later in first.url
        (runtime / "jpserver-4242.json").write_text(json.dumps({"token": later, "port": 1}))
        deadline = time.monotonic() + 30
        n = 1
        while time.monotonic() < deadline:
            post(lab.url + f"/in?token={later}", b"{}", {"Authorization": f"token {later}"})
            n += 1
            got = lab.wait(n, timeout=10)
            if later not in got[-1].url:
                break
            time.sleep(0.5)
        assert later not in got[-1].url and "[redacted]" in got[-1].url
        assert got[-1].header("authorization") == "[redacted]"
        (runtime / "jpserver-4242.json").unlink()  # that server stops: its token stays scrubbed
        time.sleep(2.5)
        post(lab.url + f"/in?token={later}", b"{}", {})
        assert later not in lab.wait(n + 1, timeout=10)[-1].url
    finally:
        ingress.unregister(lab)
        lab.stop()


def test_hostile_files_in_the_runtime_directory_never_stop_the_token_watch(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """A ``jpserver-*.json`` nested 65,536 deep (RecursionError), a FIFO named like one (an
    open would block the capture loop) and 5,000 kernel files: the lab starts, and the token
    of a server started later is still scrubbed (the first made every later look fail)."""
    import os

    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "jpserver-1.json").write_text("[" * 65536)
    os.mkfifo(runtime / "jpserver-2.json")
    for i in range(5000):
        (runtime / f"kernel-{i}.json").write_text("{}")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    later = "after-hostile-token-2f7c0d9e41ab"
    lab = HookLab(port=0, db=":memory:").start()
    try:
        (runtime / "jpserver-99.json").write_text(json.dumps({"token": later}))
        deadline = time.monotonic() + 30
        n = 0
        while time.monotonic() < deadline:
            post(lab.url + f"/in?token={later}", b"{}", {})
            n += 1
            if later not in lab.wait(n, timeout=10)[-1].url:
                break
            time.sleep(0.5)
        assert later not in lab.wait(n, timeout=10)[-1].url
    finally:
        ingress.unregister(lab)
        lab.stop()
