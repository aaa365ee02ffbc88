"""``hooklab send --data @FILE`` and ``--data @-`` (curl's and httpie's habit) send the JSON in
the file (standard input), every byte as in it; they got a bare "--data is not valid JSON:
Expecting value" that did not say what to do."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from _labs import module_lab
from test_cli import ENV, EXE

import hooklab

lab = module_lab()  # the fixture ``lab``: one lab for this module's tests


def _send(url: str, *args: str, stdin: bytes = b"", cwd: Path | None = None
          ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([EXE, "send", url, *args], input=stdin, capture_output=True,
                          env=ENV, cwd=cwd, timeout=60)


# bytes in the file -> the body that arrives (as written: spaces, key order, the final newline)
BODIES = [
    b'{"a":1}\n',
    b'{ "b" : [1, 2.50, "x"] ,"a":{} }',
    b'{"big": 12345678901234567890123, "e": 1e999}\r\n',
    '{"t": "caf\u00e9 \u2713"}'.encode(),
]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("how", ["file", "stdin"])
def test_data_from_a_file_or_stdin_is_sent_byte_for_byte(
        lab: hooklab.HookLab, tmp_path: Path, body: bytes, how: str) -> None:
    (tmp_path / "p.json").write_bytes(body)
    bin_ = f"d{len(lab.captures)}"
    r = _send(lab.url_for(bin_), "--data", "@p.json" if how == "file" else "@-",
              stdin=body if how == "stdin" else b"", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    [cap] = lab.wait(1, bin=bin_, timeout=10)
    assert cap.body == body
    assert cap.header("Content-Type") == "application/json"


def test_data_from_a_file_is_merged_into_a_provider_sample(lab: hooklab.HookLab,
                                                           tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"zen": "from a file"}\n')
    r = _send(lab.url_for("gh"), "--provider", "github", "--event", "ping", "--data",
              "@p.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    [cap] = lab.wait(1, bin="gh", timeout=10)
    assert json.loads(cap.body)["zen"] == "from a file"


HOSTILE = [  # (--data, file contents or None, stderr)
    ("@", None, "hooklab: --data @ needs a file name after the @ (@- for standard input)\n"),
    ("@nope.json", None, "hooklab: --data @nope.json: cannot read it (No such file or "
                         "directory)\n"),
    ("@.", None, "hooklab: --data @.: cannot read it (Is a directory)\n"),
    ("@p.json", b"\xff{}", "hooklab: --data @FILE: not UTF-8 (byte 0): JSON is sent as "
                           "UTF-8\n"),
    ("@p.json", b"", "hooklab: --data is not valid JSON: Expecting value: line 1 column 1 "
                     "(char 0)\n"),
    ("@p.json", b"[1, 2]", "hooklab: --data must be a JSON object (the body, sent as "
                           "written), not list\n"),
]


@pytest.mark.parametrize(("data", "contents", "said"), HOSTILE)
def test_a_data_file_that_cannot_be_sent_is_a_usage_error(
        lab: hooklab.HookLab, tmp_path: Path, data: str, contents: bytes | None,
        said: str) -> None:
    if contents is not None:
        (tmp_path / "p.json").write_bytes(contents)
    before = len(lab.captures)
    r = _send(lab.url_for("bad"), "--data", data, cwd=tmp_path)
    assert (r.returncode, r.stderr.decode()) == (2, said)
    assert len(lab.captures) == before  # (nothing sent)
