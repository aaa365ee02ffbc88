"""``hooklab serve``'s ready line shows the ``--db`` path escaped (an operator's finding: it
printed it raw, so a line break or tab in a folder's name forged a ``hooklab: stopped`` line,
while serve's other lines escape such text)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from _relsupport import serve

pytestmark = pytest.mark.timeout(120)


# control characters in the --db path: each would break or forge a line of serve's output
@pytest.mark.parametrize(("name", "shown"), [
    ("nl\nhooklab: stopped", r"nl\nhooklab: stopped"),
    ("tab\thooklab: stopped", r"tab\thooklab: stopped"),
    ("cr\rhooklab: stopped", r"cr\rhooklab: stopped"),
    ("esc\x1b[2Kx", r"esc\x1b[2Kx"),
])
def test_serve_ready_line_shows_the_db_path_escaped(tmp_path: Path, name: str,
                                                    shown: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    db = folder / "c.sqlite3"
    log = tmp_path / "serve.log"
    proc, _port = serve(db, log=log)
    try:
        time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    ready = [line for line in lines if "listening on http://127.0.0.1:" in line]
    assert len(ready) == 1, lines
    assert f"(db {tmp_path}/{shown}/c.sqlite3, 0 captures)" in ready[0], ready
    assert not any(ch in ready[0] for ch in "\t\x1b"), ready
    # no piece of the path on a line of its own (a forged "hooklab: stopped" line)
    assert [line for line in lines if "c.sqlite3" in line] == ready, lines
