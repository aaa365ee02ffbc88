"""Copy as curl: the request target (path and query) goes into the command as printable ASCII
and real curl sends the captured bytes back exactly (a lab on 127.0.0.1, a real shell)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from _http import raw_request

import hooklab
from hooklab.capture import Capture
from hooklab.export import to_curl

needs_curl = pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None,
                                reason="curl and bash needed")


def _target_bytes(cap: Capture) -> bytes:
    """The request target as the server read it (a character a byte)."""
    query = urlsplit(cap.url).query if cap.url else ""
    return (cap.path + (f"?{query}" if query else "")).encode("latin-1")


def _run(cmd: str) -> None:
    # as a person pasting it into a UTF-8 terminal runs it
    subprocess.run(["bash", "-c", cmd + " -s -o /dev/null"], check=True, timeout=20,
                   env={**os.environ, "LC_ALL": "C.UTF-8"})


def _resend(lab: hooklab.HookLab, cap: Capture) -> Capture:
    """Run ``cap``'s command against ``lab``; the capture it makes there."""
    before = len(lab.captures)
    cmd = to_curl(cap, base=lab.url)
    # nothing a terminal acts on: no C0/C1 control, DEL, bidi or zero-width character
    assert cmd.isascii() and cmd.isprintable(), cmd
    _run(cmd)
    return lab.wait(before + 1, timeout=10)[-1]


RECEIVED = {  # request targets a sender can put on the wire (a byte past ASCII is a byte)
    "c1-csi": b"/c/x\x9b31m\xc3\xa9",
    "not-utf8": b"/c/\xff\xfe\x80?q=\xff&r=\xc3",
    "bidi-utf8": "/c/\u202e\u2066;hs.tlits\u2069?n=\u202e".encode(),
    "zero-width": "/c/zero\u200bwidth?q=\u200d\ufeff".encode(),
    "c1-in-query": b"/c/q?a=\x85\x9b\x9d&b=%9b",
    "percent": b"/c/100%25%zz%?q=%&r=%00%0d%0a",
    "quotes-shell": b"/c/it's\"q\"?a='$(id)'&b=`x`&c=$HOME&d=\\",
    "dash-brackets": b"/c/-v/[1]/{a,b}?q=[x]&-d=1",
    "dot-and-c1": b"/c/../\x9b",
}


@needs_curl
@pytest.mark.parametrize("name", list(RECEIVED))
def test_copy_as_curl_resends_a_received_target_byte_for_byte(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    """(eighth attacker) A path received as ``/gh/x\\x9b31m\\xc3\\xa9`` went into the command as
    characters (the C1 CSI among them), and curl sent ``/gh/x%c2%9b31m%c3%83%c2%a9``."""
    target = RECEIVED[name]
    head = (b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\n{}")
    assert b" 200 " in raw_request(lab.bound_port, head).split(b"\r\n")[0]
    (cap,) = lab.wait(1, timeout=10)
    assert _target_bytes(cap) == target
    again = _resend(lab, cap)
    assert _target_bytes(again) == target and again.body == b"{}"
    assert (again.path, again.query) == (cap.path, cap.query)


def _har(tmp_path: Path, url: str) -> Path:
    entry = {
        "startedDateTime": "2026-01-01T00:00:00.000Z", "time": 0,
        "request": {"method": "POST", "url": url, "httpVersion": "HTTP/1.1", "headers": [],
                    "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                     "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "x"},
                     "redirectURL": "", "headersSize": -1, "bodySize": 0},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0}}
    p = tmp_path / "h.har"
    p.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "x", "version": "1"},
                                     "entries": [entry]}}))
    return p


@needs_curl
@pytest.mark.parametrize(("url", "sent"), [
    # a hostile file: bidi controls make the command read otherwise than it runs
    ("http://h/gh/\u202e\u2066;hs.tlits\u2069", b"/gh/%E2%80%AE%E2%81%A6;hs.tlits%E2%81%A9"),
    ("http://h/gh/x?q=\u200b\u2067", b"/gh/x?q=%E2%80%8B%E2%81%A7"),
    # C1 controls and latin-1 characters: a HAR's URL is text (an IRI), sent as a browser
    # sends it, UTF-8 percent-encoded (they went one byte each, as a received target's bytes)
    ("http://h/gh/\u009b31m\u0085?a=\u00e9", b"/gh/%C2%9B31m%C2%85?a=%C3%A9"),
    ("http://h/gh/caf\u00e9%20x?q='\"", b"/gh/caf%C3%A9%20x?q='\""),
])
def test_copy_as_curl_of_an_imported_har_sends_its_target_without_showing_controls(
        lab, tmp_path: Path, url: str, sent: bytes) -> None:  # type: ignore[no-untyped-def]
    imported = hooklab.load_har(_har(tmp_path, url))
    try:
        (cap,) = imported.captures
    finally:
        imported.stop()
    again = _resend(lab, cap)
    assert _target_bytes(again) == sent


@pytest.mark.parametrize(("query", "shown"), [
    # never in a received target (a space, C0, DEL; CR LF would end the request line): a
    # capture made by hand or read from an altered database gets them percent-encoded
    ("a=b c", "a=b%20c"),
    ("a=\r\nX-Injected: 1", "a=X-Injected:%201"),  # (urlsplit drops CR, LF and tab)
    ("a=\x01\x1b[31m\x7f", "a=%01%1B[31m%7F"),
    ("a=\t\x0b", "a=%0B"),
])
def test_controls_in_a_stored_query_are_percent_encoded(query: str, shown: str) -> None:
    cap = Capture(1, datetime.now(timezone.utc), "POST", "/c/x", url=f"http://h/c/x?{query}")
    cmd = to_curl(cap, base="http://127.0.0.1:9")
    assert cmd.isascii() and cmd.isprintable(), cmd
    assert shlex.split(cmd)[4] == f"http://127.0.0.1:9/c/x?{shown}"


def test_a_printable_ascii_target_stays_in_the_url() -> None:
    """The common case reads as before: the whole URL, no ``--request-target``."""
    cap = Capture(1, datetime.now(timezone.utc), "POST", "/gh/x", url="http://h/gh/x?a=%C3%A9")
    argv = shlex.split(to_curl(cap, url="http://127.0.0.1:9/app"))
    assert argv[4] == "http://127.0.0.1:9/app/x?a=%C3%A9" and "--request-target" not in argv
    cap = Capture(1, datetime.now(timezone.utc), "POST", "/gh/\xe9", url="http://h/gh/\xe9")
    argv = shlex.split(to_curl(cap, url="http://127.0.0.1:9/app"))
    assert argv[4] == "http://127.0.0.1:9" and argv[7:9] == [
        "--request-target", "$(printf '/app/\\351')"]
    lines = to_curl(cap, url="http://127.0.0.1:9/app", multiline=True).splitlines()
    assert lines[2:] == ["  --request-target \"$(printf '/app/\\351')\" \\",  # (an option a
                         "  -H User-Agent: \\", "  -H Accept:"]  # line; curl's own left out)
