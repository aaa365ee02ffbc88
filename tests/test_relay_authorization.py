"""``Authorization`` through the Jupyter relay (``lab.public_url``), on a real jupyter server.

On a Jupyter server a request's ``Authorization`` can be the user's Jupyter or JupyterHub token
(JupyterLab sends ``Authorization: token ...`` under the server's base URL; a hub takes ``token``
and ``Bearer``), so it must never be stored; but it is also the credential of Okta, Auth0, Azure
Event Grid, monday.com and every Basic-auth sender. The relay hands it to the lab sealed under the
lab's nonce: the lab checks the bin's credential with it exactly as for a request sent straight to
``lab.url``, and stores it only where it is that credential (``[secret]``, given back by forward
and replay); a sender cannot write the relay's field itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from _http import raw_request
from _jupyter_server import server_fixtures
from _target import Target

from hooklab import HookLab, ingress
from hooklab.server import guard
from hooklab.signatures import sign_request

pytestmark = pytest.mark.timeout(240)

TOKEN = "relay-auth-jupyter-token-0123456789"
BASE = "/user/ra/"
#: a JupyterHub OAuth token as the user's browser holds it: the lab cannot know it to scrub it
HUB = "hub-oauth-f3c9a1e07b5d4c28e6a0"


jupyter, env, lab = server_fixtures("jupyter-auth", TOKEN, BASE)


def _relay_path(lab: HookLab, bin: str) -> str:
    """The public URL's path (its host given: the local jupyter server serves it)."""
    return urlsplit(ingress.public_url(lab, bin, host="http://127.0.0.1")).path


def _send(port: int, path: str, headers: list[tuple[str, str]], body: bytes = b"",
          method: str = "POST") -> tuple[int, bytes]:
    """One request with exactly these header fields (names as written, repeats kept)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    out = raw_request(port, head.encode("latin-1") + body, timeout=15)
    status, _, rest = out.partition(b"\r\n\r\n")
    return int(status.split(b" ", 2)[1]), rest


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _jport(env: dict[str, object]) -> int:
    return int(str(env["port"]))


# -- Okta's one-time verification GET ----------------------------------------------------------
OKTA_BASIC = "Basic " + _b64("okta-hook:pa55-w0rd-91")  # the header value configured in Okta
OKTA_TOKEN = "okta-shared-token-5d1c2b7e"
OKTA_SPACED = "okta shared token 5d1c"
_OKTA_VERIFY = [  # (bin's secret, Authorization fields sent, status, stored Authorization fields)
    (OKTA_BASIC, [("Authorization", OKTA_BASIC)], 200, ["[secret]"]),
    (OKTA_BASIC, [("authorization", OKTA_BASIC)], 200, ["[secret]"]),  # (an HTTP/2 proxy's case)
    (OKTA_TOKEN, [("Authorization", OKTA_TOKEN)], 200, ["[secret]"]),
    (OKTA_TOKEN, [("Authorization", f"Bearer {OKTA_TOKEN}")], 200, ["Bearer [secret]"]),
    (OKTA_TOKEN, [("Authorization", f"bearer  {OKTA_TOKEN}")], 200, ["bearer  [secret]"]),
    # (the verifier's spellings: a token with spaces in it, sent whole or as Bearer)
    (OKTA_SPACED, [("Authorization", OKTA_SPACED)], 200, ["[secret]"]),
    (OKTA_SPACED, [("Authorization", f"Bearer {OKTA_SPACED}")], 200, ["Bearer [secret]"]),
    (OKTA_SPACED, [("Authorization", f"BEARER   {OKTA_SPACED}")], 200, ["BEARER   [secret]"]),
    (OKTA_SPACED, [("Authorization", "Bearer okta shared  token 5d1c")], 401, []),
    (OKTA_BASIC, [], 401, []),  # missing
    (OKTA_BASIC, [("Authorization", "Basic " + _b64("okta-hook:wrong"))], 401, []),
    (OKTA_BASIC, [("Authorization", f"token {TOKEN}")], 401, []),  # the Jupyter token
    (OKTA_BASIC, [("Authorization", f"Bearer {HUB}")], 401, []),  # the hub's
    (OKTA_BASIC, [("Authorization", "")], 401, []),
    (OKTA_TOKEN, [("Authorization", f"token {OKTA_TOKEN}")], 401, []),  # no such scheme
    (OKTA_TOKEN, [("Authorization", OKTA_TOKEN + "x")], 401, []),
    # (Okta's authScheme.key names the field: any the sender writes, not a hop's)
    (OKTA_TOKEN, [("X-Authorization", OKTA_TOKEN)], 200, []),
    (OKTA_TOKEN, [("X-Forwarded-Authorization", OKTA_TOKEN)], 401, []),
    (OKTA_TOKEN, [("Proxy-Authorization", OKTA_TOKEN)], 401, []),  # a hop's credential
]


def test_okta_verification_through_the_relay_answers_as_lab_url_does(
        lab: HookLab, env: dict[str, object]) -> None:
    """Right value: 200 ``{"verification": <challenge>}`` and the capture verified, stored with
    ``[secret]``; wrong or missing: 401, and nothing of what was sent stored. The same request
    straight to ``lab.url`` gets the same answer."""
    port = _jport(env)
    for n, (secret, auth, want, stored) in enumerate(_OKTA_VERIFY):
        bin = f"okta{n}"
        lab.secret(bin, secret, provider="okta")
        challenge = f"rBl9nYaK4Xi5TmVUlCO{n}"
        fields = [("X-Okta-Verification-Challenge", challenge), ("Accept", "application/json"),
                  *auth]
        case = (secret, auth)
        direct = _send(lab.bound_port or 0, f"/{bin}", fields, method="GET")
        status, body = _send(port, _relay_path(lab, bin), fields, method="GET")
        assert status == direct[0] == want, (case, status, body, direct)
        if want == 200:
            assert json.loads(body) == json.loads(direct[1]) == {"verification": challenge}, case
        cap = lab.wait(1, bin=bin, timeout=10)[-1]  # (the relayed one: the second)
        assert cap.header_all("x-okta-verification-challenge") == [challenge]
        assert cap.header("x-forwarded-prefix") == f"{BASE}hooklab/in", case  # relayed
        assert cap.verified is (want == 200), (case, cap.verified, cap.verify_reason)
        assert cap.header_all("authorization") == stored, case
        assert not [k for k, _ in cap.headers if k.lower().startswith("x-hooklab-relay-")]
        for _, value in auth:  # (nothing of it in clear: a match is [secret])
            if len(value) >= 8:
                assert value not in json.dumps([cap.headers, cap.verify_reason, cap.handshake])


# -- deliveries: verified, stored as [secret], given back by forward and replay -----------------
_MONDAY_BODY = b'{"event":{"boardId":42,"type":"update_column_value","triggerUuid":"tu-1"}}'
_DELIVERIES = [  # (provider or None, secret, extra fields, body, stored Authorization)
    ("okta", OKTA_BASIC, [],
     b'{"eventType":"com.okta.event_hook","eventId":"ev-1",'
     b'"data":{"events":[{"eventType":"user.lifecycle.create"}]}}', "[secret]"),
    ("auth0", "auth0-log-stream-token-77", [],
     b'[{"log_id":"9001","data":{"type":"s"}}]', "[secret]"),
    ("eventgrid", "eg-shared-value-3141592", [("aeg-event-type", "Notification")],
     b'[{"id":"e-1","eventType":"Microsoft.Storage.BlobCreated","data":{}}]', "[secret]"),
    ("pipedrive", "pd-hook:pd-pa55", [],
     b'{"meta":{"action":"change","entity":"deal","id":7},"data":{"id":7}}', "Basic [secret]"),
    # monday.com: a JWT the signing secret signed, not the secret: stored as sent (as a capture
    # sent straight to lab.url stores it), so forward and replay send that very JWT
    ("monday", "monday-signing-secret-2718", [], _MONDAY_BODY, None),
]


def test_deliveries_verify_and_forward_and_replay_give_authorization_back(
        lab: HookLab, env: dict[str, object]) -> None:
    port = _jport(env)
    with Target() as target:
        for n, (provider, secret, extra, body, stored) in enumerate(_DELIVERIES):
            bin = f"d{n}{provider}"
            lab.secret(bin, secret, provider=provider)
            lab.forward(bin, f"{target.url}/fwd{n}")
            sent = sign_request(provider, secret, body=body).headers["Authorization"]
            fields = [("Content-Type", "application/json"), *extra, ("Authorization", sent)]
            status, answer = _send(port, _relay_path(lab, bin) + "/hook", fields, body)
            assert status == 200, (provider, answer)
            cap = lab.wait(1, bin=bin, timeout=10)[-1]
            assert cap.verified is True, (provider, cap.verify_reason)
            assert cap.provider == provider and cap.body == body
            assert cap.header_all("authorization") == [sent if stored is None else stored]
            if stored is not None:
                assert secret not in json.dumps(cap.headers)
            (result,) = lab.replay(cap, to=f"{target.url}/replay{n}")
            assert result.status == 200, (provider, result)
            got = target.wait(2 * n + 2, timeout=15)
            for where in (f"/fwd{n}/hook", f"/replay{n}/hook"):  # (forwarding is in the background)
                (out,) = [r for r in got if r.path == where]
                assert out.body == body and out.header("Authorization") == sent, (provider, where)
            lab.forward(bin, None)


def test_a_bins_token_without_provider_through_the_relay(lab: HookLab, env: dict[str, object]) -> None:
    """A bin with a secret and no provider: its token sent as Bearer verifies (as straight to
    ``lab.url``), is stored as ``Bearer [secret]`` and replayed as sent; another value is not
    stored."""
    port = _jport(env)
    lab.secret("plain", "plain-bin-token-6a5b4c")
    with Target() as target:
        for n, (sent, verified, stored) in enumerate([
            ("Bearer plain-bin-token-6a5b4c", True, ["Bearer [secret]"]),
            (f"Bearer {HUB}", False, []),
            (f"token {TOKEN}", False, []),
        ]):
            _send(port, _relay_path(lab, "plain"), [("Authorization", sent)], b"{}")
            cap = lab.wait(n + 1, bin="plain", timeout=10)[-1]
            assert cap.verified is verified and cap.header_all("authorization") == stored, sent
            if verified:
                (result,) = lab.replay(cap, to=target.url)
                assert result.status == 200
                assert target.wait(1, timeout=15)[-1].header("Authorization") == sent


# -- what must never be stored ----------------------------------------------------------------
_NOT_STORED = [  # Authorization fields a sender (or the user's own browser) may send
    [("Authorization", f"token {TOKEN}")],  # JupyterLab's own requests
    [("Authorization", f"token {HUB}")],
    [("Authorization", f"Bearer {HUB}")],  # a hub takes Bearer too
    [("authorization", f"bearer {HUB.upper()}")],
    [("Authorization", HUB)],  # whole (a Basic bin's reason quotes its first word)
    [("Authorization", "Basic " + _b64(f"jupyter:{HUB}"))],
    [("Authorization", "Basic " + _b64(HUB))],
    [("Authorization", f"Bearer {HUB}"), ("Authorization", f"token {TOKEN}")],  # two fields
    [("Authorization", f"Bearer {HUB}"), ("X-Other", "1"), ("AUTHORIZATION", HUB)],
]
_NOT_STORED_BINS = [  # (bin, secret, provider): none of them matches a value above
    ("nosecret", None, None),
    ("okta", OKTA_BASIC, "okta"),
    ("pipedrive", "pd-hook:pd-pa55", "pipedrive"),
    ("github", "gh-webhook-secret-1234", "github"),
    ("monday", "monday-signing-secret-2718", "monday"),
    ("plain", "plain-bin-token-6a5b4c", None),
]


def test_jupyter_and_hub_tokens_through_the_relay_are_never_stored(
        env: dict[str, object], tmp_path: Path) -> None:
    """Nothing of a Jupyter or hub token sent through the relay reaches the database file or an
    export, on a bin with no secret and on bins whose secret it does not match (as before the
    relay handed ``Authorization`` to the lab)."""
    port = _jport(env)
    db = tmp_path / "tokens.sqlite3"
    lab = HookLab(port=0, db=str(db)).start()
    try:
        for bin, secret, provider in _NOT_STORED_BINS:
            if secret is not None:
                lab.secret(bin, secret, provider=provider)
        count = 0
        for bin, _, _ in _NOT_STORED_BINS:
            path = _relay_path(lab, bin)
            for fields in _NOT_STORED:
                status, _ = _send(port, path, [("Content-Type", "application/json"), *fields],
                                  _MONDAY_BODY)
                assert status == 200, (bin, fields)
                count += 1
        caps = lab.wait(count, timeout=30)
        assert len(caps) == count
        for cap in caps:
            assert cap.header_all("authorization") == [], (cap.bin, cap.headers)
            assert cap.verified is not True, (cap.bin, cap.verify_reason)
            assert cap.body == _MONDAY_BODY
        for fmt in ("har", "jsonl", "csv"):
            lab.export(str(tmp_path / f"out.{fmt}"))
        lab.store.flush()
    finally:
        ingress.unregister(lab)
        lab.stop()
    blob = b"".join(f.read_bytes() for f in tmp_path.rglob("*") if f.is_file())
    assert _MONDAY_BODY in blob  # (the captures are there)
    for tok in (TOKEN, HUB):
        for needle in (tok, tok.upper(), tok[4:20], tok[-16:], _b64(tok), _b64(f"jupyter:{tok}")):
            assert needle.encode() not in blob, needle


# -- a sender that writes the relay's field itself ---------------------------------------------
def _forged_seal(url: str) -> str:
    return guard.relay_seal("not-the-labs-nonce", url, [(0, "Authorization", OKTA_BASIC)])


_FORGED = [  # fields a sender adds, with no Authorization of its own (or a wrong one)
    [("X-Hooklab-Relay-Authorization", OKTA_BASIC)],
    [("x-hooklab-relay-authorization", OKTA_BASIC)],
    [("X-HOOKLAB-RELAY-AUTHORIZATION", OKTA_BASIC)],
    [("X-Hooklab-Relay-Authorization", "{seal}")],
    [("X-Hooklab-Relay-Authorization", "{seal}"), ("X-Hooklab-Relay-Authorization", OKTA_BASIC)],
    [("X-Hooklab-Relay-Authorization", json.dumps([[0, "Authorization", OKTA_BASIC]]))],
    [("X-Hooklab-Relay-Authorization", OKTA_BASIC), ("Authorization", "Basic " + _b64("x:y"))],
    [("X-Hooklab-Relay-Headers", json.dumps([["Authorization", OKTA_BASIC]])),
     ("X-Hooklab-Relay-Headers-Proof", "0" * 64)],
    [("X-Hooklab-Relay-Url", "{url}"), ("X-Hooklab-Relay-Proof", "0" * 64),
     ("X-Hooklab-Relay-Authorization", "{seal}")],
    [("X-Forwarded-Authorization", OKTA_BASIC), ("X-Original-Authorization", OKTA_BASIC)],
]


@pytest.mark.parametrize("route", ["relay", "direct"])
def test_a_sender_writing_the_relay_field_gains_nothing(
        lab: HookLab, env: dict[str, object], route: str) -> None:
    """Through the relay (which drops every ``X-Hooklab-Relay-*`` a sender wrote) and straight to
    ``lab.url`` (no proof: dropped): Okta's verification is refused, nothing is verified and no
    ``Authorization`` is stored; with the right ``Authorization`` too, it still verifies."""
    lab.secret("okta", OKTA_BASIC, provider="okta")
    public = ingress.public_url(lab, "okta", host="http://127.0.0.1")
    port, path = (_jport(env), urlsplit(public).path) if route == "relay" else (
        lab.bound_port or 0, "/okta")
    seen = 0
    for fields in _FORGED:
        fields = [(k, v.format(seal=_forged_seal(public), url=public)) for k, v in fields]
        for right in (False, True):
            sent = [("X-Okta-Verification-Challenge", "chal-1"), *fields]
            if right:
                sent = [f for f in sent if f[0] != "Authorization"] + [("Authorization", OKTA_BASIC)]
            status, body = _send(port, path, sent, method="GET")
            assert status == (200 if right else 401), (route, fields, right, body)
            seen += 1
            cap = lab.wait(seen, timeout=10)[-1]
            assert cap.verified is right, (route, fields, right, cap.verify_reason)
            own = [v for k, v in sent if k == "Authorization"]  # (a wrong one: straight to
            # lab.url a webhook's credential is stored as sent; through the relay never)
            assert cap.header_all("authorization") == (
                ["[secret]"] if right else own if route == "direct" else []), (route, fields)
            assert not [k for k, _ in cap.headers if k.lower().startswith("x-hooklab-relay-")]
            assert OKTA_BASIC[6:] not in json.dumps(
                [cap.headers, cap.url, cap.verify_reason, cap.handshake])


# -- a lab of an older hooklab stores the relay's fields it does not know: only sealed ----------
class _OldLab:
    """A process on loopback that proves the lab's nonce to the relay and records every request
    as it arrives (as a lab that stores whatever fields it gets)."""

    def __init__(self) -> None:
        self.host, self.max_body = "127.0.0.1", 1 << 20
        self.server = type("S", (), {"relay_nonce": "old-lab-nonce-" + os.urandom(8).hex(),
                                     "max_body": 1 << 20})()
        self.requests: list[bytes] = []
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                if self.path.startswith("/_hooklab/relay"):
                    challenge = parse_qs(urlsplit(self.path).query)["challenge"][0]
                    proof = hmac.new(me.server.relay_nonce.encode(), challenge.encode(),
                                     hashlib.sha256).hexdigest()
                    self._answer(json.dumps({"proof": proof}).encode())
                    return
                self.do_POST()

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                me.requests.append(self.raw_requestline + bytes(self.headers) + body)
                self._answer(b"{}")

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.bound_port = self.http.server_address[1]

    @contextmanager
    def running(self) -> Iterator[_OldLab]:
        thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            ingress.unregister(self)
            self.http.shutdown()
            self.http.server_close()
            thread.join(10)


def test_the_relay_hands_authorization_over_sealed_only(env: dict[str, object]) -> None:
    """What the relay sends the lab holds the ``Authorization`` a sender gave in no readable
    form (a lab of an older hooklab stores every field it gets, its relay fields too)."""
    with _OldLab().running() as old:
        path = urlsplit(ingress.public_url(old, "old", host="http://127.0.0.1")).path
        for value in (f"token {TOKEN}", f"Bearer {HUB}", HUB, "Basic " + _b64(f"u:{HUB}")):
            status, _ = _send(_jport(env), path + "/x", [("Authorization", value)], b"{}")
            assert status == 200, value
        assert len(old.requests) == 4
        for wire in old.requests:
            assert b"x-hooklab-relay-authorization:" in wire.lower()  # (handed over, sealed)
            assert b"\nauthorization:" not in wire.lower()
            for tok in (TOKEN, HUB):
                for needle in (tok, tok[4:20], _b64(tok), _b64(f"u:{tok}")[:20]):
                    assert needle.encode() not in wire, needle
