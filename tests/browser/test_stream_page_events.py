"""The stream page (/_hooklab/) in headless Chromium shows an event type taken from a header as
the live view and ``hooklab serve`` show it: the header's UTF-8 read as UTF-8 (``café``, not the
``cafÃ©`` the store keeps a character a byte), bytes that are no UTF-8 a character a byte,
escaped as every cell is, HTML as text. (The same table as the stream's messages':
tests/test_stream_event_read.py; serve's: tests/test_cli_serve_utf8.py.)"""

from __future__ import annotations

from typing import Any

from _event_types import CASES, RAW_MARKS, request
from _http import raw_request
from _stream_page import live_page, rows

from hooklab import HookLab


def test_stream_page_reads_header_event_types_as_utf8(browser: Any, lab: HookLab) -> None:
    with live_page(browser, lab.page_url) as (page, errors):
        port = lab.bound_port
        assert port is not None
        for event, body, _, _, _ in CASES.values():
            assert raw_request(port, request(event, body)).startswith(b"HTTP/1.1 200"), event
        rows(page, len(CASES))
        page.wait_for_timeout(300)  # (time for an injected handler to fire)
        cells = page.locator("#rows tr td:nth-child(7)")
        events = cells.all_text_contents()
        assert events == [shown for *_, shown in reversed(CASES.values())]  # (newest first)
        titles = [cells.nth(i).get_attribute("title") for i in range(len(CASES))]
        assert titles == [e[:2000] for e in events]
        assert not any(m in e for e in events for m in RAW_MARKS)
        assert page.evaluate("window.__xss") is None
        assert page.locator("#rows script, #rows img").count() == 0
        assert errors == []
