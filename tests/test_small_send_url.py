"""``hooklab.send(url)`` refuses a URL holding a control character before anything is sent.

Python's ``urlsplit`` drops a tab, CR or LF anywhere in a URL (as WHATWG says), so
``send(".../tab\\there")`` went out to ``/tabhere`` without a word (a URL read from a file
with its line break went out as if it had none). Forward and replay targets were refused for
it already (``check_target``); ``send`` and ``hooklab send`` now refuse it the same way, with
a ``ValueError`` that never quotes the URL's credentials.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A socket listening on 127.0.0.1 that nobody accepts from: a connection made to it
    waits in its queue, where the test finds it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        s.setblocking(False)
        yield s


def _connected(listener: socket.socket) -> bool:
    try:
        conn, _ = listener.accept()
    except BlockingIOError:
        return False
    conn.close()
    return True


# (what follows http://127.0.0.1:PORT, the character, where it is in the whole URL's text)
CASES = [
    ("/tab\there", "\t"),
    ("/hook\n", "\n"),  # (read from a file with its line break)
    ("/hook\r\n", "\r"),
    ("/a?q=1\r\nX-Injected: yes", "\r"),
    ("/a?token=S3CR3T-9\tx", "\t"),
    ("/a#frag\tment", "\t"),
    ("/nul\x00there", "\x00"),
    ("/esc\x1b[31mthere", "\x1b"),
    ("/del\x7fthere", "\x7f"),
    ("/us\x1f", "\x1f"),
]


@pytest.mark.parametrize("tail,char", CASES, ids=[
    "tab-in-path", "lf-at-end", "crlf-at-end", "crlf-in-query", "tab-in-token-query",
    "tab-in-fragment", "nul", "esc", "del", "unit-separator"])
def test_send_refuses_a_url_with_a_control_character(listener, tail, char) -> None:  # type: ignore[no-untyped-def]
    url = f"http://127.0.0.1:{listener.getsockname()[1]}{tail}"
    with pytest.raises(ValueError) as err:
        hooklab.send(url, payload={"a": 1})
    said = str(err.value)
    at = url.index(char) + 1
    assert f"holds the control character U+{ord(char):04X} at character {at}: " in said, said
    if tail.endswith("\n"):  # (a line break after the URL: a slip to remove, not to encode)
        assert said.endswith("a line break before or after a URL is most likely a copy-paste "
                             "slip: remove it; a URL parser drops it without a word)"), said
    else:
        assert said.endswith(f"percent-encode it (%{ord(char):02X}"
                             f"{' for a tab' if char == chr(9) else ''})"), said
    assert "S3CR3T" not in said
    assert not _connected(listener)  # nothing was sent: no connection was even made


@pytest.mark.parametrize("url", [
    "http://admin:S3CR3T-9\t@127.0.0.1:{port}/x",  # (in the password)
    "http://S3CR3T-9\n@127.0.0.1:{port}/x",  # (a user name alone: often a token)
    "\thttp://admin:S3CR3T-9@127.0.0.1:{port}/x",  # (a leading tab, pasted)
    "http://127.0.0.1:{port}/x?api_key=S3CR3T-9\n",
    "http://127.0.0.1:{port}/x;token=S3CR3T-9\t/y",
], ids=["password", "user-token", "leading-tab", "api-key-query", "path-parameter"])
def test_the_refusal_never_quotes_credentials(listener, url) -> None:  # type: ignore[no-untyped-def]
    url = url.format(port=listener.getsockname()[1])
    with pytest.raises(ValueError) as err:
        hooklab.send(url, provider="github", event="push", secret="whsec-NOT-SHOWN")
    assert "S3CR3T" not in str(err.value) and "NOT-SHOWN" not in str(err.value)
    assert "holds the control character" in str(err.value)
    assert not _connected(listener)


def test_percent_encoded_is_sent_as_written() -> None:
    """What the message says to do works: the characters percent-encoded arrive so."""
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        for tail in ("/tab%09here", "/a?q=1%0D%0A", "/plain"):
            assert hooklab.send(lab.url + tail, payload={"a": 1}).status == 200
        got = lab.wait(3, timeout=10)
        assert [c.path for c in got] == ["/tab%09here", "/a", "/plain"]
        assert got[1].query == {"q": ["1\r\n"]} and got[1].url.endswith("/a?q=1%0D%0A")
    finally:
        lab.stop()


def test_the_cli_refuses_it_in_one_line(listener) -> None:  # type: ignore[no-untyped-def]
    """``hooklab send`` says it in one ``hooklab:`` line, exit 2 (a usage mistake, as a URL
    with a space is), and sends nothing."""
    port = listener.getsockname()[1]
    for url in (f"http://127.0.0.1:{port}/tab\there", f"http://u:S3CR3T-9@127.0.0.1:{port}/x\n"):
        r = subprocess.run([EXE, "send", url, "--data", '{"a": 1}'], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 2, (r.returncode, r.stderr)
        assert r.stderr.startswith("hooklab: URL 'http://") and r.stderr.count("\n") == 1, r.stderr
        assert "holds the control character" in r.stderr and "S3CR3T" not in r.stderr, r.stderr
        assert not _connected(listener)
