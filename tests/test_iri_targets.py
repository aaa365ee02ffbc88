"""A URL with characters past ASCII in an imported file (an IRI: ``?q=ü``, ``?e=€``, as tools
that write decoded URLs write them) goes out as a browser sends it: each character past ASCII
as its UTF-8 bytes, percent-encoded (RFC 3987 section 3.1), the same from ``lab.replay``, from
``to_curl`` run by the real curl, and from both to another URL. ``replay`` sent ``ü`` as the
single Latin-1 byte 0xFC and failed on ``€`` (``UnicodeEncodeError: 'latin-1' codec can't
encode``), while copy-as-curl sent raw UTF-8 for one and Latin-1 for the other.

A target the lab received is stored a character a byte (raw UTF-8 ``é`` as ``\\xc3\\xa9``, a
lone byte as itself): it still goes back byte for byte, from replay, forward and curl alike.
Every request is read by a raw-socket app on 127.0.0.1 that keeps its exact bytes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from _http import raw_request
from _rawrecord import Recorder, replayed_and_curled

import hooklab
from hooklab.export import to_curl

needs_curl = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                                reason="curl and bash needed")

#: an imported URL (text) -> (the target sent, after the bin or the ``/app`` it is sent to in
#: its place; the bin as the request line has it; the capture's bin and query as read)
BIN = b"/b"
IRIS = {
    "latin-1 letter": ("http://x/b/p?q=\u00fc", b"/p?q=%C3%BC", BIN, "b", {"q": ["\u00fc"]}),
    "euro sign": ("http://x/b/p?e=\u20ac", b"/p?e=%E2%82%AC", BIN, "b", {"e": ["\u20ac"]}),
    "both": ("http://x/b/p?q=\u00fc&e=\u20ac", b"/p?q=%C3%BC&e=%E2%82%AC", BIN, "b",
             {"q": ["\u00fc"], "e": ["\u20ac"]}),
    "in the path": ("http://x/b/caf\u00e9/\u00fc?x=1", b"/caf%C3%A9/%C3%BC?x=1", BIN, "b",
                    {"x": ["1"]}),
    "in the bin": ("http://x/\u00e9t\u00e9/p?q=\u00fc", b"/p?q=%C3%BC", b"/%C3%A9t%C3%A9",
                   "\u00e9t\u00e9", {"q": ["\u00fc"]}),
    "astral": ("http://x/b/p?e=\U0001f600", b"/p?e=%F0%9F%98%80", BIN, "b",
               {"e": ["\U0001f600"]}),
    "combining mark, not normalised": ("http://x/b/p?q=u\u0308", b"/p?q=u%CC%88", BIN, "b",
                                       {"q": ["u\u0308"]}),
    "escapes kept beside": ("http://x/b/caf%C3%A9?q=\u00e9%20x", b"/caf%C3%A9?q=%C3%A9%20x",
                            BIN, "b", {"q": ["\u00e9 x"]}),
    "bidi controls": ("http://x/b/\u202e\u2066;x", b"/%E2%80%AE%E2%81%A6;x", BIN, "b", {}),
    "c1 controls": ("http://x/b/\u009b31m?a=\u0085", b"/%C2%9B31m?a=%C2%85", BIN, "b",
                    {"a": ["\u0085"]}),
    "fragment (never sent)": ("http://x/b/p?q=\u00fc#fr\u00e4g", b"/p?q=%C3%BC", BIN, "b",
                              {"q": ["\u00fc"]}),
}


def _target(raw: bytes) -> bytes:
    """The request target of one request's exact bytes."""
    line = raw.split(b"\r\n", 1)[0]
    method, target, version = line.split(b" ")
    assert version == b"HTTP/1.1", line
    return target


def _har(path: Path, urls: list[str]) -> Path:
    entries = [{"startedDateTime": "2026-12-05T19:32:38Z",
                "request": {"method": "POST", "url": url, "headers": [],
                            "postData": {"mimeType": "text/plain", "text": "x"}},
                "response": {"status": 200}} for url in urls]
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "x", "version": "1"},
                                        "entries": entries}}), encoding="utf-8")
    return path


def _curl(cmd: str) -> None:
    # as a person pasting it into a UTF-8 terminal runs it
    subprocess.run(["bash", "-c", cmd + " -sS -o /dev/null --max-time 10"], check=True,
                   timeout=30, env={**os.environ, "LC_ALL": "C.UTF-8"})


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    lab = hooklab.load_har(_har(tmp_path_factory.mktemp("iri") / "iri.har",
                                [url for url, *_ in IRIS.values()]))
    try:
        yield lab, dict(zip(IRIS, lab.captures, strict=True))
    finally:
        lab.stop()


@pytest.mark.parametrize("name", list(IRIS))
def test_replay_of_an_imported_iri_sends_utf8_percent_encoded(imported, name: str) -> None:  # type: ignore[no-untyped-def]
    lab, caps = imported
    _, sent, _, bin_, query = IRIS[name]
    cap = caps[name]
    assert (cap.bin, cap.query) == (bin_, query)  # (read as the text it is, as before)
    with Recorder() as app:
        (r,) = lab.replay([cap], to=app.url + "/app")
        assert (r.status, r.error) == (200, None), r
        (got,) = app.wait(1)
    assert _target(got) == b"/app" + sent


@needs_curl
@pytest.mark.parametrize("name", list(IRIS))
def test_copy_as_curl_of_an_imported_iri_sends_what_replay_sends(imported, name: str) -> None:  # type: ignore[no-untyped-def]
    _, sent, bin_sent, _, _ = IRIS[name]
    cap = imported[1][name]
    with Recorder() as app:
        elsewhere = to_curl(cap, url=app.url + "/app")
        back = to_curl(cap, base=app.url)  # (as to the lab: the bin kept)
        for cmd in (elsewhere, back):  # (nothing a terminal would act on)
            assert cmd.isascii() and cmd.isprintable(), cmd
            _curl(cmd)
        first, second = app.wait(2)
    assert (_target(first), _target(second)) == (b"/app" + sent, bin_sent + sent)


#: hand-written JSON Lines lines whose URL holds a character past U+00FF: text, never a
#: received target's bytes (hooklab's own lines keep a received byte as one character)
JSONL = {
    "euro sign": ({"method": "POST", "url": "http://x/b/p?e=\u20ac", "body": "x"},
                  b"/app/p?e=%E2%82%AC"),
    "latin-1 letter beside a wider one": (
        {"method": "POST", "url": "http://x/b/\u00fc?e=\u20ac", "body": "x"},
        b"/app/%C3%BC?e=%E2%82%AC"),
    "path given apart": ({"method": "POST", "path": "/b/\u20ac", "url": "http://x/b/\u20ac?q=\u00e9",
                          "body": "x"}, b"/app/%E2%82%AC?q=%C3%A9"),
    # characters U+0080..U+00FF alone: text too in a line written by hand (no "id")
    "latin-1 letter alone": ({"method": "POST", "url": "http://x/b/p?q=\u00fc", "body": "x"},
                             b"/app/p?q=%C3%BC"),
    "latin-1 path given apart": ({"method": "POST", "path": "/b/caf\u00e9",
                                  "url": "http://x/b/caf\u00e9?q=\u00e9", "body": "x"},
                                 b"/app/caf%C3%A9?q=%C3%A9"),
    "path alone": ({"method": "POST", "path": "/b/\u00fc/x", "body": "x"}, b"/app/%C3%BC/x"),
}


@pytest.mark.parametrize("name", list(JSONL))
def test_replay_and_curl_of_a_hand_written_jsonl_iri(tmp_path: Path, name: str) -> None:
    line, sent = JSONL[name]
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({**line, "received_at": "2026-01-01T00:00:00Z", "status": 200})
                    + "\n", encoding="utf-8")
    old = hooklab.load_jsonl(path)
    try:
        (cap,) = old.captures
        with Recorder() as app:
            got = replayed_and_curled(old, cap, app)
    finally:
        old.stop()
    assert [_target(g) for g in got] == [sent] * len(got)


#: request targets as senders put them on the wire: a byte past ASCII is a byte
RECEIVED = {
    "raw utf-8": b"/b/caf\xc3\xa9?q=\xc3\xbc",
    "latin-1 byte": b"/b/p?q=\xfc",
    "not utf-8": b"/b/\xff\xfe?r=\x80",
    "escaped and raw": b"/b/%C3%A9\xc3\xa9?q=%FC\xfc",
}


@pytest.mark.parametrize("name", list(RECEIVED))
def test_a_received_target_still_goes_back_byte_for_byte(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    target = RECEIVED[name]
    suffix = target[len(b"/b"):]
    with Recorder() as app:
        lab.forward("b", to=app.url + "/app")
        head = (b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                b"Connection: close\r\n\r\nx")
        assert b" 200 " in raw_request(lab.bound_port, head).split(b"\r\n", 1)[0]
        (cap,) = lab.wait(1, timeout=10)
        forwarded = app.wait(1)[0]
        got = replayed_and_curled(lab, cap, app, before=1)
    assert _target(forwarded) == b"/app" + suffix
    assert [_target(g) for g in got] == [b"/app" + suffix] * len(got)


def test_a_hand_written_line_keeps_its_host_as_written(tmp_path: Path) -> None:
    """The JSON Lines import percent-encodes a hand-written URL's path and query, not its
    host (``bücher.example`` became ``b%C3%BCcher.example``), as the HAR import does."""
    line = {"method": "POST", "url": "http://b\u00fccher.example/b/x?q=\u00fc", "body": "x",
            "received_at": "2026-01-01T00:00:00Z", "status": 200}
    path = tmp_path / "h.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    har = tmp_path / "h.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [{
        "startedDateTime": "2026-01-01T00:00:00Z",
        "request": {"method": "POST", "url": line["url"], "headers": [],
                    "postData": {"mimeType": "text/plain", "text": "x"}},
        "response": {"status": 200}}]}}), encoding="utf-8")
    for lab in (hooklab.load_jsonl(path), hooklab.load_har(har)):
        try:
            (cap,) = lab.captures
            assert (cap.url, cap.path, cap.query) == (
                "http://b\u00fccher.example/b/x?q=%C3%BC", "/b/x", {"q": ["\u00fc"]})
        finally:
            lab.stop()
