"""What a HAR's attached bodies (``postData._file``) may name, and how much of them one import
may take. A security review found two holes:

* a hostile HAR named ANY file under its folder, hidden subfolders included
  (``.hooklab/captures.sqlite3``, the user's capture database; ``.ssh/id_ed25519`` for a HAR
  in the home folder), and ``hooklab.load_har`` imported it as a capture body, to be shown,
  saved and replayed. Playwright keeps bodies directly beside the HAR (or at the top of its
  zip), named ``<sha1>.<ext>``: only such a name is read now, anything else refuses the file,
  naming the entry;
* one file named by many entries was read again and kept again for each (an 8 MiB file times
  64 entries of a 36 KB HAR: 512 MiB), with no total limit outside a zip. A name is now read
  once, its captures sharing the bytes, and the bodies one import gives its captures are
  capped (``hooklab.export.MAX_ATTACHED_TOTAL``, 1 GiB: a body several entries name counts
  for each, as each capture stores it).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest

import hooklab
import hooklab.export

MiB = 2**20
SECRET = b"-----BEGIN OPENSSH PRIVATE KEY-----\nPRIVATEKEYBYTES\n"
H = hashlib.sha1(b"x").hexdigest()  # (a name's hash: what it hashes does not matter here)


def entry(name: Any, ctype: str = "application/octet-stream", n: int = 0) -> dict[str, Any]:
    """A POST entry as Playwright's "attach" writes one, its body in the file ``name``."""
    return {
        "startedDateTime": f"2026-12-06T02:26:{n % 60:02d}.946Z", "time": 3,
        "request": {"method": "POST", "url": f"http://127.0.0.1:43913/hook/{n}",
                    "httpVersion": "HTTP/1.1", "cookies": [], "queryString": [],
                    "headers": [{"name": "Content-Type", "value": ctype}],
                    "headersSize": -1, "bodySize": -1,
                    "postData": {"mimeType": ctype, "text": "", "params": [], "_file": name}},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                     "cookies": [], "headers": [], "content": {"size": 0, "mimeType": "x"},
                     "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 1}}


def har_bytes(entries: list[Any]) -> bytes:
    return json.dumps({"log": {"version": "1.2", "creator": {"name": "Playwright",
                                                             "version": "1.52.0"},
                               "entries": entries}}).encode()


def write_har(path: Path, entries: list[Any]) -> Path:
    path.write_bytes(har_bytes(entries))
    return path


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def project(folder: Path) -> None:
    """What a project (or home) folder holds beside a downloaded HAR: a capture database in
    ``.hooklab``, a key in ``.ssh``, a database and a key right beside it, and one file
    with a Playwright-like name in a folder below."""
    (folder / ".hooklab").mkdir()
    db = sqlite3.connect(folder / ".hooklab" / "captures.sqlite3")
    db.execute("CREATE TABLE captures (body BLOB)")
    db.execute("INSERT INTO captures VALUES ('Bearer sk_live_PROJECTKEY_123')")
    db.commit()
    db.close()
    (folder / "captures.sqlite3").write_bytes((folder / ".hooklab" / "captures.sqlite3").read_bytes())
    (folder / ".ssh").mkdir()
    (folder / ".ssh" / "id_ed25519").write_bytes(SECRET)
    (folder / "id_ed25519").write_bytes(SECRET)
    (folder / f".{H}.json").write_bytes(SECRET)
    (folder / "resources").mkdir()
    (folder / "resources" / f"{H}.bin").write_bytes(SECRET)
    (folder / f"{H}.json").write_bytes(b"{}")  # (a real body: the names below are not it)


#: names a hostile HAR gives its bodies, each a file that exists where it points (or
#: nothing): every one refuses the file, naming the entry, before any byte is read
HOSTILE_NAMES: list[str] = [
    ".hooklab/captures.sqlite3",      # the lab's own database, in a hidden folder
    ".ssh/id_ed25519",                # a key, for a HAR in the home folder
    "captures.sqlite3",               # a plain name right beside the HAR
    "id_ed25519",
    f".{H}.json",                     # a dotfile, however Playwright-like
    f"resources/{H}.bin",             # a Playwright-like name in a folder below
    f"resources\\{H}.bin",
    f"./{H}.json",
    f"{H}.json/",
    f"{H}.json\n",                    # ($ in a regex matches before a final newline)
    f"{H}.json ",
    f" {H}.json",
    f"{H}.json\x00.txt",
    f"{H}",                           # no extension
    f"{H}.",
    f"{H}..json",
    f"{H}.tar.gz",
    f"{H}.-json",
    f"{H}.{'x' * 33}",                # an extension no Content-Type has
    f"{H[:-1]}.json",                 # 39 hex digits
    f"{H}0.json",                     # 41
    f"{H.upper()}.json",              # Playwright writes lowercase hex
    f"{'g' * 40}.json",
    "\u0660" * 40 + ".json",          # Arabic-Indic digits: no hex
    f"../{H}.json",
    f"/etc/{H}.json",
    "",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[repr(n)[1:-1][:30] for n in HOSTILE_NAMES])
@pytest.mark.parametrize("where", ["folder", "zip"])
def test_a_body_name_playwright_would_not_write_refuses_the_file(tmp_path: Path, name: str,
                                                                 where: str) -> None:
    project(tmp_path)
    entries = [entry(f"{H}.json", "application/json", 0), entry(name, n=1)]
    if where == "folder":
        path = write_har(tmp_path / "shared.har", entries)
    else:  # the zip holds a member of that very name (as zipfile stores it: to a NUL)
        members = {"har.har": har_bytes(entries), f"{H}.json": b"{}"}
        members.setdefault(zipfile.ZipInfo(name or "x").filename, SECRET)
        path = write_zip(tmp_path / "shared.zip", members)
    said = (f"{str(path)!r}: HAR entry 1 is malformed (postData._file {name!r} is not a file "
            "beside the HAR file (Playwright names one <sha1>.<ext>))")
    for read in (lambda: hooklab.load_har(path).stop(), lambda: hooklab.export.read_har(path)):
        with pytest.raises(ValueError) as caught:
            read()
        assert str(caught.value) == said


#: bodies as Playwright names them (``mime.getExtension`` of the Content-Type, "dat" without
#: one): (Content-Type, extension)
PLAYWRIGHT_NAMES: list[tuple[str, str]] = [
    ("application/json", "json"),
    ("application/octet-stream", "bin"),
    ("application/x-www-form-urlencoded", "dat"),
    ("text/plain;charset=UTF-8", "txt"),
    ("application/vnd.lotus-1-2-3", "123"),
    ("application/x-xliff+xml", "xlf"),
    ("application/vnd.fujixerox.ddd", "ddd"),
    ("application/x-silverlight-app", "xap"),
    ("application/vnd.nokia.n-gage.data", "n-gage"),          # the extensions with a "-"
    ("message/disposition-notification", "disposition-notification"),
    ("model/vnd.parasolid.transmit.binary", "x_b"),           # and with a "_"
]


@pytest.mark.parametrize("where", ["folder", "zip"])
def test_the_names_playwright_writes_are_read(tmp_path: Path, where: str) -> None:
    members: dict[str, bytes] = {}
    entries = []
    for n, (ctype, ext) in enumerate(PLAYWRIGHT_NAMES):
        body = f"body {n} \u2603".encode() + bytes([0xFF, 0, n])
        name = f"{hashlib.sha1(body).hexdigest()}.{ext}"
        members[name] = body
        entries.append(entry(name, ctype, n))
    if where == "folder":
        for name, body in members.items():
            (tmp_path / name).write_bytes(body)
        path = write_har(tmp_path / "pw.har", entries)
    else:
        path = write_zip(tmp_path / "pw.zip", {"har.har": har_bytes(entries), **members})
    lab = hooklab.load_har(path)
    try:
        assert [c.body for c in lab.captures] == list(members.values())
        assert [c.verify_reason for c in lab.captures] == [None] * len(members)
    finally:
        lab.stop()


def _link(target: str) -> Any:
    def make(folder: Path) -> str:
        (folder / f"{H}.bin").symlink_to(folder / target)
        return f"{H}.bin"
    return make


#: links beside the HAR with a body's name: (what the link points to, the error's words, or
#: the bytes read)
LINKS: dict[str, tuple[Any, str | bytes]] = {
    "to the lab's database": (_link(".hooklab/captures.sqlite3"),
                              "is a link to '.hooklab/captures.sqlite3', no body beside"),
    "to a key in .ssh": (_link(".ssh/id_ed25519"), "is a link to '.ssh/id_ed25519', no body"),
    "to a database beside": (_link("captures.sqlite3"), "is a link to 'captures.sqlite3', no"),
    "to a dotfile beside": (_link(f".{H}.json"), f"is a link to '.{H}.json', no body beside"),
    "to a body in a folder below": (_link(f"resources/{H}.bin"),
                                    f"is a link to 'resources/{H}.bin', no body beside"),
    "to the folder": (_link("."), "leads out of the HAR file's folder"),
    "out of the folder": (_link("../outside"), "leads out of the HAR file's folder"),
    "to another body beside": (_link(f"{H}.json"), b"{}"),
}


@pytest.mark.parametrize("case", list(LINKS))
def test_a_body_name_that_is_a_link_reads_only_a_body_beside(tmp_path: Path, case: str) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    project(folder)
    (tmp_path / "outside").write_bytes(SECRET)
    make, outcome = LINKS[case]
    path = write_har(folder / "x.har", [entry(make(folder))])
    if isinstance(outcome, bytes):
        assert [r["body"] for r in hooklab.export.read_har(path)] == [outcome]
    else:
        with pytest.raises(ValueError, match=r"x\.har': HAR entry 0 is malformed \(postData"
                           rf"\._file '{H}\.bin' " + re.escape(outcome)):
            hooklab.export.read_har(path)


# -- how much ----------------------------------------------------------------------------------

def _bodies(tmp_path: Path, size: int, times: int, where: str = "folder",
            extra: bytes | None = None) -> Path:
    """A HAR whose ``times`` entries name one body of ``size`` zero bytes (and one more entry
    naming ``extra``, another body, if given)."""
    body = bytes(size)
    name = f"{hashlib.sha1(body).hexdigest()}.bin"
    entries = [entry(name, n=n) for n in range(times)]
    members = {name: body}
    if extra is not None:
        members[f"{hashlib.sha1(extra).hexdigest()}.bin"] = extra
        entries.append(entry(f"{hashlib.sha1(extra).hexdigest()}.bin", n=times))
    if where == "zip":
        return write_zip(tmp_path / "x.zip", {"har.har": har_bytes(entries), **members})
    for member, data in members.items():
        (tmp_path / member).write_bytes(data)
    return write_har(tmp_path / "x.har", entries)


def test_a_body_named_again_is_read_once_and_shared(tmp_path: Path) -> None:
    """The repro: one file named by every entry took a copy per entry (32 x 4 MiB here,
    128 MiB; and each read set 64 MiB aside first, whatever the file's size)."""
    path = _bodies(tmp_path, 4 * MiB, 32)
    tracemalloc.start()
    try:
        records = hooklab.export.read_har(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [len(r["body"]) for r in records] == [4 * MiB] * 32
    assert len({id(r["body"]) for r in records}) == 1  # (one bytes object for all 32)
    # (the body, and a few MiB of modules a first import loads)
    assert peak < 12 * MiB, f"{peak:,} bytes at the peak for one 4 MiB body"


TOTAL = 2**30  # (hooklab.export.MAX_ATTACHED_TOTAL)
BIG = 64 * MiB  # (hooklab.export.MAX_ATTACHED: 16 of them are MAX_ATTACHED_TOTAL exactly)
TOO_MUCH = (f"takes the HAR's attached bodies past {TOTAL:,} bytes in all "
            "(hooklab.export.MAX_ATTACHED_TOTAL; a body several entries name counts for each)")

def test_the_limits_are_public() -> None:
    assert (hooklab.export.MAX_ATTACHED_TOTAL, hooklab.export.MAX_ATTACHED) == (TOTAL, BIG)
    assert {"MAX_ATTACHED", "MAX_ATTACHED_TOTAL"} <= set(hooklab.export.__all__)


#: bodies of a HAR beside its folder or in its zip: (where, body size, entries naming it,
#: another small body after them, the bodies' sizes read or the entry that refuses the file)
#: (A zip's member was unzipped again for every entry naming it, each time counted against
#: MAX_UNZIPPED: the fifth, 64 MiB unzipped, was refused as unzipping past 1 GiB.)
TOTALS: list[tuple[str, int, int, bytes | None, list[int] | int]] = [
    ("folder", BIG, 16, None, [BIG] * 16),            # 1 GiB exactly: taken
    ("folder", BIG, 17, None, 16),                    # a byte more: refused at the 17th
    ("folder", BIG, 16, b"1", 16),                    # another body past it: refused too
    ("folder", BIG, 15, b"1", [BIG] * 15 + [1]),
    ("zip", BIG, 16, None, [BIG] * 16),               # (the zip's .har does not count here)
    ("zip", BIG, 17, None, 16),
    ("zip", BIG, 16, b"1", 16),
]


@pytest.mark.parametrize("where,size,times,extra,outcome", TOTALS)
def test_attached_bodies_in_all_are_capped(tmp_path: Path, where: str, size: int, times: int,
                                           extra: bytes | None,
                                           outcome: list[int] | int) -> None:
    """Each capture stores its body, shared or not (``load_har``'s store is in memory): one
    64 MiB file named by 17 entries of a few KB of HAR is 1 GiB and a bit. Its file is read
    once (``read_har``: records sharing the bytes, so this test holds 64 MiB)."""
    path = _bodies(tmp_path, size, times, where, extra)
    assert path.stat().st_size < 2 * MiB  # (a zip: 64 MiB of zeros deflate to ~64 KB)
    if isinstance(outcome, int):
        name = json.loads(_har_of(path))["log"]["entries"][outcome]["request"]["postData"]["_file"]
        with pytest.raises(ValueError) as caught:
            hooklab.export.read_har(path)
        assert str(caught.value) == (f"{str(path)!r}: HAR entry {outcome} is malformed "
                                     f"(postData._file {name!r} {TOO_MUCH})")
    else:
        records = hooklab.export.read_har(path)
        assert [len(r["body"]) for r in records] == outcome
        assert len({id(r["body"]) for r in records if len(r["body"]) == size}) == 1


def _har_of(path: Path) -> bytes:
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as z:
            return z.read("har.har")
    return path.read_bytes()
