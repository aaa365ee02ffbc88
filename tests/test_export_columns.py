"""A JSON Lines or HAR export loaded back (``lab.export`` then ``hooklab.load_jsonl`` /
``hooklab.load_har``) gives the columns of ``lab.dataframe()`` back as they were, as a Parquet
export does: found missing were ``handshake`` (dropped by ``load_jsonl``, never written to
HAR) and a method sent in lower case (``get`` came back ``GET``). Real labs on 127.0.0.1, a
real app a capture is forwarded to, a closed port another is forwarded to, real files."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _http import free_port, post, raw_request
from _target import Target

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


#: not exported yet (the forwarding outcomes)
UNKEPT = ("forward_status", "forward_latency_ms", "forward_error")


def _assert_same_frame(got: pd.DataFrame, want: pd.DataFrame, *, but: tuple[str, ...] = UNKEPT) -> None:
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
    frame, _, paths = source
    back = LOADERS[fmt](paths[fmt])
    try:
        got = back.dataframe()
        _assert_same_frame(got, frame)
        rows = got.set_index("bin")  # (the columns found missing, by value)
        assert rows.loc["slack", "handshake"] == frame.set_index("bin").loc["slack", "handshake"]
        assert rows.loc["lower", "method"] == "get" and back.get(2).method == "get"
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


def test_an_older_hooklabs_har_export_still_loads(source: Any, tmp_path: Path) -> None:
    """A HAR file written before ``_hooklab.handshake``: every other column as before, the
    handshake empty (and the method as exported: the lab's own export carries the ids)."""
    frame, _, paths = source
    har = json.loads(paths["har"].read_text())
    for entry in har["log"]["entries"]:
        entry["_hooklab"].pop("handshake")
    (tmp_path / "old.har").write_text(json.dumps(har))
    back = hooklab.load_har(tmp_path / "old.har")
    try:
        got = back.dataframe()
        _assert_same_frame(got, frame, but=(*UNKEPT, "handshake"))
        assert got["handshake"].isna().all()
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


@pytest.mark.parametrize("fmt", list(LOADERS))
def test_a_handshake_that_is_not_text_is_refused(tmp_path: Path, fmt: str) -> None:
    line = {"id": 1, "method": "POST", "path": "/b", "received_at": "2026-01-01T00:00:00Z",
            "handshake": 5}
    entry = {"startedDateTime": "2026-01-01T00:00:00Z",
             "request": {"method": "POST", "url": "http://h/b"}, "_hooklab": {"id": 1, "handshake": 5}}
    path = tmp_path / f"f.{fmt}"
    path.write_text(json.dumps(line) + "\n" if fmt == "jsonl" else
                    json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    with pytest.raises(ValueError, match="handshake must be a string, got int"):
        LOADERS[fmt](path).stop()
