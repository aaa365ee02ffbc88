"""Sample payload builders per provider (private; use :func:`hooklab.providers.samples.sample`).

Each builder takes ``(event, unix_timestamp)`` and returns ``(headers, data)`` with fresh ids.
Field names, id formats and headers follow each provider's public webhook documentation.
"""

from __future__ import annotations

import random
import secrets
import string
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

_B62 = string.ascii_letters + string.digits
_JSON = ("Content-Type", "application/json")


# -- ids and times -------------------------------------------------------------------------------
def b62(n: int) -> str:
    return "".join(secrets.choice(_B62) for _ in range(n))


def _hex(n: int) -> str:
    return secrets.token_hex(n // 2 + 1)[:n]


def _num(digits: int) -> int:
    return random.randint(10 ** (digits - 1), 10**digits - 1)


def _iso(ts: float, z: bool = True) -> str:
    s = datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")
    return s.replace("+00:00", "Z") if z else s


# -- GitHub --------------------------------------------------------------------------------------
def _gh_user(login: str = "octocat", uid: int = 583231) -> dict[str, Any]:
    return {"login": login, "id": uid, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "html_url": f"https://github.com/{login}", "type": "User", "site_admin": False}


def _gh_repo(rid: int) -> dict[str, Any]:
    return {"id": rid, "node_id": "R_kgDOJ" + b62(6), "name": "hello-world",
            "full_name": "octocat/hello-world", "private": False, "owner": _gh_user(),
            "html_url": "https://github.com/octocat/hello-world", "description": "My first repo",
            "fork": False, "url": "https://api.github.com/repos/octocat/hello-world",
            "default_branch": "main", "visibility": "public"}


def _github(event: str, ts: int) -> tuple[list[tuple[str, str]], Any]:
    rid, hook = _num(9), _num(9)
    repo, user = _gh_repo(rid), _gh_user()
    now = _iso(ts)
    if event == "push":
        before, after = _hex(40), _hex(40)
        commit = {"id": after, "tree_id": _hex(40), "distinct": True,
                  "message": "Fix webhook signature check", "timestamp": _iso(ts, z=False),
                  "url": f"https://github.com/octocat/hello-world/commit/{after}",
                  "author": {"name": "Mona Octocat", "email": "octocat@github.com",
                             "username": "octocat"},
                  "committer": {"name": "Mona Octocat", "email": "octocat@github.com",
                                "username": "octocat"},
                  "added": [], "removed": [], "modified": ["app.py"]}
        data: dict[str, Any] = {
            "ref": "refs/heads/main", "before": before, "after": after, "repository": repo,
            "pusher": {"name": "octocat", "email": "octocat@github.com"}, "sender": user,
            "created": False, "deleted": False, "forced": False, "base_ref": None,
            "compare": f"https://github.com/octocat/hello-world/compare/{before[:12]}...{after[:12]}",
            "commits": [commit], "head_commit": commit}
    elif event == "pull_request.opened":
        n = random.randint(2, 999)
        data = {"action": "opened", "number": n, "pull_request": {
            "url": f"https://api.github.com/repos/octocat/hello-world/pulls/{n}", "id": _num(10),
            "html_url": f"https://github.com/octocat/hello-world/pull/{n}", "number": n,
            "state": "open", "locked": False, "title": "Add webhook handler", "user": user,
            "body": "Handles push events.", "created_at": now, "updated_at": now,
            "draft": False, "merged": False, "commits": 1, "additions": 42, "deletions": 3,
            "head": {"label": "octocat:feature", "ref": "feature", "sha": _hex(40)},
            "base": {"label": "octocat:main", "ref": "main", "sha": _hex(40)}},
            "repository": repo, "sender": user}
    elif event == "issues.opened":
        n = random.randint(2, 999)
        data = {"action": "opened", "issue": {
            "url": f"https://api.github.com/repos/octocat/hello-world/issues/{n}", "id": _num(10),
            "html_url": f"https://github.com/octocat/hello-world/issues/{n}", "number": n,
            "title": "Webhook deliveries fail with 401", "user": user, "labels": [],
            "state": "open", "locked": False, "assignees": [], "comments": 0,
            "created_at": now, "updated_at": now, "body": "Signature mismatch since Monday."},
            "repository": repo, "sender": user}
    else:  # ping
        data = {"zen": "Keep it logically awesome.", "hook_id": hook, "hook": {
            "type": "Repository", "id": hook, "name": "web", "active": True, "events": ["push"],
            "config": {"content_type": "json", "insecure_ssl": "0",
                       "url": "https://example.com/webhook"},
            "updated_at": now, "created_at": now}, "repository": repo, "sender": user}
    headers = [("Accept", "*/*"), ("Content-Type", "application/json"),
               ("User-Agent", "GitHub-Hookshot/" + _hex(7)),
               ("X-GitHub-Delivery", str(uuid.uuid4())), ("X-GitHub-Event", event.split(".")[0]),
               ("X-GitHub-Hook-ID", str(hook)),
               ("X-GitHub-Hook-Installation-Target-ID", str(rid)),
               ("X-GitHub-Hook-Installation-Target-Type", "repository")]
    return headers, data


# -- Stripe --------------------------------------------------------------------------------------
def _stripe_object(event: str, ts: int) -> tuple[dict[str, Any], dict[str, Any] | None]:
    pi, ch, cus = "pi_" + b62(24), "ch_" + b62(24), "cus_" + b62(14)
    if event == "payment_intent.succeeded":
        return {"id": pi, "object": "payment_intent", "amount": 2000, "amount_received": 2000,
                "currency": "usd", "status": "succeeded", "capture_method": "automatic",
                "customer": None, "description": "(created by hooklab sample)",
                "latest_charge": ch, "payment_method": "pm_" + b62(24),
                "payment_method_types": ["card"], "created": ts, "livemode": False,
                "metadata": {}}, None
    if event == "checkout.session.completed":
        return {"id": "cs_test_" + b62(58), "object": "checkout.session",
                "amount_subtotal": 2000, "amount_total": 2000, "currency": "usd",
                "customer": cus, "customer_details": {"email": "jenny.rosen@example.com",
                                                      "name": "Jenny Rosen"},
                "mode": "payment", "payment_intent": pi, "payment_status": "paid",
                "status": "complete", "success_url": "https://example.com/success",
                "created": ts, "livemode": False, "metadata": {}}, None
    if event == "invoice.paid":
        return {"id": "in_" + b62(24), "object": "invoice", "amount_due": 1500,
                "amount_paid": 1500, "amount_remaining": 0, "currency": "usd", "customer": cus,
                "billing_reason": "subscription_cycle", "status": "paid",
                "number": f"{b62(8).upper()}-0001", "subscription": "sub_" + b62(24),
                "hosted_invoice_url": "https://invoice.stripe.com/i/acct_test/" + b62(20),
                "created": ts, "livemode": False, "metadata": {}}, None
    # charge.refunded
    return ({"id": ch, "object": "charge", "amount": 2000, "amount_captured": 2000,
             "amount_refunded": 2000, "captured": True, "refunded": True, "currency": "usd",
             "payment_intent": pi, "status": "succeeded", "paid": True, "created": ts,
             "livemode": False, "metadata": {}},
            {"amount_refunded": 0, "refunded": False})


def _stripe(event: str, ts: int) -> tuple[list[tuple[str, str]], Any]:
    obj, previous = _stripe_object(event, ts)
    envelope_data: dict[str, Any] = {"object": obj}
    if previous is not None:
        envelope_data["previous_attributes"] = previous
    data = {"id": "evt_" + b62(24), "object": "event", "api_version": "2024-06-20",
            "created": ts, "data": envelope_data, "livemode": False, "pending_webhooks": 1,
            "request": {"id": "req_" + b62(14), "idempotency_key": str(uuid.uuid4())},
            "type": event}
    headers = [("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)"),
               ("Content-Type", "application/json; charset=utf-8"),
               ("Cache-Control", "no-cache"), ("Accept", "*/*; q=0.5, application/xml")]
    return headers, data


# -- Shopify, Slack, GitLab ----------------------------------------------------------------------
def _shopify(event: str, ts: int) -> tuple[list[tuple[str, str]], Any]:
    oid, number, now = _num(13), random.randint(1001, 9999), _iso(ts, z=False)
    item = {"id": _num(14), "title": "Aerodynamic Concrete Clock", "quantity": 1,
            "price": "199.00", "sku": "ACC-001", "product_id": _num(13), "variant_id": _num(14)}
    data = {"id": oid, "admin_graphql_api_id": f"gid://shopify/Order/{oid}",
            "email": "jon@example.com", "created_at": now, "updated_at": now, "currency": "USD",
            "subtotal_price": "199.00", "total_tax": "0.00", "total_price": "199.00",
            "financial_status": "paid", "fulfillment_status": None, "name": f"#{number}",
            "order_number": number, "test": True, "line_items": [item],
            "customer": {"id": _num(13), "email": "jon@example.com", "first_name": "Jon",
                         "last_name": "Doe"}}
    headers = [("Content-Type", "application/json"), ("X-Shopify-Topic", event),
               ("X-Shopify-Shop-Domain", "example-shop.myshopify.com"),
               ("X-Shopify-API-Version", "2025-01"),
               ("X-Shopify-Webhook-Id", str(uuid.uuid4())),
               ("X-Shopify-Event-Id", str(uuid.uuid4())),
               ("X-Shopify-Triggered-At", _iso(ts, z=False)[:19] + ".000000Z")]
    return headers, data


def _slack(event: str, ts: int) -> tuple[list[tuple[str, str]], Any]:
    headers = [("Content-Type", "application/json"),
               ("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")]
    token = b62(24)
    if event == "url_verification":
        return headers, {"token": token, "challenge": b62(48), "type": "url_verification"}
    team, app, user, slack_ts = "T" + b62(10).upper(), "A" + b62(10).upper(), "U" + b62(10).upper(), f"{ts}.{random.randint(0, 999999):06d}"
    data = {"token": token, "team_id": team, "api_app_id": app,
            "event": {"type": "app_mention", "user": user, "text": "<@U0LAN0Z89> is the deploy done?",
                      "ts": slack_ts, "channel": "C" + b62(10).upper(), "event_ts": slack_ts},
            "type": "event_callback", "event_id": "Ev" + b62(10).upper(), "event_time": ts,
            "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": user,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False, "event_context": "4-" + b62(40)}
    return headers, data


def _gitlab(event: str, ts: int) -> tuple[list[tuple[str, str]], Any]:
    before, after = _hex(40), _hex(40)
    project = {"id": _num(8), "name": "hello-world", "description": "",
               "web_url": "https://gitlab.example.com/mike/hello-world",
               "path_with_namespace": "mike/hello-world", "default_branch": "main",
               "git_http_url": "https://gitlab.example.com/mike/hello-world.git"}
    data = {"object_kind": "push", "event_name": "push", "before": before, "after": after,
            "ref": "refs/heads/main", "ref_protected": True, "checkout_sha": after,
            "user_id": _num(6), "user_name": "John Smith", "user_username": "jsmith",
            "user_email": "", "project_id": project["id"], "project": project,
            "commits": [{"id": after, "message": "Update README\n", "title": "Update README",
                         "timestamp": _iso(ts, z=False),
                         "url": f"{project['web_url']}/-/commit/{after}",
                         "author": {"name": "John Smith", "email": "[REDACTED]"},
                         "added": [], "modified": ["README.md"], "removed": []}],
            "total_commits_count": 1,
            "repository": {"name": "hello-world", "url": project["git_http_url"],
                           "homepage": project["web_url"], "visibility_level": 20}}
    idem = str(uuid.uuid4())
    headers = [("Content-Type", "application/json"), ("User-Agent", "GitLab/17.5.0"),
               ("Idempotency-Key", idem), ("X-Gitlab-Event", "Push Hook"),
               # (two ids: Idempotency-Key is kept by a retry, X-Gitlab-Event-UUID by the
               # webhooks this one triggers)
               ("X-Gitlab-Webhook-UUID", str(uuid.uuid4())),
               ("X-Gitlab-Event-UUID", str(uuid.uuid4())),
               ("X-Gitlab-Instance", "https://gitlab.example.com")]
    return headers, data


# -- Twilio (form-encoded), Standard Webhooks, Svix ------------------------------------------------
def _twilio(event: str, ts: int) -> tuple[list[tuple[str, str]], Any]:
    sid = "SM" + _hex(32)
    data = {"ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0",
            "ToCity": "SAN FRANCISCO", "FromZip": "94105", "SmsSid": sid, "FromState": "CA",
            "SmsStatus": "received", "FromCity": "SAN FRANCISCO", "Body": "Hello from hooklab",
            "FromCountry": "US", "To": "+15005550006", "MessagingServiceSid": "MG" + _hex(32),
            "ToZip": "94105", "NumSegments": "1", "MessageSid": sid, "AccountSid": "AC" + _hex(32),
            "From": "+14155550100", "ApiVersion": "2010-04-01"}
    headers = [("Content-Type", "application/x-www-form-urlencoded"),
               ("User-Agent", "TwilioProxy/1.1"), ("I-Twilio-Idempotency-Token", str(uuid.uuid4()))]
    return headers, data


SWH_DATA: dict[str, dict[str, Any]] = {
    "invoice.paid": {"object": "invoice", "amount": 1500, "currency": "usd", "status": "paid"},
    "user.created": {"object": "user", "email": "ada@example.com", "name": "Ada Lovelace"},
    "contact.created": {"object": "contact", "email": "alex@example.com", "name": "Alex"},
}


def _swh(prefix: str) -> Callable[[str, int], tuple[list[tuple[str, str]], Any]]:
    def build(event: str, ts: int) -> tuple[list[tuple[str, str]], Any]:
        extra = SWH_DATA.get(event, {"object": event.split(".")[0]})
        data = {"type": event, "timestamp": datetime.fromtimestamp(ts, timezone.utc)
                .isoformat(timespec="microseconds").replace("+00:00", "Z"),
                "data": {"id": str(uuid.uuid4()), **extra}}
        ua = [("User-Agent", "Svix-Webhooks/1.x (+https://www.svix.com/http-sender/)")]
        return [_JSON, *(ua if prefix == "svix" else [])], data
    return build


BUILDERS: dict[str, Callable[[str, int], tuple[list[tuple[str, str]], Any]]] = {
    "github": _github, "gitlab": _gitlab, "shopify": _shopify, "slack": _slack,
    "standardwebhooks": _swh("webhook"), "stripe": _stripe, "svix": _swh("svix"),
    "twilio": _twilio,
}
