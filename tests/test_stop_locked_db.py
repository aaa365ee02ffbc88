"""A stop while captures wait on a database another program holds locked (a ``sqlite3``
shell inside ``BEGIN IMMEDIATE``, a case the README names) leaves no capture stored that was
not answered as its row says.

The stop answers the captures already read for up to ``STOP_GRACE`` (2 s) while the store
commits them, then closes the connections. The captures still waiting for the lock were not
taken back then: the store committed them once the lock was released (inside SQLite's 5 s
busy timeout), after their senders had been cut off, with ``status 200`` in their rows, and
``hooklab serve`` printed ``-> 200`` lines for them. A sender's retry then stored each twice.

Each case: one capture stored before, then five senders on 127.0.0.1 whose webhooks wait on
the lock, a stop (SIGTERM or Ctrl-C to ``hooklab serve``, ``lab.stop()`` in this process), and
the lock released before the grace ends, after it (within the busy timeout), or never (the
busy timeout fires). Afterwards the ids the senders had acknowledged (a 2xx with the JSON
answer's id) are exactly the ids stored, each with a 2xx status and its sender's body.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from _http import free_port
from test_cli import ENV, EXE, _as_from_a_terminal

import hooklab

pytestmark = pytest.mark.timeout(240)

SENDERS = 5
#: seconds after the stop at which the other program releases its lock: before the stop's
#: 2 s grace is over, after it (the writer's 5 s busy timeout began before the stop), never
RELEASES = {"before-grace": 0.5, "after-grace": 3.3, "never": None}


def _request(port: int, body: bytes) -> bytes:
    return (b"POST /s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: text/plain\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (port, len(body), body))


def _sender(port: int, body: bytes, sent: threading.Event, out: dict[bytes, object],
            how: str = "read", hang_up: threading.Event | None = None) -> None:
    """Send one webhook; ``out[body]`` is the id a 2xx answer acknowledged, else what came
    (``None``: the connection closed without an answer). ``how``: ``read`` the answer,
    ``half-close`` the sending side first (then read), or ``reset`` the connection once
    ``hang_up`` is set (SO_LINGER 0, as a sender killed or giving up: nothing read)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(_request(port, body))
            sent.set()
            if how == "reset":
                assert hang_up is not None and hang_up.wait(30)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                out[body] = None
                return
            if how == "half-close":
                s.shutdown(socket.SHUT_WR)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
                head, _, rest = data.partition(b"\r\n\r\n")
                m = re.search(rb"\r\ncontent-length: *(\d+)", head, re.I)
                if m and len(rest) >= int(m.group(1)):
                    break
    except OSError as exc:  # (a reset: no answer either)
        sent.set()
        out[body] = None if not isinstance(exc, TimeoutError) else "timed out"
        return
    if not data:
        out[body] = None
        return
    status = int(data.split(b" ", 2)[1])
    out[body] = json.loads(data.partition(b"\r\n\r\n")[2])["id"] if 200 <= status < 300 \
        else status


def _senders(port: int) -> tuple[list[threading.Thread], dict[bytes, object]]:
    out: dict[bytes, object] = {}
    threads = []
    for i in range(SENDERS):
        sent = threading.Event()
        t = threading.Thread(target=_sender, args=(port, b"during-%d" % i, sent, out),
                             daemon=True)
        t.start()
        assert sent.wait(10)
        threads.append(t)
    time.sleep(0.3)  # (read by the server and handed to the store: they wait on the lock)
    return threads, out


def _lock(db: Path) -> sqlite3.Connection:
    con = sqlite3.connect(db, isolation_level=None, timeout=10, check_same_thread=False)
    con.execute("BEGIN IMMEDIATE")  # another program writing: the store's writer waits
    return con


def _unlock(con: sqlite3.Connection | None) -> None:
    """The other program's lock released (if still held) and its connection closed."""
    if con is not None:
        if con.in_transaction:
            con.execute("COMMIT")
        con.close()


def _release_later(con: sqlite3.Connection, after: float | None) -> threading.Thread:
    """Release the lock ``after`` seconds from now (never: kept until the stop is over)."""
    def release() -> None:
        if after is not None:
            time.sleep(after)
            con.execute("COMMIT")

    t = threading.Thread(target=release, daemon=True)
    t.start()
    return t


def _check(db: Path, first: int, out: dict[bytes, object],
           senders: set[bytes] | None = None) -> None:
    """Acknowledged == stored, each with a 2xx status and its sender's body; no sender got
    anything but a 2xx or no answer (a 503 would be a capture refused, not this bug)."""
    acked = {body: v for body, v in out.items() if isinstance(v, int)}
    assert set(out) == (senders or {b"during-%d" % i for i in range(SENDERS)}), out
    assert all(v is None for b, v in out.items() if b not in acked), out
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = {cid: (status, bytes(body)) for cid, status, body in
                con.execute("SELECT id, status, body FROM captures WHERE id > ?", (first,))}
    finally:
        con.close()
    assert set(rows) == set(acked.values()), (rows, out)  # unanswered: not stored
    for body, cid in acked.items():
        assert rows[cid] == (200, body), (cid, rows[cid], body)
    assert all(not 200 <= s < 300 for cid, (s, _) in rows.items()
               if cid not in acked.values()), rows


def _expect(case: str, out: dict[bytes, object]) -> None:
    answered = sum(isinstance(v, int) for v in out.values())
    # never released: none can be answered. Released within the grace, all are committed and
    # answered, after it none, on an idle machine; on a loaded one (the suite's four workers on
    # two cores) a stop can be handled late enough to move a release across the grace's end,
    # so those two cases are left to _check (acknowledged == stored, whichever happened)
    if case == "never":
        assert answered == 0, out


def _serve(db: Path, port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [EXE, "serve", "--db", str(db), "--port", str(port), "--strict-port"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV,
        preexec_fn=_as_from_a_terminal)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("hooklab serve did not start within 60 s")


def _acknowledged_first(port: int) -> int:
    out: dict[bytes, object] = {}
    t = threading.Thread(target=_sender, args=(port, b"before", threading.Event(), out))
    t.start()
    t.join(30)
    assert isinstance(out.get(b"before"), int), out
    return out[b"before"]  # type: ignore[return-value]


@pytest.mark.parametrize("case", list(RELEASES))
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stopped_on_a_locked_database_stores_only_what_it_answered(
        tmp_path: Path, case: str, sig: int) -> None:
    db, port = tmp_path / "s.sqlite3", free_port()
    proc = _serve(db, port)
    con = None
    try:
        first = _acknowledged_first(port)
        con = _lock(db)
        threads, out = _senders(port)
        proc.send_signal(sig)
        releaser = _release_later(con, RELEASES[case])
        for t in threads:
            t.join(30)
        output, _ = proc.communicate(timeout=60)
        releaser.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        _unlock(con)
    assert proc.returncode == 0, output
    _check(db, first, out)
    _expect(case, out)
    # serve says "-> 200" only for what it answered
    said = {int(n) for n in re.findall(r"^#(\d+) .* -> 200 ", output, re.M)}
    assert said == {first, *(v for v in out.values() if isinstance(v, int))}, output


@pytest.mark.parametrize("case", list(RELEASES))
def test_lab_stop_on_a_locked_database_stores_only_what_it_answered(
        tmp_path: Path, case: str) -> None:
    db = tmp_path / "c.sqlite3"
    lab = hooklab.start(port=0, db=str(db))
    con = None
    try:
        port = int(lab.url.rsplit(":", 1)[1])
        first = _acknowledged_first(port)
        con = _lock(db)
        threads, out = _senders(port)
        releaser = _release_later(con, RELEASES[case])
        lab.stop()  # (from this thread, as a notebook cell calls it)
        for t in threads:
            t.join(30)
        releaser.join(10)
    finally:
        lab.stop()
        _unlock(con)
    assert not any(t.is_alive() for t in threads)
    _check(db, first, out)
    _expect(case, out)


def _slow_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's writer lingers 6 s once it claimed a capture (past the 2 s grace and the
    2 s the stop waits for a commit): a disk slow to take the write, which no real program
    makes happen at will."""
    claim = hooklab.store.store.Submitted.claim

    def slow(ticket: object) -> bool:
        took = claim(ticket)  # type: ignore[arg-type]
        time.sleep(6.0)
        return took

    monkeypatch.setattr(hooklab.store.store.Submitted, "claim", slow)


def _rows(db: Path) -> list[tuple[int, bytes]]:
    """``(status, body)`` of every stored capture, read as another program would."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT status, body FROM captures").fetchall()
    finally:
        con.close()


def test_a_capture_committed_only_after_the_stop_says_it_was_not_answered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The other way out: a capture the writer already holds the write lock for cannot be
    taken back. When its commit takes longer than the stop waits for it (a disk slow to take
    the write, stood in for here by a writer that lingers once it claimed the capture), its
    sender gets no answer and its row, stored as ``lab.stop()`` closes the database, says
    status 0: it was never answered. The row said 200."""
    db = tmp_path / "c.sqlite3"
    lab = hooklab.start(port=0, db=str(db))
    try:
        port = int(lab.url.rsplit(":", 1)[1])
        _slow_commits(monkeypatch)
        out: dict[bytes, object] = {}
        sent = threading.Event()
        t = threading.Thread(target=_sender, args=(port, b"slow", sent, out), daemon=True)
        t.start()
        assert sent.wait(10)
        time.sleep(0.3)
        lab.stop()
        t.join(30)
    finally:
        lab.stop()
    assert out == {b"slow": None}
    rows = _rows(db)
    assert rows == [(0, b"slow")], rows  # stored, and never a 2xx nobody was given


def test_a_status_told_as_the_store_closes_is_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A capture committed after the stop gave up on it has its row corrected to status 0 by
    the store's own thread (``record_status``). When ``lab.stop()`` closed the store between
    that call's look at whether the store is closed and its queueing of the change, the
    writer's stop marker went first: the writer ended before the change, and the row said 200
    for a sender that got no answer. Both moments are stood in for by delays, as no real
    program makes them happen at will: a writer that lingers once it claimed the capture (a
    commit slower than the stop's two graces), and a queueing of the status change that takes
    a second (the window is a few bytecodes wide)."""
    db = tmp_path / "c.sqlite3"
    lab = hooklab.start(port=0, db=str(db))
    telling = threading.Event()
    try:
        store = lab.store
        queued = store._queue

        class SlowToQueueAStatus:
            def put(self, item: object) -> None:
                if isinstance(item, tuple) and isinstance(item[0], dict) \
                        and "__status__" in item[0]:
                    telling.set()
                    time.sleep(1.0)
                queued.put(item)

            def __getattr__(self, name: str) -> object:
                return getattr(queued, name)

        monkeypatch.setattr(store, "_queue", SlowToQueueAStatus())
        _slow_commits(monkeypatch)
        out: dict[bytes, object] = {}
        sent = threading.Event()
        t = threading.Thread(target=_sender, args=(lab.bound_port, b"slow", sent, out),
                             daemon=True)
        t.start()
        assert sent.wait(10)
        time.sleep(0.3)
        lab.stop_serving()  # (the store stays open: the commit lands after the loop ended)
        t.join(30)
        assert telling.wait(30)  # the store's thread is telling the row's status ...
        lab.stop()  # ... as the store closes
    finally:
        lab.stop()
    assert out == {b"slow": None}
    rows = _rows(db)
    assert rows == [(0, b"slow")], rows


def _hanging(port: int, hows: dict[bytes, str], out: dict[bytes, object],
             hang_up: threading.Event) -> list[threading.Thread]:
    """One :func:`_sender` per body, each sending as ``hows`` says, its request sent."""
    threads = []
    for body, how in hows.items():
        sent = threading.Event()
        t = threading.Thread(target=_sender, args=(port, body, sent, out, how, hang_up),
                             daemon=True)
        t.start()
        assert sent.wait(10)
        threads.append(t)
    return threads


#: senders whose webhooks wait on the lock: two reset their connection while they wait (a
#: sender killed, or giving up after its own timeout), one half-closes and reads, one reads
HANGING = {b"reset-0": "reset", b"reset-1": "reset", b"half": "half-close", b"waits": "read"}


@pytest.mark.parametrize("when", ["no stop", "stop, released within the grace",
                                  "stop, released after it"])
def test_a_sender_that_hangs_up_while_the_database_is_locked_is_not_stored(
        tmp_path: Path, when: str) -> None:
    """A sender that resets its connection while its capture waits on a database another
    program holds locked got no answer: its capture is taken back, never stored (it was
    stored once the lock went, with status 200, and the sender's retry stored it twice),
    outside a stop as in one (the stop's own taking back only saw live connections)."""
    db = tmp_path / "c.sqlite3"
    lab = hooklab.start(port=0, db=str(db))
    con = None
    out: dict[bytes, object] = {}
    try:
        port = lab.bound_port
        first = _acknowledged_first(port)
        con = _lock(db)
        hang_up = threading.Event()
        threads = _hanging(port, HANGING, out, hang_up)
        time.sleep(0.3)  # (read by the server and handed to the store: they wait on the lock)
        hang_up.set()
        time.sleep(0.3)  # (the resets reached the lab)
        if when == "no stop":
            con.execute("COMMIT")
        else:
            releaser = _release_later(con, 0.5 if "within" in when else 3.3)
            lab.stop()
            releaser.join(10)
        for t in threads:
            t.join(30)
        lab.stop()
    finally:
        lab.stop()
        _unlock(con)
    assert not any(t.is_alive() for t in threads)
    assert out[b"reset-0"] is None and out[b"reset-1"] is None, out
    if when == "no stop":  # (the others are answered once the lock goes)
        assert all(isinstance(out[b], int) for b in (b"half", b"waits")), out
    _check(db, first, out, set(HANGING))
    bodies = {bytes(body) for _, body in _rows(db)}
    assert not bodies & {b"reset-0", b"reset-1"}, bodies  # taken back: never stored


def test_a_sender_that_hangs_up_while_a_retention_pass_waits_on_the_lock_is_not_stored(
        tmp_path: Path) -> None:
    """The store's own waits for another program's lock count as much as a batch's: a
    retention pass (``retention_age`` set) that waits the busy timeout for it held the
    captures queued behind it while :attr:`locked_out` said False, so a sender that reset its
    connection then was not taken back, and its capture was stored with status 200 once the
    lock went. The pass that fails says what failed ("database is locked")."""
    db = tmp_path / "c.sqlite3"
    lab = hooklab.start(port=0, db=str(db))
    con = None
    out: dict[bytes, object] = {}
    threads: list[threading.Thread] = []
    try:
        port = lab.bound_port
        first = _acknowledged_first(port)
        con = _lock(db)
        # set on a store in use: the writer looks now (an empty batch: its begin waits 5 s
        # for the lock and fails), then runs a pass, whose begin waits 5 s more
        lab.retention_age = 3600
        deadline = time.monotonic() + 20
        while lab.store.last_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lab.store.last_error is not None  # (the batch gave up: the pass waits now)
        hang_up = threading.Event()
        threads = _hanging(port, {b"reset-0": "reset", b"reset-1": "reset", b"waits": "read"},
                           out, hang_up)
        time.sleep(0.3)  # (read by the server and queued behind the pass)
        hang_up.set()
        while lab.store.retention_failing is None and time.monotonic() < deadline:
            time.sleep(0.05)
        failing = lab.store.retention_failing
        assert failing is not None and "locked" in failing[0], failing
        con.execute("COMMIT")  # (the next batch, waiting now, takes the lock)
        for t in threads:
            t.join(30)
        lab.store.flush()
    finally:
        lab.stop()
        _unlock(con)
    assert not any(t.is_alive() for t in threads)
    assert out[b"reset-0"] is None and out[b"reset-1"] is None, out
    assert isinstance(out[b"waits"], int), out  # (answered once the lock went)
    _check(db, first, out, {b"reset-0", b"reset-1", b"waits"})
    assert {bytes(body) for _, body in _rows(db)} == {b"before", b"waits"}
