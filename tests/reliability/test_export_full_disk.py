"""Exports on a full disk: the earlier export is kept, or said lost; a failed Parquet export
leaves no folder of its own.

An operator's disk filled up. ``lab.export(path)`` writes a file beside ``path`` and puts it in
place once complete; where that file could not even be made (no inode left) it fell back to
writing in place and left the earlier good export cut mid-record. Writing in place is now kept
for a folder that takes no new files (``EACCES``, ``EPERM``, ``EROFS``), where a failed export
empties the file and says so. A first Parquet export stopped by a file-size limit left an empty
``out.parquet/day=.../provider=...`` tree.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import resource
import signal
import subprocess
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from _relsupport import HOOKLAB, tmpfs

import hooklab

pytestmark = pytest.mark.timeout(180)

FORMATS = ["jsonl", "har", "csv"]


def _fill(db: Path, n: int, headers: dict[str, str] | None = None, size: int = 3000) -> None:
    """``n`` captures into the database ``db`` through a real lab over HTTP (bodies of random
    hex: a Parquet file of them does not shrink much)."""
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    try:
        before = len(lab.captures)
        conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=10)
        try:
            for i in range(n):
                body = json.dumps({"i": i, "pad": os.urandom(size // 2).hex()}).encode()
                conn.request("POST", "/b", body=body,
                             headers={"Content-Type": "application/json", **(headers or {})})
                r = conn.getresponse()
                r.read()
                assert r.status == 200, r.status
        finally:
            conn.close()
        lab.wait(before + n, timeout=20)
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("src") / "c.sqlite3"
    _fill(path, 120)
    return path


def _fill_up(disk: Path) -> int:
    """Use up the inodes and bytes of ``disk`` (files ``f0``, ``f1``...: bounded by both)."""
    made = 0
    for i in range(1000):
        try:
            fd = os.open(disk / f"f{i}", os.O_WRONLY | os.O_CREAT)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
            break
        made += 1
        try:
            for _ in range(100_000):  # (a 2 MB disk: ~500 writes)
                os.write(fd, b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)
    return made


@pytest.fixture
def inodes_gone(tmp_path) -> Iterator[Path]:
    """The tester's disk: a 2 MB tmpfs of 4 inodes (root only)."""
    with tmpfs(tmp_path / "small", "size=2m,nr_inodes=4") as disk:
        yield disk


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".hooklab-export-"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_room_for_the_temporary_file_keeps_the_earlier_export(inodes_gone, db, fmt) -> None:  # type: ignore[no-untyped-def]
    """No inode left: the export raised ENOSPC but had cut ``out.*`` to what fitted (ending
    mid-record). Now the earlier export stays byte for byte, through the API and the CLI."""
    out = inodes_gone / f"out.{fmt}"
    lab = hooklab.open(str(db))
    try:
        assert lab.export(str(out), fmt=fmt, since=100) == 20
        good = out.read_bytes()
        assert _fill_up(inodes_gone) >= 1
        with pytest.raises(OSError) as err:
            lab.export(str(out), fmt=fmt)
    finally:
        lab.stop()
    assert err.value.errno == errno.ENOSPC
    assert str(out) in str(err.value) and "the earlier file was left as it was" in str(err.value)
    assert out.read_bytes() == good
    r = subprocess.run([*HOOKLAB, "export", "--db", str(db), "--format", fmt, "-o", str(out)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("hooklab: [Errno 28] No space left on device (making the "
                               "temporary file"), r.stderr
    assert out.read_bytes() == good and _leftovers(inodes_gone) == []


def _refuse_temporary_files(monkeypatch, code: int) -> None:  # type: ignore[no-untyped-def]
    """``os.open`` of the export's temporary file fails with ``code`` (others as they are)."""
    real = os.open

    def fake(path, flags, mode=0o777, *, dir_fd=None):  # type: ignore[no-untyped-def]
        if os.path.basename(os.fspath(path)).startswith(".hooklab-export-"):
            raise OSError(code, os.strerror(code), path)
        return real(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", fake)


def _case(code: int, in_place: bool) -> object:
    return pytest.param(code, in_place, id=f"{errno.errorcode[code]}-{'in-place' if in_place else 'refused'}")


@pytest.mark.parametrize("code,in_place", [
    _case(errno.ENOSPC, False),  # a full disk (also when no inode is left)
    _case(errno.EDQUOT, False),  # a quota
    _case(errno.EIO, False),
    _case(errno.EMFILE, False),  # this process's files
    _case(errno.ENFILE, False),  # the system's
    _case(errno.ENAMETOOLONG, False),
    _case(errno.EACCES, True),  # a folder that takes no new files: the file itself is writable
    _case(errno.EPERM, True),
    _case(errno.EROFS, True),  # (a file bind-mounted writable into a read-only tree)
])
@pytest.mark.parametrize("fmt", FORMATS)
def test_only_a_folder_that_takes_no_files_is_written_in_place(tmp_path, monkeypatch, db, fmt,  # type: ignore[no-untyped-def]
                                                               code, in_place) -> None:
    """Any error making the temporary file fell back to writing in place. Now only those
    that say the folder refuses new files do; the others are raised, the file untouched."""
    out = tmp_path / f"out.{fmt}"
    lab = hooklab.open(str(db))
    try:
        lab.export(str(out), fmt=fmt, since=100)
        good = out.read_bytes()
        lab.export(str(tmp_path / f"all.{fmt}"), fmt=fmt)
        whole = (tmp_path / f"all.{fmt}").read_bytes()
        _refuse_temporary_files(monkeypatch, code)
        if in_place:
            assert lab.export(str(out), fmt=fmt) == 120
        else:
            with pytest.raises(OSError) as err:
                lab.export(str(out), fmt=fmt)
    finally:
        monkeypatch.undo()
        lab.stop()
    if in_place:
        assert out.read_bytes() == whole
    else:
        assert err.value.errno == code and err.value.filename == str(out), err.value
        assert out.read_bytes() == good
    assert _leftovers(tmp_path) == []


@pytest.fixture
def no_new_files(tmp_path) -> Iterator[Path]:
    """A writable ``out.jsonl`` in a folder that takes no new files. Root (who may write in
    any folder): the file bind-mounted from ``real/`` into a read-only tmpfs (EROFS); others:
    a folder of mode 0555 (EACCES)."""
    folder = tmp_path / "locked"
    real = tmp_path / "real"
    real.mkdir()
    if os.geteuid() != 0:
        folder.mkdir()
        (folder / "out.jsonl").write_bytes(b"")
        folder.chmod(0o555)
        try:
            yield folder / "out.jsonl"
        finally:
            folder.chmod(0o755)
        return
    with tmpfs(folder, "size=1m"):
        (folder / "out.jsonl").write_bytes(b"")
        (real / "out.jsonl").write_bytes(b"")
        subprocess.run(["mount", "--bind", str(real / "out.jsonl"), str(folder / "out.jsonl")],
                       check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
            with pytest.raises(OSError) as err:
                (folder / "new").write_bytes(b"")
            assert err.value.errno == errno.EROFS
            yield folder / "out.jsonl"
        finally:
            subprocess.run(["umount", "-l", str(folder / "out.jsonl")])


def _jsonl_ids(path: Path) -> list[int]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_a_folder_that_takes_no_files_is_written_in_place(no_new_files, db) -> None:  # type: ignore[no-untyped-def]
    out = no_new_files
    lab = hooklab.open(str(db))
    try:
        assert lab.export(str(out), fmt="jsonl", since=100) == 20
        assert _jsonl_ids(out) == list(range(101, 121))
        assert lab.export(str(out), fmt="jsonl") == 120
    finally:
        lab.stop()
    assert _jsonl_ids(out) == list(range(1, 121)) and _leftovers(out.parent) == []


#: the limited children write no bytecode: one compiling a module changed since the last
#: compileall wrote its .pyc cut at the limit, and every later import of it failed (EOFError)
_NO_PYC = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def _small_files() -> None:  # (in the child: as a disk that fills after 40 KB)
    resource.setrlimit(resource.RLIMIT_FSIZE, (40_960, 40_960))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _half_way(db: Path, out: Path) -> str:
    """An error in the middle of the export (the store stops answering after 30 captures),
    in this process; the warning it gives."""
    lab = hooklab.open(str(db))
    store = lab.store

    class Failing:  # (the store, but its captures end in an error half way)
        def __getattr__(self, name: str) -> object:
            return getattr(store, name)

        def iter_captures(self, **filters: object) -> Iterator[object]:
            for n, c in enumerate(store.iter_captures(**filters)):
                if n == 30:
                    raise ValueError("the store broke half way")
                yield c

    from hooklab.export import export

    try:
        with warnings.catch_warnings(record=True) as said, pytest.raises(ValueError, match="half way"):
            warnings.simplefilter("always")
            export(Failing(), str(out), fmt="jsonl")  # type: ignore[arg-type]
    finally:
        lab.stop()
    assert len(said) == 1, [str(w.message) for w in said]
    return str(said[0].message)


def _file_size_limit(db: Path, out: Path) -> str:
    """``hooklab export`` with a file-size limit (a full disk, to one process); its stderr."""
    r = subprocess.run([*HOOKLAB, "export", "--db", str(db), "--format", "jsonl", "-o", str(out)],
                       capture_output=True, text=True, timeout=60, env=_NO_PYC, preexec_fn=_small_files)  # noqa: PLW1509 - only setrlimit
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("hooklab: [Errno 27] File too large; "), r.stderr
    return r.stderr


@pytest.mark.parametrize("fail", [_file_size_limit, _half_way], ids=["file-size-limit", "error-half-way"])
def test_an_export_that_fails_in_place_empties_the_file_and_says_so(no_new_files, db,  # type: ignore[no-untyped-def]
                                                                    fail: Callable[[Path, Path], str]) -> None:
    """Written in place, a failed export cut the earlier file to what fitted: a JSON Lines or
    CSV file that reads as a shorter export. Now it is emptied, and the error (or a warning,
    for an error that is no OSError) says the earlier file is lost."""
    out = no_new_files
    lab = hooklab.open(str(db))
    try:
        lab.export(str(out), fmt="jsonl", since=100)
    finally:
        lab.stop()
    assert len(_jsonl_ids(out)) == 20
    said = fail(db, out)
    assert f"{str(out)!r} was being written in place" in said and "was emptied" in said, said
    assert "the earlier file there is lost" in said
    assert out.read_bytes() == b"" and _leftovers(out.parent) == []


# -- Parquet ---------------------------------------------------------------------------------

def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder``: a file's bytes, ``None`` for a folder."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def _parquet_export_limited(db: Path, out: Path) -> subprocess.CompletedProcess[str]:
    def limit() -> None:  # (in the child: the tester's 50 kB, SIGXFSZ ignored)
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return subprocess.run([*HOOKLAB, "export", "--db", str(db), "--format", "parquet", "-o", str(out)],
                          capture_output=True, text=True, timeout=120, env=_NO_PYC, preexec_fn=limit)  # noqa: PLW1509 - only setrlimit


@pytest.mark.parametrize("where", ["new-folder", "new-folder-in-new-parent"])
def test_a_failed_first_parquet_export_leaves_no_folder(tmp_path, db, where) -> None:  # type: ignore[no-untyped-def]
    """``hooklab export --format parquet`` stopped by a file-size limit left an empty
    ``out.parquet/day=.../provider=...`` tree (and the parents it made)."""
    out = tmp_path / ("out.parquet" if where == "new-folder" else "exports/hourly/out.parquet")
    r = _parquet_export_limited(db, out)
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("hooklab: [Errno 27] ") and "File too large" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [], list(tmp_path.rglob("*"))
    # (Arrow's words alone said neither where nor that nothing was left)
    assert r.stderr.endswith(f"(exporting to {str(out)!r}: what this export wrote was removed)\n")
    # and with room, the same command makes it
    r = subprocess.run([*HOOKLAB, "export", "--db", str(db), "--format", "parquet", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    opened = hooklab.open(str(out))
    try:
        assert len(opened.captures) == 120
    finally:
        opened.stop()


def test_a_failed_parquet_export_leaves_an_existing_dataset_as_it_was(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An export into a dataset that adds a provider's folder, stopped by the limit: the
    dataset's files and folders as they were (no empty ``provider=github/``), and the next
    export with room adds what is new."""
    db = tmp_path / "c.sqlite3"
    out = tmp_path / "out.parquet"
    _fill(db, 10, size=300)
    r = subprocess.run([*HOOKLAB, "export", "--db", str(db), "--format", "parquet", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    _fill(db, 60, {"X-GitHub-Event": "push", "X-GitHub-Delivery": "d"})
    before = _tree(out)
    assert not any("provider=github" in p for p in before)
    r = _parquet_export_limited(db, out)
    assert r.returncode == 1 and "File too large" in r.stderr, r.stderr
    assert _tree(out) == before
    r = subprocess.run([*HOOKLAB, "export", "--db", str(db), "--format", "parquet", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == f"wrote 60 captures to {out}\n", r.stderr
    opened = hooklab.open(str(out))
    try:
        provider = opened.dataframe()["provider"]
        assert (provider == "github").sum() == 60 and provider.isna().sum() == 10
    finally:
        opened.stop()


def test_a_parquet_export_whose_note_cannot_be_written_is_undone(tmp_path, monkeypatch, db) -> None:  # type: ignore[no-untyped-def]
    """The last step, ``_hooklab/<source>.json`` (where the next export starts), failing on a
    full disk left its ``tmp*.tmp`` and the files it would have counted. Now the export is
    undone: nothing stays, and the next one writes it all."""
    out = tmp_path / "out.parquet"

    def no_room(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    lab = hooklab.open(str(db))
    try:
        monkeypatch.setattr(json, "dump", no_room)  # (only the note is written with json.dump)
        with pytest.raises(OSError, match="No space left on device") as err:
            lab.export(str(out), fmt="parquet")
        monkeypatch.undo()
        assert err.value.errno == errno.ENOSPC
        assert list(tmp_path.iterdir()) == [], list(tmp_path.rglob("*"))
        assert lab.export(str(out), fmt="parquet") == 120
    finally:
        monkeypatch.undo()
        lab.stop()
