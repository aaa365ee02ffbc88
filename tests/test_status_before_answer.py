"""A capture read once its sender has the answer says the status the sender got.

An outside tester's finding: with ``lab.respond("o", status=201, delay=0.05)``, 10-13 of 40
``assert_received(...)[-1].status`` reads made right after the sender got its 201 read 0: a
delayed answer's status was stored after its bytes went out. README: "It does not wait: after
the sender was answered, the capture is stored", and a retry test checking
``[c.status for c in caps] == [500, 200]`` with a delay rule was flaky. Now the row says the
status before the answer is written (and goes back to 0 if the write fails), delayed or not.

Each case: a real lab on 127.0.0.1 with a SQLite file, a sender on real sockets, and every
read made the moment the sender has its answer, on the test's own thread (no waiting).
"""

from __future__ import annotations

import re
import socket
import time

import pytest
from _http import exact_request
from _labs import file_module_lab

import hooklab

pytestmark = pytest.mark.timeout(120)

ROUNDS = 30


lab = file_module_lab()


def _post(port: int, path: str, method: str = "POST") -> int:
    """One request on a fresh connection, as a webhook sender makes it: the status it got."""
    body = b"" if method == "HEAD" else b'{"a": 1}'
    return exact_request(port, method, path, [("Content-Type", "application/json")], body)[0]


# (name, rule: status(es) and delay or None for none, method, the statuses the sender gets)
CASES = [
    ("no rule", None, "POST", [200] * ROUNDS),
    ("rule, no delay", (201, 0.0), "POST", [201] * ROUNDS),
    ("rule, delayed (the finding)", (201, 0.05), "POST", [201] * ROUNDS),
    ("rule, a short delay", (202, 0.001), "POST", [202] * ROUNDS),
    ("HEAD, delayed", (201, 0.02), "HEAD", [201] * ROUNDS),
    ("a retry: 500 then 200, delayed", ([500, 200], 0.02), "POST", [500] + [200] * (ROUNDS - 1)),
]


@pytest.mark.parametrize("name,rule,method,expected", CASES, ids=[c[0] for c in CASES])
def test_the_status_is_there_when_the_sender_has_its_answer(
        lab: hooklab.HookLab, name: str, rule: tuple | None, method: str,
        expected: list[int]) -> None:
    lab.reset()
    if rule is not None:
        lab.respond("o", status=rule[0], delay=rule[1])
    got, read_last, read_all, read_one = [], [], [], []
    for i in range(ROUNDS):
        got.append(_post(lab.bound_port, f"/o/{i}", method))
        # at once, as a test does right after the sender returned
        caps = lab.assert_received(count=i + 1, bin="o")
        read_last.append(caps[-1].status)
        read_one.append(lab.get(caps[-1].id).status)
        read_all.append([c.status for c in caps])
    assert got == expected
    assert read_last == expected
    assert read_one == expected
    assert read_all[-1] == expected
    assert [c.path for c in lab.captures] == [f"/o/{i}" for i in range(ROUNDS)]


def test_pipelined_behind_a_delayed_answer(lab: hooklab.HookLab) -> None:
    """A delayed answer and one queued behind it on the same connection: once the client has
    each answer, the captures say the statuses it read."""
    lab.reset()
    lab.respond("slow", status=202, delay=0.05)
    one = (b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na"
           b"POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nb")
    for _ in range(10):
        before = len(lab.captures)
        with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
            s.sendall(one)
            buf = b""
            deadline = time.monotonic() + 10
            # (the rule's answer has no body; the default one behind it ends with "}")
            while not (buf.count(b"HTTP/1.1 ") == 2 and buf.endswith(b"}")) \
                    and time.monotonic() < deadline:
                buf += s.recv(65536)
            read = [int(m) for m in re.findall(rb"HTTP/1\.1 (\d{3}) ", buf)]
            caps = list(lab.captures)[before:]
        assert read == [202, 200]
        assert [(c.path, c.status) for c in caps] == [("/slow", 202), ("/fast", 200)]


def test_a_delayed_answer_to_a_sender_that_reset_says_no_answer(lab: hooklab.HookLab) -> None:
    """The status stored ahead of the answer goes back to 0 when the answer never reaches the
    sender (reset during the delay): the row says what the sender got, nothing."""
    import struct

    lab.reset()
    lab.respond("gone", status=201, delay=0.3)
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=10) as s:
        s.sendall(b"POST /gone HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
        (cap,) = lab.wait(1, bin="gone", timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    assert cap.status == 0  # (stored, not answered yet)
    time.sleep(1.0)  # the delay is over: the lab tried, found the connection gone
    assert lab.get(cap.id).status == 0
