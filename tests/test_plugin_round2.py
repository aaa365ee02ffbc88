"""Findings of a backend developer testing with hooklab's pytest plugin (second round).

- ``host="::"``: ``lab.url`` said ``http://127.0.0.1:<port>`` while the socket was IPv6-only.
- ``wait(bin="/orders")`` never matched the capture ``url_for("/orders")`` made.
- the plugin's reset between tests left ``/_hooklab/health``'s ``refused`` counts as they were.
- a failed ``wait`` / ``assert_received`` said nothing of requests the lab refused (413).
- README: how to load the plugin by hand with autoloading on and off.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request
import warnings
from pathlib import Path
from urllib.parse import quote

import pytest
from _http import has_ipv6_loopback, post, raw_request

import hooklab

ROOT = Path(__file__).resolve().parents[1]
#: the test projects' pytest runs load no nbval (the repository's notebook plugin, ~2 s of
#: CPU a start: nbformat, jsonschema's format grammars); the hooklab plugin is what is tested
_NO_NBVAL = ("-p", "no:nbval")


needs_ipv6 = pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback here")


def _reaches(address: str, port: int) -> bool:
    """Whether a TCP connection to ``address``:``port`` is taken (loopback only)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        return s.connect_ex((address, port)) == 0


def _started(host: str) -> hooklab.HookLab:
    with warnings.catch_warnings():  # (the "binding ::" warning: this test means it)
        warnings.simplefilter("ignore", RuntimeWarning)
        return hooklab.HookLab(host=host, port=0, db=":memory:").start()


# -- 1. host "::": a URL that reaches the server -------------------------------------------
@needs_ipv6
@pytest.mark.parametrize("host,url_host,by_ipv4,by_ipv6", [
    ("::", "127.0.0.1", True, True),          # dual-stack: both loopbacks reach it
    ("[::]", "127.0.0.1", True, True),        # (spelt as in a URL)
    ("0:0::0", "127.0.0.1", True, True),      # (another spelling of every address)
    ("0.0.0.0", "127.0.0.1", True, False),    # as before: IPv4 only
    ("::1", "[::1]", False, True),            # as before: IPv6 loopback only
    ("127.0.0.1", "127.0.0.1", True, False),
], ids=["any6", "any6-brackets", "any6-long", "any4", "loop6", "loop4"])
def test_the_url_of_a_lab_reaches_it_whatever_its_host(host, url_host, by_ipv4, by_ipv6) -> None:  # type: ignore[no-untyped-def]
    """``HookLab(host="::")`` bound IPv6-only while ``lab.url`` said 127.0.0.1, where nothing
    listened ("connection refused"): ``::`` now takes IPv4 too, as most servers bind it."""
    lab = _started(host)
    try:
        port = lab.bound_port
        assert lab.url == f"http://{url_host}:{port}"
        assert post(lab.url_for("orders"), b"{}")[0] == 200
        assert (_reaches("127.0.0.1", port), _reaches("::1", port)) == (by_ipv4, by_ipv6)
        sent = 1
        for address, reached in (("127.0.0.1", by_ipv4), ("[::1]", by_ipv6)):
            if reached:
                assert post(f"http://{address}:{port}/orders", b"{}")[0] == 200
                sent += 1
        caps = lab.wait(sent, bin="orders", timeout=10)
        assert len(caps) == sent
        # each sender's own address, not the IPv4-mapped form a dual-stack socket reports
        assert {c.remote_addr for c in caps[1:]} == (
            {"127.0.0.1"} if by_ipv4 else set()) | ({"::1"} if by_ipv6 else set())
        # the read side answers at lab.url too (its Host passes the DNS-rebinding guard)
        req = urllib.request.Request(f"{lab.url}/_hooklab/api/captures?bin=orders",
                                     headers={"Authorization": f"token {lab.api_token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert len(json.load(r)["captures"]) == sent
        assert lab.status_line().startswith(f"hooklab listening on {lab.url} ")
    finally:
        lab.stop()


@needs_ipv6
def test_where_the_system_has_no_dual_stack_the_url_of_any6_says_ipv6_loopback(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A system that refuses a dual-stack socket (OpenBSD): ``::`` is bound IPv6-only, and
    ``lab.url`` says ``[::1]``, which reaches it, not 127.0.0.1, which does not."""
    real = socket.socket.setsockopt

    def no_dual_stack(self, level, option, value, *rest):  # type: ignore[no-untyped-def]
        if level == socket.IPPROTO_IPV6 and option == socket.IPV6_V6ONLY and value == 0:
            raise OSError(errno.ENOPROTOOPT, "Protocol not available")
        return real(self, level, option, value, *rest)

    monkeypatch.setattr(socket.socket, "setsockopt", no_dual_stack)
    lab = _started("::")
    try:
        port = lab.bound_port
        assert lab.url == f"http://[::1]:{port}"
        assert (_reaches("127.0.0.1", port), _reaches("::1", port)) == (False, True)
        assert post(lab.url_for("x"), b"{}")[0] == 200
    finally:
        lab.stop()


def _ctrl_c_heard() -> None:
    """``preexec_fn``: SIGINT back to its default in the child, as a terminal starts a command
    (a suite run from a script or CI has it ignored; serve keeps an ignored SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@needs_ipv6
def test_serve_on_any6_prints_a_url_that_reaches_it() -> None:
    """``hooklab serve --host ::`` printed "listening on http://127.0.0.1:<port>", where
    nothing listened."""
    exe = str(Path(sys.executable).with_name("hooklab"))
    proc = subprocess.Popen([exe, "serve", "--host", "::", "--port", "0", "--db", ":memory:",
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            preexec_fn=_ctrl_c_heard)  # (stopped with SIGINT below)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        m = re.search(r"listening on (http://\S+)", first)
        assert m, first
        assert m.group(1).startswith("http://127.0.0.1:")
        assert post(m.group(1) + "/cli", b"{}")[0] == 200
        port = int(m.group(1).rsplit(":", 1)[1])
        assert post(f"http://[::1]:{port}/cli", b"{}")[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


# -- 2. one reading of a bin: url_for, filters, the API -------------------------------------
@pytest.mark.parametrize("named,lands_in", [
    ("/orders", "orders"),
    ("orders/", "orders"),
    ("//orders//", "orders"),
    ("orders", "orders"),
    ("a/b", "a/b"),            # (a slash inside: %2F in the URL, one bin)
    ("/a/b/", "a/b"),
    ("/", ""),                 # the root path's bin
], ids=["leading", "trailing", "doubled", "plain", "inner", "inner-around", "root"])
def test_a_bin_named_with_slashes_is_the_bin_url_for_captured_into(lab, named, lands_in) -> None:  # type: ignore[no-untyped-def]
    """``url_for("/orders")`` captured into bin ``orders`` but ``wait(bin="/orders")`` timed
    out with "0 matched ... newest captures: #1 POST /orders"."""
    assert post(lab.url_for(named), b"{}")[0] == 200
    assert post(lab.url_for("other"), b"{}")[0] == 200
    assert lab.captures[0].bin == lands_in
    assert [c.id for c in lab.wait(1, bin=named, timeout=5)] == [1]
    assert [c.id for c in lab.assert_received(1, bin=named)] == [1]
    assert [c.id for c in lab.query(bin=[named, "nothing"])] == [1]
    assert list(lab.dataframe(bin=named)["id"]) == [1]
    req = urllib.request.Request(f"{lab.url}/_hooklab/api/captures?bin={quote(named, safe='')}",
                                 headers={"Authorization": f"token {lab.api_token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert [c["id"] for c in json.load(r)["captures"]] == [1]


# -- 4. a failed wait / assert_received says what the lab refused ---------------------------
@pytest.mark.parametrize("request_bytes,says", [
    (b"POST /orders?token=S3CRET-IN-QUERY HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
     "1 request refused since "),
    (b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
     "(413 body over max_body: 1)"),
    (b"S3CRET-IN-LINE \x00\x01 nonsense\r\n\r\n", "(400 malformed request: 1)"),
], ids=["413-since", "413", "400"])
def test_a_failed_wait_says_what_the_lab_refused(lab, request_bytes, says) -> None:  # type: ignore[no-untyped-def]
    """A test lowered ``max_body``, the app's webhook got 413, and the message was "0 matched
    (0 captures in total ...); newest captures: none": the refusal is said now, by count and
    status (nothing the sender sent)."""
    lab.max_body = 1000
    answer = raw_request(lab.bound_port, request_bytes)
    assert answer.split(b" ", 2)[1] in (b"413", b"400"), answer[:80]
    with pytest.raises(TimeoutError) as waited:
        lab.wait(1, bin="orders", timeout=0.2)
    with pytest.raises(AssertionError) as asserted:
        lab.assert_received(1, bin="orders")
    for message in (str(waited.value), str(asserted.value)):
        assert says in message, message
        assert "S3CRET" not in message
    # a reset counts from zero: the next message says no refusal
    lab.reset()
    with pytest.raises(TimeoutError) as after:
        lab.wait(1, timeout=0.1)
    assert "refused" not in str(after.value)


def test_a_failed_wait_counts_each_status(lab) -> None:  # type: ignore[no-untyped-def]
    lab.max_body = 10
    for _ in range(2):
        assert post(lab.url_for("orders"), b"x" * 100)[0] == 413
    raw_request(lab.bound_port, b"\x16\x03\x01 not http\r\n\r\n")  # (TLS to a plain port)
    with pytest.raises(TimeoutError, match=r"; 3 requests refused since \d{4}-\d\d-\d\d "
                       r"\d\d:\d\d:\d\d UTC \(400 malformed request: 1, 413 body over "
                       r"max_body: 2\)$"):
        lab.wait(1, timeout=0.1)


# -- 3 and 5. the plugin's reset, and loading it by hand ------------------------------------
REFUSED = '''
import json
import urllib.request

import pytest
import requests


def refused(lab):
    with urllib.request.urlopen(f"{lab.url}/_hooklab/health", timeout=5) as r:
        return json.load(r)["refused"]


@pytest.mark.parametrize("i", [1, 2, 3])
def test_each_test_starts_with_no_refusal(hooklab_server, i):
    assert refused(hooklab_server) == {}
    hooklab_server.max_body = 100
    assert requests.post(hooklab_server.url_for("o"), data=b"x" * 500, timeout=5).status_code == 413
    assert refused(hooklab_server) == {"413": 1}
'''


@pytest.mark.parametrize("load,autoload,passes", [
    (["-p", "hooklab"], True, True),
    (["-p", "hooklab"], False, True),
    ("hooklab", True, True),                       # pytest_plugins in the root conftest.py
    ("hooklab", False, True),
    ("hooklab.pytest_plugin", False, True),
    ("hooklab.pytest_plugin", True, False),        # registered twice: pytest stops
    (["-p", "hooklab.pytest_plugin"], True, False),
], ids=["p-auto", "p-noauto", "conftest-auto", "conftest-noauto", "conftest-module-noauto",
        "conftest-module-auto", "p-module-auto"])
def test_the_plugin_resets_refused_counts_and_loads_as_the_readme_says(  # type: ignore[no-untyped-def]
        tmp_path, load, autoload, passes) -> None:
    """Each test of a pytest run starts with ``refused == {}`` (test 2 saw ``{'413': 2}``);
    the README's ways of loading the plugin by hand, with autoloading on and off."""
    (tmp_path / "test_refused.py").write_text(textwrap.dedent(REFUSED))
    args = list(load) if isinstance(load, list) else []
    if isinstance(load, str):
        (tmp_path / "conftest.py").write_text(f"pytest_plugins = [{load!r}]\n")
    env = {k: v for k, v in os.environ.items()
           if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD" and not k.startswith("PYTEST_XDIST")}
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args,
                        *_NO_NBVAL, str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120, env=env)
    if passes:
        assert r.returncode == 0 and "3 passed" in r.stdout, r.stdout + r.stderr
    else:
        assert r.returncode != 0
        assert "Plugin already registered under a different name" in r.stdout + r.stderr


@pytest.mark.parametrize("named", ["/orders", "orders/", "orders"])
def test_secret_and_forward_name_a_bin_as_url_for_does(lab, named) -> None:  # type: ignore[no-untyped-def]
    """``lab.secret("/orders", ...)`` and ``lab.forward("/orders", ...)`` were kept for a bin
    "/orders" that no capture has: the captures ``url_for("/orders")`` made (bin ``orders``)
    went unchecked and were not forwarded, saying nothing."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    got: list[bytes] = []

    class App(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            got.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    app = ThreadingHTTPServer(("127.0.0.1", 0), App)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    try:
        lab.secret(named, "s3cret", provider="github")
        lab.forward(named, f"http://127.0.0.1:{app.server_address[1]}/hook")
        hooklab.send(lab.url_for(named), provider="github", event="push", secret="s3cret",
                     payload={"n": 1})
        hooklab.send(lab.url_for(named), provider="github", event="push", secret="wrong",
                     payload={"n": 2})
        caps = lab.wait(2, bin="orders", timeout=10)
        assert [c.verified for c in caps] == [True, False]
        assert lab.store.wait_for(lambda: len(lab.forwards()) == 2, timeout=10)
        assert [f["status"] for f in lab.forwards()] == [204, 204]
        assert sorted(json.loads(b)["n"] for b in got) == [1, 2]
        lab.forward(named, None)  # stops it, named either way
        hooklab.send(lab.url_for("orders"), provider="github", event="push", payload={"n": 3})
        lab.wait(3, bin="orders", timeout=10)
        assert not lab.store.wait_for(lambda: len(lab.forwards()) > 2, timeout=1)
    finally:
        app.shutdown()
        app.server_close()


def test_a_bin_spelt_with_a_slash_by_a_sender_stays_reachable(lab) -> None:  # type: ignore[no-untyped-def]
    """Reading ``bin="/orders"`` as bin ``orders`` left the bin a sender spelt ``/%2Forders``
    (bin ``/orders``, and ``/%2F``: bin ``/``) out of reach of every filter. The filter matches
    both spellings now; a plain name matches that bin alone."""
    for path in (b"/orders", b"/%2Forders", b"/%2F", b"/"):
        answer = raw_request(lab.bound_port, b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             b"Content-Length: 2\r\n\r\n{}")
        assert answer.split(b" ", 2)[1] == b"200", answer[:80]
    lab.wait(4, timeout=10)
    assert [c.bin for c in lab.captures] == ["orders", "/orders", "/", ""]
    expected = {"orders": [1], "/orders": [1, 2], "orders/": [1], "/": [3, 4], "": [4],
                "%2Forders": []}
    got = {named: [c.id for c in lab.query(bin=named)] for named in expected}
    assert got == expected
    assert [c.id for c in lab.query(bin=["/orders", "/"])] == [1, 2, 3, 4]
    assert list(lab.dataframe(bin="/orders")["id"]) == [1, 2]
