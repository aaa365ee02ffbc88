"""Sample deliveries for the providers beyond the first eight (private; see
:func:`hooklab.providers.samples.sample`).

Each builder takes ``(event, unix_timestamp)`` and returns ``(headers, data)`` or
``(headers, data, options)``; ``options`` may hold ``method`` (for GET and HEAD ``data`` is
the query), ``query`` (True: ``data`` is the query of a POST without body), ``headers`` (added
last), ``body`` (``"form"``, ``"json"``, ``"json_pretty"``, ``"json_crlf"``, ``"none"``),
``json_fields`` (form fields whose value is JSON text: ``data`` holds them parsed), ``form``
(a function from ``data`` to the form's fields, for a form that holds its payload encoded) and
``signed`` (False: a handshake its sender never signs, sent as it comes whatever the
secret), ``throwaway`` (False: unsigned without a secret, see ``Sample.throwaway``). Payload shapes, ids and headers follow each provider's public documentation and
published examples; every call makes fresh ids.
"""

from __future__ import annotations

import base64
import random
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from ._sample_data import _JSON, _hex, _iso, _num, b62

Built = tuple[list[tuple[str, str]], Any] | tuple[list[tuple[str, str]], Any, dict[str, Any]]
Builder = Callable[[str, int], Built]

_UUID = lambda: str(uuid.uuid4())  # noqa: E731
_GET = {"method": "GET"}
#: an endpoint check its sender never signs (a secret given to ``send`` signs nothing)
_CHECK = {"method": "GET", "signed": False}


def _ua(agent: str, ctype: str = "application/json") -> list[tuple[str, str]]:
    return [("Content-Type", ctype), ("User-Agent", agent)]


def _token(n: int = 32) -> str:
    return secrets.token_urlsafe(n)[:n]


# -- source control, CI, developer tools -------------------------------------------------------
def _bitbucket(event: str, ts: int) -> Built:
    repo = {"type": "repository", "full_name": "team/hello-world", "name": "hello-world",
            "uuid": "{" + _UUID() + "}", "is_private": True}
    actor = {"type": "user", "display_name": "Mona Lisa", "uuid": "{" + _UUID() + "}",
             "account_id": "557058:" + _UUID()}
    commit = _hex(40)
    data = {"actor": actor, "repository": repo, "push": {"changes": [{
        "old": {"type": "branch", "name": "main", "target": {"type": "commit", "hash": _hex(40)}},
        "new": {"type": "branch", "name": "main", "target": {
            "type": "commit", "hash": commit, "message": "Fix signature check\n",
            "date": _iso(ts, z=False), "author": {"raw": "Mona Lisa <mona@example.com>"}}},
        "created": False, "closed": False, "forced": False, "commits": [{"hash": commit}]}]}}
    return ([*_ua("Bitbucket-Webhooks/2.0"), ("X-Event-Key", event),
             ("X-Request-UUID", _UUID()), ("X-Hook-UUID", _UUID()),
             ("X-Attempt-Number", "1")], data)


def _jira(event: str, ts: int) -> Built:
    key = f"PROJ-{random.randint(1, 999)}"
    data = {"timestamp": ts * 1000, "webhookEvent": event, "issue_event_type_name": "issue_created",
            "user": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Mia Krystof",
                     "active": True, "timeZone": "Europe/London"},
            "issue": {"id": str(_num(5)), "key": key,
                      "self": f"https://example.atlassian.net/rest/api/2/issue/{_num(5)}",
                      "fields": {"summary": "Webhook deliveries fail with 401",
                                 "issuetype": {"name": "Bug"}, "priority": {"name": "High"},
                                 "status": {"name": "To Do"}, "created": _iso(ts, z=False)}}}
    return ([*_ua("Atlassian Webhook HTTP Client"),
             ("X-Atlassian-Webhook-Identifier", str(_num(10))),
             ("X-Atlassian-Webhook-Retry", "0")], data)


def _gitea(event: str, ts: int) -> Built:
    after = _hex(40)
    data = {"ref": "refs/heads/main", "before": _hex(40), "after": after,
            "compare_url": f"https://gitea.example.com/org/app/compare/{_hex(10)}...{after[:10]}",
            "commits": [{"id": after, "message": "Update README\n",
                         "url": f"https://gitea.example.com/org/app/commit/{after}",
                         "author": {"name": "Jo", "email": "jo@example.com", "username": "jo"},
                         "timestamp": _iso(ts, z=False)}],
            "repository": {"id": _num(3), "full_name": "org/app", "private": False,
                           "html_url": "https://gitea.example.com/org/app"},
            "pusher": {"id": 1, "login": "jo"}, "sender": {"id": 1, "login": "jo"}}
    delivery = _UUID()
    return ([("Content-Type", "application/json"), ("X-Gitea-Event", event),
             ("X-Gitea-Event-Type", event), ("X-Gitea-Delivery", delivery),
             ("X-Gogs-Event", event), ("X-Gogs-Event-Type", event), ("X-Gogs-Delivery", delivery),
             ("X-GitHub-Event", event), ("X-GitHub-Event-Type", event),
             ("X-GitHub-Delivery", delivery)], data)  # (as Gitea sends; signed: see its row)


def _circleci(event: str, ts: int) -> Built:
    data = {"type": event, "id": _UUID(), "happened_at": _iso(ts),
            "webhook": {"id": _UUID(), "name": "hooklab"},
            "project": {"id": _UUID(), "name": "hello-world", "slug": "gh/octocat/hello-world"},
            "organization": {"id": _UUID(), "name": "octocat"},
            "workflow": {"id": _UUID(), "name": "build-and-test", "status": "success",
                         "created_at": _iso(ts - 90), "stopped_at": _iso(ts),
                         "url": "https://app.circleci.com/pipelines/gh/octocat/hello-world/42"},
            "pipeline": {"id": _UUID(), "number": 42, "created_at": _iso(ts - 95),
                         "vcs": {"provider_name": "github", "branch": "main", "revision": _hex(40)}}}
    return ([*_ua("CircleCI-Webhook/1.0"), ("Circleci-Event-Type", event)], data)


def _buildkite(event: str, ts: int) -> Built:
    data = {"event": event, "build": {"id": _UUID(), "number": random.randint(1, 900),
            "state": "passed", "branch": "main", "commit": _hex(40), "message": "Bump deps",
            "web_url": "https://buildkite.com/acme/app/builds/42", "created_at": _iso(ts - 60),
            "finished_at": _iso(ts)},
            "pipeline": {"slug": "app", "name": "app"}, "sender": {"name": "Keith Pitt"}}
    return ([*_ua("Buildkite-Request"), ("X-Buildkite-Event", event),
             ("X-Buildkite-Request", _UUID())], data)


def _terraform(event: str, ts: int) -> Built:
    run = "run-" + b62(16)
    data = {"payload_version": 1, "notification_configuration_id": "nc-" + b62(16),
            "run_url": f"https://app.terraform.io/app/acme/workspaces/prod/runs/{run}",
            "run_id": run, "run_message": "Triggered via UI", "run_created_at": _iso(ts - 120),
            "run_created_by": "jsmith", "workspace_id": "ws-" + b62(16), "workspace_name": "prod",
            "organization_name": "acme",
            "notifications": [{"message": "Applied", "trigger": event, "run_status": "applied",
                               "run_updated_at": _iso(ts), "run_updated_by": "jsmith"}]}
    return (_ua("Go-http-client/1.1"), data)


def _sentry(event: str, ts: int) -> Built:
    resource, action = event.split(".")
    data = {"action": action, "installation": {"uuid": _UUID()},
            "data": {"issue": {"id": str(_num(10)), "shortId": "HOOKLAB-1A",
                               "title": "ZeroDivisionError: division by zero", "level": "error",
                               "status": "unresolved", "culprit": "app.views in checkout",
                               "firstSeen": _iso(ts), "project": {"slug": "web", "id": "4"}}},
            "actor": {"type": "application", "id": "sentry", "name": "Sentry"}}
    return ([*_ua("sentry"), ("Sentry-Hook-Resource", resource),
             ("Sentry-Hook-Timestamp", str(ts)), ("Request-ID", _UUID())], data)


def _vercel(event: str, ts: int) -> Built:
    dpl = "dpl_" + b62(28)
    data = {"id": _UUID(), "type": event, "createdAt": ts * 1000, "region": "iad1",
            "payload": {"team": {"id": "team_" + b62(24)}, "user": {"id": b62(24)},
                        "deployment": {"id": dpl, "name": "web", "url": f"web-{b62(9).lower()}.vercel.app",
                                       "meta": {"githubCommitRef": "main"}},
                        "links": {"deployment": f"https://vercel.com/acme/web/{dpl}"},
                        "target": "production", "project": {"id": "prj_" + b62(28)}}}
    return (_ua("Vercel/1.0"), data)


def _netlify(event: str, ts: int) -> Built:
    data = {"id": _hex(24), "site_id": _UUID(), "build_id": _hex(24), "state": "building",
            "name": "brave-curie-12ab34", "url": "https://brave-curie-12ab34.netlify.app",
            "branch": "main", "context": "production", "commit_ref": _hex(40),
            "title": "Bump deps", "created_at": _iso(ts), "updated_at": _iso(ts),
            "deploy_time": None, "error_message": None}
    return ([*_ua("Netlify"), ("X-Netlify-Event", event)], data)


def _launchdarkly(event: str, ts: int) -> Built:
    data = {"_id": _hex(24), "kind": event, "name": "Ada Lovelace", "titleVerb": "changed",
            "title": "Ada Lovelace changed the name of new-checkout", "date": ts * 1000,
            "target": {"name": "new-checkout", "resources": ["proj/default:env/production:flag/new-checkout"]},
            "member": {"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"},
            "accesses": [{"action": "updateName", "resource": "proj/default:env/production:flag/new-checkout"}]}
    return (_ua("LaunchDarkly"), data)


def _linear(event: str, ts: int) -> Built:
    typ, action = event.split(".")
    data = {"action": action, "type": typ, "createdAt": _iso(ts),
            "organizationId": _UUID(), "webhookTimestamp": ts * 1000, "webhookId": _UUID(),
            "url": "https://linear.app/acme/issue/ENG-123/webhook-deliveries-fail",
            "actor": {"id": _UUID(), "type": "user", "name": "Karri"},
            "data": {"id": _UUID(), "identifier": "ENG-123", "title": "Webhook deliveries fail",
                     "priority": 2, "state": {"name": "Todo"}, "createdAt": _iso(ts)}}
    return ([*_ua("Linear-Webhook"), ("Linear-Delivery", _UUID()), ("Linear-Event", typ)], data)


def _pagerduty(event: str, ts: int) -> Built:
    inc = "Q" + b62(13).upper()
    data = {"event": {"id": "01" + b62(24).upper(), "event_type": event,
                      "resource_type": "incident", "occurred_at": _iso(ts),
                      "agent": {"type": "service_reference", "id": "P" + b62(6).upper()},
                      "data": {"id": inc, "type": "incident", "number": random.randint(1, 9999),
                               "title": "Checkout latency above SLO", "status": "triggered",
                               "urgency": "high",
                               "html_url": f"https://acme.pagerduty.com/incidents/{inc}"}}}
    return ([*_ua("PagerDuty-Webhook/V3.0"), ("X-Webhook-Id", _UUID()),
             ("X-Webhook-Subscription", "P" + b62(6).upper())], data)


# -- commerce and payments ------------------------------------------------------------------------
def _paddle(event: str, ts: int) -> Built:
    data = {"event_id": "evt_01" + b62(24).lower(), "event_type": event,
            "occurred_at": _iso(ts), "notification_id": "ntf_01" + b62(24).lower(),
            "data": {"id": "txn_01" + b62(24).lower(), "status": "completed",
                     "customer_id": "ctm_01" + b62(24).lower(), "currency_code": "USD",
                     "origin": "web", "billed_at": _iso(ts),
                     "items": [{"price_id": "pri_01" + b62(24).lower(), "quantity": 1}],
                     "details": {"totals": {"subtotal": "1000", "tax": "200", "total": "1200",
                                            "currency_code": "USD"}}}}
    return (_ua("Paddle"), data)


def _square(event: str, ts: int) -> Built:
    pid = b62(29)
    data = {"merchant_id": b62(13).upper(), "type": event, "event_id": _UUID(),
            "created_at": _iso(ts), "data": {"type": "payment", "id": pid, "object": {"payment": {
                "id": pid, "amount_money": {"amount": 1000, "currency": "USD"},
                "status": "COMPLETED", "source_type": "CARD", "location_id": b62(13).upper(),
                "order_id": b62(29), "created_at": _iso(ts), "updated_at": _iso(ts)}}}}
    return ([*_ua("Square Connect v2"), ("Square-Environment", "Sandbox"),
             ("Square-Initial-Delivery-Timestamp", _iso(ts)), ("Square-Retry-Number", "0")], data)


def _hubspot(event: str, ts: int) -> Built:
    data = [{"eventId": _num(10), "subscriptionId": _num(6), "portalId": _num(8), "appId": _num(6),
             "occurredAt": ts * 1000, "subscriptionType": event, "attemptNumber": 0,
             "objectId": _num(6), "changeFlag": "CREATED", "changeSource": "CRM_UI"}]
    return (_ua("HubSpot Connect 2.0 (http://dev.hubspot.com/)"), data)


def _woocommerce(event: str, ts: int) -> Built:
    oid = random.randint(100, 9999)
    data = {"id": oid, "status": "processing", "currency": "EUR", "total": "42.00",
            "date_created": _iso(ts, z=False)[:19], "customer_id": random.randint(1, 999),
            "payment_method": "stripe", "billing": {"first_name": "Ana", "last_name": "Silva",
                                                      "email": "ana@example.com"},
            "line_items": [{"id": _num(4), "name": "Hoodie", "quantity": 1, "total": "42.00"}]}
    return ([*_ua("WooCommerce/9.4.0 Hookshot (WordPress/6.7)"),
             ("X-WC-Webhook-Source", "https://shop.example.com/"),
             ("X-WC-Webhook-Topic", event), ("X-WC-Webhook-Resource", event.split(".")[0]),
             ("X-WC-Webhook-Event", event.split(".")[1]), ("X-WC-Webhook-ID", str(_num(2))),
             ("X-WC-Webhook-Delivery-ID", str(_num(5)))], data)


def _lemonsqueezy(event: str, ts: int) -> Built:
    data = {"meta": {"event_name": event, "test_mode": True, "webhook_id": _UUID()},
            "data": {"type": "orders", "id": str(_num(6)), "attributes": {
                "store_id": _num(5), "identifier": _UUID(), "order_number": _num(5),
                "user_name": "Ana Silva", "user_email": "ana@example.com", "currency": "USD",
                "total": 999, "status": "paid", "created_at": _iso(ts),
                "updated_at": _iso(ts)}}}
    return ([*_ua("LemonSqueezy-Hookshot"), ("X-Event-Name", event)], data)


def _razorpay(event: str, ts: int) -> Built:
    pay = "pay_" + b62(14)
    data = {"entity": "event", "account_id": "acc_" + b62(14), "event": event,
            "contains": ["payment"], "created_at": ts,
            "payload": {"payment": {"entity": {"id": pay, "entity": "payment", "amount": 50000,
                                               "currency": "INR", "status": "captured",
                                               "order_id": "order_" + b62(14), "method": "upi",
                                               "captured": True, "created_at": ts}}}}
    return ([*_ua("Razorpay-Webhook/v1"), ("X-Razorpay-Event-Id", b62(14))], data)


def _coinbase(event: str, ts: int) -> Built:
    data = {"id": 1, "scheduled_for": _iso(ts), "attempt_number": 1,
            "event": {"id": _UUID(), "resource": "event", "type": event, "api_version": "2018-03-22",
                      "created_at": _iso(ts),
                      "data": {"id": _UUID(), "code": b62(8).upper(), "name": "Hooklab tee",
                               "pricing_type": "fixed_price",
                               "pricing": {"local": {"amount": "25.00", "currency": "USD"}}}}}
    return (_ua("weipay-webhooks"), data)


def _gocardless(event: str, ts: int) -> Built:
    resource, action = event.split(".")
    data = {"events": [{"id": "EV" + b62(12).upper(), "created_at": _iso(ts), "action": action,
                        "resource_type": resource, "links": {"payment": "PM" + b62(12).upper()},
                        "details": {"origin": "gocardless", "cause": "payment_confirmed",
                                    "description": "Enough time has passed since the payment "
                                                   "was submitted for the banks to return an error."}}],
            "meta": {"webhook_id": "WB" + b62(12).upper()}}
    return ([*_ua("gocardless-webhook-service/1.1"), ("Origin", "https://api.gocardless.com")], data)


def _recurly(event: str, ts: int) -> Built:
    kind, action = event.split(".")
    data = {"id": b62(12).lower(), "object_type": kind, "site_id": b62(12).lower(),
            "event_type": action, "event_time": _iso(ts), "account_code": "acct-" + b62(6).lower(),
            "uuid": _hex(32)}
    return ([*_ua("Recurly Webhooks"), ("recurly-notification-id", b62(12).lower())], data)


def _adyen(event: str, ts: int) -> Built:
    item = {"additionalData": {"authCode": str(_num(6)), "cardSummary": "1111"},
            "amount": {"currency": "EUR", "value": 1130}, "eventCode": event,
            "eventDate": _iso(ts, z=False), "merchantAccountCode": "HooklabECOM",
            "merchantReference": f"order-{_num(6)}", "paymentMethod": "visa",
            "pspReference": str(_num(16)), "reason": "123456:1111:03/2030", "success": "true"}
    return (_ua("Adyen HttpClient 1.0"), {"live": "false",
                                           "notificationItems": [{"NotificationRequestItem": item}]})


def _braintree(event: str, ts: int) -> Built:
    # (the notification bt_payload carries, as the SDK parses its XML; ``form`` writes it)
    data = {"timestamp": _iso(ts), "kind": event,
            "subject": {"subscription": {"id": b62(6).lower(), "status": "Active",
                                         "transactions": []}}}
    return (_ua("Braintree", "application/x-www-form-urlencoded"), data,
            {"body": "form", "form": _braintree_form})


def _bt_xml(key: str, value: Any) -> str:
    """One element of Braintree's XML (Rails style: dashed tags, typed by attribute)."""
    from xml.sax.saxutils import escape

    tag = key.replace("_", "-")
    if not tag or not all(c.isalnum() or c in "-." for c in tag) or not tag[0].isalpha():
        raise ValueError(f"braintree: {key!r} cannot be an XML tag of bt_payload")
    if isinstance(value, dict):
        return f"<{tag}>{''.join(_bt_xml(str(k), v) for k, v in value.items())}</{tag}>"
    if isinstance(value, list):
        item = key[:-1] if key.endswith("s") and len(key) > 1 else "item"
        return f"<{tag} type=\"array\">{''.join(_bt_xml(item, v) for v in value)}</{tag}>"
    if value is None:
        return f"<{tag} nil=\"true\"/>"
    if isinstance(value, bool):
        return f"<{tag} type=\"boolean\">{'true' if value else 'false'}</{tag}>"
    if isinstance(value, int):
        return f"<{tag} type=\"integer\">{value}</{tag}>"
    kind = " type=\"datetime\"" if key == "timestamp" or key.endswith("_at") else ""
    return f"<{tag}{kind}>{escape(str(value))}</{tag}>"


def _braintree_form(data: Any) -> dict[str, str]:
    """Braintree's form fields for the notification ``data`` (a payload merged into): its
    ``bt_payload`` is base64 of the notification as XML, or the base64 text given as
    ``bt_payload`` (sent as given); a ``bt_payload`` that is no text is refused."""
    given = data.get("bt_payload")
    if isinstance(given, str):
        return {"bt_signature": "", "bt_payload": given}
    if given is not None:
        raise ValueError(
            "braintree's bt_payload is base64 of the notification's XML, not "
            f"{type(given).__name__}: to change the notification merge its fields "
            "(payload={'kind': 'check'}, {'subject': {...}}), or give bt_payload as "
            "base64 text to send it as it is")
    fields = {k: v for k, v in data.items() if k != "bt_signature"}
    xml = _bt_xml("notification", fields)
    return {"bt_signature": "", "bt_payload": base64.encodebytes(xml.encode()).decode()}


def _paypal(event: str, ts: int) -> Built:
    data = {"id": "WH-" + b62(17).upper() + "-" + b62(17).upper(), "create_time": _iso(ts),
            "resource_type": "capture", "event_type": event, "event_version": "1.0",
            "summary": "Payment completed for $ 7.47 USD",
            "resource": {"id": b62(17).upper(), "status": "COMPLETED", "final_capture": True,
                         "amount": {"currency_code": "USD", "value": "7.47"},
                         "create_time": _iso(ts), "update_time": _iso(ts)}}
    return (_ua("PayPal/AUHD-214.0-58891397"), data)


def _plaid(event: str, ts: int) -> Built:
    wtype, code = event.split(".")
    data = {"webhook_type": wtype, "webhook_code": code, "item_id": b62(37),
            "initial_update_complete": True, "historical_update_complete": True,
            "environment": "sandbox"}
    return (_ua("Plaid Verifier"), data)


# -- communication ----------------------------------------------------------------------------------
def _sendgrid(event: str, ts: int) -> Built:
    data = [{"email": "ada@example.com", "timestamp": ts, "event": event,
             "smtp-id": f"<{b62(22)}@geopod-ismtpd-1>", "sg_event_id": b62(22),
             "sg_message_id": b62(22) + ".filterdrecv-" + _hex(10) + "-1-0",
             "response": "250 OK", "category": ["receipts"]}]
    return (_ua("SendGrid Event API"), data, {"body": "json_crlf"})


def _mailgun(event: str, ts: int) -> Built:
    data = {"signature": {}, "event-data": {
        "id": b62(22), "timestamp": ts + 0.5, "log-level": "info", "event": event,
        "recipient": "alice@example.com", "recipient-domain": "example.com",
        "message": {"headers": {"message-id": f"{ts}.{_hex(8)}@mg.example.com",
                                "from": "Bob <bob@mg.example.com>", "to": "alice@example.com",
                                "subject": "Your receipt"}, "size": 1234},
        "delivery-status": {"code": 250, "message": "OK", "tls": True},
        "flags": {"is-test-mode": False}}}
    return (_ua("mailgun/treq-2.0"), data)


def _mandrill(event: str, ts: int) -> Built:
    events = [{"event": event, "_id": _hex(32), "ts": ts,
               "msg": {"ts": ts - 5, "subject": "Your receipt", "email": "alice@example.com",
                       "sender": "bob@example.com", "tags": ["receipts"], "state": "sent",
                       "_id": _hex(32)}}]
    # (a JSON-encoded array in the form field: held parsed, so a payload= merges into it)
    return (_ua("Mandrill-Webhook/1.0", "application/x-www-form-urlencoded"),
            {"mandrill_events": events}, {"body": "form", "json_fields": ("mandrill_events",)})


def _postmark(event: str, ts: int) -> Built:
    if event == "Inbound":  # (an email to the server's inbound address, parsed; no RecordType)
        from email.utils import formatdate

        tag = f"ticket-{_num(4)}"  # (the MailboxHash: what follows + in the address)
        box = f"{_hex(32)}+{tag}@inbound.postmarkapp.com"
        who = {"Email": "ada@example.com", "Name": "Ada", "MailboxHash": ""}
        return (_ua("Postmark"), {
            "FromName": "Ada", "MessageStream": "inbound", "From": "ada@example.com",
            "FromFull": who, "To": box, "ToFull": [{"Email": box, "Name": "", "MailboxHash": tag}],
            "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [], "OriginalRecipient": box,
            "Subject": "Re: your ticket", "MessageID": _UUID(), "ReplyTo": "",
            "MailboxHash": tag, "Date": formatdate(ts),
            "TextBody": "Thanks, that fixed it.", "HtmlBody": "<p>Thanks, that fixed it.</p>",
            "StrippedTextReply": "Thanks, that fixed it.", "Tag": "", "Headers": [],
            "Attachments": []})
    data = {"RecordType": event, "ServerID": _num(5), "MessageStream": "outbound",
            "MessageID": _UUID(), "Recipient": "alice@example.com", "Tag": "receipts",
            "DeliveredAt": _iso(ts), "Details": "Test delivery webhook details", "Metadata": {}}
    return (_ua("Postmark"), data)


def _plivo(event: str, ts: int) -> Built:
    data = {"From": "14155550100", "To": "14155550123", "Status": event.split(".")[1],
            "MessageUUID": _UUID(), "TotalAmount": "0.00500", "TotalRate": "0.00500",
            "Units": "1", "MessageTime": _iso(ts, z=False)[:19].replace("T", " ")}
    return (_ua("PlivoHTTP/1.0", "application/x-www-form-urlencoded"), data, {"body": "form"})


def _telnyx(event: str, ts: int) -> Built:
    data = {"data": {"event_type": event, "id": _UUID(), "occurred_at": _iso(ts),
                     "record_type": "event",
                     "payload": {"id": _UUID(), "direction": "inbound", "type": "SMS",
                                 "text": "Hello from hooklab",
                                 "from": {"phone_number": "+14155550100"},
                                 "to": [{"phone_number": "+14155550123", "status": "webhook_delivered"}]}},
            "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks"}}
    return (_ua("telnyx-webhooks"), data)


def _pusher(event: str, ts: int) -> Built:
    data = {"time_ms": ts * 1000 + secrets.randbelow(1000), "events": [{"name": event,
                                              "channel": "presence-room-" + b62(8).lower()}]}
    return ([*_ua("Pusher"), ("X-Pusher-Key", _hex(20))], data)


def _customerio(event: str, ts: int) -> Built:
    obj, metric = event.split(".")
    data = {"event_id": "01" + b62(24).upper(), "object_type": obj, "metric": metric,
            "timestamp": ts, "data": {"customer_id": "42", "identifiers": {"id": "42"},
                                      "email_address": "ada@example.com",
                                      "delivery_id": b62(22), "subject": "Welcome!"}}
    return (_ua("Customer.io Webhook"), data)


def _intercom(event: str, ts: int) -> Built:
    data = {"type": "notification_event", "app_id": b62(8).lower(), "id": "notif_" + _UUID(),
            "topic": event, "created_at": ts, "delivery_attempts": 1, "first_sent_at": ts,
            "data": {"type": "notification_event_data", "item": {
                "type": "conversation", "id": str(_num(9)), "created_at": ts, "state": "open",
                "source": {"type": "conversation", "body": "<p>Is the webhook down?</p>",
                           "author": {"type": "user", "email": "ada@example.com"}}}}}
    return (_ua("intercom-parrot-service-rb"), data)


def _helpscout(event: str, ts: int) -> Built:
    data = {"id": _num(9), "number": random.randint(100, 9999), "type": "email",
            "status": "active", "subject": "Webhook question", "createdAt": _iso(ts),
            "customer": {"id": _num(8), "email": "ada@example.com"}}
    return ([*_ua("Help Scout Webhook"), ("X-HelpScout-Event", event)], data)


def _zendesk(event: str, ts: int) -> Built:
    data = {"account_id": _num(8), "detail": {"id": str(_num(5)), "subject": "Refund please",
                                               "status": "NEW", "priority": "NORMAL",
                                               "requester_id": str(_num(9)), "created_at": _iso(ts)},
            "event": {}, "id": _UUID(), "subject": f"zen:ticket:{_num(5)}", "time": _iso(ts),
            "type": event, "zendesk_event_version": "2022-11-06"}
    return ([*_ua("Zendesk Webhook"), ("X-Zendesk-Webhook-Id", "01" + b62(24).upper()),
             ("X-Zendesk-Webhook-Invocation-Id", str(_num(10)))], data)


def _front(event: str, ts: int) -> Built:
    if event == "challenge":
        return (_ua("Front"), {"type": "sync", "authorization": {"id": "cmp_" + b62(4).lower()}},
                {"headers": [("X-Front-Challenge", _token(24))]})
    data = {"type": event, "authorization": {"id": "cmp_" + b62(4).lower()},
            "payload": {"_links": {"self": "https://api2.frontapp.com/events/evt_" + b62(6).lower()},
                        "id": "evt_" + b62(6).lower(), "type": event, "emitted_at": ts,
                        "conversation": {"id": "cnv_" + b62(6).lower(), "subject": "Hello",
                                         "status": "unassigned"}}}
    return (_ua("Front"), data)


# -- meetings, calendars, productivity -------------------------------------------------------------
def _zoom(event: str, ts: int) -> Built:
    if event == "endpoint.url_validation":
        return (_ua("Zoom Marketplace/1.0a"), {"payload": {"plainToken": _token(22)},
                                               "event_ts": ts * 1000, "event": event})
    mid = _num(11)
    data = {"event": event, "event_ts": ts * 1000, "payload": {
        "account_id": b62(22), "object": {
            "id": str(mid), "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
            "host_id": b62(22), "topic": "Weekly sync", "type": 2, "duration": 30,
            "timezone": "Europe/Berlin", "start_time": _iso(ts)}}}
    return ([*_ua("Zoom Marketplace/1.0a"), ("x-zm-trackingid", "v=2.0;clid=aw1;rid=" + b62(20))],
            data)


def _calendly(event: str, ts: int) -> Built:
    ev = "https://api.calendly.com/scheduled_events/" + _UUID()
    data = {"created_at": _iso(ts), "created_by": "https://api.calendly.com/users/" + _UUID(),
            "event": event, "payload": {
                "uri": f"{ev}/invitees/{_UUID()}", "email": "ada@example.com", "name": "Ada",
                "status": "active", "timezone": "Europe/London", "event": ev,
                "created_at": _iso(ts), "rescheduled": False,
                "scheduled_event": {"uri": ev, "name": "30 Minute Meeting",
                                    "start_time": _iso(ts + 86400), "end_time": _iso(ts + 88200)}}}
    return (_ua("Calendly"), data)


def _calcom(event: str, ts: int) -> Built:
    data = {"triggerEvent": event, "createdAt": _iso(ts), "payload": {
        "type": "30min", "title": "30 min between Ada and Bob", "startTime": _iso(ts + 86400),
        "endTime": _iso(ts + 88200), "uid": b62(22), "bookingId": _num(6), "status": "ACCEPTED",
        "organizer": {"name": "Bob", "email": "bob@example.com", "timeZone": "Europe/London"},
        "attendees": [{"name": "Ada", "email": "ada@example.com", "timeZone": "Europe/Paris"}]}}
    return (_ua("Cal.com-Webhooks"), data)


def _google(event: str, ts: int) -> Built:
    channel = _UUID()
    headers = [("User-Agent", "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"),
               ("X-Goog-Channel-ID", channel), ("X-Goog-Channel-Expiration",
                                                 "Tue, 19 Nov 2030 01:13:52 GMT"),
               ("X-Goog-Resource-ID", b62(27)),
               ("X-Goog-Resource-URI", "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json"),
               ("X-Goog-Resource-State", event),
               ("X-Goog-Message-Number", "1" if event == "sync" else str(_num(6)))]
    return headers, {}, {"body": "none"}


def _msgraph(event: str, ts: int) -> Built:
    if event == "validation":
        return ([("Content-Type", "text/plain; charset=utf-8")],
                {"validationToken": f"Validation: Testing client application reachability for "
                                    f"subscription Request-Id: {_UUID()}"},
                {"query": True, "signed": False})  # (no clientState: its body stays empty)
    user = _UUID()
    # (each notification's own id, as the docs' example shows: "id": "lsgTZMr9KwAAA")
    data = {"value": [{"id": b62(13), "subscriptionId": _UUID(),
                       "subscriptionExpirationDateTime": _iso(ts + 3600),
                       "changeType": event, "resource": f"Users/{user}/Messages/{b62(40)}",
                       "resourceData": {"@odata.type": "#Microsoft.Graph.Message",
                                        "@odata.id": f"Users/{user}/Messages/{b62(40)}",
                                        "id": b62(40)},
                       "clientState": "", "tenantId": _UUID()}]}
    return ([("Content-Type", "application/json; charset=utf-8")], data)


def _dropbox(event: str, ts: int) -> Built:
    if event == "challenge":
        return [("User-Agent", "DropboxWebhooks/1.0")], {"challenge": _token(32)}, _CHECK
    accounts = [f"dbid:AA{b62(30)}"]
    data = {"list_folder": {"accounts": accounts}, "delta": {"users": [_num(8)]}}
    return (_ua("DropboxWebhooks/1.0"), data)


def _box(event: str, ts: int) -> Built:
    data = {"type": "webhook_event", "id": _UUID(), "created_at": _iso(ts, z=False),
            "trigger": event, "webhook": {"id": str(_num(8)), "type": "webhook"},
            "created_by": {"type": "user", "id": str(_num(9)), "name": "Ada", "login": "ada@example.com"},
            "source": {"id": str(_num(12)), "type": "file", "name": "report.pdf",
                       "parent": {"type": "folder", "id": "0", "name": "All Files"}}}
    return ([*_ua("Box-WH-Client/0.1"), ("box-delivery-id", _UUID())], data)


def _asana(event: str, ts: int) -> Built:
    if event == "handshake":
        return [("Content-Type", "application/json"), ("User-Agent", "Asana"),
                ("X-Hook-Secret", secrets.token_hex(16))], {}, {"body": "none", "signed": False}
    resource, action = event.split(".")
    data = {"events": [{"user": {"gid": str(_num(16)), "resource_type": "user"},
                        "created_at": _iso(ts), "action": action,
                        "resource": {"gid": str(_num(16)), "resource_type": resource},
                        "parent": None, "change": {"field": "name", "action": "changed"}}]}
    return (_ua("Asana"), data)


def _smartsheet(event: str, ts: int) -> Built:
    wid = _num(16)
    if event == "challenge":
        challenge = _UUID()
        return ([*_ua("smartsheet-webhook"), ("Smartsheet-Hook-Challenge", challenge)],
                {"challenge": challenge, "webhookId": wid})
    scope, ev = event.split(".")
    data = {"nonce": _UUID(), "timestamp": _iso(ts), "webhookId": wid, "scope": scope,
            "scopeObjectId": _num(16), "events": [{"objectType": "row", "eventType": ev,
                                                    "id": _num(16), "userId": _num(16),
                                                    "timestamp": _iso(ts)}]}
    return (_ua("smartsheet-webhook"), data)


def _trello(event: str, ts: int) -> Built:
    if event == "head":
        return [("User-Agent", "Trello")], {}, {"method": "HEAD", "body": "none", "signed": False}
    data = {"model": {"id": _hex(24), "name": "Launch board"},
            "action": {"id": _hex(24), "idMemberCreator": _hex(24), "type": event,
                       "date": _iso(ts)[:19] + ".000Z",
                       "data": {"card": {"id": _hex(24), "name": "Write docs", "idShort": 42},
                                "listAfter": {"name": "Done"}, "listBefore": {"name": "Doing"}}}}
    return (_ua("Trello"), data)


def _monday(event: str, ts: int) -> Built:
    if event == "challenge":
        return (_ua("monday.com"), {"challenge": _token(40)})
    data = {"event": {"userId": _num(8), "originalTriggerUuid": None, "boardId": _num(10),
                      "groupId": "topics", "pulseId": _num(10), "pulseName": "Ship webhooks",
                      "columnId": "status", "columnType": "color",
                      "value": {"label": {"index": 1, "text": "Done"}},
                      "previousValue": {"label": {"index": 0, "text": "Working on it"}},
                      "changedAt": ts + 0.1, "isTopGroup": True, "app": "monday",
                      "type": event, "triggerTime": _iso(ts), "subscriptionId": _num(9),
                      "triggerUuid": _hex(32)}}
    return (_ua("monday.com"), data)


def _clickup(event: str, ts: int) -> Built:
    data = {"event": event, "task_id": b62(9).lower(), "webhook_id": _UUID(),
            "history_items": [{"id": str(_num(19)), "type": 1, "date": str(ts * 1000),
                               "field": "task_creation", "parent_id": str(_num(9)),
                               "user": {"id": _num(8), "username": "Ada", "email": "ada@example.com"}}]}
    return (_ua("ClickUp"), data)


def _notion(event: str, ts: int) -> Built:
    if event == "verification":
        return (_ua("notion-api"), {"verification_token": "secret_" + b62(43)}, {"signed": False})
    data = {"id": _UUID(), "timestamp": _iso(ts), "workspace_id": _UUID(),
            "workspace_name": "Acme", "subscription_id": _UUID(), "integration_id": _UUID(),
            "type": event, "authors": [{"id": _UUID(), "type": "person"}], "attempt_number": 1,
            "entity": {"id": _UUID(), "type": "page"},
            "data": {"parent": {"id": _UUID(), "type": "space"}}}
    return (_ua("notion-api"), data)


def _airtable(event: str, ts: int) -> Built:
    data = {"base": {"id": "app" + b62(14)}, "webhook": {"id": "ach" + b62(14)},
            "timestamp": _iso(ts)[:19] + ".000Z"}
    return (_ua("Airtable"), data)


def _typeform(event: str, ts: int) -> Built:
    data = {"event_id": "01" + b62(24).upper(), "event_type": event, "form_response": {
        "form_id": b62(8), "token": b62(32).lower(), "landed_at": _iso(ts - 60),
        "submitted_at": _iso(ts), "definition": {"id": b62(8), "title": "Feedback"},
        "answers": [{"type": "number", "number": 9, "field": {"id": b62(12), "type": "opinion_scale"}}]}}
    return (_ua("Typeform Webhooks"), data)


def _docusign(event: str, ts: int) -> Built:
    data = {"event": event, "apiVersion": "v2.1", "uri": f"/restapi/v2.1/accounts/{_UUID()}/envelopes/{_UUID()}",
            "retryCount": 0, "configurationId": _num(8), "generatedDateTime": _iso(ts),
            "data": {"accountId": _UUID(), "userId": _UUID(), "envelopeId": _UUID()}}
    return (_ua("DocuSign Connect"), data)


def _webflow(event: str, ts: int) -> Built:
    data = {"triggerType": event, "payload": {
        "name": "Contact form", "siteId": _hex(24), "id": _hex(24),
        "data": {"Name": "Ada", "Email": "ada@example.com", "Message": "Hello"},
        "submittedAt": _iso(ts)[:19] + ".000Z", "formId": _hex(24)}}
    return (_ua("Webflow"), data)


def _sanity(event: str, ts: int) -> Built:
    data = {"_id": "post-" + b62(8), "_type": "post", "_rev": b62(22), "title": "Hello",
            "slug": {"current": "hello"}, "_updatedAt": _iso(ts)}
    return ([*_ua("Sanity.io webhook delivery"), ("idempotency-key", f"msg-{b62(20)}"),
             ("sanity-project-id", b62(8).lower()), ("sanity-dataset", "production"),
             ("sanity-document-id", data["_id"]), ("sanity-operation", event)], data)


def _figma(event: str, ts: int) -> Built:
    data = {"event_type": event, "passcode": "", "timestamp": _iso(ts), "webhook_id": str(_num(5))}
    if event != "PING":
        data.update({"file_key": b62(22), "file_name": "Design system", "triggered_by": {
            "id": str(_num(18)), "handle": "Ada"}})
    return (_ua("Figma"), data)


def _onfleet(event: str, ts: int) -> Built:
    if event == "check":
        return [("User-Agent", "Onfleet")], {"check": _token(16)}, _CHECK
    data = {"taskId": b62(24), "triggerId": 3, "triggerName": event, "time": ts * 1000,
            "actionContext": {"type": "WORKER", "id": b62(24)}, "adminId": None,
            "workerId": b62(24), "data": {"task": {"id": b62(24), "shortId": _hex(8),
                                                   "state": 3, "completionDetails": {"success": True}}}}
    return (_ua("Onfleet"), data)


def _nylas(event: str, ts: int) -> Built:
    if event == "challenge":
        return [("User-Agent", "Nylas")], {"challenge": _token(32)}, _CHECK
    data = {"specversion": "1.0", "type": event, "source": "/google/emails/realtime",
            "id": b62(20), "time": ts, "webhook_delivery_attempt": 1,
            "data": {"application_id": _UUID(), "object": {
                "id": b62(16), "grant_id": _UUID(), "object": "message",
                "subject": "Hello", "from": [{"email": "ada@example.com", "name": "Ada"}],
                "date": ts, "snippet": "Hello from hooklab"}}}
    return (_ua("Nylas"), data)


def _strava(event: str, ts: int) -> Built:
    if event == "subscribe":
        return [("User-Agent", "Strava")], {"hub.mode": "subscribe", "hub.challenge": _token(16),
                                            "hub.verify_token": "STRAVA"}, _CHECK
    obj, aspect = event.split(".")
    data = {"aspect_type": aspect, "event_time": ts, "object_id": _num(10), "object_type": obj,
            "owner_id": _num(6), "subscription_id": _num(6), "updates": {}}
    return (_ua("Strava"), data)


# -- identity ----------------------------------------------------------------------------------------
def _okta(event: str, ts: int) -> Built:
    if event == "verification":
        return ([("User-Agent", "Okta Event Hooks"),
                 ("X-Okta-Verification-Challenge", _token(40))], {}, {**_GET, "body": "none"})
    data = {"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0",
            "cloudEventsVersion": "0.1", "source": "https://example.okta.com/api/v1/eventHooks/who" + b62(17),
            "eventId": _UUID(), "eventTime": _iso(ts)[:19] + ".000Z", "contentType": "application/json",
            "data": {"events": [{"uuid": _UUID(), "published": _iso(ts), "eventType": event,
                                 "version": "0", "displayMessage": "Create Okta user",
                                 "severity": "INFO", "actor": {"id": "00u" + b62(17),
                                                               "type": "User", "alternateId": "admin@example.com"},
                                 "outcome": {"result": "SUCCESS"}}]}}
    return (_ua("Okta Event Hooks"), data)


def _auth0(event: str, ts: int) -> Built:
    # (a stream set to "JSON array": the log events, each {"log_id", "data"})
    data = [{"log_id": str(_num(18)) * 2, "data": {
        "date": _iso(ts), "type": event, "description": "Successful login",
        "client_id": b62(32), "client_name": "My App", "ip": "203.0.113.7",
        "user_id": "auth0|" + _hex(24), "user_name": "ada@example.com"}}]
    return (_ua("Auth0-Log-Streams"), data)


def _fusionauth(event: str, ts: int) -> Built:
    data = {"event": {"id": _UUID(), "type": event, "createInstant": ts * 1000,
                      "tenantId": _UUID(), "info": {"ipAddress": "203.0.113.7"},
                      "user": {"id": _UUID(), "email": "ada@example.com", "active": True,
                               "insertInstant": ts * 1000}}}
    return (_ua("FusionAuth"), data)


def _workos(event: str, ts: int) -> Built:
    data = {"id": "event_01" + b62(24).upper(), "event": event, "created_at": _iso(ts),
            "data": {"object": "user", "id": "user_01" + b62(24).upper(),
                     "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
                     "email_verified": True, "created_at": _iso(ts), "updated_at": _iso(ts)}}
    return (_ua("WorkOS"), data)


def _persona(event: str, ts: int) -> Built:
    data = {"data": {"type": "event", "id": "evt_" + b62(24), "attributes": {
        "name": event, "created-at": _iso(ts), "payload": {"data": {
            "type": "inquiry", "id": "inq_" + b62(24),
            "attributes": {"status": "completed", "reference-id": "user-42"}}}}}}
    return (_ua("Persona Webhooks"), data)


# -- social, media, AI ----------------------------------------------------------------------------------
def _meta(event: str, ts: int) -> Built:
    if event == "subscribe":
        return ([("User-Agent", "facebookplatform/1.0 (+http://developers.facebook.com)")],
                {"hub.mode": "subscribe", "hub.challenge": str(_num(10)),
                 "hub.verify_token": "meatyhamhock"}, _CHECK)
    obj, field = event.split(".")
    obj = {"whatsapp": "whatsapp_business_account"}.get(obj, obj)
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881", "phone_number_id": str(_num(15))},
             "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
             "messages": [{"from": "16505551234", "id": "wamid." + b62(40), "timestamp": str(ts),
                           "text": {"body": "Does it come in another color?"}, "type": "text"}]}
    data = {"object": obj, "entry": [{"id": str(_num(15)), "changes": [{"value": value,
                                                                       "field": field}]}]}
    return (_ua("facebookexternalua"), data)


def _x(event: str, ts: int) -> Built:
    if event == "crc":
        return [("User-Agent", "Twitter-Webhooks/1.0")], {"crc_token": _UUID(), "nonce": _hex(24)}, _CHECK
    uid = str(_num(18))
    data = {"for_user_id": uid, "tweet_create_events": [{
        "created_at": "Tue Nov 19 01:13:52 +0000 2030", "id_str": str(_num(19)),
        "text": "@hooklab webhooks are fun", "user": {"id_str": str(_num(18)), "screen_name": "ada"},
        "in_reply_to_user_id_str": uid}]}
    return (_ua("Twitter-Webhooks/1.0"), data)


def _twitch(event: str, ts: int) -> Built:
    mid, when = _UUID(), _iso(ts)[:19] + "." + str(_num(9)) + "Z"
    sub = {"id": _UUID(), "status": "enabled", "type": "channel.follow", "version": "2",
           "cost": 0, "condition": {"broadcaster_user_id": str(_num(8)), "moderator_user_id": str(_num(8))},
           "transport": {"method": "webhook", "callback": "https://example.com/webhooks/callback"},
           "created_at": when}
    if event == "webhook_callback_verification":
        kind, data = event, {"challenge": _token(32), "subscription": {
            **sub, "status": "webhook_callback_verification_pending"}}
    else:
        kind, data = "notification", {"subscription": sub, "event": {
            "user_id": str(_num(8)), "user_login": "ada", "user_name": "Ada",
            "broadcaster_user_id": sub["condition"]["broadcaster_user_id"],
            "broadcaster_user_login": "hooklab", "broadcaster_user_name": "hooklab",
            "followed_at": when}}
    return ([("Content-Type", "application/json"), ("Twitch-Eventsub-Message-Id", mid),
             ("Twitch-Eventsub-Message-Retry", "0"), ("Twitch-Eventsub-Message-Type", kind),
             ("Twitch-Eventsub-Subscription-Type", "channel.follow"),
             ("Twitch-Eventsub-Subscription-Version", "2")], data)


def _discord(event: str, ts: int) -> Built:
    app = str(_num(18))
    if event == "ping":
        return (_ua("Discord-Interactions/1.0 (+https://discord.com)"),
                {"id": str(_num(18)), "application_id": app, "type": 1, "version": 1,
                 "token": b62(64)}, {"throwaway": False})
    data = {"id": str(_num(18)), "application_id": app, "type": 2, "version": 1,
            "token": b62(64), "guild_id": str(_num(18)), "channel_id": str(_num(18)),
            "locale": "en-US", "data": {"id": str(_num(18)), "name": "deploy", "type": 1},
            "member": {"user": {"id": str(_num(18)), "username": "ada", "global_name": "Ada"},
                       "roles": [], "permissions": "2147483647"}}
    return (_ua("Discord-Interactions/1.0 (+https://discord.com)"), data)


def _tiktok(event: str, ts: int) -> Built:
    import json as _json
    data = {"client_key": b62(18).lower(), "event": event, "create_time": ts,
            "user_openid": "act." + b62(40),
            "content": _json.dumps({"publish_id": "v_pub_file~v2-1." + str(_num(19)),
                                    "publish_type": "DIRECT_PUBLISH"})}
    return (_ua("TikTok-Webhooks"), data)


def _mux(event: str, ts: int) -> Built:
    asset = b62(32)
    data = {"type": event, "object": {"type": "asset", "id": asset}, "id": _UUID(),
            "environment": {"name": "Production", "id": b62(6).lower()},
            "data": {"id": asset, "status": "ready", "duration": 23.43, "aspect_ratio": "16:9",
                     "playback_ids": [{"id": b62(32), "policy": "public"}],
                     "created_at": ts},
            "created_at": _iso(ts), "attempts": [], "accessor_source": None, "accessor": None,
            "request_id": None}
    return (_ua("Mux"), data)


def _elevenlabs(event: str, ts: int) -> Built:
    data = {"type": event, "event_timestamp": ts, "data": {
        "agent_id": b62(20), "conversation_id": "conv_" + b62(20), "status": "done",
        "transcript": [{"role": "agent", "message": "Hello! How can I help?", "time_in_call_secs": 0},
                       {"role": "user", "message": "Is my webhook signed?", "time_in_call_secs": 2}],
        "metadata": {"start_time_unix_secs": ts - 60, "call_duration_secs": 60}}}
    return (_ua("ElevenLabs"), data)


def _alchemy(event: str, ts: int) -> Built:
    data = {"webhookId": "wh_" + b62(16).lower(), "id": "whevt_" + b62(16).lower(),
            "createdAt": _iso(ts)[:19] + ".000Z", "type": event, "event": {
                "network": "ETH_MAINNET", "activity": [{
                    "fromAddress": "0x" + _hex(40), "toAddress": "0x" + _hex(40),
                    "blockNum": hex(_num(8)), "hash": "0x" + _hex(64), "value": 0.5,
                    "asset": "ETH", "category": "external"}]}}
    return (_ua("Alchemy-Notify"), data)


def _deepgram(event: str, ts: int) -> Built:
    data = {"metadata": {"request_id": _UUID(), "created": _iso(ts), "duration": 25.9,
                         "channels": 1, "models": ["nova-3"]},
            "results": {"channels": [{"alternatives": [{
                "transcript": "yeah as much as it's worth celebrating", "confidence": 0.99}]}]}}
    return ([*_ua("Deepgram"), ("dg-token", _UUID())], data)


# -- cloud ---------------------------------------------------------------------------------------------
def _sns(event: str, ts: int) -> Built:
    topic = "arn:aws:sns:us-west-2:123456789012:MyTopic"
    mid = _UUID()
    data: dict[str, Any] = {"Type": event, "MessageId": mid, "TopicArn": topic,
                            "Timestamp": _iso(ts)[:19] + ".000Z", "SignatureVersion": "1",
                            "Signature": "",
                            "SigningCertURL": "https://sns.us-west-2.amazonaws.com/"
                                              "SimpleNotificationService-" + _hex(32) + ".pem"}
    if event == "SubscriptionConfirmation":
        token = _hex(256)
        data.update({"Token": token, "Message": f"You have chosen to subscribe to the topic {topic}.\n"
                                                "To confirm the subscription, visit the SubscribeURL included in this message.",
                     "SubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription"
                                     f"&TopicArn={topic}&Token={token}"})
    else:
        data.update({"Subject": "My First Message", "Message": "Hello world!",
                     "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe"
                                       f"&SubscriptionArn={topic}:{_UUID()}"})
    headers = [("Content-Type", "text/plain; charset=UTF-8"),
               ("User-Agent", "Amazon Simple Notification Service Agent"),
               ("x-amz-sns-message-type", event), ("x-amz-sns-message-id", mid),
               ("x-amz-sns-topic-arn", topic)]
    if event == "Notification":
        headers.append(("x-amz-sns-subscription-arn", f"{topic}:{_UUID()}"))
    return headers, data, {"body": "json_pretty"}


def _eventgrid(event: str, ts: int) -> Built:
    if event == "SubscriptionValidation":
        data = [{"id": _UUID(), "topic": "/subscriptions/" + _UUID() + "/resourceGroups/rg/providers/"
                 "Microsoft.Storage/storageAccounts/hooklab", "subject": "",
                 "data": {"validationCode": _UUID(),
                          "validationUrl": "https://rp-eastus2.eventgrid.azure.net:553/"
                                           "eventsubscriptions/hooklab/validate?id=" + _UUID()},
                 "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
                 "eventTime": _iso(ts), "metadataVersion": "1", "dataVersion": "2"}]
        return ([("Content-Type", "application/json"), ("aeg-event-type", "SubscriptionValidation"),
                 ("aeg-subscription-name", "HOOKLAB"), ("aeg-delivery-count", "0"),
                 ("aeg-data-version", "2"), ("aeg-metadata-version", "1")], data)
    data = [{"topic": "/subscriptions/" + _UUID() + "/resourceGroups/rg/providers/"
             "Microsoft.Storage/storageAccounts/hooklab",
             "subject": "/blobServices/default/containers/uploads/blobs/report.pdf",
             "eventType": event, "id": _UUID(), "eventTime": _iso(ts), "dataVersion": "",
             "metadataVersion": "1",
             "data": {"api": "PutBlob", "contentType": "application/pdf", "contentLength": 524288,
                      "blobType": "BlockBlob",
                      "url": "https://hooklab.blob.core.windows.net/uploads/report.pdf"}}]
    return ([("Content-Type", "application/json"), ("aeg-event-type", "Notification"),
             ("aeg-subscription-name", "HOOKLAB"), ("aeg-delivery-count", "0"),
             ("aeg-data-version", ""), ("aeg-metadata-version", "1")], data)


def _heroku(event: str, ts: int) -> Built:
    # the sample's name is the subscription's entity ("api:release") and its action; a
    # delivery writes the bare resource ("release"), the entity in webhook_metadata
    # (devcenter.heroku.com/articles/webhook-events)
    entity, action = event.split(".")
    event_id = _UUID()
    data = {"action": action, "actor": {"email": "ada@example.com", "id": _UUID()},
            "created_at": _iso(ts), "id": event_id,
            "data": {"id": _UUID(), "app": {"id": _UUID(), "name": "hooklab-demo"},
                     "version": random.randint(2, 400), "status": "succeeded",
                     "description": "Deploy " + _hex(7)},
            "previous_data": {}, "published_at": None,
            "resource": entity.removeprefix("api:"), "sequence": None, "updated_at": _iso(ts),
            "version": "application/vnd.heroku+json; version=3",
            "webhook_metadata": {"attempt": {"id": _UUID()}, "delivery": {"id": _UUID()},
                                 "event": {"id": event_id, "include": entity},
                                 "webhook": {"id": _UUID()}}}
    return ([*_ua("Heroku-Webhooks"), ("Heroku-Webhook-Id", _UUID())], data)


def _easypost(event: str, ts: int) -> Built:
    data = {"id": "evt_" + _hex(32), "object": "Event", "mode": "test", "description": event,
            "created_at": _iso(ts), "updated_at": _iso(ts), "status": "pending",
            "result": {"id": "trk_" + _hex(32), "object": "Tracker", "tracking_code": "EZ1000000001",
                       "status": "in_transit", "carrier": "USPS"}}
    return (_ua("EasyPost WebHook Agent 1.0"), data)


def _xero(event: str, ts: int) -> Built:
    if event == "intent_to_receive":
        return (_ua("Xero-Webhooks"), {"events": [], "firstEventSequence": 0,
                                       "lastEventSequence": 0, "entropy": b62(20).upper()})
    category, typ = event.split(".")
    data = {"events": [{"resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{_UUID()}",
                        "resourceId": _UUID(), "eventDateUtc": _iso(ts, z=False)[:19] + ".000",
                        "eventType": typ, "eventCategory": category, "tenantId": _UUID(),
                        "tenantType": "ORGANISATION"}],
            "firstEventSequence": 1, "lastEventSequence": 1, "entropy": b62(20).upper()}
    return (_ua("Xero-Webhooks"), data)


def _chargebee(event: str, ts: int) -> Built:
    data = {"id": "ev_" + b62(16), "occurred_at": ts, "source": "admin_console", "object": "event",
            "api_version": "v2", "event_type": event, "webhook_status": "scheduled",
            "content": {"subscription": {"id": b62(16), "plan_id": "basic-monthly",
                                         "status": "active", "customer_id": b62(16)}}}
    return (_ua("ChargeBee"), data)


def _pipedrive(event: str, ts: int) -> Built:
    """Webhooks v2 (``create``/``change``/``delete``, Pipedrive's default) or v1 (``added``/
    ``updated``/``deleted``), as Pipedrive's v2 migration guide shows them side by side."""
    action, obj = event.split(".")
    oid = _num(4)
    state = {"id": oid, "title": "Hooklab deal", "value": 5000, "currency": "EUR", "status": "open"}
    if action in ("create", "change", "delete"):
        data: dict[str, Any] = {
            "data": None if action == "delete" else state,
            "previous": None if action == "create" else {"title": "Hooklab deal (draft)"},
            "meta": {"action": action, "company_id": str(_num(7)), "correlation_id": _UUID(),
                     "entity_id": str(oid), "entity": obj, "id": _UUID(),  # (the event's id)
                     "is_bulk_edit": False, "timestamp": _iso(ts).replace("Z", ".000Z"),
                     "type": "general", "user_id": str(_num(8)), "version": "2.0",
                     "webhook_id": str(_num(7)), "webhook_owner_id": str(_num(8)),
                     "change_source": "app", "attempt": 1, "host": "acme.pipedrive.com"}}
    else:
        data = {"v": 1, "matches_filters": {"current": []},
                "meta": {"v": 1, "action": action, "object": obj, "id": oid,  # (the object's id)
                         "company_id": _num(7), "user_id": _num(7), "host": "acme.pipedrive.com",
                         "timestamp": ts, "timestamp_micro": ts * 1_000_000 + _num(6),
                         "webhook_id": str(_num(6))},
                "current": None if action == "deleted" else state,
                "previous": None if action == "added" else state, "retry": 0, "event": event}
    return (_ua("Pipedrive Webhooks"), data)


# -- Standard Webhooks family ------------------------------------------------------------------------------
def _svix_like(agent: str) -> list[tuple[str, str]]:
    return [_JSON, ("User-Agent", agent)]


def _clerk(event: str, ts: int) -> Built:
    data = {"data": {"id": "user_" + b62(27), "object": "user", "first_name": "Ada",
                     "last_name": "Lovelace", "created_at": ts * 1000, "updated_at": ts * 1000,
                     "email_addresses": [{"email_address": "ada@example.com", "id": "idn_" + b62(27)}]},
            "event_attributes": {"http_request": {"client_ip": "203.0.113.7",
                                                  "user_agent": "Mozilla/5.0"}},
            "instance_id": "ins_" + b62(27), "object": "event", "timestamp": ts * 1000, "type": event}
    return (_svix_like("Svix-Webhooks/1.x (+https://www.svix.com/http-sender/)"), data)


def _resend(event: str, ts: int) -> Built:
    data = {"type": event, "created_at": _iso(ts), "data": {
        "email_id": _UUID(), "from": "Acme <onboarding@resend.dev>", "to": ["delivered@resend.dev"],
        "subject": "Sending this example", "created_at": _iso(ts)}}
    return (_svix_like("Svix-Webhooks/1.x (+https://www.svix.com/http-sender/)"), data)


def _openai(event: str, ts: int) -> Built:
    data = {"object": "event", "id": "evt_" + _hex(32), "type": event, "created_at": ts,
            "data": {"id": "resp_" + _hex(48)}}
    return (_svix_like("OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)"), data)


def _replicate(event: str, ts: int) -> Built:
    pid = b62(26).lower()
    data = {"id": pid, "version": _hex(64), "status": event.split(".")[1],
            "input": {"prompt": "an astronaut riding a horse"}, "output": ["https://replicate.delivery/out-0.png"],
            "created_at": _iso(ts - 8), "started_at": _iso(ts - 7), "completed_at": _iso(ts),
            "urls": {"get": f"https://api.replicate.com/v1/predictions/{pid}",
                     "cancel": f"https://api.replicate.com/v1/predictions/{pid}/cancel"},
            "metrics": {"predict_time": 6.8}}
    return (_svix_like("Replicate-Webhooks/1.0"), data)


def _supabase(event: str, ts: int) -> Built:
    data = {"type": event, "user_id": _UUID(), "claims": {
        "aud": "authenticated", "exp": ts + 3600, "iat": ts, "sub": _UUID(), "role": "authenticated",
        "aal": "aal1", "session_id": _UUID(), "email": "ada@example.com", "is_anonymous": False},
        "authentication_method": "password", "user": {"id": _UUID(), "email": "ada@example.com"}}
    return (_svix_like("Supabase Auth"), data)


def _polar(event: str, ts: int) -> Built:
    data = {"type": event, "timestamp": _iso(ts), "data": {
        "id": _UUID(), "status": "paid", "amount": 1000, "currency": "usd",
        "organization_id": _UUID(), "customer_id": _UUID(), "product_id": _UUID(),
        "created_at": _iso(ts)}}
    return (_svix_like("Polar Webhooks"), data)


EXTRA: dict[str, Builder] = {
    "adyen": _adyen, "airtable": _airtable, "alchemy": _alchemy, "asana": _asana,
    "auth0": _auth0, "bitbucket": _bitbucket, "box": _box, "braintree": _braintree,
    "buildkite": _buildkite, "calcom": _calcom, "calendly": _calendly, "chargebee": _chargebee,
    "circleci": _circleci, "clerk": _clerk, "clickup": _clickup, "coinbase": _coinbase,
    "customerio": _customerio, "deepgram": _deepgram, "discord": _discord,
    "docusign": _docusign, "dropbox": _dropbox, "easypost": _easypost,
    "elevenlabs": _elevenlabs, "eventgrid": _eventgrid, "figma": _figma, "front": _front,
    "fusionauth": _fusionauth, "gitea": _gitea, "gocardless": _gocardless, "google": _google,
    "helpscout": _helpscout, "heroku": _heroku, "hubspot": _hubspot, "intercom": _intercom,
    "jira": _jira, "launchdarkly": _launchdarkly, "lemonsqueezy": _lemonsqueezy,
    "linear": _linear, "mailgun": _mailgun, "mandrill": _mandrill, "meta": _meta,
    "monday": _monday, "msgraph": _msgraph, "mux": _mux, "netlify": _netlify,
    "notion": _notion, "nylas": _nylas, "okta": _okta, "onfleet": _onfleet, "openai": _openai,
    "paddle": _paddle, "pagerduty": _pagerduty, "paypal": _paypal, "persona": _persona,
    "pipedrive": _pipedrive, "plaid": _plaid, "plivo": _plivo, "polar": _polar,
    "postmark": _postmark, "pusher": _pusher, "razorpay": _razorpay, "recurly": _recurly,
    "replicate": _replicate, "resend": _resend, "sanity": _sanity, "sendgrid": _sendgrid,
    "sentry": _sentry, "smartsheet": _smartsheet, "sns": _sns, "square": _square,
    "strava": _strava, "supabase": _supabase, "telnyx": _telnyx, "terraform": _terraform,
    "tiktok": _tiktok, "trello": _trello, "twitch": _twitch, "typeform": _typeform,
    "vercel": _vercel, "webflow": _webflow, "woocommerce": _woocommerce, "workos": _workos,
    "x": _x, "xero": _xero, "zendesk": _zendesk, "zoom": _zoom,
}
