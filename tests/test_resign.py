"""Replay and forward with a fresh signature (``resign=``): a capture signed 600 s ago, replayed
to an app that verifies it with the provider's official SDK, is refused as it was and accepted
re-signed, the body bytes and the delivery id kept; a URL-signed provider (Twilio) verifies at
the app only re-signed for the app's URL; every provider hooklab signs, re-signed for the target
URL, verifies there."""

from __future__ import annotations

import http.client
import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest
from _provider_secrets import secrets_for

import hooklab
from hooklab.capture import Capture
from hooklab.outbound import Forwarder, Resign, replay, resigned
from hooklab.outbound.forward import target_url
from hooklab.providers import TABLE, sample
from hooklab.signatures import sign_request, verify_signature

STRIPE = "whsec_replay_test_123"
SWH = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
TWILIO = "twilio_auth_token_12345"
SLACK = "8f742231b10e8888abcd99yyyzzz85a5"
AGO = 600  # seconds since the capture was signed: past every 300 s tolerance


def _verifier(kind: str):  # type: ignore[no-untyped-def]
    """A function (url, headers, body) -> None that raises unless the SDK accepts it."""
    if kind == "stripe":
        stripe = pytest.importorskip("stripe")
        return lambda url, h, body: stripe.Webhook.construct_event(
            body, h.get("stripe-signature"), STRIPE)
    if kind == "standardwebhooks":
        mod = pytest.importorskip("standardwebhooks.webhooks")
        return lambda url, h, body: mod.Webhook(SWH).verify(body, h)
    if kind == "svix":
        mod = pytest.importorskip("svix.webhooks")
        return lambda url, h, body: mod.Webhook(SWH).verify(body, h)
    if kind == "twilio":
        mod = pytest.importorskip("twilio.request_validator")

        def check(url, h, body):  # type: ignore[no-untyped-def]
            ok = mod.RequestValidator(TWILIO).validate(
                url, dict(parse_qsl(body.decode())), h.get("x-twilio-signature", ""))
            if not ok:
                raise ValueError("twilio: invalid")
        return check
    if kind == "slack":
        mod = pytest.importorskip("slack_sdk.signature")

        def check(url, h, body):  # type: ignore[no-untyped-def]
            if not mod.SignatureVerifier(SLACK).is_valid_request(body, h):
                raise ValueError("slack: invalid")
        return check
    raise AssertionError(kind)


class App:
    """A local app verifying each webhook with ``check``: 200 when it verifies, 400 else."""

    def __init__(self, check) -> None:  # type: ignore[no-untyped-def]
        app = self
        self.check = check
        self.got: list[tuple[str, dict[str, str], bytes, str]] = []
        self.cond = threading.Condition()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                url = f"http://{self.headers['Host']}{self.path}"  # (as a framework sees it)
                try:
                    app.check(url, headers, body)
                    verdict = "ok"
                except Exception as exc:  # noqa: BLE001 - the SDK's refusal
                    verdict = f"refused: {type(exc).__name__}"
                with app.cond:
                    app.got.append((self.path, headers, body, verdict))
                    app.cond.notify_all()
                status = 200 if verdict == "ok" else 400
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, n: int) -> list[tuple[str, dict[str, str], bytes, str]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.got) >= n, 10), self.got
            return list(self.got)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _signed(kind: str, url: str) -> tuple[bytes, dict[str, str]]:
    """A delivery as the provider made it AGO seconds ago: body and headers."""
    ts = int(time.time()) - AGO
    if kind == "stripe":
        body = json.dumps({"id": "evt_1Old", "object": "event", "type": "charge.succeeded",
                           "data": {"object": {"id": "ch_1", "amount": 999}}}).encode()
        return body, {"Content-Type": "application/json", "User-Agent": "Stripe/1.0",
                      **sign_request("stripe", STRIPE, body=body, timestamp=ts).headers}
    if kind in ("standardwebhooks", "svix"):
        body = b'{"type":"user.created","data":{"id":"u_1","name":"caf\xc3\xa9"}}'
        hdrs = sign_request(kind, SWH, body=body, timestamp=ts, msg_id="msg_2Old").headers
        return body, {"Content-Type": "application/json", **hdrs}
    if kind == "twilio":
        body = b"AccountSid=AC1&Body=hello+world&From=%2B15550001&MessageSid=SM1"
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
        return body, {**hdrs, **sign_request("twilio", TWILIO, url=url, body=body,
                                              headers=hdrs).headers}
    if kind == "slack":
        body = b"token=x&team_id=T1&command=%2Fweather&text=94070"
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
        return body, {**hdrs, **sign_request("slack", SLACK, body=body, timestamp=ts).headers}
    raise AssertionError(kind)


SECRETS = {"stripe": STRIPE, "standardwebhooks": SWH, "svix": SWH, "twilio": TWILIO,
           "slack": SLACK}
#: the header that names the delivery, kept by a re-signed replay (apps deduplicate by it)
IDS = {"standardwebhooks": "webhook-id", "svix": "svix-id"}


def _capture(lab, kind: str) -> Capture:  # type: ignore[no-untyped-def]
    url = lab.url_for(kind, "hook")
    body, headers = _signed(kind, url)
    conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=10)
    try:
        conn.request("POST", urlsplit(url).path, body, headers)
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    (cap,) = lab.wait(1, bin=kind, timeout=10)
    assert cap.body == body and cap.provider == kind, (cap.provider, kind)
    return cap


@pytest.mark.parametrize("kind", ["stripe", "standardwebhooks", "svix", "twilio", "slack"])
def test_a_stale_capture_is_refused_by_the_sdk_and_accepted_re_signed(lab, kind: str) -> None:  # type: ignore[no-untyped-def]
    app = App(_verifier(kind))
    try:
        cap = _capture(lab, kind)
        (plain,) = replay([cap], app.url + "/webhook")
        (fresh,) = replay([cap], app.url + "/webhook", resign=SECRETS[kind])
        (given,) = replay([cap], app.url + "/webhook", resign=Resign(SECRETS[kind], kind))
        got = app.wait(3)
    finally:
        app.close()
    assert [g[3] for g in got][0].startswith("refused"), got[0][3]  # as it was: too old
    assert [g[3] for g in got][1:] == ["ok", "ok"]                  # re-signed: accepted
    assert (plain.status, plain.ok, fresh.status, fresh.ok, given.status) == \
        (400, False, 200, True, 200)
    for path, headers, body, _ in got:
        assert path == "/webhook/hook" and body == cap.body  # the exact bytes
        assert headers["content-type"] == cap.header("Content-Type")
        if kind in IDS:  # the delivery id the capture had
            assert headers[IDS[kind]] == cap.header(IDS[kind]) == "msg_2Old"
    if kind == "stripe":
        assert json.loads(got[1][2])["id"] == "evt_1Old"
        assert got[1][1]["user-agent"] == "Stripe/1.0"
        ts = int(got[1][1]["stripe-signature"].split(",")[0][2:])
        assert abs(ts - time.time()) < 60
    # nothing else changed: the same header names, in the same order
    assert [k for k in got[1][1]] == [k for k in got[0][1]]


def test_a_twilio_forward_verifies_at_the_app_only_re_signed(lab) -> None:  # type: ignore[no-untyped-def]
    """A forward changes the URL Twilio signed: the app's RequestValidator (over its own URL)
    refused every forward; re-signed for the forward's target it accepts it."""
    app = App(_verifier("twilio"))
    fwd = Forwarder(lab.store)
    try:
        # (a forward is re-signed only when the delivery verified with the bin's secret)
        lab.secret("twilio", TWILIO, provider="twilio")
        fwd.add("twilio", app.url + "/sms")
        _capture(lab, "twilio")
        first = app.wait(1)[0]
        fwd.add("twilio", app.url + "/sms", resign=Resign(TWILIO, "twilio"))
        body, headers = _signed("twilio", lab.url_for("twilio", "hook"))
        assert hooklab.send(lab.url_for("twilio", "hook"), payload=body,
                            headers=headers).status == 200
        second = app.wait(2)[1]
        assert fwd.join(10)
    finally:
        fwd.close()
        app.close()
    assert first[3].startswith("refused") and second[3] == "ok"
    assert second[0] == "/sms/hook" and second[2] == body
    assert second[1]["x-hooklab-forwarded-by"]  # (the forward's own mark is still sent)


def test_a_forward_that_cannot_be_re_signed_is_recorded_not_sent(lab) -> None:  # type: ignore[no-untyped-def]
    app = App(lambda url, h, body: None)
    fwd = Forwarder(lab.store)
    try:
        # verified (its sender gave the bin's token whole), yet no provider to sign as
        lab.secret("plain", "plain-bin-token")
        fwd.add("plain", app.url + "/in", resign="s3cret")
        hooklab.send(lab.url_for("plain"), payload={"no": "provider"},
                     headers={"Authorization": "Bearer plain-bin-token"})
        assert lab.wait(1, timeout=10)[0].verified is True
        assert fwd.join(10)
        deadline = time.monotonic() + 10
        while not lab.forwards() and time.monotonic() < deadline:
            time.sleep(0.02)
        (row,) = lab.forwards()
    finally:
        fwd.close()
        app.close()
    assert app.got == [] and row["status"] is None
    assert "cannot be re-signed: no provider was detected" in row["error"]
    assert "s3cret" not in row["error"]


#: resign= mistakes, each a ValueError (TypeError) before anything is sent
MISTAKES = [
    (lambda cap: Resign("k", "nosuchprovider"), ValueError, "cannot be re-signed as 'nosuchprovider'"),
    ("", ValueError, "non-empty secret"),
    (b"", ValueError, "non-empty secret"),
    (42, TypeError, "not int"),
    (Resign("not-a-whsec-key!", "svix"), ValueError, "cannot be re-signed as svix"),
    (Resign("zz", "discord"), ValueError, "cannot be re-signed as discord"),
    (Resign("not hex", "adyen"), ValueError, "cannot be re-signed as adyen"),
]


@pytest.mark.parametrize(("resign", "error", "said"), MISTAKES)
def test_a_capture_that_cannot_be_re_signed_is_refused_before_anything_is_sent(
        lab, resign, error, said) -> None:  # type: ignore[no-untyped-def]
    app = App(lambda url, h, body: None)
    try:
        hooklab.send(lab.url_for("svix"), payload={"type": "a.b"},
                     headers={"svix-id": "msg_1", "svix-timestamp": "1", "svix-signature": "v1,x"})
        (cap,) = lab.wait(1, timeout=10)
        with pytest.raises(error, match=said) as exc:
            replay([cap, cap], app.url + "/in", resign=resign)
    finally:
        app.close()
    assert app.got == []
    assert "not-a-whsec-key!" not in str(exc.value) and "not hex" not in str(exc.value)


def test_no_provider_detected_is_a_value_error_naming_the_capture(lab) -> None:  # type: ignore[no-untyped-def]
    hooklab.send(lab.url_for("plain"), payload={"a": 1})
    (cap,) = lab.wait(1, timeout=10)
    with pytest.raises(ValueError, match=rf"capture #{cap.id} cannot be re-signed: no provider"):
        replay([cap], "http://127.0.0.1:9/in", resign="whsec_x")


def test_resign_repr_hides_the_secret() -> None:
    assert "S3CR3T" not in repr(Resign("S3CR3T", "stripe"))


# -- every provider hooklab signs ------------------------------------------------------------
ORIGIN = "http://lab.example:8000/in/deliveries?x=1"
TARGET = "http://127.0.0.1:5000/app"
#: where a provider's signing changes the body: Mailgun carries its signature in it
BODY_CHANGES = {"mailgun"}


def _old_capture(pid: str) -> tuple[Capture, str]:
    s = sample(pid)
    signing, _ = secrets_for(pid)
    url = ORIGIN + s.query_string.replace("?", "&")
    req = sign_request(pid, signing, url=url, body=s.body, headers=dict(s.headers),
                       msg_id=s.msg_id, params=s.params, timestamp=int(time.time()) - AGO * 6,
                       method=s.method)
    names = {k.lower() for k in req.headers}
    headers = [(k, v) for k, v in s.headers if k.lower() not in names] + list(req.headers.items())
    sent = req.url or url
    cap = Capture(7, datetime.now(timezone.utc), s.method, urlsplit(sent).path, headers=headers,
                  body=req.body, url=sent, provider=pid)
    return cap, signing


@pytest.mark.parametrize("pid", sorted(TABLE))
def test_every_provider_re_signed_verifies_at_the_target_url(pid: str) -> None:
    cap, signing = _old_capture(pid)
    _, verifying = secrets_for(pid)
    url = target_url(cap, TARGET)
    assert url.startswith(TARGET + "/deliveries?x=1")
    stale = verify_signature(pid, verifying, cap.headers, cap.body, url=url, method=cap.method)
    row = TABLE[pid]  # (a time in the body, Linear's, is the body's: kept; Sanity: no window)
    if (row.timestamped and row.tolerance and "ts_json" not in row.sig) \
            or pid in ("twilio", "square", "mandrill", "plivo", "trello"):
        assert not stale.valid, (pid, stale.reason)  # (too old, or signed for another URL)
    sent_url, headers, body = resigned(cap, url, signing)
    fresh = verify_signature(pid, verifying, headers, body, url=sent_url, method=cap.method)
    assert fresh.valid, (pid, fresh.reason)
    if pid in BODY_CHANGES:
        assert body != cap.body
    else:
        assert body == cap.body
    assert sent_url == url  # (Twilio's bodySHA256 of the same body: the same URL)
    before = {k.lower(): v for k, v in cap.headers}
    after = {k.lower(): v for k, v in headers}
    for name in ("webhook-id", "svix-id"):  # the delivery id is kept
        if name in before:
            assert after[name] == before[name], pid
    kept = [k.lower() for k, _ in cap.headers]
    assert [k.lower() for k, _ in headers][:len(kept)] == kept, pid  # in place, in order


def test_twilio_json_keeps_its_body_and_signs_the_hash_in_the_query() -> None:
    body = b'{"a": 1}'
    hdrs = {"Content-Type": "application/json"}
    req = sign_request("twilio", TWILIO, url=ORIGIN, body=body, headers=hdrs,
                       timestamp=int(time.time()) - AGO)
    cap = Capture(3, datetime.now(timezone.utc), "POST", urlsplit(req.url).path,
                  headers=[*hdrs.items(), *req.headers.items()], body=body, url=req.url,
                  provider="twilio")
    url = target_url(cap, TARGET)
    sent_url, headers, sent = resigned(cap, url, TWILIO)
    assert sent == body and sent_url == url and url.count("bodySHA256=") == 1
    assert verify_signature("twilio", TWILIO, headers, sent, url=sent_url).valid


def test_mailgun_form_gets_new_signature_fields_in_place_of_the_old() -> None:
    body = b"event=delivered&recipient=a%40b.c&timestamp=1&token=old&signature=dead"
    cap = Capture(4, datetime.now(timezone.utc), "POST", "/mg",
                  headers=[("Content-Type", "application/x-www-form-urlencoded")], body=body,
                  url="http://x/mg", provider="mailgun")
    _, _, sent = resigned(cap, TARGET, "key-mg")
    fields = parse_qsl(sent.decode())
    assert [k for k, _ in fields] == ["event", "recipient", "timestamp", "token", "signature"]
    assert sent.startswith(b"event=delivered&recipient=a%40b.c&")
    assert verify_signature("mailgun", "key-mg", cap.headers, sent).valid
