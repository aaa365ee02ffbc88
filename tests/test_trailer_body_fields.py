"""What describes a capture's body (its content type, charset, ``Content-Encoding``) is read
from the header section, as a receiver reads it: a ``Content-Type`` or ``Content-Encoding``
that came only as a trailer field (after a chunked body) describes nothing of the body.

``Capture.content_type``, ``charset``, ``text``, ``form()``, ``json()``, the DataFrame's
``content_type`` column (made on arrival, and on a JSON Lines import), a HAR entry's
``mimeType`` and copy as curl (run with bash against a recorder of the raw bytes) are checked
for raw chunked requests with trailers sent to a real lab on 127.0.0.1. ``Capture.header()``
still finds a trailer field (public API); ``header(name, trailers=False)`` does not."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _chunked import FIRST, Fields
from _chunked import chunked_post as _chunked
from _http import raw_request
from _rawrecord import Recorder, split_request

import hooklab
from hooklab.export import har_entry, to_curl

#: the fields every request below starts with (Connection: close: the lab closes after it)
UTF8_TEXT = "héllo wörld".encode()
FORM = b"a=1&b=2"
JSON_BODY = b'{"a": 1}'


class Case:
    """A request (header section fields after :data:`FIRST`, trailer fields, body) and what
    the capture must say of its body: ``content_type`` (also the frame's column and, when
    set, the Content-Type curl sends), ``charset``, ``text``, ``form``, ``json``,
    ``trailer_ct``: what ``header("content-type")`` finds (trailers included)."""

    def __init__(self, head: Fields, trailers: Fields, body: bytes, *, content_type: str | None,
                 charset: str, text: str, form: dict[str, list[str]], json_: Any,
                 sent_ct: list[bytes], header_ct: str | None) -> None:
        self.head, self.trailers, self.body = head, trailers, body
        self.content_type, self.charset, self.text = content_type, charset, text
        self.form, self.json, self.sent_ct, self.header_ct = form, json_, sent_ct, header_ct


CASES: dict[str, Case] = {
    "Content-Type only as a trailer (charset=utf-16)": Case(
        [], [("Content-Type", "text/plain; charset=utf-16")], UTF8_TEXT,
        content_type=None, charset="utf-8", text="héllo wörld", form={}, json_=None,
        sent_ct=[], header_ct="text/plain; charset=utf-16"),
    "form Content-Type only as a trailer": Case(
        [], [("Content-Type", "application/x-www-form-urlencoded")], FORM,
        content_type=None, charset="utf-8", text="a=1&b=2", form={}, json_=None,
        sent_ct=[], header_ct="application/x-www-form-urlencoded"),
    "form Content-Type as a trailer, in another letter case, among others": Case(
        [], [("X-Checksum", "abc"), ("content-TYPE", "application/x-www-form-urlencoded")], FORM,
        content_type=None, charset="utf-8", text="a=1&b=2", form={}, json_=None,
        sent_ct=[], header_ct="application/x-www-form-urlencoded"),
    "JSON in the header section, a form type with charset as a trailer": Case(
        [("Content-Type", "application/json")],
        [("Content-Type", "application/x-www-form-urlencoded; charset=utf-16")], JSON_BODY,
        content_type="application/json", charset="utf-8", text='{"a": 1}', form={},
        json_={"a": 1}, sent_ct=[b"Content-Type: application/json"],
        header_ct="application/json"),
    "form in the header section, JSON as a trailer": Case(
        [("Content-Type", "application/x-www-form-urlencoded")],
        [("Content-Type", "application/json")], FORM,
        content_type="application/x-www-form-urlencoded", charset="utf-8", text="a=1&b=2",
        form={"a": ["1"], "b": ["2"]}, json_=None,
        sent_ct=[b"Content-Type: application/x-www-form-urlencoded"],
        header_ct="application/x-www-form-urlencoded"),
    "charset only in the trailer's Content-Type": Case(
        [("Content-Type", "text/plain")], [("Content-Type", "text/plain; charset=utf-16")],
        UTF8_TEXT, content_type="text/plain", charset="utf-8", text="héllo wörld", form={},
        json_=None, sent_ct=[b"Content-Type: text/plain"], header_ct="text/plain"),
    "Content-Encoding: gzip only as a trailer": Case(
        [("Content-Type", "application/json")], [("Content-Encoding", "gzip")], JSON_BODY,
        content_type="application/json", charset="utf-8", text='{"a": 1}', form={},
        json_={"a": 1}, sent_ct=[b"Content-Type: application/json"],
        header_ct="application/json"),
    "Content-Encoding: gzip and charset only as trailers, no Content-Type": Case(
        [], [("Content-Encoding", "gzip"), ("Content-Type", "application/json; charset=utf-32")],
        JSON_BODY, content_type=None, charset="utf-8", text='{"a": 1}', form={},
        json_={"a": 1}, sent_ct=[], header_ct="application/json; charset=utf-32"),
    "gzip in the header section, identity as a trailer": Case(
        [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
        [("Content-Encoding", "identity")], gzip.compress(JSON_BODY, mtime=0),
        content_type="application/json", charset="utf-8", text='{"a": 1}', form={},
        json_={"a": 1}, sent_ct=[b"Content-Type: application/json"],
        header_ct="application/json"),
}


class Sent:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.ids: dict[str, int] = {}


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sent]:
    """Every case sent to a real lab as a raw chunked request, stored in a SQLite file."""
    db = tmp_path_factory.mktemp("trailer_body") / "captures.sqlite3"
    out = Sent(db)
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    try:
        for n, (name, case) in enumerate(CASES.items()):
            answer = raw_request(lab.bound_port, _chunked(f"/tr/{n}", case.head, case.trailers,
                                                          case.body))
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
            out.ids[name] = json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]
        lab.wait(len(CASES), timeout=10)
    finally:
        lab.stop()
    yield out


def _check_capture(name: str, cap: Any) -> None:
    case = CASES[name]
    assert cap.trailers_at == len(FIRST) + len(case.head), name
    assert cap.body == case.body, name
    assert cap.content_type == case.content_type, name
    assert cap.charset == case.charset, name
    assert cap.text == case.text, name
    assert cap.form() == case.form, name
    assert cap.json() == case.json, name
    # header() finds trailers too (public API); trailers=False reads the header section only
    assert cap.header("content-type") == case.header_ct, name
    section_ct = next((v for k, v in case.head if k.lower() == "content-type"), None)
    assert cap.header("content-type", trailers=False) == section_ct, name
    assert [k for k, _ in cap.trailers] == [k for k, _ in case.trailers], name


@pytest.mark.parametrize("name", list(CASES))
def test_body_is_described_by_the_header_section(sent: Sent, name: str) -> None:
    lab = hooklab.open(sent.db)
    try:
        cap = lab.get(sent.ids[name])
        assert cap is not None
        _check_capture(name, cap)
        mime = har_entry(cap)["request"]["postData"]["mimeType"]
        section_ct = next((v for k, v in CASES[name].head if k.lower() == "content-type"), None)
        assert mime == (section_ct or "application/octet-stream"), name
    finally:
        lab.stop()


def _frame_content_types(lab: hooklab.HookLab) -> dict[int, str | None]:
    df = lab.dataframe()
    return {int(i): (None if isinstance(ct, float) or ct is None else str(ct))
            for i, ct in zip(df["id"], df["content_type"].astype(object), strict=True)}


def test_frame_content_type_column_is_the_header_sections(sent: Sent, tmp_path: Path) -> None:
    want = {sent.ids[name]: case.content_type for name, case in CASES.items()}
    lab = hooklab.open(sent.db)
    try:
        assert _frame_content_types(lab) == want  # (the column made on arrival)
        path = tmp_path / "all.jsonl"
        assert lab.export(str(path), fmt="jsonl") == len(CASES)
    finally:
        lab.stop()
    other = hooklab.load_jsonl(str(path))  # (the column made on a bulk import)
    try:
        got = {c.id: c for c in other.captures}
        assert len(got) == len(CASES)
        by_old = dict(zip(sorted(want), sorted(got), strict=True))
        assert _frame_content_types(other) == {by_old[i]: ct for i, ct in want.items()}
        for name in CASES:
            _check_capture(name, got[by_old[sent.ids[name]]])
    finally:
        other.stop()


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                    reason="curl and bash needed")
@pytest.mark.parametrize("name", list(CASES))
def test_copy_as_curl_sends_the_header_sections_content_type(sent: Sent, name: str) -> None:
    case = CASES[name]
    lab = hooklab.open(sent.db)
    try:
        cap = lab.get(sent.ids[name])
        assert cap is not None
    finally:
        lab.stop()
    with Recorder() as app:
        cmd = to_curl(cap, app.url + "/got")
        assert cmd.startswith("# "), cmd  # (the trailer fields left out are named)
        subprocess.run(["bash", "--norc", "--noprofile", "-c", cmd + " -s -o /dev/null"],
                       check=True, timeout=20, env={**os.environ, "LC_ALL": "C.UTF-8"})
        raw = app.wait(1, timeout=20)[0]
    head, body, trailers, _ = split_request(raw)
    assert body == case.body, name
    assert trailers is None, name  # (curl sends no trailers)
    sent_ct = [line for line in head[1:] if line.lower().startswith(b"content-type:")]
    assert sent_ct == case.sent_ct, (name, head)
