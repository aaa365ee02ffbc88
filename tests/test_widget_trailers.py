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
import uuid
from collections.abc import Iterator
from html import unescape
from typing import Any

import comm
import pytest
from _http import raw_request

from hooklab import HookLab

XSS = '<img src=x onerror="window.__xss=1">'
Fields = list[tuple[str, str]]
#: the fields every request below starts with
FIRST: Fields = [("Host", "x"), ("Transfer-Encoding", "chunked"), ("Connection", "close"),
                 ("Content-Type", "application/json")]


class DummyComm:
    """Takes every message a widget sends instead of a frontend."""

    kernel = "Truthy"

    def __init__(self, **kwargs: Any) -> None:
        self.comm_id = uuid.uuid4().hex

    def open(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_msg(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self, *args: Any, **kwargs: Any) -> None:
        pass


@pytest.fixture(autouse=True)
def dummy_comm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comm, "create_comm", lambda **kw: DummyComm(**kw))


def hidden(value: str) -> str:
    return f"<hidden: {len(value)} chars>"


#: name -> (header section after FIRST, trailer fields, the trailers the tab shows with
#: credentials hidden; None: as sent). Values are sent as UTF-8 bytes.
CASES: dict[str, tuple[Fields, Fields, Fields | None]] = {
    "none": ([("X-Id", "1")], [], None),
    "one": ([("X-Id", "2")], [("X-Checksum", "sha256=abc")], None),
    "a credential trailer": (
        [("X-Id", "3"), ("Authorization", "Bearer HEADsecret0")],
        [("Authorization", "Bearer TRAILsecret1"), ("X-Api-Key", "TRAILsecret2"),
         ("X-Plain", "kept")],
        [("Authorization", hidden("Bearer TRAILsecret1")), ("X-Api-Key", hidden("TRAILsecret2")),
         ("X-Plain", "kept")]),
    "html in a trailer value": ([("X-Id", "4")], [("X-Evil", XSS), ("X-Quote", "a\"b'c&d")], None),
    "utf-8 and bidi in a trailer value": (
        [("X-Id", "5")], [("X-Name", "José"), ("X-Rtl", "\u202eevil")],
        [("X-Name", "José"), ("X-Rtl", "\\u202eevil")]),
    "500 trailers": ([("X-Id", "6")], [(f"X-T-{i}", f"v{i}") for i in range(500)], None),
}


def chunked(path: str, head: Fields, trailers: Fields, body: bytes = b'{"a": 1}') -> bytes:
    lines = [f"POST {path} HTTP/1.1", *(f"{k}: {v}" for k, v in [*FIRST, *head])]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:3], body[3:]))
    tail = "".join(f"{k}: {v}\r\n" for k, v in trailers).encode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + chunks + b"0\r\n" + tail + b"\r\n"


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
