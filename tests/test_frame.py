"""DataFrames: typed columns, filters, flattening."""

from __future__ import annotations

import json

import pandas as pd
import pytest

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
    with pytest.raises(TypeError, match="unknown capture filter"):
        captures_frame(s, combined=False)
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


def test_categorical_columns_match_astype_whichever_way_they_are_fetched():
    from hooklab.frame import _frame

    s = _store()
    odd = ["caf\u00e9", "\x00nul", "a\"quote", "Zeta", "alpha", "\u2603", "a\\back", "[1]"]
    for i, b in enumerate(odd * 3):
        s.add_sync({"method": ["POST", "PUT", "M-SEARCH"][i % 3], "path": f"/{b}/x",
                    "headers": [("Content-Type", ["application/json", "text/plain; x=1"][i % 2]),
                                ("X-GitHub-Event", b)] if i % 4 else [],
                    "body": b'{"action": "%s"}' % str(i % 5).encode()})
    for filters in ({}, {"method": "PUT"}, {"bin": "nothing"}):
        combined = _frame(s, filters, flatten=False)
        separate = _frame(s, filters, flatten=False, combined=False)
        pd.testing.assert_frame_equal(combined, separate)
        for col in ("kind", "bin", "method", "provider", "event_type", "content_type"):
            plain = combined[col].astype(object).where(combined[col].notna(), None)
            expected = plain.astype("category")
            assert list(combined[col].cat.categories) == list(expected.cat.categories), col
            assert list(plain) == list(separate[col].astype(object).where(separate[col].notna(), None))
    assert sorted(_frame(s, {}, flatten=False)["bin"].cat.categories) == sorted({*odd, "github", "stripe", "plain"})
