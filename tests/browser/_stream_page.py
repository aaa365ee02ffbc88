"""The stream page (``lab.page_url``) opened live in headless Chromium, for the tests that send
a table of requests and read the cells it shows (tests/browser/test_stream_page_paths.py,
tests/browser/test_stream_page_events.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def live_page(browser: Any, url: str) -> Iterator[tuple[Any, list[str]]]:
    """The page at ``url`` in a context of its own, once it says it is live: yields the page
    and the list its script errors go to; closes the context.

    ``bypass_csp``: Playwright's ``wait_for_function`` needs eval; it also shows that the page
    escapes on its own (its CSP header is checked in tests/test_stream.py).

    >>> with live_page(browser, lab.page_url) as (page, errors):   # doctest: +SKIP
    ...     page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
    """
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url)
        page.wait_for_function("document.getElementById('status').textContent === 'live'",
                               timeout=10000)
        yield page, errors
    finally:
        ctx.close()


def rows(page: Any, n: int) -> None:
    """Waits (10 seconds at the most) until the page shows ``n`` rows."""
    page.wait_for_function(f"document.querySelectorAll('#rows tr').length === {n}",
                           timeout=10000)
