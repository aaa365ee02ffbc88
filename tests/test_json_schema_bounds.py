"""``lab.json_schema()`` validates the captures it came from, also those the explore bounds cut
short (README: "validates what it came from").

Found by an outside analyst: a 30 KB body ``{"items": [1] * 10_000 + ["late"]}`` gave items
``integer`` (only the first 10,000 items were looked at) and ``jsonschema`` rejected that very
capture; a 1.35 MB body (twelve 9,000-item arrays, the last ending in strings) was explored up
to 100,000 values and that array's items became ``object``. What was not looked at is now left
unconstrained, and the schema's ``description`` says where.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from _http import post
from jsonschema import Draft202012Validator

from hooklab import HookLab
from hooklab.explore.schema import LARGE_BODY, MAX_DEPTH, MAX_ITEMS, SchemaBuilder

pytestmark = pytest.mark.timeout(180)

STRIPE = {"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00",
          "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}


def _nested(levels: int, leaf: Any) -> Any:
    for _ in range(levels):
        leaf = {"k": leaf}
    return leaf


def _twelve_arrays() -> dict[str, Any]:
    body: dict[str, Any] = {f"a{i}": [{"x": j} for j in range(9_000)] for i in range(1, 12)}
    body["a12"] = [{"x": j} for j in range(4_500)] + ["s"] * 4_500  # past the 100,000th value
    return body


def _late_strings_in_objects() -> dict[str, Any]:
    # 9,000 lists of 9 objects: the objects' own values start past 90,000 values, so only
    # the first rows' are explored; the later rows' "x" are strings
    return {"rows": [[{"x": r if r < 8_000 else f"r{r}"}] * 9 for r in range(9_000)]}


# (name, body without "id"/"type", the fields json_schema must leave open)
CUT = [
    ("an array past MAX_ITEMS", {"items": [1] * MAX_ITEMS + ["late"]}, ["items"]),
    ("arrays past MAX_NODES", _twelve_arrays(), ["a1[], a2[]", "a10[] and 2 more"]),  # a11[], a12
    ("objects past MAX_NODES", _late_strings_in_objects(), ["rows[][]"]),
    ("objects past MAX_DEPTH", {"d": _nested(MAX_DEPTH + 6, 1)}, ["d" + ".k" * (MAX_DEPTH - 1)]),
]


@pytest.mark.parametrize(("name", "body", "open_fields"), CUT, ids=[c[0] for c in CUT])
def test_json_schema_validates_the_captures_it_came_from_cut_or_not(
        lab: HookLab, name: str, body: dict[str, Any], open_fields: list[str]) -> None:
    event = "bulk." + name.replace(" ", "_")
    whole = {"id": "evt_small", "type": event, "note": "a body seen whole"}
    cut = {"id": "evt_cut", "type": event, **body}
    for doc in (whole, cut):
        status, _ = post(lab.url_for("s"), json.dumps(doc).encode(), STRIPE)
        assert status == 200
    caps = lab.wait(2, event_type=event, timeout=10)
    if "MAX_NODES" in name:
        assert len(caps[1].body) > LARGE_BODY

    js = lab.json_schema(event)
    Draft202012Validator.check_schema(js)
    v = Draft202012Validator(js)
    for c in caps:
        errors = [f"{list(e.absolute_path)[:4]}: {e.message[:80]}" for e in v.iter_errors(c.json())]
        assert errors == [], errors[:3]
    # what every capture showed whole stays as strict as before
    assert js["required"] == ["id", "type"]
    assert js["properties"]["id"] == {"type": "string"}
    assert not v.is_valid({**cut, "id": 7})
    assert not v.is_valid({k: x for k, x in cut.items() if k != "type"})
    # and the description names the fields left open (ten at most)
    assert "Not every value was explored" in js["description"]
    for field in open_fields:
        assert field in js["description"], field
    if name == "arrays past MAX_NODES":  # a12 cut short, the items before explored
        assert js["properties"]["a12"]["type"] == "array" and "items" not in js["properties"]["a12"]


def test_a_cut_array_keeps_its_type_and_loses_only_its_items(lab: HookLab) -> None:
    body = {"type": "bulk.tail", "items": [1] * MAX_ITEMS + ["late"], "n": 5}
    status, _ = post(lab.url_for("s"), json.dumps(body).encode(), STRIPE)
    assert status == 200
    lab.wait(1, timeout=10)
    js = lab.json_schema("bulk.tail")
    assert js["properties"] == {
        "type": {"type": "string"},
        "items": {"type": "array", "description": (
            "Not every value explored (first 10,000 items of each array explored): what it "
            "holds is left unconstrained.")},
        "n": {"type": "integer"},
    }
    assert js["description"] == (
        "Inferred by hooklab from 1 of 1 capture(s) (object). Not every value was explored (the "
        "bounds of hooklab.explore.schema): what was not is left unconstrained in items.")
    v = Draft202012Validator(js)
    assert v.is_valid(body) and not v.is_valid({**body, "items": "not an array"})
    assert not v.is_valid({**body, "n": "5"})


def test_bodies_seen_whole_give_the_schema_they_always_did(lab: HookLab) -> None:
    body = {"type": "small.one", "items": [{"a": 1}, {"a": 2, "b": "x"}]}
    status, _ = post(lab.url_for("s"), json.dumps(body).encode(), STRIPE)
    assert status == 200
    lab.wait(1, timeout=10)
    assert lab.json_schema("small.one") == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "small.one",
        "description": "Inferred by hooklab from 1 of 1 capture(s) (object).",
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "items": {"type": "array", "items": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                "required": ["a"]}},
        },
        "required": ["type", "items"],
    }


def test_the_summaries_kept_per_segment_carry_where_bodies_were_cut() -> None:
    """``schema()`` keeps a packed builder per column segment and ``json_schema()`` merges
    them: the marks of what was cut short travel with them."""
    rows = [(1, 1_000_000, "stripe", "e", "application/json", None,
             json.dumps({"type": "e", **_twelve_arrays()}).encode())]
    read = SchemaBuilder(group=False)
    read.add(rows)
    merged = SchemaBuilder(group=False)
    merged.merge(read.pack())
    assert merged.json_schema("e") == read.json_schema("e")
    v = Draft202012Validator(merged.json_schema("e"))
    assert v.is_valid(json.loads(rows[0][6]))
