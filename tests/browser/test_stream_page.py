"""The stream page (/_hooklab/) in headless Chromium: rows appear live, untrusted text stays text.

Uses Debian's /usr/bin/chromium through Playwright; nothing is downloaded. Skips without it.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from _jupyter import ARTIFACTS as _ARTIFACTS

import hooklab
from hooklab import HookLab

XSS = '<img src=x onerror="window.__xss=1">'


def _raw_post(port: int, target: str, headers: dict[str, str], body: bytes) -> None:
    """POST with the request target sent byte for byte (no client-side quoting)."""
    head = f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode() + body)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")


def test_stream_page_shows_captures_live_and_escaped(browser: Any, lab: HookLab) -> None:
    # bypass_csp: Playwright's wait_for_function needs eval; it also proves the page escapes
    # on its own, without the CSP's help (the CSP header is checked in tests/test_stream.py)
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(lab.page_url)  # carries the read token
        page.wait_for_function("document.getElementById('status').textContent === 'live'", timeout=10000)

        port = lab.bound_port
        assert port is not None
        urllib.request.urlopen(lab.url_for("github", "push"), data=b'{"ref": "main"}').read()
        _raw_post(port, "/xss/<img/src=x/onerror=window.__xss=1>", {"X-Evil": XSS}, XSS.encode())
        lab.store.add_sync(
            {"received_at": datetime.now(timezone.utc), "method": "POST", "path": "/xss/" + XSS,
             "headers": [("Content-Type", "text/html")], "body": f"<script>window.__xss=2</script>{XSS}".encode()}
        )
        page.wait_for_function("document.querySelectorAll('#rows tr').length >= 3", timeout=10000)
        page.wait_for_timeout(300)  # give any injected handler a chance to fire

        assert page.evaluate("window.__xss") is None
        assert page.locator("#rows img, #rows script").count() == 0
        paths = page.locator("#rows tr td:nth-child(5)").all_text_contents()
        assert paths == ["/xss/" + XSS, "/xss/<img/src=x/onerror=window.__xss=1>", "/github/push"]
        newest_body = page.locator("#rows tr").first.locator("td.body").text_content()
        assert newest_body == f"<script>window.__xss=2</script>{XSS}"
        headers = page.locator("#rows tr").nth(1).locator("td.headers").text_content() or ""
        assert f"X-Evil: {XSS}" in headers

        # a filter typed into the page reconnects with ?bin= and replays only that bin
        page.fill("#bin", "github")
        page.click("#apply")
        page.wait_for_function(
            "document.querySelectorAll('#rows tr').length === 1 && "
            "document.getElementById('status').textContent === 'live'",
            timeout=10000,
        )
        assert page.locator("#rows tr td:nth-child(5)").all_text_contents() == ["/github/push"]
        urllib.request.urlopen(lab.url_for("other"), data=b"{}").read()
        urllib.request.urlopen(lab.url_for("github", "again"), data=b"{}").read()
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 2", timeout=10000)
        assert page.locator("#rows tr td:nth-child(5)").all_text_contents() == ["/github/again", "/github/push"]

        page.fill("#bin", "")
        page.click("#apply")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 5", timeout=10000)
        _ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(_ARTIFACTS / "stream-page.png"), full_page=True)
        assert page.evaluate("window.__xss") is None
        assert errors == []
    finally:
        ctx.close()


def test_stream_page_reconnects_after_a_restart_before_any_capture(browser: Any, tmp_path) -> None:
    """The page opened before any webhook, then serving restarted on the same port: it
    reconnects from where it started (it used to retry ``?since=null`` forever, refused
    with 1008) and shows what arrives after."""
    from _http import free_port

    port = free_port()
    lab = HookLab(port=port, db=":memory:").start()
    ctx = browser.new_context(bypass_csp=True)  # (wait_for_function needs eval)
    page = ctx.new_page()
    try:
        page.goto(lab.page_url)
        page.wait_for_function("document.getElementById('status').textContent === 'live'", timeout=10000)
        lab.stop_serving()
        page.wait_for_function("document.getElementById('status').textContent.startsWith('disconnected')",
                               timeout=10000)
        lab.start()
        assert lab.bound_port == port
        page.wait_for_function("document.getElementById('status').textContent === 'live'", timeout=20000)
        urllib.request.urlopen(lab.url_for("after", "restart"), data=b"hello").read()
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 1", timeout=10000)
        assert page.locator("#rows tr td:nth-child(5)").all_text_contents() == ["/after/restart"]
    finally:
        ctx.close()
        lab.stop()


def test_stream_page_says_when_its_token_is_no_longer_valid(browser: Any, tmp_path) -> None:
    """A restarted kernel starts a lab with a new read token on the same port: the open page
    retried for ever ("disconnected (1006), retrying", a console error each time). It now
    says to open ``lab.page_url`` again, and stops retrying. Its count follows "apply"."""
    from _http import free_port

    port = free_port()
    first = HookLab(port=port, db=":memory:").start()
    ctx = browser.new_context(bypass_csp=True)  # (wait_for_function needs eval)
    page = ctx.new_page()
    second = None
    try:
        page.goto(first.page_url)
        page.wait_for_function("document.getElementById('status').textContent === 'live'", timeout=10000)
        urllib.request.urlopen(first.url_for("a"), data=b"{}").read()
        page.wait_for_function("document.getElementById('count').textContent === '1 shown'", timeout=10000)
        page.fill("#bin", "nothing-here")
        page.click("#apply")
        page.wait_for_function("document.getElementById('status').textContent === 'live'", timeout=10000)
        assert page.locator("#count").text_content() == "0 shown"  # (it said "1 shown")
        first.stop()
        second = HookLab(port=port, db=":memory:").start()  # the kernel restarted: a new token
        assert second.api_token != first.api_token
        page.wait_for_function(
            "document.getElementById('status').textContent.includes('Open lab.page_url again')",
            timeout=20000)
        page.wait_for_timeout(1500)
        assert "Open lab.page_url again" in (page.locator("#status").text_content() or "")
    finally:
        ctx.close()
        first.stop()
        if second is not None:
            second.stop()


def test_stream_page_hides_credentials_until_asked(browser: Any, lab: HookLab) -> None:
    """The stream page showed ``Authorization``, ``X-Gitlab-Token`` and a form's ``password``
    in clear (with no way to hide them); they are hidden like in the live view, in rows
    already shown and in new ones, until "show credentials" is ticked, and hidden again
    when it is unticked. A request without credentials looks as it did."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(lab.page_url)
        page.wait_for_function("document.getElementById('status').textContent === 'live'", timeout=10000)
        port = lab.bound_port
        assert port is not None
        _raw_post(port, "/form", {"Content-Type": "application/x-www-form-urlencoded",
                                  "Authorization": "Bearer PAGEsecret1"},
                  b"user=bob&password=PAGEsecret2")
        _raw_post(port, "/gl", {"X-Gitlab-Token": "PAGEsecret3", "X-Gitlab-Event": "Push Hook"},
                  b'{"object_kind": "push"}')
        _raw_post(port, "/plain", {"Content-Type": "application/json"}, b'{"ok": true}')
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 3", timeout=10000)

        def text() -> str:
            return " ".join(page.locator("#rows").all_text_contents())

        assert "PAGEsecret" not in text() and "hidden" in text()
        assert "user=bob&password=<hidden: 11 chars>" in text()
        assert '{"ok": true}' in text()
        page.check("#reveal")
        assert all(f"PAGEsecret{i}" in text() for i in (1, 2, 3))
        _raw_post(port, "/later", {"Authorization": "Bearer PAGEsecret4"}, b"{}")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 4", timeout=10000)
        assert "PAGEsecret4" in text()
        page.uncheck("#reveal")
        assert "PAGEsecret" not in text()
        assert page.locator("#rows tr").count() == 4
        assert errors == []
    finally:
        ctx.close()


# Characters a page must not draw raw (hooklab/widget/_render.py visible()): drawn, U+202E
# shows "amount: \u202e0001\u202c USD" as "amount: 1000 USD" and {"rtl": "\u202eevil\u202c"}
# as "live"; the zero-width ones hide text, controls move or hide it.
HOSTILE = [
    ("rlo-amount", "amount: \u202e0001\u202c USD"),
    ("rlo-word", '{"rtl":"\u202eevil\u202c"}'),
    ("lro", "\u202dabc\u202c"),
    ("rle-lre", "\u202bx\u202ay\u202c"),
    ("isolates", "\u2066a\u2069\u2067b\u2069\u2068c\u2069"),
    ("lrm-rlm", "a\u200eb\u200fc"),
    ("zero-width", "pay\u200bpal \u200d\u200c"),
    ("bom", "\ufeffbom"),
    ("nul-bel-esc", "a\x00b\x07c\x1b[31mred"),
    ("tab", "a\tb"),
    ("tab-lf-cr", "a\tb\nc\rd"),
    ("del", "a\x7fb"),
    ("c1", "a\x85b\x9bc"),
    ("line-para-sep", "a\u2028b\u2029c"),
    ("soft-hyphen-alm-mvs", "pay\u00adpal \u061cx\u180ey"),
    ("word-joiner-invisible-ops", "a\u2060b\u2062c\u2064d"),
    ("deprecated-format", "a\u206ab\u206fc"),
    ("interlinear", "\ufff9a\ufffab\ufffb"),
    ("tag-characters", "ok\U000e0001\U000e0041\U000e0042\U000e007f"),
    ("default-ignorables", "\u3164x\uffa0\u115f\u034fy\u17b4\u180b\U0001d173\U0001bca0\U00013430"),
    ("variation-selector-run", "ok\ufe03\ufe05\ufe02\U000e0141\U000e0100 end"),
    ("emoji-and-cjk-variants", "\u2764\ufe0f love \u845b\U000e0100"),
    ("plain", "plain text, ü and 日本"),
]


def _send_hostile(port: int, bin_: str, text: str) -> None:
    """POST ``text`` as a text/plain body, and as the UTF-8 bytes of an ``X-Note`` header where
    HTTP allows them (C0 controls but tab, and DEL, are refused with 400 by the parser)."""
    raw = text.encode()
    header_ok = all(b >= 0x20 or b == 0x09 for b in raw) and 0x7F not in raw
    head = f"POST /{bin_} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n".encode()
    head += b"Content-Type: text/plain; charset=utf-8\r\n"
    if header_ok:
        head += b"X-Note: " + raw + b"\r\n"
    body = b"<" + raw + b">"
    head += f"Content-Length: {len(body)}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head + body)
        assert s.recv(4096).startswith(b"HTTP/1.1 200")


@pytest.fixture(scope="module")
def stream_page(browser: Any) -> Iterator[tuple[HookLab, Any]]:
    """One lab and one open stream page (its real CSP kept) for the whole table."""
    lab = HookLab(port=0, db=":memory:").start()
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    try:
        page.goto(lab.page_url)
        page.wait_for_selector("#status.live", timeout=10000)
        yield lab, page
    finally:
        ctx.close()
        lab.stop()


@pytest.mark.parametrize("text", [t for _, t in HOSTILE], ids=[i for i, _ in HOSTILE])
def test_stream_page_shows_invisible_characters_as_the_live_view(
        stream_page: tuple[HookLab, Any], text: str) -> None:
    """Bidi overrides and isolates, zero-width marks, a BOM, C0/C1 controls and DEL in a body,
    a header, an event type and a path were drawn raw: "\\u202eevil" read "live". Each cell
    (and its tooltip) now shows what the live view shows: ``visible()`` of the same text,
    header values read as UTF-8 as there (``as_sent``); the body and headers keep tab, LF and
    CR (the multi-line set: a one-line cell draws them as spaces)."""
    from hooklab.capture import target_as_sent
    from hooklab.widget._render import as_sent, visible

    lab, page = stream_page
    port = lab.bound_port
    assert port is not None
    bin_ = f"b{len(lab.captures)}"

    def cells(cap_id: int) -> list[tuple[str, str | None]]:
        tr = page.locator(f'#rows tr[data-id="{cap_id}"]')
        tr.wait_for(timeout=10000)
        tds = tr.locator("td")
        return [(tds.nth(i).inner_text(), tds.nth(i).get_attribute("title")) for i in range(tds.count())]

    def expect(shown: tuple[str, str | None], value: str, drawn: str | None = None) -> None:
        assert shown == (value if drawn is None else drawn, value), (ascii(shown), ascii(value))

    # a webhook as sent over HTTP: the body and the X-Note header
    _send_hostile(port, bin_, text)
    (cap,) = lab.wait(1, bin=bin_, timeout=10)
    row = cells(cap.id)
    # (the multi-line set keeps tab, LF and CR: the tooltip has them, the one-line cell
    # draws each as a space, as innerText says)
    spaces = {9: " ", 10: " ", 13: " "}
    body = visible(cap.text, multiline=True)
    expect(row[9], body, drawn=body.translate(spaces))
    headers = " | ".join(f"{k}: {visible(as_sent(v), multiline=True)}" for k, v in cap.headers)
    expect(row[8], headers, drawn=headers.translate(spaces))
    note = "X-Note: " + visible(text, multiline=True).translate(spaces)
    assert (note in row[8][0]) == (cap.header("X-Note") is not None)

    # an event type read from the payload (GitHub's "<event>.<action>")
    hooklab.send(lab.url_for(bin_ + "gh"), provider="github", event="issues.opened", payload={"action": text})
    (gh,) = lab.wait(1, bin=bin_ + "gh", timeout=10)
    assert gh.event_type == f"issues.{text}"
    expect(cells(gh.id)[6], visible(gh.event_type))

    # a path as another process may store it (HTTP refuses these bytes in a request target);
    # shown as the live view and serve show a path: its UTF-8 read, any other byte as %XX
    stored = lab.store.add_sync({"received_at": datetime.now(timezone.utc), "method": "POST",
                                 "path": f"/{bin_}st/{text}", "headers": [], "body": b""})
    expect(cells(stored.id)[4], visible(target_as_sent(stored.path)))

    for t, title in cells(cap.id) + cells(gh.id) + cells(stored.id):
        assert not any(c in t + (title or "") for c in "\u202a\u202b\u202d\u202e\u2066\u2067\u2068\u200b\ufeff\x00\x1b\x7f\x85")
