"""Every payload of the XSS corpus, rendered by the live view (real JupyterLab) and the stream page.

Each payload of ``tests/reliability/xss_corpus.py`` travels in a request path (percent-encoded,
and raw where the request line allows it), as the bin, in a header, a query key and value, and
in JSON, text/html and form bodies; a few requests carry *all* payloads at once (51 headers,
51 query arguments, the whole corpus as body) and a GitHub-shaped one puts them into the
provider's event type and delivery id. The browser then clicks through every row of the live
view (detail pane, raw body and curl tabs), filters by a hostile bin and search text, opens the
Tree tab of every JSON capture and clicks the payload-named field (its path, column name and
schema row), opens the Diff tab on two deliveries whose fields and values are all payloads, and
loads the stream page (also with a hostile ``?bin=``). Nothing may run:

* ``window.__hooklab_xss`` / ``window.__xss`` are setter traps installed before any page script
  (``add_init_script``, every frame); a hit is reported to Python through ``expose_function``;
* no ``dialog`` (alert / confirm / prompt), no console message naming the marker, no
  ``javascript:`` / ``about:srcdoc`` frame, no request for ``src=x``;
* inside the widget / the stream table: no element outside a small allow-list of tags, no
  ``on*`` / URL-bearing attributes; the payloads are present as *text*, byte for byte.
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from _jupyter import run_cell

from hooklab import HookLab
from hooklab.widget._render import visible


def _load_corpus() -> Any:
    path = Path(__file__).resolve().parents[1] / "reliability" / "xss_corpus.py"
    spec = importlib.util.spec_from_file_location("_hooklab_xss_corpus", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_corpus = _load_corpus()
MARKER: str = _corpus.MARKER
PAYLOADS: list[str] = _corpus.PAYLOADS
HEADER_SAFE: set[str] = set(_corpus.header_safe())
PATH_SAFE: list[str] = _corpus.path_safe()

# payloads that can be sent unencoded in a request target (printable ASCII, no space, ? or #)
RAW_SAFE = [p for p in PAYLOADS if all(0x21 <= ord(c) < 0x7F for c in p) and not set(p) & set("?#")]

_TRAPS = """(() => {
  const report = (what) => {
    const msg = what + " @ " + location.href;
    try { window.__xssReport && window.__xssReport(msg); } catch (e) {}
    try { console.error("XSS-HIT " + msg); } catch (e) {}
  };
  for (const name of [__MARKER__, "__xss"]) {
    try {
      Object.defineProperty(window, name, {
        configurable: false,
        get() { return undefined; },
        set(v) { report(name + "=" + String(v)); },
      });
    } catch (e) { report("trap install failed: " + e); }
  }
  document.addEventListener("securitypolicyviolation", (e) => {
    report("CSP " + e.violatedDirective + " blocked " + e.blockedURI + " " + (e.sample || ""));
  }, true);
})();""".replace("__MARKER__", json.dumps(MARKER))

# what request data may turn into inside an ipywidgets HTML value (our own markup only)
_LIVE_TAGS = {"style", "div", "span", "b", "table", "tbody", "tr", "th", "td", "h4", "pre"}
_FORBIDDEN = ("script, img, iframe, frame, svg, math, object, embed, video, audio, source, a, "
              "form, meta, link, base, body, details, marquee, template, noscript, image")
_URL_ATTRS = ["href", "src", "srcdoc", "xlink:href", "action", "formaction", "data", "poster",
              "background", "srcset"]

_DOM_CHECK = """([root, allowed, forbidden, urlAttrs]) => {
  const out = {tags: {}, bad: [], forbidden: []};
  const roots = document.querySelectorAll(root);
  for (const r of roots) {
    for (const el of r.querySelectorAll(forbidden)) out.forbidden.push(el.outerHTML.slice(0, 200));
  }
  for (const r of document.querySelectorAll(allowed[0])) {
    for (const el of r.querySelectorAll("*")) {
      const t = el.tagName.toLowerCase();
      out.tags[t] = (out.tags[t] || 0) + 1;
      if (!allowed[1].includes(t)) out.bad.push("tag " + el.outerHTML.slice(0, 200));
    }
  }
  for (const r of roots) {
    for (const el of [r, ...r.querySelectorAll("*")]) {
      for (const a of el.attributes) {
        const n = a.name.toLowerCase();
        if (n.startsWith("on") || urlAttrs.includes(n)) {
          out.bad.push("attr " + n + "=" + a.value.slice(0, 100) + " on <" + el.tagName + ">");
        }
      }
    }
  }
  return out;
}"""


@dataclass
class Req:
    """One hostile request and what a viewer must show of it, as text."""

    target: str
    headers: list[tuple[str, str]]
    body: bytes
    texts: list[str] = field(default_factory=list)  # each must appear verbatim in the detail pane
    markers: int = 1  # the marker name appears at least this often in the detail pane

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


def _requests() -> list[Req]:
    """The corpus as requests, in sending order (capture ids are 1..n in this order)."""
    reqs: list[Req] = []
    for i, (p, enc) in enumerate(zip(PAYLOADS, PATH_SAFE, strict=True)):
        hdr = [("X-Evil", p)] if p in HEADER_SAFE else []
        # A: JSON body; payload in path, query value, header, JSON value and key
        body = json.dumps({"p": p, p: [p]}, ensure_ascii=False)
        reqs.append(Req(f"/xj{i:02d}/{enc}?q={enc}", [("Content-Type", "application/json"), *hdr],
                        body.encode(), texts=[json.dumps(p, ensure_ascii=False)], markers=5))
        # B: text/html body; the payload is the bin, a query key and value, header and body
        reqs.append(Req(f"/{enc}/xh{i:02d}?{enc}={enc}", [("Content-Type", "text/html"), *hdr],
                        p.encode(), texts=[visible(p, multiline=True)], markers=5))
    for i, p in enumerate(RAW_SAFE):
        # C: the payload unencoded in the request target, text/plain body
        reqs.append(Req(f"/xr{i:02d}/{p}", [("Content-Type", "text/plain"), ("X-Evil", p)],
                        p.encode(), texts=[visible(p, multiline=True)], markers=3))
    all_headers = [(f"X-Xss-{i:02d}", p) for i, p in enumerate(PAYLOADS) if p in HEADER_SAFE]
    query = "&".join(f"q{i:02d}={enc}" for i, enc in enumerate(PATH_SAFE))
    everything = {"payloads": PAYLOADS, **{p: {"nested": [p]} for p in PAYLOADS}}
    reqs.append(Req(
        "/xss-all-json/" + "/".join(PATH_SAFE) + "?" + query,
        [("Content-Type", "application/json"), *all_headers],
        json.dumps(everything, ensure_ascii=False).encode(),
        texts=[visible(v.strip(" \t")) for _, v in all_headers], markers=4 * len(PAYLOADS),
    ))
    reqs.append(Req(
        "/xss-all-html/" + "/".join(RAW_SAFE),
        [("Content-Type", f"text/html; charset=utf-8; x={PAYLOADS[5]}"), *all_headers],
        "\n".join(PAYLOADS).encode(),
        texts=[visible("\n".join(PAYLOADS), multiline=True)], markers=2 * len(PAYLOADS),
    ))
    form = urlencode({f"p{i:02d}": p for i, p in enumerate(PAYLOADS)})
    reqs.append(Req("/xss-form/fields", [("Content-Type", "application/x-www-form-urlencoded")],
                    form.encode(), texts=[visible(p) for p in PAYLOADS], markers=len(PAYLOADS)))
    reqs.append(Req(
        "/github/xss-gh",
        [("Content-Type", "application/json"), ("X-GitHub-Event", PAYLOADS[5]),
         ("X-GitHub-Delivery", PAYLOADS[0])],
        json.dumps({"action": PAYLOADS[7], "repository": {"full_name": PAYLOADS[22]}}).encode(),
        texts=[f"{PAYLOADS[5]}.{PAYLOADS[7]}", PAYLOADS[0]], markers=4,
    ))
    # two deliveries to one path, for the Diff tab: every field and every new value a payload
    for body in ({p: i for i, p in enumerate(PAYLOADS)},
                 {p: PAYLOADS[(i + 1) % len(PAYLOADS)] for i, p in enumerate(PAYLOADS)}):
        reqs.append(Req("/xss-diff/same", [("Content-Type", "application/json")],
                        json.dumps(body, ensure_ascii=False).encode(), markers=len(set(PAYLOADS))))
    return reqs


def _send(port: int, req: Req) -> None:
    """POST ``req`` with the request target and header values sent byte for byte."""
    head = f"POST {req.target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in req.headers)
    head += f"Content-Length: {len(req.body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode("latin-1") + req.body)
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200"), (req.target[:80], answer[:200])


class Watch:
    """Everything a page could do if a payload ran: trap hits, dialogs, navigations, requests."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.hits: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.frames: list[str] = []
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.expose_function("__xssReport", lambda msg: self.hits.append(msg))
        page.add_init_script(_TRAPS)
        page.on("dialog", self._dialog)
        page.on("console", lambda m: self.console.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("framenavigated", lambda f: self.frames.append(f.url))
        page.on("frameattached", lambda f: self.frames.append(f.url or "(attached)"))
        page.on("request", lambda r: self.requests.append(r.url))

    def page_loaded(self) -> None:
        """Nothing may have been reported while the page loaded (not even CSP noise)."""
        assert self.hits == [], self.hits

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def assert_clean(self) -> None:
        kinds = self.page.evaluate(f"[typeof window.{MARKER}, typeof window.__xss]")
        assert kinds == ["undefined", "undefined"], kinds
        assert self.hits == [], self.hits
        assert self.dialogs == [], self.dialogs
        noisy = [m for m in self.console if MARKER in m or "XSS-HIT" in m]
        assert noisy == [], noisy
        errs = [e for e in self.errors if MARKER in e]
        assert errs == [], errs
        odd_frames = [u for u in self.frames
                      if u.lower().startswith(("javascript:", "data:", "about:srcdoc"))]
        assert odd_frames == [], odd_frames
        fetched = [u for u in self.requests
                   if urlsplit(u).path.endswith("/x") or u.lower().startswith(("javascript:", "data:"))]
        assert fetched == [], fetched  # <img src=x>, <script src=data:...>


def _dom_check(page: Any, root: str, allowed_root: str, allowed: set[str]) -> dict[str, Any]:
    """No forbidden element / ``on*`` or URL attribute under ``root``; only ``allowed`` tags
    under ``allowed_root``. Returns the tag counts seen under ``allowed_root``."""
    res = page.evaluate(_DOM_CHECK, [root, [allowed_root, sorted(allowed)], _FORBIDDEN, _URL_ATTRS])
    assert res["forbidden"] == [], res["forbidden"]
    assert res["bad"] == [], res["bad"]
    return res["tags"]


# -- (a) the live view in JupyterLab --------------------------------------------------------------
SETUP = """import hooklab
lab = hooklab.start(port=0, db=":memory:")
open("url.txt", "w").write(lab.url)
lab.live()"""

_PANES = """() => {
  const live = document.querySelector(".hooklab-live");
  const html = [...live.querySelectorAll(".widget-html-content")].map(e => e.textContent);
  const title = live.querySelector(".hl-detail .hl-title");
  return {
    title: title ? title.textContent : "",
    detail: (live.querySelector(".hl-detail") || {}).textContent || "",
    raw: html.filter(t => t.startsWith("Raw body")).join("\\n"),
    curl: (live.querySelector("textarea") || {}).value || "",
  };
}"""


def _sweep(page: Any, target: Any, steps: int = 6) -> None:
    """Move the mouse over a grid of points covering ``target`` (fires any mouseover)."""
    box = target.bounding_box()
    if not box:
        return
    for i in range(steps):
        for j in range(steps):
            page.mouse.move(box["x"] + box["width"] * (i + 0.5) / steps,
                            box["y"] + min(box["height"], 1200) * (j + 0.5) / steps)


def _wait_panes(page: Any, cap_id: int, req: Req, timeout: float = 5.0) -> dict[str, str]:
    """The panes' text once detail, raw and curl panes all show capture ``cap_id`` (they
    arrive as separate widget messages) and show it correctly (see :func:`_check_panes`)."""
    deadline = time.monotonic() + timeout
    while True:
        panes = page.evaluate(_PANES)
        try:
            _check_panes(panes, cap_id, req)
            return panes
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def _check_panes(panes: dict[str, str], cap_id: int, req: Req) -> None:
    assert panes["title"] == visible(f"#{cap_id} POST {req.path}")
    for t in req.texts:
        assert t in panes["detail"], (cap_id, t)
    assert panes["detail"].count(MARKER) >= req.markers, (cap_id, panes["detail"][:500])
    if not req.headers[0][1].startswith("application/"):  # text bodies: raw tab shows them as is
        assert req.body.decode() in panes["raw"], cap_id
    assert panes["curl"].startswith("curl --globoff -X POST") and MARKER in panes["curl"], cap_id


def test_xss_corpus_in_live_view(jupyter_lab: Any, page: Any, artifacts: Path) -> None:
    watch = Watch(page)
    try:
        _live_scenario(jupyter_lab, page, watch, artifacts)
    except BaseException:
        page.screenshot(path=str(artifacts / "xss-live-failure.png"))
        raise
    watch.assert_clean()


def _live_scenario(jupyter_lab: Any, page: Any, watch: Watch, artifacts: Path) -> None:
    jupyter_lab.write_notebook("xss.ipynb", [SETUP])
    url_file = jupyter_lab.root / "url.txt"
    page.goto(jupyter_lab.url_for("lab/tree/xss.ipynb"))
    page.locator(".jp-Notebook .jp-CodeCell .cm-content").first.wait_for(timeout=30_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=30_000)
    run_cell(page, 0)
    live = page.locator(".hooklab-live")
    live.wait_for(timeout=30_000)
    deadline = time.monotonic() + 10
    while not url_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    port = urlsplit(url_file.read_text().strip()).port
    assert port
    inputs_before = page.evaluate("document.querySelectorAll('.hooklab-live input').length")

    reqs = _requests()
    for r in reqs:
        _send(port, r)
    n = len(reqs)
    # the table a person sees: while the view swaps tables, the old one may still carry the
    # hl-table class for a moment, hidden (its options counted too: 154 of 126 captures)
    table = live.locator(".hl-table select:visible")
    deadline = time.monotonic() + 10
    while table.locator("option").count() < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert table.locator("option").count() == n
    live.locator(".hl-counter", has_text=f"{n} captures").wait_for(timeout=5000)

    # click every row, newest first (row k shows capture id n - k)
    started = time.monotonic()
    for k in range(n):
        cap_id = n - k
        table.locator("option").nth(k).click()
        _wait_panes(page, cap_id, reqs[cap_id - 1])
        if k % 16 == 0:
            _sweep(page, live)  # onmouseover payloads, had they become elements
    rows_seconds = time.monotonic() - started
    tags = _dom_check(page, ".hooklab-live", ".hooklab-live .widget-html-content", _LIVE_TAGS)
    assert tags.get("style") == 1  # the view's own stylesheet, nothing from a payload

    # the all-in-one rows, through each tab, as a person would
    tabs = live.locator(".lm-TabBar-tab")
    for label in ("xss-all-json", "xss-form", "github/xss-gh", "xss-all-html"):
        row = table.locator("option", has_text=label).first
        row.click()
        cap_id = next(i for i, r in enumerate(reqs, 1) if label in r.path)
        _wait_panes(page, cap_id, reqs[cap_id - 1])
        for tab in ("Raw body", "Copy as curl", "Details"):
            tabs.filter(has_text=tab).click()
            _sweep(page, live)
    page.wait_for_timeout(200)  # let anything injected fire (onerror, onload, ontoggle...)
    watch.assert_clean()
    live.scroll_into_view_if_needed()
    live.screenshot(path=str(artifacts / "xss-live.png"))

    # a hostile search text, then a hostile bin picked in the bin dropdown (the search also
    # makes the view re-read its bin options: they lag behind a burst, see _refresh_options)
    search = live.locator("input[type=text]").first
    search.fill(PAYLOADS[0])
    deadline = time.monotonic() + 5
    while not 0 < table.locator("option").count() < n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert 0 < table.locator("option").count() < n
    search.fill("")
    bins = live.locator(".widget-dropdown select").first
    bins.locator("option", has_text=PAYLOADS[5]).first.wait_for(state="attached", timeout=5000)
    bins.select_option(label=PAYLOADS[5])
    deadline = time.monotonic() + 5
    while table.locator("option").count() != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert table.locator("option").count() == 1  # the B request of PAYLOADS[5]
    bins.select_option(label="all bins")
    # every row back before the Tree walk clicks them (under make test's load the refill can lag
    # the pick, and a click on the one-row table that is about to be swapped out is lost)
    deadline = time.monotonic() + 10
    while table.locator("option").count() != n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert table.locator("option").count() == n
    page.wait_for_timeout(200)
    tags = _dom_check(page, ".hooklab-live", ".hooklab-live .widget-html-content", _LIVE_TAGS)
    assert tags.get("style") == 1
    inputs_after = page.evaluate("document.querySelectorAll('.hooklab-live input').length")
    assert inputs_after == inputs_before  # no <input autofocus onfocus=...> slipped in
    assert rows_seconds < 40, f"clicking {n} rows took {rows_seconds:.1f} s"
    _tree_and_diff(page, live, table, reqs, watch, artifacts)


_FIELD = """() => {
  const f = document.querySelector(".hooklab-live .hl-field");
  return f ? f.textContent : "";
}"""


def _wait_text(page: Any, script: str, want: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = page.evaluate(script)
        if want in text:
            return text
        assert time.monotonic() < deadline, (want[:80], text[:300])
        time.sleep(0.02)


def _tree_and_diff(page: Any, live: Any, table: Any, reqs: list[Req], watch: Watch,
                   artifacts: Path) -> None:
    """The Tree tab of every JSON capture, a click on the payload-named field, the Diff tab."""
    n = len(reqs)
    tabs = live.locator(".lm-TabBar-tab")
    tabs.filter(has_text="Tree").click()
    tree = live.locator(".hl-tree select")
    column = live.locator(".hl-column input")
    for i, p in enumerate(PAYLOADS):
        cap_id = 2 * i + 1  # the A request of payload i: {"p": p, p: [p]}
        table.locator("option").nth(n - cap_id).click()
        title = visible(p)
        title = title if len(title) <= 80 else title[:79] + "…"
        node = tree.locator("option", has_text=f"{title}  [1 item]")
        node.first.wait_for(state="attached", timeout=10_000)
        leaf = tree.locator("option", has_text="p: " + visible(json.dumps(p, ensure_ascii=False))[:60])
        # wait for it: the node's text can also match the previous payload's tree (has_text folds
        # case and spaces, and neighbouring payloads differ only so), which may still be shown
        leaf.first.wait_for(state="attached", timeout=10_000)
        assert leaf.count() >= 1, i  # the value, as text
        node.first.click()
        _wait_text(page, _FIELD, f"schema field{visible(p)}")
        assert column.input_value() == "payload." + p, i
        if i % 16 == 0:
            _sweep(page, live)
    tags = _dom_check(page, ".hooklab-live", ".hooklab-live .widget-html-content",
                      _LIVE_TAGS | {"h4"})
    assert tags.get("style") == 1
    watch.assert_clean()

    tabs.filter(has_text="Diff with previous").click()
    second = n  # the newest capture: the second delivery to /xss-diff/same
    table.locator("option").nth(n - second).click()
    pane = """() => (document.querySelector(".hooklab-live .hl-diffpane") || {}).textContent || ""
    """
    text = _wait_text(page, pane, f"against the previous capture to /xss-diff/same: #{second - 1}")
    for p in set(PAYLOADS):
        assert visible(p) in text, p  # every field name, as text
    live.scroll_into_view_if_needed()
    live.screenshot(path=str(artifacts / "xss-tree-diff.png"))
    _sweep(page, live)
    page.wait_for_timeout(200)
    tags = _dom_check(page, ".hooklab-live", ".hooklab-live .widget-html-content", _LIVE_TAGS)
    assert tags.get("style") == 1
    watch.assert_clean()


# -- (b) the stream page --------------------------------------------------------------------------
def _wait_rows(page: Any, n: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while page.evaluate("document.querySelectorAll('#rows tr').length") != n:
        if time.monotonic() > deadline:
            got = page.evaluate("document.querySelectorAll('#rows tr').length")
            raise AssertionError(f"stream page shows {got} rows, expected {n}")
        time.sleep(0.05)


_STREAM_ROWS = """() => [...document.querySelectorAll('#rows tr')].map(tr => ({
  id: Number(tr.dataset.id),
  cells: [...tr.children].map(td => td.textContent),
  titles: [...tr.children].map(td => td.title),
  attrs: [...tr.querySelectorAll('*')].flatMap(e => [...e.attributes].map(a => a.name)),
}))"""


@pytest.mark.parametrize("csp", ["csp", "no-csp"])
def test_xss_corpus_on_stream_page(browser: Any, lab: HookLab, artifacts: Path, csp: str) -> None:
    """With the page's CSP (a blocked injection would still show as a violation) and without it
    (``bypass_csp``: escaping alone must hold)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=csp == "no-csp")
    page = ctx.new_page()
    watch = Watch(page)
    try:
        page.goto(lab.page_url)  # carries the read token
        deadline = time.monotonic() + 10
        while page.evaluate("document.getElementById('status').textContent") != "live":
            assert time.monotonic() < deadline, "stream page never went live"
            time.sleep(0.05)
        watch.page_loaded()
        port = lab.bound_port
        assert port is not None
        reqs = _requests()
        for r in reqs:
            _send(port, r)
        _wait_rows(page, len(reqs))
        for tr in page.locator("#rows tr").all()[:: max(1, len(reqs) // 12)]:
            tr.hover()  # onmouseover payloads, had they become elements
        page.wait_for_timeout(200)
        rows = page.evaluate(_STREAM_ROWS)
        _dom_check(page, "#rows", "#rows", {"tr", "td"})
        assert {a for r in rows for a in r["attrs"]} <= {"class", "title"}
        for row in rows:
            req = reqs[row["id"] - 1]
            cells = row["cells"]
            assert cells[4] == req.path  # path column, verbatim
            headers = cells[8]
            for k, v in req.headers:
                assert f"{k}: {v.strip(' ' + chr(9))}" in headers, (row["id"], k)
            assert cells[9] == req.body.decode()[:500]
            assert row["titles"][9] == cells[9]
        if csp == "no-csp":
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(artifacts / "xss-stream.png"), full_page=False)
        watch.assert_clean()

        # a hostile ?bin= in the page URL: used as a filter value, shown in the input, not run
        page.goto(lab.page_url + "&since=0&bin=" + PATH_SAFE[0] + "&provider=" + PATH_SAFE[6])
        page.wait_for_timeout(300)  # connected with a provider filter that matches nothing
        assert page.evaluate("document.querySelectorAll('#rows tr').length") == 0
        watch.page_loaded()
        page.fill("#provider", "")
        page.click("#apply")
        same = PAYLOADS.count(PAYLOADS[0])  # "\u003cscript\u003e..." is the same string
        _wait_rows(page, same)
        assert page.input_value("#bin") == PAYLOADS[0]
        for row in page.evaluate(_STREAM_ROWS):
            assert row["cells"][9] == PAYLOADS[0] and re.match(r"^/\S+/xh\d\d$", row["cells"][4])
        page.wait_for_timeout(200)
        watch.assert_clean()
    finally:
        ctx.close()
