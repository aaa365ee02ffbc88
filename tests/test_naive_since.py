"""``since=`` / ``until=`` given a ``datetime`` without a time zone: read as UTC (as text
without a zone is, and as every capture's time is), but ``datetime.now()`` is local time.
A developer in Berlin wrote ``lab.wait(1, since=datetime.now())`` and it timed out with
"0 matched" and nothing to say why. Where the machine's local time is not UTC a naive
datetime now brings a warning that says how it was read, at the user's own line.

Real processes with ``TZ`` set (a zone changes a whole process), real labs on 127.0.0.1.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import sys, warnings
from datetime import datetime, timezone
import hooklab
warnings.simplefilter("always")
lab = hooklab.HookLab(port=0, db=":memory:").start()
try:
    value = {"naive-now": datetime.now(), "naive": datetime(2026, 1, 1, 12, 0),
             "aware": datetime.now(timezone.utc), "text": "2026-01-01T12:00",
             "id": 0}[sys.argv[1]]
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        lab.query(**{sys.argv[2]: value})  # the user's line
    for w in said:
        print(f"{w.category.__name__}|{w.filename}|{w.message}")
    print("done")
finally:
    lab.stop()
"""


@pytest.mark.parametrize("zone, value, key, warned", [
    ("Europe/Berlin", "naive-now", "since", "UTC+1 h"),
    ("Europe/Berlin", "naive", "until", "UTC+1 h"),
    ("America/New_York", "naive", "since", "UTC-5 h"),
    ("Asia/Kolkata", "naive", "since", "UTC+5.5 h"),
    ("Europe/Berlin", "aware", "since", None),
    ("Europe/Berlin", "text", "since", None),  # (text: the CLI's rule, said in the README)
    ("Europe/Berlin", "id", "since", None),
    ("UTC", "naive-now", "since", None),
    ("UTC", "naive", "until", None),
])
def test_a_naive_datetime_says_it_is_read_as_utc_where_local_time_is_not(
        tmp_path, zone: str, value: str, key: str, warned: str | None) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "user.py"
    script.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(script), value, key], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path, env={**os.environ, "TZ": zone})
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[-1] == "done"
    said = [line.split("|", 2) for line in lines[:-1]]
    if warned is None:
        assert said == []
        return
    ((category, filename, message),) = said
    assert category == "RuntimeWarning" and filename == str(script)  # at the user's line
    assert message.startswith(f"{key}=") and "has no time zone: it is read as UTC" in message
    assert f"this machine's local time is {warned}" in message
    assert "datetime.now(timezone.utc)" in message


def test_a_polling_loop_with_one_naive_time_is_warned_once(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """``dataframe(since=t0)`` in a loop (a dashboard cell, the live view polling): the
    warning came on every call (20 calls, 20 warnings); each naive value is warned once."""
    script = tmp_path / "poll.py"
    script.write_text(
        "import warnings\nfrom datetime import datetime\nimport hooklab\n"
        "warnings.simplefilter('default')\n"
        "lab = hooklab.HookLab(port=0, db=':memory:').start()\n"
        "t0, t1 = datetime(2026, 1, 1), datetime(2026, 1, 2)\n"
        "with warnings.catch_warnings(record=True) as said:\n"
        "    warnings.simplefilter('always')\n"
        "    for _ in range(20):\n"
        "        lab.dataframe(since=t0); lab.query(since=t0); lab.store.count(since=t0)\n"
        "    lab.query(since=t1); lab.query(until=t1)\n"
        "print(len(said))\nlab.stop()\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path, env={**os.environ, "TZ": "Europe/Berlin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["3"]  # (t0 once, t1 once as since=, once as until=)
