"""A capture's URL from an absolute-form request target, on real sockets (127.0.0.1).

The URL of an absolute-form target (``POST http://h/x HTTP/1.1``) was the target pasted as
it came, past the check a ``Host`` field gets: ``http://good.example@evil.example/x`` (the
host is evil.example, good.example only its userinfo), ``http://admin:pw@h/x`` (a password
kept in clear), ``http://evil.example\\@good.example/x`` (Python and browsers disagree on its
host), ``http://h:99999/x`` (no port) and ``HTTPS://h/x`` (the scheme in upper case). Now the
scheme is lower-cased and the target's authority is kept only when it is one
(``hooklab.server.ingest.valid_authority``, as for a ``Host``), else the lab's own address
takes its place; the path and query (and the capture's path, query and bin) are as sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from _http import raw_request
from test_capture_url_host import loads_back

import hooklab

pytestmark = pytest.mark.timeout(120)

OWN = "{own}"  # (in an expected URL: the lab's own address, 127.0.0.1:<port>)

#: the request target (sent with ``Host: good.example``), the URL the capture must be stored
#: with, and its path and query
ABSOLUTE: dict[str, tuple[str, str, str, dict[str, list[str]]]] = {
    # a sound authority: kept (the scheme in lower case)
    "plain": ("http://hooks.example/b/x?a=1", "http://hooks.example/b/x?a=1", "/b/x",
              {"a": ["1"]}),
    "https": ("https://hooks.example/b/x", "https://hooks.example/b/x", "/b/x", {}),
    "HTTPS in upper case": ("HTTPS://hooks.example/b/x", "https://hooks.example/b/x", "/b/x", {}),
    "Http mixed case": ("Http://hooks.example/b/x", "http://hooks.example/b/x", "/b/x", {}),
    "with a port": ("http://hooks.example:8443/b/x", "http://hooks.example:8443/b/x", "/b/x",
                    {}),
    "largest port": ("http://h:65535/b", "http://h:65535/b", "/b", {}),
    "empty port": ("http://h:/b", "http://h:/b", "/b", {}),
    "IPv4": ("http://10.0.0.1:80/b", "http://10.0.0.1:80/b", "/b", {}),
    "IPv6 literal": ("http://[::1]:8080/b", "http://[::1]:8080/b", "/b", {}),
    "percent escape in the host": ("http://ev%69l.example/b", "http://ev%69l.example/b", "/b",
                                   {}),
    "query, no path": ("http://e?x=1", "http://e?x=1", "/", {"x": ["1"]}),
    "fragment kept as sent": ("http://e/b#y", "http://e/b#y", "/b", {}),
    # no sound authority: the lab's own address, the path and query as sent
    "userinfo": ("http://good.example@evil.example/b/x", f"http://{OWN}/b/x", "/b/x", {}),
    "user and password": ("http://admin:pw@evil.example/b/x?a=1", f"http://{OWN}/b/x?a=1",
                          "/b/x", {"a": ["1"]}),
    "password, https": ("HTTPS://admin:pw@evil.example/b", f"https://{OWN}/b", "/b", {}),
    "empty userinfo": ("http://@evil.example/b", f"http://{OWN}/b", "/b", {}),
    "backslash before @": ("http://evil.example\\@good.example/b", f"http://{OWN}/b", "/b",
                           {}),
    "port too big": ("http://evil.example:99999/b", f"http://{OWN}/b", "/b", {}),
    "port 65536": ("http://evil.example:65536/b", f"http://{OWN}/b", "/b", {}),
    "port padded": ("http://evil.example:000080/b", f"http://{OWN}/b", "/b", {}),
    "port not digits": ("http://evil.example:8o/b", f"http://{OWN}/b", "/b", {}),
    "two ports": ("http://evil.example:1:2/b", f"http://{OWN}/b", "/b", {}),
    "IPv6 zone": ("http://[fe80::1%25eth0]/b", f"http://{OWN}/b", "/b", {}),
    "after the brackets": ("http://[::1]x/b", f"http://{OWN}/b", "/b", {}),
    "bad percent escape": ("http://a%zz/b", f"http://{OWN}/b", "/b", {}),
    "quote": ("http://a\"b/b", f"http://{OWN}/b", "/b", {}),
    "256 characters": ("http://" + "a" * 256 + "/b", f"http://{OWN}/b", "/b", {}),
    "userinfo, query only": ("http://u:p@e?x=1", f"http://{OWN}?x=1", "/", {"x": ["1"]}),
}  # fmt: skip


def _status(answer: bytes) -> int:
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", answer)
    assert m, answer[:200]
    return int(m.group(1))


def _send(lab: hooklab.HookLab, target: str) -> hooklab.Capture:
    request = (b"POST " + target.encode() + b" HTTP/1.1\r\nHost: good.example\r\n"
               b"Content-Length: 2\r\nConnection: close\r\n\r\nhi")
    answer = raw_request(lab.bound_port, request)
    assert _status(answer) == 200, answer[:300]
    m = re.search(rb"\r\nX-Hooklab-Capture-Id: (\d+)\r\n", answer)
    assert m, answer[:300]
    wanted = int(m.group(1))
    (cap,) = [c for c in lab.wait(1, since=wanted - 1, timeout=10) if c.id == wanted]
    return cap


@pytest.fixture(scope="module")
def shared() -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.mark.parametrize("case", ABSOLUTE)
def test_an_absolute_target_keeps_its_authority_only_when_it_is_one(
        shared: hooklab.HookLab, case: str) -> None:
    target, want, path, query = ABSOLUTE[case]
    cap = _send(shared, target)
    assert cap.url == want.replace(OWN, f"127.0.0.1:{shared.bound_port}")
    assert (cap.path, cap.query, cap.bin) == (path, query, "b" if path != "/" else "")
    assert [v for k, v in cap.headers if k == "Host"] == ["good.example"]
    assert cap.body == b"hi"
    # what the stored URL names: no userinfo, a port that is one, the host shown is the host
    parts = urlsplit(cap.url)
    assert parts.username is None and parts.password is None
    assert parts.port is None or 0 <= parts.port <= 65535
    assert "\\" not in cap.url and "@" not in cap.url
    assert parts.scheme in ("http", "https")


def test_every_absolute_target_comes_back_from_a_har_export(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One HAR file holding all of them loads back with ``hooklab.load_har``, each URL as
    stored."""
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        own = f"127.0.0.1:{lab.bound_port}"
        for target, _, _, _ in ABSOLUTE.values():
            _send(lab, target)
        sent = lab.query()
        assert [c.url for c in sent] == [want.replace(OWN, own) for _, want, _, _ in
                                         ABSOLUTE.values()]
        assert lab.export(tmp_path / "all.har", fmt="har") == len(ABSOLUTE)
    finally:
        lab.stop()
    loads_back(tmp_path / "all.har", sent)


#: a CONNECT's authority-form target -> the URL its capture is stored with (its port out of
#: range made a URL that names no port: the same check as a Host's)
CONNECT = {
    "host and port": ("hooks.example:443", "http://hooks.example:443"),
    "IPv6 literal": ("[::1]:8443", "http://[::1]:8443"),
    "port too big": ("evil.example:99999", f"http://{OWN}"),
    "port 65536": ("evil.example:65536", f"http://{OWN}"),
}


@pytest.mark.parametrize("case", CONNECT)
def test_a_connect_target_keeps_its_authority_only_when_it_is_one(
        shared: hooklab.HookLab, case: str) -> None:
    target, want = CONNECT[case]
    answer = raw_request(shared.bound_port, (f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n"
                                             "Connection: close\r\n\r\n").encode())
    assert _status(answer) == 501, answer[:300]  # (captured, answered as no tunnel)
    m = re.search(rb"\r\nX-Hooklab-Capture-Id: (\d+)\r\n", answer)
    assert m, answer[:300]
    wanted = int(m.group(1))
    (cap,) = [c for c in shared.wait(1, since=wanted - 1, timeout=10) if c.id == wanted]
    assert (cap.method, cap.path) == ("CONNECT", target)
    assert cap.url == want.replace(OWN, f"127.0.0.1:{shared.bound_port}")
