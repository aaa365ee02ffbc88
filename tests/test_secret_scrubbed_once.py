"""A secret given with ``lab.secret`` after captures were stored is hidden where they are shown
(exports, the live view, the read API, the stream); captures stored after every secret was
given were scrubbed on arrival, and are shown as stored, not scrubbed again each time.

README (Providers and signatures): every secret given is ``[secret]`` in exports and views;
the lab keeps the last 256 given (rotated or removed) besides the current ones. Reviewers
measured the scrub of every capture once any secret was given: exports three times slower,
the live view ~5 ms a refresh, the read API 174 ms for one capture with 100 secrets given, on
the capture server's loop. Calls of the scrub are counted here, not timed (bench/README.md).

Real sockets on 127.0.0.1, a real SQLite file, a second process writing to it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import exact_request, post

import hooklab

OLD = "oldsecret-Alpha-1"  # (given after OLD_N captures holding it came)
OLD_N, NEW_N = 4, 20  # captures before the secret was given, after it


def _send(port: int, target: str, headers: list[tuple[str, str]]) -> None:
    status, _ = post(f"http://127.0.0.1:{port}{target}", b'{"n": 1}',
                     {"Content-Type": "application/json", **dict(headers)})
    assert status == 200


class _Count:
    """Counts the scrubs of a capture's fields (``SecretBook.scrub``: what showing a capture
    with its secrets hidden runs) while it is installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, book: object) -> None:
        self.n = 0
        scrub = type(book).scrub

        def counted(this: object, *args: object, **kwargs: object) -> object:
            self.n += 1
            return scrub(this, *args, **kwargs)

        monkeypatch.setattr(type(book), "scrub", counted)


@pytest.fixture()
def lab(tmp_path: Path) -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        for _ in range(OLD_N):
            _send(lab.bound_port, "/old", [("X-Key", OLD)])
        lab.wait(OLD_N, timeout=30)
        lab.secret("old", OLD)
        for _ in range(NEW_N):
            _send(lab.bound_port, "/old", [("X-Key", OLD)])
        lab.wait(OLD_N + NEW_N, timeout=30)
        yield lab
    finally:
        lab.stop()


@pytest.mark.parametrize("fmt", ["jsonl", "har", "csv", "parquet"])
def test_an_export_scrubs_only_captures_stored_before_the_secret(
        lab: hooklab.HookLab, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str) -> None:
    count = _Count(monkeypatch, lab.store.secrets)
    out = tmp_path / f"out.{fmt}"
    assert lab.export(out, fmt=fmt) == OLD_N + NEW_N
    files = sorted(out.rglob("*.parquet")) if out.is_dir() else [out]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        text = json.dumps([r for f in files for r in pq.read_table(f).to_pylist()], default=str)
    else:
        text = out.read_text(encoding="utf-8")
    assert OLD not in text
    if fmt != "csv":  # (a CSV holds no headers)
        assert text.count("[secret]") >= OLD_N + NEW_N
    assert count.n <= OLD_N, f"{count.n} scrubs for {OLD_N} captures stored before the secret"


def test_the_live_view_scrubs_a_row_once(lab: hooklab.HookLab,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    view = lab.live()
    try:
        count = _Count(monkeypatch, lab.store.secrets)
        view.refresh()
        first = count.n
        for _ in range(3):
            view.refresh()
        assert first <= OLD_N and count.n == first, (first, count.n)
        rows = json.dumps([o for o, _ in view.table.options])
        view.select(lab.captures[0].id)
        assert OLD not in rows and OLD not in json.dumps(view.selected.headers)
    finally:
        view.close()


def test_the_read_api_and_stream_scrub_only_older_captures(
        lab: hooklab.HookLab, monkeypatch: pytest.MonkeyPatch) -> None:
    from tornado import websocket

    count = _Count(monkeypatch, lab.store.secrets)
    req = urllib.request.Request(f"{lab.url}/_hooklab/api/captures?limit=100",
                                 headers={"Authorization": f"token {lab.api_token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        page = r.read().decode()
    assert OLD not in page and len(json.loads(page)["captures"]) == OLD_N + NEW_N
    assert count.n <= OLD_N, count.n
    count.n = 0

    async def main() -> list[str]:
        conn = await websocket.websocket_connect(lab.stream_url() + "&since=0")
        got = []
        for _ in range(OLD_N + NEW_N):
            msg = await asyncio.wait_for(conn.read_message(), 30)
            assert msg is not None, conn.close_reason
            got.append(msg if isinstance(msg, str) else msg.decode())
        conn.close()
        return got

    assert all(OLD not in m for m in asyncio.run(main()))
    assert count.n <= OLD_N, count.n


def test_a_new_secret_is_hidden_in_captures_stored_after_the_first(lab: hooklab.HookLab,
                                                                  tmp_path: Path) -> None:
    """The captures scrubbed on arrival of the first secret hold a second one given later:
    it is hidden in them too (what counts as scrubbed moves with each secret given)."""
    lab.secret("old", "rotated-Beta-22")  # (the old one stays hidden: rotated)
    later = "laterword-Gamma-3"
    _send(lab.bound_port, "/other", [("X-Later", later)])
    lab.wait(OLD_N + NEW_N + 1, timeout=30)
    lab.secret("other", later)
    out = tmp_path / "out.jsonl"
    lab.export(out, fmt="jsonl")
    text = out.read_text(encoding="utf-8")
    assert OLD not in text and later not in text


def test_captures_another_process_wrote_are_scrubbed(lab: hooklab.HookLab) -> None:
    """Rows another process stored in the lab's database after the secret was given were not
    scrubbed by this lab: shown with it hidden all the same."""
    code = ("import sys; from hooklab.store import CaptureStore; s = CaptureStore(sys.argv[1]);"
            " s.add_many([{'path': '/x', 'headers': [('X-Key', sys.argv[2])], 'body': b'{}'}]"
            " * 3); s.close()")
    subprocess.run([sys.executable, "-c", code, lab.db_path, OLD], check=True, timeout=120)
    _send(lab.bound_port, "/old", [("X-Key", OLD)])  # (and one of its own after them)
    caps = lab.wait(OLD_N + NEW_N + 4, timeout=30)
    assert sum(OLD in json.dumps(c.headers) for c in caps) == OLD_N + 3  # (as stored)
    for cap in caps:
        assert OLD not in json.dumps(lab.store.shown(cap).headers), cap.id


@pytest.mark.parametrize("how", ["jsonl load", "add_many", "add_rows of rows made elsewhere"])
def test_captures_imported_after_the_secret_are_shown_hidden(lab: hooklab.HookLab,
                                                             tmp_path: Path, how: str) -> None:
    """An export written by a lab that never had the secret, imported into this one after the
    secret was given: shown with it hidden however it was imported (rows a helper process
    prepared were not scrubbed on arrival)."""
    from hooklab.export.jsonl import load
    from hooklab.store import RowMaker

    src = tmp_path / "plain.jsonl"
    plain = hooklab.HookLab(port=0, db=str(tmp_path / "p.sqlite3")).start()
    try:
        for _ in range(3):
            _send(plain.bound_port, "/imp", [("X-Key", OLD)])
        plain.wait(3, timeout=30)
        plain.export(src, fmt="jsonl")
        records = [{"path": c.path, "headers": c.headers, "body": c.body} for c in plain.captures]
    finally:
        plain.stop()
    assert OLD in src.read_text(encoding="utf-8")
    if how == "jsonl load":
        assert load(lab.store, src) == 3
    elif how == "add_many":
        assert lab.store.add_many(records) == 3
    else:
        make = RowMaker()
        assert lab.store.add_rows(make(dict(r)) for r in records) == 3
    caps = lab.wait(OLD_N + NEW_N + 3, timeout=30)[-3:]
    for cap in caps:
        assert OLD not in json.dumps(lab.store.shown(cap).headers), (how, cap.headers)
    out = tmp_path / "out.jsonl"
    lab.export(out, fmt="jsonl")
    assert OLD not in out.read_text(encoding="utf-8")


#: how many secrets a lab keeps hidden besides the current ones (README)
KEPT = 256


def test_the_last_256_secrets_given_stay_hidden(tmp_path: Path) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "k.sqlite3")).start()
    try:
        values = [f"rotated-{i:04d}-xx" for i in range(KEPT + 40)]
        for v in values:  # (stored before any was given)
            _send(lab.bound_port, "/rot", [("X-Key", v)])
        _send(lab.bound_port, "/keep", [("X-Key", "current-keep-001")])
        caps = lab.wait(len(values) + 1, timeout=60)
        lab.secret("keep", "current-keep-001")  # (the oldest given, and current: kept)
        for v in values:  # (one bin's secret rotated: each replaces the one before)
            lab.secret("rot", v)
        shown = {c.header("X-Key"): lab.store.shown(c).header("X-Key") for c in caps}
        for at, v in enumerate(values):
            # kept: the last KEPT given of the 1 + len(values) ("keep" first, at place 0;
            # values[at] at place 1 + at)
            hidden = 1 + at >= (1 + len(values)) - KEPT
            assert (shown[v] == "[secret]") is hidden, (at, v, shown[v])
        assert shown["current-keep-001"] == "[secret]"
    finally:
        lab.stop()


_HUB = "/wa?hub.mode=subscribe&hub.challenge=7&"
# (request target; the URL's query as stored; the query as stored): a short verify token
# (`abc`) is hidden in the field Meta's check reads it from only
QUERY_CASES = [
    (_HUB + "hub.verify_token=abc&state=abc",
     "hub.mode=subscribe&hub.challenge=7&hub.verify_token=[secret]&state=abc",
     {"hub.mode": ["subscribe"], "hub.challenge": ["7"], "hub.verify_token": ["[secret]"],
      "state": ["abc"]}),
    (_HUB + "hub%2Everify_token=abc",  # (the key percent-encoded: read as the check reads it)
     "hub.mode=subscribe&hub.challenge=7&hub%2Everify_token=[secret]",
     {"hub.mode": ["subscribe"], "hub.challenge": ["7"], "hub.verify_token": ["[secret]"]}),
    ("/wa?state=abc&next=abc", "state=abc&next=abc", {"state": ["abc"], "next": ["abc"]}),
    ("/wa?hub.verify_token2=abc", "hub.verify_token2=abc", {"hub.verify_token2": ["abc"]}),
    ("/wa?abc=abc", "abc=abc", {"abc": ["abc"]}),
]


def test_a_verify_token_is_hidden_in_its_own_field_only(tmp_path: Path) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "q.sqlite3")).start()
    try:
        lab.secret("wa", None, provider="meta", verify_token="abc")
        for n, (target, url_query, query) in enumerate(QUERY_CASES, 1):
            exact_request(lab.bound_port, "GET", target)
            cap = lab.wait(n, timeout=30)[-1]
            assert cap.url.split("?", 1)[1] == url_query, target
            assert cap.query == query, target
    finally:
        lab.stop()
