"""Files hooklab reads that someone else may have written: a shared Parquet folder
(``hooklab.open``), a JSON Lines or HAR file (``hooklab.load_jsonl``, ``hooklab.load_har``).
Each is as untrusted as a request: what the capture server would refuse, the readers refuse,
naming the file and the row, line or entry; and reading never takes memory without bound."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import hooklab

# -- JSON Lines and HAR files: the server's limits on a request head -------------------------


def _har(path: Path, headers: list[list[str]]) -> None:
    def entry(h: list[list[str]]) -> dict[str, Any]:
        return {"startedDateTime": "2024-01-01T00:00:00Z", "time": 0,
                "request": {"method": "POST", "url": "http://127.0.0.1/x", "httpVersion": "HTTP/1.1",
                            "headers": [{"name": k, "value": v} for k, v in h],
                            "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
                "response": {"status": 200}}
    entries = [entry([["X-A", "1"]]), entry(headers)]
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))


def _jsonl(path: Path, headers: list[list[str]]) -> None:
    lines = [{"method": "POST", "path": "/x", "headers": [["X-A", "1"]]},
             {"method": "POST", "path": "/x", "headers": headers}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


# (the second capture's headers, what the error says; None: imported)
HEADS = [
    ([[f"X-H{i}", "v"] for i in range(10_001)],
     "10,001 header fields: more than the capture server takes \\(10,000\\)"),
    ([["X-Big", "v" * (1 << 20)]], "header fields of 1,048,585 bytes: more than the capture server"),
    ([[f"X-H{i}", "v"] for i in range(10_000)], None),
    ([["X-Big", "v" * ((1 << 20) - 20)]], None),
]


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
@pytest.mark.parametrize(("headers", "why"), HEADS, ids=["fields", "bytes", "most-fields", "most-bytes"])
def test_imports_apply_the_servers_limits_on_header_fields(tmp_path, fmt, headers, why) -> None:  # type: ignore[no-untyped-def]
    """A line with a million headers imported (and its frame then took 10 s and 849 MiB):
    more header fields, or longer ones, than the capture server takes are refused, naming
    the line or entry; as many as it takes import."""
    path = tmp_path / f"captures.{fmt}"
    (_jsonl if fmt == "jsonl" else _har)(path, headers)
    load = hooklab.load_jsonl if fmt == "jsonl" else hooklab.load_har
    if why is None:
        lab = load(str(path))
        try:
            assert len(lab.get(2).headers) == len(headers)
        finally:
            lab.stop()
        return
    where = "line 2 is not a capture" if fmt == "jsonl" else "HAR entry 1 is malformed"
    with pytest.raises(ValueError, match=rf"{path.name}'?: {where} \({why}"):
        load(str(path))


# -- what a reader must not do: wait forever, or read without end ----------------------------

#: address space the child may take: importing hooklab's readers takes ~0.3 GB of it
_LIMIT = 1 << 30


def _run_limited(code: str, timeout: float = 120.0) -> str:
    """``code`` in a child Python under :data:`_LIMIT` of address space (and ``timeout``
    seconds, then killed): what it printed. It prints ``refused: <error>`` or ``read``."""
    prelude = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({_LIMIT}, {_LIMIT}))
        import hooklab
        import hooklab.explore.parallel
        hooklab.explore.parallel.PROCESSES = 0   # (one process: the limit is its own)
    """)
    done = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return done.stdout + done.stderr


_ATTEMPT = textwrap.dedent("""
    try:
        lab = hooklab.{load}({path!r})
        print("read", len(lab.captures))
    except BaseException as exc:
        print("refused:", type(exc).__name__, exc)
""")


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
@pytest.mark.parametrize(("kind", "what"), [("dev-zero-link", "a character device"),
                                            ("fifo", "a FIFO"), ("folder", "a folder")])
def test_a_path_that_is_no_regular_file_is_refused_at_once(tmp_path, fmt, kind, what) -> None:  # type: ignore[no-untyped-def]
    """A downloaded "captures.jsonl" that is a link to /dev/zero was read until MemoryError,
    a FIFO blocked the kernel until something wrote to it: both are refused up front."""
    path = tmp_path / f"captures.{fmt}"
    if kind == "dev-zero-link":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    else:
        path.mkdir()
    load = "load_jsonl" if fmt == "jsonl" else "load_har"
    out = _run_limited(_ATTEMPT.format(load=load, path=str(path)), timeout=60)
    assert f"refused: ValueError '{path}' is not a regular file ({what})" in out, out


def test_an_endless_line_is_refused_past_max_line_in_bounded_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One line of 2 GiB (no line end: a sparse file, no disk used) was read whole, until
    MemoryError; a line is now read up to MAX_LINE (64 MiB) and refused past it, naming it."""
    path = tmp_path / "captures.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"method": "POST", "path": "/x", "body": "ok"}\n')
        f.truncate(2 << 30)
    out = _run_limited(_ATTEMPT.format(load="load_jsonl", path=str(path)))
    assert ("refused: ValueError " + repr(str(path)) + ": line 2 is not a capture (longer than "
            "67,108,864 bytes, the most a line may hold: hooklab.export.jsonl.MAX_LINE)") in out, out


def test_a_line_just_under_max_line_is_read(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The limit counts a line's bytes with its line end: at the limit it is read, one byte
    more is refused (a smaller limit here, as a user may set it)."""
    from hooklab.export import jsonl

    monkeypatch.setattr(jsonl, "MAX_LINE", 1000)
    line = json.dumps({"method": "POST", "path": "/x", "body": ""})
    body = "b" * (1000 - len(line) - 1)
    ok = json.dumps({"method": "POST", "path": "/x", "body": body}) + "\n"
    assert len(ok.encode()) == 1000
    path = tmp_path / "captures.jsonl"
    path.write_text(ok)
    lab = hooklab.load_jsonl(str(path))
    try:
        assert lab.get(1).body == body.encode()
    finally:
        lab.stop()
    path.write_text(ok + ok.replace(body, body + "b"))
    with pytest.raises(ValueError, match="line 2 is not a capture \\(longer than 1,000 bytes"):
        hooklab.load_jsonl(str(path))


def test_a_million_headers_are_refused_before_they_are_stored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The attacker's line (18 MiB, 10**6 headers) imported with a 530 MiB peak and made a
    frame of 849 MiB: now it is refused once parsed (the parse itself, ~17 times the line in
    Python objects, is what remains), in a child under the address-space limit."""
    path = tmp_path / "captures.jsonl"
    line = {"method": "POST", "path": "/x", "headers": [[f"X-H{i}", "v"] for i in range(10**6)],
            "body": "{}"}
    path.write_text(json.dumps(line) + "\n")
    code = _ATTEMPT.format(load="load_jsonl", path=str(path)) + textwrap.dedent("""
        print("peak MiB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10)
    """)
    out = _run_limited(code)
    assert "line 1 is not a capture (1,000,000 header fields: more than the capture server" in out, out
    peak = int(out.split("peak MiB")[1])
    assert peak < 600, out
