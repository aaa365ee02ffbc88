"""The stream page (/_hooklab/) in headless Chromium: rows appear live, untrusted text stays text.

Uses Debian's /usr/bin/chromium through Playwright; nothing is downloaded. Skips without it.
"""

from __future__ import annotations

import socket
import urllib.request
from datetime import datetime, timezone
from typing import Any

from _jupyter import ARTIFACTS as _ARTIFACTS

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
