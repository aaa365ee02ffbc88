"""Sentry and Front delivery ids, as a user meets them: deliveries shaped like the providers'
documented payloads, signed here as the providers sign them, POSTed over real HTTP to a lab
(``hooklab.start`` on 127.0.0.1, a SQLite file), each case to a bin of its own.

Sentry (docs.sentry.io, integration platform webhooks; Sentry's source) makes a new
``Request-ID`` (``uuid4().hex``) and ``Sentry-Hook-Timestamp`` for every attempt, so a retry
(same body, same signature) was never ``duplicate``. Per resource, the payloads hold:
``error`` (action ``created``): ``data.error.event_id``; ``event_alert`` (``triggered``):
``data.event.event_id`` and ``data.triggered_rule``, the rule's label (one event can trip
several rules); ``comment`` (created / updated / deleted): ``data.comment_id`` and
``data.timestamp``, when it was created, updated or deleted; ``installation`` (created /
deleted): ``data.installation.uuid``; ``issue`` (created / resolved / assigned / archived /
unresolved): ``data.issue`` with no time of the change (created happens once per issue, the
others can repeat); ``metric_alert`` (critical / warning / resolved): ``data.metric_alert``,
the incident (resolved once; critical and warning can alternate); ``seer``: ``data.run_id``
and ``data.group_id``, no time. Every payload also has a top-level ``installation.uuid``.

Front (dev.frontapp.com): application webhooks are ``{"type", "authorization": {"id":
"cmp_..."}, "payload": <event>}`` signed HMAC-SHA256 base64 of ``timestamp:body``; rule
webhooks POST the event itself (full or preview: ``_links``, ``id`` ``evt_...``, ``type``,
``emitted_at``, ``conversation``...) signed HMAC-SHA1 base64 of the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import hooklab

SENTRY_SECRET = "sentry-client-secret-7f3a"
FRONT_SECRET = "front-api-secret-91cd"
INSTALL = "a8e5d37a-696c-4c54-adb5-b3f28d64c7de"
ISSUE = "1170820242"
ERROR_EVENT = "bb78c1407cea4519aa397afc059c793d"
ALERT_EVENT = "e4874d664c3540c1a32eab185f12c5ab"


@pytest.fixture
def lab(tmp_path) -> Iterator[hooklab.HookLab]:
    lab = hooklab.start(port=0, db=str(tmp_path / "captures.sqlite3"))
    try:
        yield lab
    finally:
        lab.stop()


def _post(lab: hooklab.HookLab, bin_: str, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=10)
    try:
        conn.request("POST", "/" + bin_, body, {"Content-Type": "application/json", **headers})
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


# -- Sentry ---------------------------------------------------------------------------------------
def _sentry(resource: str, action: str | None, data: dict[str, Any]) -> tuple[str, dict]:
    body: dict[str, Any] = {"installation": {"uuid": INSTALL}, "data": data,
                            "actor": {"type": "application", "id": "sentry", "name": "Sentry"}}
    if action is not None:
        body["action"] = action
    return resource, body


def _issue(action: str, **extra: Any) -> tuple[str, dict]:
    return _sentry("issue", action, {"issue": {
        "id": ISSUE, "shortId": "FRONT-END-9", "status": "unresolved",
        "firstSeen": "2019-08-19T20:58:37.391000Z", "lastSeen": "2019-08-19T20:58:37.391000Z",
        "title": "ReferenceError: blooopy is not defined", "project": {"id": "1", "slug": "front-end"},
        **extra}})


def _error() -> tuple[str, dict]:
    return _sentry("error", "created", {"error": {
        "event_id": ERROR_EVENT, "datetime": "2019-08-19T20:58:37.391000Z", "culprit": "?(runner)",
        "issue_id": ISSUE}})


def _event_alert(rule: str, event_id: str = ALERT_EVENT) -> tuple[str, dict]:
    return _sentry("event_alert", "triggered", {
        "event": {"event_id": event_id, "datetime": "2019-08-19T21:06:17.677000Z",
                  "issue_id": ISSUE, "culprit": "?(<anonymous>)"},
        "triggered_rule": rule, "issue_alert": {"title": rule, "settings": []}})


def _comment(action: str, when: str) -> tuple[str, dict]:
    return _sentry("comment", action, {"comment": "adding a comment", "project_slug": "sentry",
                                       "comment_id": 1234, "issue_id": 100, "timestamp": when})


def _installation(action: str) -> tuple[str, dict]:
    return _sentry("installation", action, {"installation": {
        "app": {"uuid": "64bf2cf4-37ca-4365-8dd3-6b6e56d741b8", "slug": "app"},
        "organization": {"slug": "example"}, "uuid": "82c8d8ac-ec32-4c25-bd7c-4d1bcb9d3f23",
        "status": "installed" if action == "created" else "pending"}})


def _metric(action: str) -> tuple[str, dict]:
    return _sentry("metric_alert", action, {
        "description_text": "1000 events in the last 10 minutes", "description_title": "Too many errors",
        "metric_alert": {"id": "4", "identifier": "4", "alert_rule": {"id": "7", "name": "Too many errors"},
                         "date_started": "2020-09-13T12:26:40.000000Z",
                         "date_detected": "2020-09-13T12:26:40.000000Z", "date_closed": None,
                         "status": 20}})


def _seer(action: str) -> tuple[str, dict]:
    return _sentry("seer", action, {"run_id": 12345, "group_id": 1170820242})


# (delivery, expected (event_type, delivery_id, duplicate)); a repeated delivery object is
# Sentry's retry: the same body, a new Request-ID and Sentry-Hook-Timestamp
_EA1, _EA2 = _event_alert("Send a notification for all events"), _event_alert("High priority")
_CU = _comment("updated", "2022-03-02T21:55:10.004211Z")
_IC, _MR = _installation("created"), _metric("resolved")
SENTRY = [
    ("issue created, retried", [_issue("created"), _issue("created")],
     [("issue.created", f"issue.created.{ISSUE}", False),
      ("issue.created", f"issue.created.{ISSUE}", True)]),
    # an issue resolved, reopened and resolved again: nothing in the payload tells the two
    # resolutions apart, so no id (never the issue's id, in every event of the issue)
    ("issue resolved twice, assigned", [_issue("resolved"), _issue("resolved"), _issue("assigned")],
     [("issue.resolved", None, False), ("issue.resolved", None, False),
      ("issue.assigned", None, False)]),
    ("error created, retried", [_error(), _error()],
     [("error.created", f"error.created.{ERROR_EVENT}", False),
      ("error.created", f"error.created.{ERROR_EVENT}", True)]),
    ("one event, two alert rules, a retry of the first", [_EA1, _EA2, _EA1],
     [("event_alert.triggered",
       f"event_alert.triggered.{ALERT_EVENT}.Send a notification for all events", False),
      ("event_alert.triggered", f"event_alert.triggered.{ALERT_EVENT}.High priority", False),
      ("event_alert.triggered",
       f"event_alert.triggered.{ALERT_EVENT}.Send a notification for all events", True)]),
    ("an error and an alert of one event", [_event_alert("r", ERROR_EVENT), _error()],
     [("event_alert.triggered", f"event_alert.triggered.{ERROR_EVENT}.r", False),
      ("error.created", f"error.created.{ERROR_EVENT}", False)]),
    ("comment created, updated, update retried",
     [_comment("created", "2022-03-02T21:51:44.118160Z"), _CU, _CU],
     [("comment.created", "comment.created.1234.2022-03-02T21:51:44.118160Z", False),
      ("comment.updated", "comment.updated.1234.2022-03-02T21:55:10.004211Z", False),
      ("comment.updated", "comment.updated.1234.2022-03-02T21:55:10.004211Z", True)]),
    ("installation created, retried, deleted", [_IC, _IC, _installation("deleted")],
     [("installation.created", "installation.created.82c8d8ac-ec32-4c25-bd7c-4d1bcb9d3f23", False),
      ("installation.created", "installation.created.82c8d8ac-ec32-4c25-bd7c-4d1bcb9d3f23", True),
      ("installation.deleted", "installation.deleted.82c8d8ac-ec32-4c25-bd7c-4d1bcb9d3f23", False)]),
    ("metric alert critical, warning, critical, resolved retried",
     [_metric("critical"), _metric("warning"), _metric("critical"), _MR, _MR],
     [("metric_alert.critical", None, False), ("metric_alert.warning", None, False),
      ("metric_alert.critical", None, False), ("metric_alert.resolved", "metric_alert.resolved.4", False),
      ("metric_alert.resolved", "metric_alert.resolved.4", True)]),
    ("seer: stages of one run carry no time", [_seer("root_cause_started"), _seer("root_cause_started")],
     [("seer.root_cause_started", None, False), ("seer.root_cause_started", None, False)]),
    # hostile shapes: never the top-level installation uuid, another resource's field, or an
    # id short of a part
    ("issue without an id, without an action", [_sentry("issue", "created", {"issue": {}}),
                                                _sentry("issue", None, {"issue": {"id": ISSUE}})],
     [("issue.created", None, False), ("issue", None, False)]),
    ("error fields under another resource",
     [_sentry("issue", "created", {"error": {"event_id": ERROR_EVENT}}),
      _sentry("comment", "created", {"comment_id": 1234}),
      _sentry("installation", "created", {}),
      _sentry("event_alert", "triggered", {"event": {"event_id": ALERT_EVENT}})],
     [("issue.created", None, False), ("comment.created", None, False),
      ("installation.created", None, False), ("event_alert.triggered", None, False)]),
]


@pytest.mark.parametrize(("case", "deliveries", "expected"), SENTRY, ids=[c[0] for c in SENTRY])
def test_sentry_delivery_ids_come_from_the_payload(lab: hooklab.HookLab, case: str,
                                                   deliveries: list, expected: list) -> None:
    bin_ = f"sentry-{[c[0] for c in SENTRY].index(case)}"
    lab.secret(bin_, SENTRY_SECRET, provider="sentry")
    for n, (resource, payload) in enumerate(deliveries):
        body = json.dumps(payload).encode()
        sig = hmac.new(SENTRY_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert _post(lab, bin_, body, {
            "Request-ID": uuid.uuid4().hex, "Sentry-Hook-Resource": resource,
            "Sentry-Hook-Timestamp": str(int(time.time()) + n), "Sentry-Hook-Signature": sig}) == 200
    caps = lab.wait(len(deliveries), bin=bin_, timeout=20)
    assert [(c.provider, c.verified) for c in caps] == [("sentry", True)] * len(deliveries)
    assert [(c.event_type, c.delivery_id, c.duplicate) for c in caps] == expected, case


# -- Front ----------------------------------------------------------------------------------------
def _front_event(evt: str, kind: str, *, full: bool = True) -> dict[str, Any]:
    conv: dict[str, Any] = {"_links": {"self": "https://api2.frontapp.com/conversations/cnv_55c8c149"},
                            "id": "cnv_55c8c149"}
    if full:
        conv |= {"subject": "Hello", "status": "assigned"}
    return {"_links": {"self": f"https://api2.frontapp.com/events/{evt}"}, "id": evt, "type": kind,
            "emitted_at": 1453770984.123, "conversation": conv,
            "source": {"_meta": {"type": "rule"}, "data": {"id": "rul_6r55a"}}}


def _rule(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    sig = base64.b64encode(hmac.new(FRONT_SECRET.encode(), body, hashlib.sha1).digest()).decode()
    return body, {"X-Front-Signature": sig}


def _app(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    ts = str(int(time.time() * 1000))
    sig = base64.b64encode(hmac.new(FRONT_SECRET.encode(), ts.encode() + b":" + body,
                                    hashlib.sha256).digest()).decode()
    return body, {"X-Front-Signature": sig, "X-Front-Request-Timestamp": ts}


_AUTH = {"id": "cmp_1a2b"}
FRONT = [
    ("rule webhook, full event, resent", [("rule", _front_event("evt_55c8c149", "assign"))] * 2,
     [("assign", "evt_55c8c149", False), ("assign", "evt_55c8c149", True)]),
    ("rule webhook previews: two events of one conversation",
     [("rule", _front_event("evt_55c8c149", "assign", full=False)),
      ("rule", _front_event("evt_55c8c150", "archive", full=False))],
     [("assign", "evt_55c8c149", False), ("archive", "evt_55c8c150", False)]),
    ("application webhook, resent",
     [("app", {"type": "assign", "authorization": _AUTH,
               "payload": _front_event("evt_a1", "assign")})] * 2,
     [("assign", "evt_a1", False), ("assign", "evt_a1", True)]),
    # hostile: no other object's id (the company's, a conversation's without an event's time)
    ("an object that is no event, an application webhook without an event id",
     [("rule", {"id": "cnv_55c8c149", "type": "conversation", "subject": "Hello"}),
      ("app", {"type": "assign", "authorization": _AUTH, "payload": {"type": "assign"}}),
      ("app", {"type": "assign", "authorization": _AUTH, "id": "cmp_1a2b", "payload": {}})],
     [("conversation", None, False), ("assign", None, False), ("assign", None, False)]),
]


@pytest.mark.parametrize(("case", "deliveries", "expected"), FRONT, ids=[c[0] for c in FRONT])
def test_front_rule_and_application_webhooks_get_the_event_id(lab: hooklab.HookLab, case: str,
                                                              deliveries: list, expected: list) -> None:
    bin_ = f"front-{[c[0] for c in FRONT].index(case)}"
    lab.secret(bin_, FRONT_SECRET, provider="front")
    for kind, payload in deliveries:
        body, headers = (_rule if kind == "rule" else _app)(payload)
        assert _post(lab, bin_, body, headers) == 200
    caps = lab.wait(len(deliveries), bin=bin_, timeout=20)
    assert [(c.provider, c.verified) for c in caps] == [("front", True)] * len(deliveries), \
        [c.verify_reason for c in caps]
    assert [(c.event_type, c.delivery_id, c.duplicate) for c in caps] == expected, case
