"""Public ingress through a real ``jupyter server`` with a token and ``base_url=/user/test/``."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import types
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _http import free_port, post, raw_request
from _jupyter_server import ENV_VARS, jupyter_server, server_fixtures

from hooklab import HookLab, ingress

TOKEN = "test-token-0123456789"


jupyter, env, lab = server_fixtures("jupyter", TOKEN, "/user/test/")


def local(url: str, env: dict[str, object]) -> str:
    """The public URL, reached through the local server (the public host may be learnt)."""
    path = urlsplit(url).path
    assert path.startswith("/user/test/hooklab/in/"), url
    return str(env["local"]) + path[len("/user/test/") :]


def test_post_without_token_arrives_exactly(lab: HookLab, env: dict[str, object]) -> None:
    url = lab.public_url("stripe")
    key = url.rsplit("/", 1)[1]
    assert len(key) >= 32 and url.startswith("http")
    body = bytes(range(256)) * 3 + b'{"id": "evt_1"}'
    lab.respond("stripe", status=202, body=b"\x00reply\xff", headers={"X-Reply": "yes"})
    req = urllib.request.Request(
        local(url, env) + "/events/v1?a=1&token=" + TOKEN + "&b=%20x",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/octet-stream", "Stripe-Signature": "t=1,v1=abc",
            "X-Custom": "  spaced value", "Cookie": "_xsrf=1; username-x=secret",
            "Authorization": f"token {TOKEN}",
        },
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202
        assert r.read() == b"\x00reply\xff"
        assert r.headers["X-Reply"] == "yes" and r.headers["X-Hooklab-Capture-Id"]
        assert "sandbox" in r.headers["Content-Security-Policy"]
        assert r.headers.get("Set-Cookie") is None
    cap = lab.wait(1, timeout=10)[0]
    assert cap.body == body and cap.method == "POST" and cap.bin == "stripe"
    assert cap.path == "/stripe/events/v1"
    assert cap.query == {"a": ["1"], "b": [" x"]}
    names = {k.lower() for k, _ in cap.headers}
    assert not names & {"cookie", "authorization"}
    assert TOKEN not in json.dumps(cap.headers) and TOKEN not in (cap.url or "")
    assert cap.header("stripe-signature") == "t=1,v1=abc"
    assert cap.header("x-custom") == "spaced value"
    assert cap.header("content-type") == "application/octet-stream"
    assert cap.header("x-forwarded-for") == "127.0.0.1"
    assert cap.header("x-forwarded-prefix") == "/user/test/hooklab/in"
    # the key is the credential: it never reaches what is stored (and so exported)
    assert key not in json.dumps(cap.headers) and key not in (cap.url or "")
    # GET / DELETE with no body, and the bin root itself
    assert post(local(url, env), method="GET", body=b"")[0] == 202
    assert post(local(url, env) + "/x", method="DELETE", body=b"")[0] == 202
    assert [c.path for c in lab.wait(3, timeout=10)][1:] == ["/stripe", "/stripe/x"]
    assert lab.public_url("stripe") == url  # stable per lab and bin


def test_registry_is_private_and_hashes_keys(lab: HookLab, env: dict[str, object]) -> None:
    url = lab.public_url("github")
    path = Path(str(env["runtime"])) / ingress.REGISTRY_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    key = url.rsplit("/", 1)[1]
    assert key not in text and ingress.key_id(key) in text
    entry = json.loads(text)["keys"][ingress.key_id(key)]
    assert entry["port"] == lab.bound_port and entry["bin"] == "github"
    assert entry["pid"] == os.getpid()


def test_unknown_keys_and_jupyter_api_refused(lab: HookLab, env: dict[str, object]) -> None:
    base = str(env["local"])
    url = lab.public_url("gh")
    for bad in ("hooklab/in/" + "A" * 32, "hooklab/in/", "hooklab/in/x/y", "hooklab/in/" + url.rsplit("/", 1)[1][:-2]):
        assert post(base + bad, b"{}")[0] == 404, bad
    status, _ = post(base + "api/contents", method="GET", body=b"")
    assert status in (401, 403)
    assert post(base + "api/contents?token=nope", b"{}")[0] in (401, 403)
    assert lab.store.count() == 0


def test_the_key_stays_out_of_the_jupyter_server_log(env: dict[str, object]) -> None:
    lab = HookLab(port=0, db=":memory:").start()
    try:
        public = lab.public_url("logged")
        key = public.rsplit("/", 1)[1]
        url = local(public, env)
        lab.stop_serving()
        assert post(url + "/x", b"1")[0] == 404  # Jupyter logs failed requests as warnings
        port = int(str(env["port"]))
        head = f"GET {urlsplit(url).path}/../y HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        assert raw_request(port, head.encode()).startswith(b"HTTP/1.1 4")  # raw, dot segments
        for method in ("PROPFIND", "TRACE", "FROB"):  # Tornado's 405, before the handler runs
            head = (f"{method} {urlsplit(url).path}/m{method} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Connection: close\r\n\r\n")
            assert raw_request(port, head.encode()).startswith(b"HTTP/1.1 405")
        log = Path(str(env["log"]))
        deadline = time.monotonic() + 5
        while "<key>/mFROB" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.05)
        text = log.read_text(errors="replace")
        assert "hooklab/in/<key>/x" in text  # the request was logged, without its key
        assert "hooklab/in/<key>/mPROPFIND" in text and "hooklab/in/<key>/mFROB" in text
        assert key not in text
    finally:
        lab.stop()


def test_dot_segments_never_leave_the_bin(lab: HookLab, env: dict[str, object]) -> None:
    path = urlsplit(lab.public_url("gh")).path
    port = int(str(env["port"]))
    for trick in ("/../../api/contents", "/%2e%2e/_hooklab/api/captures", "/a/..%5c..%5cx"):
        head = f"GET {path}{trick} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        out = raw_request(port, head.encode())
        assert out.startswith(b"HTTP/1.1 400"), (trick, out[:80])
    assert lab.store.count() == 0


def _answer(sock, timeout: float = 10.0, *, head_only: bool = False) -> tuple[bytes, bytes]:  # type: ignore[no-untyped-def]
    """One answer's head and body off a keep-alive connection (its Content-Length; none
    for an answer to HEAD)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return data, b""
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0 if head_only else next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                                       if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return head, body


@pytest.mark.parametrize(("request_", "status"), [
    ("GET {prefix}{unknown}/x HTTP/1.1\r\nHost: h\r\n\r\n", b"404"),
    ("POST {prefix}{unknown}/x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", b"404"),
    ("HEAD {prefix}{unknown} HTTP/1.1\r\nHost: h\r\n\r\n", b"404"),
    ("GET {prefix}{key}/a/%2e%2e/b HTTP/1.1\r\nHost: h\r\n\r\n", b"400"),
], ids=["get-unknown-key", "empty-post-unknown-key", "head-unknown-key", "dot-segment"])
def test_a_refused_request_leaves_its_keep_alive_connection_usable(
        lab: HookLab, env: dict[str, object], request_: str, status: bytes) -> None:
    """A bodiless request the relay refused (an unknown or retired key, a dot segment) was
    answered before its (empty) body was read: Tornado then closed the keep-alive connection
    without ``Connection: close``. The Hub's proxy reuses connections: the next request on it,
    a valid delivery too, got the proxy's own 503 page (3 - 9 in 60 on a real hub). The
    answer now comes after the whole request, and the connection serves the next one (a
    refused body is drained, then answered with ``Connection: close``, as before)."""
    import socket

    public = urlsplit(lab.public_url("kept")).path
    prefix, key = public.rsplit("/", 1)
    prefix += "/"
    port = int(str(env["port"]))
    first = request_.format(prefix=prefix, unknown="B" * 40, key=key).encode()
    valid = (f"POST {prefix}{key}/ok HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n"
             "\r\ndelived").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(first)
        head, _ = _answer(sock, head_only=request_.startswith("HEAD"))
        assert head.split(b" ")[1] == status, head
        assert b"connection: close" not in head.lower(), head
        sock.sendall(valid)
        head, _ = _answer(sock)
        assert head.startswith(b"HTTP/1.1 200"), head
    (cap,) = lab.wait(1, timeout=10)
    assert cap.body == b"delived" and cap.path == "/kept/ok"


def test_big_bodies_are_refused_without_buffering(lab: HookLab, env: dict[str, object]) -> None:
    path = urlsplit(lab.public_url("big")).path
    port = int(str(env["port"]))
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {20 * 1024 * 1024}\r\n\r\n"
    ).encode()
    t0 = time.monotonic()
    out = raw_request(port, head + b"x" * 65536)  # answered before the 20 MiB is sent
    assert out.startswith(b"HTTP/1.1 413"), out[:200]
    assert time.monotonic() - t0 < 5
    # chunked, over a small per-lab limit
    small = HookLab(port=0, db=":memory:", max_body=1000).start()
    try:
        path = urlsplit(small.public_url("tiny")).path
        chunk = b"x" * 600
        data = f"POST {path} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        data += (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 3 + b"0\r\n\r\n"
        assert raw_request(port, data).startswith(b"HTTP/1.1 413")
        assert post(local(small.public_url("tiny"), env), b"y" * 999)[0] == 200
        assert small.store.count() == 1
    finally:
        ingress.unregister(small)
        small.stop()
    assert lab.store.count() == 0


def test_stopped_lab_withdraws_its_public_urls(env: dict[str, object]) -> None:
    lab = HookLab(port=0, db=":memory:").start()
    url = local(lab.public_url("gone"), env)
    assert post(url, b"1")[0] == 200
    lab.stop()  # HookLab.stop unregisters: 404, and nothing else can answer on that port
    assert post(url, b"2")[0] == 404


def test_public_urls_pause_with_stop_serving_and_come_back_with_start(
    env: dict[str, object],
) -> None:
    lab = HookLab(port=0, db=":memory:").start()
    try:
        public = lab.public_url("paused")
        url = local(public, env)
        assert post(url, b"1")[0] == 200
        lab.stop_serving()  # %hooklab stop: 404 while stopped ...
        assert post(url, b"2")[0] == 404
        lab.start()  # ... and the URL already given to a sender works again (new port or not)
        assert lab.public_url("paused") == public
        assert post(url, b"3")[0] == 200
        assert [c.body for c in lab.captures] == [b"1", b"3"]
    finally:
        lab.stop()


def _raise_in_loop(exc: BaseException) -> Callable[[HookLab], None]:
    def end(lab: HookLab) -> None:
        def boom() -> None:
            raise exc
        lab.server.loop.call_soon_threadsafe(boom)  # type: ignore[union-attr]
    return end


def _stop_loop(lab: HookLab) -> None:
    loop = lab.server.loop  # type: ignore[union-attr]
    loop.call_soon_threadsafe(loop.stop)  # type: ignore[union-attr]


#: how a lab stops receiving: asked to (the reference), or its server thread ending on its own
SERVING_ENDS = [
    ("lab.stop_serving()", lambda lab: lab.stop_serving()),
    ("SystemExit in the server loop", _raise_in_loop(SystemExit("bye"))),
    ("KeyboardInterrupt in the server loop", _raise_in_loop(KeyboardInterrupt())),
    ("the server loop stopped from outside", _stop_loop),
]


@pytest.mark.parametrize("how, end", SERVING_ENDS, ids=[e[0] for e in SERVING_ENDS])
def test_a_server_thread_that_ends_on_its_own_withdraws_public_urls_as_stop_serving_does(
    env: dict[str, object], how: str, end: Callable[[HookLab], None],
) -> None:
    """After the capture server's thread ended on its own, the lab's public URLs stayed
    registered at its dead port: the relay answered 502 ("the lab is not answering") where
    ``lab.stop_serving()`` gives 404, and ``lab.public_url()`` registered more URLs at that
    port. Now each way of ending gives what ``stop_serving()`` gives, and ``lab.start()``
    brings the same URL back."""
    lab = HookLab(port=0, db=":memory:").start()
    try:
        public = lab.public_url("ends")
        url = local(public, env)
        assert post(url, b"1")[0] == 200
        thread = lab.server._thread  # type: ignore[union-attr]
        end(lab)
        if thread is not None:
            thread.join(10)
        assert not lab.is_running
        assert post(url, b"2")[0] == 404
        assert lab.bound_port is None  # (None when not serving: no dead thread's port)
        with pytest.raises(RuntimeError, match="not serving"):
            lab.public_url("more")
        lab.start()  # the URL given out works again
        assert lab.public_url("ends") == public
        assert post(url, b"3")[0] == 200
        assert [c.body for c in lab.captures] == [b"1", b"3"]
    finally:
        lab.stop()


def test_lab_gone_without_unregistering_gives_502(env: dict[str, object]) -> None:
    lab = HookLab(port=0, db=":memory:").start()
    url = local(lab.public_url("gone"), env)
    assert post(url, b"1")[0] == 200
    lab.server.stop()  # the server dies but the registration stays (as in a crash)
    assert post(url, b"2")[0] == 502
    ingress.unregister(lab)
    assert post(url, b"3")[0] == 404
    lab.stop()


def test_refresh_follows_a_port_change(lab: HookLab, env: dict[str, object]) -> None:
    url = local(lab.public_url("moved"), env)
    old_port = lab.bound_port
    lab.port = free_port()  # the lab restarts on the new port and refreshes its registration
    assert lab.bound_port != old_port
    assert post(url, b"2")[0] == 200
    assert local(lab.public_url("moved"), env) == url


_KERNEL = textwrap.dedent(
    """
    import sys, time
    from hooklab import HookLab
    lab = HookLab(port=0, db=":memory:").start()
    print(lab.public_url("k"), flush=True)
    time.sleep(60)
    """
)


def _kernel(env: dict[str, object]) -> tuple[subprocess.Popen[str], str]:
    proc_env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    proc_env["JUPYTER_RUNTIME_DIR"] = str(env["runtime"])
    proc = subprocess.Popen(
        [sys.executable, "-c", _KERNEL], env=proc_env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    return proc, local(proc.stdout.readline().strip(), env)


def test_kernel_restart_new_key_works_old_key_fails(env: dict[str, object]) -> None:
    old, old_url = _kernel(env)
    try:
        assert post(old_url, b"a")[0] == 200
    finally:
        old.send_signal(signal.SIGKILL)  # no atexit: the registry still names the dead kernel
        old.wait(10)
    assert post(old_url, b"b")[0] == 502
    new, new_url = _kernel(env)
    try:
        assert new_url != old_url
        assert post(new_url, b"c")[0] == 200
        assert post(old_url, b"d")[0] in (404, 502)  # pruned when the new kernel registered
    finally:
        new.kill()
        new.wait(10)


def test_public_host_detection(lab: HookLab, env: dict[str, object], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKLAB_PUBLIC_URL", "https://hooks.example.org")
    assert lab.public_url("h").startswith("https://hooks.example.org/user/test/hooklab/in/")
    monkeypatch.setenv("HOOKLAB_PUBLIC_URL", "https://hub.example.org/user/ada/")
    assert lab.public_url("h").startswith("https://hub.example.org/user/ada/hooklab/in/")
    monkeypatch.delenv("HOOKLAB_PUBLIC_URL")
    monkeypatch.setenv("JUPYTERHUB_PUBLIC_HUB_URL", "https://hub.example.org/hub/")
    assert lab.public_url("h").startswith("https://hub.example.org/user/test/hooklab/in/")
    monkeypatch.delenv("JUPYTERHUB_PUBLIC_HUB_URL")
    # learnt from the user's own authenticated request (as behind a hub proxy)
    req = urllib.request.Request(
        str(env["local"]) + "api/status",
        headers={"Authorization": f"token {TOKEN}", "X-Forwarded-Host": "nb.example.org",
                 "X-Forwarded-Proto": "https,http"},
    )  # fmt: skip
    urllib.request.urlopen(req, timeout=5).close()
    deadline = time.monotonic() + 5  # the server records it when it logs the request
    while not lab.public_url("h").startswith("https://nb.example.org/user/test/hooklab/in/"):
        assert time.monotonic() < deadline, lab.public_url("h")
        time.sleep(0.05)
    # unauthenticated requests teach nothing
    post(str(env["local"]) + "api/status?x=1", method="GET", body=b"", headers={"X-Forwarded-Host": "evil.example"})
    assert "evil" not in lab.public_url("h")


# host= given to public_url -> the root its URLs start with (this server's base_url: /user/test/)
HOST_ROOTS = [
    ("https://h.example.org", "https://h.example.org/user/test/"),
    ("https://h.example.org/", "https://h.example.org/user/test/"),
    ("https://H.Example.org:443", "https://h.example.org/user/test/"),
    ("http://h.example.org:8080", "http://h.example.org:8080/user/test/"),
    # a path: the full server URL (behind a proxy that strips a prefix of its own), as
    # $HOOKLAB_PUBLIC_URL has it; host= dropped it (https://h.example.org/hooklab/in/<key>)
    ("https://h.example.org/jupyter/", "https://h.example.org/jupyter/"),
    ("https://h.example.org/jupyter", "https://h.example.org/jupyter/"),
    ("https://h.example.org/user/ada/", "https://h.example.org/user/ada/"),
    ("https://h.example.org:8443/a/b//", "https://h.example.org:8443/a/b/"),
]  # fmt: skip
HOST_REFUSED = [
    "h.example.org", "ftp://h.example.org/", "https://user:pw@h.example.org/", "https://",
    "https://h.example.org/jupyter/?token=x", "https://h.example.org/#frag", "https://h.example.org?",
    "/user/ada/",
]  # fmt: skip


@pytest.mark.parametrize("host,root", HOST_ROOTS)
def test_host_is_read_as_the_public_url_variable_is(lab: HookLab, env: dict[str, object],
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    host: str, root: str) -> None:
    given = ingress.public_url(lab, "h", host=host)
    assert given.rsplit("/", 1)[0] == root + "hooklab/in", given
    monkeypatch.setenv("HOOKLAB_PUBLIC_URL", host)
    assert ingress.public_url(lab, "h") == given  # one reading of both ways of saying it


@pytest.mark.parametrize("host", HOST_REFUSED)
def test_host_that_is_no_server_url_is_refused(lab: HookLab, env: dict[str, object], host: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="host="):
        ingress.public_url(lab, "h", host=host)
    # (review) the same text in $HOOKLAB_PUBLIC_URL was passed over in silence: said now
    monkeypatch.setenv("HOOKLAB_PUBLIC_URL", host)
    with pytest.warns(RuntimeWarning, match=r"\$HOOKLAB_PUBLIC_URL .* is not used"):
        url = ingress.public_url(lab, "h")
    assert "/hooklab/in/" in url


def test_no_server_warns_with_prefix(lab: HookLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    monkeypatch.setenv("BINDER_LAUNCH_HOST", "https://mybinder.org/")
    with pytest.warns(RuntimeWarning, match="extension") as rec:
        url = lab.public_url("b")
    assert "/user/ada/hooklab/in/" in url and "Binder" in str(rec[0].message)


def test_tunnel_uses_a_relay_not_the_lab(lab: HookLab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyngrok", None)
    with pytest.raises(ImportError, match=r"hooklab\[tunnel\]"):
        ingress.tunnel(lab, "gh")
    calls: list[tuple[int, str]] = []
    fake = types.ModuleType("pyngrok")
    fake.ngrok = types.SimpleNamespace(  # type: ignore[attr-defined]
        connect=lambda port, proto, **kw: calls.append((port, proto))
        or types.SimpleNamespace(public_url="https://abc.ngrok.app"),
        disconnect=lambda url: None,
    )
    monkeypatch.setitem(sys.modules, "pyngrok", fake)
    try:
        url = ingress.tunnel(lab, "gh")
        assert url.startswith("https://abc.ngrok.app/hooklab/in/")
        (port, proto), = calls
        assert proto == "http" and port != lab.bound_port
        base = f"http://127.0.0.1:{port}"
        path = urlsplit(url).path
        assert post(base + path + "/push?token=t", b"{}", {"Cookie": "c=1"})[0] == 200
        cap = lab.wait(1, timeout=10)[0]
        assert cap.path == "/gh/push" and cap.query == {} and cap.header("cookie") is None
        assert post(base + "/_hooklab/api/captures", method="GET", body=b"")[0] == 404
        assert post(base + "/hooklab/in/nope", b"")[0] == 404
        # the tunnel follows the lab: 404 while it does not serve, its new port after start()
        lab.stop_serving()
        assert post(base + path, b"{}")[0] == 404
        lab.start()
        assert post(base + path + "/again", b"{}")[0] == 200
        assert lab.wait(2, timeout=10)[1].path == "/gh/again"
        lab.stop()
        assert post(base + path, b"{}")[0] == 404
    finally:
        ingress.close_tunnels()


class _FakeLab:
    """Just what ingress.register reads from a lab."""

    bound_port: int | None = None
    host = "127.0.0.1"
    max_body = 100
    server = None


def test_connection_refused_is_not_a_crash(env: dict[str, object]) -> None:
    """A registered port with nothing listening answers 502 (never another local service)."""
    dead_port = free_port()
    fake_lab = _FakeLab()
    fake_lab.bound_port = dead_port
    key = ingress.register(fake_lab, "nowhere")
    try:
        assert post(str(env["local"]) + "hooklab/in/" + key, b"x")[0] == 502
    finally:
        ingress.unregister(fake_lab)


def test_a_twilio_delivery_through_a_tunnel_verifies_on_arrival(lab: HookLab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twilio signs the https ngrok URL it calls; ngrok's agent reaches the local relay over
    http, which now passes the tunnel's public origin on with the path, so the capture
    verifies (and its url is that URL with the key as [key])."""
    from hooklab.signatures import sign_request

    fake = types.ModuleType("pyngrok")
    fake.ngrok = types.SimpleNamespace(  # type: ignore[attr-defined]
        connect=lambda port, proto, **kw: types.SimpleNamespace(public_url="https://abc.ngrok.app"),
        disconnect=lambda url: None,
    )
    monkeypatch.setitem(sys.modules, "pyngrok", fake)
    try:
        lab.secret("tw", "twilio-auth-token", provider="twilio")
        url = ingress.tunnel(lab, "tw") + "/sms?x=1"
        key = urlsplit(url).path.split("/hooklab/in/", 1)[1].split("/", 1)[0]
        port = ingress._TUNNEL.port  # type: ignore[union-attr]
        body = b"Body=hi&From=%2B15550001"
        req = sign_request("twilio", "twilio-auth-token", url=url, body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        local = f"http://127.0.0.1:{port}{urlsplit(url).path}?x=1"
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Host": "abc.ngrok.app",
                   "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9", **req.headers}
        assert post(local, body, headers)[0] == 200
        cap = lab.wait(1, timeout=10)[0]
        assert cap.verified is True, cap.verify_reason
        assert cap.url == url.replace(key, "[key]")
        assert cap.header("x-forwarded-for") == "203.0.113.9, 127.0.0.1"
    finally:
        ingress.close_tunnels()


def test_the_server_log_names_only_an_origin_public_url_would_use(tmp_path: Path) -> None:
    """A script with the user's token on the server's own address (a kernel client, a
    health check) used to make the log say "public webhook URLs use http://127.0.0.1:...",
    while public_url rightly ignores such an origin; a proxy's forwarded one is logged."""
    token = "log-test-token-0123456789"
    with jupyter_server(tmp_path, token, "/") as js:
        def get(headers: dict[str, str]) -> None:
            req = urllib.request.Request(str(js["local"]) + "api/status",
                                         headers={"Authorization": f"token {token}", **headers})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200

        get({})
        get({"X-Forwarded-Host": "hub.example.org", "X-Forwarded-Proto": "https"})
        deadline = time.monotonic() + 10
        log = ""
        while "hub.example.org" not in log and time.monotonic() < deadline:
            time.sleep(0.1)
            log = Path(str(js["log"])).read_text(errors="replace")
    said = [line for line in log.splitlines() if "public webhook URLs use" in line]
    assert said and all("https://hub.example.org" in line for line in said), said


@pytest.mark.parametrize("how", ["port 0", "a taken port"])
def test_the_registry_names_the_port_the_server_chose(tmp_path, how: str) -> None:  # type: ignore[no-untyped-def]
    """The extension recorded the port it was asked for before Jupyter chose one: with
    ``--port 0`` or a taken port, ``lab.public_url()``'s fallback named port 0 or another
    process. And a cleanly stopped server's entry was left in the registry."""
    import socket

    from hooklab.ingress.registry import read_registry

    with socket.socket() as taken:
        port, retries = 0, 0
        if how == "a taken port":
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port, retries = taken.getsockname()[1], 5
        with jupyter_server(tmp_path, "tok-123", "/user/u/", port=port, port_retries=retries) as js:
            assert js["port"] not in (0, port)
            path = str(Path(str(js["runtime"])) / ingress.REGISTRY_NAME)
            deadline = time.monotonic() + 20
            while True:
                (entry,) = read_registry(path)["servers"].values()
                url = urlsplit(entry["url"])
                if url.port == js["port"] or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert (url.port, url.path) == (js["port"], "/user/u/"), entry
    assert read_registry(path)["servers"] == {}
