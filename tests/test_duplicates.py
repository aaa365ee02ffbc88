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
