"""Real HAR files: Debian's headless Chromium, driven by Playwright, records a page on
127.0.0.1 that opens a WebSocket, fetches a ``blob:`` URL, aborts a POST and POSTs JSON and
binary bodies; ``hooklab.load_har`` imports each recording (``record_har_content`` "embed",
"attach" beside the HAR, and the ``.zip`` Playwright writes) and gives the requests the server
received, byte for byte where the HAR holds them.

Without ``/usr/bin/chromium`` (``HOOKLAB_TEST_CHROMIUM`` points elsewhere) or the
``playwright`` package the test skips, but fails under CI as the browser tests do.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hooklab

CHROMIUM = Path(os.environ.get("HOOKLAB_TEST_CHROMIUM") or "/usr/bin/chromium")
JSON_BODY = '{"ref":"refs/heads/main","who":"caf\u00e9 \u2603"}'
BINARY = bytes([0xFF, 0xFE, 0x00, 0x80, 0xC3, 0x28, 0x41, 0xED, 0xA0, 0x80])

PAGE = """<!doctype html><meta charset="utf-8"><title>t</title><script>
(async () => {
  await new Promise((done) => {
    const ws = new WebSocket(`ws://${location.host}/socket`);
    ws.onopen = () => ws.send("hi");
    ws.onmessage = () => { ws.close(); done(); };
    ws.onerror = done;
    setTimeout(done, 5000);
  });
  const blob = URL.createObjectURL(new Blob(['{"a":1}'], {type: "application/json"}));
  await (await fetch(blob)).text();
  const stop = new AbortController();
  const slow = fetch("/slow", {method: "POST", body: "{}", signal: stop.signal}).catch(() => 0);
  setTimeout(() => stop.abort(), 300);
  await slow;
  await (await fetch("/github/push?a=1", {method: "POST", body: JSON_BODY,
    headers: {"Content-Type": "application/json", "X-GitHub-Event": "push"}})).text();
  await (await fetch("/binary", {method: "POST", body: new Uint8Array(BINARY_BYTES),
    headers: {"Content-Type": "application/octet-stream"}})).text();
  document.title = "done";
})().catch((e) => { document.title = "error " + e; });
</script>""".replace("JSON_BODY", json.dumps(JSON_BODY)).replace("BINARY_BYTES",
                                                                json.dumps(list(BINARY)))


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI run without a browser: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """A page, its POST endpoints and a WebSocket echo on 127.0.0.1 (Tornado, in a thread):
    its URL and what it received, ``(method, target, body)`` each."""
    from tornado import web, websocket

    received: list[tuple[str, str, bytes]] = []

    class Page(web.RequestHandler):
        def get(self) -> None:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(PAGE)

    class Hook(web.RequestHandler):
        async def post(self) -> None:
            received.append(("POST", self.request.uri or "", self.request.body))
            if self.request.path == "/slow":  # (aborted by the page before this ends)
                await asyncio.sleep(3)
            self.finish({"ok": True})

    class Echo(websocket.WebSocketHandler):
        def on_message(self, message: str | bytes) -> None:
            self.write_message(message)

    started, box = threading.Event(), {}

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application([(r"/", Page), (r"/socket", Echo), (r"/.+", Hook)])
        server = app.listen(0, "127.0.0.1")
        box.update(loop=loop, server=server,
                   port=next(iter(server._sockets.values())).getsockname()[1])
        started.set()
        loop.run_forever()
        server.stop()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield f"http://127.0.0.1:{box['port']}", received
    finally:
        box["loop"].call_soon_threadsafe(box["loop"].stop)
        thread.join(10)


def record(site_url: str, har: Path, content: str) -> None:
    """One page visit recorded by Chromium into ``har`` (Playwright writes it on close)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("needs playwright: pip install playwright (no browser download)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(record_har_path=str(har), record_har_content=content)
            page = context.new_page()
            page.goto(site_url + "/")
            page.wait_for_function("document.title !== 't'", timeout=30_000)
            assert page.title() == "done"
            context.close()
        finally:
            browser.close()


def _har_of(path: Path) -> dict[str, Any]:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            return json.loads(z.read("har.har"))
    return json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize("content,name", [("embed", "embed.har"), ("attach", "attach.har"),
                                          ("attach", "attach.zip")])
def test_a_real_chromium_har_imports(site: Any, tmp_path: Path, content: str, name: str) -> None:
    if not CHROMIUM.exists():
        _missing(f"needs Debian's Chromium at {CHROMIUM}: apt-get install chromium")
    url, received = site
    received.clear()
    path = tmp_path / name
    record(url, path, content)
    entries = _har_of(path)["log"]["entries"]
    schemes = sorted(e["request"]["url"].split(":", 1)[0] for e in entries)
    assert {"blob", "ws"} <= set(schemes)  # (what the page made Chromium log)
    assert any(e["response"]["status"] == -1 for e in entries)  # (the aborted POST)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lab = hooklab.load_har(path)
    try:
        told = [str(w.message) for w in caught if str(w.message).startswith("hooklab:")]
        posts = [c for c in lab.captures if c.method == "POST"]
        got = [(c.method, c.path, c.query, c.body, c.status) for c in posts]
        by_path = {c.path: c for c in posts}
        har_headers = {e["request"]["url"].split("?")[0].rsplit("/", 1)[1]:
                       [(h["name"], h["value"]) for h in e["request"]["headers"]]
                       for e in entries if e["request"]["method"] == "POST"}
        assert [c.path for c in lab.captures if c.method == "GET"][:1] == ["/"]
    finally:
        lab.stop()

    binary = BINARY if content == "attach" else b""  # ("embed" writes a binary body as "")
    assert got == [("POST", "/slow", {}, b"{}", 0),
                   ("POST", "/github/push", {"a": ["1"]}, JSON_BODY.encode(), 200),
                   ("POST", "/binary", {}, binary, 200)]
    # the bodies the server received, and the headers as Chromium logged them
    assert [r for r in received if r[1] != "/slow"] == [
        ("POST", "/github/push?a=1", JSON_BODY.encode()), ("POST", "/binary", BINARY)]
    for short, c in (("slow", by_path["/slow"]), ("push", by_path["/github/push"]),
                     ("binary", by_path["/binary"])):
        assert c.headers == har_headers[short]
    assert by_path["/github/push"].header("content-type") == "application/json"
    assert by_path["/github/push"].header("x-github-event") == "push"
    assert by_path["/binary"].header("content-length") == "10"

    skipped = (rf"skipped 2 of {len(entries)} entries that are no HTTP\(S\) requests "
               r"\(blob: 1, ws: 1\)")
    if content == "attach":
        assert told == [f"hooklab: {str(path)!r}: " + skipped.replace("\\", "")]
        assert by_path["/binary"].verify_reason is None
    else:
        n = next(i for i, e in enumerate(entries) if e["request"]["url"].endswith("/binary"))
        assert len(told) == 1 and re.fullmatch(
            rf"hooklab: {re.escape(repr(str(path)))}: {skipped}; 1 request body is not in the "
            rf"file \(entry {n}\): imported empty, headers as recorded; the captures say so in "
            r"verify_reason", told[0]), told
        assert by_path["/binary"].verify_reason == (
            "not checked: the request body is not in the HAR file (Content-Length 10, "
            "bodySize 10); imported empty")
