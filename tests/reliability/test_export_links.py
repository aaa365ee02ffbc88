"""Exports into folders other users may write: a name is never followed once it may have been
swapped, and a mistyped filter or a path through a link never costs an earlier export.

An outside tester found five ways (hooklab/export/):

* written in place (a folder that takes no new files), a failed export emptied the file by
  its name: the folder's owner swapped ``out.jsonl`` for a link meanwhile, and the user's
  ``notes.txt`` was emptied;
* written beside the file, the temporary file's mode and owner were set by its name: a user
  who may write the folder put a link there, and a root export gave the old export's owner
  and mode to any file (and the link took the export's place);
* Parquet's temporary files had names anyone could guess, opened by Arrow through a planted
  link (and every file of such a name was renamed into the dataset);
* a mistyped filter was found once the file was opened, emptying one written in place;
* a Parquet export to ``link/../x.parquet`` made its folder beside the link while Arrow wrote
  under the link's target (``FileNotFoundError``).

What "another user" does half way through an export is done by the store the export reads
(its captures or bodies, after some of them): the moment is then the same on every run.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import hooklab

pytestmark = pytest.mark.timeout(120)

#: captures in the database every test exports from
N = 40


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """A database of :data:`N` captures, sent to a real lab over HTTP."""
    path = tmp_path_factory.mktemp("src") / "c.sqlite3"
    lab = hooklab.HookLab(port=0, db=str(path)).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=10)
        try:
            for i in range(N):
                conn.request("POST", "/orders", body=json.dumps({"i": i, "pad": "x" * 500}),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                assert r.status == 200, r.status
        finally:
            conn.close()
        lab.wait(N, timeout=20)
    finally:
        lab.stop()
    return path


@contextlib.contextmanager
def _opened(db: Path) -> Iterator[Any]:
    lab = hooklab.open(str(db))
    try:
        yield lab
    finally:
        lab.stop()


# -- a folder that takes no new files ---------------------------------------------------------

def _lock(folder: Path) -> None:
    """``folder`` takes no new files (immutable as root: EPERM; mode 0555 for others: EACCES)."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True, capture_output=True)
    else:
        folder.chmod(0o555)


def _unlock(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=True, capture_output=True)
    else:
        folder.chmod(0o755)


@pytest.fixture
def locked(tmp_path) -> Iterator[Path]:
    """A folder that takes no new files (locked by the test, which unlocks it for what its
    owner does), unlocked at the end whatever happened."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() == 0 and not shutil.which("chattr"):
        pytest.skip("no chattr to make a folder that takes no new files")
    try:
        _lock(folder)
    except subprocess.CalledProcessError:
        pytest.skip("this file system keeps no immutable flag (chattr +i)")
    try:
        _unlock(folder)
        yield folder
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _unlock(folder)

# -- a mistyped filter -------------------------------------------------------------------------

BAD_FILTERS = [
    pytest.param({"kind": "bogus"}, id="kind-bogus"),
    pytest.param({"verified": "maybe"}, id="verified-maybe"),
    pytest.param({"evnt_type": "push"}, id="unknown-key"),
    pytest.param({"since": "yesterday"}, id="since-yesterday"),
    pytest.param({"search": 5}, id="search-number"),
]


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("where", ["folder", "in-place"])
@pytest.mark.parametrize("fmt", ["jsonl", "har", "csv", "parquet"])
@pytest.mark.parametrize("filters", BAD_FILTERS)
def test_a_mistyped_filter_leaves_the_earlier_export(db, locked, fmt, where, filters) -> None:  # type: ignore[no-untyped-def]
    """JSON Lines and HAR exports checked their filters once the file was open: written in
    place, ``lab.export(p, kind="bogus")`` emptied the earlier export (and warned it was
    lost). The filters are checked before anything is opened, in every format."""
    if where == "folder":
        _unlock(locked)
    out = locked / f"out.{fmt}"
    with _opened(db) as lab:
        lab.export(str(out), fmt=fmt, since=N - 5)
        earlier = _tree(locked)
        assert earlier, fmt
        if where == "in-place":
            _lock(locked)
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            with pytest.raises((TypeError, ValueError)):
                lab.export(str(out), fmt=fmt, **filters)
    _unlock(locked)
    assert _tree(locked) == earlier
    assert [str(w.message) for w in said] == []


