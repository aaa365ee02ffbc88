"""JSON nested up to 1,024 levels is read (``tests/test_json_depth.py``); every view of it
must show, not raise ``RecursionError``.

``repr``, ``json.dumps`` and pandas' printer recurse per level: a body 1,000 levels deep (and
900 under the ~60 frames IPython's display puts above ``_repr_html_``) made the live view's
row click, its Diff tab, ``lab.diff(...)``'s frame and ``lab.dataframe()``'s frame raise. Here
each body is posted over HTTP to a real lab after a shallow one to the same bin (so the Diff
tab and ``lab.diff`` compare them), and every view is made from 80 frames down, as IPython
calls them.
"""

from __future__ import annotations

import html
import re
import urllib.request
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from _labs import module_lab

import hooklab

pytestmark = pytest.mark.timeout(300)

DEPTHS = [64, 500, 900, 1000, 1024, 1025, 3000, 100_000]
KINDS = ["list", "object"]
#: frames above each call, as IPython's display and a widget's comm callback add
EXTRA_FRAMES = 80


def nested(depth: int, kind: str) -> bytes:
    if kind == "list":
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


def shallow(kind: str) -> bytes:
    return b"[2]" if kind == "list" else b'{"a": 2}'


def json_depth(value: Any) -> int:
    """How deep a chain of one-item lists / ``{"a": ...}`` objects goes, in a loop."""
    depth = 0
    while isinstance(value, (list, dict)) and len(value) == 1:
        value = value[0] if isinstance(value, list) else value["a"]
        depth += 1
    return depth + (isinstance(value, (list, dict)))


def from_deep_stack(fn: Callable[[], Any], frames: int = EXTRA_FRAMES) -> Any:
    """``fn()`` called ``frames`` frames below this one."""
    def down(n: int) -> Any:
        return fn() if n == 0 else down(n - 1)

    return down(frames)


def post(lab: hooklab.HookLab, bin_: str, body: bytes) -> None:
    req = urllib.request.Request(lab.url_for(bin_), data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200


lab = module_lab()  # (one lab for the module's tests)


def pair(lab: hooklab.HookLab, bin_: str, body: bytes, kind: str) -> tuple[Any, Any]:
    """(shallow capture, deep capture) posted to ``bin_``, in that order."""
    post(lab, bin_, shallow(kind))
    post(lab, bin_, body)
    first, second = lab.wait(2, bin=bin_, timeout=30)
    assert second.body == body
    return first, second


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("depth", DEPTHS)
def test_every_view_of_a_deep_body_shows(lab: hooklab.HookLab, depth: int, kind: str) -> None:
    bin_ = f"deep-{kind}-{depth}"
    first, cap = pair(lab, bin_, nested(depth, kind), kind)
    readable = depth <= 1024
    view = lab.live(bin=bin_)
    try:
        # a click on the row, then every tab (Details, Tree, Diff, Raw body, Copy as curl)
        assert from_deep_stack(lambda: view.select(cap.id)) is not None
        shown = {}
        for tab in range(len(view.tabs.children)):
            from_deep_stack(lambda t=tab: setattr(view.tabs, "selected_index", t))
            shown[tab] = (view.detail.value, list(view.tree.options), view.diff_pane.value,
                          view.raw.value, view.curl.value)
    finally:
        view.close()
    detail = text_of(shown[0][0])
    if depth <= 256:  # re-indented, as ever
        assert "Body — JSON, " in detail
        first_lines = "[\n  [\n    [\n" if kind == "list" else '{\n  "a": {\n    "a": {\n'
        assert first_lines in detail
    elif readable:  # as received, and said why
        assert f"Body — JSON as received, nested {depth:,} levels: not re-indented" in detail
        assert nested(depth, kind).decode()[:2000] in detail
    else:  # not JSON (deeper than 1,024 levels): its text, as before
        assert "Body — text" in detail
    tree = shown[1][1]
    assert tree and tree[0][0].startswith("▾ (body)" if readable else "(body)")
    diff = text_of(shown[2][2])
    assert f"against the previous capture to /{bin_}: #{first.id}" in diff
    if readable:
        row = "[0]" if kind == "list" else "a"
        start = ("[" * 40) if kind == "list" else '{"a": ' * 10
        assert re.search(rf"{re.escape(row)}changed2{re.escape(start)}.*…", diff), diff[:300]
    assert nested(depth, kind).decode()[:1000] in text_of(shown[3][3])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("depth", DEPTHS)
def test_lab_diff_of_a_deep_body_prints(lab: hooklab.HookLab, depth: int, kind: str) -> None:
    bin_ = f"diff-{kind}-{depth}"
    first, cap = pair(lab, bin_, nested(depth, kind), kind)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        d = from_deep_stack(lambda: lab.diff(first, cap))
    text = from_deep_stack(lambda: repr(d))
    page = from_deep_stack(lambda: d._repr_html_())
    assert "changed" in text and "changed" in page
    assert len(d) == 1
    b = d["b"].iloc[0]
    if depth > 1024:  # not JSON: the bodies differ as a whole, the deep one as its text
        assert d["field"].iloc[0] == "(body)" and b.startswith(nested(depth, kind).decode()[:4096])
        return
    assert d["field"].iloc[0] == ("[0]" if kind == "list" else "a")
    assert d["a"].iloc[0] == 2
    inner = depth - 1  # (the value at [0] / "a")
    if inner <= 256:
        assert json_depth(b) == inner  # the value itself, as ever
        assert not any("JSON text" in str(w.message) for w in caught)
    else:
        sent = nested(inner, kind).decode()
        want = sent if kind == "list" else sent.replace('{"a":', '{"a": ')
        assert isinstance(b, str) and b == (want if len(want) <= 1000 else want[:1000] + "…")
        assert d.attrs["notes"] == ["values nested deeper than 256 levels are given as their "
                                    "JSON text, cut at 1,000 characters"]
        assert any("JSON text" in str(w.message) for w in caught)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("depth", DEPTHS)
def test_dataframe_of_a_deep_body_prints(lab: hooklab.HookLab, depth: int, kind: str) -> None:
    bin_ = f"frame-{kind}-{depth}"
    _first, _cap = pair(lab, bin_, nested(depth, kind), kind)
    df = from_deep_stack(lambda: lab.dataframe(bin=bin_))
    text = from_deep_stack(lambda: repr(df))
    page = from_deep_stack(lambda: df._repr_html_())
    series = from_deep_stack(lambda: repr(df["json"]))
    cell = df["json"].iloc[1]
    # its repr, cut where pandas cuts a cell (display.max_colwidth, 50: 46 characters and "...")
    shown = ("[" if kind == "list" else "{'a': ") * 47
    shown = shown[:46] + "..."
    if depth <= 1024:  # the value is the payload, whole (tests/test_json_depth.py)
        assert json_depth(cell) == depth
        assert f"  {shown}\n" in text + "\n" and f"  {shown}\n" in series
        assert f"<td>{html.escape(shown, quote=False)}</td>" in page
    else:
        assert cell is None
        assert "None" in text
    # the shallow row is shown as it always was
    assert repr(df["json"].iloc[0]) in text


def test_ordinary_payloads_show_as_before(lab: hooklab.HookLab) -> None:
    """Nothing changes for bodies that are not deep: the frame's cells are ``repr``, the
    Details tab re-indents with ``json.dumps(indent=2)``, the Diff tab's values are JSON."""
    import json

    bodies = [b'{"id": 1, "amount": 5.5, "tags": ["x", null], "ok": true, "name": "\xc3\xa9"}',
              b'{"id": 2, "amount": 6, "tags": ["x", "y"], "ok": false, "nested": {"k": [1, {"z": 2}]}}']
    for b in bodies:
        post(lab, "ordinary", b)
    first, second = lab.wait(2, bin="ordinary", timeout=30)
    df = lab.dataframe(bin="ordinary")
    text = df.to_string(max_colwidth=500)
    for b in bodies:
        assert repr(json.loads(b)) in text
    view = lab.live(bin="ordinary")
    try:
        view.select(second.id)
        assert json.dumps(second.json(), indent=2, ensure_ascii=False) in text_of(view.detail.value)
        view.tabs.selected_index = 2
        diff = text_of(view.diff_pane.value)
    finally:
        view.close()
    assert 'nestedadded—{"k": [1, {"z": 2}]}' in diff
    d = lab.diff(first, second)
    assert d.set_index("field")["b"].to_dict()["nested"] == {"k": [1, {"z": 2}]}


def test_credentials_in_a_deep_body_stay_hidden(lab: hooklab.HookLab) -> None:
    body = b'{"password": "hunter2", "deep": ' + nested(600, "list") + b"}"
    post(lab, "deepsecret", body)
    [cap] = lab.wait(1, bin="deepsecret", timeout=30)
    view = lab.live(bin="deepsecret")
    try:
        from_deep_stack(lambda: view.select(cap.id))
        detail = text_of(view.detail.value)
        view.show_credentials.value = True
        revealed = text_of(view.detail.value)
    finally:
        view.close()
    assert "nested 601 levels: not re-indented" in detail
    assert "credential fields hidden" in detail and "hunter2" not in detail
    assert "hunter2" in revealed
