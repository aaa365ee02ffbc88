"""The table of request paths the tests of shown paths send as raw bytes (tests/
test_path_shown_utf8.py, tests/browser/test_stream_page_paths.py)."""

from __future__ import annotations

# name: (request target as sent, what the serve line and the Details title show of the path,
#        what the live view's bin/path column shows). Paths are short: the column is not cut.
CASES: dict[str, tuple[bytes, str, str]] = {
    "raw utf-8 é": (b"/\xc3\xa9t\xc3\xa9/x", "/\u00e9t\u00e9/x", "\u00e9t\u00e9/x"),
    "raw cjk": ("/\u6771\u4eac/z".encode(), "/\u6771\u4eac/z", "\u6771\u4eac/z"),
    "raw emoji": ("/\U0001f680-hooks/y".encode(), "/\U0001f680-hooks/y", "\U0001f680-hooks/y"),
    # U+202E (RIGHT-TO-LEFT OVERRIDE) would show "b/x" reversed: escaped, one character
    "raw rtl override": ("/a\u202eb/x".encode(), "/a\\u202eb/x", "a\\u202eb/x"),
    # (a C1 CSI, as UTF-8: a terminal's escape sequence; escaped)
    "raw utf-8 c1 control": (b"/a\xc2\x9bb/x", "/a\\x9bb/x", "a\\x9bb/x"),
    "raw zero-width space": ("/a\u200bb".encode(), "/a\\u200bb", "a\\u200bb"),
    # a byte that is no UTF-8: %XX (hooklab.capture.target_as_sent), never a Latin-1
    # character (a lone 0xE9 read "é", as the UTF-8 C3 A9 does: two paths shown alike)
    "lone 0xff": (b"/\xff/x", "/%FF/x", "%FF/x"),
    "overlong c0 af": (b"/\xc0\xaf/x", "/%C0%AF/x", "%C0%AF/x"),
    "latin-1 é": (b"/caf\xe9/x", "/caf%E9/x", "caf%E9/x"),
    "raw 0x85 (latin-1 c1)": (b"/a\x85b", "/a%85b", "a%85b"),
    "cut utf-8 sequence": (b"/\xe2\x80x", "/%E2%80x", "%E2%80x"),
    # UTF-8 then a byte that is none: the UTF-8 read, the other byte %XX
    "utf-8 then 0xff": (b"/\xc3\xa9\xff/x", "/\u00e9%FF/x", "\u00e9%FF/x"),
    # percent-encoded, for contrast: the line and title show the escapes as sent, the column
    # reads them, as it did
    "percent-encoded é": (b"/%C3%A9t%C3%A9/x", "/%C3%A9t%C3%A9/x", "\u00e9t\u00e9/x"),
    "percent-encoded rtl override": (b"/%E2%80%AE/x", "/%E2%80%AE/x", "\\u202e/x"),
    "raw é and an escape": (b"/\xc3\xa9%C3%A9/x", "/\u00e9%C3%A9/x", "\u00e9\u00e9/x"),
    "ascii": (b"/plain/x", "/plain/x", "plain/x"),
}
RAW_MARKS = ("\u202e", "\u200b", "\x9b", "\x85")  # never shown as they are


def request(target: bytes) -> bytes:
    """A whole request for ``target``, sent byte for byte (no client-side quoting)."""
    return (b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
