"""``lab.json_schema(None, **filters)``: the JSON Schema of the captures matching the filters
that have no event type (your own app's webhooks, a provider's delivery without one). An
outside tester found ``json_schema(None, bin="orders")`` refused ("needs an event type") although
``lab.schema(bin="orders")`` lists those captures' fields. ``""`` is not "no event type": it
is refused, and the message names ``None``.

Captures sent over HTTP to a lab on 127.0.0.1; a SQLite file of sealed segments (4,096
captures each, whose kept summaries answer ``provider=`` filters); each schema validates the
bodies it came from and is written out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from _http import post

import hooklab
from hooklab.explore.schema import SUMMARY_KIND
from hooklab.store import CaptureStore

JSON = {"Content-Type": "application/json"}
STRIPE = {**JSON, "Stripe-Signature": "t=1,v1=00"}  # (no secret: not checked)
STANDARD = {**JSON, "webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,xx"}
# (bin, headers, body): provider and event type as hooklab detects them
SENT: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("orders", JSON, {"order_id": 1, "total": 9.5}),
    ("orders", JSON, {"order_id": 2, "total": 10, "note": "gift"}),
    ("stripe", STRIPE, {"id": "evt_1", "object": "event", "type": "invoice.paid", "amount": 5}),
    ("stripe", STRIPE, {"id": "evt_2", "object": "event", "livemode": False}),  # no type: none
    ("std", STANDARD, {"msg": "hello", "n": 1}),  # Standard Webhooks: a provider, no event type
    ("orders", JSON, {"order_id": "three", "total": 1}),
]


def props(**kinds: Any) -> dict[str, Any]:
    return {k: ({"type": v} if isinstance(v, (str, list)) else v) for k, v in kinds.items()}


# name -> (filters, the schema's properties, required)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
    "a bin of your own app's webhooks": (
        {"bin": "orders"},
        props(order_id=["string", "integer"], total=["integer", "number"], note="string"),
        ["order_id", "total"]),
    "a provider's deliveries without one": (
        {"provider": "stripe"},
        props(id="string", object="string", livemode="boolean"), ["id", "object", "livemode"]),
    "a provider, another bin's": (
        {"provider": "standardwebhooks"}, props(msg="string", n="integer"), ["msg", "n"]),
    "every capture without one, providers together": (
        {},
        props(order_id=["string", "integer"], total=["integer", "number"], note="string", id="string",
              object="string", livemode="boolean", msg="string", n="integer"), []),
    "a search among them": (
        {"search": "gift"}, props(order_id="integer", total="integer", note="string"),
        ["order_id", "total", "note"]),
    "a method and a path": (
        {"method": "POST", "path": "/std"}, props(msg="string", n="integer"), ["msg", "n"]),
}


@pytest.fixture(scope="module")
def served() -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for bin_, headers, body in SENT:
            status, _ = post(lab.url_for(bin_), json.dumps(body).encode(), headers)
            assert status == 200
        lab.wait(len(SENT), timeout=10)
        df = lab.dataframe()
        assert df["event_type"].isna().tolist() == [True, True, False, True, True, True]
        assert df["provider"].astype(object).tolist()[2:5] == ["stripe", "stripe", "standardwebhooks"]
        yield lab
    finally:
        lab.stop()


def bodies_of(lab: hooklab.HookLab, filters: dict[str, Any]) -> list[Any]:
    return [c.json() for c in lab.wait(1, timeout=5, **filters) if c.event_type is None]


def check(schema: dict[str, Any], want: tuple[dict[str, Any], dict[str, Any], list[str]],
          bodies: list[Any]) -> None:
    _, properties, required = want
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    got = {k: {"type": v["type"]} for k, v in schema["properties"].items()}
    assert got == properties
    assert sorted(schema.get("required", [])) == sorted(required)
    validator = jsonschema.Draft202012Validator(schema)
    assert bodies
    for body in bodies:  # (it validates what it came from)
        assert list(validator.iter_errors(body)) == []


@pytest.mark.parametrize("case", list(CASES))
def test_the_schema_of_the_captures_without_an_event_type(served: hooklab.HookLab, case: str) -> None:
    filters = CASES[case][0]
    schema = served.json_schema(None, **filters)
    check(schema, CASES[case], bodies_of(served, filters))
    assert "amount" not in schema["properties"]  # (the invoice.paid capture is not among them)
    assert served.json_schema("invoice.paid")["properties"]["amount"] == {"type": "integer"}


REFUSED: dict[str, tuple[Any, dict[str, Any], type[Exception], str]] = {
    "an empty event type": ("", {"bin": "orders"}, TypeError, r"not ''.*json_schema\(None"),
    "an empty event type, no filters": ("", {}, TypeError, r"json_schema\(None"),
    "not text": (5, {}, TypeError, "needs an event type"),
    "no such captures": (None, {"bin": "nowhere"}, LookupError,
                         "no captures without an event type and bin='nowhere'"),
    "only captures with one": (None, {"provider": "stripe", "search": "evt_1"}, LookupError,
                               "no captures without an event type"),
    "a filter that is not one": (None, {"colour": "red"}, TypeError, "colour"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_it_refuses(served: hooklab.HookLab, case: str) -> None:
    event_type, filters, error, message = REFUSED[case]
    with pytest.raises(error, match=message):
        served.json_schema(event_type, **filters)



T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)
SEG = 4096


def test_sealed_segments_and_their_kept_summaries(tmp_path: Path) -> None:
    """Two sealed segments and newer captures: read from the summaries the store keeps (no
    filter, ``provider=``) and row by row (``bin=``); the same schema each way."""
    records = []
    for i in range(2 * SEG + 30):
        if i % 3 == 0:  # a Standard Webhooks delivery (a provider, no event type)
            headers, body, path = STANDARD, {"msg": f"m{i}", "n": i}, "/std"
        elif i % 3 == 1:  # your own app's
            headers, body, path = JSON, {"order_id": i, "total": i / 2}, "/orders"
        else:  # Stripe, with an event type: never in these schemas
            headers, body, path = STRIPE, {"id": f"evt_{i}", "type": "invoice.paid", "amount": i}, "/stripe"
        records.append({"method": "POST", "path": path, "headers": list(headers.items()),
                        "body": json.dumps(body).encode(), "received_at": T0 + timedelta(seconds=i)})
    store = CaptureStore(str(tmp_path / "s.sqlite3"), durability="normal")
    try:
        assert store.add_many(records) == len(records)
        store.flush(30)
    finally:
        store.close()
    lab = hooklab.open(str(tmp_path / "s.sqlite3"))
    try:
        lab.schema()  # (summaries kept for the sealed segments)
        end = time.monotonic() + 30
        while len(lab.store.summaries(SUMMARY_KIND)) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        both = props(msg="string", n="integer", order_id="integer", total="number")
        for _ in range(2):  # (the second from what the first kept)
            everything = lab.json_schema(None)
            assert {k: {"type": v["type"]} for k, v in everything["properties"].items()} == both
            assert "required" not in everything or everything["required"] == []
            std = lab.json_schema(None, provider="standardwebhooks")
            assert {k: {"type": v["type"]} for k, v in std["properties"].items()} == props(msg="string", n="integer")
            assert sorted(std["required"]) == ["msg", "n"]
            assert std["description"].startswith(f"Inferred by hooklab from {(2 * SEG + 30 + 2) // 3} of ")
            orders = lab.json_schema(None, bin="orders")
            assert sorted(orders["required"]) == ["order_id", "total"]
            assert orders["properties"]["total"] == {"type": "number"}
    finally:
        lab.stop()
