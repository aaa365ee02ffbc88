"""Fields of an imported file are checked, ``verified`` too, and a refusal says where and what.

A JSON Lines line's ``"verified": "false"`` (``"no"``, ``"0"``, ``[0]``, ``{}``) was imported
as ``verified=True`` (the string is truthy), so ``lab.query(verified=True)`` found a capture
whose signature failed; a HAR entry's ``_hooklab.verified: "false"`` too, beside its
``verify_reason`` "signature mismatch". Every other field was checked already. Real files
written here and imported with ``hooklab.load_jsonl`` / ``hooklab.load_har``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import hooklab

LINE = {"id": 1, "kind": "http", "received_at": "2026-12-07T00:00:00Z", "method": "POST",
        "path": "/stripe", "url": "http://x.test/stripe",
        "headers": [["Content-Type", "application/json"]], "status": 200, "body_b64": "e30=",
        "provider": "stripe", "verify_reason": "signature mismatch"}


def _jsonl(tmp_path: Path, verified: Any) -> Path:
    path = tmp_path / "v.jsonl"
    # (a first line that is fine: the refusal must name the second)
    path.write_text(json.dumps({**LINE, "verified": True}) + "\n"
                    + json.dumps({**LINE, "id": 2, "verified": verified}) + "\n")
    return path


def _har(tmp_path: Path, verified: Any) -> Path:
    def entry(i: int, v: Any) -> dict[str, Any]:
        return {"startedDateTime": "2026-12-07T00:00:00Z", "time": 0,
                "request": {"method": "POST", "url": "http://x.test/stripe",
                            "httpVersion": "HTTP/1.1", "cookies": [], "queryString": [],
                            "headers": [{"name": "Content-Type", "value": "application/json"}],
                            "headersSize": -1, "bodySize": 2,
                            "postData": {"mimeType": "application/json", "text": "{}"}},
                "response": {"status": 200, "statusText": "", "httpVersion": "HTTP/1.1",
                             "cookies": [], "headers": [], "content": {"size": 0, "mimeType": ""},
                             "redirectURL": "", "headersSize": -1, "bodySize": -1},
                "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
                "_hooklab": {"id": i, "kind": "http", "path": "/stripe", "status": 200,
                             "provider": "stripe", "verified": v,
                             "verify_reason": "signature mismatch"}}

    path = tmp_path / "v.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "hooklab"},
                                        "entries": [entry(1, True), entry(2, verified)]}}))
    return path


# what a file may say (JSON true/false/null; 1 and 0, as SQLite keeps booleans) -> stored
GOOD = [(True, True), (False, False), (None, None), (1, True), (0, False)]
# what it may not: every one of these was read by its truthiness
HOSTILE = ["false", "true", "no", "0", "1", "", "null", [0], [], {}, {"a": 1}, 0.0, 1.0, 0.5,
           2, -1]
WHERE = {"jsonl": "line 2 is not a capture", "har": "HAR entry 1 is malformed"}
FILES = {"jsonl": (_jsonl, hooklab.load_jsonl), "har": (_har, hooklab.load_har)}


@pytest.mark.parametrize("fmt", list(FILES))
@pytest.mark.parametrize("given, stored", GOOD, ids=[repr(g) for g, _ in GOOD])
def test_a_verified_field_is_read_as_it_is(tmp_path: Path, fmt: str, given: Any,
                                           stored: bool | None) -> None:
    write, load = FILES[fmt]
    lab = load(write(tmp_path, given))
    try:
        assert [c.verified for c in lab.captures] == [True, stored]
        assert len(lab.query(verified=True)) == (2 if stored else 1)
    finally:
        lab.stop()


@pytest.mark.parametrize("fmt", list(FILES))
@pytest.mark.parametrize("given", HOSTILE, ids=[repr(h) for h in HOSTILE])
def test_a_verified_field_that_is_no_boolean_refuses_the_file(tmp_path: Path, fmt: str,
                                                              given: Any) -> None:
    write, load = FILES[fmt]
    path = write(tmp_path, given)
    with pytest.raises(ValueError) as err:
        load(path).stop()
    said = str(err.value)
    assert said.startswith(f"{str(path)!r}: {WHERE[fmt]} (")
    assert f"verified must be true, false or null, got {given!r}" in said, said


# -- a refusal names the loader that reads the file, or the line and field ---------------------

def _lines(tmp_path: Path, name: str, lines: list[dict[str, Any]], bom: bool = False) -> Path:
    path = tmp_path / name
    text = "".join(json.dumps(line) + "\n" for line in lines)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


@pytest.fixture
def exports(tmp_path: Path) -> dict[str, Path]:
    """A lab's exports of two captures (JSON Lines, HAR, Parquet), and the same files written
    as other tools write them (a pretty-printed HAR, one on one line, byte order marks)."""
    src = _lines(tmp_path, "src.jsonl", [LINE, {**LINE, "id": 2}])
    lab = hooklab.load_jsonl(src)
    try:
        lab.export(str(tmp_path / "lab.har"))
        lab.export(str(tmp_path / "lab.jsonl"))
        lab.export(str(tmp_path / "lab_parquet"), fmt="parquet")
    finally:
        lab.stop()
    har = json.loads((tmp_path / "lab.har").read_text())
    (tmp_path / "pretty.har").write_text(json.dumps(har, indent=2))
    (tmp_path / "one_line.har").write_text(json.dumps(har))
    (tmp_path / "bom.har").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "lab.har").read_bytes())
    (tmp_path / "bom.jsonl").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "lab.jsonl").read_bytes())
    _lines(tmp_path, "one.jsonl", [LINE])
    return {p.name: p for p in tmp_path.iterdir()}


NOT_JSON_LINES = "is a HAR file, not JSON Lines: import it with hooklab.load_har(path)"
NOT_HAR = "is a JSON Lines file, not a HAR file: import it with hooklab.load_jsonl(path)"
A_FOLDER = ("is not a regular file (a folder): open a Parquet export's folder with "
            "hooklab.open(path)")
# (the file, the loader, what the refusal says after the file's name)
WRONG_LOADER = [
    ("lab.har", "load_jsonl", NOT_JSON_LINES),
    ("pretty.har", "load_jsonl", NOT_JSON_LINES),
    ("one_line.har", "load_jsonl", NOT_JSON_LINES),
    ("bom.har", "load_jsonl", NOT_JSON_LINES),
    ("lab.jsonl", "load_har", NOT_HAR),
    ("bom.jsonl", "load_har", NOT_HAR),
    ("one.jsonl", "load_har", "is a JSON Lines file (one capture), not a HAR file: import it "
                              "with hooklab.load_jsonl(path)"),
    ("lab_parquet", "load_har", A_FOLDER),
    ("lab_parquet", "load_jsonl", A_FOLDER),
]


@pytest.mark.parametrize("name, loader, says", WRONG_LOADER,
                         ids=[f"{n}-{f}" for n, f, _ in WRONG_LOADER])
def test_a_file_for_the_other_loader_names_it(exports: dict[str, Path], name: str, loader: str,
                                              says: str) -> None:
    path = exports[name]
    with pytest.raises(ValueError) as err:
        getattr(hooklab, loader)(path).stop()
    assert str(err.value) == f"{str(path)!r} {says}"
    # (what it says is true: the loader it names reads the file)
    right = "open" if name == "lab_parquet" else "load_har" if loader == "load_jsonl" else "load_jsonl"
    lab = getattr(hooklab, right)(str(path))
    try:
        assert len(lab.captures) == (1 if name == "one.jsonl" else 2)
    finally:
        lab.stop()


# (a first line that is no JSON, JSON that is no HAR: what each says, as before)
NEITHER = [
    (b'{"log" \n', "load_jsonl", "': line 1 is not a capture (unexpected"),
    (b"{not json\n", "load_jsonl", "': line 1 is not a capture (unexpected"),
    (b'\n{"path": "/a"}\n{"log": {"entries": []}}\n', "load_jsonl",
     "': line 3 is not a capture (a HAR file's log, no capture)"),
    (b"[1, 2]", "load_har", "' is not a HAR file (no log.entries)"),
    (b'{"a": 1}', "load_har", "' is not a HAR file (no log.entries)"),
    (b'{"a": 1} x', "load_har", "' is not a HAR file: Extra data"),
    (b'{"a":\n 1}\n{"b": 2}', "load_har", "' is not a HAR file: Extra data"),
]


@pytest.mark.parametrize("data, loader, says", NEITHER, ids=[repr(d[:12]) for d, _, _ in NEITHER])
def test_a_broken_file_is_not_taken_for_the_other_kind(tmp_path: Path, data: bytes, loader: str,
                                                       says: str) -> None:
    path = tmp_path / "x.txt"
    path.write_bytes(data)
    with pytest.raises(ValueError) as err:
        getattr(hooklab, loader)(path).stop()
    assert str(err.value).startswith(f"{str(path)!r}"[:-1] + says), str(err.value)


# (a line's fields -> what the refusal of line 2 / HAR entry 1 says in its parentheses)
BAD_FIELDS = [
    ({"body_b64": "aGk!"}, "body_b64 is not base64 (Only base64 data is allowed)"),
    ({"body_b64": "aGk"}, "body_b64 is not base64 (Incorrect padding)"),
    ({"forwards": [{"at": "yesterday", "status": 200}]},
     "forwards[0].at 'yesterday' is not an ISO 8601 time"),
    ({"forwards": [{"at": "2026-13-01T00:00:00Z"}]},
     "forwards[0].at '2026-13-01T00:00:00Z' is not an ISO 8601 time"),
    ({"forwards": [{"at": "2026-01-01T00:00:00Z"}, {"at": ""}]},
     "forwards[1].at '' is not an ISO 8601 time"),
]


@pytest.mark.parametrize("fields, says", BAD_FIELDS, ids=[str(f)[:30] for f, _ in BAD_FIELDS])
def test_a_bad_field_is_named_with_its_line(tmp_path: Path, fields: dict[str, Any],
                                            says: str) -> None:
    path = _lines(tmp_path, "bad.jsonl", [LINE, {**LINE, **fields}])
    with pytest.raises(ValueError) as err:
        hooklab.load_jsonl(path).stop()
    assert str(err.value) == f"{str(path)!r}: line 2 is not a capture ({says})"
    if "forwards" in fields:  # (a HAR entry's _hooklab.forwards: the same words)
        har = json.loads(_har(tmp_path, True).read_text())
        har["log"]["entries"][1]["_hooklab"]["forwards"] = fields["forwards"]
        path = tmp_path / "bad.har"
        path.write_text(json.dumps(har))
        with pytest.raises(ValueError) as err:
            hooklab.load_har(path).stop()
        assert str(err.value) == f"{str(path)!r}: HAR entry 1 is malformed ({says})"


def test_a_har_file_read_by_helpers_names_its_loader_too(exports: dict[str, Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A big file is read by helper processes (``HELPER_BYTES``; lowered here): the same words."""
    from hooklab.explore import parallel
    from hooklab.export import jsonl

    monkeypatch.setattr(jsonl, "HELPER_BYTES", 1)
    monkeypatch.setattr(jsonl, "RANGE_BYTES", 256)
    monkeypatch.setattr(parallel, "PROCESSES", 2)
    for name in ("lab.har", "pretty.har"):
        path = exports[name]
        with pytest.raises(ValueError) as err:
            hooklab.load_jsonl(path).stop()
        assert str(err.value) == f"{str(path)!r} {NOT_JSON_LINES}"
