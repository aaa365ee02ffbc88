"""An operator's findings running ``hooklab serve`` on a small disk (a real tmpfs: root only).

- On a 16 MiB disk, ``--retention-count 100`` with 1 KB webhooks sent one after another
  stopped storing at the 251st, for good: the database file was still 4 KiB and its ``-wal``
  the whole disk. A small webhook's commit writes a page of the table, of each index and of
  the search index (some 60 KB of WAL for 1 KB of body) and the upkeep thread checkpointed
  only after 256 commits. The WAL is now checkpointed by its size too (past 4 MiB).
- ``/_hooklab/health`` kept answering 503 "failing" after the disk was freed (or the
  database file put back) until the next webhook came. The upkeep thread now tries a write
  of its own every few seconds while captures are not stored and clears the failure once it
  commits.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from pathlib import Path

import pytest
from _http import post_each
from _jupyter_server import stop_server
from _relsupport import serve, tmpfs

pytestmark = pytest.mark.timeout(180)

MB = 1 << 20


def _health(port: int) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/_hooklab/health")
        r = conn.getresponse()
        return r.status, json.loads(r.read())
    finally:
        conn.close()


def _body(i: int, size: int) -> bytes:
    """A JSON webhook of ``size`` bytes or a few more, numbered ``i`` (words, as payloads
    have)."""
    words = " ".join(f"w{i}x{k}" for k in range(size // 8))
    return json.dumps({"i": i, "text": words[:max(0, size - 30)]}).encode()


# (disk MiB, webhooks, body bytes, --retention-count): each one fills its disk many times
# over with WAL page copies on 256 commits, and far less with the captures kept
@pytest.mark.parametrize(("disk_mb", "sent", "size", "keep"), [
    (16, 600, 1_000, 100),  # the operator's
    (16, 1_500, 100, 50),  # tiny webhooks: the most commits for the fewest bytes
    (12, 500, 4_000, 20),  # a smaller disk, bigger bodies
    (6, 150, 8_000, None),  # less room than 4 MiB of WAL (no retention): checkpointed sooner
])
def test_a_small_disk_is_filled_by_captures_not_by_wal_page_copies(
        tmp_path: Path, disk_mb: int, sent: int, size: int, keep: int | None) -> None:
    with tmpfs(tmp_path / "disk", f"size={disk_mb}m") as disk:
        db = disk / "c.sqlite3"
        retention = ("--retention-count", str(keep)) if keep else ()
        proc, port = serve(db, "--quiet", *retention, log=tmp_path / "serve.log")
        keep = keep or sent
        try:
            bodies = [_body(i, size) for i in range(sent)]
            wal_peak = [0]

            def watch(_n: int, _status: int) -> None:
                try:
                    wal_peak[0] = max(wal_peak[0], os.path.getsize(f"{db}-wal"))
                except OSError:
                    pass

            statuses = post_each(port, "/orders", bodies, watch, timeout=30)
            refused = [n for n, s in enumerate(statuses) if s != 200]
            assert refused == [], (f"first refused: #{refused[0]} of {sent}, WAL peak "
                                   f"{wal_peak[0]}, files {sorted(os.listdir(disk))}")
            # the WAL stays within a few MiB: checkpointed by its size (4 MiB), plus what
            # came while a checkpoint ran
            assert wal_peak[0] <= 8 * MB, wal_peak[0]
            status, health = _health(port)
            assert (status, health["status"]) == (200, "ok"), health
            deadline = time.monotonic() + 15  # (retention trims about once a second)
            while health["captures"] > keep and time.monotonic() < deadline:
                time.sleep(0.2)
                status, health = _health(port)
            assert health["captures"] == keep, (health, {
                f: os.path.getsize(disk / f) for f in os.listdir(disk)})
        finally:
            stop_server(proc)
        # the newest `keep` captures, readable after the stop (as the senders sent them)
        import hooklab

        lab = hooklab.open(str(db))
        try:
            got = [c.body for c in lab.captures]
        finally:
            lab.stop()
        assert got == bodies[-keep:]


def _fill(path: Path) -> None:
    """Append zeros to ``path`` until the file system has no room left (ENOSPC)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for _ in range(10_000):  # (40 MiB at most)
            try:
                os.write(fd, b"\0" * 4096)
            except OSError:
                break
    finally:
        os.close(fd)


def _burst_until_refused(port: int) -> list[int]:
    return post_each(port, "/x", (os.urandom(100_000).hex().encode() for _ in range(12)),
                     timeout=30)


# how captures stop being stored, and what puts it right (None: nothing, it must stay failing)
@pytest.mark.parametrize(("how", "mend"), [
    ("full disk", "free the disk"),
    ("full disk", None),  # still full (to the last byte): health must say what a write gets
    ("file moved away", "move it back"),
    ("file moved away", None),  # still away: stays failing
])
def test_health_says_ok_once_a_write_would_succeed_without_waiting_for_a_webhook(
        tmp_path: Path, how: str, mend: str | None) -> None:
    with tmpfs(tmp_path / "disk", "size=4m") as disk:
        db = disk / "c.sqlite3"
        proc, port = serve(db, "--quiet", log=tmp_path / "serve.log")
        filler = disk / "filler"
        try:
            assert post_each(port, "/x", [b'{"a": 1}']) == [200]
            if how == "full disk":
                v = os.statvfs(disk)
                with open(filler, "wb") as f:  # all but a few hundred KB
                    f.write(b"\0" * (v.f_bavail * v.f_frsize - 700_000))
                statuses = _burst_until_refused(port)
                if mend is None:  # to the last byte
                    _fill(filler)
            else:
                os.rename(db, disk / "away.sqlite3")
                statuses = post_each(port, "/x", [b'{"a": 2}'])
            assert 503 in statuses, statuses
            status, health = _health(port)
            assert (status, health["status"]) == (503, "failing"), health
            if mend == "free the disk":
                filler.unlink()
            elif mend == "move it back":
                os.rename(disk / "away.sqlite3", db)
            # no webhook from here on: the store finds out by itself
            deadline = time.monotonic() + (15 if mend else 7)
            seen = []
            while time.monotonic() < deadline:
                status, health = _health(port)
                seen.append((status, health["status"]))
                if mend and status == 200:
                    break
                time.sleep(0.5)
            if mend:
                assert seen[-1] == (200, "ok"), seen
                assert health.get("error") is None, health
                assert post_each(port, "/x", [b'{"a": 3}']) == [200]  # (and it is true)
            else:
                # full to the last byte, a small write may still fit in the WAL file's room
                # (SQLite writes it over from the start once it is checkpointed): health
                # says what a webhook then gets, either way
                said = seen[-1]
                if how == "file moved away":  # (a write would go into the file moved away)
                    assert set(seen) == {(503, "failing")}, seen
                got = post_each(port, "/x", [b'{"a": 4}'])
                assert (said, got) in (((200, "ok"), [200]), ((503, "failing"), [503])), (
                    seen, got)
        finally:
            stop_server(proc)


def test_a_disk_filled_by_captures_reads_back_every_acknowledged_one(tmp_path: Path) -> None:
    """No retention, webhooks until the disk is full: what fills it is captures (thousands,
    where the WAL's page copies stopped it at 250 of them on 16 MiB), and after the stop every
    acknowledged capture is read back on the full disk (a WAL that held the whole disk left
    no room for the ``-shm`` a reader needs to read it: ``hooklab.open`` refused)."""
    import hooklab

    with tmpfs(tmp_path / "disk", "size=6m") as disk:
        db = disk / "c.sqlite3"
        proc, port = serve(db, "--quiet", log=tmp_path / "serve.log")
        acked: list[bytes] = []
        refused = 0
        try:
            def each(n: int, status: int) -> None:
                nonlocal refused
                if status == 200:
                    acked.append(bodies[n])
                else:
                    refused += 1

            bodies = [_body(i, 1_000) for i in range(8_000)]
            conn_bodies = iter(bodies)
            post_each(port, "/fill", (b for b in conn_bodies if refused < 20), each,
                      timeout=30)
        finally:
            stop_server(proc)
        assert refused, "the disk never filled"
        assert len(acked) > 1_000, len(acked)  # (main: 87, the rest WAL page copies)
        lab = hooklab.open(str(db))
        try:
            assert [c.body for c in lab.captures] == acked
        finally:
            lab.stop()
