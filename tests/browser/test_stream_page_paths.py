"""The stream page (/_hooklab/) in headless Chromium shows a path sent as raw UTF-8 bytes as the
UTF-8 its sender meant (``/été/x``, not the ``/Ã©tÃ©/x`` the store keeps a character a byte),
escaped as every cell is; bytes that are no UTF-8 stay a character a byte, a percent-encoded
path is shown as sent. (The same table as the live view's and ``serve``'s:
tests/test_path_shown_utf8.py.)"""

from __future__ import annotations

from typing import Any

from _http import raw_request
from _raw_paths import CASES, RAW_MARKS, request
from _stream_page import live_page, rows

from hooklab import HookLab


def test_stream_page_reads_raw_utf8_paths(browser: Any, lab: HookLab) -> None:
    with live_page(browser, lab.page_url) as (page, errors):
        port = lab.bound_port
        assert port is not None
        for target, _, _ in CASES.values():
            assert raw_request(port, request(target)).startswith(b"HTTP/1.1 200"), target
        rows(page, len(CASES))
        paths = page.locator("#rows tr td:nth-child(5)").all_text_contents()
        assert paths == [shown for _, shown, _ in reversed(CASES.values())]  # (newest first)
        assert not any(m in p for p in paths for m in RAW_MARKS)
        assert errors == []
