"""``duplicate``: a delivery id seen again on the same bin (a provider's retry). The same
event sent to two endpoints (two bins) is two deliveries, as Stripe sends one event to each
endpoint that subscribes to it; both paths that flag duplicates (the live writer, a bulk load
into an empty store) agree."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

import hooklab

pytestmark = pytest.mark.timeout(120)

EVENT = json.dumps({"id": "evt_1QxYz", "object": "event", "type": "invoice.paid",
                    "data": {"object": {"id": "in_1"}}}).encode()


def post(lab: hooklab.HookLab, bin_: str, body: bytes = EVENT) -> None:
    req = urllib.request.Request(lab.url_for(bin_), data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Stripe-Signature": "t=1790000000,v1=" + "0" * 64})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


#: (bin the event is sent to, expected duplicate)
SENDS = [("shop-a", False), ("shop-b", False), ("shop-a", True), ("shop-b", True),
         ("shop-c", False)]


def test_a_retry_is_a_duplicate_on_its_bin_only(tmp_path: Path) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "d.sqlite3")).start()
    try:
        for bin_, _ in SENDS:  # (one after another: the order is the retries')
            post(lab, bin_)
        lab.wait(len(SENDS), timeout=10)
        caps = lab.query()
        assert [(c.bin, c.provider, c.delivery_id) for c in caps] == [
            (b, "stripe", "evt_1QxYz") for b, _ in SENDS]
        assert [c.duplicate for c in caps] == [d for _, d in SENDS]
        assert lab.dataframe()["duplicate"].tolist() == [d for _, d in SENDS]
        lab.export(str(tmp_path / "all.jsonl"), fmt="jsonl")
    finally:
        lab.stop()
    # a load into an empty store works the flags out again, the same way
    again = hooklab.HookLab.from_jsonl(str(tmp_path / "all.jsonl"), db=str(tmp_path / "e.sqlite3"))
    try:
        assert [c.duplicate for c in again.query()] == [d for _, d in SENDS]
    finally:
        again.stop()


#: (provider, sample event, two different deliveries the docs show) whose delivery id was an
#: object's id alone, or a time alone: the second was flagged a duplicate (an operator's soak)
DIFFERENT = [
    ("onfleet", "taskCompleted", [
        {"triggerName": "taskStarted", "triggerId": 0, "taskId": "taskA", "time": 1700000000123,
         "actionContext": {"type": "WORKER", "id": "worker1"}},
        {"triggerName": "taskCompleted", "triggerId": 3, "taskId": "taskB", "time": 1700000000456,
         "actionContext": {"type": "WORKER", "id": "worker1"}}]),
    ("elevenlabs", "post_call_transcription", [
        {"type": "post_call_transcription", "data": {"conversation_id": "conv_same"}},
        {"type": "post_call_audio", "data": {"conversation_id": "conv_same"}}]),
    ("plivo", "message.delivered", [
        {"Status": "sent", "MessageUUID": "3f6a1c2e-0000-4000-8000-000000000001"},
        {"Status": "delivered", "MessageUUID": "3f6a1c2e-0000-4000-8000-000000000001"}]),
    ("webflow", "form_submission", [
        {"triggerType": "collection_item_changed",
         "payload": {"id": "item0a", "lastUpdated": "2024-01-01T00:00:00.000Z"}},
        {"triggerType": "collection_item_changed",
         "payload": {"id": "item0a", "lastUpdated": "2024-01-02T00:00:00.000Z"}}]),
    ("pusher", "channel_occupied", [
        {"time_ms": 1700000000123, "events": [{"name": "channel_occupied", "channel": "presence-a"}]},
        {"time_ms": 1700000000123, "events": [{"name": "channel_vacated", "channel": "presence-b"}]}]),
]


@pytest.mark.parametrize(("provider", "event", "payloads"), DIFFERENT, ids=[d[0] for d in DIFFERENT])
def test_two_different_deliveries_are_no_duplicates_a_resent_one_is(provider: str, event: str,
                                                                    payloads: list) -> None:
    secret = "00112233445566778899aabbccddeeff" if provider == "onfleet" else "s3cret-secret"
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for p in [*payloads, payloads[1]]:  # the second sent again: a retry
            hooklab.send(lab.url_for(provider), provider=provider, event=event, payload=p,
                         secret=secret)
        caps = lab.wait(3, timeout=10)
        assert [c.provider for c in caps] == [provider] * 3
        assert caps[0].delivery_id != caps[1].delivery_id
        assert [c.duplicate for c in caps] == [False, False, True]
    finally:
        lab.stop()


def test_the_pusher_sample_sent_twice_is_two_deliveries() -> None:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for _ in range(2):
            hooklab.send(lab.url_for("pusher"), provider="pusher", event="channel_occupied",
                         secret="s3cret-secret")
        assert [c.duplicate for c in lab.wait(2, timeout=10)] == [False, False]
    finally:
        lab.stop()


def test_sanity_without_an_idempotency_key_is_told_apart_by_revision() -> None:
    """Sanity's delivery id fell back to the document's _id: every change of one document
    after the first was a duplicate (a fixer's note). Now _id with _rev; the same revision
    again is a retry."""
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for rev in ("r1", "r2", "r2"):
            body = json.dumps({"_id": "post-1", "_type": "post", "_rev": rev}).encode()
            req = urllib.request.Request(lab.url_for("cms"), data=body, method="POST", headers={
                "Content-Type": "application/json", "sanity-operation": "update",
                "sanity-webhook-signature": "t=1700000000000,v1=AAAA"})
            with urllib.request.urlopen(req, timeout=10) as resp:
                assert resp.status == 200
        caps = lab.wait(3, timeout=10)
        assert [c.provider for c in caps] == ["sanity"] * 3
        assert [c.delivery_id for c in caps] == ["post-1.r1", "post-1.r2", "post-1.r2"]
        assert [c.duplicate for c in caps] == [False, False, True]
    finally:
        lab.stop()
