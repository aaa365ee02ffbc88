"""A ``path`` filter means the path as written and as its sender's raw UTF-8 bytes are kept
(a character a byte), and nothing else, however often the filters are read.

``hooklab export --path /café`` read its filters once in the command and once in the store;
each reading added "the raw UTF-8 spelling" of every spelling it had, so the second added the
spelling of ``/cafÃ©``: a path sent as the UTF-8 bytes of ``/cafÃ©`` (a double-encoded one, a
real thing from a misconfigured sender) was exported as ``/café``. Three requests are sent over
127.0.0.1; which of them ``/café`` means follows from the bytes sent (worked out here):

== ======================================= ======================
id bytes of the request target             ``--path /café`` means
== ======================================= ======================
1  ``/caf\\xc3\\xa9`` (UTF-8 of ``/café``)     yes (the raw UTF-8 spelling)
2  ``/caf\\xc3\\x83\\xc2\\xa9`` (UTF-8 of ``/cafÃ©``) no
3  ``/cafe``                                 no
== ======================================= ======================
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from _http import raw_request
from test_cli import ENV, EXE

import hooklab
from hooklab.filters import validate

pytestmark = pytest.mark.timeout(300)

TARGETS = [b"/caf\xc3\xa9", b"/caf\xc3\x83\xc2\xa9", b"/cafe"]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("spellings") / "captures.sqlite3")
    lab = hooklab.HookLab(port=0, db=path).start()
    try:
        port = int(lab.bound_port)
        for target in TARGETS:
            answer = raw_request(port, b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                 b"Content-Length: 1\r\nConnection: close\r\n\r\nx")
            assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
        assert len(lab.wait(3, timeout=20)) == 3
    finally:
        lab.stop()
    return path


def test_hooklab_export_path_means_the_path_and_its_raw_utf8_bytes_only(db: str,
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    run = subprocess.run([EXE, "export", "--db", db, "--path", "/café", "-o", str(out)],
                         capture_output=True, text=True, timeout=120, env=ENV)
    assert run.returncode == 0, run.stderr
    assert [json.loads(line)["id"] for line in out.read_text("utf-8").splitlines()] == [1]


@pytest.mark.parametrize("fmt", ["jsonl", "har", "csv"])
def test_lab_export_path_means_the_same(db: str, tmp_path: Path, fmt: str) -> None:
    lab = hooklab.open(db)
    try:
        assert lab.export(str(tmp_path / f"x.{fmt}"), path="/café") == 1
        assert list(lab.dataframe(path="/café")["id"]) == [1]
    finally:
        lab.stop()


@pytest.mark.parametrize("path", [
    "/café", "/cafÃ©", "/x", ["/x"], ["/é", "/Ã©"], ["/Ã©", "/é"], ["/a", "/a"],
    "/\ud800", ["/日本", "/x", "/日本"], "",
])
def test_validated_filters_validate_to_themselves(path: str | list[str]) -> None:
    once = validate({"path": path})
    assert validate(once) == once
    spelt = once["path"] if isinstance(once["path"], list) else [once["path"]]
    assert len(spelt) == len(set(spelt))  # (no spelling twice)
