"""What ``hooklab serve`` says of a disk that fills and frees again and again, on a real full
disk (a small tmpfs), checked against what the senders got.

An operator saw "captures are not being stored (...); senders get 503 (2 times since the last
line)" while ``/_hooklab/health`` said ``refused {"503": 1512}``: the "2 times" counted the
store's failure episodes, and read as the 503s. And two episodes a look of serve's apart (it
looks every 0.2 s), captures stored between them, were said with no "captures are being
stored again" between them, where the README promises that line each time, however short.
Now each time is said and its end too, and lines say how many requests were answered 503:
they add up to what the senders got, as health's ``refused`` does."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from _http import post
from _relsupport import serve, tmpfs

DOWN = "hooklab: captures are not being stored (OperationalError: database or disk is full)"
UP = "hooklab: captures are being stored again"
COUNTED = re.compile(r"hooklab: (\d+) requests? answered 503 while captures were not being "
                     r"stored( \(nor at the stop\))?")


def _fill(path: Path) -> None:
    """Write zeros to ``path`` until the file system has no room left (ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        chunk = b"\0" * 4096
        for _ in range(10_000):  # (3 MiB: 768 chunks at most)
            try:
                os.write(fd, chunk)
            except OSError:
                break
    finally:
        os.close(fd)


def _post(port: int, n: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/full", body=b"%08d" % n + b"y" * 1000)
        r = conn.getresponse()
        r.read()
        return r.status
    finally:
        conn.close()


@pytest.mark.parametrize("at_the_stop", ["room again", "still full"])
def test_each_full_disk_time_is_said_with_its_end_and_the_503s_add_up(
        tmp_path: Path, at_the_stop: str) -> None:
    log = tmp_path / "serve.log"
    with tmpfs(tmp_path / "small", "size=3m") as small:
        proc, port = serve(small / "c.sqlite3", "--quiet", log=log)
        statuses: list[int] = []
        try:
            n = 0
            for cycle in range(15):  # full for ~0.1 s, then room for one capture: several
                _fill(small / f"filler{cycle}")  # times between two looks of serve's
                deadline = time.monotonic() + 0.1
                for _ in range(200):
                    n += 1
                    statuses.append(_post(port, n))
                    if statuses[-1] == 503 and time.monotonic() > deadline:
                        break
                if cycle == 14 and at_the_stop == "still full":
                    break
                (small / f"filler{cycle}").unlink()
                for _ in range(200):  # (the first, as a rule; a retry of the WAL's room may
                    n += 1  # take a moment)
                    statuses.append(_post(port, n))
                    if statuses[-1] == 200:
                        break
                    time.sleep(0.01)
            health = json.loads(post(f"http://127.0.0.1:{port}/_hooklab/health", None,
                                     method="GET")[1])
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
        finally:
            if proc.poll() is None:  # (a serve that did not stop: the test fails below)
                proc.kill()
                code = proc.wait(10)
    assert code == 0
    said = log.read_text(encoding="utf-8")
    n503 = statuses.count(503)
    # (what the senders got: 200s and 503s only, 15 times full, each time ended by a 200
    # but for the last one when it stays full)
    runs = sum(1 for a, b in zip([200, *statuses], statuses, strict=False) if a == 200 and b == 503)
    assert set(statuses) == {200, 503} and runs >= 15, statuses
    assert health["refused"] == {"503": n503}, (health, n503)
    lines = [x for x in said.splitlines() if x.startswith(("hooklab: captures", DOWN[:9]))
             and (x.startswith((DOWN, UP)) or COUNTED.fullmatch(x))]
    states = [x for x in lines if not COUNTED.fullmatch(x)]
    # each time said, and its end before the next one is: never two "not being stored" in a
    # row (the last one unended only when the disk is still full at the stop)
    for i, line in enumerate(states):
        assert line.startswith(DOWN) if i % 2 == 0 else line == UP, (i, states)
    assert len(states) % 2 == (1 if at_the_stop == "still full" else 0), states
    times = sum(int(m.group(1)) if (m := re.search(r"it stopped (\d+) times", x)) else 1
                for x in states[::2])
    assert times >= runs, (times, runs, states)
    # the 503s said add up to those the senders got, as health's count does
    counts = [COUNTED.fullmatch(x) for x in lines if COUNTED.fullmatch(x)]
    assert sum(int(m.group(1)) for m in counts) == n503, (lines, n503)
    # ("nor at the stop" only last, when the disk is still full then; the 503s of the last
    # time may all have been said already, counted as the time before it ended)
    stop_said = [bool(m.group(2)) for m in counts]
    assert not any(stop_said[:-1]) and (at_the_stop == "still full" or not any(stop_said)), lines


#: ``hooklab serve`` looking at the store once an hour: its only look is the one at the stop,
#: so that whatever happens before falls between two looks for sure (it looks every 0.2 s)
_ONE_LOOK = ("import sys, hooklab.cli as cli; cli._LOOK_EVERY = 3600.0; "
             "sys.exit(cli.main(sys.argv[1:]))")


def _until(port: int, n: int, status: int) -> tuple[list[int], int]:
    """Post until one is answered ``status`` (bounded); the statuses and the next number."""
    got: list[int] = []
    for _ in range(300):
        n += 1
        got.append(_post(port, n))
        if got[-1] == status:
            return got, n
        time.sleep(0.02)
    raise AssertionError(f"never answered {status}: {got}")


@pytest.mark.parametrize("at_the_stop", ["room again", "still full"])
def test_a_time_over_and_another_begun_between_two_looks_are_each_said(
        tmp_path: Path, at_the_stop: str) -> None:
    # an outside tester's sequence: 503, then #10 and #11 stored, then 503 again, all
    # between two of serve's looks; it said one line, "(it stopped 2 times since the last
    # line)" with no line before it, no "stored again", and all 503s as the second time's
    log = tmp_path / "serve.log"
    with tmpfs(tmp_path / "small", "size=3m") as small:
        proc, port = serve(small / "c.sqlite3", "--quiet", log=log,
                           program=[sys.executable, "-c", _ONE_LOOK])
        try:
            _fill(small / "filler1")
            first, n = _until(port, 0, 503)  # (200s while the WAL still had room)
            first += [_post(port, n + 1), _post(port, n + 2)]  # (the first time: 3 503s)
            n += 2
            (small / "filler1").unlink()
            stored, n = _until(port, n, 200)
            stored.append(_post(port, n := n + 1))  # (two stored, as #10 and #11)
            _fill(small / "filler2")
            second, n = _until(port, n, 503)
            second.append(_post(port, n := n + 1))
            if at_the_stop == "room again":
                (small / "filler2").unlink()
                after, n = _until(port, n, 200)
            else:
                after = []
            statuses = first + stored + second + after
            health = json.loads(post(f"http://127.0.0.1:{port}/_hooklab/health", None,
                                     method="GET")[1])
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                code = proc.wait(10)
    assert code == 0
    # what the senders got, counted from their answers
    a = (first + stored).count(503)  # (a time is over at the first 200 after it)
    b = (second + after).count(503)
    assert a >= 3 and b >= 2 and stored[-2:] == [200, 200], statuses
    assert health["refused"] == {"503": a + b}, (health, a, b)
    lines = [x for x in log.read_text(encoding="utf-8").splitlines()
             if x.startswith("hooklab: captures") or COUNTED.fullmatch(x)]
    plural = "s" if a != 1 else ""
    expected = [DOWN + "; senders get 503", UP,
                f"hooklab: {a} request{plural} answered 503 while captures were not being stored",
                DOWN + "; senders get 503"]
    if at_the_stop == "room again":
        expected += [UP, f"hooklab: {b} requests answered 503 while captures were not being "
                         "stored"]
    else:
        expected += [f"hooklab: {b} requests answered 503 while captures were not being stored"
                     " (nor at the stop)"]
    assert lines == expected, log.read_text(encoding="utf-8")
