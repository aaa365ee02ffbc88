"""``hooklab.ws.record`` refuses a URL in ``hooklab.send``'s words.

ws.record had a check of its own: a space anywhere (the fragment's, never sent, too) and
other words for the same URL ("another URL requested ... percent-encode it (%09)" where
``send`` says "another URL sent ... (%09 for a tab)"). It now uses the outbound one: for
each hostile URL the ``ws://`` / ``wss://`` URL is refused with the very message ``send``
gives for its ``http://`` / ``https://`` equivalent (the place counted in each URL as
written), and what ``send`` takes (characters past ASCII, a space in the fragment) a
recording takes. Real raw WebSocket servers and a listening socket on 127.0.0.1.
"""

from __future__ import annotations

import pytest
from test_small_send_url import _connected, listener  # noqa: F401 - a socket never accepting
from test_ws_hostile import _greet, _hostile

import hooklab
from hooklab import HookLab

WHY_SPACE = "a request line cannot carry it"
WHY_CONTROL = "a tab or line break would be dropped and another URL sent than the one written"
HIDDEN_HERE = "counted in the URL as written, whose credentials are hidden here"
SLIP = "a space before or after a URL is most likely a copy-paste slip: remove it"

# (what follows host:port, or the userinfo before it; the character refused; its advice)
HOSTILE = [
    ("/fe ed", "", " ", "%20 for a space"),
    ("/feed?q=a b", "", " ", "%20 for a space"),
    ("/feed ", "", " ", None),  # (after the URL: a slip to remove, no percent-encoding)
    ("/fe\ted", "", "\t", "%09 for a tab"),
    ("/feed\r\nX-Injected: yes", "", "\r", "%0D"),
    ("/feed\nX-Injected: yes", "", "\n", "%0A"),
    ("/feed?x=\x00", "", "\x00", "%00"),
    ("/feed\x7f", "", "\x7f", "%7F"),
    ("/feed#a\x1bb", "", "\x1b", "%1B"),  # (a control character: in the fragment too)
    ("/caf\u00e9\tx", "", "\t", "%09 for a tab"),  # (counted in characters, not UTF-8 bytes)
    ("/a b", "alice:pw_TOPSECRET-long@", " ", "%20 for a space"),
]
IDS = ["space-path", "space-query", "space-trailing", "tab", "crlf", "lf", "nul", "del",
       "esc-fragment", "tab-after-utf8", "space-after-password"]
SCHEMES = [("ws", "http"), ("wss", "https"), ("WS", "HTTP")]


def _expected(url: str, char: str, advice: str | None, shown: str, note: str) -> str:
    """The message, by hand: the URL shown, the character, its place in ``url``."""
    what = "a space" if char == " " else f"the control character U+{ord(char):04X}"
    why = WHY_SPACE if char == " " else WHY_CONTROL
    fix = f"; percent-encode it ({advice})"
    if advice is None:  # (whitespace after the URL)
        why, fix = f"{SLIP}; a URL parser drops it without a word", ""
    return (f"URL {shown!r} holds {what} at character {url.index(char) + 1}: "
            + (f"{note}; " if note else "") + f"no URL holds one ({why}){fix}")


@pytest.mark.parametrize("scheme, http_scheme", SCHEMES)
@pytest.mark.parametrize("tail, userinfo, char, advice", HOSTILE, ids=IDS)
def test_a_hostile_url_is_refused_in_sends_words(
        lab: HookLab, listener, scheme: str, http_scheme: str, tail: str,  # noqa: F811
        userinfo: str, char: str, advice: str | None) -> None:
    with _hostile(_greet) as (base, seen):
        host = base.removeprefix("ws://")
        url = f"{scheme}://{userinfo}{host}{tail}"
        http_url = f"{http_scheme}://{userinfo}127.0.0.1:{listener.getsockname()[1]}{tail}"
        def secretless(u: str) -> str:  # (the URL shown: rebuilt, its scheme in lower case,
            if not userinfo:  # when a credential is hidden in it)
                return u
            written, rest = u.split("://", 1)
            return written.lower() + "://" + rest.replace("pw_TOPSECRET-long", "[secret]")

        note = HIDDEN_HERE if userinfo else ""
        with pytest.raises(ValueError) as sent:
            hooklab.send(http_url, payload={"a": 1})
        assert str(sent.value) == _expected(http_url, char, advice, secretless(http_url), note)
        for start in (hooklab.ws.record, hooklab.ws.start_recording):
            with pytest.raises(ValueError) as recorded:
                start(url, lab=lab, duration=5)
            assert str(recorded.value) == _expected(url, char, advice, secretless(url), note)
    assert "TOPSECRET" not in str(recorded.value) + str(sent.value)
    assert seen.requests == [] and not _connected(listener)
    assert lab.query(kind="ws") == []


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/feed",
    "https://127.0.0.1:9/feed",
    "wss//127.0.0.1:9/feed",
    "ws:/127.0.0.1:9/feed",
    "wsx://127.0.0.1:9/feed",
])
def test_a_url_that_is_not_ws_is_refused_as_such(lab: HookLab, url: str) -> None:
    with pytest.raises(ValueError) as raised:
        hooklab.ws.record(url, lab=lab, duration=5)
    assert str(raised.value) == f"hooklab.ws.record needs a ws:// or wss:// URL, got {url!r}"


@pytest.mark.parametrize("tail, request_target", [
    ("/feed#a b", b"/feed"),  # (a fragment is never sent: send takes it, and so does ws)
    ("/caf\u00e9?q=\u20ac", "/caf\u00e9?q=\u20ac".encode()),  # (an IRI: send takes it too)
])
def test_what_send_takes_is_recorded(lab: HookLab, tail: str, request_target: bytes) -> None:
    assert hooklab.send(lab.url + tail, payload={"a": 1}).status == 200
    with _hostile(_greet) as (base, seen):
        summary = hooklab.ws.record(base + tail, lab=lab, duration=10)
    assert (summary.connections, summary.received, summary.errors) == (1, 1, [])
    assert seen.requests[0].startswith(b"GET " + request_target + b" HTTP/1.1\r\n")


def test_a_host_past_ascii_is_no_url_error(lab: HookLab) -> None:
    """Neither refuses ``caf\u00e9.invalid`` as a URL: both try it and cannot reach it."""
    with pytest.raises(OSError):
        hooklab.send("http://caf\u00e9.invalid:9/feed", payload={"a": 1})
    summary = hooklab.ws.record("ws://caf\u00e9.invalid:9/feed", lab=lab, duration=10,
                                connect_timeout=5)
    assert summary.connections == 0 and len(summary.errors) == 1, summary
    assert [c.method for c in lab.query(kind="ws")] == ["ERROR"]
