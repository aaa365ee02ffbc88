"""DataFrames: typed columns, filters, flattening."""

from __future__ import annotations

import json

import pandas as pd

from hooklab.frame import captures_frame
from hooklab.store import CaptureStore


def _store():
    s = CaptureStore(":memory:")
    gh = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d1", "Content-Type": "application/json"}
    s.add_sync(
        {
            "method": "POST",
            "path": "/github",
            "headers": list(gh.items()),
            "body": json.dumps({"action": "opened", "number": 3, "pull_request": {"title": "x"}}).encode(),
        }
    )
    s.add_sync(
        {
            "method": "POST",
            "path": "/stripe",
            "headers": [("Stripe-Signature", "t=1,v1=00"), ("Content-Type", "application/json")],
            "body": json.dumps({"id": "evt_1", "type": "invoice.paid", "data": {"object": {"amount": 5}}}).encode(),
        }
    )
    s.add_sync({"method": "GET", "path": "/plain", "body": b"\xff\x00"})
    return s


def test_columns_and_dtypes():
    df = captures_frame(_store())
    for col in (
        "id", "received_at", "bin", "method", "path", "provider", "event_type", "delivery_id",
        "content_type", "size", "status", "verified", "json",
    ):
        assert col in df.columns
    assert str(df["received_at"].dtype) == "datetime64[ns, UTC]"
    assert str(df["id"].dtype) == "Int64" and str(df["size"].dtype) == "Int64"
    assert isinstance(df["provider"].dtype, pd.CategoricalDtype)
    assert str(df["verified"].dtype) == "boolean"
    assert list(df["event_type"].astype(object).where(df["event_type"].notna(), None)) == [
        "pull_request.opened", "invoice.paid", None,
    ]
    assert df["json"][0]["number"] == 3 and df["json"][2] is None
    assert list(df["size"]) == [df["size"][0], df["size"][1], 2]


def test_filters_and_empty():
    s = _store()
    assert len(captures_frame(s, provider="stripe")) == 1
    empty = captures_frame(s, bin="nothing")
    assert len(empty) == 0 and "received_at" in empty.columns


def test_flatten_adds_payload_columns():
    df = captures_frame(_store(), flatten=True)
    assert "payload.pull_request.title" in df.columns
    assert "payload.data.object.amount" in df.columns
    assert df.loc[1, "payload.data.object.amount"] == 5


def test_deeply_nested_json_does_not_explode():
    s = CaptureStore(":memory:")
    deep = {}
    cur = deep
    for _ in range(200):
        cur["a"] = {}
        cur = cur["a"]
    s.add_sync({"method": "POST", "path": "/deep", "body": json.dumps(deep).encode()})
    s.add_sync({"method": "POST", "path": "/deeper", "body": b"[" * 100000 + b"]" * 100000})
    df = captures_frame(s, flatten=True)
    assert len(df) == 2
    assert len(df.columns) < 100
