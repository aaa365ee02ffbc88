"""``hooklab send`` and ``hooklab replay`` count a delivery the same way: only a 2xx answer.

``send`` exited 0 for any status below 400, so a 302 (hooklab follows no redirect: the app
never got the webhook) passed a CI step, while ``replay`` of the same to the same app exited
1. README: "Only a 2xx counts as delivered"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _target import Target

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
STATUSES = [200, 201, 204, 299, 300, 301, 302, 303, 307, 308, 400, 404, 500]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("exit") / "c.sqlite3")
    lab = hooklab.HookLab(port=0, db=path).start()
    try:
        hooklab.send(lab.url_for("a"), payload={"x": 1})
        lab.wait(1, timeout=10)
    finally:
        lab.stop()
    return path


@pytest.mark.parametrize("status", STATUSES)
def test_send_and_replay_exit_0_only_for_a_2xx(db: str, status: int) -> None:
    expected = 0 if 200 <= status <= 299 else 1  # (RFC 9110 section 15.3: 2xx is success)
    with Target(status=status, body=b"", headers=[("Location", "/elsewhere")]) as app:
        s = subprocess.run([EXE, "send", app.url + "/hook", "--data", '{"x":1}'],
                           capture_output=True, text=True, timeout=60, env=ENV)
        r = subprocess.run([EXE, "replay", "--db", db, "--id", "1", "--to", app.url + "/hook"],
                           capture_output=True, text=True, timeout=60, env=ENV)
        got = app.wait(2)
    assert [g.path for g in got] == ["/hook", "/hook"]  # (each sent once, no redirect followed)
    assert s.stdout.split(" ", 1)[0] == str(status), s.stdout
    assert (s.returncode, r.returncode) == (expected, expected), (s.stderr, r.stderr)
