"""The table of ``X-GitHub-Event`` values the tests of the stream page's event cell send as raw
bytes (tests/test_stream_event_read.py, tests/browser/test_stream_page_events.py): what the
live view and ``hooklab serve`` show of them (tests/test_cli_serve_utf8.py), the page shows."""

from __future__ import annotations

LONG = "\u00fc" * 3000  # (6,000 bytes of UTF-8)

# name: (the header's bytes, the body, the event type stored (a header a character a byte),
#        the event type read (the stream's ``event_read``, or its ``event_type`` where they
#        are the same), what the event cell shows of it (escaped))
CASES: dict[str, tuple[bytes, bytes, str, str, str]] = {
    "ascii": (b"push", b"{}", "push", "push", "push"),
    "café as UTF-8": ("café".encode(), b"{}", "caf\u00c3\u00a9", "café", "café"),
    "CJK as UTF-8": (
        "プッシュ".encode(), b"{}", "プッシュ".encode().decode("latin-1"), "プッシュ", "プッシュ"),
    "café and the body's action": (
        "café".encode(), b'{"action": "opened"}', "caf\u00c3\u00a9.opened", "café.opened",
        "café.opened"),
    # the body's part is text already: never read again ("Ã©" there stays "Ã©")
    "café and an action that looks like Latin-1": (
        "café".encode(), b'{"action": "\\u00c3\\u00a9"}', "caf\u00c3\u00a9.\u00c3\u00a9",
        "café.\u00c3\u00a9", "café.\u00c3\u00a9"),
    # invalid UTF-8: a character a byte, as the live view shows it (a C1 control escaped)
    "invalid: 0xff 0xfe": (
        b"\xff\xfepush", b"{}", "\u00ff\u00fepush", "\u00ff\u00fepush", "\u00ff\u00fepush"),
    "invalid: a cut sequence": (
        b"\xe2\x80x", b"{}", "\u00e2\x80x", "\u00e2\x80x", "\u00e2\\x80x"),
    "invalid: UTF-8, then 0xff": (
        "é".encode() + b"\xff", b"{}", "\u00c3\u00a9\u00ff", "\u00c3\u00a9\u00ff",
        "\u00c3\u00a9\u00ff"),
    "invalid: Latin-1 é": (b"caf\xe9", b"{}", "caf\u00e9", "caf\u00e9", "caf\u00e9"),
    # read as UTF-8, then escaped: one U+202E, not three Latin-1 characters
    "RIGHT-TO-LEFT OVERRIDE as UTF-8": (
        "\u202epush".encode(), b"{}", "\u00e2\x80\u00aepush", "\u202epush", "\\u202epush"),
    "a C1 control as UTF-8": (b"a\xc2\x9bb", b"{}", "a\u00c2\x9bb", "a\x9bb", "a\\x9bb"),
    "HTML: a script": (
        b"<script>window.__xss=1</script>", b"{}", "<script>window.__xss=1</script>",
        "<script>window.__xss=1</script>", "<script>window.__xss=1</script>"),
    "HTML: an image, as UTF-8 too": (
        '<img src=x onerror="window.__xss=2">é'.encode(), b"{}",
        '<img src=x onerror="window.__xss=2">\u00c3\u00a9',
        '<img src=x onerror="window.__xss=2">é', '<img src=x onerror="window.__xss=2">é'),
    "very long, as UTF-8": (LONG.encode(), b"{}", LONG.encode().decode("latin-1"), LONG, LONG),
}
#: what never reaches a cell as it is
RAW_MARKS = ("\u202e", "\x9b", "\x80")


def request(event: bytes, body: bytes) -> bytes:
    """A POST to the github bin whose ``X-GitHub-Event`` is ``event``, as bytes."""
    return (b"POST /github HTTP/1.1\r\nHost: 127.0.0.1\r\nX-GitHub-Event: " + event
            + b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n" % len(body) + body)
