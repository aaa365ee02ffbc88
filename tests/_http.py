"""HTTP helpers for tests (real sockets on 127.0.0.1)."""

from __future__ import annotations

import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable


def post(url: str, body: bytes = b"", headers: dict[str, str] | None = None, method: str = "POST"):
    """POST with urllib; returns (status, body) and never raises on HTTP errors."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def post_each(port: int, path: str, bodies: Iterable[bytes], each: Callable[[int, int], None] | None = None,
              timeout: float = 10.0) -> list[int]:
    """POST each body to ``path`` in turn on one keep-alive connection (one capture per
    commit, as a single sender makes them); the statuses. ``each(n, status)`` after each."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    statuses = []
    try:
        for n, body in enumerate(bodies):
            conn.request("POST", path, body=body)
            r = conn.getresponse()
            r.read()
            statuses.append(r.status)
            if each is not None:
                each(n, r.status)
    finally:
        conn.close()
    return statuses


def has_ipv6_loopback() -> bool:
    """Whether ``::1`` can be bound here (some containers have no IPv6 loopback)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def recv_until_close(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Read until the peer closes or ``timeout`` passes."""
    sock.settimeout(timeout)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        out += chunk
    return out


#: the Date field of an answer (RFC 9110 6.6.1) in IMF-fixdate (5.6.7), a whole line
DATE_FIELD = re.compile(
    rb"\r\nDate: (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-3]\d "
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} [0-2]\d:[0-5]\d:[0-6]\d GMT(?=\r\n)")


def undated(data: bytes) -> bytes:
    """Answers as received, each ``Date`` value (if it is an IMF-fixdate) read as ``<date>``:
    answers then compare byte for byte, the field's place included, whatever second they
    were sent in (an answer with no Date, or a malformed one, stays as it is)."""
    return DATE_FIELD.sub(b"\r\nDate: <date>", data)


def read_answers(sock: socket.socket, n: int, timeout: float = 5.0) -> tuple[list[bytes], bool]:
    """Up to ``n`` whole answers (framed by their Content-Length, none: no content) within
    ``timeout``, and whatever came after them; and whether the server closed (or reset) the
    connection meanwhile."""
    sock.settimeout(0.2)
    buf, out = b"", []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            m = re.search(rb"\r\nContent-Length: (\d+)", buf[:end])
            size = int(m.group(1)) if m else 0
            if len(buf) >= end + 4 + size:
                out.append(buf[: end + 4 + size])
                buf = buf[end + 4 + size:]
                continue
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return out + ([buf] if buf else []), True
        buf += chunk
    if buf:
        out.append(buf)
    return out, False


def raw_request(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes and read until the server closes (or times out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        return recv_until_close(s, timeout)


def exact_request(port: int, method: str, target: str, headers: Iterable[tuple[str, str]] = (),
                  body: bytes = b"", timeout: float = 10.0) -> tuple[int, bytes]:
    """One request with exactly ``headers`` (no User-Agent or Accept-Encoding of
    http.client's own; a Content-Length with a body, or 0 for a POST): (status, body)."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if body or method == "POST":
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def chunked_post(port: int, target: str, headers: Iterable[tuple[str, str]], body: bytes,
                 timeout: float = 60.0) -> tuple[int, bytes]:
    """POST ``body`` to ``target`` with exactly ``headers`` (a ``Transfer-Encoding`` among
    them) and the body as one chunk; (status, answer body)."""
    head = f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.encode() + b"\r\n%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        answers, _ = read_answers(s, 1, timeout)
    assert answers, "no answer"
    status = int(answers[0].split(b" ", 2)[1])
    return status, answers[0].partition(b"\r\n\r\n")[2]


def _ephemeral_range() -> tuple[int, int]:
    """The ports the OS hands out for ``bind(0)`` and outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default; macOS uses 49152 - 65535


def _stretch() -> range:
    # outside the ephemeral range, so no bind(0) (a kernel's ZeroMQ ports, a Jupyter server)
    # and no client's source port takes a port between the moment a test picks it and the
    # moment the server under test binds it
    lo, hi = _ephemeral_range()
    below, above = range(max(1024, lo - 12000), lo), range(hi + 1, 65536)
    return below if len(below) >= len(above) else above  # (empty: the OS hands out them all)


def _share(stretch: range) -> range:
    """This process's part of ``stretch``: under pytest-xdist (``make test`` runs the suite on
    several workers) each worker has a part of its own, so no two ever try the same port."""
    try:
        worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
        workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    except ValueError:
        return stretch
    if not 0 <= worker < workers:
        return stretch
    size = len(stretch) // workers
    return stretch[worker * size:(worker + 1) * size] if size else stretch


_STRETCH = _share(_stretch())
# each process walks its stretch from its own place (by pid): two test processes side by side
# (two runs of the suite) do not try the same ports in the same order
_PICKS = iter(range((os.getpid() * 97) % max(1, len(_STRETCH)), len(_STRETCH) * 2))


def free_port() -> int:
    """A port on 127.0.0.1 that is free now and that nothing else in this run will get.

    Never one the OS gives out by itself (see ``_stretch``), and never the same one twice in
    a process, so a port a test frees stays free while the test checks that it is.
    """
    for i in _PICKS:
        port = _STRETCH[i % len(_STRETCH)]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    with socket.socket() as s:  # no port outside the ephemeral range: one the OS picks
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
