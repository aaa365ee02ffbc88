"""Live views of a real lab, met as a user meets them (real sockets, ``import hooklab``).

"Copy as curl" of a view opened while its lab is not serving goes to the lab's address (it
went to ``http://127.0.0.1:8765``, a port the lab may never have used); "Diff with previous"
compares among the captures the view shows (it took another bin's delivery the view hid).
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import comm
import pytest
from _http import free_port
from test_widget import DummyComm

import hooklab


@pytest.fixture(autouse=True)
def _no_frontend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda **kw: DummyComm(**kw))
    monkeypatch.setattr(DummyComm, "log", [])  # (its messages: not read here)


def _curl_target(view: Any) -> str:
    """The URL the view's "Copy as curl" command sends to (the line that runs curl)."""
    line = next(line for line in view.curl.value.splitlines() if line.startswith("curl "))
    return next(word.strip("'") for word in line.split() if word.strip("'").startswith("http://"))


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another program listens on: a lab asked for it moves to the next free one."""
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        yield port


@pytest.mark.parametrize("how", ["stop_serving", "stop"])
@pytest.mark.parametrize("asked", ["fixed", "any free (port=0)", "taken (moved on)"])
def test_copy_as_curl_of_a_view_opened_while_stopped_goes_to_the_lab(
        tmp_path: Path, request: pytest.FixtureRequest, how: str, asked: str) -> None:
    port = {"fixed": free_port, "any free (port=0)": lambda: 0,
            "taken (moved on)": lambda: request.getfixturevalue("held_port")}[asked]()
    with pytest.warns(RuntimeWarning) if asked.startswith("taken") else nullcontext():
        lab = hooklab.start(port=port, db=str(tmp_path / "c.sqlite3"))
    views: list[Any] = []
    try:
        served_at = lab.url  # (what the sender was given)
        if port:
            assert (served_at == f"http://127.0.0.1:{port}") == (asked == "fixed")
        with urllib.request.urlopen(urllib.request.Request(
                served_at + "/orders/new?x=1", data=b'{"a": 1}'), timeout=10) as resp:
            resp.read()
        (cap,) = lab.wait(1, timeout=10)
        getattr(lab, how)()
        assert not lab.is_running
        view = lab.live(bin="orders")
        views.append(view)
        view.select(cap.id)
        assert _curl_target(view) == served_at + "/orders/new?x=1", view.curl.value
        lab.start()  # (and the lab does listen there again: the command reaches it)
        assert lab.url == served_at
    finally:
        for v in views:
            v.close()
        lab.stop()



# -- "Diff with previous" looks among the captures the view shows ----------------------------

def _post(lab: Any, bin: str, body: bytes, delivery: str) -> None:
    req = urllib.request.Request(f"{lab.url}/{bin}", data=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def _diff_against(view: Any) -> str:
    """What the Diff tab compares with: ``#N`` or ``none``, read from its visible text."""
    import re

    text = re.sub(r"<[^>]+>", " ", view.diff_pane.value)
    m = re.search(r"against the previous push: #(\d+)", text)
    return f"#{m.group(1)}" if m else ("none" if "no earlier delivery" in text else text)


# deliveries: #1 bin github (main), #2 bin other-repo (x), #3 bin github (#1 redelivered),
# #4 bin other-repo; each row: the view, its boxes, the capture opened, what it is compared with
# (the newest earlier push among the captures that view lets through)
_DIFF_CASES = [
    ({"bin": "github"}, {}, 3, "#1"),                 # the tester's: a retry against its original
    ({"bin": "/github"}, {}, 3, "#1"),                # the bin spelt as url_for's path is
    ({}, {"bin_filter": "github"}, 3, "#1"),          # the bin chosen in the view's box
    ({}, {}, 3, "#2"),                                # every bin shown: the previous one shown
    ({}, {"search": "main"}, 3, "#1"),                # the search box hides #2
    ({"bin": "other-repo"}, {}, 4, "#2"),
    ({"bin": "other-repo"}, {}, 2, "none"),           # its first: nothing (not #1 of github)
    ({"bin": "github", "until": 3}, {}, 3, "#1"),     # the view's own until= bounds nothing more
    ({"bin": "github", "since": 1}, {}, 3, "none"),   # since=1: #1 is not in the view
    ({"bin": ["github", "other-repo"]}, {}, 3, "#2"),  # both bins shown
    ({"provider": "github", "search": "main"}, {}, 3, "#1"),
]


@pytest.mark.parametrize("filters, boxes, opened, against", _DIFF_CASES)
def test_diff_with_previous_compares_among_what_the_view_shows(
        filters: dict[str, Any], boxes: dict[str, str], opened: int, against: str) -> None:
    lab = hooklab.start(port=0, db=":memory:")
    try:
        main, other = b'{"ref": "refs/heads/main", "after": "a1"}', b'{"ref": "refs/heads/x"}'
        for bin, body, delivery in (("github", main, "d-1"), ("other-repo", other, "o-1"),
                                    ("github", main, "d-1"), ("other-repo", other, "o-2")):
            _post(lab, bin, body, delivery)
        assert [c.id for c in lab.wait(4, timeout=10)] == [1, 2, 3, 4]
        assert {c.event_type for c in lab.captures} == {"push"}
        view = lab.live(**filters)
        for name, value in boxes.items():
            getattr(view, name).value = value
        view.tabs.selected_index = 2  # Diff with previous
        view.select(opened)
        view.refresh()
        assert _diff_against(view) == against, view.diff_pane.value
        view.close()
    finally:
        lab.stop()


def test_the_diff_follows_a_bin_chosen_while_it_is_open() -> None:
    lab = hooklab.start(port=0, db=":memory:")
    try:
        main, other = b'{"ref": "refs/heads/main"}', b'{"ref": "refs/heads/x"}'
        for bin, body, delivery in (("github", main, "d-1"), ("other-repo", other, "o-1"),
                                    ("github", main, "d-1")):
            _post(lab, bin, body, delivery)
        lab.wait(3, timeout=10)
        view = lab.live()
        view.tabs.selected_index = 2
        view.select(3)
        view.refresh()
        assert _diff_against(view) == "#2"
        view.bin_filter.value = "github"
        view.refresh()
        assert _diff_against(view) == "#1", view.diff_pane.value
        view.close()
    finally:
        lab.stop()


# -- a multipart form's field names in the Details tab, as sent --------------------------------

def _details_text(view: Any) -> str:
    """The Details tab as a browser renders it: its HTML tags gone, its entities read."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", " | ", view.detail.value))


# (the parameter as it stands in the part's Content-Disposition, the field name an app's
# form parser reads: RFC 7578 allows any name, in quotes with \" and \\ escapes, or RFC 2231's
# name*=charset''%XX; browsers send " as %22 and line breaks as %0D%0A, which stay as sent)
_NAMES = [
    ('name="<id>"', "<id>"),                          # the tester's: was listed as "id"
    ('name="<b>x</b> a<c"', "<b>x</b> a<c"),          # markup: shown as text, never as HTML
    ('name="<script>alert(1)</script>"', "<script>alert(1)</script>"),
    ('name="\\"<q>\\""', '"<q>"'),                   # escaped quotes around angle brackets
    ("name=\"'<x>'\"", "'<x>'"),
    ('name="a\\"b"', 'a"b'),                          # \" is a quote
    ('name="a\\\\b"', "a\\b"),                        # \\ is one backslash
    ('name="a\\b"', "a\\b"),                          # a lone backslash stays
    ('name="a%22b%0D%0A"', "a%22b%0D%0A"),            # a browser's escapes: as sent
    ("name*=utf-8''%3Cid%3E%E2%82%AC", "<id>€"),      # RFC 2231
    ('name*="utf-8\'\'%3Cq%3E"', "<q>"),
    ('name="x', "x"),                                 # no closing quote: parsers read x
    ('name="plain"', "plain"),
]


@pytest.mark.parametrize("param, shown", _NAMES)
def test_details_lists_a_multipart_field_by_the_name_sent(param: str, shown: str) -> None:
    lab = hooklab.start(port=0, db=":memory:")
    try:
        bnd = "BoUnDaRy"
        body = (f'--{bnd}\r\nContent-Disposition: form-data; {param}\r\n\r\nv42\r\n'
                f'--{bnd}\r\nContent-Disposition: form-data; name="f"; filename="<evil> {shown}"\r\n'
                f"Content-Type: image/png\r\n\r\nPNG\r\n--{bnd}--\r\n").encode()
        req = urllib.request.Request(lab.url + "/m", data=body, headers={
            "Content-Type": f"multipart/form-data; boundary={bnd}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
        (cap,) = lab.wait(1, timeout=10)
        view = lab.live()
        view.select(cap.id)
        text = _details_text(view)
        listed = text[text.index("multipart form fields"):]
        assert f"| {shown} |  | v42 |" in listed, listed
        assert f"<file {'<evil> ' + shown!r}, image/png, 3 bytes>" in listed, listed
        assert "<script>" not in view.detail.value and "<b>x" not in view.detail.value
        view.close()
    finally:
        lab.stop()


# -- the bin dropdown: a bin spelt with %2F says it shows its slash-less namesake too ----------

# (path sent, its capture's bin); ids 1.. in this order
_BIN_PATHS = ["/%2Forders/x", "/orders/y", "/orders%2F/z", "/%2F/x", "/", "/%2Fa%2Fb/x", "/a%2Fb/x"]
# each choice the dropdown offers -> the captures it shows (bin="/orders" is bin "orders"
# and a bin spelt /%2Forders: the filters' documented meaning, lab.wait(bin=...) too)
_BIN_CHOICES = {
    "/orders (and bin orders)": [1, 2],
    "orders": [2],
    "orders/ (and bin orders)": [2, 3],
    "/ (and the captures to /)": [4, 5],
    "/": [5],                                          # the empty bin (path /)
    "/a/b (and bin a/b)": [6, 7],
    "a/b": [7],
}


def test_the_bin_dropdown_says_what_a_slash_spelt_bin_shows() -> None:
    import time

    lab = hooklab.start(port=0, db=":memory:")
    try:
        for path in _BIN_PATHS:
            with urllib.request.urlopen(urllib.request.Request(lab.url + path, data=b"{}"),
                                        timeout=10) as resp:
                resp.read()
        lab.wait(len(_BIN_PATHS), timeout=10)
        view = lab.live()
        deadline = time.monotonic() + 10
        while len(view.bin_filter.options) < len(_BIN_CHOICES) + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
            view.refresh()
        offered = dict(view.bin_filter.options[1:])
        assert sorted(offered) == sorted(_BIN_CHOICES), view.bin_filter.options
        for label, ids in _BIN_CHOICES.items():
            view.bin_filter.value = offered[label]
            view.refresh()
            assert sorted(i for _, i in view.table.options) == ids, (label, view.table.options)
            # (as the bin filter means it everywhere)
            assert [c.id for c in lab.wait(1, timeout=0, bin=offered[label])] == ids
        view.close()
    finally:
        lab.stop()
