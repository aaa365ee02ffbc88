"""A bin's credential in ``Authorization``, in every spelling the verifiers take, stored alike
through the Jupyter relay (``lab.public_url``) and straight to ``lab.url``, and given back by a
forward.

The verifiers take a token (Okta, Auth0, Event Grid, a bin without a provider) as the value
itself or ``Bearer <secret>`` (the scheme in any case, any spaces, a secret with spaces in it),
and Basic credentials (Postmark, Chargebee, Pipedrive, a bin without a provider) with or without
base64 padding. Whatever verifies is stored in its credential form (``[secret]``, ``Bearer
[secret]``, ``Basic [secret]``; the scheme as sent) and a forward sends the real value; what does
not verify is not stored when it came through the relay (it may be the user's Jupyter token),
and a reason never quotes any part of it.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

import pytest
from _http import raw_request
from _jupyter_server import server_fixtures
from _target import Target

from hooklab import HookLab, ingress

pytestmark = pytest.mark.timeout(240)

TOKEN = "book-forms-jupyter-token-0123456789"
BASE = "/user/bf/"


jupyter, env, lab = server_fixtures("jupyter-forms", TOKEN, BASE)


def _send(port: int, path: str, headers: list[tuple[str, str]], body: bytes) -> int:
    """One POST with exactly these header fields (values as written: spaces, case)."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers)
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    out = raw_request(port, head.encode("latin-1") + body, timeout=15)
    return int(out.split(b" ", 2)[1])


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


S = "tok-5f2a9c0e81d4"  # a token
SP = "my shared token 42"  # a token with spaces in it
U = "hook-user:pa55-w0rd"  # Basic: 19 bytes, base64 ends '=='
U1 = "hook-user:pa55-w0rd1"  # 20 bytes, base64 ends '='
UP = "hook user:pass word 7"  # with spaces, no padding
assert _b64(U).endswith("==") and _b64(U1)[-2:-1] != "=" and _b64(U1).endswith("=")
assert not _b64(UP).endswith("=")

# (secret, Authorization sent, the rule that takes it or None, stored form, what a forward sends)
_SPELLINGS = [
    (S, S, "token", "[secret]", S),
    (S, f"Bearer {S}", "token", "Bearer [secret]", f"Bearer {S}"),
    (S, f"bearer {S}", "token", "bearer [secret]", f"bearer {S}"),
    (S, f"BEARER   {S}", "token", "BEARER   [secret]", f"BEARER   {S}"),
    (S, f"Bearer {S}   ", "token", "Bearer [secret]", f"Bearer {S}"),
    (SP, SP, "token", "[secret]", SP),
    (SP, f"Bearer {SP}", "token", "Bearer [secret]", f"Bearer {SP}"),
    (SP, f"bEaReR  {SP}", "token", "bEaReR  [secret]", f"bEaReR  {SP}"),
    (U, "Basic " + _b64(U), "basic", "Basic [secret]", "Basic " + _b64(U)),
    (U, "Basic " + _b64(U).rstrip("="), "basic", "Basic [secret]", "Basic " + _b64(U)),
    (U1, "basic " + _b64(U1).rstrip("="), "basic", "basic [secret]", "basic " + _b64(U1)),
    (UP, "BASIC  " + _b64(UP), "basic", "BASIC  [secret]", "BASIC  " + _b64(UP)),
    (UP, "Basic " + _b64(UP) + "  ", "basic", "Basic [secret]", "Basic " + _b64(UP)),
    # taken by no verifier: nothing of it stored through the relay
    (S, f"token {S}", None, None, None),
    (S, f"Bearer {S}x", None, None, None),
    (S, f"Bearer{S}", None, None, None),
    (SP, "Bearer my shared  token 42", None, None, None),
    (U, "Basic " + _b64(U + "x"), None, None, None),
    (U, "Basic " + _b64(U)[:-3], None, None, None),  # (cut short)
    (U, "Basic " + _b64(U).replace("=", "") + "===", None, None, None),
    (U, "Basic: " + _b64(U), None, None, None),
]
#: (provider, the rules of its verifier for Authorization, extra fields, body)
_PROVIDERS = [
    ("okta", {"token", "basic"}, [], b'{"eventType":"com.okta.event_hook","eventId":"e1","data":{"events":[]}}'),
    ("auth0", {"token"}, [], b'[{"log_id":"9001","data":{"type":"s"}}]'),
    ("eventgrid", {"token"}, [("aeg-event-type", "Notification")],
     b'[{"id":"e-1","eventType":"Microsoft.Storage.BlobCreated","data":{}}]'),
    ("postmark", {"basic"}, [], b'{"RecordType":"Delivery","MessageID":"m-1"}'),
    ("chargebee", {"basic"}, [], b'{"id":"ev_1","event_type":"customer_created","content":{}}'),
    ("pipedrive", {"basic"}, [], b'{"meta":{"action":"change","entity":"deal","id":7},"data":{}}'),
    (None, {"token", "basic"}, [], b'{"any":"thing"}'),  # its token: either form
    ("github", set(), [("X-GitHub-Event", "ping")], b'{"zen":"x"}'),  # signs: none is taken
]
_CASES = [(p, rules, extra, body, *spelling)
          for p, rules, extra, body in _PROVIDERS for spelling in _SPELLINGS]


def test_every_spelling_the_verifiers_take_is_stored_alike_through_the_relay_and_direct(
        lab: HookLab, env: dict[str, object]) -> None:
    """Verified through the relay exactly when straight to ``lab.url``; stored in the same
    credential form both ways; a forward gives the app the working credential. Not verified:
    nothing of it stored through the relay, and nothing of the secret stored either way."""
    jport, lport = int(str(env["port"])), lab.bound_port or 0
    sent_n = 0
    with Target() as target:
        for n, (provider, rules, extra, body, secret, auth, rule, stored, _) in enumerate(_CASES):
            bin = f"c{n}"
            lab.secret(bin, secret, provider=provider)
            lab.forward(bin, f"{target.url}/f{n}")
            fields = [("Content-Type", "application/json"), *extra, ("Authorization", auth)]
            relay = urlsplit(ingress.public_url(lab, bin, host="http://127.0.0.1")).path
            for port, path in ((jport, relay + "/relay"), (lport, f"/{bin}/direct")):
                assert _send(port, path, fields, body) == 200, (provider, auth, path)
                sent_n += 1
            caps = {c.path.rsplit("/", 1)[1]: c for c in lab.wait(2, bin=bin, timeout=10)}
            case = (provider, secret, auth)
            verified = rule in rules
            for route in ("relay", "direct"):
                cap = caps[route]
                assert cap.body == body, case
                assert cap.verified is verified, (case, route, cap.verify_reason)
                got = cap.header_all("authorization")
                if verified:
                    assert got == [stored], (case, route, got)
                elif route == "relay":
                    assert got == [], (case, got)
                blob = json.dumps([cap.headers, cap.verify_reason, cap.handshake])
                assert secret not in blob and _b64(secret).rstrip("=") not in blob, (case, route)
        received = target.wait(sent_n, timeout=60)
    assert len(received) == sent_n
    for n, (provider, rules, _, body, secret, auth, rule, _, fwd) in enumerate(_CASES):
        out = {r.path: r for r in received if r.path.startswith(f"/f{n}/")}
        assert set(out) == {f"/f{n}/relay", f"/f{n}/direct"}, (n, list(out))
        assert out[f"/f{n}/relay"].body == body
        if rule in rules:  # (the app gets what verifies: the credential itself)
            for route in ("relay", "direct"):
                assert out[f"/f{n}/{route}"].header("Authorization") == fwd, (provider, auth, route)
        else:
            assert out[f"/f{n}/relay"].header("Authorization") is None, (provider, auth)
            direct = out[f"/f{n}/direct"].header("Authorization") or ""
            assert secret not in direct, (provider, auth, direct)


# -- a relayed Authorization that is not the credential: no part of it in a reason --------------
_LONG = "hub-oauth-" + "f3c9a1e07b5d4c28e6a0" * 3  # one word of 70 characters
_HOSTILE = [  # (Authorization sent through the relay to a Basic-auth bin, what the reason says)
    ("SharedAccessSignature sr=https%3a%2f%2fns&sig=Zm9vYmFy&se=1700000000&skn=send", "'[secret]'"),
    (f"token {TOKEN}", "'[secret]'"),
    (f"Bearer {_LONG}", "'[secret]'"),
    (_LONG, "'[secret]..."),  # (cut short by the reason: nothing of what is left either)
    (f"{_LONG} tail", "'[secret]..."),
    ("it's-a-token-of-mine 1234", '"[secret]"'),  # (a quote in it: quoted with ")
    ("abc...defghijk more", "'[secret]'"),  # ("..." inside the word)
    ("Jupyter\\token\\x41 extra-part", "'[secret]'"),  # (escaped by repr)
    ("Sig=a b", "'[secret]'"),  # (shorter than 8 characters: its word still not shown)
]


@pytest.mark.parametrize("provider", ["postmark", "chargebee", "pipedrive"])
def test_a_dropped_authorization_is_not_quoted_by_the_reason(
        lab: HookLab, env: dict[str, object], provider: str) -> None:
    jport = int(str(env["port"]))
    lab.secret(provider, U, provider=provider)
    path = urlsplit(ingress.public_url(lab, provider, host="http://127.0.0.1")).path
    for n, (auth, got) in enumerate(_HOSTILE):
        assert _send(jport, path, [("Authorization", auth)], b"{}") == 200, auth
        cap = lab.wait(n + 1, bin=provider, timeout=10)[-1]
        assert cap.verified is False and cap.header_all("authorization") == [], auth
        assert cap.verify_reason == ("malformed Authorization: expected 'Basic <base64>', "
                                     f"got {got}"), (auth, cap.verify_reason)
        reason = cap.verify_reason.replace("[secret]", "\0")
        first = auth.split(" ", 1)[0]
        for i in range(len(first) - 3):  # (no 4 characters of its first word)
            assert first[i : i + 4] not in reason, (auth, first[i : i + 4], cap.verify_reason)
