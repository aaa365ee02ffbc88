"""A recorded WebSocket message is no HTTP request: "Copy as curl" refuses it as replay does.

The live view's "Copy as curl" tab (``hooklab.export.to_curl``) gave a recorded SEND an HTTP
command, ``curl -X SEND http://<the lab>/feed ... --data-binary subscribe-me`` (its OPEN
``.../feed?token=HIDDEN``); running it stored a capture that never was, "SEND /feed" over
HTTP, while ``lab.replay`` refused the same capture. Now ``to_curl`` raises ``ValueError`` in
replay's words and the tab says them instead of a command; an HTTP capture beside them is
still copied. A real tornado.websocket server on 127.0.0.1, a real kernel for the tab.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _kernels import kernel_in
from test_ws_url_ports import _tornado_ws

import hooklab
from hooklab import HookLab

pytestmark = pytest.mark.timeout(300)


def _refusal(method: str) -> str:
    """The words, written by hand: what replay says after "not replayed: "."""
    return f"a recorded WebSocket message ({method}), not an HTTP request"


def test_to_curl_refuses_every_recorded_websocket_capture_in_replay_s_words(lab: HookLab) -> None:
    with _tornado_ws(echo=True) as (port, _, _peers):
        summary = hooklab.ws.record(f"ws://127.0.0.1:{port}/feed?token=t0k3n",
                                    send="subscribe-me", duration=5, lab=lab)
    hooklab.send(lab.url_for("gh"), payload={"a": 1})
    lab.wait(1, bin="gh")
    recorded = lab.query(kind="ws")
    assert {c.method for c in recorded} >= {"OPEN", "SEND", "RECV", "CLOSE"}, summary
    replayed = lab.replay([c.id for c in recorded], to="http://127.0.0.1:9/")
    for c, r in zip(recorded, replayed, strict=True):
        assert r.error == f"not replayed: {_refusal(c.method)}"
        for kwargs in ({}, {"url": "http://127.0.0.1:9/app"}, {"base": lab.url}):
            with pytest.raises(ValueError) as raised:
                hooklab.export.to_curl(c, **kwargs)
            assert str(raised.value) == _refusal(c.method)
    (http,) = lab.query(kind="http")
    assert hooklab.export.to_curl(http, base=lab.url).startswith("curl --globoff -X POST ")


KERNEL = """
import time, hooklab
lab = hooklab.start(port=0, db=":memory:")
hooklab.ws.record("ws://127.0.0.1:{port}/feed?token=t0k3n", send="subscribe-me",
                  duration=5, lab=lab)
hooklab.send(lab.url_for("gh"), payload={{"a": 1}})
lab.wait(1, bin="gh")
view = lab.live()
view.tabs.selected_index = 4  # ("Copy as curl")
"""
TAB = """
view.select({cid})
deadline = time.monotonic() + 10
while "{method}" not in view.curl.value and "curl " not in view.curl.value \\
        and time.monotonic() < deadline:
    time.sleep(0.05)
print(view.curl.value)
"""


def test_the_copy_as_curl_tab_says_what_replay_says(tmp_path: Path) -> None:
    with _tornado_ws(echo=True) as (port, _, _peers), \
            kernel_in(tmp_path, KERNEL.format(port=port)) as k:
        ids = eval(k.cell("print([(c.id, c.method, c.kind) for c in lab.captures])"))
        assert {m for _, m, kind in ids if kind == "ws"} >= {"OPEN", "SEND", "RECV", "CLOSE"}
        for cid, method, kind in ids:
            shown = k.cell(TAB.format(cid=cid, method=method)).strip()
            if kind == "http":
                assert shown.startswith("curl --globoff -X POST "), shown
                continue
            assert shown == f"# not copyable as curl: {_refusal(method)}"
        assert k.cell("print(len(lab.captures))").strip() == str(len(ids))
