"""A bodiless request of a method that anticipates no content goes without ``Content-Length``.

``hooklab.send``, ``lab.replay`` and a forward added ``Content-Length: 0`` to a bodiless
DELETE, OPTIONS or TRACE (GET and HEAD went without one): RFC 9110 section 8.6 says a user
agent SHOULD NOT send it there, and a replay is the delivery as it came. A POST, PUT or PATCH
without a body still says ``Content-Length: 0`` (its method anticipates content: without it a
server could not tell an empty body from a missing one). The receiver is a second lab: what it
stores is the header section exactly as it arrived."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

import hooklab

# (method, a Content-Length expected on a bodiless request)
METHODS = [("GET", None), ("HEAD", None), ("DELETE", None), ("OPTIONS", None),
           ("TRACE", None), ("POST", "0"), ("PUT", "0"), ("PATCH", "0"), ("PURGE", "0")]


def _length(cap: hooklab.Capture) -> str | None:
    return cap.header("Content-Length")


@pytest.fixture
def labs():  # type: ignore[no-untyped-def]
    source = hooklab.HookLab(port=0, db=":memory:").start()
    app = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        yield source, app
    finally:
        source.stop()
        app.stop()


def test_send_a_bodiless_request_as_its_method_anticipates(labs) -> None:  # type: ignore[no-untyped-def]
    _, app = labs
    for method, _ in METHODS:
        hooklab.send(app.url_for("sent"), method=method, payload=b"")
    got = app.wait(len(METHODS), timeout=30)
    assert [(c.method, _length(c)) for c in got] == METHODS


def test_a_replay_and_a_forward_of_bodiless_requests_add_no_content_length(labs) -> None:  # type: ignore[no-untyped-def]
    source, app = labs
    source.forward("in", app.url_for("forwarded"))
    host, port = urlsplit(source.url_for("in")).hostname, urlsplit(source.url_for("in")).port
    for method, _ in METHODS:
        with socket.create_connection((host, port), timeout=10) as s:  # (as a sender sends it:
            s.sendall(f"{method} /in HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".encode())
            while s.recv(65536):  # no Content-Length: 0 on any of them)
                pass
    caps = source.wait(len(METHODS), timeout=30)
    assert [_length(c) for c in caps] == [None] * len(METHODS)
    forwarded = app.wait(len(METHODS), bin="forwarded", timeout=30)
    results = source.replay(caps, to=app.url_for("replayed"))
    assert all(r.error is None for r in results), results
    replayed = app.wait(len(METHODS), bin="replayed", timeout=30)
    for got in (forwarded, replayed):
        assert sorted((c.method, _length(c)) for c in got) == sorted(METHODS)


def test_a_bodiless_request_that_came_with_content_length_0_is_replayed_with_it(labs) -> None:  # type: ignore[no-untyped-def]
    """A DELETE or OPTIONS sent with ``Content-Length: 0`` (as Python's ``requests`` sends
    one) is replayed and forwarded with it: the delivery as it came (review)."""
    source, app = labs
    source.forward("in", app.url_for("forwarded"))
    u = urlsplit(source.url_for("in"))
    for method, _ in METHODS:
        with socket.create_connection((u.hostname, u.port), timeout=10) as s:
            s.sendall(f"{method} /in HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
                      "Connection: close\r\n\r\n".encode())
            while s.recv(65536):
                pass
    caps = source.wait(len(METHODS), timeout=30)
    assert [_length(c) for c in caps] == ["0"] * len(METHODS)
    forwarded = app.wait(len(METHODS), bin="forwarded", timeout=30)
    source.replay(caps, to=app.url_for("replayed"))
    replayed = app.wait(len(METHODS), bin="replayed", timeout=30)
    for got in (forwarded, replayed):
        assert sorted((c.method, _length(c)) for c in got) == sorted((m, "0") for m, _ in METHODS)
