"""``dataframe(flatten=True)``: a field that is text in one event type, a float in another and
an integer in a third is one ``object`` column holding each value as its body has it, as
``pandas.json_normalize`` gives it (README: "the ``payload.*`` columns ``pandas.json_normalize``
would give"). An analyst found ``52703`` turned into ``52703.0`` there, only when the frame
held all three kinds (a frame of that event type alone had the integer).

Real labs on 127.0.0.1 (Stripe events of several types, sent with ``hooklab.send``),
the same captures in a Parquet export opened with ``hooklab.open``. Expected values are written
out, with their Python types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hooklab

MISSING = object()  # the field is not in that body
COL = "payload.data.object.amount"

# name -> (the field's value in each capture, each of its own event type; the values expected)
CASES: dict[str, tuple[list[Any], list[Any]]] = {
    "text, float, integer": (["213", 19.99, 52703], ["213", 19.99, 52703]),
    "integer, text, float": ([52703, "x", 1.5], [52703, "x", 1.5]),
    "float, integer, text, missing": ([2.5, 7, "t", MISSING], [2.5, 7, "t", None]),
    "boolean, integer, float": ([True, 1, 1.5], [True, 1, 1.5]),
    "list, integer, float": ([[1, 2], 3, 0.5], [[1, 2], 3, 0.5]),
    "null, integer, float, text": ([None, 4, 4.5, "four"], [None, 4, 4.5, "four"]),
    "negative integer, float, text": ([-12, -0.25, "-"], [-12, -0.25, "-"]),
    "boolean, integer": ([False, 3], [False, 3]),
    "text, integer, missing": (["a", 1, MISSING], ["a", 1, None]),
    # (an object is its own columns, amount.v: the rest a float column, as json_normalize
    # makes it)
    "object, float, integer, null": ([{"v": 1}, 0.5, 2, None], [None, 0.5, 2.0, None]),
    # no text: integers meet floats only, a float64 column (json_normalize's), as before
    "integer, float": ([52703, 19.99], [52703.0, 19.99]),
    "integer, float, missing": ([3, 0.5, MISSING], [3.0, 0.5, None]),
}
EVENTS = ["invoice.paid", "payment_intent.succeeded", "checkout.session.completed",
          "charge.refunded"]


def _send_case(lab: hooklab.HookLab, values: list[Any]) -> None:
    """Each value in a Stripe event of its own type, the body exactly as written here (a
    Stripe-Signature header makes it Stripe's; unchecked: no secret is registered)."""
    for i, (value, event) in enumerate(zip(values, EVENTS, strict=False)):
        obj = {"currency": "usd"} if value is MISSING else {"currency": "usd", "amount": value}
        body = {"id": f"evt_{i}", "object": "event", "type": event, "data": {"object": obj}}
        r = hooklab.send(lab.url_for("stripe"), payload=body,
                         headers={"Stripe-Signature": "t=1,v1=00"})
        assert r.status == 200
    assert len(lab.wait(len(values), timeout=30)) == len(values)


def _same(got: list[Any], want: list[Any]) -> bool:
    def norm(v: Any) -> Any:
        if v is None or (isinstance(v, float) and v != v):
            return ("missing",)
        return (type(v).__name__, v)
    return [norm(v) for v in got] == [norm(v) for v in want]


@pytest.mark.parametrize("case", list(CASES))
def test_each_value_keeps_its_type_beside_the_others(tmp_path: Path, case: str) -> None:
    values, want = CASES[case]
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        _send_case(lab, values)
        frame = lab.dataframe(flatten=True)
        got = list(frame[COL]) if COL in frame else [None] * len(values)
        lab.export(str(tmp_path / "pq"), fmt="parquet")
    finally:
        lab.stop()
    assert _same(got, want), (got, want)
    # each event type alone: the value as its body has it
    opened = hooklab.open(str(tmp_path / "c.sqlite3"))
    try:
        for value, event in zip(values, EVENTS, strict=False):
            alone = opened.dataframe(flatten=True, event_type=event)
            if value is not MISSING and not isinstance(value, dict):  # (a dict: amount.*)
                assert _same(list(alone[COL]), [value]), (event, list(alone[COL]))
    finally:
        opened.stop()
    parquet = hooklab.open(str(tmp_path / "pq"))
    try:
        frame = parquet.dataframe(flatten=True)
        assert _same(list(frame[COL]), want), list(frame[COL])
    finally:
        parquet.stop()
