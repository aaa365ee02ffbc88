"""``hooklab serve --retention-count N --retention-age AGE``: an operator running serve for
days caps what its database holds, as ``retention_count`` / ``retention_age`` do in Python
(serve had no option for either: the database grew without end)."""

from __future__ import annotations

import http.client
import re
import subprocess
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from test_cli import ENV, EXE, _as_from_a_terminal, _Lines, _stop

import hooklab


def _serve(db: str, *args: str) -> tuple[subprocess.Popen[Any], _Lines, int]:
    proc = subprocess.Popen([EXE, "serve", "--port", "0", "--db", db, "--quiet", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=ENV, preexec_fn=_as_from_a_terminal)  # noqa: PLW1509
    out = _Lines(proc.stdout)
    try:
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", out.next()).group(1))  # type: ignore[union-attr]
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    return proc, out, port


def _post(port: int, n: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for i in range(n):
            conn.request("POST", "/orders", b'{"n": %d}' % i, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            assert r.status == 200
    finally:
        conn.close()


def _bodies(db: str) -> list[bytes]:
    lab = hooklab.open(db)
    try:
        return [c.body for c in sorted(lab.captures, key=lambda c: c.id)]
    finally:
        lab.stop()


def _until(db: str, want: list[bytes], timeout: float = 20) -> list[bytes]:
    """The database's bodies once they are ``want`` (retention trims about once a second),
    or as they are after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = _bodies(db)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


@pytest.mark.parametrize("keep,sent", [(1, 4), (5, 12), (10, 10), (3, 40)])
def test_serve_retention_count_keeps_exactly_the_newest(tmp_path, keep: int, sent: int) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "c.sqlite3")
    proc, out, port = _serve(db, "--retention-count", str(keep))
    try:
        _post(port, sent)
        want = [b'{"n": %d}' % i for i in range(sent)][-keep:]
        assert _until(db, want) == want
    finally:
        _stop(proc, read=False)
    assert proc.returncode == 0
    assert _bodies(db) == want  # (and so it stays once serve stopped)


@pytest.mark.parametrize("age,kept_ages", [
    # (--retention-age, the ages in hours of the captures that stay, of 240, 170, 30, 11, 1)
    ("7d", [30, 11, 1]),
    ("36h", [30, 11, 1]),
    ("12h", [11, 1]),
    ("90m", [1]),
    ("7200", [1]),
    ("2h", [1]),
    ("10.5d", [240, 170, 30, 11, 1]),
])
def test_serve_retention_age_deletes_what_grew_old(tmp_path, age: str, kept_ages: list[int]) -> None:  # type: ignore[no-untyped-def]
    from hooklab.store import CaptureStore

    db = str(tmp_path / "c.sqlite3")
    now = datetime.now(timezone.utc)
    with CaptureStore(db) as store:  # (captures imported from an older run)
        store.add_many([{"method": "POST", "path": "/orders", "body": b"%dh" % h,
                         "received_at": now - timedelta(hours=h)} for h in (240, 170, 30, 11, 1)])
    proc, out, port = _serve(db, "--retention-age", age)
    try:
        _post(port, 1)  # (a new one: 0 hours old, stays)
        want = [b"%dh" % h for h in kept_ages] + [b'{"n": 0}']
        assert _until(db, want) == want
    finally:
        _stop(proc, read=False)
    assert proc.returncode == 0


@pytest.mark.parametrize("option,value,says", [
    ("--retention-count", "-1", "-1 is out of range (1 to 9223372036854775807)"),
    ("--retention-count", "0", "0 is out of range (1 to 9223372036854775807)"),
    ("--retention-count", "1.5", "not an integer: '1.5'"),
    ("--retention-count", "ten", "not an integer: 'ten'"),
    ("--retention-count", "", "not an integer: ''"),
    ("--retention-count", "9223372036854775808", "9223372036854775808 is out of range"),
    ("--retention-age", "-1", "not an age: '-1'"),
    ("--retention-age", "-7d", "not an age: '-7d'"),
    ("--retention-age", "0", "0 is out of range (more than 0, at most 36500d"),
    ("--retention-age", "0d", "0d is out of range"),
    ("--retention-age", "7w", "not an age: '7w'"),
    ("--retention-age", "1d2h", "not an age: '1d2h'"),
    ("--retention-age", "nan", "not an age: 'nan'"),
    ("--retention-age", "inf", "not an age: 'inf'"),
    ("--retention-age", "1e3", "not an age: '1e3'"),
    ("--retention-age", "", "not an age: ''"),
    ("--retention-age", "d", "not an age: 'd'"),
    ("--retention-age", "36501d", "36501d is out of range"),
    ("--retention-age", "99999999999999999999", "is out of range"),
    # (the second review: int() and Unicode's \d and \s took these)
    ("--retention-count", "+3", "not an integer: '+3'"),
    ("--retention-count", "1_0", "not an integer: '1_0'"),
    ("--retention-count", "\u0663", "not an integer: '\u0663'"),
    ("--retention-age", "\u0663d", "not an age: '\u0663d'"),
    ("--retention-age", "\uff13h", "not an age: '\uff13h'"),
    ("--retention-age", "5\u2003s", "not an age: '5\\u2003s'"),  # (repr escapes it)
])
def test_serve_refuses_a_malformed_retention(tmp_path, option: str, value: str, says: str) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "c.sqlite3"
    r = subprocess.run([EXE, "serve", "--port", "0", "--db", str(db), f"{option}={value}"],
                       capture_output=True, text=True, timeout=60, env=ENV)
    errors = [line for line in r.stderr.splitlines() if "error" in line]
    assert r.returncode == 2 and r.stdout == "", r
    assert errors == [f"hooklab serve: error: argument {option}: " + errors[0].split(": ", 3)[-1]]
    assert says in errors[0] and "Traceback" not in r.stderr, r.stderr
    assert not db.exists()  # (refused before anything is opened)


def test_serve_help_says_the_retention_forms() -> None:
    r = subprocess.run([EXE, "serve", "--help"], capture_output=True, text=True, timeout=60,
                       env=ENV)
    text = " ".join(r.stdout.split())
    assert r.returncode == 0
    for words in ("--retention-count N keep only the newest N captures",
                  "--retention-age AGE delete captures older than AGE",
                  "(90s, 30m, 12h, 7d; at most 36500d)"):
        assert words in text, text
