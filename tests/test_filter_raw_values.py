"""The ``/_hooklab/api/captures`` API and the ``/_hooklab/ws`` stream read each filter value
exactly as sent: Tornado's ``get_query_argument`` strips the spaces around a value and turns
control characters into spaces, so ``bin="a "`` (a real bin, ``/a%20/x``) answered bin ``a``'s
capture and ``bin="\\x00"``, ``bin=" "``, ``method="\\x00"``, ``search="\\x01"`` answered every
capture where ``lab.query`` answers none (an outside tester). One filter vocabulary: the API
and the stream must answer what ``lab.query(**filters)`` answers for the same values.

The captures are sent over a real socket to a lab on 127.0.0.1 with a SQLite file; the expected
ids are worked out by hand from what was sent, and checked against ``lab.query`` as well. Also:
error words of the API that said the wrong thing (``limit=`` of 20 digits "must be an
integer"; a parameter named ``%FF`` answered ``400 Unknown``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from tornado import websocket

import hooklab

pytestmark = pytest.mark.timeout(120)

#: (method, target, body): ids 1..5 in this order
SENT = [
    ("POST", "/a/x", b"hello"),              # 1: bin "a"
    ("POST", "/a%20/x", b"hello"),           # 2: bin "a " (a space at its end)
    ("POST", "/b/x", b"hello"),              # 3: bin "b"
    ("POST", "/c", b"x\ty z\x01"),           # 4: a tab, a space and a control byte in its body
    ("PUT", "/%20a/x", b"hello"),            # 5: bin " a" (a space at its start)
]

#: (filters, the ids they mean, worked out from SENT by hand)
MATCHED: list[tuple[dict[str, Any], list[int]]] = [
    ({"bin": "\x00"}, []),
    ({"bin": " "}, []),
    ({"bin": "a "}, [2]),
    ({"bin": " a"}, [5]),
    ({"bin": "a"}, [1]),
    ({"bin": ["a ", "b"]}, [2, 3]),
    ({"bin": "\x01a"}, []),
    ({"method": "\x00"}, []),
    ({"method": " put"}, []),
    ({"method": "put"}, [5]),
    ({"search": "\x01"}, [4]),               # no letters or digits: a plain substring
    ({"search": "y\tz"}, [4]),
    ({"search": "\x00"}, []),
    ({"event_type": " "}, []),
    ({"path": "/c "}, []),
    ({"path": "/c"}, [4]),
    ({"path": "/a%20/x"}, [2]),
]

#: filters lab.query refuses (a kind with a space, a bound with one, a provider no capture
#: has): refused here too (they were read stripped, and answered every capture)
REFUSED: list[dict[str, Any]] = [
    {"provider": "\x00"},  # (no provider id, none a capture has: refused, as kind= is)
    {"kind": " http"},
    {"kind": "http\x00"},
    {"until": " 2"},
    {"since": "1 "},
]


def _send(port: int, method: str, target: str, body: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}"
                  "\r\nConnection: close\r\n\r\n".encode() + body)
        while s.recv(65536):
            pass


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=str(tmp_path_factory.mktemp("raw") / "c.sqlite3")).start()
    try:
        for method, target, body in SENT:
            _send(urllib.parse.urlsplit(lab.url).port or 80, method, target, body)
        lab.wait(len(SENT), timeout=20)
        yield lab
    finally:
        lab.stop()


def _api(lab: hooklab.HookLab, query: str) -> tuple[int, str, Any]:
    """(status, the status line's reason, the JSON answer) of the captures API."""
    req = urllib.request.Request(f"{lab.url}/_hooklab/api/captures?{query}",
                                 headers={"Authorization": f"token {lab.api_token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.reason, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.reason, json.loads(e.read())


def _query(filters: dict[str, Any]) -> str:
    return urllib.parse.urlencode(filters, doseq=True)


async def _stream(url: str) -> tuple[list[int], int | None, str | None]:
    """The ids the stream sends (until it is quiet), and its close code and reason."""
    conn = await websocket.websocket_connect(url)
    ids: list[int] = []
    try:
        while True:
            msg = await asyncio.wait_for(conn.read_message(), 1.5)
            if msg is None:
                return ids, conn.close_code, conn.close_reason
            ids.extend([json.loads(msg)["id"]] if '"id"' in str(msg) else [])
    except asyncio.TimeoutError:
        return ids, None, None
    finally:
        conn.close()


def _streams(urls: list[str]) -> list[tuple[list[int], int | None, str | None]]:
    async def every() -> list[tuple[list[int], int | None, str | None]]:
        return list(await asyncio.gather(*(_stream(u) for u in urls)))
    return asyncio.run(every())


def test_the_api_and_the_stream_answer_what_lab_query_answers(lab: hooklab.HookLab) -> None:
    assert [c.bin for c in lab.query()] == ["a", "a ", "b", "c", " a"]  # (the table's premise)
    streamed = _streams([lab.stream_url(0, **f) for f, _ in MATCHED])
    for (filters, want), (ids, code, reason) in zip(MATCHED, streamed, strict=True):
        assert [c.id for c in lab.query(**filters)] == want, filters
        status, _, page = _api(lab, _query(filters))
        assert (status, [c["id"] for c in page["captures"]]) == (200, want), filters
        assert (ids, code) == (want, None), (filters, reason)
        url = urllib.parse.urlsplit(lab.stream_url(**filters)).query  # (sent as given)
        got = urllib.parse.parse_qs(url, keep_blank_values=True, strict_parsing=True)
        for key, value in filters.items():
            assert got[key] == (value if isinstance(value, list) else [value]), filters


def test_values_lab_query_refuses_are_refused_by_the_api_and_the_stream(lab: hooklab.HookLab) -> None:
    for filters in REFUSED:
        if "since" not in filters:  # (since is the API's and the stream's cursor)
            with pytest.raises((TypeError, ValueError)):
                lab.query(**filters)
    streamed = _streams([lab.stream_url(**f) for f in REFUSED])
    for filters, (ids, code, reason) in zip(REFUSED, streamed, strict=True):
        status, _, answer = _api(lab, _query(filters))
        assert status == 400 and answer["error"], (filters, answer)
        assert (ids, code) == ([], 1008), (filters, reason)


@pytest.mark.parametrize("query", ["bin=%FF", "search=a%C3", "method=%ED%A0%80", "body=%FE"])
def test_a_value_that_is_not_utf8_is_a_clear_400(lab: hooklab.HookLab, query: str) -> None:
    status, reason, answer = _api(lab, query)
    name = query.split("=")[0]
    assert (status, answer["error"]) == (400, f"query parameters must be UTF-8 text: {name}= is not")
    assert reason == answer["error"]
    [(ids, code, close)] = _streams([lab.stream_url() + "&" + query])
    assert (ids, code, close) == ([], 1008, "query parameters must be UTF-8 text")


#: (limit, status, what the answer says): a page holds at most 1000 captures, a larger limit
#: is cut to it (README), however many digits it has
LIMITS = [
    ("5000", 200, [1, 2, 3, 4, 5]),
    ("99999999999999999999", 200, [1, 2, 3, 4, 5]),
    ("1" + "0" * 5000, 200, [1, 2, 3, 4, 5]),   # (past int()'s 4300 digits)
    ("0001000", 200, [1, 2, 3, 4, 5]),
    ("2", 200, [1, 2]),
    ("0", 400, "limit must be an integer from 1 to 1000 (a larger one is cut to 1000)"),
    ("-1", 400, "limit must be an integer from 1 to 1000 (a larger one is cut to 1000)"),
    ("1.5", 400, "limit must be an integer from 1 to 1000 (a larger one is cut to 1000)"),
    ("\u0661", 400, "limit must be an integer from 1 to 1000 (a larger one is cut to 1000)"),
]


def test_limit_is_cut_to_a_page_or_refused_with_its_range(lab: hooklab.HookLab) -> None:
    for limit, status, said in LIMITS:
        got, reason, answer = _api(lab, _query({"limit": limit}))
        if status == 200:
            assert (got, [c["id"] for c in answer["captures"]]) == (200, said), limit
        else:
            assert (got, answer["error"], reason) == (400, said, said), limit


#: (parameter, the status line's reason, the JSON error's start): the reason in ASCII, the
#: answer's words as they are; a name that is not UTF-8 shown as its %XX as sent
NAMES = [
    ("%FF=1", "unknown parameter '%FF'; use token", "unknown parameter '%FF'; use token"),
    ("b%C3%AFn=x", "unknown parameter 'b\\xefn'; use token", "unknown parameter 'b\u00efn'; use"),
    ("a%FFb%C3%A9=1", "unknown parameter 'a%FFb\\xe9'", "unknown parameter 'a%FFb\u00e9'"),
    ("%E2%9C%93=1", "unknown parameter '\\u2713'", "unknown parameter '\u2713'"),
    ("kind=%3Cx%3E", "kind= is one of http, ws, not '\\x3cx>'", "kind= is one of http, ws, not '<x>'"),
]


@pytest.mark.parametrize("query, phrase, error", NAMES)
def test_the_status_line_and_the_answer_say_what_was_wrong(lab: hooklab.HookLab, query: str,
                                                           phrase: str, error: str) -> None:
    status, reason, answer = _api(lab, query)
    assert status == 400 and reason.isascii() and reason.startswith(phrase), reason
    assert answer["error"].startswith(error), answer
