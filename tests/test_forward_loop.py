"""Forward loops the URL check cannot see: a host name resolving to this machine, a proxy,
another lab forwarding back. One delivery makes a bounded number of captures (real labs and
servers on 127.0.0.1)."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from _http import post
from _target import Target

import hooklab
from hooklab.outbound.forward import Forwarder

LOOP_HEADER = "X-Hooklab-Forwarded-By"  # (the README's name for it)


def _loopback_name(name: str) -> str:
    """``name`` when it resolves to loopback addresses only (else the case is skipped)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        pytest.skip(f"{name!r} does not resolve here")
    if not addresses or not all(a.startswith("127.") or a == "::1" for a in addresses):
        pytest.skip(f"{name!r} resolves to {sorted(addresses)}, not to loopback")
    return name


class _Relay:
    """A reverse proxy on 127.0.0.1 passing every request on to ``port`` (as a tunnel or a
    dev proxy in front of the lab would): a loop no URL check can see."""

    def __init__(self, port: int) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    conn.putrequest("POST", self.path, skip_host=True, skip_accept_encoding=True)
                    for k, v in self.headers.items():
                        if k.lower() not in ("content-length", "connection"):
                            conn.putheader(k, v)
                    conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body)
                    status = conn.getresponse().status
                except OSError:
                    status = 502
                finally:
                    conn.close()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _settle(lab: hooklab.HookLab, busy: Callable[[], int], seconds: float = 6.0) -> None:
    """Wait until every capture has its forward outcome and nothing is on its way (at most
    ``seconds``: a loop never settles, and then the capture count tells)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not busy() and len(lab.forwards()) >= len(lab.captures):
            time.sleep(0.3)  # (nothing more arrives)
            if not busy() and len(lab.forwards()) >= len(lab.captures):
                return
        time.sleep(0.05)


def _reaching(url: str) -> str:
    """``url`` when a connection to its host and port can be made here (else the case is
    skipped: a forward that never reaches the lab tests no loop)."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"{parts.hostname!r} does not reach the lab here ({exc})")
    return url


def _assert_stopped_at_first_return(lab: hooklab.HookLab) -> None:
    """The delivery came back once, marked, and was not sent again. Exactly two captures:
    one alone meant the forward never reached the lab ('localhost.' that does not resolve,
    127.0.0.2 where the lab binds 127.0.0.1), and the case passed with no loop check at all."""
    caps = lab.captures
    assert len(caps) == 2, f"one delivery made {len(caps)} captures"
    assert caps[1].header(LOOP_HEADER) is not None
    (first,) = lab.forwards(caps[0].id)  # (it reached the lab: the lab answered 200)
    assert first["status"] == 200 and first["error"] is None, first
    (row,) = lab.forwards(caps[1].id)
    assert row["status"] is None and row["error"].startswith("forward loop: capture #"), row
    assert "bin 'a'" in row["error"]
    frame = lab.dataframe()
    assert frame["forward_error"].iloc[1].startswith("forward loop")


@pytest.fixture
def looping(lab) -> Iterator[Callable[[str], None]]:  # type: ignore[no-untyped-def]
    """``looping(url)``: forward bin ``a`` of ``lab`` to ``url`` as the lab's forwarder does,
    without ``lab.forward``'s URL check (it stands for every loop that check misses), send one
    request and wait for the traffic to settle; forwarding stops afterwards."""
    forwarders: list[Forwarder] = []

    def run(url: str) -> None:
        fwd = Forwarder(lab.store, timeout=5)
        forwarders.append(fwd)
        fwd.add("a", url)
        assert post(lab.url_for("a", "x"), b'{"n": 1}')[0] == 200
        _settle(lab, lambda: fwd.unfinished)

    yield run
    for fwd in forwarders:
        fwd.close()


# (ways to name the lab on 127.0.0.1 that its own host's spelling does not match; a name that
# does not resolve here is skipped)
LOOPS: dict[str, Callable[[int], str]] = {
    "this machine's name": lambda port: f"http://{_loopback_name(socket.gethostname())}:{port}/a",
    "ip6-localhost": lambda port: f"http://{_loopback_name('ip6-localhost')}:{port}/a",
    "localhost.": lambda port: f"http://{_loopback_name('localhost.')}:{port}/a",
    "127.1": lambda port: f"http://127.1:{port}/a",  # (inet_aton's short form of 127.0.0.1)
    "2130706433": lambda port: f"http://2130706433:{port}/a",  # (127.0.0.1 as one number)
    "v4-mapped": lambda port: f"http://[::ffff:127.0.0.1]:{port}/a",
}


@pytest.mark.parametrize("name", list(LOOPS))
def test_a_loop_through_any_name_of_the_lab_stops_at_the_first_capture_that_comes_back(
        lab, looping, name: str) -> None:  # type: ignore[no-untyped-def]
    """(eighth attacker) Forwarding through this machine's own name (in /etc/hosts as
    127.0.0.1, as Debian and Docker write it) made 1,270 captures of one request in 3 s."""
    looping(_reaching(LOOPS[name](lab.bound_port)))
    _assert_stopped_at_first_return(lab)


def test_a_loop_through_a_proxy_stops_at_the_first_capture_that_comes_back(lab, looping) -> None:  # type: ignore[no-untyped-def]
    relay = _Relay(lab.bound_port)
    try:
        lab.forward("a", relay.url + "/a")  # (another port: no URL check can tell)
        assert post(lab.url_for("a", "x"), b'{"n": 1}')[0] == 200
        _settle(lab, lambda: lab.forwards_pending)
    finally:
        lab.forward("a", None)
        relay.close()
    assert len(lab.captures) == 2  # it did come back, once
    _assert_stopped_at_first_return(lab)


def test_a_redirect_back_to_the_lab_is_not_followed(lab, looping) -> None:  # type: ignore[no-untyped-def]
    with Target(status=307, headers=[("Location", f"{lab.url}/a/x")]) as t:
        looping(t.url + "/a")
        assert len(t.received) == 1
    assert len(lab.captures) == 1 and lab.forwards()[0]["status"] == 307


def test_a_ring_of_two_labs_stops_where_it_started() -> None:
    """Lab one forwards bin ``a`` to lab two, which forwards it back: each lab's check sees
    another port. The capture comes back to ``a`` carrying ``a``'s mark and goes no further."""
    one = hooklab.HookLab(port=0, db=":memory:").start()
    two = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        one.forward("a", two.url_for("b"))
        two.forward("b", one.url_for("a"))
        assert post(one.url_for("a", "x"), b"{}")[0] == 200
        _settle(one, lambda: one.forwards_pending + two.forwards_pending)
        one.forward("a", None)
        two.forward("b", None)
        assert len(two.captures) == 1 and two.forwards()[0]["status"] == 200
        # both marks reach lab one: lab two's does not hide lab one's
        assert len(one.captures[-1].header_all(LOOP_HEADER)) == 2
        _assert_stopped_at_first_return(one)
    finally:
        two.stop()
        one.stop()


def test_forwarding_a_bin_on_to_another_bin_and_an_app_is_no_loop(lab) -> None:  # type: ignore[no-untyped-def]
    """The mark names the bin: ``a`` -> this lab's ``b`` -> an app is delivered (a mark of the
    lab alone would have stopped it at ``b``)."""
    relay = _Relay(lab.bound_port)  # (a hop the URL check cannot see, as above)
    try:
        with Target() as app:
            lab.forward("a", relay.url + "/b")
            lab.forward("b", app.url + "/hook")
            assert post(lab.url_for("a", "x"), b"{}")[0] == 200
            (got,) = app.wait(1)
            _settle(lab, lambda: lab.forwards_pending)
    finally:
        lab.forward("a", None)
        lab.forward("b", None)
        relay.close()
    assert [r["error"] for r in lab.forwards()] == [None, None]
    marks = [v for k, v in got.headers if k.lower() == LOOP_HEADER.lower()]
    assert len(marks) == 2 and marks[0] != marks[1]  # a's, then b's


@pytest.mark.parametrize("name", ["this machine's name", "ip6-localhost"])
def test_a_forward_to_a_name_of_this_machine_is_refused_at_once(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    url = LOOPS[name](lab.bound_port)
    with pytest.raises(ValueError, match="back to itself"):
        lab.forward("a", url)
    assert not lab.forwards()


def _an_address_of_this_machine() -> str:
    """A non-loopback address of this machine: the one a UDP socket would send from (connect
    on UDP sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # (TEST-NET-1: only the route is looked up)
        except OSError:
            pytest.skip("no route off this machine")
        address = s.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("only loopback here")
    return address


@pytest.mark.parametrize(("lab_host", "refused"), [("0.0.0.0", True), ("127.0.0.1", False)])
def test_a_lab_on_every_interface_refuses_a_forward_to_another_of_its_addresses(
        lab_host: str, refused: bool) -> None:
    """(eighth attacker) With host 0.0.0.0 the machine's other interface addresses passed the
    check. The lab is not started: its check uses the port it was given."""
    address = _an_address_of_this_machine()
    lab = hooklab.HookLab(host=lab_host, port=18765, db=":memory:")
    try:
        url = f"http://{address}:18765/a"
        if refused:
            with pytest.raises(ValueError, match="back to itself"):
                lab.forward("a", url)
        else:  # (a lab on loopback only: that address on its port is another server)
            lab.forward("a", url)
            lab.forward("a", None)
    finally:
        lab.stop()
