"""Delivery ids, event types and payload shapes as the providers document them (an outside
tester's report): deliveries shaped like each provider's own examples, sent over real HTTP to a
lab, each case to a bin of its own; ``duplicate`` is a delivery id seen again on that bin.

A delivery id must name one delivery: the same on the sender's retry, never on another
delivery. Many were an object's id, in every event of that object, so the second event of an
order, message or run was flagged ``duplicate`` (Meta: the page's or WhatsApp business
account's id, in EVERY delivery). Sources, by case:

- WhatsApp Cloud API webhooks reference (messages, statuses): ``entry[0].id`` is the WhatsApp
  Business Account's; a message's ``id`` is its wamid; a status names the wamid it is about.
- Messenger Platform webhooks: ``entry[0].messaging[0].message.mid``.
- Microsoft Graph changeNotification: ``id`` "Unique ID for the notification" (optional),
  ``changeType`` and ``resource`` (change notifications) or ``lifecycleEvent``.
- Smartsheet webhook callbacks: ``nonce``, ``webhookId`` (the webhook's).
- Plaid: webhooks carry ``item_id`` and no id or time of their own.
- Twilio: ``I-Twilio-Idempotency-Token`` per webhook request, the same on Twilio's retry;
  status callbacks repeat ``MessageSid`` with each ``MessageStatus``.
- Postmark delivery / open / bounce webhooks: ``MessageID`` in each; a bounce's ``ID``.
- Lemon Squeezy: ``meta.event_name``, ``data`` is the object (``updated_at``).
- HCP Terraform notification payload: ``run_id`` in each stage's notification.
- Calendly: ``payload.uri`` is the invitee's; Cal.com ``payload.uid`` the booking's.
- DocuSign Connect JSON: ``data.envelopeId``, ``generatedDateTime``.
- Netlify deploy notifications: the body is the deploy; Strava: ``object_id``, ``event_time``.
- Xero: ``events[].resourceId``, ``eventDateUtc``.
- Adyen "handle webhook events": a duplicate has the same ``eventCode`` and ``pspReference``
  (its ``eventDate`` may differ).
- Google push notifications: ``X-Goog-Message-Number`` numbers one channel's messages (always 1
  for ``sync``).
- Discord interaction types: 1 PING, 2 APPLICATION_COMMAND, 3 MESSAGE_COMPONENT,
  4 APPLICATION_COMMAND_AUTOCOMPLETE, 5 MODAL_SUBMIT.
- Deepgram callbacks POST the /v1/listen response (``metadata.models`` are model UUIDs);
  Airtable's are notification pings ``{base, webhook, timestamp}``.
- Typeform and SendGrid sign only when a secret is set: unsigned deliveries have no header of
  theirs.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from _http import post

J = {"Content-Type": "application/json"}


def _h(**headers: str) -> dict[str, str]:
    return {**J, **{k.replace("_", "-"): v for k, v in headers.items()}}


# -- Meta: WhatsApp and Messenger ------------------------------------------------------------------
_WABA = "102290129340398"
_WAMID1 = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
_WAMID2 = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgB="
_META = _h(X_Hub_Signature_256="sha256=" + "ab" * 32, User_Agent="facebookexternalua")


def _whatsapp(value: dict) -> dict:
    return {"object": "whatsapp_business_account", "entry": [{"id": _WABA, "changes": [{
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": "15550783881",
                               "phone_number_id": "106540352242922"}, **value},
        "field": "messages"}]}]}


def _wa_message(wamid: str, text: str) -> dict:
    return _whatsapp({"contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
                      "messages": [{"from": "16505551234", "id": wamid, "timestamp": "1749416383",
                                    "type": "text", "text": {"body": text}}]})


def _wa_status(wamid: str, status: str, ts: str) -> dict:
    return _whatsapp({"statuses": [{"id": wamid, "status": status, "timestamp": ts,
                                    "recipient_id": "16505551234"}]})


def _messenger(event: dict) -> dict:
    return {"object": "page", "entry": [{"id": "PAGE_ID", "time": 1458692752478, "messaging": [{
        "sender": {"id": "PSID"}, "recipient": {"id": "PAGE_ID"}, "timestamp": 1458692752478,
        **event}]}]}


# -- Microsoft Graph -------------------------------------------------------------------------------
_MSG = "Users/{user_guid}@{tenant_guid}/Messages/"


def _graph(nid: str, res: str, change: str = "created") -> dict:
    return {"value": [{
        "id": nid, "subscriptionId": "{subscription_guid}",
        "subscriptionExpirationDateTime": "2016-03-19T22:11:09.952Z",
        "clientState": "secretClientValue", "changeType": change, "resource": _MSG + res,
        "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Message",
                         "@odata.id": _MSG + res, "id": res}}]}


_GRAPH_LIFECYCLE = {"value": [{
    "subscriptionId": "{subscription_guid}", "subscriptionExpirationDateTime": "2016-03-19T22:11:09.952Z",
    "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95", "clientState": "secretClientValue",
    "lifecycleEvent": "reauthorizationRequired"}]}


# -- Smartsheet, Plaid, Twilio, Postmark -----------------------------------------------------------
def _smartsheet(nonce: str, ts: str) -> dict:
    return {"nonce": nonce, "timestamp": ts, "webhookId": 4503604829677444, "scope": "sheet",
            "scopeObjectId": 3285357287499652, "events": [{
                "objectType": "sheet", "eventType": "updated", "id": 3285357287499652,
                "userId": 3285357287499652, "timestamp": ts}]}


_PLAID = {"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE",
          "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb", "initial_update_complete": True,
          "historical_update_complete": False, "environment": "production"}
_PLAID_H = _h(Plaid_Verification="eyJhbGciOiJFUzI1NiJ9.e30.sig")

_SM = "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
_TOKEN_SENT, _TOKEN_DELIVERED = ("8d8cf3a4-0ab0-4b5a-9f5e-0a0c6a4e6e11",
                                 "1f3b0c71-7a5e-4e38-9bd2-5d6a2e9d2a01")


def _twilio(status: str, token: str | None) -> tuple[dict[str, str], bytes]:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1",
               "X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}
    if token:
        headers["I-Twilio-Idempotency-Token"] = token
    return headers, urlencode({
        "AccountSid": "AC" + "X" * 32, "ApiVersion": "2010-04-01", "From": "+15017122661",
        "MessageSid": _SM, "MessageStatus": status, "SmsSid": _SM, "SmsStatus": status,
        "To": "+15558675310"}).encode()


_PM_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
_PM_DELIVERY = {"MessageID": _PM_ID, "Recipient": "john@example.com",
                "DeliveredAt": "2019-11-05T16:33:54.9070259Z", "Details": "Test delivery webhook details",
                "Tag": "welcome-email", "ServerID": 23, "Metadata": {"a_key": "a_value"},
                "RecordType": "Delivery", "MessageStream": "outbound"}


def _pm_open(at: str) -> dict:
    return {"RecordType": "Open", "MessageStream": "outbound", "FirstOpen": False,
            "Client": {"Name": "Chrome 35.0.1916.153"}, "OS": {"Name": "OS X 10.7 Lion"},
            "Platform": "WebMail", "UserAgent": "Mozilla/5.0", "Geo": {}, "MessageID": _PM_ID,
            "Metadata": {"a_key": "a_value"}, "ReceivedAt": at, "Tag": "welcome-email",
            "Recipient": "john@example.com"}


_PM_BOUNCE = {"RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807,
              "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce", "Tag": "Test",
              "MessageID": _PM_ID, "ServerID": 23, "Description": "The server was unable to deliver",
              "Email": "john@example.com", "From": "sender@example.com",
              "BouncedAt": "2019-11-05T16:33:54.9070259Z"}


# -- Lemon Squeezy, Terraform, Calendly, DocuSign, Netlify -----------------------------------------
def _lemon(event: str, status: str, updated: str) -> tuple[dict[str, str], dict]:
    return _h(X_Event_Name=event, X_Signature="ab" * 32), {
        "meta": {"event_name": event, "custom_data": {"customer_id": 25}},
        "data": {"type": "subscriptions", "id": "1", "attributes": {
            "store_id": 1, "status": status, "created_at": "2021-08-11T13:47:27.000000Z",
            "updated_at": updated}}}


_RUN = "run-FwnENkvDnrpyFC7M"


def _terraform(trigger: str, status: str, at: str) -> dict:
    return {"payload_version": 1, "notification_configuration_id": "nc-AeUQ2zfKZzW9TiGZ",
            "run_url": "https://app.terraform.io/app/acme-org/my-workspace/runs/" + _RUN,
            "run_id": _RUN, "run_message": "Add five new queue workers",
            "run_created_at": "2019-01-25T18:34:00.000Z", "run_created_by": "sample-user",
            "workspace_id": "ws-XdeUVMWShTesDMME", "workspace_name": "my-workspace",
            "organization_name": "acme-org", "notifications": [{
                "message": "Run Planned", "trigger": trigger, "run_status": status,
                "run_updated_at": at, "run_updated_by": None}]}


_INVITEE = "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA"


def _calendly(event: str, at: str) -> dict:
    return {"created_at": at, "created_by": "https://api.calendly.com/users/AAAAAAAAAAAAAAAA",
            "event": event, "payload": {"uri": _INVITEE, "email": "test@example.com",
                                        "status": "active" if event == "invitee.created" else "canceled",
                                        "event": "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2"}}


_ENVELOPE = "93be49ab-xxxx-xxxx-xxxx-f752070d71ec"


def _docusign(event: str, at: str) -> dict:
    return {"event": event, "apiVersion": "v2.1",
            "uri": "/restapi/v2.1/accounts/x/envelopes/" + _ENVELOPE, "retryCount": 0,
            "configurationId": 10418, "generatedDateTime": at,
            "data": {"accountId": "d8e2b4a0-xxxx", "userId": "f2a6c2c0-xxxx", "envelopeId": _ENVELOPE}}


_DEPLOY = "5e8e8f2c9b8a1c0007b6a1f1"


def _netlify(event: str, state: str) -> tuple[dict[str, str], dict]:
    return _h(X_Netlify_Event=event, X_Webhook_Signature="e30.e30.x"), {
        "id": _DEPLOY, "site_id": "a1b2", "build_id": "5e8e8f2c9b8a1c0007b6a1f0", "state": state,
        "name": "mysite", "url": "http://mysite.netlify.app"}


# -- Strava, Xero, Adyen, Google, Cal.com ----------------------------------------------------------
_STRAVA = {"aspect_type": "update", "event_time": 1516126040, "object_id": 1360128428,
           "object_type": "activity", "owner_id": 134815, "subscription_id": 120475,
           "updates": {"title": "Messy"}}
_STRAVA2 = {**_STRAVA, "event_time": 1516126999, "updates": {"title": "Clean"}}
_CONTACT = "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777"


def _xero(at: str) -> dict:
    return {"events": [{
        "resourceUrl": "https://api.xero.com/api.xro/2.0/Contacts/" + _CONTACT, "resourceId": _CONTACT,
        "eventDateUtc": at, "eventType": "UPDATE", "eventCategory": "CONTACT",
        "tenantId": "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f", "tenantType": "ORGANISATION"}],
        "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "S0m3r4Nd0mt3xt"}


def _adyen(code: str, at: str, success: str = "true") -> dict:
    return {"live": "false", "notificationItems": [{"NotificationRequestItem": {
        "additionalData": {"hmacSignature": "abc"}, "amount": {"currency": "EUR", "value": 1000},
        "eventCode": code, "eventDate": at, "merchantAccountCode": "YOUR_MERCHANT_ACCOUNT",
        "merchantReference": "YOUR_MERCHANT_REFERENCE", "originalReference": "",
        "paymentMethod": "ideal", "pspReference": "YOUR_PSP_REFERENCE", "reason": "",
        "success": success}}]}


_CH1, _CH2 = "4ba78bf0-6a47-11e2-bcfd-0800200c9a66", "9d0c5cf0-0000-11e2-bcfd-0800200c9a66"


def _google(channel: str, number: str, state: str) -> dict[str, str]:
    return {"X-Goog-Channel-ID": channel, "X-Goog-Channel-Token": "to66728b21-21b2-4c3f-9e5a",
            "X-Goog-Channel-Expiration": "Tue, 19 Nov 2013 01:13:52 GMT",
            "X-Goog-Resource-ID": "ret08u3rv24htgh289g",
            "X-Goog-Resource-URI": "https://www.googleapis.com/calendar/v3/calendars/my_calendar@gmail.com/events",
            "X-Goog-Resource-State": state, "X-Goog-Message-Number": number}


def _calcom(trigger: str, at: str) -> dict:
    return {"triggerEvent": trigger, "createdAt": at, "payload": {
        "type": "60min", "title": "60min between A and B", "uid": "bFJeNb2uX8ANpT3JL5EfXw"}}


_DISCORD = _h(X_Signature_Ed25519="aa" * 64, X_Signature_Timestamp="1")


def _interaction(kind: int, iid: str) -> dict:
    return {"type": kind, "id": iid, "application_id": "775799577604522054", "token": "t",
            "version": 1, "data": {"name": "cardsearch", "type": 1}}


_DG_MODEL = "30089e05-99d1-4376-b32e-c263170674af"
_DG_REQUEST = "2479c8c8-8185-40ac-9ac6-f0874419f793"
_SG = {"email": "example@test.com", "timestamp": 1513299569, "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
       "event": "processed", "category": "cat facts", "sg_event_id": "sg_event_id",
       "sg_message_id": "sg_message_id"}

# (case, deliveries in order as (headers, body), expected (provider, event_type, delivery_id,
#  duplicate) of each capture)
CASES = [
    ("whatsapp: two messages, a retry of the second", [
        (_META, _wa_message(_WAMID1, "Does it come in another color?")),
        (_META, _wa_message(_WAMID2, "And in blue?")),
        (_META, _wa_message(_WAMID2, "And in blue?")),
    ], [("meta", "whatsapp_business_account.messages", _WAMID1, False),
        ("meta", "whatsapp_business_account.messages", _WAMID2, False),
        ("meta", "whatsapp_business_account.messages", _WAMID2, True)]),
    ("whatsapp: one message sent, then delivered", [
        (_META, _wa_status(_WAMID1, "sent", "1750263773")),
        (_META, _wa_status(_WAMID1, "delivered", "1750263774")),
    ], [("meta", "whatsapp_business_account.messages", _WAMID1 + ".sent", False),
        ("meta", "whatsapp_business_account.messages", _WAMID1 + ".delivered", False)]),
    ("messenger: a message, then a read (no id of its own)", [
        (_META, _messenger({"message": {"mid": "m_1457764197618:41d102a3e1ae206a38", "text": "hello"}})),
        (_META, _messenger({"read": {"watermark": 1458668856253}})),
        (_META, _messenger({"read": {"watermark": 1458668856999}})),
    ], [("meta", "page", "m_1457764197618:41d102a3e1ae206a38", False),
        ("meta", "page", None, False), ("meta", "page", None, False)]),
    ("msgraph: two notifications of one subscription, a retry, a lifecycle one", [
        (J, _graph("lsgTZMr9KwAAA", "{long_id_1}")),
        (J, _graph("lsgTZMr9KwAAB", "{long_id_2}")),
        (J, _graph("lsgTZMr9KwAAB", "{long_id_2}")),
        (J, _GRAPH_LIFECYCLE),
    ], [("msgraph", "created", "lsgTZMr9KwAAA.created." + _MSG + "{long_id_1}", False),
        ("msgraph", "created", "lsgTZMr9KwAAB.created." + _MSG + "{long_id_2}", False),
        ("msgraph", "created", "lsgTZMr9KwAAB.created." + _MSG + "{long_id_2}", True),
        ("msgraph", "reauthorizationRequired", None, False)]),
    ("smartsheet: two callbacks of one webhook", [
        (_h(Smartsheet_Hmac_SHA256="ab"), _smartsheet("4b2ed4b4-a1c9-4b86-9fa7-5b1b3f5cb1c1",
                                                      "2017-03-14T00:27:55.000+00:00")),
        (_h(Smartsheet_Hmac_SHA256="cd"), _smartsheet("1b1a1d9f-7e39-4f06-8ac8-3a0c04a0f8a4",
                                                      "2017-03-14T00:29:01.000+00:00")),
    ], [("smartsheet", "sheet.updated", "4b2ed4b4-a1c9-4b86-9fa7-5b1b3f5cb1c1", False),
        ("smartsheet", "sheet.updated", "1b1a1d9f-7e39-4f06-8ac8-3a0c04a0f8a4", False)]),
    ("plaid: initial then historical update of one Item (no id: never a duplicate)", [
        (_PLAID_H, _PLAID), (_PLAID_H, {**_PLAID, "historical_update_complete": True}),
    ], [("plaid", "TRANSACTIONS.SYNC_UPDATES_AVAILABLE", None, False),
        ("plaid", "TRANSACTIONS.SYNC_UPDATES_AVAILABLE", None, False)]),
    ("twilio: sent, delivered, Twilio's retry of delivered", [
        _twilio("sent", _TOKEN_SENT), _twilio("delivered", _TOKEN_DELIVERED),
        _twilio("delivered", _TOKEN_DELIVERED),
    ], [("twilio", "sent", _TOKEN_SENT, False), ("twilio", "delivered", _TOKEN_DELIVERED, False),
        ("twilio", "delivered", _TOKEN_DELIVERED, True)]),
    ("twilio without the idempotency header: the Sid with each status", [
        _twilio("sent", None), _twilio("delivered", None),
    ], [("twilio", "sent", _SM + ".sent", False), ("twilio", "delivered", _SM + ".delivered", False)]),
    ("postmark: delivery, two opens, a bounce of one message; the delivery resent", [
        (J, _PM_DELIVERY), (J, _pm_open("2019-11-05T16:33:54.9070259Z")),
        (J, _pm_open("2019-11-06T09:12:01.1234567Z")), (J, _PM_BOUNCE), (J, _PM_DELIVERY),
    ], [("postmark", "Delivery", f"Delivery.{_PM_ID}.2019-11-05T16:33:54.9070259Z", False),
        ("postmark", "Open", f"Open.{_PM_ID}.2019-11-05T16:33:54.9070259Z", False),
        ("postmark", "Open", f"Open.{_PM_ID}.2019-11-06T09:12:01.1234567Z", False),
        ("postmark", "Bounce", "Bounce.4323372036854775807", False),
        ("postmark", "Delivery", f"Delivery.{_PM_ID}.2019-11-05T16:33:54.9070259Z", True)]),
    ("lemonsqueezy: one subscription created, then updated", [
        _lemon("subscription_created", "active", "2021-08-11T13:47:28.000000Z"),
        _lemon("subscription_updated", "cancelled", "2021-08-12T09:00:00.000000Z"),
    ], [("lemonsqueezy", "subscription_created",
         "subscription_created.subscriptions.1.2021-08-11T13:47:28.000000Z", False),
        ("lemonsqueezy", "subscription_updated",
         "subscription_updated.subscriptions.1.2021-08-12T09:00:00.000000Z", False)]),
    ("terraform: one run planning, then completed", [
        (_h(X_TFE_Notification_Signature="ab"), _terraform("run:planning", "planning",
                                                           "2019-01-25T18:34:04.000Z")),
        (_h(X_TFE_Notification_Signature="cd"), _terraform("run:completed", "applied",
                                                           "2019-01-25T18:37:04.000Z")),
    ], [("terraform", "run:planning", f"run:planning.{_RUN}.2019-01-25T18:34:04.000Z", False),
        ("terraform", "run:completed", f"run:completed.{_RUN}.2019-01-25T18:37:04.000Z", False)]),
    ("calendly: one invitee created, then canceled", [
        (_h(Calendly_Webhook_Signature="t=1492774577,v1=ab"),
         _calendly("invitee.created", "2020-11-23T17:51:19.000000Z")),
        (_h(Calendly_Webhook_Signature="t=1492774588,v1=cd"),
         _calendly("invitee.canceled", "2020-11-24T08:02:41.000000Z")),
    ], [("calendly", "invitee.created", f"invitee.created.{_INVITEE}.2020-11-23T17:51:19.000000Z", False),
        ("calendly", "invitee.canceled", f"invitee.canceled.{_INVITEE}.2020-11-24T08:02:41.000000Z",
         False)]),
    ("docusign: one envelope sent, then completed", [
        (_h(X_DocuSign_Signature_1="ab"), _docusign("envelope-sent", "2021-06-08T21:44:03.1436261Z")),
        (_h(X_DocuSign_Signature_1="cd"), _docusign("envelope-completed", "2021-06-08T21:50:12.7761010Z")),
    ], [("docusign", "envelope-sent", f"envelope-sent.{_ENVELOPE}.2021-06-08T21:44:03.1436261Z", False),
        ("docusign", "envelope-completed",
         f"envelope-completed.{_ENVELOPE}.2021-06-08T21:50:12.7761010Z", False)]),
    ("netlify: one deploy building, then created", [
        _netlify("deploy_building", "building"), _netlify("deploy_created", "ready"),
    ], [("netlify", "deploy_building", "deploy_building." + _DEPLOY, False),
        ("netlify", "deploy_created", "deploy_created." + _DEPLOY, False)]),
    ("strava: two edits of one activity, a retry of the second", [
        (J, _STRAVA), (J, _STRAVA2), (J, _STRAVA2),
    ], [("strava", "activity.update", "activity.update.1360128428.1516126040", False),
        ("strava", "activity.update", "activity.update.1360128428.1516126999", False),
        ("strava", "activity.update", "activity.update.1360128428.1516126999", True)]),
    ("xero: one contact updated twice", [
        (_h(x_xero_signature="ab"), _xero("2017-06-21T01:15:39.902")),
        (_h(x_xero_signature="cd"), _xero("2017-06-22T09:00:00.000")),
    ], [("xero", "CONTACT.UPDATE", f"CONTACT.UPDATE.{_CONTACT}.2017-06-21T01:15:39.902", False),
        ("xero", "CONTACT.UPDATE", f"CONTACT.UPDATE.{_CONTACT}.2017-06-22T09:00:00.000", False)]),
    ("adyen: two events of one payment, a duplicate (another eventDate)", [
        (J, _adyen("AUTHORISATION", "2021-01-01T01:00:00+01:00")),
        (J, _adyen("OFFER_CLOSED", "2021-01-01T01:30:00+01:00")),
        (J, _adyen("AUTHORISATION", "2021-01-01T01:00:07+01:00")),
    ], [("adyen", "AUTHORISATION", "AUTHORISATION.YOUR_PSP_REFERENCE.true", False),
        ("adyen", "OFFER_CLOSED", "OFFER_CLOSED.YOUR_PSP_REFERENCE.true", False),
        ("adyen", "AUTHORISATION", "AUTHORISATION.YOUR_PSP_REFERENCE.true", True)]),
    ("google: sync of two channels, then a change on the first", [
        (_google(_CH1, "1", "sync"), b""), (_google(_CH2, "1", "sync"), b""),
        (_google(_CH1, "10", "exists"), b""),
    ], [("google", "sync", _CH1 + ".1", False), ("google", "sync", _CH2 + ".1", False),
        ("google", "exists", _CH1 + ".10", False)]),
    ("calcom: one booking created, then cancelled", [
        (_h(X_Cal_Signature_256="ab"), _calcom("BOOKING_CREATED", "2023-05-24T09:30:00.538Z")),
        (_h(X_Cal_Signature_256="cd"), _calcom("BOOKING_CANCELLED", "2023-05-25T10:00:00.104Z")),
    ], [("calcom", "BOOKING_CREATED", "BOOKING_CREATED.bFJeNb2uX8ANpT3JL5EfXw.2023-05-24T09:30:00.538Z", False),
        ("calcom", "BOOKING_CANCELLED",
         "BOOKING_CANCELLED.bFJeNb2uX8ANpT3JL5EfXw.2023-05-25T10:00:00.104Z", False)]),
    ("discord: interaction types by name", [
        (_DISCORD, _interaction(2, "786008729715212338")),
        (_DISCORD, _interaction(3, "786008729715212339")),
        (_DISCORD, _interaction(4, "786008729715212340")),
        (_DISCORD, _interaction(5, "786008729715212341")),
    ], [("discord", "application_command", "786008729715212338", False),
        ("discord", "message_component", "786008729715212339", False),
        ("discord", "application_command_autocomplete", "786008729715212340", False),
        ("discord", "modal_submit", "786008729715212341", False)]),
    ("deepgram: a transcription callback", [
        (_h(dg_token="abc"), {"metadata": {"request_id": _DG_REQUEST, "models": [_DG_MODEL],
                                           "model_info": {_DG_MODEL: {"name": "2-general-nova",
                                                                      "arch": "nova-2"}}},
                              "results": {"channels": []}}),
    ], [("deepgram", "transcription", _DG_REQUEST, False)]),
    ("airtable: two notification pings of one webhook", [
        (_h(X_Airtable_Content_MAC="hmac-sha256=ab"), {
            "base": {"id": "appXXXXXXXXXXXXXX"}, "webhook": {"id": "achXXXXXXXXXXXXXX"},
            "timestamp": "2022-02-01T21:25:05.663Z"}),
        (_h(X_Airtable_Content_MAC="hmac-sha256=cd"), {
            "base": {"id": "appXXXXXXXXXXXXXX"}, "webhook": {"id": "achXXXXXXXXXXXXXX"},
            "timestamp": "2022-02-01T21:26:05.663Z"}),
    ], [("airtable", "ping", "achXXXXXXXXXXXXXX.2022-02-01T21:25:05.663Z", False),
        ("airtable", "ping", "achXXXXXXXXXXXXXX.2022-02-01T21:26:05.663Z", False)]),
    ("typeform and sendgrid sent unsigned", [
        (J, {"event_id": "LtWXD3crgy", "event_type": "form_response",
             "form_response": {"form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15"}}),
        (J, [_SG]),
    ], [("typeform", "form_response", "LtWXD3crgy", False),
        ("sendgrid", "processed", "sg_event_id", False)]),
]

# generic JSON that only looks like a provider's: no provider, no event type, no delivery id
LOOSE = [
    {"object": "thing", "entry": [{"id": "1"}]},  # was Meta's
    {"webhook_id": "w1", "event": "created", "data": {}},  # was ClickUp's
    {"value": [{"subscriptionId": "s1", "name": "x"}]},  # was Graph's
    {"event_type": "form_response", "event_id": "e1"},  # Typeform's words, no form_response
    [{"event": "processed", "email": "a@example.com"}],  # SendGrid's words, no sg_event_id
]


@pytest.mark.parametrize(("case", "deliveries", "expected"), CASES, ids=[c[0] for c in CASES])
def test_documented_deliveries_get_one_delivery_id_each(lab, case, deliveries, expected):
    """Different deliveries are never ``duplicate`` (a delivery id was often the object's);
    a provider's retry is."""
    bin_ = "ids-" + str(CASES.index((case, deliveries, expected)))
    for headers, body in deliveries:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, _ = post(lab.url_for(bin_), raw, headers)
        assert status == 200, (case, status)
    caps = lab.wait(len(deliveries), bin=bin_, timeout=10)
    got = [(c.provider, c.event_type, c.delivery_id, c.duplicate) for c in caps]
    assert got == expected, case


@pytest.mark.parametrize("body", LOOSE, ids=["meta", "clickup", "msgraph", "typeform", "sendgrid"])
def test_generic_json_is_no_providers(lab, body):
    bin_ = "loose-" + str(LOOSE.index(body))
    assert post(lab.url_for(bin_), json.dumps(body).encode(), J)[0] == 200
    (cap,) = lab.wait(1, bin=bin_, timeout=10)
    assert (cap.provider, cap.event_type, cap.delivery_id) == (None, None, None)
