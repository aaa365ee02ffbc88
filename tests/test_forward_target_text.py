"""A forward's recorded target (``lab.forwards()``, ``hooklab serve``'s line) reads a
capture's raw UTF-8 path and query as their characters, as the capture's own path and query
read; the bytes forwarded stay exactly the bytes received. Real sockets on 127.0.0.1 (the
requests written byte by byte), a SQLite file, and ``hooklab serve`` as a subprocess.

(found by an outside-in tester) a capture to ``/q/café?w=é`` (raw UTF-8, as curl and many
clients send it) was forwarded with the right bytes but shown ``forwarded to
.../t/cafÃ©?w=Ã©``.
"""

from __future__ import annotations

import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _rawrecord import Recorder, split_request

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))

#: (request target after /q, bytes as sent; what the target records after the app's /t,
#: worked out by hand)
TARGETS: list[tuple[bytes, str]] = [
    (b"/caf\xc3\xa9?w=\xc3\xa9", "/caf\u00e9?w=\u00e9"),           # raw UTF-8: its characters
    (b"/\xe6\x97\xa5\xe6\x9c\xac", "/\u65e5\u672c"),                # three bytes a character
    (b"/caf%C3%A9?w=%C3%A9", "/caf%C3%A9?w=%C3%A9"),                 # escapes: a URL as written
    (b"/\xff\xfe", "/\xff\xfe"),                                     # no UTF-8: a character a byte
    (b"/\xc3\xa9\xff", "/\xc3\xa9\xff"),                             # UTF-8, then a byte that is not
    (b"/\xc3\xa9?token=S3CR3T&x=1", "/\u00e9?token=[secret]&x=1"),  # a credential still hidden
    (b"/a/b?x=1", "/a/b?x=1"),                                       # ASCII: as before
]


def _post(port: int, target: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /q" + target + b" HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n"
                  b"Connection: close\r\n\r\n{}")
        while s.recv(65536):
            pass


def _sent_target(raw: bytes) -> bytes:
    head, _, _, _ = split_request(raw)
    return head[0].split(b" ")[1]


@pytest.fixture
def app() -> Iterator[Recorder]:
    with Recorder() as rec:
        yield rec


def test_lab_forwards_reads_the_target_as_the_capture_reads(app: Recorder, tmp_path: Path) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "f.sqlite3")).start()
    try:
        lab.forward("q", to=app.url + "/t")
        port = int(lab.url.rsplit(":", 1)[1])
        for i, (target, _) in enumerate(TARGETS):
            _post(port, target)
            app.wait(i + 1)  # (one at a time: the requests in this order)
        got = app.wait(len(TARGETS))
        assert lab.store.wait_for(lambda: len(lab.forwards()) == len(TARGETS), timeout=20)
        rows = sorted(lab.forwards(), key=lambda f: f["capture_id"])
    finally:
        lab.stop()
    for (target, recorded), raw, row in zip(TARGETS, got, rows, strict=True):
        assert _sent_target(raw) == b"/t" + target  # (the bytes, exactly)
        assert (row["status"], row["target"]) == (200, app.url + "/t" + recorded), target


def test_serve_s_forward_line_reads_raw_utf8(app: Recorder, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [EXE, "serve", "--port", "0", "--db", str(tmp_path / "s.sqlite3"),
         "--forward", f"q={app.url}/t"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"})
    lines: queue.Queue[str] = queue.Queue()
    pump = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    pump.start()
    try:
        first = lines.get(timeout=30)
        m = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert m, first
        _post(int(m.group(1)), b"/caf\xc3\xa9?w=\xc3\xa9")
        (raw,) = app.wait(1)
        assert _sent_target(raw) == b"/t/caf\xc3\xa9?w=\xc3\xa9"
        deadline = time.monotonic() + 20
        said = []
        while time.monotonic() < deadline and not any("forwarded to" in x for x in said):
            try:
                said.append(lines.get(timeout=1))
            except queue.Empty:
                pass
        line = next(x for x in said if "forwarded to" in x)
        assert line.startswith(f"#1 forwarded to {app.url}/t/caf\u00e9?w=\u00e9: 200 in "), line
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
