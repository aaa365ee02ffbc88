"""Faults: kill -9 mid-burst loses no acknowledged capture; bad database files are never touched."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from _http import post
from _rawclient import body_for, burst
from _relsupport import HOOKLAB, as_from_a_terminal, serve, tmpfs

import hooklab
from hooklab import HookLab
from hooklab.store import CaptureStore, StoreError

pytestmark = pytest.mark.timeout(180)


def _kill_during_burst(port: int, pid: int, kill_after: int, bin: str, connections: int = 50) -> list:
    """Burst at ``port``; SIGKILL ``pid`` once ``kill_after`` answers arrived. Returns acks."""

    def on_ack(res) -> None:  # type: ignore[no-untyped-def]
        if len(res.acked) == kill_after:
            os.kill(pid, signal.SIGKILL)

    res = asyncio.run(burst(port, connections, 2000, seconds=60, on_ack=on_ack, bin=bin))
    assert res.errors, "the server was killed: connections must have failed"
    return [(bin, *a) for a in res.acked]


def _check_durable(db, acked: list) -> tuple[int, int]:
    """Every 2xx-acknowledged request is stored once, byte-exact; returns (stored, in_flight)."""
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    con.close()
    lab = hooklab.open(db)  # what a user does after the crash
    try:
        caps = {c.id: c for c in lab.store.query(path=None)}
    finally:
        lab.stop()
    ok = [(bin, conn, seq, cid) for bin, conn, seq, status, cid in acked if 200 <= status < 300]
    assert len(ok) == len(acked)
    for bin, conn, seq, cid in ok:
        cap = caps.get(cid)
        assert cap is not None, f"acknowledged capture {cid} ({bin} c{conn} r{seq}) lost after kill -9"
        assert cap.body == body_for(conn, seq, bin) and cap.path == f"/{bin}/c{conn}"
    # nothing stored twice: one row per (round, connection, sequence)
    keys = [(c.path, c.query["seq"][0]) for c in caps.values()]
    assert len(keys) == len(set(keys))
    return len(caps), len(caps) - len(ok)


def test_kill_9_mid_burst_keeps_every_acknowledged_capture(tmp_path):
    db = tmp_path / "crash.sqlite3"
    all_acked: list = []
    figures = []
    for round_, kill_after in enumerate((1500, 2500)):
        proc, port = serve(db, log=tmp_path / f"serve{round_}.log")
        try:
            t0 = time.monotonic()
            acked = _kill_during_burst(port, proc.pid, kill_after, bin=f"round{round_}")
            assert proc.wait(10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        all_acked += acked
        stored, extra = _check_durable(db, all_acked)
        figures.append((len(acked), stored, extra, time.monotonic() - t0))
    # after the crash the database serves on: ids keep increasing
    lab = HookLab(port=0, db=str(db)).start()
    try:
        assert post(lab.url_for("after"), b"after crash")[0] == 200
        (cap,) = lab.wait(1, timeout=10, bin="after")
        assert cap.id > max(cid for *_, cid in all_acked)
    finally:
        lab.stop()
    for i, (n, stored, extra, secs) in enumerate(figures):
        print(f"\nkill -9 round {i + 1}: {n} acknowledged before the kill, {stored} stored in total "
              f"({extra} stored but unanswered: in flight), {secs:.1f} s")


def _keep_alive_senders(port: int, n: int, stop) -> tuple[list, list[threading.Thread]]:
    """``n`` threads, each POSTing unique bodies on one keep-alive connection until ``stop``
    is set or its connection fails (no retry: a sender that retries would hide a lost
    answer). Each answer goes into the list returned: (status, capture id, body sent)."""
    import http.client

    answers: list[tuple[int, int | None, bytes]] = []

    def send(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for i in range(100_000):
                if stop.is_set():
                    return
                body = b"sender %d request %d " % (k, i) + os.urandom(500)
                try:
                    conn.request("POST", f"/load/c{k}", body=body)
                    r = conn.getresponse()
                    text = r.read()
                except (OSError, http.client.HTTPException):
                    return  # (the server stopped: this request was not answered)
                cid = json.loads(text)["id"] if r.status == 200 else None
                answers.append((r.status, cid, body))
        finally:
            conn.close()

    threads = [threading.Thread(target=send, args=(k,), daemon=True) for k in range(n)]
    for t in threads:
        t.start()
    return answers, threads


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_stop_under_load_answers_every_capture_it_stored(tmp_path, sig):
    """SIGTERM (or Ctrl-C, or the terminal closing) with ten keep-alive senders busy: about
    one capture per busy connection was committed while the connections were being closed,
    and never answered, so each sender retried it and it was stored twice. Now serve stops
    reading, answers what it took, then closes: stored is exactly what was answered 200."""
    signum = getattr(signal, sig)  # (serve starts as from a terminal: it hears each one)
    unanswered: list[tuple[int, list[int]]] = []
    for round_ in range(3):
        db = tmp_path / f"stop{round_}.sqlite3"
        proc, port = serve(db, "--quiet", log=tmp_path / f"stop{round_}.log")
        stop = threading.Event()
        try:
            answers, threads = _keep_alive_senders(port, 8, stop)
            deadline = time.monotonic() + 10
            while len(answers) < 200:  # (all senders busy: the stop comes mid-traffic)
                assert time.monotonic() < deadline, "the senders got no answers"
                time.sleep(0.02)
            t0 = time.monotonic()
            proc.send_signal(signum)
            assert proc.wait(15) == 0, (tmp_path / f"stop{round_}.log").read_text()
            assert time.monotonic() - t0 < 8  # (the wait for answers is bounded)
        finally:
            stop.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for t in threads:
            t.join(15)
        assert not any(t.is_alive() for t in threads)
        assert {status for status, _, _ in answers} == {200}
        lab = hooklab.open(str(db))
        try:
            stored = {c.id: c.body for c in lab.captures}
        finally:
            lab.stop()
        answered = {cid: body for _, cid, body in answers}
        assert len(answered) == len(answers)  # (no id answered twice)
        assert all(stored.get(cid) == body for cid, body in answered.items())  # 200: stored
        unanswered.append((len(answered), sorted(set(stored) - set(answered))))
    # stored but never answered: each one a sender's retry, a duplicate
    assert all(not ids for _, ids in unanswered), unanswered


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bad_files(tmp_path):
    """name -> path of a file hooklab must refuse and leave alone."""
    files = {}
    files["text"] = tmp_path / "notes.sqlite3"
    files["text"].write_text("my notes, not a database\n" * 200)
    files["random"] = tmp_path / "random.db"
    files["random"].write_bytes(os.urandom(64 * 1024))
    # a real capture database, then damaged in three ways
    good = tmp_path / "good.sqlite3"
    with CaptureStore(good) as s:
        for i in range(1500):
            s.add({"method": "POST", "path": f"/x/{i}", "body": os.urandom(600)})
        s.flush()
    size = good.stat().st_size
    files["truncated"] = tmp_path / "truncated.sqlite3"
    shutil.copy(good, files["truncated"])
    with open(files["truncated"], "r+b") as f:
        f.truncate(size // 2)
    files["garbled"] = tmp_path / "garbled.sqlite3"
    shutil.copy(good, files["garbled"])
    with open(files["garbled"], "r+b") as f:
        f.seek(4096 * 3)
        f.write(os.urandom(4096 * 8))
    files["bad-magic"] = tmp_path / "magic.sqlite3"
    shutil.copy(good, files["bad-magic"])
    with open(files["bad-magic"], "r+b") as f:
        f.write(b"NOT SQLITE AT AL")
    # foreign SQLite databases: another app's, even one with a table named "captures"
    for name, sql in {
        "foreign": "CREATE TABLE users (id INTEGER, email TEXT); INSERT INTO users VALUES (1, 'a@b')",
        "foreign-captures": "CREATE TABLE captures (id INTEGER, note TEXT); INSERT INTO captures VALUES (1, 'x')",
        "foreign-meta": "CREATE TABLE captures (id INTEGER, bin TEXT, body BLOB);"
        " CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        " INSERT INTO meta VALUES ('format', 'someone-else-2')",
    }.items():
        files[name] = tmp_path / f"{name}.db"
        con = sqlite3.connect(files[name])
        con.executescript(sql)
        con.commit()
        con.close()
    return files


def test_corrupt_or_foreign_database_is_refused_by_name_and_never_touched(tmp_path, capfd):
    files = _bad_files(tmp_path)
    tried = 0
    for name, path in files.items():
        before = _digest(path)
        mtime = path.stat().st_mtime_ns
        # 1) the store, 2) a serving lab, 3) hooklab.open, 4) the command line
        with pytest.raises(StoreError, match=path.name):
            CaptureStore(path)
        lab = HookLab(port=0, db=str(path))
        with pytest.raises(StoreError, match=path.name) as info:
            lab.start()
        assert "untouched" in str(info.value), name
        assert not lab.is_running
        with pytest.raises(StoreError, match=path.name):
            hooklab.open(path)
        for cmd in _cli_commands(path):
            cli = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            assert cli.returncode != 0 and path.name in cli.stderr, (name, cli.stderr)
        assert _digest(path) == before, f"{name} was modified"
        assert path.stat().st_mtime_ns == mtime, f"{name} was written to"
        tried += 1
    print(f"\nbad database files refused and untouched: {tried} kinds x 6 entry points")


def _cli_commands(path) -> list[list[str]]:
    return [
        [*HOOKLAB, "serve", "--port", "0", "--db", str(path)],
        [*HOOKLAB, "export", "--db", str(path), "--format", "jsonl"],
        [*HOOKLAB, "replay", "--db", str(path), "--id", "1", "--to", "http://127.0.0.1:9/"],
    ]


def test_cli_reports_a_bad_database_in_one_line(tmp_path):
    path = tmp_path / "notes.sqlite3"
    path.write_text("not a database\n" * 100)
    for cmd in _cli_commands(path):
        cli = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert "Traceback" not in cli.stderr, cli.stderr


def test_empty_file_becomes_a_capture_database(tmp_path):
    # an empty file has nothing to lose: SQLite treats it as a new database
    path = tmp_path / "empty.sqlite3"
    path.touch()
    with CaptureStore(path) as s:
        assert s.add_sync({"method": "POST", "path": "/a", "body": b"1"}).id == 1


def test_kill_during_first_creation_cannot_leave_a_half_made_database(tmp_path):
    # the schema is created in one transaction: either a hooklab database or nothing
    code = (
        "import os, sys\n"
        "from hooklab.store import CaptureStore\n"
        "s = CaptureStore(sys.argv[1])\n"
        "os.kill(os.getpid(), 9)\n"
    )
    for i in range(3):
        path = tmp_path / f"new{i}.sqlite3"
        subprocess.run([sys.executable, "-c", code, str(path)], timeout=30)
        with CaptureStore(path) as s:  # reopens fine after the kill
            assert s.add_sync({"method": "POST", "path": "/a", "body": b"1"}).id == 1


def test_the_wal_stays_small_when_each_commit_holds_one_capture(tmp_path):
    """One sender, one webhook at a time: each commit adds a page of the table and of each
    index to the WAL (some 40 KB for a 10-byte body), and a checkpoint came only every 2,048
    captures: the WAL reached ~80 MB (139 MB seen), a full disk on a small quota."""
    from _http import post_each

    lab = HookLab(port=0, db=str(tmp_path / "w.sqlite3")).start()
    wal = tmp_path / "w.sqlite3-wal"
    biggest = 0

    def look(n: int, status: int) -> None:
        nonlocal biggest
        if n % 20 == 0 and wal.exists():
            biggest = max(biggest, wal.stat().st_size)

    try:
        statuses = post_each(lab.bound_port, "/one", (b'{"n": %d}' % n for n in range(1200)), look)
        assert statuses == [200] * 1200
    finally:
        lab.stop()
    assert 0 < biggest < 20 << 20, biggest


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MB tmpfs (root only: CI runs as root), grown later by the test."""
    with tmpfs(tmp_path / "small") as where:
        yield where


def test_a_full_disk_is_said_and_capture_resumes_once_there_is_room(small_disk):
    """A full disk: the 503 said only "OperationalError", /_hooklab/health said "ok", and after
    room was made the WAL kept it all (nothing was stored again). Now the answer and the health
    endpoint say "database or disk is full", every 200 is in the database, and once the disk
    has room captures are stored again without a restart."""
    import http.client
    import json as _json
    import urllib.request

    (small_disk / "filler").write_bytes(b"\0" * 8_000_000)
    lab = HookLab(port=0, db=str(small_disk / "c.sqlite3")).start()
    try:
        def send(n: int, size: int = 100_000) -> tuple[int, bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=30)
            conn.request("POST", "/big", body=b"%08d" % n + b"x" * size)
            r = conn.getresponse()
            return r.status, r.read()

        def health() -> dict:
            try:
                with urllib.request.urlopen(lab.url + "/_hooklab/health", timeout=10) as r:
                    return {**_json.loads(r.read()), "http": r.status}
            except urllib.error.HTTPError as e:  # (503 while failing: a probe sees "down")
                return {**_json.loads(e.read()), "http": e.code}

        def health_head() -> int:
            try:
                req = urllib.request.Request(lab.url + "/_hooklab/health", method="HEAD")
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code

        acked = []
        for n in range(400):
            status, body = send(n)
            if status != 200:
                break
            acked.append(n)
        else:
            raise AssertionError("the disk never filled")
        assert status == 503 and b"database or disk is full" in body, body
        h = health()
        assert h["status"] == "failing" and "database or disk is full" in h["error"], h
        assert h["http"] == 503 and health_head() == 503
        subprocess.run(["mount", "-o", "remount,size=48m", str(small_disk)], check=True)
        deadline = time.monotonic() + 20
        while send(10_000, 1000)[0] != 200:
            assert time.monotonic() < deadline, "capture did not resume once there was room"
            time.sleep(0.5)
        assert health()["status"] == "ok" and health()["http"] == 200 and health_head() == 200
        stored = [int(c.body[:8]) for c in lab.query(bin="big")]
        assert set(acked) <= set(stored) and 10_000 in stored
    finally:
        lab.stop()


def test_hooklab_serve_says_when_captures_stop_and_resume(small_disk, tmp_path):
    """``hooklab serve`` said nothing while every sender got 503 on a full disk."""
    import http.client

    (small_disk / "filler").write_bytes(b"\0" * 8_000_000)
    log = tmp_path / "serve.log"
    proc, port = serve(small_disk / "c.sqlite3", "--quiet", log=log)
    try:
        def send(size: int) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", "/big", body=b"x" * size)
            r = conn.getresponse()
            r.read()
            return r.status

        for _ in range(400):
            if send(100_000) != 200:
                break
        deadline = time.monotonic() + 10
        while b"not being stored" not in log.read_bytes():
            assert time.monotonic() < deadline, log.read_bytes()[-2000:]
            time.sleep(0.1)
        assert (b"hooklab: captures are not being stored (OperationalError: database or disk is "
                b"full); senders get 503") in log.read_bytes()
        subprocess.run(["mount", "-o", "remount,size=48m", str(small_disk)], check=True)
        deadline = time.monotonic() + 20
        while send(1000) != 200:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        deadline = time.monotonic() + 10
        while b"being stored again" not in log.read_bytes():
            assert time.monotonic() < deadline, log.read_bytes()[-2000:]
            time.sleep(0.1)
    finally:  # (SIGTERM: a SIGINT is ignored by a serve started with it ignored, as a
        proc.send_signal(signal.SIGTERM)  # suite run from a script or CI starts it)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def test_an_import_onto_a_full_disk_says_the_disk_is_full(small_disk, tmp_path):
    """An import that filled the disk said "record 0 (or one of the 701 after it): cannot be
    stored (cannot rollback - no transaction is active)": SQLite had given the transaction up
    itself, and the second ROLLBACK's error hid the one that says why (a CI run on a full disk
    failed with these words). Now a bulk import (a JSON Lines file, ``store.add_many``) raises
    StoreError naming SQLite's own error and how many records are stored; those are intact,
    and the same lab imports again once the disk has room."""
    rng = __import__("random").Random(7)
    rows = [{"received_at": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z", "method": "POST",
             "path": "/imp", "headers": [["Content-Type", "application/octet-stream"]],
             "body_b64": __import__("base64").b64encode(rng.randbytes(200_000)).decode()}
            for i in range(150)]  # ~30 MB of bodies that do not compress: more than the disk
    jsonl = tmp_path / "big.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    db = small_disk / "c.sqlite3"
    with pytest.raises(StoreError) as err:
        HookLab.from_jsonl(jsonl, db=str(db))
    said = str(err.value)
    assert "database or disk is full" in said or "disk I/O error" in said, said
    assert "cannot rollback" not in said and "no transaction" not in said, said
    lab = hooklab.open(db) if db.exists() and db.stat().st_size else None
    stored = len(lab.captures) if lab is not None else 0
    if lab is not None:
        assert [c.body for c in lab.captures] == [
            __import__("base64").b64decode(r["body_b64"]) for r in rows[:stored]]
        lab.stop()
    assert f"the {stored} before them are stored" in said, said
    for side in small_disk.glob("c.sqlite3*"):  # (room again for the next lab's database)
        side.unlink()

    lab = HookLab(port=0, db=str(small_disk / "d.sqlite3")).start()
    try:
        records = [{"method": "POST", "path": "/bulk", "body": rng.randbytes(200_000),
                    "headers": [("Content-Type", "application/octet-stream")]}
                   for _ in range(150)]
        with pytest.raises(StoreError, match="disk") as err:
            lab.store.add_many(records)
        assert "cannot rollback" not in str(err.value), err.value
        kept = len(lab.captures)
        assert [c.body for c in lab.captures] == [r["body"] for r in records[:kept]]
        subprocess.run(["mount", "-o", "remount,size=96m", str(small_disk)], check=True)
        assert lab.store.add_many(records[kept:]) == len(records) - kept
        assert [c.body for c in lab.captures] == [r["body"] for r in records]
    finally:
        lab.stop()


def test_an_import_resumed_with_skip_onto_a_full_disk_counts_the_files_records(small_disk, tmp_path):
    """``load_jsonl(..., skip=S)`` that fills the disk said "the N before them are stored",
    counting from S: resuming with ``skip=N`` imported the first S records again. It counts
    the file's records now and names the ``skip=`` for the rest; following it imports each
    record once."""
    import base64
    import random

    rng = random.Random(11)
    rows = [{"received_at": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z", "method": "POST",
             "path": f"/imp/{i}", "headers": [["Content-Type", "application/octet-stream"]],
             "body_b64": base64.b64encode(rng.randbytes(200_000)).decode()}
            for i in range(150)]  # ~30 MB of bodies that do not compress: more than the disk
    jsonl = tmp_path / "big.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    db = small_disk / "c.sqlite3"
    skip = 20  # (the first 20 stored by an earlier import elsewhere, say)
    with pytest.raises(StoreError) as err:
        HookLab.from_jsonl(jsonl, db=str(db), skip=skip)
    said = str(err.value)
    lab = hooklab.open(db)
    stored = len(lab.captures)
    assert [c.path for c in lab.captures] == [f"/imp/{i}" for i in range(skip, skip + stored)]
    lab.stop()
    done = skip + stored
    assert 0 < stored < len(rows) - skip, stored
    assert f"the first {done} records of the file are stored" in said, said
    assert f"import the rest with skip={done}" in said, said
    assert "database or disk is full" in said or "disk I/O error" in said, said
    subprocess.run(["mount", "-o", "remount,size=96m", str(small_disk)], check=True)
    hooklab.load_jsonl(jsonl, db=str(db), skip=done).stop()  # as it says
    lab = hooklab.open(db)
    assert [c.path for c in lab.captures] == [f"/imp/{i}" for i in range(skip, len(rows))]
    lab.stop()


def test_a_full_disk_for_a_moment_is_said_and_counted(small_disk, tmp_path):
    """A disk full for a tenth of a second (a few senders got 503 "database or disk is full")
    left no line on serve's stderr, which looked every 0.2 s at whether captures were failing
    *then*, and health's ``refused`` did not count those 503s. Now each time is said once,
    with its end, also when serve stops right after; and counted."""
    import http.client
    import json as _json
    import urllib.request

    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 20_000_000)  # (of 24 MB: full after a few dozen captures)
    log = tmp_path / "serve.log"
    proc, port = serve(small_disk / "c.sqlite3", "--quiet", log=log)
    try:
        def send(size: int) -> int:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("POST", "/big", body=b"x" * size)
                r = conn.getresponse()
                r.read()
                return r.status
            finally:
                conn.close()

        statuses = []
        for _ in range(400):
            statuses.append(send(100_000))
            if statuses[-1] != 200:
                break
        filler.unlink()  # room again, at once
        t0 = time.monotonic()
        for _ in range(200):  # (at most 10 s: one retry stores it, as a rule)
            statuses.append(send(1000))
            if statuses[-1] == 200:
                break
            time.sleep(0.05)
        failed_for = time.monotonic() - t0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_hooklab/health", timeout=10) as r:
            health = _json.loads(r.read())
        proc.send_signal(signal.SIGTERM)  # (right after: no look of serve's in between)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    n503 = statuses.count(503)
    said = log.read_text()[-3000:]
    assert statuses[0] == 200 and statuses[-1] == 200 and n503 >= 1, (statuses, said)
    assert set(statuses) == {200, 503}, (statuses, said)
    assert health["status"] == "ok" and health["refused"] == {"503": n503}, (health, statuses)
    lines = [x for x in log.read_text().splitlines()
             if x.startswith("hooklab: captures are")]
    # each time said, then its end (a background write of the store's, in a quiet moment,
    # may have met the full disk first: a time of its own)
    assert lines and len(lines) % 2 == 0, (lines, failed_for)
    for down, up in zip(lines[::2], lines[1::2], strict=True):
        assert down.startswith("hooklab: captures are not being stored (OperationalError: "
                               "database or disk is full); senders get 503"), lines
        assert up == "hooklab: captures are being stored again", lines


def test_a_database_on_a_read_only_mount_is_analysed_as_it_is(tmp_path):
    """``hooklab.open`` of a database on a read-only mount said "unable to open database file"
    (SQLite could make no -shm file there). It is read as it is now, read-only; with a -wal
    file left beside it the error says to open a copy with it."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a read-only bind mount needs root")
    src, ro = tmp_path / "src", tmp_path / "ro"
    src.mkdir()
    ro.mkdir()
    lab = HookLab(port=0, db=str(src / "c.sqlite3")).start()
    try:
        post(lab.url_for("shop"), b'{"note": "refund 42", "n": 1}', {"Content-Type": "application/json"})
        post(lab.url_for("shop"), b'{"note": "paid", "n": 2}', {"Content-Type": "application/json"})
        lab.wait(2, timeout=10)
    finally:
        lab.stop()
    if subprocess.run(["mount", "--bind", str(src), str(ro)]).returncode or subprocess.run(
            ["mount", "-o", "remount,ro,bind", str(ro)]).returncode:
        subprocess.run(["umount", "-l", str(ro)])
        pytest.skip("cannot make a read-only bind mount here")
    try:
        before = sorted(p.name for p in src.iterdir())
        opened = hooklab.open(str(ro / "c.sqlite3"))
        assert [c.json()["n"] for c in opened.captures] == [1, 2]
        assert list(opened.dataframe()["id"]) == [1, 2]
        assert [c.json()["n"] for c in opened.query(search="refund")] == [1]
        assert opened.sql("SELECT count(*) AS n FROM captures")["n"].tolist() == [2]
        assert "note" in set(opened.schema()["field"])
        with pytest.raises(StoreError, match="read-only"):
            opened.clear()
        assert opened.export(tmp_path / "api.jsonl", fmt="jsonl") == 2  # (it said "opened
        opened.stop()  # read-only": an export began by waiting for writes on a store that has none)
        for fmt in ("jsonl", "har", "csv", "parquet"):
            out = tmp_path / f"cli-{fmt}"
            r = subprocess.run([*HOOKLAB, "export", "--db",
                                str(ro / "c.sqlite3"), "--format", fmt, "-o", str(out)],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0 and r.stderr == f"wrote 2 captures to {out}\n", (fmt, r)
        assert len((tmp_path / "cli-jsonl").read_text().splitlines()) == 2
        assert len(hooklab.open(str(tmp_path / "cli-parquet")).dataframe()) == 2
        assert sorted(p.name for p in src.iterdir()) == before
    finally:
        subprocess.run(["umount", "-l", str(ro)])
    # a WAL beside it (a lab killed before it closed): said, not read around
    (src / "c.sqlite3-wal").write_bytes(b"\0" * 100)
    subprocess.run(["mount", "--bind", str(src), str(ro)], check=True)
    subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True)
    try:
        with pytest.raises(StoreError, match="not writable.*with its -wal file"):
            hooklab.open(str(ro / "c.sqlite3"))
    finally:
        subprocess.run(["umount", "-l", str(ro)])


def test_a_parquet_export_that_fails_part_way_leaves_no_partial_file(small_disk, tmp_path):
    """An export stopped while Arrow wrote its files (Ctrl-C, SIGTERM, a full disk) left its
    hidden ``.part-*.parquet.tmp`` (76 MB in an operator's run) until a later export, an hour
    on, removed it. Here a disk that fills up during the write, and a Ctrl-C."""
    import base64
    import json as _json

    src = tmp_path / "c.jsonl"
    with src.open("w") as f:  # ~40 MB of bodies that do not compress: more than the disk holds
        for _ in range(400):
            f.write(_json.dumps({"method": "POST", "path": "/b", "received_at": "2026-01-01T00:00:00Z",
                                 "body_b64": base64.b64encode(os.urandom(100_000)).decode()}) + "\n")
    lab = HookLab.from_jsonl(str(src), db=str(tmp_path / "c.sqlite3"))
    try:
        out = small_disk / "pq"
        with pytest.raises(OSError):
            lab.export(str(out), fmt="parquet")
        left = [p.name for p in out.rglob("*") if p.is_file()]
        assert left == [], left  # (before: the partial file, tens of MB, hidden by its dot)
    finally:
        lab.stop()


def test_ctrl_c_during_a_parquet_export_leaves_no_partial_file(tmp_path):
    """``hooklab export --format parquet`` interrupted while Arrow writes: exit 130 and no
    ``.tmp`` file (tried at several moments: some land inside the write)."""
    import base64
    import json as _json

    src = tmp_path / "c.jsonl"
    with src.open("w") as f:
        for _ in range(1500):
            f.write(_json.dumps({"method": "POST", "path": "/b", "received_at": "2026-01-01T00:00:00Z",
                                 "body_b64": base64.b64encode(os.urandom(50_000)).decode()}) + "\n")
    db = str(tmp_path / "c.sqlite3")
    HookLab.from_jsonl(str(src), db=db).stop()
    exe = os.path.join(os.path.dirname(sys.executable), "hooklab")
    interrupted = 0
    for k, delay in enumerate((0.6, 0.8, 1.0, 1.2, 1.5)):
        out = tmp_path / f"pq{k}"
        p = subprocess.Popen([exe, "export", "--db", db, "--format", "parquet", "-o", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=as_from_a_terminal)  # (a suite run with SIGINT
        time.sleep(delay)  # ignored would pass it on: the export would finish, checking nothing)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        # (0: it was done; -SIGINT: done, and the Ctrl-C came as Python was exiting, after it
        # gave the signal back to its default: a shell shows 130 for either)
        assert p.returncode in (0, 130, -signal.SIGINT), (delay, p.returncode, err[-2000:])
        interrupted += p.returncode == 130
        left = [str(q) for q in out.rglob("*.tmp")] if out.exists() else []
        assert left == [], (delay, left)
    assert interrupted, "every export finished before its Ctrl-C: nothing was interrupted"
