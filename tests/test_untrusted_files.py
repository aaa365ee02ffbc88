"""Files hooklab reads that someone else may have written: a shared Parquet folder
(``hooklab.open``), a JSON Lines or HAR file (``hooklab.load_jsonl``, ``hooklab.load_har``).
Each is as untrusted as a request: what the capture server would refuse, the readers refuse,
naming the file and the row, line or entry; and reading never takes memory without bound."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from _http import post

import hooklab

# -- Parquet folders -------------------------------------------------------------------------


@pytest.fixture
def export_folder(lab, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    """Three captures received over HTTP, exported as a Parquet folder (one file)."""
    for i in range(3):
        post(lab.url_for("gh", f"e{i}"), b'{"n": %d}' % i, {"Content-Type": "application/json"})
    lab.wait(3)
    folder = tmp_path / "pq"
    assert lab.export(str(folder), fmt="parquet") == 3
    return folder


def _tamper(folder: Path, row: int, **values: Any) -> Path:
    """Give row ``row`` of the folder's one file these values (the columns' types kept: a
    hostile writer's file has the right schema); the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    (file,) = sorted(folder.rglob("*.parquet"))
    table = pq.read_table(file)
    for name, value in values.items():
        column = table.column(name).to_pylist()
        column[row] = value
        at = table.schema.get_field_index(name)
        table = table.set_column(at, name, pa.array(column, table.schema.field(at).type))
    pq.write_table(table, file)
    return file


# (a row's values, what the error says) - refused when the folder is opened
HOSTILE_ROWS = [
    ({"received_at": datetime(2500, 1, 1, tzinfo=timezone.utc)},
     r"received_at 2500-01-01T00:00:00\+00:00 is outside 1677-09-21T00:12:43\.145225Z to 2262-04-11T23:47:16\.854775Z"),
    ({"received_at": datetime(1, 1, 1, tzinfo=timezone.utc)},
     r"received_at 0001-01-01T00:00:00\+00:00 is outside 1677-09-21T00:12:43\.145225Z to 2262-04-11T23:47:16\.854775Z"),
    ({"received_at": None}, "received_at is missing"),
    ({"id": None}, "id is missing"),
    ({"kind": "bogus"}, "kind 'bogus' is not one of http, ws"),
    ({"status": -5}, "status -5 is not an HTTP status"),
    ({"status": 2**62}, f"status {2**62} is not an HTTP status"),
    ({"status": 1000}, "status 1000 is not an HTTP status"),  # (a close code: ws only)
    ({"size": -1}, "size -1 is negative"),
    ({"method": "POST /admin HTTP/1.1\r\nX-Evil: 1"}, "is not an HTTP token"),
    ({"method": "GET /x"}, "method 'GET /x' is not an HTTP token"),
    ({"path": "gh/x"}, "path 'gh/x' is not a request target"),
    ({"path": "/gh/a b"}, "path '/gh/a b' is not a request target"),
    ({"path": "/gh/x?a=1"}, "holds '\\?' or '#'"),
    ({"url": "javascript:alert(1)"}, "is not an http/https URL or a path"),
    ({"url": "http://127.0.0.1/gh\r\nX-Evil: 1"}, "is not an http/https URL or a path"),
    ({"query": "[1, 2]"}, "query must be an object"),
    ({"query": "{{{"}, "query is not JSON"),
    ({"query": '{"a": "b"}'}, "query 'a' must be a list of strings"),
    ({"query": '{"a": ["\\ud800"]}'}, "query 'a' is not valid Unicode"),
    ({"forward_status": -1}, "forward_status -1 is not an HTTP status"),
    ({"forward_latency_ms": math.nan}, "forward_latency_ms nan is not a duration"),
    ({"forward_latency_ms": -1.0}, r"forward_latency_ms -1.0 is not a duration"),
]


@pytest.mark.parametrize(("values", "why"), HOSTILE_ROWS,
                         ids=[f"{next(iter(v))}-{i}" for i, (v, _) in enumerate(HOSTILE_ROWS)])
def test_opening_a_parquet_folder_refuses_a_row_an_import_would_naming_file_and_row(
        export_folder, values, why) -> None:  # type: ignore[no-untyped-def]
    """``hooklab.open(folder)`` checked the files' column types but none of their values:
    a time in 2500 made ``dataframe()`` raise pandas' OutOfBoundsDatetime, a null id showed
    as -9223372036854775808, a method with CRLF or a status of -5 was served as it was and
    exported into a file ``load_jsonl`` refuses. Now such a row is refused when the folder
    is opened, as an import refuses it, with the file and row in the error."""
    file = _tamper(export_folder, 1, **values)
    with pytest.raises(ValueError, match=rf"{file.name}.* row 1 \(0-based\) .*{why}"):
        hooklab.open(str(export_folder))


# (a row's headers as JSON text, what the error says) - refused where captures are made
HOSTILE_HEADERS = [
    ('{"a": 1}', "headers must be a list of"),
    ('[["a", "b", "c"]]', r"headers must be \[name, value\] string pairs"),
    ("[[1, 2]]", r"headers must be \[name, value\] string pairs"),
    ("nope", "headers is not JSON"),
    (json.dumps([["X-A", "1\r\nX-Evil: 2"]]), "header 'X-A' has a control character"),
    (json.dumps([["X A", "1"]]), "header name 'X A' is not an HTTP token"),
    ('[["X-A", "\\ud800"]]', "header 'X-A' is not valid Unicode"),
    (json.dumps([[f"X-H{i}", "v"] for i in range(10_001)]),
     "10,001 header fields: more than the capture server takes"),
    (json.dumps([["X-Big", "v" * (1 << 20)]]), "header fields of 1,048,585 bytes: more than"),
]


@pytest.mark.parametrize(("headers", "why"), HOSTILE_HEADERS,
                         ids=[f"headers-{i}" for i in range(len(HOSTILE_HEADERS))])
def test_a_parquet_rows_headers_are_checked_where_captures_are_made_of_it(
        export_folder, tmp_path, headers, why) -> None:  # type: ignore[no-untyped-def]
    """Headers that were not ``[name, value]`` pairs made ``captures``, ``get`` and the
    exports fail with "too many values to unpack"; a CRLF in a value or a million headers
    were served. The frame never parses them: they are checked where captures are made,
    with the file and row in the error (checking every row's at open cost more than all the
    other checks together)."""
    import pyarrow.parquet as pq

    file = _tamper(export_folder, 1, headers=headers)
    bad_id = pq.read_table(file).column("id")[1].as_py()
    archive = hooklab.open(str(export_folder))
    try:
        assert len(archive.dataframe()) == 3  # (the frame reads no headers)
        where = rf"{file.name}.* row 1 \(0-based\) .*{why}"
        with pytest.raises(ValueError, match=where):
            list(archive.captures)
        with pytest.raises(ValueError, match=where):
            archive.get(bad_id)
        with pytest.raises(ValueError, match=where):
            archive.export(str(tmp_path / "out.jsonl"), fmt="jsonl")
        with pytest.raises(ValueError, match=where):
            archive.dataframe(search="gh")
        assert archive.get(bad_id + 1).path == "/gh/e2"  # (the other rows read as before)
    finally:
        archive.stop()


# (a row's values an import takes too, though the quick checks cannot vouch for them)
ODD_BUT_FINE = [
    {"kind": "ws", "status": 1000, "url": "ws://127.0.0.1:8765/gh"},
    {"method": "CONNECT", "path": "example.com:443", "url": ""},
    {"method": "OPTIONS", "path": "*", "url": ""},
    {"url": "/gh/e1"},
    {"headers": '[["X-A", "caf\\u00e9"], ["X-B", "1\\t2"]]'},
    {"headers": '[ ["X-A" , "b"] ]'},
    {"query": '{ "a" : [ "1" , "2" ] }'},
]


@pytest.mark.parametrize("values", ODD_BUT_FINE, ids=lambda v: "-".join(v))
def test_rows_an_import_takes_open_and_round_trip_through_json_lines(
        export_folder, tmp_path, values) -> None:  # type: ignore[no-untyped-def]
    """Only rows an import refuses are refused: a WebSocket close code, CONNECT's target,
    another writer's JSON spacing open, and their JSON Lines export imports."""
    _tamper(export_folder, 1, **values)
    archive = hooklab.open(str(export_folder))
    try:
        assert len(list(archive.captures)) == 3
        out = tmp_path / "out.jsonl"
        assert archive.export(str(out), fmt="jsonl") == 3
    finally:
        archive.stop()
    again = hooklab.load_jsonl(str(out))
    try:
        assert len(again.dataframe()) == 3
    finally:
        again.stop()


def test_a_provider_folder_name_that_is_no_provider_id_is_refused(export_folder) -> None:  # type: ignore[no-untyped-def]
    """The provider comes from the folder's name: one an import would refuse is refused."""
    (part,) = [p for p in export_folder.rglob("provider=*") if p.is_dir()]
    part.rename(part.with_name("provider=Evil Name"))
    with pytest.raises(ValueError, match=r"row 0 \(0-based\) .*provider 'Evil Name' is not a provider id"):
        hooklab.open(str(export_folder))


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
        # (VmHWM, this process's own: Linux carries ru_maxrss over from the forking worker,
        # 767 MiB in make test for a 325 MiB peak)
        with open("/proc/self/status") as f:
            print("peak MiB", next(int(x.split()[1]) for x in f if x.startswith("VmHWM:")) >> 10)
    """)
    out = _run_limited(code)
    assert "line 1 is not a capture (1,000,000 header fields: more than the capture server" in out, out
    peak = int(out.split("peak MiB")[1])
    assert peak < 600, out
