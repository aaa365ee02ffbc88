"""``hooklab serve --forward a=URL1 --forward a=URL2``: a bin forwards to one URL
(``lab.forward`` replaces a bin's target), and the second silently replaced the first: the
app at URL1 got nothing, no word said. Now refused as ``--secret-file`` given twice is (exit
2, nothing served, no database left); other bins each keep their own URL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _target import Target

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("first, second", [
    ("a", "a"), ("a", "/a"), ("a/", "a"), ("/a/", "a/"), ("orders/x", "orders/x"),
])
def test_a_bin_given_twice_is_refused(tmp_path: Path, first: str, second: str) -> None:
    bin_ = first.strip("/")  # (the bin each spelling names: lab.url_for's)
    db = tmp_path / "c.sqlite3"
    with Target() as one, Target() as two:
        r = subprocess.run([EXE, "serve", "--port", "0", "--db", str(db),
                            "--forward", f"{first}={one.url}/one",
                            "--forward", f"{second}={two.url}/two"],
                           capture_output=True, text=True, timeout=60, env=ENV)
        assert (r.returncode, r.stdout) == (2, ""), (r.stdout, r.stderr)
        assert r.stderr == (f"hooklab: --forward {bin_}=... is given twice (a bin forwards to "
                            "one URL)\n")
        assert one.received == two.received == []
    assert not db.exists()


def test_two_bins_each_forward_to_their_own_url(tmp_path: Path) -> None:
    with Target() as one, Target() as two:
        proc = subprocess.Popen([EXE, "serve", "--port", "0", "--db", str(tmp_path / "c.db"),
                                 "--forward", f"a={one.url}/one", "--forward", f"b={two.url}/two"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        try:
            assert proc.stdout is not None
            m = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline())
            assert m, proc.stderr
            for bin_ in ("a", "b"):
                assert hooklab.send(f"{m.group(0)}/{bin_}", payload=bin_.encode()).status == 200
            (got_one,), (got_two,) = one.wait(1), two.wait(1)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
    assert (got_one.path, got_one.body, got_two.path, got_two.body) == ("/one", b"a", "/two", b"b")
