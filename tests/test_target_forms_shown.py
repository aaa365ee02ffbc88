"""A request target reads as its bytes whatever ``://`` it holds in its path or query.

A target is shown with its bytes read as UTF-8 (a byte that is none as ``%XX``), a URL's
scheme, host and port as written. The function that reads it took any ``://`` in the target
for a URL's scheme and read only the bytes after it, so ``POST /hook/café?next=https://x/``
printed ``refused POST /hook/cafÃ©?next=...`` and ``POST /relay/café/https://x/y`` printed
``POST /relay/cafÃ©/https://x/y`` on ``hooklab serve``'s lines (Details title and
``lab.wait``'s message alike). Now a target is a URL only when it starts with its scheme
(absolute-form); origin-form (``/...``), asterisk-form (``*``) and authority-form
(CONNECT's ``host:port``) are bytes from their first character.

Raw requests over real sockets on 127.0.0.1: to a ``hooklab serve`` subprocess (its capture
and refusal lines) and to a lab on a real SQLite file (``lab.wait``'s message, the live
view's Details title).
"""

from __future__ import annotations

import html
import re
import socket
from pathlib import Path

import pytest
from _serve_lines import gather, serve

import hooklab
from hooklab.capture import target_as_sent

#: (request target as sent, as a person reads it) -- worked out by hand: C3 A9 is é,
#: FF and a lone E9 are no UTF-8 (%FF, %E9); ``{url}`` is the server's own http://127.0.0.1:port
TARGETS: list[tuple[bytes, str]] = [
    (b"/hook/caf\xc3\xa9?next=https://example.com/", "/hook/caf\u00e9?next=https://example.com/"),
    (b"/relay/caf\xc3\xa9/https://example.com/x", "/relay/caf\u00e9/https://example.com/x"),
    (b"/r/\xff/http://h/\xc3\xa9", "/r/%FF/http://h/\u00e9"),          # both sides of ://
    (b"/r/\xc3\xa9://h?q=\xe9", "/r/\u00e9://h?q=%E9"),                 # :// with no path after
    (b"//r/caf\xc3\xa9/ftp://h", "//r/caf\u00e9/ftp://h"),              # origin-form, two slashes
    (b"/r/x?u=svn+ssh://h/\xc3\xa9\xff", "/r/x?u=svn+ssh://h/\u00e9%FF"),
    (b"{url}/r/caf\xc3\xa9?next=https://x/\xc3\xa9", "{url}/r/caf\u00e9?next=https://x/\u00e9"),
    (b"/r/plain?next=https://example.com/", "/r/plain?next=https://example.com/"),  # ASCII
]
IDS = ["query-url", "path-url", "ff-before", "no-path-after", "double-slash", "scheme-chars",
       "absolute-form", "ascii"]


def _send(port: int, method: bytes, target: bytes, body: bytes = b"{}") -> bytes:
    """One raw request; the status line answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(method + b" " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        s.settimeout(10)
        got = b""
        for _ in range(1000):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    return got.split(b"\r\n", 1)[0]


def _filled(port: int, target: bytes, shown: str) -> tuple[bytes, str]:
    url = f"http://127.0.0.1:{port}"
    return target.replace(b"{url}", url.encode()), shown.replace("{url}", url)


def _path(shown: str) -> str:
    """The path a capture line shows: a URL's own target, without its query (kept apart)."""
    return re.sub(r"^http://[^/]+", "", shown).split("?", 1)[0]


@pytest.mark.parametrize(("target", "shown"), [
    *TARGETS[:-2],
    (b"caf\xc3\xa9.example:443", "caf\u00e9.example:443"),   # authority-form (CONNECT)
    (b"x\xff:8443", "x%FF:8443"),
    (b"*", "*"),                                              # asterisk-form
    (b"/\xc3\xa9://", "/\u00e9://"),
    (b"1http://h/\xc3\xa9", "1http://h/\u00e9"),              # a scheme starts with a letter
    (b"http://127.0.0.1:5000/a/caf\xc3\xa9?u=https://h/\xff", "http://127.0.0.1:5000/a/caf\u00e9?u=https://h/%FF"),
    (b"HTTPS://h/caf\xc3\xa9", "HTTPS://h/caf\u00e9"),
])
def test_target_as_sent(target: bytes, shown: str) -> None:
    assert target_as_sent(target.decode("latin-1")) == shown


def test_serve_lines_read_the_whole_target(tmp_path: Path) -> None:
    said: list[str] = []
    refused: list[str] = []
    with serve("--port", "0", "--db", str(tmp_path / "s.sqlite3"), "--max-body", "10") as (lines, errs):
        m = re.search(r"http://127\.0\.0\.1:(\d+)", lines.get(timeout=30))
        assert m
        port = int(m.group(1))
        table = [_filled(port, t, s) for t, s in TARGETS]
        for target, _ in table:
            assert _send(port, b"POST", target) == b"HTTP/1.1 200 OK"
            assert _send(port, b"POST", target, b"x" * 50).startswith(b"HTTP/1.1 413 ")
        assert _send(port, b"OPTIONS", b"*") == b"HTTP/1.1 200 OK"
        gather([(lines, said), (errs, refused)],
               lambda: len(said) > len(table) and len(refused) >= len(table))
    captured = [x for x in said if re.match(r"#\d+ \d\d:\d\d:\d\d\.\d+Z ", x)]
    refused = [x for x in refused if " refused " in x]
    assert len(captured) == len(table) + 1 and len(refused) == len(table), (said, refused)
    for (_, shown), cap_line, ref_line in zip(table, captured[:-1], refused, strict=True):
        assert f" POST {_path(shown)} -> 200 " in cap_line, (shown, cap_line)
        assert ref_line.startswith(f"hooklab: refused POST {shown} from 127.0.0.1: 413"), \
            (shown, ref_line)
        assert "\u00c3" not in cap_line + ref_line  # (Ã: a UTF-8 byte read as Latin-1)
    assert " OPTIONS * -> 200 " in captured[-1], captured[-1]


def test_wait_message_and_details_title_read_the_whole_target(tmp_path: Path) -> None:
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "v.sqlite3")).start()
    view = None
    try:
        table = [_filled(lab.bound_port, t, s) for t, s in TARGETS]
        for target, _ in table:
            assert _send(lab.bound_port, b"POST", target) == b"HTTP/1.1 200 OK"
        caps = lab.wait(len(table), timeout=10)
        with pytest.raises(TimeoutError) as err:  # (its message lists the newest captures)
            lab.wait(1, timeout=0.2, bin="nothing-here")
        said = str(err.value)
        view = lab.live()
        for (_, shown), cap in zip(table, caps, strict=True):
            path = _path(shown)
            assert re.search(f"#{cap.id} POST {re.escape(path)}(, |$)", said), (path, said)
            view.select(cap.id)
            detail = html.unescape(view.detail.value)
            assert f"#{cap.id} POST {path}<" in detail, (path, detail[:300])
        assert "\u00c3" not in said
    finally:
        if view is not None:
            view.close()
        lab.stop()
