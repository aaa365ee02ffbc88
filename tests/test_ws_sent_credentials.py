"""Credentials a recording sends, as ``hooklab.ws.record`` keeps them out of what it stores:
a URL whose user name is the key (``ws://sk_live_...:@host``, Stripe's documented form), a
cookie's values, a token offered as a subprotocol, and the server's answers echoing any of
them however they are spelt (a reason phrase, percent-, JSON- or HTML-escaped, past the 64 KiB
a refusal's body is cut at, deflate-compressed); and what a short credential must not
destroy (``?token=test`` inside ``contest``). Real raw servers on 127.0.0.1
(tests/test_ws_hostile.py), real SQLite files."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from test_ws_hostile import _hostile
from test_ws_refusal import _refuses

from hooklab import HookLab, ws


def _stored_text(lab: HookLab, summary: ws.RecordSummary, tmp_path: Path) -> str:
    """Everything a recording left behind, as text: its captures (url, query, headers,
    body), its summary, the JSON Lines and HAR exports and the database file."""
    lab.export(tmp_path / "out.jsonl", fmt="jsonl")
    lab.export(tmp_path / "out.har", fmt="har")
    caps = lab.query(kind="ws")
    parts = [repr(summary)] + [repr((c.url, c.query, c.headers)) + c.body.decode("latin-1")
                               for c in caps]
    parts += [(tmp_path / n).read_text("utf-8") for n in ("out.jsonl", "out.har")]
    return "\n".join(parts)


KEY = "sk_live_51HxUSERNAMEKEY"


@pytest.mark.parametrize("userinfo, recorded, basic", [
    # the key as the user name, an empty password (curl -u KEY: ; Stripe's docs)
    (f"{KEY}:", "%5Bsecret%5D", f"{KEY}:"),
    (f"{KEY}", "%5Bsecret%5D", f"{KEY}:"),  # (no colon at all: the same request)
    ("sk_live_51Hx%55SERNAMEKEY:", "%5Bsecret%5D", f"{KEY}:"),  # (percent-encoded: U)
    # a password: the user name stays, as a forward target's does
    (f"alice:{KEY}", "alice:%5Bsecret%5D", f"alice:{KEY}"),
    (f":{KEY}", ":%5Bsecret%5D", f":{KEY}"),
], ids=["user-empty-password", "user-alone", "user-encoded", "user-password", "password-alone"])
def test_a_key_given_as_the_urls_user_name_is_not_stored(
        file_lab: HookLab, tmp_path: Path, userinfo: str, recorded: str, basic: str) -> None:
    with _hostile(_refuses(b"HTTP/1.1 401 Unauthorized\r\n", b"nope")) as (base, seen):
        host = base.removeprefix("ws://")
        summary = ws.record(f"ws://{userinfo}@{host}/feed?q=1", lab=file_lab, duration=10,
                            connect_timeout=5)
    # sent as curl sends it: Basic base64("user:password"), percent-decoded
    assert b"Authorization: Basic " + base64.b64encode(basic.encode()) in seen.requests[0]
    (cap,) = file_lab.query(kind="ws")
    assert cap.url == summary.url == f"ws://{recorded}@{host}/feed?q=1"
    assert "USERNAMEKEY" not in _stored_text(file_lab, summary, tmp_path)
    file_lab.stop()
    for path in tmp_path.glob("captures.sqlite3*"):  # (the database, its WAL if any)
        assert b"USERNAMEKEY" not in path.read_bytes(), path.name
