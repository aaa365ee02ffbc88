"""``hooklab serve``'s line for a capture reads an event type taken from a header as UTF-8,
as the live view and the stream page read header values: ``X-GitHub-Event`` holding U+202E
was printed ``github/â\\x80®push`` (the Latin-1 text the store keeps of the bytes). Control,
bidi and invisible characters are escaped as before (a U+202E never reaches the terminal
raw), and bytes that are no UTF-8 are shown as Latin-1, as before."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from _http import raw_request
from test_cli import ENV, EXE, _as_from_a_terminal, _Lines, _stop

CASES = [
    # (the X-GitHub-Event bytes, the body, what the line says after "github/")
    (b"push", b"{}", "push"),
    ("café".encode(), b"{}", "café"),
    ("プッシュ".encode(), b"{}", "プッシュ"),
    ("\u202epush".encode(), b"{}", "\\u202epush"),
    ("naïve\u202e\u200b".encode(), b"{}", "naïve\\u202e\\u200b"),
    ("café".encode(), b'{"action": "opened"}', "café.opened"),
    ("\u202epush".encode(), b'{"action": "cl\\u00e9"}', "\\u202epush.clé"),
    (b"\xff\xfepush", b"{}", "ÿþpush"),              # no UTF-8: Latin-1, as before
    (b"caf\xe9", b"{}", "café"),                      # Latin-1 é: as before
    (b"\xe2\x80x", b"{}", "â\\x80x"),                 # a cut UTF-8 sequence: as before
    ("é".encode() + b"\xff", b"{}", "Ã©ÿ"),           # UTF-8, then a byte that is none
    # what prints as nothing though Python calls it printable (the second review): Hangul
    # fillers, the combining grapheme joiner, a run of variation selectors (one after a
    # heart is how the red heart is written: kept)
    ("x\u3164\u115f\u1160\uffa0y".encode(), b"{}", "x\\u3164\\u115f\\u1160\\uffa0y"),
    ("x\u034f\u17b4y".encode(), b"{}", "x\\u034f\\u17b4y"),
    ("x\ufe0f\ufe0f\ufe0fy".encode(), b"{}", "x\ufe0f\\ufe0f\\ufe0fy"),  # (from the 2nd)
    ("\u2764\ufe0f\ufe0f".encode(), b"{}", "\u2764\ufe0f\\ufe0f"),
    ("x\U000e0041y".encode(), b"{}", "x\\U000e0041y"),  # (a tag character: ASCII smuggling)
]


def _request(event: bytes, body: bytes) -> bytes:
    """A POST to the github bin whose ``X-GitHub-Event`` is ``event``, as bytes."""
    return (b"POST /github HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: " + event
            + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n" % len(body) + body)


def serve_lines(tmp_path: Path, requests: list[bytes]) -> tuple[list[str], list[str]]:
    """``hooklab serve`` (its output read as UTF-8) sent each raw request in turn, each
    answered 200: the line it printed for each capture, and every line it printed."""
    proc = subprocess.Popen(
        [EXE, "serve", "--port", "0", "--db", str(tmp_path / "c.sqlite3")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
        env={**ENV, "PYTHONIOENCODING": "utf-8"}, preexec_fn=_as_from_a_terminal)  # noqa: PLW1509
    try:
        out = _Lines(proc.stdout)
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", out.next()).group(1))  # type: ignore[union-attr]
        lines = []
        for n, request in enumerate(requests, 1):
            assert raw_request(port, request).startswith(b"HTTP/1.1 200"), request
            line = out.next()
            assert line.startswith(f"#{n} "), line
            lines.append(line.rstrip("\n"))
    finally:
        _stop(proc, read=False)
    return lines, out.all


def test_serve_shows_header_event_types_as_utf8(tmp_path: Path) -> None:
    lines, every = serve_lines(tmp_path, [_request(event, body) for event, body, _ in CASES])
    got = [line.split(" github/", 1)[-1] for line in lines]
    assert got == [want for _, _, want in CASES]
    assert not any(ch in line for line in every
                   for ch in ("\u202e", "\u200b", "\u3164", "\u034f", "\ufe0f\ufe0f"))
