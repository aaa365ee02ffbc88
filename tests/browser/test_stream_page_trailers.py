"""The stream page (/_hooklab/) in headless Chromium shows a capture's trailer fields (sent
after a chunked body) apart from its header section: the headers cell holds the header section,
then the trailer fields in a ``span.trailers`` of their own after `` ‖ trailers (M): ``; as
text (HTML stays text), a credential's value hidden by the headers' rule until "show
credentials" is ticked. A capture without trailers looks as it did.

A real lab on 127.0.0.1 receives raw chunked requests over a socket; Debian's Chromium through
Playwright (tests/browser/conftest.py), nothing downloaded."""

from __future__ import annotations

from typing import Any

from _chunked import SHOWN, Fields, chunked_post, hidden
from _http import raw_request
from _stream_page import live_page, rows

from hooklab import HookLab

FIRST: Fields = [("Host", "x"), ("Transfer-Encoding", "chunked"), ("Connection", "close"),
                 ("Content-Type", "application/json")]
MARK = " \u2016 trailers "


#: name -> (header section after FIRST, trailer fields, the trailers shown while credentials
#: are hidden; None: as sent)
CASES: dict[str, tuple[Fields, Fields, Fields | None]] = {
    **SHOWN,
    # (a header that reads like the mark is no trailer: the span says which fields are)
    "a header written like the mark": ([("X-Id", "5"), ("X-Note", "\u2016 trailers (9): no")], [],
                                       None),
}


def chunked(path: str, head: Fields, trailers: Fields, body: bytes = b'{"a": 1}') -> bytes:
    return chunked_post(path, head, trailers, body, first=FIRST)


def joined(fields: Fields) -> str:
    return " | ".join(f"{k}: {v}" for k, v in fields)


def test_stream_page_shows_trailer_fields_apart(browser: Any, lab: HookLab) -> None:
    with live_page(browser, lab.page_url) as (page, errors):
        port = lab.bound_port
        assert port is not None
        ids: dict[str, int] = {}
        for n, (name, (head, trailers, _)) in enumerate(CASES.items()):
            assert raw_request(port, chunked(f"/t/{n}", head, trailers)).startswith(
                b"HTTP/1.1 200"), name
            ids[name] = lab.wait(n + 1, timeout=10)[-1].id
        rows(page, len(CASES))
        page.wait_for_timeout(300)  # (time for an injected handler to fire)

        def shown(name: str) -> tuple[str, str | None, list[str]]:
            """The headers cell of a case's row: its text, its tooltip, its trailers spans."""
            td = page.locator(f'#rows tr[data-id="{ids[name]}"] td.headers')
            return (td.text_content() or "", td.get_attribute("title"),
                    td.locator("span.trailers").all_text_contents())

        def check(reveal: bool) -> None:
            for name, (head, trailers, masked) in CASES.items():
                section = [(k, v if reveal or k != "Authorization" else hidden(v))
                           for k, v in FIRST + head]
                text, title, spans = shown(name)
                if not trailers:
                    assert (text, spans) == (joined(section), []), name
                else:
                    listed = trailers if reveal or masked is None else masked
                    part = f"{MARK}({len(trailers)}): {joined(listed)}"
                    assert spans == [part], (name, spans[:1])
                    assert text == joined(section) + part, name
                assert title == text[:2000], name

        check(reveal=False)
        everything = " ".join(page.locator("#rows").all_text_contents())
        assert "TRAILsecret" not in everything and "HEADsecret" not in everything
        page.check("#reveal")
        check(reveal=True)
        page.uncheck("#reveal")
        check(reveal=False)
        assert page.evaluate("window.__xss") is None
        assert page.locator("#rows img, #rows script").count() == 0
        assert errors == []
