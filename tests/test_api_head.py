"""HEAD on ``/_hooklab/`` answers as GET does, behind the same guard (RFC 9110 9.1, 9.3.2):
the same status and fields, ``Content-Length`` equal to the GET body's where GET sends one,
no body; a ``405`` names what the resource takes in ``Allow`` (RFC 9110 15.5.6).

Raw sockets on 127.0.0.1 against a lab with a real SQLite file, as curl -I or a load
balancer's check meets it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _http import raw_request

import hooklab

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=str(tmp_path_factory.mktemp("head") / "c.sqlite3")).start()
    try:
        hooklab.send(lab.url_for("x"), payload={"a": 1})
        lab.wait(1, timeout=10)
        yield lab
    finally:
        lab.stop()


def _ask(port: int, method: str, target: str, host: str) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection (``Connection: close``); status, fields (lower-case
    names), and every byte after the head up to the close."""
    out = raw_request(port, f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"
                            "Connection: close\r\n\r\n".encode(), timeout=10)
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), fields, body


def _dechunked(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size, _, rest = rest.partition(b"\r\n")
        n = int(size, 16)
        if not n:
            break
        out, rest = out + rest[:n], rest[n + 2:]
    return out


@pytest.mark.parametrize("host", ["local", "hostile"])
@pytest.mark.parametrize("token", [True, False])
@pytest.mark.parametrize("path", ["/_hooklab/health", "/_hooklab/api/captures",
                                  "/_hooklab/api/captures/1", "/_hooklab/api/captures/1/body",
                                  "/_hooklab/", "/_hooklab/api/captures/99"])
def test_head_answers_as_get(lab: hooklab.HookLab, path: str, token: bool, host: str) -> None:
    port = int(lab.url.rsplit(":", 1)[1])
    target = path + (f"?token={lab.api_token}" if token else "")
    host_field = f"127.0.0.1:{port}" if host == "local" else "evil.example"
    get_status, get_fields, get_body = _ask(port, "GET", target, host_field)
    status, fields, body = _ask(port, "HEAD", target, host_field)
    # the guard as for GET: a hostile Host is refused (403) whatever the token; the read
    # token is needed for all but health
    expected = (403 if host == "hostile" else
                200 if path == "/_hooklab/health" or (token and not path.endswith("/99")) else
                404 if token else 401)
    assert (get_status, status) == (expected, expected)
    assert body == b""  # a HEAD answer has no body
    if "content-length" in get_fields:
        assert int(get_fields["content-length"]) == len(get_body)
        assert fields.get("content-length") == get_fields["content-length"]
    else:  # GET was chunked: HEAD says no length, or the right one
        assert get_fields.get("transfer-encoding") == "chunked"
        assert fields.get("content-length", str(len(_dechunked(get_body)))) == str(len(_dechunked(get_body)))
    for name in ("content-type", "www-authenticate", "cache-control"):
        assert fields.get(name) == get_fields.get(name), name


@pytest.mark.parametrize("method, path, allow", [
    ("POST", "/_hooklab/api/captures", "GET, HEAD"),
    ("DELETE", "/_hooklab/api/captures/1", "GET, HEAD"),
    ("PUT", "/_hooklab/health", "GET, HEAD"),
    ("POST", "/_hooklab/", "GET, HEAD"),
])
def test_a_405_says_allow(lab: hooklab.HookLab, method: str, path: str, allow: str) -> None:
    port = int(lab.url.rsplit(":", 1)[1])
    status, fields, _ = _ask(port, method, f"{path}?token={lab.api_token}", f"127.0.0.1:{port}")
    assert status == 405
    assert fields.get("allow") == allow
