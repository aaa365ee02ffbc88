"""The live view's Tree and Diff tabs show the capture opened, also when another capture has
the same id: a folder of several labs' Parquet exports (``hooklab.open(folder)``), where
README says "the same id names one capture of each - pass the Capture itself,
``view.select(capture)``".

Both tabs cached what they drew by the capture's id: after lab A's #2, lab B's #2 opened
showed B's body in the Details tab, A's in the Tree tab, and the Diff tab compared B's #1 and
#2 while A's #2 was open. In a real kernel: the exports are made by two labs over 127.0.0.1,
the tabs are clicked as a browser does, and what is checked is what the kernel sent the
browser. Expected lines are written from the bodies sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import post
from _kernels import KernelSession, kernel_in
from _views import lines

import hooklab

pytestmark = pytest.mark.timeout(300)

DETAILS, TREE, DIFF = 0, 1, 2  # the tabs' places

#: (case, the tab open while the captures are opened (None: Details, then that tab opened
#:  after each), the tab looked at, the captures opened in turn: lab letter and number)
CASES = [
    ("Tree open, A#2 then B#2 then A#2", TREE, TREE, ["A2", "B2", "A2"]),
    ("Tree open, B#1 then A#1", TREE, TREE, ["B1", "A1"]),
    ("Tree opened after each pick", None, TREE, ["A2", "B2", "A1", "B1"]),
    ("Diff open, A#2 then B#2 then A#2", DIFF, DIFF, ["A2", "B2", "A2"]),
    ("Diff open, B#2 then A#2", DIFF, DIFF, ["B2", "A2"]),
    ("Diff opened after each pick", None, DIFF, ["B2", "A2", "B2"]),
]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KernelSession]:
    """A kernel whose ``view`` shows a folder of two labs' Parquet exports: lab A's captures
    1 and 2 to bin orders ({"customer": "A1"}, "A2"), then lab B's ("B1", "B2")."""
    tmp = tmp_path_factory.mktemp("same-id")
    for who in "AB":
        lab = hooklab.HookLab(port=0, db=str(tmp / f"{who}.sqlite3")).start()
        try:
            for n in (1, 2):
                body = json.dumps({"customer": f"{who}{n}"}).encode()
                assert post(lab.url_for("orders"), body, {"Content-Type": "application/json"}
                            )[0] == 200
            assert [c.id for c in lab.wait(2, timeout=10)] == [1, 2]
            assert lab.export(str(tmp / "ds"), fmt="parquet") == 2
        finally:
            lab.stop()
    setup = f"""import json, hooklab
ds = hooklab.open({str(tmp / "ds")!r})
caps = {{c.json()["customer"]: c for c in ds.query(bin="orders")}}
view = ds.live()"""
    with kernel_in(Path(tmp), setup) as k:
        yield k


def tree_ok(who: str) -> bool:
    """What the Tree tab of capture ``who`` holds: its own customer, no other."""
    other = {"A": "B", "B": "A"}[who[0]] + who[1]

    def ok(labels: list[str] | None) -> bool:
        text = " ".join(labels or [])
        return f'customer: "{who}"' in text and f'"{other}"' not in text
    return ok


def diff_lines(who: str) -> list[str]:
    """The Diff tab of capture ``who``: its lab's #1 is the previous delivery of #2; #1 has
    none of its own lab (the other lab's captures came after it, or have no smaller id)."""
    if who[1] == "1":
        return ["#1: no earlier delivery of capture to /orders is stored", "nothing to compare"]
    return ["#2 against the previous capture to /orders: #1", "field change previous this",
            f'customer changed "{who[0]}1" "{who}"']


@pytest.mark.parametrize("case,open_tab,tab,picks", CASES, ids=[c[0] for c in CASES])
def test_the_tree_and_diff_tabs_show_the_capture_opened(
        kernel: KernelSession, case: str, open_tab: int | None, tab: int, picks: list[str]) -> None:
    m = json.loads(kernel.cell(
        "view.tabs.selected_index = 0\n"
        "print(json.dumps({'tabs': view.tabs.model_id, 'tree': view.tree.model_id, "
        "'diff': view.diff_pane.model_id}))"))
    kernel.browser_sets(m["tabs"], selected_index=open_tab if open_tab is not None else DETAILS)
    for who in picks:
        if open_tab is None:
            kernel.browser_sets(m["tabs"], selected_index=DETAILS)
        kernel.cell(f"assert view.select(caps[{who!r}]) == caps[{who!r}]\n"
                    f"assert '{who}' in view.detail.value")  # (the Details tab was right)
        if open_tab is None:
            kernel.browser_sets(m["tabs"], selected_index=tab)
        if tab == TREE:
            ok = tree_ok(who)
            assert ok(kernel.until_sent(m["tree"], "_options_labels", ok)), (case, who)
        else:
            want = diff_lines(who)
            got = kernel.until_sent(m["diff"], "value", lambda v, w=want: lines(v or "") == w)
            assert lines(got or "") == want, (case, who)
    assert json.loads(kernel.cell("print(json.dumps(view.error))")) is None
