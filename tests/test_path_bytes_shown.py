"""A received or forwarded path reads as its bytes, wherever a person reads it.

A request target is stored a character a byte (so replay and forward send its bytes). Shown,
its UTF-8 was read where the whole of it was UTF-8 and left as Latin-1 characters where it
was not: ``/\\xc3\\xa9\\xff`` read ``/Ã©ÿ`` on ``hooklab serve``'s capture and forward lines,
in the live view (the table, the Details title, the Forwarded table) and in ``lab.wait``'s
failure message, and a lone byte 0xE9 read ``é`` (as raw UTF-8 ``é`` did). Now each reads as
the repr of a send or replay result reads its URL: the bytes as UTF-8 where they are UTF-8,
``%XX`` for a byte that is not, escapes as they came. What is stored, forwarded and
``lab.forwards()`` returns is unchanged (tests/test_forward_target_text.py).

Raw requests over real sockets on 127.0.0.1 to a lab on a real SQLite file, forwarding to a
raw recording app; ``hooklab serve`` as a subprocess for its printed lines.
"""

from __future__ import annotations

import html
import re
import socket
from pathlib import Path

import pytest
from _rawrecord import Recorder
from _serve_lines import gather, serve
from test_forward_target_text import _sent_target, app  # noqa: F401 - the app fixture

import hooklab

#: (the request target after /q, as sent; how a person reads it, worked out by hand from the
#: UTF-8 tables: C3 A9 is é, E6 97 A5 is 日, C3 BC is ü; FF, FE, a lone E9 are no UTF-8)
TARGETS: list[tuple[bytes, str]] = [
    (b"/\xc3\xa9\xff", "/\u00e9%FF"),                       # UTF-8, then a byte that is not
    (b"/\xe9", "/%E9"),                                     # a lone Latin-1 é: no UTF-8
    (b"/\xff\xfe", "/%FF%FE"),
    (b"/caf\xc3\xa9?w=\xc3\xa9", "/caf\u00e9?w=\u00e9"),    # all UTF-8: its characters
    (b"/\xe6\x97\xa5?q=\xfc", "/\u65e5?q=%FC"),              # the query's byte is none
    (b"/x%C3%A9\xe9", "/x%C3%A9%E9"),                       # an escape as it came, a byte not
    (b"/a/b?x=1", "/a/b?x=1"),                              # ASCII: as before
]
IDS = ["utf8-then-ff", "lone-e9", "ff-fe", "utf8", "cjk-query-byte", "escape-and-byte", "ascii"]


def _post(port: int, target: bytes, body: bytes = b"{}") -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /q" + target + b" HTTP/1.1\r\nHost: h\r\nContent-Type: application/json"
                  b"\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        s.settimeout(10)
        for _ in range(1000):
            if not s.recv(65536):
                break


def test_the_live_view_and_lab_messages_read_the_bytes(app: Recorder, tmp_path: Path) -> None:  # noqa: F811
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "v.sqlite3")).start()
    view = None
    try:
        lab.forward("q", to=app.url + "/t")
        for i, (target, _) in enumerate(TARGETS):
            _post(lab.bound_port, target)
            app.wait(i + 1)
        got = app.wait(len(TARGETS))
        assert lab.store.wait_for(lambda: len(lab.forwards()) == len(TARGETS), timeout=20)
        caps = lab.wait(len(TARGETS), timeout=10)
        with pytest.raises(TimeoutError) as err:  # (its message lists the newest captures)
            lab.wait(1, timeout=0.2, bin="nothing-here")
        said = str(err.value)
        view = lab.live()
        rows = {cid: label for label, cid in view.table.options}
        for (target, shown), raw, cap in zip(TARGETS, got, caps, strict=True):
            assert _sent_target(raw) == b"/t" + target  # (the bytes forwarded, exactly)
            path = shown.split("?", 1)[0]  # (a capture's path: its query is apart)
            assert re.search(f"#{cap.id} POST {re.escape('/q' + path)}(, |$)", said), (path, said)
            row = rows[cap.id]
            if b"%" not in target:  # (the table undoes escapes: a UTF-8 one reads é)
                assert f" q{path} " in row, (path, row)
            view.select(cap.id)
            detail = html.unescape(view.detail.value)
            assert f"#{cap.id} POST /q{path}<" in detail, (path, detail[:300])
            assert f">{app.url}/t{shown}<" in detail, (shown, detail)  # the Forwarded table
            for wrong in ("\u00c3", "\u00ff", "\u00fe", "\u00fc"):  # (Ã ÿ þ ü: Latin-1 bytes)
                assert wrong not in detail.split("<h4>Headers")[0], (shown, wrong)
        assert "/q/\u00e9" not in said.replace("/q/\u00e9%FF", "")  # (the lone 0xE9: %E9)
    finally:
        if view is not None:
            view.close()
        lab.stop()


def test_serve_lines_read_the_bytes(app: Recorder, tmp_path: Path) -> None:  # noqa: F811
    said: list[str] = []
    refused: list[str] = []
    with serve("--port", "0", "--db", str(tmp_path / "s.sqlite3"), "--max-body", "100",
               "--forward", f"q={app.url}/t") as (lines, errs):
        first = lines.get(timeout=30)
        m = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert m, first
        port = int(m.group(1))
        for i, (target, _) in enumerate(TARGETS):
            _post(port, target)
            app.wait(i + 1)
        _post(port, b"/\xc3\xa9\xff", b"x" * 200)  # (past --max-body: a refusal line)
        gather([(lines, said)], lambda: sum("forwarded to" in x for x in said) >= len(TARGETS))
        gather([(errs, refused)], lambda: any("refused" in x for x in refused))
    refused = [x for x in refused if "refused" in x][:1] or [""]
    captured = [x for x in said if re.match(r"#\d+ \d\d:\d\d:\d\d\.\d+Z POST ", x)]
    # (in capture order: a forward's line comes when its outcome is stored, and four workers
    # may store #2's before #1's on a loaded machine)
    forwarded = sorted((x for x in said if "forwarded to" in x),
                       key=lambda x: int(re.match(r"#(\d+) ", x).group(1)))  # type: ignore[union-attr]
    assert len(captured) == len(forwarded) == len(TARGETS), said
    for (_, shown), cap_line, fwd_line in zip(TARGETS, captured, forwarded, strict=True):
        path = shown.split("?", 1)[0]  # (a capture's path: its query is apart)
        assert f" POST /q{path} -> 200 " in cap_line, (path, cap_line)
        assert f" forwarded to {app.url}/t{shown}: 200 in " in fwd_line, (shown, fwd_line)
    assert refused[0].startswith("hooklab: refused POST /q/\u00e9%FF from 127.0.0.1: 413"), refused
