"""One request to a lab on a fresh connection, and what came back: the handshake tests'
(tests/test_handshake_*.py) way of playing a provider over a real socket on 127.0.0.1.

>>> reply = request(lab, "GET", "/dbx?challenge=abc")            # doctest: +SKIP
>>> reply.status, reply.header("content-type"), reply.body       # doctest: +SKIP
(200, 'text/plain; charset=utf-8', b'abc')
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass

from hooklab import HookLab


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def has(self, name: str) -> bool:
        return any(k.lower() == name.lower() for k, _ in self.headers)


def request(lab: HookLab, method: str, target: str, body: bytes = b"",
            headers: dict[str, str] | None = None) -> Reply:
    """One request on a fresh connection (real socket, 10 s at most)."""
    conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=10)
    try:
        conn.request(method, target, body=body or None, headers=headers or {})
        r = conn.getresponse()
        return Reply(r.status, r.getheaders(), r.read())
    finally:
        conn.close()


def default_answer(reply: Reply) -> bool:
    """hooklab's own answer to a capture: ``{"ok": true, "id": N}``."""
    return reply.status == 200 and set(json.loads(reply.body)) == {"ok", "id"}
