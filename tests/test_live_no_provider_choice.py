"""The live view's provider dropdown offers the captures without a detected provider, as
``lab.live(provider="unknown")`` does: a choice labelled "(no provider)" (the filter value
``"unknown"``), there once such captures are, as each provider's name is once one of its
captures is.

It offered only providers' names: a person watching a bare ``curl`` among Stripe deliveries
could not pick it out. In a real kernel, over real sockets: what the browser is sent (the
dropdown's labels) and what it sends back (the index picked), as a person uses it.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from _http import post
from _kernels import KernelSession, kernel_per_test

import hooklab

pytestmark = pytest.mark.timeout(300)

SETUP = """import json, hooklab
lab = hooklab.start(port=0, db="captures.sqlite3")
print(json.dumps({"url": lab.url}))"""

LIVE = """lab.wait(2, timeout=20)
view = lab.live()
print(json.dumps({"provider": view.provider_filter.model_id}))"""


kernel = kernel_per_test()


def _bare(url: str, method: str, path: str, body: bytes = b"") -> None:
    """A request no provider sends (no provider's headers), answered before this returns."""
    if body:
        assert post(url + path, body, {"Content-Type": "application/json"}, method)[0] == 200
    else:
        with urllib.request.urlopen(url + path, timeout=10) as answer:
            assert answer.status == 200


def _labels(kernel: KernelSession, model: str) -> list[str] | None:
    """The dropdown's labels as the browser has them: the last sent (None: none yet)."""
    labels = None
    for m in kernel.published:
        if m["msg_type"] in ("comm_open", "comm_msg") and m["content"].get("comm_id") == model:
            state = m["content"].get("data", {}).get("state", {})
            labels = state.get("_options_labels", labels)
    return labels


def _until_labels(kernel: KernelSession, model: str, want: list[str], wait: float = 20) -> Any:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:  # (bounded; each cell takes in what was published)
        kernel.cell("import time; time.sleep(0.3)")
        if _labels(kernel, model) == want:
            return want
    return _labels(kernel, model)


def _pick(kernel: KernelSession, model: str, index: int) -> None:
    """What the browser sends when a person picks the dropdown's choice ``index``."""
    msg = kernel.kc.session.msg("comm_msg", {
        "comm_id": model, "data": {"method": "update", "state": {"index": index},
                                   "buffer_paths": []}})
    kernel.kc.shell_channel.send(msg)


def test_captures_without_a_provider_have_a_choice(kernel: KernelSession) -> None:
    url = json.loads(kernel.cell(SETUP))["url"]
    hooklab.send(f"{url}/gh", provider="github", event="push")          # id 1
    hooklab.send(f"{url}/st", provider="stripe", event="invoice.paid")  # id 2
    model = json.loads(kernel.cell(LIVE))["provider"]
    # none without a provider yet: no choice for them, as no name is offered before its capture
    named = ["all providers", "github", "stripe"]
    assert _until_labels(kernel, model, named) == named
    _bare(url, "POST", "/plain/orders", b'{"order": 1}')                # id 3
    _bare(url, "GET", "/plain/ping?x=1")                                # id 4
    hooklab.send(f"{url}/st", provider="stripe", event="invoice.paid")  # id 5
    every = [*named, "(no provider)"]
    assert _until_labels(kernel, model, every) == every
    _pick(kernel, model, every.index("(no provider)"))
    deadline = time.monotonic() + 20
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:  # (bounded: the pick, then the table, come in turn)
        state = json.loads(kernel.cell(
            "time.sleep(0.3); print(json.dumps({'value': view.provider_filter.value, "
            "'rows': view.rows, 'count': view.count}))"))
        if state["rows"] == [4, 3]:
            break
    assert state == {"value": "unknown", "rows": [4, 3], "count": 2}  # (newest first)
    # back to every provider: every capture again
    _pick(kernel, model, 0)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        rows = json.loads(kernel.cell("time.sleep(0.3); print(json.dumps(view.rows))"))
        if rows == [5, 4, 3, 2, 1]:
            break
    assert rows == [5, 4, 3, 2, 1]


def test_a_view_of_them_only_names_its_filter_so(kernel: KernelSession) -> None:
    """``lab.live(provider="unknown")``: its (fixed) dropdown says "(no provider)", not the
    word of a Parquet folder's name."""
    url = json.loads(kernel.cell(SETUP))["url"]
    hooklab.send(f"{url}/gh", provider="github", event="push")
    _bare(url, "PUT", "/misc", b'{"n": 2}')
    model = json.loads(kernel.cell(LIVE.replace("lab.live()", 'lab.live(provider="unknown")')))[
        "provider"]
    assert _until_labels(kernel, model, ["(no provider)"]) == ["(no provider)"]
    assert json.loads(kernel.cell("print(json.dumps(view.rows))")) == [2]
