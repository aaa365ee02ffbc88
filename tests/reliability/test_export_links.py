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
import errno
import http.client
import json
import os
import shutil
import stat
import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import hooklab
from hooklab.export import export

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


class _Meanwhile:
    """The store ``store``, but after ``at`` of its captures (or at its ``at``-th call of
    ``bodies``, as a Parquet export reads them a batch at a time) ``then()`` runs: what
    another user does while the export is written; ``error``, if any, is raised then."""

    def __init__(self, store: Any, at: int, then: Callable[[], None],
                 error: BaseException | None = None) -> None:
        self._store, self._at, self._then, self._error = store, at, then, error
        self._calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def _moment(self) -> None:
        self._then()
        if self._error is not None:
            raise self._error

    def iter_captures(self, **filters: Any) -> Iterator[Any]:
        for n, c in enumerate(self._store.iter_captures(**filters)):
            if n == self._at:
                self._moment()
            yield c

    def bodies(self, ids: Any) -> Any:
        self._calls += 1
        if self._calls == self._at:
            self._moment()
        return self._store.bodies(ids)


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



def _swap(name: Path, victim: Path, how: str, *, aside: bool = True,
          theirs: bytes = b"the other user's bytes\n") -> None:
    """What the owner of ``name``'s folder (or anyone who may write it) does: the file moved
    aside (to ``<name>.moved``; without ``aside``, gone) and ``victim`` put at its name
    (``symlink``, ``hardlink``) or a file of theirs holding ``theirs`` (``theirs``)."""
    if aside:
        name.rename(name.with_name(name.name + ".moved"))
    else:
        name.unlink()
    if how == "symlink":
        name.symlink_to(victim)
    elif how == "hardlink":
        os.link(victim, name)
    else:
        name.write_bytes(theirs)


VICTIM = b"the user's own file, never exported to\n"

ERRORS = {
    "ctrl-c": KeyboardInterrupt(),
    "full-disk": OSError(errno.ENOSPC, "No space left on device"),
    "error": ValueError("the store broke half way"),
}


@pytest.mark.parametrize("error", list(ERRORS))
@pytest.mark.parametrize("how", ["symlink", "hardlink"])
@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_a_failed_in_place_export_empties_only_the_file_it_wrote(db, locked, tmp_path, fmt,  # type: ignore[no-untyped-def]
                                                                 how, error) -> None:
    """Written in place, an export that fails empties the file it was writing: through its
    descriptor, not its name. The folder's owner swapped ``out.*`` for a link (or a hard
    link) to the user's ``notes.txt`` meanwhile, and ``os.truncate(name)`` emptied that."""
    out = locked / f"out.{fmt}"
    out.write_bytes(b"old export\n")
    victim = tmp_path / "notes.txt"
    victim.write_bytes(VICTIM)
    _lock(locked)

    def owner_swaps() -> None:
        _unlock(locked)
        _swap(out, victim, how)
        _lock(locked)

    with _opened(db) as lab, warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with pytest.raises(type(ERRORS[error])) as err:
            export(_Meanwhile(lab.store, 10, owner_swaps, ERRORS[error]), str(out), fmt=fmt)  # type: ignore[arg-type]
    _unlock(locked)
    assert victim.read_bytes() == VICTIM  # (before: b"")
    assert (locked / f"out.{fmt}.moved").read_bytes() == b""  # the file it wrote: emptied
    # and said, as before: in the error (an OSError) or a warning
    words = str(err.value) if error == "full-disk" else " ".join(str(w.message) for w in said)
    assert "was emptied rather than left cut short" in words, words
    if error == "full-disk":
        assert err.value.errno == errno.ENOSPC


@pytest.mark.parametrize("fmt", ["jsonl", "har", "csv"])
@pytest.mark.parametrize("named", ["link-beside", "link-inside"])
def test_a_link_the_user_names_is_still_written_through_in_place(db, locked, tmp_path, fmt,  # type: ignore[no-untyped-def]
                                                                 named) -> None:
    """The in-place file is opened without following a link at its name: a link the user
    names (``latest.jsonl`` -> ``locked/out.jsonl``, beside or in that folder) is resolved
    first, so such an export still works, writes the file it names, and keeps the link."""
    out = locked / f"out.{fmt}"
    out.write_bytes(b"old export\n")
    link = (tmp_path if named == "link-beside" else locked) / f"latest.{fmt}"
    link.symlink_to(out)
    _lock(locked)
    try:
        with _opened(db) as lab:
            assert lab.export(str(link), fmt=fmt) == N
            lab.export(str(tmp_path / f"whole.{fmt}"), fmt=fmt)
    finally:
        _unlock(locked)
    assert link.is_symlink() and out.read_bytes() == (tmp_path / f"whole.{fmt}").read_bytes()
    assert sorted(p.name for p in locked.iterdir()) == sorted(
        {out.name} | ({link.name} if named == "link-inside" else set()))


# -- the temporary file beside the export -----------------------------------------------------

@pytest.mark.parametrize("how", [None, "symlink", "hardlink", "theirs"])
@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_a_swapped_temporary_file_gives_nothing_away(db, tmp_path, fmt, how) -> None:  # type: ignore[no-untyped-def]
    """In a folder another user may write (mode 0777, no sticky bit), that user replaced the
    export's ``.hooklab-export-*.tmp`` while it was written: ``chmod``/``chown`` of the name
    gave ``root_secret.txt`` (0600, root's) the old export's mode (0666) and owner, and the
    link (or their own file) took the export's place. Now the mode and owner are set through
    the descriptor, and a name that no longer names the file written is refused, the
    earlier export left as it was. (``None``: nobody swaps; mode and owner are kept.)"""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    out = shared / f"out.{fmt}"
    out.write_bytes(b"old export\n")
    out.chmod(0o666)
    if os.geteuid() == 0:  # (the other user's file, which this one may write)
        os.chown(out, 65534, 65534)
    before = out.stat()
    victim = tmp_path / "root_secret.txt"
    victim.write_bytes(VICTIM)
    victim.chmod(0o600)
    secret = victim.stat()

    def other_user_swaps() -> None:
        tmps = sorted(shared.glob(".hooklab-export-*.tmp"))
        assert len(tmps) == 1, tmps
        _swap(tmps[0], victim, how, aside=False)

    with _opened(db) as lab:
        store = lab.store if how is None else _Meanwhile(lab.store, 10, other_user_swaps)
        if how is None:
            assert export(store, str(out), fmt=fmt) == N  # type: ignore[arg-type]
        else:
            with pytest.raises(OSError) as err:
                export(store, str(out), fmt=fmt)  # type: ignore[arg-type]
            assert "was replaced while the export was written" in str(err.value), err.value
            assert "the earlier file was left as it was" in str(err.value)
    now = victim.stat()
    assert (now.st_uid, now.st_gid, stat.S_IMODE(now.st_mode)) == (
        secret.st_uid, secret.st_gid, 0o600)
    assert victim.read_bytes() == VICTIM
    after = out.lstat()
    assert stat.S_ISREG(after.st_mode)  # (before: the link, in the export's place)
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (
        before.st_uid, before.st_gid, 0o666)
    if how is None:
        assert out.read_bytes().count(b"/orders") >= N
    else:
        assert out.read_bytes() == b"old export\n"
    assert list(shared.glob(".hooklab-export-*")) == []


# -- Parquet: temporary files no one else can name ---------------------------------------------

def _source(dataset: Path) -> tuple[str, Path]:
    """The exporting database's name in the files of ``dataset``, and the folder of its one
    day and provider."""
    parts = sorted(dataset.glob("day=*/provider=*/part-*.parquet"))
    assert parts, list(dataset.rglob("*"))
    return parts[0].name.split("-")[1], parts[0].parent


@pytest.mark.parametrize("planted", ["symlink-at-the-next-name", "theirs-at-a-later-count",
                                     "symlinks-at-every-count"])
def test_planted_parquet_names_are_not_written_through_nor_taken_in(db, tmp_path, planted) -> None:  # type: ignore[no-untyped-def]
    """A shared dataset folder (the README invites several labs into one): its temporary
    file names were ``.part-<source>-<first>-<last>-<n>.parquet.tmp``, all readable off the
    files there. A link planted at the next one had Arrow write Parquet bytes into the file
    linked to (and the part file stayed that link); a file of the other user's at such a
    name was renamed into the dataset. Now the names have a random part, are made by the
    export (never through a link), and only its own files are renamed."""
    dataset = tmp_path / "shared.parquet"
    victim = tmp_path / "important.conf"
    victim.write_bytes(VICTIM)
    with _opened(db) as lab:
        assert lab.export(str(dataset), fmt="parquet", until=N - 1) == N - 1
        source, folder = _source(dataset)
        head = f".part-{source}-{N}-{N}-"  # (the next export holds capture N alone)
        if planted == "symlink-at-the-next-name":
            names = [folder / f"{head}0.parquet.tmp"]
            names[0].symlink_to(victim)
        elif planted == "symlinks-at-every-count":
            names = [folder / f"{head}{n}.parquet.tmp" for n in range(4)]
            for name in names:
                name.symlink_to(victim)
        else:
            names = [folder / f"{head}1.parquet.tmp"]
            names[0].write_bytes(b"PAR1 the other user's bytes")
        assert lab.export(str(dataset), fmt="parquet") == 1
    assert victim.read_bytes() == VICTIM  # (before: b"PAR1...")
    finals = sorted(dataset.glob("day=*/provider=*/part-*.parquet"))
    assert [p.name for p in finals] == [f"part-{source}-1-{N - 1}-0.parquet",
                                        f"part-{source}-{N}-{N}-0.parquet"]
    assert not any(p.is_symlink() for p in finals)
    assert all(p.is_symlink() or p.read_bytes().startswith(b"PAR1 the other") for p in names)
    with _opened(dataset) as opened:
        assert sorted(opened.dataframe()["id"].tolist()) == list(range(1, N + 1))


@pytest.mark.parametrize("how", ["symlink", "theirs"])
def test_a_parquet_file_swapped_while_written_is_not_taken_in(db, tmp_path, monkeypatch, how) -> None:  # type: ignore[no-untyped-def]
    """The export's own temporary file replaced while Arrow writes it (a link to another
    file, a file of the other user's): renaming that name put the link, or their file, in the
    dataset. Now a name that no longer names the file written is refused and the export
    undone."""
    import hooklab.export.parquet as pqx

    monkeypatch.setattr(pqx, "BATCH_BYTES", 1)  # (a batch a capture: the file is made at the
    dataset = tmp_path / "shared.parquet"  # first, the swap comes at the second)
    victim = tmp_path / "important.conf"
    victim.write_bytes(VICTIM)

    def other_user_swaps() -> None:
        tmps = list(dataset.rglob(".part-*.tmp"))
        assert len(tmps) == 1, tmps
        _swap(tmps[0], victim, how, aside=False, theirs=b"PAR1 the other user's bytes")

    with _opened(db) as lab:
        assert lab.export(str(dataset), fmt="parquet", until=N - 3) == N - 3
        with pytest.raises(OSError) as err:
            export(_Meanwhile(lab.store, 2, other_user_swaps), str(dataset), fmt="parquet")  # type: ignore[arg-type]
    assert "was replaced while the export wrote it" in str(err.value), err.value
    assert victim.read_bytes() == VICTIM
    assert len(list(dataset.glob("day=*/provider=*/part-*.parquet"))) == 1
    assert list(dataset.rglob(".part-*")) == []
    with _opened(dataset) as opened:
        assert len(opened.dataframe()) == N - 3


# -- Parquet through a link and ".." ---------------------------------------------------------

@pytest.mark.parametrize("given,lands", [
    ("link/../c.parquet", "deep/c.parquet"),
    ("link/../fresh/c.parquet", "deep/fresh/c.parquet"),  # (a parent to make, too)
    ("link/sub/../../c.parquet", "deep/c.parquet"),
    ("link/c.parquet", "deep/target/c.parquet"),  # (no "..": as before)
])
def test_a_parquet_export_through_a_link_and_dotdot_lands_where_the_path_leads(db, tmp_path,  # type: ignore[no-untyped-def]
                                                                               given, lands) -> None:
    """``link/../c.parquet`` is ``deep/c.parquet`` to the system (``..`` of the link's
    target). The export made its folder beside the link (reading ``..`` as text) and Arrow
    wrote under the target: ``FileNotFoundError``. Now the path is resolved once, and made
    and written there; nothing is made beside the link."""
    (tmp_path / "deep" / "target" / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "deep" / "target")
    with _opened(db) as lab:
        assert lab.export(str(tmp_path / given), fmt="parquet") == N
        assert lab.export(str(tmp_path / given), fmt="parquet") == 0  # (its note found again)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "link"]
    with _opened(tmp_path / lands) as opened:
        assert len(opened.dataframe()) == N
