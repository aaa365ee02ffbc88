"""The WAL's size follows what is kept (an operator's finding: ``--retention-count 4`` with
100 KB webhooks used a 6.4 MB WAL, never truncated while serve ran, to keep 0.4 MB).

SQLite's ``journal_size_limit`` cut the WAL back to 8 MiB only when it started over, and
nothing emptied it: the disk held what the WAL once grew to for as long as the lab ran. Now
it is cut to 1 MiB each time it starts over and emptied in quiet moments.
"""

from __future__ import annotations

import os
import time

import pytest
from _http import post

from hooklab import HookLab

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize(("keep", "size", "sent"), [
    (4, 100_000, 40),  # the operator's: few captures kept, big bodies
    (None, 1_000, 300),  # no retention, small webhooks: the WAL is emptied all the same
    (1, 300_000, 12),
])
def test_the_wal_is_given_back_in_a_quiet_moment(tmp_path, keep, size, sent) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "c.sqlite3"
    wal = f"{db}-wal"
    lab = HookLab(port=0, db=str(db), retention_count=keep).start()
    try:
        for i in range(sent):
            assert post(lab.url_for("big"), (b"%08d" % i) * (size // 8))[0] == 200
        grown = os.path.getsize(wal)
        assert grown > 0  # (the last captures are in it: checkpoints come once a second)
        deadline = time.monotonic() + 15  # (quiet for a second, then the next wake-up)
        while os.path.getsize(wal) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert os.path.getsize(wal) == 0, (grown, os.path.getsize(wal))
        stored = [c.body[:8] for c in lab.captures]  # (all still there: nothing lost)
        want = [b"%08d" % i for i in range(sent)][-keep if keep else 0:]
        deadline = time.monotonic() + 15  # (retention trims about once a second)
        while stored != want and time.monotonic() < deadline:
            time.sleep(0.2)
            stored = [c.body[:8] for c in lab.captures]
        assert stored == want
        assert post(lab.url_for("big"), b"after")[0] == 200  # (an empty WAL is written again)
    finally:
        lab.stop()
