"""Asana's ``X-Hook-Secret`` on a request that is no handshake is hidden where a person looks.

The handshake's ``X-Hook-Secret`` (a POST) is stored as ``[secret]``. On any other request (a
GET, the field sent as a trailer after a chunked body) it was stored as it came, which is
right for the user's own data (exports, replay send what came), but the live view showed it,
and so the widget state a saved notebook keeps held it: the header was not among
``SENSITIVE_HEADERS``, the names whose values are hidden until "show credentials" is ticked.
Now it is, as ``X-Webhook-Secret`` is: hidden in the Details tab, Copy as curl and the
stream page's view, revealed only on request.

Raw requests over a real socket to a lab on a real SQLite file; the live view clicked through.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from _views import open_every_tab, saved_state

import hooklab

SECRET = "b537207f20cbfa02357cf448134da559e8bd39d61597dcd5631b8012eae53e81"  # (Asana's docs')


def _raw(port: int, request: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        s.settimeout(10)
        for _ in range(1000):  # (until the lab closes: Connection: close)
            if not s.recv(65536):
                break


# (the request after "/<bin>", as sent; the bin's name says which case it is)
CASES = {
    "get": b"GET /get HTTP/1.1\r\nHost: h\r\nX-Hook-Secret: " + SECRET.encode()
           + b"\r\nConnection: close\r\n\r\n",
    "lower-case": b"GET /lower-case?x=1 HTTP/1.1\r\nHost: h\r\nx-hook-secret: " + SECRET.encode()
                  + b"\r\nConnection: close\r\n\r\n",
    "odd-case-twice": b"DELETE /odd-case-twice HTTP/1.1\r\nHost: h\r\nX-HOOK-secret: "
                      + SECRET.encode() + b"\r\nX-Hook-Secret: " + SECRET.encode()
                      + b"\r\nConnection: close\r\n\r\n",
    "trailer": b"POST /trailer HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nTrailer: X-Hook-Secret\r\nConnection: close\r\n"
               b"\r\n2\r\n{}\r\n0\r\nX-Hook-Secret: " + SECRET.encode() + b"\r\n\r\n",
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_live_view_state_never_holds_it(tmp_path: Path, case: str) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    view = None
    try:
        _raw(lab.bound_port, CASES[case])
        (cap,) = lab.wait(1, timeout=10, bin=case)
        # (the capture keeps what came: only what is shown hides it)
        assert SECRET in [v for k, v in cap.headers if k.lower() == "x-hook-secret"], cap.headers
        view = lab.live()
        view.select(cap.id)
        open_every_tab(view)
        state = saved_state()
        assert SECRET not in state and SECRET[:16] not in state, case
        assert "&lt;hidden: 64 chars&gt;" in view.detail.value, view.detail.value  # (escaped)
        assert SECRET not in repr(hooklab.credentials.hidden_view(cap))  # (the stream page's)
    finally:
        if view is not None:
            view.close()
        lab.stop()
