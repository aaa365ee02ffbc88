"""Every answer on a capture path says when it was sent, over real sockets.

The capture port's answers (the default 200, a ``lab.respond`` rule's, 400, 413, 431, 503)
carried no ``Date`` field; an origin server with a clock MUST send one in 2xx, 3xx and 4xx
answers and may in 5xx (RFC 9110 6.6.1), in IMF-fixdate (5.6.7: ``Sun, 06 Nov 1994 08:49:37
GMT``). Each answer here has exactly one, of the second it was sent in (checked against this
process's clock around the exchange), and a rule's own ``Date`` is sent instead of it.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from _http import recv_until_close

import hooklab

pytestmark = pytest.mark.timeout(120)

#: IMF-fixdate, spelt out (RFC 9110 5.6.7)
IMF_FIXDATE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{4}) (\d\d):(\d\d):(\d\d) GMT")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()


def _when(value: str) -> float:
    """The time an IMF-fixdate names (its weekday checked against its date)."""
    m = IMF_FIXDATE.fullmatch(value)
    assert m, value
    day, dd, mon, yyyy, hh, mm, ss = m.groups()
    t = datetime(int(yyyy), MONTHS.index(mon) + 1, int(dd), int(hh), int(mm), int(ss),
                 tzinfo=timezone.utc)
    assert DAYS[t.weekday()] == day, value
    return t.timestamp()


def _fields(head: bytes) -> list[tuple[str, str]]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    return [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines)]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hooklab.HookLab]:
    db = tmp_path_factory.mktemp("date") / "captures.sqlite3"
    lab = hooklab.HookLab(port=0, db=str(db), max_body=1000).start()
    lab.respond("made", status=201, body={"made": True})
    lab.respond("none", status=204, body=b"x")
    lab.respond("reset", status=205, body=b"x")
    lab.respond("same", status=304)
    lab.respond("moved", status=302, headers={"Location": "/elsewhere"})
    lab.respond("teapot", status=418, body="short and stout")
    lab.respond("down", status=503, body="busy", headers={"Retry-After": "1"})
    lab.respond("later", status=200, delay=0.2)
    try:
        yield lab
    finally:
        lab.stop()


def _post(path: str, extra: str = "", body: bytes = b"{}", version: str = "1.1") -> bytes:
    return (f"POST {path} HTTP/{version}\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


#: request -> the status answered (Connection: close: one answer, then the server closes)
REQUESTS = {
    "default 200": (_post("/orders"), 200),
    "HEAD": (b"HEAD /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 200),
    "HTTP/1.0": (_post("/orders", version="1.0"), 200),
    "chunked": (b"POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-T: 1\r\n\r\n", 200),
    "rule 201": (_post("/made"), 201),
    "rule 204": (_post("/none"), 204),
    "rule 205": (_post("/reset"), 205),
    "rule 302": (_post("/moved"), 302),
    "rule 304": (b"GET /same HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 304),
    "rule 418": (_post("/teapot"), 418),
    "rule 503": (_post("/down"), 503),
    "rule delayed": (_post("/later"), 200),
    "400 request line": (b"POST nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "400 framing": (b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2"
                    b"\r\n\r\nab", 400),
    "413 announced": (b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n", 413),
    "413 chunked": (b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"3e9\r\n" + b"x" * 1001 + b"\r\n0\r\n\r\n", 413),
    "431": (b"POST /x HTTP/1.1\r\n" + b"X-A: 1\r\n" * 10_001 + b"\r\n", 431),
}


@pytest.mark.parametrize("case", list(REQUESTS))
def test_every_answer_carries_one_date_of_when_it_was_sent(lab: hooklab.HookLab,
                                                           case: str) -> None:
    request, status = REQUESTS[case]
    before = time.time()
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
        s.sendall(request)
        answer = recv_until_close(s, 10)
    after = time.time()
    head = answer.split(b"\r\n\r\n", 1)[0]
    assert int(head[9:12]) == status, answer[:300]
    dates = [v for k, v in _fields(head) if k.lower() == "date"]
    assert len(dates) == 1, head
    # whole seconds: the Date is the second the answer was sent in
    assert int(before) <= _when(dates[0]) <= after, (dates, before, after)


def test_a_rules_own_date_is_sent_instead(lab: hooklab.HookLab) -> None:
    for name in ("Date", "date", "DATE"):
        bin_ = f"dated{name}"
        lab.respond(bin_, headers={name: "Wed, 21 Oct 2015 07:28:00 GMT"})
        with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
            s.sendall(_post(f"/{bin_}"))
            head = recv_until_close(s, 10).split(b"\r\n\r\n", 1)[0]
        assert head.startswith(b"HTTP/1.1 200 ")
        assert [v for k, v in _fields(head) if k.lower() == "date"] == [
            "Wed, 21 Oct 2015 07:28:00 GMT"]


def test_the_date_moves_on_with_the_clock(lab: hooklab.HookLab) -> None:
    seen = []
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
            s.sendall(_post("/orders"))
            head = recv_until_close(s, 10).split(b"\r\n\r\n", 1)[0]
        seen.append(_when([v for k, v in _fields(head) if k.lower() == "date"][0]))
        time.sleep(1.1)
    assert seen[1] - seen[0] >= 1
