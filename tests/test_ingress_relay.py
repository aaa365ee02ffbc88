"""What the public relay passes on, through a real ``jupyter server`` run as JupyterHub runs its
single-user servers (``trust_xheaders=True``, ``base_url=/user/alice/``).

A relayed capture should say what the sender sent, as a capture sent straight to the lab does,
and nothing a sender writes may pass for what the relay saw.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from _http import recv_until_close
from _jupyter_server import jupyter_server, running_lab, use_server

from hooklab import HookLab, ingress

pytestmark = pytest.mark.timeout(180)

TOKEN = "relay-test-token-0123456789"


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    with jupyter_server(tmp_path_factory.mktemp("jupyter-relay"), TOKEN, "/user/alice/",
                        args=("--ServerApp.trust_xheaders=True",)) as server:
        yield server


@pytest.fixture
def env(jupyter: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    return use_server(jupyter, monkeypatch)


@pytest.fixture
def lab(env: dict[str, object]) -> Iterator[HookLab]:
    with running_lab() as lab:
        yield lab


def _path(lab: HookLab, bin: str, origin: str = "http://127.0.0.1") -> str:
    """The public URL's path (the local jupyter server serves it; its origin is given)."""
    return urlsplit(ingress.public_url(lab, bin, host=origin)).path


def send(port: int, data: bytes, source: str = "127.0.0.1") -> bytes:
    """``data`` from ``source`` (any 127/8 address) to ``port``; the answer, read to the close."""
    with socket.socket() as s:
        s.bind((source, 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        s.sendall(data)
        return recv_until_close(s, 10)


def status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


# what a sender writes to pass for the relay's peer or scheme (trust_xheaders reads these)
SPOOFS = [
    "", "X-Real-IP: 203.0.113.66\r\n", "X-Scheme: https\r\n", "X-Forwarded-Proto: https\r\n",
    "X-Real-IP: 203.0.113.66\r\nX-Scheme: https\r\nX-Forwarded-Proto: https\r\n",
]  # fmt: skip


@pytest.mark.parametrize("spoof", SPOOFS)
def test_the_relay_appends_its_own_peer_and_the_public_scheme(
        lab: HookLab, env: dict[str, object], spoof: str) -> None:
    """X-Forwarded-For got ``request.remote_ip``, which trust_xheaders takes from the
    sender's X-Real-IP; X-Scheme made X-Forwarded-Proto https on an http origin."""
    port = int(str(env["port"]))
    head = (f"POST {_path(lab, 'spoof')}/x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{spoof}"
            "Content-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert status(send(port, head.encode(), source="127.0.0.9")) == 200
    (cap,) = lab.wait(1, timeout=10)
    assert cap.header_all("x-forwarded-for") == ["127.0.0.9"]  # the socket's peer, once
    assert cap.header_all("x-forwarded-proto") == ["http"]  # the origin public_url gave out
    assert cap.remote_addr == "127.0.0.1"  # the relay's own connection to the lab
    assert cap.url.startswith("http://127.0.0.1/user/alice/hooklab/in/[key]/x")
    # a chain that came is kept, and the peer appended once
    head = (f"POST {_path(lab, 'spoof')}/y HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{spoof}"
            "X-Forwarded-For: 198.51.100.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    assert status(send(port, head.encode(), source="127.0.0.9")) == 200
    assert lab.wait(2, timeout=10)[1].header_all("x-forwarded-for") == ["198.51.100.1, 127.0.0.9"]


def test_an_https_origin_gives_https_as_the_forwarded_scheme(lab: HookLab, env: dict[str, object]) -> None:
    port = int(str(env["port"]))
    path = _path(lab, "tls", origin="https://hub.example.org")
    head = (f"POST {path} HTTP/1.1\r\nHost: hub.example.org\r\nX-Scheme: http\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n")
    assert status(send(port, head.encode())) == 200
    (cap,) = lab.wait(1, timeout=10)
    assert cap.header_all("x-forwarded-proto") == ["https"]
    assert cap.header_all("x-forwarded-for") == ["127.0.0.1"]
