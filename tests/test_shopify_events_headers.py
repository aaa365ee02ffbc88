"""Shopify Events deliveries, whose headers have no ``X-`` prefix, are Shopify's.

Shopify's Events (shopify.dev/docs/apps/build/events: "Verify Events deliveries", "Events
delivery structure") sign with ``Shopify-Hmac-Sha256`` (base64 HMAC-SHA256 of the body with the
app's client secret) and send ``Shopify-Topic`` (a resource: ``Product``; the body's ``action``
says what happened), ``Shopify-Webhook-Id`` (one delivery: retries repeat it),
``Shopify-Shop-Domain``, ``Shopify-Event-Id``... A correctly signed one read
``verified=False, "missing header X-Shopify-Hmac-Sha256"`` with no event type nor delivery id,
and a bin given a secret without a provider did not know it. Each row goes through a real lab on
127.0.0.1 (a SQLite file); the expected HMAC is computed here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from _http import post

import hooklab

SECRET = "shpss_events_client_secret_1"
BODY = json.dumps({"topic": "Product", "action": "update", "handle": "products-sync",
                   "resource_id": "gid://shopify/Product/1",
                   "fields_changed": ["title"]}).encode()


def _mac(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _events(mac: str, wid: str = "wh-1", **more: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "Shopify-Topic": "Product",
            "Shopify-Hmac-Sha256": mac, "Shopify-Webhook-Id": wid,
            "Shopify-Shop-Domain": "s.myshopify.com", "Shopify-Event-Id": "ev-1",
            "Shopify-Api-Version": "unstable", **more}


MISSING = ("missing header X-Shopify-Hmac-Sha256 (nor Shopify-Hmac-Sha256, as Shopify's "
           "Events send it)")

# (id, headers, body, (provider, event_type, delivery_id, verified, reason starts with))
ROWS = [
    ("events", _events(_mac(BODY)), BODY, ("shopify", "Product.update", "wh-1", True, "ok")),
    ("events-lower-case", {k.lower(): v for k, v in _events(_mac(BODY), "wh-2").items()}, BODY,
     ("shopify", "Product.update", "wh-2", True, "ok")),
    # Events send the X- spellings too, for now (@shopify/shopify-api checks the events one first)
    ("events-with-x-spellings-too",
     {**_events(_mac(BODY), "wh-3"), "X-Shopify-Hmac-Sha256": _mac(BODY),
      "X-Shopify-Topic": "products/update", "X-Shopify-Webhook-Id": "wh-3"}, BODY,
     ("shopify", "products/update", "wh-3", True, "ok")),
    ("webhooks", {"Content-Type": "application/json", "X-Shopify-Topic": "orders/create",
                  "X-Shopify-Hmac-Sha256": _mac(BODY), "X-Shopify-Webhook-Id": "wh-4"}, BODY,
     ("shopify", "orders/create", "wh-4", True, "ok")),
    ("events-wrong-secret", _events(_mac(BODY, "shpss_other"), "wh-5"), BODY,
     ("shopify", "Product.update", "wh-5", False, "signature mismatch")),
    ("events-tampered-body", _events(_mac(BODY), "wh-6"), BODY.replace(b"title", b"price"),
     ("shopify", "Product.update", "wh-6", False, "signature mismatch")),
    ("events-hex-not-base64",
     _events(hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest(), "wh-7"), BODY,
     ("shopify", "Product.update", "wh-7", False, "signature")),
    ("events-unsigned", {k: v for k, v in _events("", "wh-8").items()
                         if k != "Shopify-Hmac-Sha256"}, BODY,
     ("shopify", "Product.update", "wh-8", False, MISSING)),
]


def test_events_headers_are_shopifys_on_a_shopify_bin_and_a_bin_without_provider(file_lab):
    lab = file_lab
    lab.secret("shop", SECRET, provider="shopify")
    lab.secret("shop2", SECRET)  # no provider: the headers name the sender
    for bin_ in ("shop", "shop2"):
        for _, headers, body, _ in ROWS:
            assert post(lab.url_for(bin_), body, headers)[0] == 200
    got = lab.wait(2 * len(ROWS), timeout=30)
    wrong = []
    for cap, (name, _, _, want) in zip(got, ROWS + ROWS, strict=True):
        seen = (cap.provider, cap.event_type, cap.delivery_id, cap.verified)
        if seen != want[:4] or not (cap.verify_reason or "").startswith(want[4]):
            wrong.append((cap.bin, name, seen, cap.verify_reason))
        v = hooklab.verify_signature(None, SECRET, cap.headers, cap.body)
        if (v.valid, v.provider) != (want[3], "shopify"):
            wrong.append((cap.bin, name, "verify_signature", v))
    assert not wrong, wrong


def test_a_retried_events_delivery_is_flagged_duplicate(lab):
    lab.secret("shop", SECRET, provider="shopify")
    for _ in range(2):
        post(lab.url_for("shop"), BODY, _events(_mac(BODY), "wh-retry"))
    first, retry = lab.wait(2, timeout=20)
    assert (first.delivery_id, retry.delivery_id) == ("wh-retry", "wh-retry")
    assert (first.duplicate, retry.duplicate) == (False, True)


def test_the_advice_for_a_bin_without_provider_names_no_example_provider(lab):
    """An unknown sender's reason told the user to register ``provider='github'`` whatever the
    capture was: a placeholder now, beside where the ids are listed."""
    lab.secret("plain", SECRET)
    post(lab.url_for("plain"), b"{}", {"Content-Type": "application/json"})
    (cap,) = lab.wait(1, timeout=20)
    assert cap.provider is None and cap.verified is False
    assert cap.verify_reason == (
        "unknown provider: no known signature header found; give the bin a provider: "
        "lab.secret('plain', ..., provider='<id>') (ids: hooklab.providers.PROVIDERS)")
    assert "github" not in cap.verify_reason


def test_a_re_signed_replay_leaves_no_stale_signature_in_either_spelling(lab):
    """``lab.replay(..., resign=...)`` of an Events delivery put a fresh
    ``X-Shopify-Hmac-Sha256`` beside the stale ``Shopify-Hmac-Sha256`` the capture had, which
    Shopify's own library checks first: the app refused it. Each signature header the capture
    has now carries the fresh signature, and a spelling it did not have is not added. The
    receiving app is a second lab whose bin holds the new secret; the expected HMAC is made here."""
    new = "shpss_rotated_secret_2"
    lab.secret("shop", SECRET, provider="shopify")
    app = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        app.secret("app", new, provider="shopify")
        cases = [ROWS[0], ROWS[2], ROWS[3]]  # (events only, both spellings, X- only)
        for _, headers, body, _ in cases:
            assert post(lab.url_for("shop"), body, headers)[0] == 200
        caps = lab.wait(len(cases), timeout=30)
        assert [c.verified for c in caps] == [True] * len(cases)
        results = lab.replay(caps, to=app.url_for("app"), resign=new)
        assert [r.status for r in results] == [200] * len(cases), results
        got = app.wait(len(cases), timeout=30)
        want = _mac(BODY, new)
        seen = [(c.verified, c.header("Shopify-Hmac-Sha256"), c.header("X-Shopify-Hmac-Sha256"))
                for c in got]
        assert seen == [(True, want, None), (True, want, want), (True, None, want)], seen
    finally:
        app.stop()
