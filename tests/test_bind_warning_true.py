"""The warning for a lab bound past loopback says what is true of it.

Binding 0.0.0.0 warned "anyone who can reach this machine can send to it and read captures
through /_hooklab/api"; but reading answers only to a local ``Host`` (DNS-rebinding
protection; a name in ``HookLab.allowed_hosts``) and with the lab's read token. The warning now
says that sending is open to anyone and reading is not; this test holds each part of it
against the running server, as a remote sender and a remote reader would meet it.

A real lab on 0.0.0.0, requests over real sockets to 127.0.0.1 with the Host a remote machine
sends (this machine's address as it knows it).
"""

from __future__ import annotations

import http.client
import warnings

import pytest
from _http import free_port

import hooklab

SAYS = ("hooklab is binding 0.0.0.0: anyone who can reach this machine can send webhooks to it; "
        "reading captures through /_hooklab/ still needs the lab's read token (and a local Host "
        "or one in HookLab.allowed_hosts)")
REMOTE = "192.0.2.10"  # (TEST-NET-1: the address a remote machine would name this one by)


def _get(port: int, path: str, host: str, method: str = "GET") -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", f"{host}:{port}")
        conn.putheader("Content-Length", "2")
        conn.endheaders(b"{}")
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


# (who, the Host it sends, token given, allowed_hosts, the status)
READERS = [
    ("remote, no token", REMOTE, False, [], 403),
    ("remote, with the token", REMOTE, True, [], 403),  # (what the old warning said was open)
    ("remote, listed, no token", REMOTE, False, [REMOTE], 401),
    ("remote, listed, with the token", REMOTE, True, [REMOTE], 200),
    ("local, no token", "127.0.0.1", False, [], 401),
    ("local, with the token", "127.0.0.1", True, [], 200),
    ("localhost, with the token", "localhost", True, [], 200),
    ("rebinding name, with the token", "127.0.0.1.nip.io", True, [], 403),
]


@pytest.mark.parametrize("who, host, token, allowed, status", READERS, ids=[r[0] for r in READERS])
def test_the_0_0_0_0_warning_says_what_the_server_does(who, host, token, allowed, status) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        lab = hooklab.HookLab(host="0.0.0.0", port=port, db=":memory:",
                              allowed_hosts=allowed).start()
    try:
        assert [str(w.message) for w in said if "binding" in str(w.message)] == [SAYS]
        # "anyone who can reach this machine can send webhooks to it"
        assert _get(port, "/orders", REMOTE, "POST") == 200
        assert [c.bin for c in lab.wait(1, timeout=10)] == ["orders"]
        # "reading captures through /_hooklab/ still needs the read token (and a local Host)"
        path = "/_hooklab/api/captures" + (f"?token={lab.api_token}" if token else "")
        assert _get(port, path, host) == status
    finally:
        lab.stop()
