"""A lab stopped and started again listens on the port it had, a ``port=0`` lab's too: the
README's ``%hooklab stop`` pauses ("until %hooklab start"), and every URL handed out
(``lab.url``, a sender's config) should work after the pause. A ``port=0`` lab came back on
a new port (43725 -> 41027), the sender's URL dead. Taken meanwhile by another program: the
next free one, with the warning that names both (a ``strict_port`` lab: any free one).

Real labs on 127.0.0.1, real sockets taking the port, ``%hooklab`` in a real IPython shell.
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from _http import post
from IPython.core.interactiveshell import InteractiveShell
from test_small_magics import shell  # noqa: F401 - the fixture (%load_ext hooklab, port 0)

import hooklab


def _pause(how: str) -> Callable[[hooklab.HookLab], None]:
    return {"stop_serving": lambda lab: lab.stop_serving(),
            "stop": lambda lab: lab.stop()}[how]


# (a :memory: lab is paused with stop_serving: stop() ends its captures)
@pytest.mark.parametrize("how, db", [("stop_serving", ":memory:"), ("stop_serving", "file"),
                                     ("stop", "file")])
def test_a_port_0_lab_takes_its_port_again(tmp_path: Path, how: str, db: str) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3") if db == "file" else db).start()
    try:
        port, url = lab.bound_port, lab.url_for("orders")
        assert post(url, b"{}")[0] == 200
        _pause(how)(lab)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # (nothing to warn about: the port was free)
            lab.start()
        assert (lab.port, lab.bound_port, lab.url_for("orders")) == (0, port, url)
        assert post(url, b"{}")[0] == 200
        assert [c.path for c in lab.wait(2, timeout=10)] == ["/orders", "/orders"]
    finally:
        lab.stop()


@pytest.mark.parametrize("strict", [False, True])
def test_a_port_taken_during_the_pause_moves_the_lab(strict: bool) -> None:
    """To the next free one, with the warning that names both; a strict_port lab (which
    would refuse a taken port it was asked for) to any free one, it asked for port 0, with a
    warning too (it moved silently: the security review)."""
    lab = hooklab.HookLab(port=0, db=":memory:", strict_port=strict).start()
    taker = socket.socket()
    try:
        port = lab.bound_port
        lab.stop_serving()
        taker.bind(("127.0.0.1", port))
        taker.listen()
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            lab.start()
        moved = [str(w.message) for w in said if "in use" in str(w.message)]
        assert moved == [f"hooklab: port {port}, which this lab listened on, is in use now; "
                         f"listening on {lab.bound_port} instead" if strict else
                         f"hooklab: port {port} is in use; listening on {lab.bound_port} instead"]
        assert lab.bound_port not in (None, port) and lab.port == 0
        assert post(lab.url_for("x"), b"{}")[0] == 200
    finally:
        taker.close()
        lab.stop()


@pytest.mark.parametrize("change", ["port", "host"])
def test_a_port_or_host_set_after_the_pause_is_what_the_lab_takes(change: str) -> None:
    """The port it had is taken again only by a lab still asked for port 0 on that host."""
    from _http import free_port

    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        port = lab.bound_port
        lab.stop_serving()
        if change == "port":
            wanted = free_port()
            lab.port = wanted
            lab.start()
            assert lab.bound_port == wanted
        else:
            lab.host = "::1" if socket.has_ipv6 else "localhost"
            try:
                lab.start()
            except OSError:
                pytest.skip("no IPv6 loopback here")
            assert lab.server is not None and lab.server.host == lab.host
    finally:
        lab.stop()
    assert port  # (the first port: any, it is not asked for again)


def test_hooklab_stop_then_start_in_a_notebook_keeps_the_url(shell: InteractiveShell) -> None:  # noqa: F811
    lab = hooklab.lab()
    url = lab.url_for("orders")
    shell.run_line_magic("hooklab", "stop")
    assert not lab.is_running
    shell.run_line_magic("hooklab", "start")
    assert hooklab.lab() is lab and lab.url_for("orders") == url
    assert post(url, b"{}")[0] == 200
