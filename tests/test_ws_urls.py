"""The URL ``hooklab.ws.record`` connects to: one with a space or a control character is
refused before connecting (as ``hooklab.send`` refuses it: urlsplit drops a tab, CR or LF,
and a space or NUL went out raw in the request line), the message without the URL's
credentials; a scheme in any letter case is ws / wss (RFC 3986 3.1). Real raw WebSocket
servers on 127.0.0.1 (tests/test_ws_hostile.py)."""

from __future__ import annotations

import pytest
from test_ws_hostile import _greet, _hostile

from hooklab import HookLab, ws


@pytest.mark.parametrize("tail, said", [
    ("/fe ed", "holds a space at character"),
    ("/feed?q=a b", "holds a space at character"),
    ("/feed\r\nX-Injected: yes", "holds the control character U+000D"),
    ("/feed\nX-Injected: yes", "holds the control character U+000A"),
    ("/fe\ted", "holds the control character U+0009"),  # (went out as /feed)
    ("/feed?x=\x00", "holds the control character U+0000"),
    ("/feed\x7f", "holds the control character U+007F"),
    ("/feed#a\x1bb", "holds the control character U+001B"),
    ("/feed ", "holds a space"),  # (after the URL: a slip to remove, not to percent-encode)
])
def test_a_url_with_a_space_or_a_control_character_is_refused_before_connecting(
        lab: HookLab, tail: str, said: str) -> None:
    with _hostile(_greet) as (base, seen):
        host = base.removeprefix("ws://")
        for userinfo in ("", "alice:pw_TOPSECRET@"):
            url = f"ws://{userinfo}{host}{tail}"
            for start in (ws.record, ws.start_recording):
                fix = "remove it" if tail.endswith(" ") else "percent-encode it"
                with pytest.raises(ValueError, match=fix) as raised:
                    start(url, lab=lab, duration=5)
                assert said in str(raised.value)
                assert "TOPSECRET" not in str(raised.value)
    assert seen.requests == []
    assert lab.query(kind="ws") == []


@pytest.mark.parametrize("url", [
    "http://alice:pw_TOPSECRET@127.0.0.1:9/feed",
    "HTTPS://127.0.0.1:9/feed?token=tok_TOPSECRET",
    " ws://127.0.0.1:9/feed",  # (a leading space: urlsplit drops it, the URL is no ws:// one)
    "wss//127.0.0.1:9/feed",
])
def test_a_url_that_is_not_ws_is_refused_without_its_credentials(lab: HookLab, url: str) -> None:
    for start in (ws.record, ws.start_recording):
        with pytest.raises(ValueError) as raised:
            start(url, lab=lab, duration=5)
        assert "TOPSECRET" not in str(raised.value)
        assert ("needs a ws:// or wss:// URL" in str(raised.value)
                or "holds a space" in str(raised.value))
    assert lab.query(kind="ws") == []


@pytest.mark.parametrize("scheme", ["WS", "Ws", "wS", "ws"])
def test_the_scheme_is_case_insensitive(lab: HookLab, scheme: str) -> None:
    """``WS://`` passed the scheme check, then failed with ``KeyError: 'WS'``."""
    with _hostile(_greet) as (base, seen):
        host = base.removeprefix("ws://")
        summary = ws.record(f"{scheme}://{host}/feed?q=1", lab=lab, duration=10)
    assert (summary.connections, summary.received, summary.errors) == (1, 1, [])
    assert summary.url == f"ws://{host}/feed?q=1"
    assert seen.requests[0].startswith(b"GET /feed?q=1 HTTP/1.1\r\n")
    caps = lab.query(kind="ws")
    assert [c.method for c in caps] == ["OPEN", "RECV", "CLOSE"]
    assert {c.url for c in caps} == {f"ws://{host}/feed?q=1"}
