"""The live view's Details tab lists a capture's trailer fields (sent after a chunked body)
apart from its header section: "Headers (N)" holds the header section only, "Trailers (M)"
(only when some came) the trailer fields, escaped as the headers are, a credential's value
hidden by the headers' rule until "show credentials" is ticked.

A real lab on 127.0.0.1 receives raw chunked requests over a socket; its live view runs on a
dummy comm (no browser, no kernel) and is read through its traits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html import unescape

import comm
import pytest
from _chunked import SHOWN, Fields, chunked_post, hidden
from _http import raw_request
from test_widget import DummyComm

from hooklab import HookLab

#: the fields every request below starts with
FIRST: Fields = [("Host", "x"), ("Transfer-Encoding", "chunked"), ("Connection", "close"),
                 ("Content-Type", "application/json")]


@pytest.fixture(autouse=True)
def dummy_comm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda **kw: DummyComm(**kw))


#: name -> (header section after FIRST, trailer fields, the trailers the tab shows with
#: credentials hidden; None: as sent). Values are sent as UTF-8 bytes.
CASES: dict[str, tuple[Fields, Fields, Fields | None]] = {
    **SHOWN,
    "utf-8 and bidi in a trailer value": (
        [("X-Id", "5")], [("X-Name", "José"), ("X-Rtl", "\u202eevil")],
        [("X-Name", "José"), ("X-Rtl", "\\u202eevil")]),
}


def chunked(path: str, head: Fields, trailers: Fields, body: bytes = b'{"a": 1}') -> bytes:
    return chunked_post(path, head, trailers, body, first=FIRST)


def section(html: str, title: str) -> tuple[int, Fields] | None:
    """The count in ``<h4>{title} (N)</h4>`` of the pane and the rows of the table after it."""
    m = re.search(rf"<h4>{title} \((\d+)\)</h4>(.*?)(?=<h4>|$)", html, re.S)
    if m is None:
        return None
    rows = re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", m.group(2), re.S)
    return int(m.group(1)), [(unescape(k), unescape(v)) for k, v in rows]


@pytest.fixture
def sent(lab: HookLab) -> Iterator[dict[str, int]]:
    ids = {}
    for n, (name, (head, trailers, _)) in enumerate(CASES.items()):
        answer = raw_request(lab.bound_port, chunked(f"/t/{n}", head, trailers))
        assert answer.startswith(b"HTTP/1.1 200"), (name, answer[:200])
        ids[name] = lab.wait(n + 1, timeout=10)[-1].id
    yield ids


@pytest.mark.parametrize("name", list(CASES))
def test_details_list_trailers_apart_from_the_header_section(lab: HookLab, sent, name: str):
    head, trailers, shown = CASES[name]
    cap = lab.get(sent[name])
    # (what the lab received, for the tab to show: header bytes kept a character a byte)
    assert cap.trailers == [(k, v.encode().decode("latin-1")) for k, v in trailers]
    view = lab.live(bin="t")
    try:
        view.select(cap.id)
        html = view.detail.value
        headers = section(html, "Headers")
        expected_head = [(k, hidden(v) if k == "Authorization" else v) for k, v in FIRST + head]
        assert headers == (len(FIRST) + len(head), expected_head)
        got = section(html, "Trailers")
        if not trailers:
            assert got is None and "Trailers" not in html
        else:
            expected = shown if shown is not None else trailers
            assert got == (len(trailers), expected)
            assert html.count("<h4>Trailers (") == 1
        # escaped: no markup of a sender's reaches the pane
        assert "<img" not in html and 'onerror="' not in html
        state = json.dumps([w.get_state() for w in view._all_widgets()], default=str)
        assert "TRAILsecret" not in state and "HEADsecret" not in state
        # "show credentials": the trailers' credentials too, as the headers'
        view.show_credentials.value = True
        html = view.detail.value
        assert section(html, "Headers") == (len(FIRST) + len(head), FIRST + head)
        if trailers:
            assert section(html, "Trailers") == (
                len(trailers), shown if name.startswith("utf-8") else trailers)
        view.show_credentials.value = False
        assert "TRAILsecret" not in view.detail.value
    finally:
        view.close()


def test_escaped_trailers_are_text(lab: HookLab, sent):
    view = lab.live(bin="t")
    try:
        view.select(sent["html in a trailer value"])
        html = view.detail.value
        assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in html
        assert "a&quot;b&#x27;c&amp;d" in html
    finally:
        view.close()
