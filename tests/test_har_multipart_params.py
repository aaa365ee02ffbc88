"""A HAR entry that lists a multipart form as ``postData.params`` is imported without its body.

HAR 1.2 lets ``postData`` give ``params`` instead of ``text``; Insomnia and others write a
multipart upload so. Its bytes (boundary, part headers, the file's bytes as sent) are not in
the file, and one such entry refused the whole file ("HAR entry 1 is malformed"). As for any
body the HAR does not hold: imported empty with its headers as recorded, the warning says
so and the capture's ``verify_reason`` explains. Real files, ``hooklab.load_har``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

import hooklab

CT = "multipart/form-data; boundary=----WebKitFormBoundaryABC"
FORM = "application/x-www-form-urlencoded"
WHY = ("not checked: the request body is not in the HAR file (a multipart form or a file "
       "listed as postData.params, whose bytes (boundaries, part headers) the HAR file does "
       "not hold){}; imported empty")


def _entry(url: str, post: dict[str, Any], ctype: str, size: int = -1,
           length: str | None = None) -> dict[str, Any]:
    headers = [{"name": "Host", "value": "example.com"}, {"name": "Content-Type", "value": ctype}]
    if length is not None:
        headers.append({"name": "Content-Length", "value": length})
    return {"startedDateTime": "2026-12-07T10:00:00.000Z", "time": 12.5,
            "request": {"method": "POST", "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
                        "headers": headers, "queryString": [], "headersSize": -1,
                        "bodySize": size, "postData": post},
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                         "cookies": [], "headers": [], "content": {"size": 0, "mimeType": ""},
                         "redirectURL": "", "headersSize": -1, "bodySize": -1},
            "cache": {}, "timings": {"send": 0, "wait": 12, "receive": 0.5}}


FIELDS = [{"name": "field", "value": "v"},
          {"name": "file", "fileName": "a.txt", "contentType": "text/plain", "value": "hello"}]
# case -> (postData, Content-Type, bodySize, Content-Length, the reason's sizes)
LISTED = {
    "multipart, a field and a file": ({"mimeType": CT, "params": FIELDS}, CT, -1, None, ""),
    "multipart, fields only": ({"mimeType": CT, "params": FIELDS[:1]}, CT, -1, None, ""),
    "multipart, sizes given": ({"mimeType": CT, "params": FIELDS}, CT, 310, "310",
                               " (Content-Length 310, bodySize 310)"),
    "a URL-encoded form with a file": ({"mimeType": FORM, "params": FIELDS}, FORM, -1, None, ""),
    "multipart, mimeType only in the header": ({"params": FIELDS}, CT, -1, None, ""),
}


def _load(path: Path) -> tuple[list[Any], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lab = hooklab.load_har(str(path))
    try:
        got = [(c.path, c.headers, c.body, c.verify_reason) for c in lab.captures]
    finally:
        lab.stop()
    return got, [str(w.message) for w in caught if w.category is UserWarning]


@pytest.mark.parametrize("case", list(LISTED))
def test_a_listed_form_is_imported_without_its_body_and_told(tmp_path: Path, case: str) -> None:
    post, ctype, size, length, sizes = LISTED[case]
    path = tmp_path / "x.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "Insomnia"},
                                        "entries": [
        _entry("http://example.com/json", {"mimeType": "application/json", "text": '{"a": 1}'},
               "application/json"),
        _entry("http://example.com/upload", post, ctype, size, length)]}}))
    got, told = _load(path)
    headers = [("Host", "example.com"), ("Content-Type", ctype)]
    if length is not None:
        headers.append(("Content-Length", length))
    assert got == [("/json", [("Host", "example.com"), ("Content-Type", "application/json")],
                    b'{"a": 1}', None),
                   ("/upload", headers, b"", WHY.format(sizes))]
    assert told == [f"hooklab: {str(path)!r}: 1 request body is not in the file (entry 1): "
                    "imported empty, headers as recorded; the captures say so in verify_reason"]


# (postData.params that are no list of objects: the entry is malformed, as before)
MALFORMED = [
    ({"mimeType": CT, "params": {"name": "f"}}, "postData.params must be a list, got dict"),
    ({"mimeType": CT, "params": ["f"]}, "postData.params must be objects"),
    ({"mimeType": FORM, "params": [FIELDS[0], 5]}, "postData.params must be objects"),
]


@pytest.mark.parametrize("post, says", MALFORMED, ids=[s for _, s in MALFORMED])
def test_params_that_are_no_list_of_objects_refuse_the_file(tmp_path: Path, post: dict[str, Any],
                                                            says: str) -> None:
    path = tmp_path / "x.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": [
        _entry("http://example.com/upload", post, CT)]}}))
    with pytest.raises(ValueError) as err:
        hooklab.load_har(str(path)).stop()
    assert str(err.value) == f"{str(path)!r}: HAR entry 0 is malformed ({says})"
