"""An import holds none of its rows once it returned: the README calls the import streamed.

``hooklab.load_jsonl(path, db=file)`` kept every imported row, bodies included, in memory until
``lab.stop()``: the store's import thread held its last job, through it the import's handover
and every chunk handed to the writer (8,000 bodies of 25 KB left 379 MB resident in an idle
lab, 78 MB after ``stop()``); the writer kept its last batch and the rows of the last,
partial column segment too, and a failed import's traceback (IPython keeps the last one) the
chunk it was making.

Each case imports, as a user does, a file whose bodies weigh :data:`BODIES` bytes, in a fresh
interpreter that traces Python's allocations (:mod:`tracemalloc`: the rows are Python
objects; SQLite's own pages, in a file or in memory, are not traced). What is still
allocated once the import returned, beyond what the same interpreter held before it, must
be far below the bodies' weight: under a quarter of it (the chunk an import was making when
it failed, or one the writer still stores, is at most 16 MiB, a fifth). Before the fix every
case held more than all of the bodies.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)

#: captures in a small file, the size of each body, and so the weight of their bodies
N, SIZE = 1_600, 50_000
BODIES = N * SIZE  # 80 MB: chunks of 16 MiB, five of them, the last partial


def write_jsonl(path: Path, n: int = N, size: int = SIZE, bad_last: bool = False) -> None:
    """``n`` lines as ``lab.export(path)`` writes them, each a JSON body of ``size`` bytes (text
    that compresses: the store keeps a copy in its column segments, as the writer's
    partial segment does); with ``bad_last`` the last line's method is no HTTP token."""
    with path.open("w") as f:
        for i in range(1, n + 1):
            head = json.dumps({"i": i, "pad": ""}).encode()
            body = head[:-2] + os.urandom(size).hex().encode()[: size - len(head)] + b'"}'
            assert len(body) == size
            f.write(json.dumps({
                "id": i, "kind": "http", "received_at": "2026-11-01T10:00:00Z",
                "method": "PO ST" if bad_last and i == n else "POST", "path": "/b", "bin": "b",
                "url": "http://127.0.0.1:8765/b", "query": {},
                "headers": [["Content-Type", "application/json"]], "remote_addr": "127.0.0.1",
                "status": 200, "body_b64": base64.b64encode(body).decode()}) + "\n")


#: what each case runs after ``import hooklab`` and ``tracemalloc.start()``; it leaves what a
#: user holds afterwards in ``kept`` (the lab, or the error a notebook keeps)
CASES = {
    "load_jsonl into a database file": "kept = hooklab.load_jsonl(SRC, db=DB)",
    "load_jsonl into memory": "kept = hooklab.load_jsonl(SRC)",
    "HookLab.from_jsonl into a file that holds captures already": (
        "hooklab.load_jsonl(SMALL, db=DB).stop()\n"
        "kept = hooklab.HookLab.from_jsonl(SRC, db=DB)"),
    "load_har (read as a whole)": "kept = hooklab.load_har(HAR)",
    "store.add_many into a lab's database file": (
        "kept = hooklab.HookLab(db=DB)\n"
        "kept.store.add_many(r for r in hooklab.export.jsonl.read_jsonl(SRC))"),
    "load_jsonl into a file, its last line bad (the error kept)": (
        "try:\n"
        "    hooklab.load_jsonl(BAD, db=DB)\n"
        "except ValueError as exc:\n"
        "    kept = exc  # (IPython keeps the last error and its traceback)\n"),
}

SCRIPT = """
import gc, sys, time, tracemalloc
import hooklab, hooklab.export.jsonl
SRC, BAD, SMALL, HAR, DB = sys.argv[1:6]
hooklab.load_jsonl(SMALL).stop()  # (what a first import loads: modules, caches)
gc.collect()
tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
{case}
# held while the lab sits idle: the writer may still be indexing what it stored (its work
# reads bodies back, for a moment); looked at until it is done, 30 s at most
deadline = time.monotonic() + 30
while True:
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    if held < {limit} or time.monotonic() > deadline:
        break
    time.sleep(0.5)
print(held)
if hasattr(kept, "stop"):
    kept.stop()
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("imports")
    out = {"src": d / "in.jsonl", "bad": d / "bad.jsonl", "small": d / "small.jsonl",
           "har": d / "in.har"}
    write_jsonl(out["src"])
    write_jsonl(out["bad"], bad_last=True)
    write_jsonl(out["small"], n=3, size=100)
    subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys, hooklab
        lab = hooklab.load_jsonl(sys.argv[1])
        lab.export_har(sys.argv[2])
        lab.stop()
    """), str(out["src"]), str(out["har"])], check=True, timeout=300)
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_an_import_holds_none_of_its_rows_once_it_returned(
        case: str, files: dict[str, Path], tmp_path: Path) -> None:
    limit = BODIES // 4
    script = SCRIPT.format(case=CASES[case], limit=limit)
    r = subprocess.run(
        [sys.executable, "-c", script, str(files["src"]), str(files["bad"]), str(files["small"]),
         str(files["har"]), str(tmp_path / "c.sqlite3")],
        capture_output=True, text=True, timeout=500)
    assert r.returncode == 0, r.stderr[-3000:]
    held = int(r.stdout.split()[-1])
    assert held < limit, (f"{held:,} bytes still allocated after the import, for {BODIES:,} "
                          "bytes of bodies")
