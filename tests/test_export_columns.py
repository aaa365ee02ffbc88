"""A JSON Lines or HAR export loaded back (``lab.export`` then ``hooklab.load_jsonl`` /
``hooklab.load_har``) gives every column of ``lab.dataframe()`` back as it was, as a Parquet
export does: found missing were ``handshake`` (dropped by ``load_jsonl``, never written to
HAR), a method sent in lower case (``get`` came back ``GET``) and the ``forward_*`` columns
(never exported). Real labs on 127.0.0.1, a real app a capture is forwarded to, a closed port
another is forwarded to, real files."""

from __future__ import annotations

import gzip
import json
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _http import free_port, post, raw_request
from _target import Target
from test_import_parallel import eager  # noqa: F401  (a fixture: helper processes take part)
from test_schema_parallel import children, given  # noqa: F401  (given: eager's fixture)

import hooklab
from hooklab.frame import COLUMNS

BINARY = bytes(range(256))
GZIPPED = gzip.compress(b'{"zipped": [1, 2, 3]}', mtime=0)
LOADERS = {"jsonl": hooklab.load_jsonl, "har": hooklab.load_har}


def _wait_forwards(lab: hooklab.HookLab, n: int, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not lab.forwards_pending and len(lab.forwards()) >= n:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{len(lab.forwards())} of {n} forwards recorded")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A lab that saw a bit of everything the frame has a column for; its frame and forward
    outcomes, and its exports (``{"jsonl": path, "har": path}``)."""
    folder = tmp_path_factory.mktemp("roundtrip")
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        with Target(status=202) as app:
            # 1: an endpoint handshake the lab answered (Slack's url_verification)
            hooklab.send(lab.url_for("slack"), provider="slack", event="url_verification")
            # 2: a method sent in lower case, kept as sent (methods are case-sensitive)
            raw_request(lab.bound_port, b"get /lower/x?q=1 HTTP/1.1\r\nHost: h\r\n"  # type: ignore[arg-type]
                        b"Connection: close\r\n\r\n")
            # 3, 4: a forward that fails (nothing listens) and one the app answers
            lab.forward("dead", to=f"http://127.0.0.1:{free_port()}/hook")
            lab.forward("live", to=app.url + "/hook")
            post(lab.url_for("dead"), b'{"n": 3}', {"Content-Type": "application/json"})
            _wait_forwards(lab, 1)  # (one after the other: lab.forwards() lists them in order)
            post(lab.url_for("live"), b'{"n": 4}', {"Content-Type": "application/json"})
            _wait_forwards(lab, 2)
            lab.forward("dead", None)
            lab.forward("live", None)
            # 5-7: binary, gzip and empty bodies; 8, 9: a delivery sent twice (duplicate)
            post(lab.url_for("bin"), BINARY, {"Content-Type": "application/octet-stream"}, "PUT")
            post(lab.url_for("zip"), GZIPPED, {"Content-Type": "application/json",
                                               "Content-Encoding": "gzip"})
            post(lab.url_for("empty"), b"", method="DELETE")
            for _ in range(2):
                post(lab.url_for("gh"), b'{"zen": "x"}', {"Content-Type": "application/json",
                     "X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-1"})
            lab.wait(9)
        frame = lab.dataframe()
        forwards = lab.forwards()
        paths = {fmt: folder / f"all.{fmt}" for fmt in LOADERS}
        for fmt, path in paths.items():
            assert lab.export(path, fmt=fmt) == 9
        yield frame, forwards, paths
    finally:
        lab.stop()


def _assert_same_frame(got: pd.DataFrame, want: pd.DataFrame, *, but: tuple[str, ...] = ()) -> None:
    assert list(got.columns) == list(want.columns) == list(COLUMNS)
    for column in COLUMNS:
        if column in but:
            continue
        pd.testing.assert_series_equal(got[column], want[column], check_categorical=False,
                                       obj=column)
        assert got[column].astype(object).where(got[column].notna(), None).tolist() == \
            want[column].astype(object).where(want[column].notna(), None).tolist(), column


def test_the_source_frame_holds_what_the_round_trips_must_keep(source: Any) -> None:
    """The lab's own frame (the expected values of the columns found missing)."""
    frame, forwards, _ = source
    rows = frame.set_index("bin")
    assert rows.loc["slack", "handshake"].startswith("slack url_verification: challenge echoed")
    assert rows.loc["lower", "method"] == "get"
    assert rows.loc["dead", "forward_error"].startswith("ConnectionRefusedError")
    assert pd.isna(rows.loc["dead", "forward_status"])
    assert rows.loc["dead", "forward_latency_ms"] >= 0
    assert rows.loc["live", "forward_status"] == 202 and pd.isna(rows.loc["live", "forward_error"])
    assert rows.loc["live", "forward_latency_ms"] > 0
    assert frame["forward_status"].notna().sum() == 1 and frame["forward_error"].notna().sum() == 1
    assert frame["duplicate"].tolist() == [False] * 8 + [True]
    assert [(f["capture_id"], f["target"][-5:]) for f in forwards] == [(3, "/hook"), (4, "/hook")]


@pytest.mark.parametrize("fmt", list(LOADERS))
def test_every_column_comes_back_from_an_export(source: Any, fmt: str) -> None:
    frame, forwards, paths = source
    back = LOADERS[fmt](paths[fmt])
    try:
        got = back.dataframe()
        _assert_same_frame(got, frame)
        rows = got.set_index("bin")  # (the columns found missing, by value)
        assert rows.loc["slack", "handshake"] == frame.set_index("bin").loc["slack", "handshake"]
        assert rows.loc["lower", "method"] == "get" and back.get(2).method == "get"
        assert rows.loc["dead", "forward_error"].startswith("ConnectionRefusedError")
        assert rows.loc["live", "forward_status"] == 202
        assert rows.loc["live", "forward_latency_ms"] == frame.set_index("bin").loc[
            "live", "forward_latency_ms"]
        assert back.forwards() == forwards  # time, target and all
        assert back.get(6).body == GZIPPED and back.get(6).json() == {"zipped": [1, 2, 3]}
        assert back.get(5).body == BINARY and back.get(7).body == b""
    finally:
        back.stop()


@pytest.mark.parametrize("fmt", list(LOADERS))
def test_an_export_of_an_import_is_the_same_file(source: Any, fmt: str, tmp_path: Path) -> None:
    """What was imported exports again to the very same file: nothing lost on the way."""
    _, _, paths = source
    back = LOADERS[fmt](paths[fmt])
    try:
        back.export(tmp_path / f"again.{fmt}", fmt=fmt)
    finally:
        back.stop()
    assert (tmp_path / f"again.{fmt}").read_bytes() == paths[fmt].read_bytes()


def _outcomes_of(i: int) -> list[dict[str, Any]]:
    """Capture ``i``'s forwarding outcomes in the file :func:`_many` writes: one, two (every
    seventh capture: the latest a 200) or none (every fifth)."""
    first = {"at": f"2026-01-01T00:00:{i % 60:02d}.000000Z", "target": f"http://127.0.0.1:9/{i}",
             "status": None, "latency_ms": float(i), "error": f"refused {i}"}
    if i % 5 == 0:
        return []
    return [first, {**first, "status": 200, "error": None}] if i % 7 == 0 else [first]


def _many(path: Path, n: int, one: int) -> Path:
    """A JSON Lines export of ``n`` captures (ids 1..n), all to bin ``many`` but capture
    ``one`` (bin ``one``), with :func:`_outcomes_of` each."""
    with open(path, "w") as f:
        for i in range(1, n + 1):
            f.write(json.dumps({"id": i, "method": "POST", "path": "/one" if i == one else "/many",
                                "received_at": "2026-01-01T00:00:00Z", "body_b64": "",
                                "forwards": _outcomes_of(i)}) + "\n")
    return path


def _exported_outcomes(path: Path, fmt: str) -> dict[int, list[dict[str, Any]]]:
    """``{capture id: its exported forwarding outcomes}`` of a JSON Lines or HAR export."""
    if fmt == "jsonl":
        lines = [json.loads(line) for line in path.read_text().splitlines()]
    else:
        lines = [e["_hooklab"] for e in json.loads(path.read_text())["log"]["entries"]]
    return {line["id"]: line.get("forwards", []) for line in lines}


@pytest.mark.parametrize("fmt", list(LOADERS))
@pytest.mark.parametrize("kind", ["sqlite", "parquet"])
def test_an_export_reads_the_outcomes_of_its_captures_only(
        tmp_path: Path, fmt: str, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An export of one capture of many, every one forwarded, read the whole forwards table
    (200,000 outcomes: 0.75 s and 122 MB for one line): it reads the outcomes of the
    captures it writes, a page at a time, and each capture still gets its own (across the
    pages: more captures than one page of them). Counted through a spy on the store's
    ``forwards``, the one way the export reads them."""
    n, one = 1_234, 1_001  # (more than two pages of 500; the one capture on the third)
    lab = hooklab.load_jsonl(_many(tmp_path / "many.jsonl", n, one),
                             db=str(tmp_path / "lab.sqlite3"))
    if kind == "parquet":  # (a Parquet dataset keeps the latest outcome, no time nor target)
        lab.export(tmp_path / "dataset", fmt="parquet")
        lab.stop()
        lab = hooklab.open(tmp_path / "dataset")
    try:
        def want(i: int) -> list[dict[str, Any]]:
            outcomes = _outcomes_of(i)
            return [{**outcomes[-1], "at": None, "target": None}] if kind == "parquet" and \
                outcomes else outcomes

        read: list[int] = []  # outcomes the store gave the export, call by call
        real = lab.store.forwards

        def spy(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            got = real(*args, **kwargs)
            read.append(len(got))
            return got

        monkeypatch.setattr(lab.store, "forwards", spy)
        assert lab.export(tmp_path / f"one.{fmt}", fmt=fmt, bin="one") == 1
        assert _exported_outcomes(tmp_path / f"one.{fmt}", fmt) == {one: want(one)}
        assert sum(read) == len(want(one)), read  # (not n's outcomes)
        read.clear()
        assert lab.export(tmp_path / f"all.{fmt}", fmt=fmt) == n
        assert _exported_outcomes(tmp_path / f"all.{fmt}", fmt) == {
            i: want(i) for i in range(1, n + 1)}
        assert sum(read) == sum(len(want(i)) for i in range(1, n + 1)) and len(read) == 3, read
    finally:
        lab.stop()


def test_a_parquet_export_reads_the_outcomes_of_its_captures_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As the JSON Lines and HAR exports: a Parquet export of one capture read every
    forwarding outcome of the store to find that capture's latest."""
    n, one = 1_234, 1_001
    lab = hooklab.load_jsonl(_many(tmp_path / "many.jsonl", n, one),
                             db=str(tmp_path / "lab.sqlite3"))
    try:
        read: list[int] = []
        real = lab.store.forwards

        def spy(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            got = real(*args, **kwargs)
            read.append(len(got))
            return got

        monkeypatch.setattr(lab.store, "forwards", spy)
        assert lab.export(tmp_path / "one", fmt="parquet", bin="one") == 1
        assert sum(read) == len(_outcomes_of(one)), read
        read.clear()
        assert lab.export(tmp_path / "all", fmt="parquet") == n
        assert sum(read) == sum(len(_outcomes_of(i)) for i in range(1, n + 1)), read
    finally:
        lab.stop()
    back = hooklab.open(tmp_path / "all")
    try:
        frame = back.dataframe().set_index("id")
        for i in (1, 5, 7, one, n):  # (none, none, two: the latest a 200, ...)
            last = (_outcomes_of(i) or [{}])[-1]
            for column in ("status", "latency_ms", "error"):
                cell = frame.loc[i, f"forward_{column}"]
                assert (None if pd.isna(cell) else cell) == last.get(column), (i, column)
    finally:
        back.stop()


def _older(path: Path, out: Path, fmt: str) -> Path:
    """``path`` as an older hooklab wrote it: no forwarding outcomes, and in HAR no
    handshake either."""
    if fmt == "jsonl":
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        for line in lines:
            line.pop("forwards", None)
        out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    else:
        har = json.loads(path.read_text())
        for entry in har["log"]["entries"]:
            entry["_hooklab"].pop("forwards", None)
            entry["_hooklab"].pop("handshake")
        out.write_text(json.dumps(har))
    return out


@pytest.mark.parametrize("fmt", list(LOADERS))
def test_an_older_hooklabs_export_still_loads(source: Any, fmt: str, tmp_path: Path) -> None:
    """Files written before these fields: every other column as before, the missing ones
    empty (and the method as exported: the lab's own export carries the ids)."""
    frame, _, paths = source
    back = LOADERS[fmt](_older(paths[fmt], tmp_path / f"old.{fmt}", fmt))
    try:
        got = back.dataframe()
        missing = ("forward_status", "forward_latency_ms", "forward_error")
        missing += ("handshake",) if fmt == "har" else ()
        _assert_same_frame(got, frame, but=missing)
        for column in missing:
            assert got[column].isna().all(), column
        assert back.forwards() == []
    finally:
        back.stop()


def test_a_foreign_files_lower_case_method_is_still_upper_cased(tmp_path: Path) -> None:
    """Lines written by hand and other tools' HAR entries carry no capture id: ``post`` is
    read as ``POST``, as before; the lab's own exports say the id and keep the method."""
    (tmp_path / "hand.jsonl").write_text('{"method": "post", "path": "/a"}\n'
                                         '{"id": 7, "method": "post", "path": "/a"}\n')
    har = {"log": {"version": "1.2", "entries": [
        {"startedDateTime": "2026-01-01T00:00:00Z", "request": {"method": m, "url": "http://h/a"},
         **extra} for m, extra in (("post", {}), ("post", {"_hooklab": {"id": 7}}))]}}
    (tmp_path / "other.har").write_text(json.dumps(har))
    for loader, name in ((hooklab.load_jsonl, "hand.jsonl"), (hooklab.load_har, "other.har")):
        lab = loader(tmp_path / name)
        try:
            assert [c.method for c in lab.captures] == ["POST", "post"], name
        finally:
            lab.stop()


GOOD_FORWARD = {"at": "2026-01-01T00:00:00.000001Z", "target": "http://127.0.0.1:9/x",
                "status": None, "latency_ms": 1.5, "error": "refused"}

# (the forwarding outcomes an untrusted file gives, what the error says)
BAD_FORWARDS = [
    ({"forwards": {"status": 200}}, "forwards must be a list, got dict"),
    ({"forwards": [200]}, r"forwards\[0\] must be an object, got int"),
    ({"forwards": [GOOD_FORWARD, {**GOOD_FORWARD, "status": "OK"}]},
     r"forwards\[1\]\.status 'OK' is not an HTTP status"),
    ({"forwards": [{**GOOD_FORWARD, "status": 200.5}]}, r"status 200.5 is not an HTTP status"),
    ({"forwards": [{**GOOD_FORWARD, "status": "2e2"}]}, r"status '2e2' is not an HTTP status"),
    ({"forwards": [{**GOOD_FORWARD, "status": [200]}]}, r"status \[200\] is not an HTTP status"),
    ({"forwards": [{**GOOD_FORWARD, "status": 1000}]}, r"status 1000 is not an HTTP status"),
    ({"forwards": [{**GOOD_FORWARD, "status": True}]}, r"status True is not an HTTP status"),
    ({"forwards": [{**GOOD_FORWARD, "latency_ms": -1}]}, "latency_ms -1 is not a duration"),
    ({"forwards": [{**GOOD_FORWARD, "latency_ms": "fast"}]}, "latency_ms 'fast' is not a duration"),
    ({"forwards": [{**GOOD_FORWARD, "latency_ms": False}]}, "latency_ms False is not a duration"),
    ({"forwards": [{**GOOD_FORWARD, "error": 5}]}, "error must be a string, got int"),
    ({"forwards": [{**GOOD_FORWARD, "target": ["x"]}]}, "target must be a string, got list"),
    ({"forwards": [{**GOOD_FORWARD, "target": "http://h/\x1b[2J"}]}, "holds a control character"),
    ({"forwards": [{**GOOD_FORWARD, "at": 5}]}, "at must be a string, got int"),
    ({"forwards": [{**GOOD_FORWARD, "at": "yesterday"}]}, "yesterday"),
    ({"forwards": [{**GOOD_FORWARD, "at": "2300-01-01T00:00:00Z"}]}, "outside 1677-09-21T00:12:43.145225Z to 2262-04-11T23:47:16.854775Z"),
    ({"forwards": [GOOD_FORWARD] * 101}, "forwards holds 101 outcomes"),
    ({"handshake": 5}, "handshake must be a string, got int"),
]


def _files(tmp_path: Path, fields: dict[str, Any]) -> dict[str, Path]:
    """A JSON Lines line and a HAR entry of the lab's export shape, with ``fields`` added
    (to the HAR entry's ``_hooklab``), and a good capture before each."""
    line = {"id": 1, "method": "POST", "path": "/b", "received_at": "2026-01-01T00:00:00Z",
            "body_b64": ""}
    entry = {"startedDateTime": "2026-01-01T00:00:00Z",
             "request": {"method": "POST", "url": "http://h/b"}, "_hooklab": {"id": 1}}
    jsonl, har = tmp_path / "f.jsonl", tmp_path / "f.har"
    jsonl.write_text(json.dumps(line) + "\n" + json.dumps({**line, **fields}) + "\n")
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [
        entry, {**entry, "_hooklab": {**entry["_hooklab"], **fields}}]}}))
    return {"jsonl": jsonl, "har": har}


@pytest.mark.parametrize("fmt", list(LOADERS))
@pytest.mark.parametrize("fields, says", BAD_FORWARDS, ids=[s for _, s in BAD_FORWARDS])
def test_forwarding_outcomes_of_an_untrusted_file_are_checked(
        tmp_path: Path, fmt: str, fields: dict[str, Any], says: str) -> None:
    path = _files(tmp_path, fields)[fmt]
    where = "line 2" if fmt == "jsonl" else "HAR entry 1"
    with pytest.raises(ValueError, match=where) as err:
        LOADERS[fmt](path).stop()
    assert re.search(says, str(err.value)), str(err.value)


# (outcomes a file may give, what lab.forwards() then says of them)
GOOD_FORWARDS = [
    ([GOOD_FORWARD], [{"at": "2026-01-01 00:00:00.000001+00:00", "target": "http://127.0.0.1:9/x",
                       "status": None, "latency_ms": 1.5, "error": "refused"}]),
    # a Parquet export's (no time, no target): the capture's time, an empty target
    ([{"at": None, "target": None, "status": 204, "latency_ms": 3, "error": None}],
     [{"at": "2026-01-01 00:00:00+00:00", "target": "", "status": 204, "latency_ms": 3.0,
       "error": None}]),
    ([{"status": 500}, {"at": "2026-01-01T00:00:01+01:00", "status": 200}],  # the latest: 200
     [{"at": "2026-01-01 00:00:00+00:00", "target": "", "status": 500, "latency_ms": None,
       "error": None},
      {"at": "2025-12-31 23:00:01+00:00", "target": "", "status": 200, "latency_ms": None,
       "error": None}]),
    ([], []),
    # a status as the capture's own is read (200.0 is the same JSON number; "404" as some tools
    # write it): the outcome's was refused where the capture's was taken
    ([{"status": 200.0}, {"status": "404"}],
     [{"at": "2026-01-01 00:00:00+00:00", "target": "", "status": 200, "latency_ms": None,
       "error": None},
      {"at": "2026-01-01 00:00:00+00:00", "target": "", "status": 404, "latency_ms": None,
       "error": None}]),
]


@pytest.mark.parametrize("fmt", list(LOADERS))
@pytest.mark.parametrize("outcomes, stored", GOOD_FORWARDS,
                         ids=["full", "parquet's", "two", "none", "200.0 and '404'"])
def test_forwarding_outcomes_are_stored_as_given(
        tmp_path: Path, fmt: str, outcomes: list[dict[str, Any]], stored: list[dict[str, Any]]) -> None:
    lab = LOADERS[fmt](_files(tmp_path, {"forwards": outcomes})[fmt])
    try:
        got = [{**f, "at": str(f["at"])} for f in lab.forwards()]
        assert got == [{"capture_id": 2, **f} for f in stored]
        df = lab.dataframe()  # (the latest outcome)
        last = stored[-1] if stored else {}
        for column in ("status", "latency_ms", "error"):
            cells = df[f"forward_{column}"].astype(object)
            assert cells.where(cells.notna(), None).tolist() == [None, last.get(column)], column
    finally:
        lab.stop()


def _cut(kept: str, whole: int) -> str:
    """``kept`` and what is cut off said, 2,000 characters in all."""
    tail = f"... (cut from {whole:,} characters)"
    return kept[: 2000 - len(tail)] + tail


# (an imported outcome's error, what lab.forwards() and the frame then hold): escaped as the
# forwarder records its own (printable) and cut at FORWARD_ERROR_CHARS, saying from how many
HOSTILE_ERRORS = [
    ("\x1b[2J<b>boom</b>\r" + "E" * (8 * 1024 * 1024),  # (8 MiB were stored and shown whole)
     _cut("\\x1b[2J<b>boom</b>\\r" + "E" * 2000, len("\x1b[2J<b>boom</b>\r") + 8 * 1024 * 1024)),
    ("refused\r\n#2 forwarded to http://app/: 200", "refused\\r\\n#2 forwarded to http://app/: 200"),
    ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
    ("\x9b2J C1's CSI", "\\x9b2J C1's CSI"),
    ("\u202eevil\u200b", "\\u202eevil\\u200b"),
    ("\x00", "\\x00"),
    ("E" * 2000, "E" * 2000),
    ("E" * 2001, _cut("E" * 2000, 2001)),
    ("E" * 1999 + "\x1b", _cut("E" * 2000, 2000)),  # (escaped, 2,003 characters)
    ("ConnectionRefusedError: [Errno 111] Connection refused",
     "ConnectionRefusedError: [Errno 111] Connection refused"),
    ("délai dépassé ✗", "délai dépassé ✗"),
    ("", ""),
]


@pytest.mark.parametrize("fmt", list(LOADERS))
@pytest.mark.parametrize("error, stored", HOSTILE_ERRORS,
                         ids=[repr(e[:12]) + f"...{len(e)}" for e, _ in HOSTILE_ERRORS])
def test_an_imported_outcomes_error_is_escaped_and_cut(tmp_path: Path, fmt: str, error: str,
                                                       stored: str) -> None:
    """An imported file's ``forwards[].error`` had no check where ``target`` has one: 8 MiB
    beginning with ``\\x1b[2J`` were stored as they were, ``lab.forwards()`` gave the raw ESC
    and the live view's detail pane got 8 MB of HTML. Stored now as the forwarder records its
    own: escaped, at most 2,000 characters; exported and imported again, unchanged."""
    from hooklab.widget._render import detail_html

    lab = LOADERS[fmt](_files(tmp_path, {"forwards": [{**GOOD_FORWARD, "error": error}]})[fmt])
    try:
        assert [f["error"] for f in lab.forwards()] == [stored]
        cells = lab.dataframe()["forward_error"].astype(object)
        assert cells.where(cells.notna(), None).tolist() == [None, stored]
        pane = detail_html(lab.get(2), forwards=lab.forwards(2))
        assert "\x1b" not in pane and len(pane) < 5_000, len(pane)
        lab.export(tmp_path / f"again.{fmt}", fmt=fmt)
        again = LOADERS[fmt](tmp_path / f"again.{fmt}")
        try:
            assert [f["error"] for f in again.forwards()] == [stored]
        finally:
            again.stop()
    finally:
        lab.stop()


def test_a_targets_hostile_status_line_is_recorded_escaped_and_cut(tmp_path: Path) -> None:
    """hooklab's own forward errors may quote what the target answered (http.client's
    ``BadStatusLine`` holds the line as sent, ESC and CR and up to 64 KiB): recorded escaped
    and cut as an import's are, so the export of such a lab imports unchanged."""
    import socket
    import threading

    with socket.create_server(("127.0.0.1", 0)) as app:
        def answer() -> None:  # (one request: the forward's)
            conn, _ = app.accept()
            with conn:
                conn.settimeout(5)
                conn.recv(65536)
                conn.sendall(b"\x1b[2JHTTP/1.1 oops" + b"E" * 5000 + b"\r\n\r\n")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        lab = hooklab.HookLab(port=0, db=str(tmp_path / "lab.sqlite3")).start()
        try:
            lab.forward("b", to=f"http://127.0.0.1:{app.getsockname()[1]}/hook")
            post(lab.url_for("b"), b"{}")
            _wait_forwards(lab, 1)
            thread.join(5)
            (got,) = lab.forwards()
            # (http.client's line: as sent, CRLF and all)
            line = "\x1b[2JHTTP/1.1 oops" + "E" * 5000 + "\r\n"
            assert got["status"] is None and got["error"] == _cut(
                "BadStatusLine: \\x1b[2JHTTP/1.1 oops" + "E" * 2000,
                len("BadStatusLine: ") + len(line)), got["error"][:40]
            for fmt, loader in LOADERS.items():
                lab.export(tmp_path / f"all.{fmt}", fmt=fmt)
                back = loader(tmp_path / f"all.{fmt}")
                try:
                    assert back.forwards() == [got]
                finally:
                    back.stop()
        finally:
            lab.stop()


@pytest.mark.parametrize("fmt", list(LOADERS))
def test_helper_processes_keep_the_forwarding_outcomes(source: Any, fmt: str, tmp_path: Path,
                                                       eager: list[bool]) -> None:  # noqa: F811
    """A big import is prepared by helper processes (here with small sizes): the outcomes
    they hand over are stored with their captures, in every chunk of the import."""
    _, forwards, paths = source
    if fmt == "jsonl":
        one = json.loads(paths["jsonl"].read_text().splitlines()[2])  # (the failed forward)
        outcomes = one["forwards"]
    else:
        one = json.loads(paths["har"].read_text())["log"]["entries"][2]
        outcomes = one["_hooklab"]["forwards"]
    assert outcomes and forwards[0]["capture_id"] == 3
    n = 12_000  # (more than two of the store's bulk chunks)

    def capture(i: int) -> dict[str, Any]:
        meta = {"id": i + 1, "forwards": outcomes if i % 1000 else []}
        return {**one, **meta} if fmt == "jsonl" else {**one, "_hooklab": {**one["_hooklab"], **meta}}

    big = tmp_path / f"big.{fmt}"
    with open(big, "w") as f:
        if fmt == "jsonl":
            f.writelines(json.dumps(capture(i)) + "\n" for i in range(n))
        else:  # (one entry a line, as the lab writes HAR: the layout helpers read)
            f.write('{"log": {"version": "1.2", "entries": [\n')
            f.write(",\n".join(json.dumps(capture(i)) for i in range(n)) + "\n]}}\n")
    before = set(children())
    lab = LOADERS[fmt](big)
    try:
        assert sum(eager) >= 1  # helpers took part
        got = lab.forwards()
        assert [f["capture_id"] for f in got] == [i + 1 for i in range(n) if i % 1000]
        assert {(f["at"], f["target"], f["error"], f["latency_ms"]) for f in got} == {
            (forwards[0]["at"], forwards[0]["target"], forwards[0]["error"],
             forwards[0]["latency_ms"])}
        errors = lab.dataframe()["forward_error"]
        assert errors.notna().sum() == n - n // 1000
    finally:
        lab.stop()
    end = time.monotonic() + 10
    while set(children()) - before and time.monotonic() < end:
        time.sleep(0.05)
    assert set(children()) <= before


# (what follows a helper's row, whether the caller takes the helper's answer: else it makes
# that range itself, so a helper that hands over garbage stores nothing odd)
HELPER_EXTRAS = [
    ([[(1, "http://t/", 200, 1.5, None)]], True),
    ([[(1, "", None, None, "refused"), (2, "", 500, 0.0, None)]], True),
    ([[]], False),  # (a capture without outcomes has nothing after its row)
    ([[(1, "http://t/", "200", 1.5, None)]], False),
    ([[(1, "http://t/", 200, 1, None)]], False),  # (keep_imported makes every latency a float)
    ([[(1, "http://t/", True, 1.5, None)]], False),
    ([[(None, "http://t/", 200, 1.5, None)]], False),
    ([[[1, "http://t/", 200, 1.5, None]]], False),
    ([[(1, "http://t/", 200, 1.5)]], False),
    ([(1, "http://t/", 200, 1.5, None)], False),
    ([[(1, "http://t/", 200, 1.5, None)], []], False),
]


@pytest.mark.parametrize("extra, taken", HELPER_EXTRAS, ids=[repr(e)[:40] for e, _ in HELPER_EXTRAS])
def test_a_helpers_outcomes_are_taken_only_in_their_shape(extra: list[Any], taken: bool) -> None:
    import marshal

    import hooklab.export.jsonl as J
    from hooklab.store import RowMaker

    key = (0, 10, J.JSONL)
    rows = [RowMaker()({"path": "/a", "body": b""}), RowMaker()({"path": "/b", "body": b"x"})]
    rows[1] += extra
    got = J._unpack(marshal.dumps((key, rows, False)), key)
    assert (got == rows) if taken else got is None


@pytest.fixture(scope="module")
def two_labs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Two labs' Parquet exports in one folder, both with captures 1 and 2, forwarded or not:
    lab A's 1 to an app that answers 202, its 2 to a port nobody listens on; lab B's 1 not
    forwarded, its 2 to an app that answers 500. ``(folder, {lab: its files' source})``."""
    folder = tmp_path_factory.mktemp("two_labs") / "exports"
    sources = {}
    with Target(status=202) as ok, Target(status=500) as failing:
        for name, sends in [("A", [("a1", ok.url + "/hook"), ("a2", f"http://127.0.0.1:{free_port()}/x")]),
                            ("B", [("b1", None), ("b2", failing.url + "/hook")])]:
            lab = hooklab.HookLab(port=0, db=":memory:").start()
            try:
                for n, (bin_, to) in enumerate(sends, 1):
                    if to is not None:
                        lab.forward(bin_, to=to)
                    assert post(lab.url_for(bin_), b'{"n": %d}' % n)[0] == 200
                    assert [c.id for c in lab.wait(n, timeout=10)][-1] == n
                _wait_forwards(lab, sum(to is not None for _b, to in sends))
                before = set(folder.rglob("*.parquet")) if folder.exists() else set()
                assert lab.export(folder, fmt="parquet") == 2
                (sources[name],) = {re.fullmatch(r"part-([0-9a-z]+)-.*", p.name).group(1)  # type: ignore[union-attr]
                                    for p in set(folder.rglob("*.parquet")) - before}
            finally:
                lab.stop()
    assert ok.received and failing.received  # (the apps were reached)
    return folder, sources


#: each capture's forwarding outcome, by hand: (id, bin) -> (status, error starts with)
_BY_HAND = {(1, "a1"): (202, None), (1, "b1"): (None, None),
            (2, "a2"): (None, "ConnectionRefusedError"), (2, "b2"): (500, None)}


@pytest.mark.parametrize("layout", ["as-exported", "files-renamed"])
def test_a_folder_of_two_labs_exports_keeps_each_captures_own_forward_outcome(
        two_labs: Any, tmp_path: Path, layout: str) -> None:
    """Two labs both have a capture 1 (ids are each lab's own): ``hooklab.open(folder)``'s
    frame showed lab A's forward of its capture 1 (202) on lab B's capture 1, never
    forwarded, too; the JSON Lines, HAR and CSV exports of the opened folder did the same
    (each capture got the outcomes of every capture of its id), as the outcomes were
    looked up by id alone. Each capture's outcome is its own row's now; ``lab.forwards()``
    says which database (``source``, as the files are named) each outcome is of. Files
    renamed (their names no longer say their database) read the same."""
    import shutil

    folder, sources = two_labs
    if layout == "files-renamed":  # (a user tidied the folder: readers take any *.parquet)
        copy = tmp_path / "renamed"
        shutil.copytree(folder, copy)
        for n, p in enumerate(sorted(copy.rglob("part-*.parquet"))):
            p.rename(p.with_name(f"data{n}.parquet"))
        folder = copy
    opened = hooklab.open(folder)
    try:
        frame = opened.dataframe()
        assert sorted(zip(frame["id"], frame["bin"], strict=True)) == sorted(_BY_HAND)
        for row in frame.itertuples():
            status, error = _BY_HAND[(row.id, row.bin)]
            assert (None if pd.isna(row.forward_status) else row.forward_status) == status, row
            got = None if pd.isna(row.forward_error) else row.forward_error
            assert (got if error is None else got.split(":")[0]) == error, row
            assert pd.isna(row.forward_latency_ms) == (status is None and error is None), row
        one = opened.dataframe(bin="b1")  # (a filter: the same rows' own outcomes)
        assert one["forward_status"].isna().all() and one["forward_error"].isna().all()
        got = [(f["capture_id"], f["status"], (f["error"] or "").split(":")[0], f["source"])
               for f in opened.forwards()]
        assert len(got) == 3 and [g[0] for g in got] == [1, 2, 2]  # (by id, as the store lists)
        if layout == "as-exported":
            assert set(got) == {(1, 202, "", sources["A"]),
                                (2, None, "ConnectionRefusedError", sources["A"]),
                                (2, 500, "", sources["B"])}
        else:  # (a file's path in the folder then tells them apart)
            assert {g[:3] for g in got} == {(1, 202, ""), (2, None, "ConnectionRefusedError"),
                                            (2, 500, "")}
            of = {g[1]: g[3] for g in got}  # (each lab's captures are in one file here)
            assert of[202] == of[None] != of[500] and all(g[3].endswith(".parquet") for g in got)
        assert [f["capture_id"] for f in opened.forwards(1)] == [1]  # (B's 1 has none)
        for fmt in ("jsonl", "har"):
            path = tmp_path / f"again.{fmt}"
            assert opened.export(path, fmt=fmt) == 4
            if fmt == "jsonl":
                lines = [json.loads(line) for line in path.read_text().splitlines()]
            else:
                lines = [e["_hooklab"] for e in json.loads(path.read_text())["log"]["entries"]]
            outcomes = {(line["id"], line["bin"]): [(f["status"], (f["error"] or "").split(":")[0])
                                                    for f in line.get("forwards", [])]
                        for line in lines}
            assert outcomes == {k: [] if v == (None, None) else [(v[0], v[1] or "")]
                                for k, v in _BY_HAND.items()}, fmt
        csv = pd.read_csv(tmp_path / "again.csv") if opened.export(tmp_path / "again.csv") else None
        assert csv is not None
        assert {(r.id, r.bin): None if pd.isna(r.forward_status) else r.forward_status
                for r in csv.itertuples()} == {k: v[0] for k, v in _BY_HAND.items()}
    finally:
        opened.stop()
