"""Every refusal of the public relay leaves its keep-alive connection usable or says
``Connection: close`` (RFC 9112 9.6), at the single-user server, as JupyterHub's proxy meets it.

configurable-http-proxy reuses its connections to the user's server: a refusal that closed
the connection without saying so (405 for PROPFIND or TRACE, which Tornado answers before the
handler's ``prepare``) made the proxy send the next request, a real provider's delivery, into
a closed socket, and that sender got the Hub's 503 page (15-25 in 100 deliveries on a real
hub, with senders alternating PROPFIND and POST). Through a real proxy: ``tests/hub/``.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _http import read_answers
from _jupyter_server import server_fixtures

from hooklab import HookLab

TOKEN = "keepalive-test-token-0123456789"

jupyter, env, lab = server_fixtures("jupyter-keepalive", TOKEN, "/user/alice/")

#: the methods the relay passes on (README); any other is refused with 405 and told these
RELAYED = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

#: (first request on the connection, its expected status, whether the answer must keep the
#: connection: a bodiless refusal always keeps it; one with a body may close it if it says so)
CASES = {
    "propfind": ("PROPFIND {path}/x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 405, True),
    "propfind-no-length": ("PROPFIND {path}/x HTTP/1.1\r\nHost: h\r\n\r\n", 405, True),
    "trace": ("TRACE {path}/x HTTP/1.1\r\nHost: h\r\n\r\n", 405, True),
    "connect-to-a-path": ("CONNECT {path}/x HTTP/1.1\r\nHost: h\r\n\r\n", 405, True),
    "mkcol": ("MKCOL {path} HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 405, True),
    "lower-case-get": ("get {path}/x HTTP/1.1\r\nHost: h\r\n\r\n", 405, True),
    # method names that are the handler's own attributes: never called, only refused
    "finish": ("FINISH {path}/x HTTP/1.1\r\nHost: h\r\n\r\n", 405, True),
    "send_error": ("SEND_ERROR {path}/x HTTP/1.1\r\nHost: h\r\n\r\n", 405, True),
    "propfind-unknown-key": ("PROPFIND {prefix}{unknown}/x HTTP/1.1\r\nHost: h\r\n\r\n", 405, True),
    "propfind-with-body": ("PROPFIND {path}/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                           "\r\nhello", 405, False),
    "propfind-chunked": ("PROPFIND {path}/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked"
                         "\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 405, False),
    "get-unknown-key": ("GET {prefix}{unknown}/x HTTP/1.1\r\nHost: h\r\n\r\n", 404, True),
    "delete-unknown-key": ("DELETE {prefix}{unknown} HTTP/1.1\r\nHost: h\r\n\r\n", 404, True),
    "post-unknown-key-with-body": ("POST {prefix}{unknown}/x HTTP/1.1\r\nHost: h\r\n"
                                   "Content-Length: 2\r\n\r\n{{}}", 404, False),
    "dot-segment": ("GET {path}/a/%2e%2e/b HTTP/1.1\r\nHost: h\r\n\r\n", 400, True),
    "dot-segment-options": ("OPTIONS {path}/..;/b HTTP/1.1\r\nHost: h\r\n\r\n", 400, True),
    "over-max-body": ("POST {path}/x HTTP/1.1\r\nHost: h\r\nContent-Length: {over}\r\n\r\n{big}",
                      413, False),
}


def _origin(env: dict[str, object]) -> str:
    return f"http://127.0.0.1:{env['port']}"


@pytest.mark.parametrize("case", list(CASES))
def test_each_refusal_keeps_the_connection_or_says_close(
        lab: HookLab, env: dict[str, object], case: str) -> None:
    template, status, keeps = CASES[case]
    path = urlsplit(lab.public_url("kept", host=_origin(env))).path
    prefix = path.rsplit("/", 1)[0] + "/"
    over = lab.max_body + 1
    first = template.format(path=path, prefix=prefix, unknown="U" * 40, over=over,
                            big="b" * over).encode()
    valid = f"POST {path}/ok HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\ndelivered".encode()
    with socket.create_connection(("127.0.0.1", int(str(env["port"]))), timeout=30) as sock:
        sock.sendall(first)
        answers, closed = read_answers(sock, 1, timeout=20)
        assert answers, f"{case}: no answer"
        head = answers[0].partition(b"\r\n\r\n")[0]
        assert head.split(b" ")[1] == str(status).encode(), answers[0][:400]
        says_close = b"\r\nconnection: close" in head.lower()
        if keeps:
            assert not says_close and not closed, head
        if says_close:  # (it said so: it must then close, and nothing more is read)
            rest, gone = read_answers(sock, 1, timeout=10)
            assert gone and rest == [], rest
        else:  # the next request on the same connection, a valid delivery, is answered
            sock.sendall(valid)
            answers, _ = read_answers(sock, 1, timeout=20)
            assert answers and answers[0].startswith(b"HTTP/1.1 200 "), (case, answers)
            (cap,) = lab.wait(1, timeout=10)
            assert (cap.method, cap.path, cap.body) == ("POST", "/kept/ok", b"delivered")
    assert lab.store.count() == (0 if says_close else 1)  # the refused request never reached the lab
    if status == 405:  # (RFC 9110 15.5.6: a 405 names the methods that are taken)
        allow = [line[6:] for line in head.split(b"\r\n") if line.lower().startswith(b"allow:")]
        assert [{m.strip() for m in allow_.decode().split(",")} for allow_ in allow] == [RELAYED], head


def test_a_refused_method_is_logged_as_sent_and_without_the_key(
        lab: HookLab, env: dict[str, object]) -> None:
    """Jupyter's log names the method the sender used (not one the relay dispatched it as),
    and the route without the key (the key is the credential)."""
    path = urlsplit(lab.public_url("logged", host=_origin(env))).path
    key = path.rsplit("/", 1)[1]
    with socket.create_connection(("127.0.0.1", int(str(env["port"]))), timeout=30) as sock:
        sock.sendall(f"PROPFIND {path}/logme HTTP/1.1\r\nHost: h\r\n\r\n".encode())
        answers, _ = read_answers(sock, 1, timeout=20)
    assert answers and answers[0].startswith(b"HTTP/1.1 405 "), answers
    log = ""
    for _ in range(50):  # (the server writes its log line after the answer)
        log = Path(str(env["log"])).read_text(encoding="utf-8", errors="replace")
        if "/logme" in log:
            break
        time.sleep(0.1)
    line = next(x for x in log.splitlines() if "/logme" in x)
    assert "405 PROPFIND /user/alice/hooklab/in/<key>/logme" in line, line
    assert key not in log
