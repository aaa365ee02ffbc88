"""A request path sent as raw UTF-8 bytes (``POST /\\xc3\\xa9t\\xc3\\xa9/x``) is kept a character
a byte (``/Ã©tÃ©/x``: a replay sends the same bytes) and is shown, where a person reads it, as
the UTF-8 its sender meant, escaped as ever: ``hooklab serve``'s line, the live view's
Details title and its bin/path column. Bytes that are no UTF-8 stay a character a byte; a
percent-encoded path is shown as before; "copy as curl" still sends the very bytes.

(A real lab on 127.0.0.1 fed raw bytes over a socket, ``hooklab serve`` in a subprocess, the
live view's widget state; the stream page is tests/browser/test_stream_page_paths.py.)
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
from _http import raw_request
from _raw_paths import CASES, RAW_MARKS, request
from test_cli_serve_utf8 import serve_lines

import hooklab


def _post_all(lab: hooklab.HookLab) -> list[hooklab.Capture]:
    port = lab.bound_port
    assert port is not None
    for target, _, _ in CASES.values():
        answer = raw_request(port, request(target))
        assert answer.startswith(b"HTTP/1.1 200"), (target, answer[:200])
    caps = lab.wait(len(CASES), timeout=10)
    assert [c.path.encode("latin-1") for c in caps] == [t for t, _, _ in CASES.values()]
    return caps


def _wait(pred, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


@pytest.fixture
def view(lab: hooklab.HookLab) -> Iterator[tuple[hooklab.HookLab, list[hooklab.Capture], object]]:
    caps = _post_all(lab)
    v = lab.live()
    try:
        assert _wait(lambda: len(v.table.options) == len(CASES))
        yield lab, caps, v
    finally:
        v.close()


def test_live_view_table_reads_raw_utf8_paths(view) -> None:  # type: ignore[no-untyped-def]
    _, caps, v = view
    by_id = {cid: label for label, cid in v.table.options}
    # the column: after the time and the method, up to the next run of spaces
    cells = [re.split(r" {2,}", by_id[c.id])[2] for c in caps]
    assert cells == [cell for _, _, cell in CASES.values()]
    assert not any(m in label for label in by_id.values() for m in RAW_MARKS)


def test_live_view_details_title_reads_raw_utf8_paths(view) -> None:  # type: ignore[no-untyped-def]
    _, caps, v = view
    titles = []
    for c in caps:
        v.select(c.id)
        assert _wait(lambda c=c: f"#{c.id} POST " in v.detail.value), c.path
        found = re.search(r'<div class="hl-title">(.*?)</div>', v.detail.value)
        assert found is not None
        titles.append(html.unescape(found.group(1)))
        assert not any(m in v.detail.value for m in RAW_MARKS)
    want = [f"#{c.id} POST {shown}"
            for c, (_, shown, _) in zip(caps, CASES.values(), strict=True)]
    assert titles == want


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="needs curl and bash")
def test_copy_as_curl_still_sends_the_bytes_as_received(view) -> None:  # type: ignore[no-untyped-def]
    """"Copy as curl", pasted into a shell, lands the very bytes of the path again."""
    lab, caps, v = view
    for n, c in enumerate(caps, 1):
        v.select(c.id)
        assert _wait(lambda c=c: f"#{c.id} POST " in v.detail.value and "curl " in v.curl.value)
        cmd = v.curl.value
        done = subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=30)
        assert done.returncode == 0, (cmd, done.stderr)
        again = lab.wait(len(CASES) + n, timeout=10)[-1]
        assert again.path.encode("latin-1") == c.path.encode("latin-1"), cmd


def test_serve_line_reads_raw_utf8_paths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    lines, every = serve_lines(tmp_path, [request(target) for target, _, _ in CASES.values()])
    # "#1 12:00:00.000000Z POST <path> -> 200 2B"
    got = [re.match(r"#\d+ \S+ POST (.*) -> 200 2B$", line).group(1)  # type: ignore[union-attr]
           for line in lines]
    assert got == [shown for _, shown, _ in CASES.values()]
    assert not any(m in line for line in every for m in RAW_MARKS)


def test_live_view_reads_a_header_event_type_and_the_diff_title_as_utf8(
        lab: hooklab.HookLab) -> None:
    """An event type from a header sent as UTF-8 (``X-GitHub-Event: café``, stored a character
    a byte, ``cafÃ©``) reads ``café`` in the table, the Details tab and the Diff tab, as
    ``hooklab serve`` shows it; a capture without an event type is named in the Diff tab by
    its path read as UTF-8. Bytes that are no UTF-8 stay a character a byte, escaped."""
    port = lab.bound_port
    assert port is not None
    sent = [  # (the request, what the event type reads, what the Diff tab names it by)
        (b"POST /gh/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-GitHub-Event: caf\xc3\xa9\r\n"
         b"Content-Length: 2\r\n\r\n{}", "café", "café"),
        (b"POST /gh/y HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-GitHub-Event: \xe2\x80\xaeevil\r\n"
         b"Content-Length: 2\r\n\r\n{}", "\\u202eevil", "\\u202eevil"),
        (b"POST /gh/z HTTP/1.1\r\nHost: h\r\nConnection: close\r\nX-GitHub-Event: caf\xe9\r\n"
         b"Content-Length: 2\r\n\r\n{}", "café", "café"),
        (b"POST /\xc3\xa9t\xc3\xa9/w HTTP/1.1\r\nHost: h\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
         "", "capture to /été/w"),
    ]
    for raw, _, _ in sent:
        assert raw_request(port, raw).startswith(b"HTTP/1.1 200")
    caps = lab.wait(len(sent), timeout=10)
    v = lab.live()
    try:
        assert _wait(lambda: len(v.table.options) == len(sent))
        by_id = {cid: label for label, cid in v.table.options}
        v.tabs.selected_index = 2
        for c, (_, event, named) in zip(caps, sent, strict=True):
            if event:
                assert event in by_id[c.id], (by_id[c.id], event)
            v.select(c.id)
            assert _wait(lambda c=c: f"#{c.id} POST " in v.detail.value)
            if event:
                row = re.search(r"<th>event type</th><td>(.*?)</td>", v.detail.value)
                assert row is not None and html.unescape(row.group(1)) == event, v.detail.value
            assert _wait(lambda c=c: f"#{c.id}" in v.diff_pane.value)
            assert f"no earlier delivery of {html.escape(named)}" in v.diff_pane.value, (
                v.diff_pane.value)
            assert "Ã" not in v.diff_pane.value and "Ã" not in by_id[c.id]
    finally:
        v.close()
