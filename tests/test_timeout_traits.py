"""The capture server's timeouts (``idle_timeout``, ``first_byte_timeout``, ``body_timeout``)
and the stream's limits take what ``forward_timeout`` takes (0.1 to 86400 seconds; a count or
size of 1 or more) or are refused naming the setting, the lab going on with what it had. They
took -1, 0 and NaN without a word, and changed how senders were answered: ``body_timeout = -1``
answered 408 to a body 0.5 s behind its head (nothing stored), ``first_byte_timeout = 0``
turned the slow-client guard off, ``idle_timeout = -5`` left a keep-alive connection's second
request unanswered (an outside tester, in a real kernel with ``%config``)."""

from __future__ import annotations

import math
import socket
import time
from urllib.parse import urlsplit

import pytest
from nbclient.exceptions import CellExecutionError
from test_kernel import Kernel
from traitlets import TraitError

import hooklab

TIMEOUTS = ["idle_timeout", "first_byte_timeout", "body_timeout", "stream_write_timeout"]
#: no number of seconds a timeout can wait: each refused
BAD = [-1, -5.0, 0, 0.0, 0.05, math.nan, math.inf, -math.inf, 1e10, True, False, "5", None]
#: the ends of the range and a usual value: taken, as a float
GOOD = [(0.1, 0.1), (86400, 86400.0), (5, 5.0), (2.5, 2.5)]


@pytest.fixture(scope="module")
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()  # (not the default lab: conftest
    yield lab  # stops that one after each test)
    lab.stop()


@pytest.mark.parametrize("name", TIMEOUTS)
@pytest.mark.parametrize("value", BAD, ids=repr)
def test_a_timeout_that_is_no_time_is_refused_and_the_old_one_stays(lab, name, value) -> None:
    before = getattr(lab, name)
    with pytest.raises(TraitError, match=rf"^HookLab\.{name}: timeout must be 0\.1 to 86400"):
        setattr(lab, name, value)
    assert getattr(lab, name) == before
    if name != "stream_write_timeout":
        assert getattr(lab.server, name) == before  # (the running server's too)


@pytest.mark.parametrize("name", TIMEOUTS)
@pytest.mark.parametrize(("value", "kept"), GOOD)
def test_a_timeout_in_range_is_taken(name, value, kept) -> None:
    lab = hooklab.HookLab(port=0, db=":memory:", **{name: value})
    assert getattr(lab, name) == kept and type(getattr(lab, name)) is float


@pytest.mark.parametrize("name", ["stream_max_pending", "stream_max_pending_bytes"])
@pytest.mark.parametrize("value", [0, -1, -(1 << 40)])
def test_a_stream_limit_below_one_is_refused(lab, name, value) -> None:
    before = getattr(lab, name)
    with pytest.raises(TraitError, match=name):
        setattr(lab, name, value)
    assert getattr(lab, name) == before


def test_a_refused_body_timeout_leaves_a_slow_body_captured(lab) -> None:
    """``body_timeout = -1`` was taken: a body sent 0.5 s after its head got 408, not stored."""
    with pytest.raises(TraitError):
        lab.body_timeout = -1
    with socket.create_connection(("127.0.0.1", urlsplit(lab.url).port), timeout=10) as s:
        s.sendall(b"POST /slowbody HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n")
        time.sleep(0.5)
        s.sendall(b"{}")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert lab.wait(1, bin="slowbody", timeout=10)[-1].body == b"{}"


def test_config_in_a_kernel_refuses_it(tmp_path) -> None:
    """As the tester met it: ``%config`` on a running lab in a real kernel."""
    with Kernel(tmp_path) as k:
        k.run("%config HookLab.port = 0\n%config HookLab.db = ':memory:'\n%load_ext hooklab")
        with pytest.raises(CellExecutionError) as info:  # (so "Run All" stops there)
            k.run("%config HookLab.body_timeout = -1")
        assert "HookLab.body_timeout: timeout must be 0.1 to 86400 seconds, got -1" in str(
            info.value)
        out = k.run("import hooklab; print('now', hooklab.lab().body_timeout)")
        assert out.strip() == "now 60.0", out
