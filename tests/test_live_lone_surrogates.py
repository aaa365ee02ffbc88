r"""A capture whose JSON holds a lone surrogate escape, in ``lab.live()`` in a real kernel.

``"\ud83d"`` is valid JSON (what JavaScript's ``JSON.stringify`` writes for a string cut inside
an emoji) but no character: Python reads it into a ``str`` that UTF-8 cannot write, and a
widget's state goes to the browser as UTF-8 JSON. Selecting such a capture raised
``UnicodeEncodeError`` from the comm message of the Details pane (jupyter_client's packer
refuses the text; ``\udc80`` .. ``\udcff`` it would write as bytes that are no UTF-8), so the
view showed nothing of it: neither its Details, nor its Tree, nor its Diff. Each is shown as
JSON escapes it, the six characters ``\ud83d``, as ``schema()`` and ``diff()`` show it: in the
Details, Tree and Diff tabs, the field pane and its ``flatten=True`` column box, and the table
row (an event type taken from such a payload).

The kernel is real (jupyter_client), the webhooks are posted to its lab over 127.0.0.1, and
the widget messages are read as a browser gets them: every comm message the kernel sent,
decoded from UTF-8 JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.timeout(300)

#: (bin, the previous delivery's body, the hostile one's, the key the field pane is opened
#: on, expected Tree rows (all open), expected Diff rows as HTML, a text of the Details pane)
CASES: list[tuple[str, bytes, bytes, tuple[Any, ...], list[str], list[str], str]] = [
    ("value", b'{"t": "ok", "n": 1}', rb'{"t": "Party time \ud83d", "n": 1}', ("t",),
     ['▾ (body)  {2 keys}', '    t: "Party time \\ud83d"', "    n: 1"],
     ["<tr><th>t</th><td>changed</td><td>&quot;ok&quot;</td>"
      "<td>&quot;Party time \\ud83d&quot;</td></tr>"],
     "&quot;t&quot;: &quot;Party time \\ud83d&quot;"),
    ("key", b'{"k": "v"}', rb'{"k\ud800": "v", "o": {"\udbff": 1}}', ("k\ud800",),
     ['▾ (body)  {2 keys}', '    k\\ud800: "v"', "  ▾ o  {1 key}", "      \\udbff: 1"],
     ["<tr><th>k</th><td>removed</td><td>&quot;v&quot;</td><td>—</td></tr>",
      "<tr><th>k\\ud800</th><td>added</td><td>—</td><td>&quot;v&quot;</td></tr>",
      "<tr><th>o</th><td>added</td><td>—</td><td>{&quot;\\udbff&quot;: 1}</td></tr>"],
     "&quot;k\\ud800&quot;: &quot;v&quot;"),
    ("nested-array", b'{"a": [{"b": ["ok", "ok"]}]}', rb'{"a": [{"b": ["\udfff", "ok"]}]}',
     ("a", 0, "b", 0),
     ['▾ (body)  {1 key}', "  ▾ a  [1 item]", "    ▾ [0]  {1 key}", "      ▾ b  [2 items]",
      '          [0]: "\\udfff"', '          [1]: "ok"'],
     ["<tr><th>a[0].b[0]</th><td>changed</td><td>&quot;ok&quot;</td>"
      "<td>&quot;\\udfff&quot;</td></tr>"],
     "&quot;\\udfff&quot;"),
    # (\udc80 .. \udcff: jupyter_client's packer writes these as the bytes 0x80 .. 0xff,
    # which are no UTF-8: the browser could not read the message)
    ("low", b'{"s": "xy"}', rb'{"s": "x\udc80y", "\udcff": ["\udc80"]}', ("\udcff", 0),
     ['▾ (body)  {2 keys}', '    s: "x\\udc80y"', "  ▾ \\udcff  [1 item]", '      [0]: "\\udc80"'],
     ["<tr><th>s</th><td>changed</td><td>&quot;xy&quot;</td><td>&quot;x\\udc80y&quot;</td></tr>",
      "<tr><th>\\udcff</th><td>added</td><td>—</td><td>[&quot;\\udc80&quot;]</td></tr>"],
     "&quot;x\\udc80y&quot;"),
]

#: the ``flatten=True`` column the field pane names for each case's key
COLUMNS = {"value": "payload.t", "key": "payload.k\\ud800", "nested-array": "payload.a",
           "low": "payload.\\udcff"}

#: two Stripe deliveries whose event type is taken from a payload with a lone surrogate
STRIPE = {"Content-Type": "application/json", "Stripe-Signature": "t=1,v1=00"}
STRIPE_BODIES = (r'{"id": "evt_1", "type": "invoice.paid\ud83d", "data": {"x": "a"}}',
                 r'{"id": "evt_2", "type": "invoice.paid\ud83d", "data": {"x": "b\ud800"}}')

SETUP = r"""
import json, time, urllib.request
import hooklab
from hooklab.widget._ui import TAB_TITLES
lab = hooklab.start(port=0, db=":memory:")

def post(bin, body, headers):
    req = urllib.request.Request(lab.url_for(bin), data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=30) as answer:
        assert answer.status == 200, answer.status

CASES = json.loads(%r)
ids = {}
for name, before, after in CASES:
    for body in (before, after):
        post(name, body.encode("latin-1"), {"Content-Type": "application/json"})
    ids[name] = [c.id for c in lab.wait(2, bin=name, timeout=30)]
for body in (%r, %r):
    post("stripe", body.encode(), json.loads(%r))
ids["stripe"] = [c.id for c in lab.wait(2, bin="stripe", timeout=30)]
v = lab.live()
display(v)
"""

SHOW = r"""
v.select(ids[%r][1])
v.tabs.selected_index = TAB_TITLES.index("Tree")
v.tree_open_button.click()
v.pick_field(tuple(json.loads(%r)))
v.tabs.selected_index = TAB_TITLES.index("Diff with previous")
print(json.dumps({"tree": [label for label, _ in v.tree.options], "diff": v.diff_pane.value,
                  "detail": v.detail.value, "column": v.field_column.value,
                  "field": v.field_info.value,
                  "rows": [label for label, _ in v.table.options]}))
"""

# what a saved notebook keeps of every widget: its state as UTF-8 JSON
SAVED = r"""
import ipywidgets as W
state = json.dumps(W.Widget.get_manager_state(drop_defaults=True)["state"], ensure_ascii=False)
state.encode("utf-8")
print("saved", len(state) > 0)
"""


class Kernel:
    """A real kernel; :meth:`run` executes a cell and returns its printed text, keeping every
    message the kernel published (comm messages too) in :attr:`messages`."""

    def __init__(self, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)
        self.messages: list[dict[str, Any]] = []

    def run(self, code: str) -> str:
        msg_id = self.kc.execute(code)
        out = []
        for _ in range(100_000):  # (bounded: each get waits at most 60 s)
            # (a message that is no UTF-8 JSON raises here, as a browser could not read it)
            m = self.kc.get_iopub_msg(timeout=60)
            self.messages.append(m)
            if m["parent_header"].get("msg_id") == msg_id:
                if m["msg_type"] == "stream":
                    out.append(m["content"]["text"])
                elif m["msg_type"] == "error":
                    raise AssertionError("\n".join(m["content"]["traceback"]))
                elif m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                    break
        return "".join(out)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def sent_texts(messages: list[dict[str, Any]]) -> list[str]:
    """Every text a widget's comm message carried to the browser (values, option labels)."""
    out: list[str] = []
    for m in messages:
        if m["msg_type"] not in ("comm_open", "comm_msg"):
            continue
        for v in m["content"].get("data", {}).get("state", {}).values():
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, list):
                out.extend(x for x in v if isinstance(x, str))
    return out


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The lab in a real kernel, each case's two captures posted and the hostile one shown in
    every tab: {case: what the view shows}, the texts its comm messages carried, stderr."""
    kernel = Kernel(tmp_path_factory.mktemp("kernel"))
    try:
        cases = json.dumps([(name, a.decode("latin-1"), b.decode("latin-1"))
                            for name, a, b, *_ in CASES])
        kernel.run(SETUP % (cases, *STRIPE_BODIES, json.dumps(STRIPE)))
        got = {}
        for name, _a, _b, key, *_ in CASES + [("stripe", b"", b"", ("type",))]:  # type: ignore[list-item]
            start = len(kernel.messages)
            out = kernel.run(SHOW % (name, json.dumps(key)))
            got[name] = (json.loads(out), sent_texts(kernel.messages[start:]))
        assert kernel.run(SAVED).strip() == "saved True"
        errors = [m["content"]["text"] for m in kernel.messages
                  if m["msg_type"] == "stream" and m["content"]["name"] == "stderr"]
        yield got, errors
    finally:
        kernel.close()


def test_nothing_failed_in_the_kernel(shown: Any) -> None:
    _, errors = shown
    assert not [e for e in errors if "Error" in e or "Traceback" in e], errors


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_tree_tab(shown: Any, case: Any) -> None:
    got, _ = shown
    name, *_, rows, _diff, _detail = case
    view, sent = got[name]
    assert view["tree"] == rows
    assert rows in [sent[i : i + len(rows)] for i in range(len(sent))], "not sent to the browser"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_diff_tab(shown: Any, case: Any) -> None:
    got, _ = shown
    name, *_, diff, _detail = case
    view, sent = got[name]
    for row in diff:
        assert row in view["diff"], (row, view["diff"])
        assert any(row in s for s in sent), "not sent to the browser"
    assert view["diff"].count("<tr>") == len(diff) + 1  # (the header row)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_details_tab_and_field_pane(shown: Any, case: Any) -> None:
    got, _ = shown
    name, _a, _b, key, *_, detail = case
    view, sent = got[name]
    assert detail in view["detail"]
    assert any(detail in s for s in sent), "not sent to the browser"
    # the field pane: its flatten=True column as dataframe(flatten=True) names it, and the
    # schema row schema() gives (found under its escaped name)
    assert view["column"] == COLUMNS[name]
    assert "schema row (over the newest 2 captures" in view["field"], view["field"]
    assert "no schema row" not in view["field"]


def test_a_table_row_whose_event_type_came_from_such_a_payload(shown: Any) -> None:
    got, _ = shown
    view, sent = got["stripe"]
    # (the view has no filter: the Stripe deliveries, posted last, are its first rows)
    assert ["invoice.paid\\ud83d" in r for r in view["rows"][:3]] == [True, True, False]
    assert view["tree"][:3] == ['▾ (body)  {3 keys}', '    id: "evt_2"', '    type: "invoice.paid\\ud83d"']
    assert "against the previous invoice.paid\\ud83d: #" in view["diff"]
    for row in ("<tr><th>id</th><td>changed</td><td>&quot;evt_1&quot;</td><td>&quot;evt_2&quot;</td></tr>",
                "<tr><th>data.x</th><td>changed</td><td>&quot;a&quot;</td>"
                "<td>&quot;b\\ud800&quot;</td></tr>"):
        assert row in view["diff"], view["diff"]
        assert any(row in s for s in sent), "not sent to the browser"
    assert view["column"] == "payload.type"
