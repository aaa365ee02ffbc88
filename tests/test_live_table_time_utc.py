"""The live view's table shows a capture's time in UTC, as its Details tab, ``lab.dataframe()``,
the stream page and ``hooklab serve`` do, and its column's title says so: ``time (UTC)``.

It showed the kernel's local time with no zone said: with ``TZ=America/New_York`` a row read
00:52 and the capture it opened, 05:52. In real kernels started with each time zone: the rows
are what the kernel sent the browser; the times expected are written out by hand for captures
imported with known times, and for one received over 127.0.0.1 they are read from
``lab.dataframe()``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from _http import post
from _kernels import kernel_in

pytestmark = pytest.mark.timeout(300)

#: time zones a kernel may run in (POSIX TZ values; "UTC" the control)
ZONES = ["America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Etc/GMT+12", "XXX-14", "UTC"]

#: (path, received_at as imported, the row's time cell): the day's edges, New York's switch to
#: summer time (07:00 UTC), a time whose milliseconds are 999 (cut, never rounded to the next
#: second)
TIMES = [
    ("/t-midnight", "2026-01-01T00:00:00.000500Z", "00:00:00.000"),
    ("/t-dst", "2026-03-08T06:59:59.999999Z", "06:59:59.999"),
    ("/t-late", "2025-12-31T23:59:59.5Z", "23:59:59.500"),
    ("/t-noon", "2026-07-04T12:34:56.789012Z", "12:34:56.789"),
]

SETUP = """import json, time, hooklab
imported = hooklab.load_jsonl("times.jsonl")
old = imported.live()
lab = hooklab.start(port=0, db=":memory:")
new = lab.live()
print(json.dumps({"url": lab.url, "old": old.table.model_id, "cols": old._cols.model_id}))"""

SHOWN = """lab.wait(1, timeout=10)
deadline = time.monotonic() + 15
while not new.rows and time.monotonic() < deadline:
    time.sleep(0.05)
at = lab.dataframe()["received_at"].iloc[0]
print(json.dumps({"table": new.table.model_id, "utc": at.isoformat(),
                  "local": at.to_pydatetime().astimezone().isoformat()}))"""


def jsonl(path: Path) -> None:
    with path.open("w") as f:
        for target, when, _ in TIMES:
            f.write(json.dumps({
                "kind": "http", "received_at": when, "method": "POST", "path": target,
                "bin": target[1:], "query": {}, "status": 200, "headers": [],
                "body_b64": base64.b64encode(b"x").decode()}) + "\n")


@pytest.mark.parametrize("zone", ZONES)
def test_the_table_s_times_are_utc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   zone: str) -> None:
    jsonl(tmp_path / "times.jsonl")
    monkeypatch.setenv("TZ", zone)  # (the kernel's environment)
    with kernel_in(tmp_path) as kernel:
        m = json.loads(kernel.cell(SETUP))
        cols = kernel.sent(m["cols"], "value")
        assert cols.split(">")[1].split()[:3] == ["time", "(UTC)", "method"], cols
        rows = kernel.until_sent(m["old"], "_options_labels", lambda v: v and len(v) == len(TIMES))
        for target, _, cell in TIMES:
            (row,) = [r for r in rows if f"  {target[1:]} " in r]
            assert row[:12] == cell, (zone, target, row)
        assert post(m["url"] + "/live", b"{}", {"Content-Type": "application/json"})[0] == 200
        at = json.loads(kernel.cell(SHOWN))
        if zone != "UTC":  # (the kernel's local time is another: the case means something)
            assert at["local"][11:23] != at["utc"][11:23], at
        (row,) = kernel.until_sent(at["table"], "_options_labels", lambda v: v and len(v) == 1)
        assert row[:12] == at["utc"][11:23], (zone, row, at)
