"""``hooklab.export.to_curl(cap)`` without ``base=``: a capture knows the URL it came in on
(``cap.url``), but that URL is the sender's ``Host`` header in front of the path, and the
command never goes there (README: "copy as curl goes to the lab, never to the sender's
``Host``"): a Host can name any service on this machine (``127.0.0.1:6379``) or a name that
resolves to it. So the default stays ``DEFAULT_BASE`` and ``base=lab.url`` aims at the lab.

Real requests to a lab on 127.0.0.1 with raw Host lines; expected targets written out.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import pytest
from _http import raw_request

import hooklab
from hooklab.export import DEFAULT_BASE, to_curl

# Host line as sent -> the start of the URL the capture is stored with
HOSTS = {
    "127.0.0.1:6379": "http://127.0.0.1:6379/",
    "localhost:22": "http://localhost:22/",
    "127.0.0.1.nip.io": "http://127.0.0.1.nip.io/",
    "[::1]:5432": "http://[::1]:5432/",
    "evil.example": "http://evil.example/",
}


@pytest.fixture(scope="module")
def served() -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


def target_of(command: str) -> str:
    words = shlex.split(command.split("\n", 1)[-1] if command.startswith("#") else command)
    return next(w for w in words if re.match(r"https?://", w))


@pytest.mark.parametrize("host", list(HOSTS))
def test_the_command_never_goes_to_the_senders_host(served: hooklab.HookLab, host: str) -> None:
    port = int(served.url.rsplit(":", 1)[1])
    path = f"/curl/{list(HOSTS).index(host)}?a=1"
    raw = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
           f"Content-Length: 8\r\nConnection: close\r\n\r\n{{\"a\": 1}}").encode()
    assert b" 200 " in raw_request(port, raw).split(b"\r\n", 1)[0]
    cap = served.wait(1, timeout=10, path=path.split("?")[0])[-1]
    assert cap.url.startswith(HOSTS[host])  # (it knows the URL it came in on: the sender's)
    assert target_of(to_curl(cap)) == f"{DEFAULT_BASE}{path}"
    assert target_of(to_curl(cap, base=served.url)) == f"{served.url}{path}"
    assert target_of(to_curl(cap, "http://127.0.0.1:9/app")).startswith("http://127.0.0.1:9/app")
