"""``lab.wait`` and ``lab.assert_received`` as a test author meets them: a count that is not
a number of captures and a timeout that is not seconds are refused at once with a message
that says what is wanted (a bin named first, as ``url_for``/``respond``/``secret`` take it,
read "expected orders capture(s)"; ``timeout=nan`` or ``inf`` waited for ever); a lab
stopped by another thread while ``wait`` waits says so; a lab that stopped serving says so
in ``wait``'s ``TimeoutError``. Found by an outside tester of the pytest plugin."""

from __future__ import annotations

import math
import threading
import time

import pytest
from _http import post

import hooklab


@pytest.fixture(scope="module")
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    post(lab.url_for("orders"), b"{}", {"Content-Type": "application/json"})
    lab.wait(1, timeout=10)
    yield lab
    lab.stop()


@pytest.mark.parametrize(("count", "error", "text"), [
    ("orders", TypeError, "got 'orders' (a bin is a filter: wait(1, bin='orders'))"),
    ("1", TypeError, "got '1'"),
    (0.5, ValueError, "got 0.5"),
    (float("nan"), ValueError, "got nan"),
    (float("inf"), ValueError, "got inf"),
    (True, TypeError, "got True"),
    (-1, ValueError, "0 or more: got -1"),
    (-1.0, ValueError, "0 or more: got -1.0"),
    (None, TypeError, "got None"),
    ([1], TypeError, "got [1]"),
])
def test_wait_refuses_a_count_that_is_not_a_number_of_captures(lab, count, error, text) -> None:
    t0 = time.monotonic()
    with pytest.raises(error) as e:
        lab.wait(count, timeout=5, bin="orders")
    assert time.monotonic() - t0 < 2  # at once, not after the timeout
    assert str(e.value).startswith("wait(count=...) is a number of captures")
    assert text in str(e.value)


@pytest.mark.parametrize(("count", "text"), [
    ("orders", "got 'orders' (a bin is a filter: assert_received(1, bin='orders'))"),
    ("1", "got '1'"),
    (0.5, "got 0.5"),
    (False, "got False"),
    (-2, "got -2"),
])
def test_assert_received_refuses_a_count_that_is_not_a_number_of_captures(lab, count, text) -> None:
    with pytest.raises((TypeError, ValueError)) as e:
        lab.assert_received(count)
    assert str(e.value).startswith("assert_received(count=...) is a number of captures")
    assert text in str(e.value)


def test_counts_that_are_numbers_of_captures_still_work(lab) -> None:
    import numpy as np

    assert [c.bin for c in lab.wait(1, bin="orders")] == ["orders"]
    assert [c.bin for c in lab.wait(np.int64(1), timeout=1, bin="orders")] == ["orders"]
    assert [c.bin for c in lab.wait(1.0, timeout=1, bin="orders")] == ["orders"]  # (as before)
    assert len(lab.assert_received(1.0, bin="orders")) == 1
    assert lab.wait(0, timeout=0, bin="nothing") == []
    assert len(lab.assert_received(1, bin="orders")) == 1
    assert lab.assert_received(0, bin="nothing") == []
    assert len(lab.assert_received(bin="orders")) == 1


@pytest.mark.parametrize(("timeout", "error", "text"), [
    (math.nan, ValueError, "wait(timeout=nan) refused"),
    (math.inf, ValueError, "wait(timeout=inf) refused"),
    (-math.inf, ValueError, "wait(timeout=-inf) refused"),
    (-1, ValueError, "wait(timeout=-1) refused"),
    (-0.001, ValueError, "wait(timeout=-0.001) refused"),
    ("1", TypeError, "got '1'"),
    (True, TypeError, "got True"),
    (b"1", TypeError, "got b'1'"),
])
def test_wait_refuses_a_timeout_that_is_not_seconds(lab, timeout, error, text) -> None:
    t0 = time.monotonic()
    with pytest.raises(error) as e:
        lab.wait(2, timeout=timeout, bin="orders")  # (one stored: it would have to wait)
    assert time.monotonic() - t0 < 2
    assert text in str(e.value)


@pytest.mark.parametrize("timeout", [0, 0.0, 0.3, 1])
def test_a_timeout_in_seconds_is_kept(lab, timeout) -> None:
    t0 = time.monotonic()
    with pytest.raises(TimeoutError) as e:
        lab.wait(2, timeout=timeout, bin="orders")
    took = time.monotonic() - t0
    assert timeout <= took < timeout + 2
    assert f"waited {timeout:g} s for 2 capture(s) matching bin='orders'; 1 matched" in str(e.value)


def test_timeout_none_waits_until_the_capture_comes(lab) -> None:
    threading.Timer(0.5, post, (lab.url_for("late"), b"{}", {})).start()
    t0 = time.monotonic()
    (cap,) = lab.wait(1, timeout=None, bin="late")
    assert cap.bin == "late" and time.monotonic() - t0 >= 0.4


@pytest.mark.parametrize("db", [":memory:", "file"])
def test_a_lab_stopped_while_wait_waits_says_so(tmp_path, db) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "w.sqlite3") if db == "file" else db).start()
    try:
        stopper = threading.Timer(0.5, lab.stop)
        stopper.start()
        t0 = time.monotonic()
        with pytest.raises(RuntimeError) as e:
            lab.wait(1, timeout=20, bin="orders")
        assert time.monotonic() - t0 < 5  # not the 20 s of the timeout
        assert str(e.value) == ("the lab was stopped while wait() waited for 1 capture(s) "
                                "matching bin='orders'")
        stopper.join(10)
    finally:
        lab.stop()


def test_a_lab_that_stopped_serving_says_so_when_wait_times_out() -> None:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        lab.stop_serving()
        with pytest.raises(TimeoutError) as e:
            lab.wait(1, timeout=0.2)
        assert "(0 captures in total; the lab is not serving: lab.start() serves again)" in str(e.value)
    finally:
        lab.stop()


# (request line target, X-GitHub-Event bytes, the label's path and event as hooklab serve shows them)
LABELS = [
    ("/café/crème".encode(), "café".encode(), "/café/crème", "café"),
    (b"/caf%C3%A9/x", b"push", "/caf%C3%A9/x", "push"),
    # (no UTF-8: the path's byte as %FF, as serve and the live view show a path; a header's
    # value a character a byte, "ÿ")
    (b"/\xff/x", b"\xff", "/%FF/x", "\xff"),
    ("/東京".encode(), "東京".encode(), "/東京", "東京"),
    (b"/bidi/\xe2\x80\xaeevil", b"x", "/bidi/\\u202eevil", "x"),  # (still escaped)
]


@pytest.mark.parametrize(("target", "event", "path", "shown"), LABELS)
def test_failure_messages_show_raw_utf8_as_its_sender_wrote_it(target, event, path, shown) -> None:
    import socket

    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=5) as s:
            s.sendall(b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: " + event
                      + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            assert s.recv(1000).startswith(b"HTTP/1.1 200")
        (cap,) = lab.wait(1, timeout=5)
        with pytest.raises(AssertionError) as e:
            lab.assert_received(count=2)
        assert str(e.value).endswith(f"newest captures: #{cap.id} POST {path} {shown}".rstrip())
        with pytest.raises(TimeoutError) as t:
            lab.wait(2, timeout=0)
        assert str(t.value).endswith(f"newest captures: #{cap.id} POST {path} {shown}".rstrip())
    finally:
        lab.stop()
