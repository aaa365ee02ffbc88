"""A lab that moved past a taken port listens on the port it moved to after a stop too.

``hooklab.start(port=P)`` with P taken listens on P+1 and warns; the user hands senders
``http://127.0.0.1:<P+1>/github``. After ``lab.stop_serving()`` (``%hooklab stop``) and
``lab.start()`` (``%hooklab start``) the lab went back to P, freed meanwhile: every sender got
"connection refused". The README promises the port the lab listens on "after a ``%hooklab
stop`` too", and that a port taken meanwhile moves the lab to the next free one, with a
warning naming both (as a taken port asked for does at the first start).

Real labs on 127.0.0.1, real sockets taking the ports, real database files, ``%hooklab`` in a
real kernel.
"""

from __future__ import annotations

import re
import socket
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from _http import free_port, post
from _kernels import KernelSession

import hooklab

pytestmark = pytest.mark.timeout(300)


def _ports_in_a_row(n: int) -> list[int]:
    """``n`` consecutive ports free now (free_port walks its stretch one by one)."""
    for _ in range(50):  # (bounded: a port another process holds breaks a row, rarely)
        row = [free_port() for _ in range(n)]
        if row == list(range(row[0], row[0] + n)):
            return row
    pytest.skip(f"no {n} free ports in a row on 127.0.0.1")


@contextmanager
def _taken(port: int) -> Iterator[socket.socket]:
    """Another program listening on ``port`` of 127.0.0.1."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (as servers do: the lab's
    try:  # closed connections on it, in TIME_WAIT, would refuse the bind)
        s.bind(("127.0.0.1", port))
        s.listen()
        yield s
    finally:
        s.close()


def _pause(how: str) -> Callable[[hooklab.HookLab], None]:
    return {"stop_serving": lambda lab: lab.stop_serving(), "stop": lambda lab: lab.stop()}[how]


# (asked: offset of the port asked for in the row, or "0"; taken: offsets held by another
# program at the first start, and at the restart; then the offset it listens on after it)
CASES = [
    # a taken port moved past, the taken one freed during the pause: the port moved to again
    ("moved, stop_serving", 0, {0}, set(), "stop_serving", 1),
    ("moved, stop", 0, {0}, set(), "stop", 1),
    # the port it moved to taken during the pause: the next free one after it
    ("moved, its port taken at restart", 0, {0}, {1}, "stop_serving", 2),
    ("moved, both taken at restart", 0, {0}, {0, 1}, "stop_serving", 2),
    # a port asked for and not moved: the same port (nothing kept, nothing changed)
    ("explicit port, not moved", 0, set(), set(), "stop_serving", 0),
    ("explicit port, stop", 0, set(), set(), "stop", 0),
    # an explicit port taken during the pause: the next free one, as at a first start
    ("explicit port taken at restart", 0, set(), {0}, "stop_serving", 1),
]


@pytest.mark.parametrize("case, asked, first, restart, how, listens", CASES,
                         ids=[c[0] for c in CASES])
def test_a_restarted_lab_listens_where_its_urls_point(
        tmp_path: Path, case: str, asked: int, first: set[int], restart: set[int], how: str,
        listens: int) -> None:
    row = _ports_in_a_row(3)
    db = str(tmp_path / "c.sqlite3")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with _taken(row[0]) if 0 in first else _nothing():
            lab = hooklab.HookLab(port=row[asked], db=db).start()
    try:
        moved = [str(w.message) for w in said if "in use" in str(w.message)]
        handed_out = lab.url_for("github")
        was = lab.bound_port
        assert was == row[1 if first else 0]
        assert moved == ([f"hooklab: port {row[0]} is in use; listening on {row[1]} instead"]
                         if first else [])
        assert post(handed_out, b"{}")[0] == 200
        _pause(how)(lab)
        takers = [_taken(row[i]) for i in sorted(restart)]
        for t in takers:
            t.__enter__()
        try:
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter("always")
                lab.start()
        finally:
            for t in takers:
                t.__exit__(None, None, None)
        moved = [str(w.message) for w in said if "in use" in str(w.message)]
        assert (lab.port, lab.bound_port) == (row[asked], row[listens])
        if was in {row[i] for i in restart}:  # (what a first start says of a taken port)
            assert moved == [f"hooklab: port {was} is in use; listening on {row[listens]} instead"]
        else:
            assert moved == []
            assert lab.url_for("github") == handed_out
            assert post(handed_out, b"{}")[0] == 200
        assert post(lab.url_for("github"), b"{}")[0] == 200
        assert len(lab.wait(3 if was == row[listens] else 2, timeout=10)) >= 2
    finally:
        lab.stop()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def test_a_port_0_lab_keeps_its_port_beside_the_moved_ones() -> None:
    """The row's port=0 case: the picked port again (as before this fix)."""
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        port = lab.bound_port
        lab.stop_serving()
        lab.start()
        assert (lab.port, lab.bound_port) == (0, port)
    finally:
        lab.stop()


def test_a_moved_lab_asked_for_another_port_while_stopped_takes_that_one() -> None:
    """The port it moved to is kept only while the setting is still the port asked for."""
    p, p1, _ = _ports_in_a_row(3)
    wanted = free_port()
    with warnings.catch_warnings(), _taken(p):
        warnings.simplefilter("ignore")
        lab = hooklab.HookLab(port=p, db=":memory:").start()
    try:
        assert lab.bound_port == p1
        lab.stop_serving()
        lab.port = wanted
        lab.start()
        assert (lab.port, lab.bound_port) == (wanted, wanted)
    finally:
        lab.stop()


def _stderr(kernel: KernelSession, since: int) -> str:
    return "".join(m["content"]["text"] for m in kernel.published[since:]
                   if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")


def test_hooklab_stop_then_start_in_a_kernel_keeps_the_moved_port(tmp_path: Path) -> None:
    p, p1, p2 = _ports_in_a_row(3)
    kernel = KernelSession(tmp_path)
    try:
        kernel.cell(f"import socket, hooklab\nother = socket.socket()\n"
                    f"other.bind(('127.0.0.1', {p})); other.listen()")
        since = len(kernel.published)
        kernel.cell(f"%config HookLab.port = {p}\n%config HookLab.db = ':memory:'\n"
                    "%load_ext hooklab")
        assert f"port {p} is in use; listening on {p1} instead" in _stderr(kernel, since)
        url = kernel.cell("print(hooklab.lab().url_for('github'))").strip()
        assert url == f"http://127.0.0.1:{p1}/github"
        kernel.cell("other.close()\n%hooklab stop")
        kernel.cell("%hooklab start")
        status = kernel.cell("%hooklab")
        assert f"http://127.0.0.1:{p1}" in status, status
        assert post(url, b"{}")[0] == 200  # (the sender's URL, from outside the kernel)
        assert kernel.cell("print(hooklab.lab().port, hooklab.lab().bound_port)").split() == [
            str(p), str(p1)]
        # its port taken during a pause: the next free one, the warning naming both
        kernel.cell(f"%hooklab stop\nother = socket.socket()\n"
                    "other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                    f"other.bind(('127.0.0.1', {p1})); other.listen()")
        since = len(kernel.published)
        kernel.cell("%hooklab start")
        said = _stderr(kernel, since)
        assert re.search(rf"port {p1} is in use; listening on {p2} instead", said), said
        assert post(f"http://127.0.0.1:{p2}/github", b"{}")[0] == 200
        kernel.cell("other.close()")
    finally:
        kernel.close()
