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
