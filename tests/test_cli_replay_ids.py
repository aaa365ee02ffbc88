"""``hooklab replay --id``: which captures it sends, in which order, and at what memory cost.

``replay`` read every capture, bodies included, before it sent the first: a range of big
captures needed all of their bodies in memory at once. Now each capture is read just before
it is sent (one query of the ids first, so that an unknown id is still a usage error before
anything is sent). A range skips the ids named before it (``1-3,2-4`` delivered #2 and #3
twice); an id written alone is sent each time it is written. An id past SQLite's 64-bit
integers was an OverflowError traceback; ``+3``, ``1_0`` and other scripts' digits were
taken as ids: ASCII digits only now.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(300)

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
TO_NOWHERE = "http://127.0.0.1:9/x"


class _App:
    """An app on 127.0.0.1 that answers each POST 200; ``got`` is (X-Seq, body length) per
    request, in the order they arrived."""

    def __init__(self) -> None:
        self.got: list[tuple[int, int]] = []
        lock = threading.Lock()
        app = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                left, size = int(self.headers.get("Content-Length", 0)), 0
                while left:  # (read in pieces: the app holds no body)
                    piece = self.rfile.read(min(left, 1 << 16))
                    if not piece:
                        break
                    left, size = left - len(piece), size + len(piece)
                with lock:
                    app.got.append((int(self.headers.get("X-Seq", "0")), size))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _App:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _database(path: Path, n: int, size: int) -> str:
    """A database of ``n`` captures (``X-Seq: 1`` .. ``n``) of ``size`` bytes each, captured
    by a lab over real sockets; its path."""
    lab = hooklab.HookLab(port=0, db=str(path)).start()
    try:
        for seq in range(1, n + 1):
            body = os.urandom(size) if size > 64 else json.dumps({"seq": seq}).encode()
            status, _ = post(lab.url_for("b"), body, {"X-Seq": str(seq)})
            assert status == 200
        assert len(lab.wait(n, timeout=60)) == n
    finally:
        lab.stop()
    return str(path)


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return _database(tmp_path_factory.mktemp("ids") / "c.sqlite3", 12, 10)


#: ``--id`` values (one per ``--id``), and the captures (X-Seq) sent in order, or the words
#: of the usage error (exit 2, nothing sent)
IDS: dict[str, tuple[list[str], list[int] | str]] = {
    "one": (["7"], [7]),
    "leading zeros": (["007"], [7]),
    "blanks around": ([" 3 "], [3]),
    "a range": (["2-4"], [2, 3, 4]),
    "a range of one": (["3-3"], [3]),
    "a range with blanks": (["4 - 6"], [4, 5, 6]),
    "several": (["3,5,9-11"], [3, 5, 9, 10, 11]),
    "overlapping ranges": (["1-3,2-4"], [1, 2, 3, 4]),
    "overlapping ranges, two --id": (["1-3", "2-4"], [1, 2, 3, 4]),
    "the same range twice": (["1-3,1-3"], [1, 2, 3]),
    "an id, then a range holding it": (["2,1-3"], [2, 1, 3]),
    "a range, then an id in it": (["1-3,2"], [1, 2, 3, 2]),
    "an id written twice": (["2,2"], [2, 2]),
    "an id in two --id": (["5", "5"], [5, 5]),
    "backwards order kept": (["9,1"], [9, 1]),
    # usage errors
    "no such id": (["13"], "no capture with id 13"),
    "no such id after good ones": (["1,2,13"], "no capture with id 13"),
    "a range past the last": (["10-14"], "no capture with id 13"),
    "zero": (["0"], "no capture with id 0"),
    "largest id": (["9223372036854775807"], "no capture with id 9223372036854775807"),
    "past 64 bits": (["9223372036854775808"], "no capture id is that large"),
    "twenty digits": (["99999999999999999999"], "no capture id is that large"),
    "a range past 64 bits": (["1-99999999999999999999"], "no capture id is that large"),
    "very long": (["1" * 5000], "no capture id is that large"),
    "plus sign": (["+3"], "not a capture id or a range of them: '+3'"),
    "minus sign": (["-1"], "not a capture id or a range of them: '-1'"),
    "underscore": (["1_0"], "not a capture id or a range of them: '1_0'"),
    "Arabic-Indic digit": (["\u0663"], "not a capture id or a range of them: '\u0663'"),
    "Arabic-Indic range": (["\u0661-\u0663"], "not a capture id or a range of them"),
    "fullwidth digit": (["\uff13"], "not a capture id or a range of them"),
    "superscript digit": (["\u00b3"], "not a capture id or a range of them"),
    "hexadecimal": (["0x3"], "not a capture id or a range of them: '0x3'"),
    "exponent": (["1e1"], "not a capture id or a range of them: '1e1'"),
    "a range with a sign": (["+1-3"], "not a capture id or a range of them: '+1-3'"),
}  # fmt: skip


@pytest.mark.parametrize("case", IDS)
def test_replay_ids(small_db: str, case: str) -> None:
    given, want = IDS[case]
    with _App() as app:
        r = subprocess.run([EXE, "replay", "--db", small_db, "--to", app.url,
                            *[f"--id={g}" for g in given]],
                           capture_output=True, text=True, timeout=120, env=ENV)
    assert "Traceback" not in r.stderr, r.stderr
    if isinstance(want, str):
        assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
        errors = [line for line in r.stderr.splitlines() if not line.startswith(("usage:", " "))]
        assert len(errors) == 1 and want in errors[0], r.stderr
        assert app.got == [] and r.stdout == ""
    else:
        assert r.returncode == 0, r.stderr
        assert [seq for seq, _ in app.got] == want
        assert [line.partition(" in ")[0] for line in r.stdout.splitlines()] == [
            f"#{cid} -> 200" for cid in want]


def test_replay_help_says_which_ids_are_sent() -> None:
    r = subprocess.run([EXE, "replay", "--help"], capture_output=True, text=True, timeout=60,
                       env=ENV)
    assert r.returncode == 0
    said = " ".join(r.stdout.split())
    assert "a range skips the ids named before it (1-3,2-4 sends 1, 2, 3, 4)" in said
    assert "an id written alone is sent each time (2,2: twice)" in said


MIB = 1 << 20
BIG = 4 * MIB
MANY = 24


def _peak_rss(args: list[str]) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run ``hooklab *args`` under a Python parent of its own; the child's peak resident
    size in bytes (``getrusage(RUSAGE_CHILDREN)``: only that child's), and its result."""
    code = (
        "import json, resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=240)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(json.dumps([peak, r.returncode, r.stdout, r.stderr]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, EXE, *args], capture_output=True,
                         text=True, timeout=280, env=ENV)
    assert out.returncode == 0, out.stderr
    peak, rc, stdout, stderr = json.loads(out.stdout)
    scale = 1 if sys.platform == "darwin" else 1024  # (kilobytes on Linux, bytes on macOS)
    return peak * scale, subprocess.CompletedProcess(args, rc, stdout, stderr)


@pytest.mark.skipif(sys.platform == "win32", reason="resource.getrusage is POSIX")
def test_a_replay_holds_one_capture_at_a_time(tmp_path: Path) -> None:
    """One 4 MiB capture listed 16 times peaks as a replay of it once does (it held 16
    copies); a range of 24 distinct ones (96 MiB of bodies) peaks below a replay of one plus
    their bodies together (it held all of them before sending the first). What grows with
    a range is SQLite's page cache of the store, bounded (64 MiB), not the captures."""
    db = _database(tmp_path / "big.sqlite3", MANY, BIG)
    with _App() as app:
        one, r = _peak_rss(["replay", "--db", db, "--to", app.url, "--id", "1"])
        assert r.returncode == 0, r.stderr
        again, r = _peak_rss(["replay", "--db", db, "--to", app.url, "--id", ",".join(["1"] * 16)])
        assert r.returncode == 0, r.stderr
        ranged, r = _peak_rss(["replay", "--db", db, "--to", app.url, "--id", f"1-{MANY}"])
        assert r.returncode == 0, r.stderr
        assert app.got == [(1, BIG)] * 17 + [(seq, BIG) for seq in range(1, MANY + 1)]
    said = (f"one capture: {one / MIB:.1f} MiB; #1 16 times: {again / MIB:.1f} MiB; "
            f"{MANY} captures: {ranged / MIB:.1f} MiB")
    assert again - one < 2 * BIG, said
    assert ranged - one < MANY * BIG - 4 * BIG, said
