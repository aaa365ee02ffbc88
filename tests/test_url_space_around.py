"""A URL with a space (or a control character) before or after it is refused, not stripped.

``hooklab.send("  http://127.0.0.1:PORT/x")`` went out to ``http://127.0.0.1:PORT/x``:
``urlsplit`` strips leading and trailing C0 controls and spaces (as WHATWG's URL parser does),
and RFC 3986 has no whitespace in a URL at all. A space around a URL is a copy-paste slip;
hooklab refuses it as it refuses a tab or a space inside one, with the same words, everywhere
a URL is given: ``send``, forward and replay targets, ``hooklab.ws.record`` and ``hooklab
serve --forward``. Nothing is sent. A space inside the fragment is still fine.

Real labs, sockets listening on 127.0.0.1, and the ``hooklab`` command.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_small_send_url import _connected, listener  # noqa: F401 - a socket never accepting

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))

# (the URL, {scheme} and {port} filled in; the character refused and its place in the URL as
# written, counted by hand: "http://127.0.0.1:" is 17 characters, a port 5 (from 10000 on:
# the listener's port is checked below), "/x" 2)
CASES = [
    (" {scheme}://127.0.0.1:{port}/x", " ", 1, True),
    ("   {scheme}://127.0.0.1:{port}/x", " ", 1, True),
    ("{scheme}://127.0.0.1:{port}/x ", " ", 3 + 3 + 10 + 1 + 5 + 2 + 1, True),  # (pasted)
    ("{scheme}://127.0.0.1:{port}/x#top ", " ", 3 + 3 + 10 + 1 + 5 + 2 + 4 + 1, True),
    (" {scheme}://127.0.0.1:{port}/x ", " ", 1, True),
    ("\n{scheme}://127.0.0.1:{port}/x", "\n", 1, True),
    ("\t {scheme}://127.0.0.1:{port}/x", "\t", 1, True),
    ("\x0c{scheme}://127.0.0.1:{port}/x", "\x0c", 1, False),
    ("{scheme}://127.0.0.1:{port}/x\r\n", "\r", 3 + 3 + 10 + 1 + 5 + 2 + 1, True),
]
IDS = ["space-before", "spaces-before", "space-after", "space-after-fragment", "both",
       "newline-before", "tab-space-before", "form-feed-before", "crlf-after"]
SLIP = "a space before or after a URL is most likely a copy-paste slip: remove it"
#: whitespace around the URL (space, tab, CR, LF): a slip to remove, in words naming it, and
#: no percent-encoding advice (``/x%20`` is another URL); a form feed is advised as before
_SLIPS = {" ": SLIP, "\t": SLIP.replace("a space", "a tab"),
          "\n": SLIP.replace("a space", "a line break"), "\r": SLIP.replace("a space", "a line break")}


def _slipped(said: str, char: str, around: bool) -> bool:
    """Whether ``said`` calls the character a slip to remove (and then gives no
    percent-encoding advice)."""
    slip = char in _SLIPS and _SLIPS[char] in said
    assert slip == around, said
    assert ("percent-encode" in said) != around, said
    return slip


def _what(char: str) -> str:
    return "a space" if char == " " else f"the control character U+{ord(char):04X}"


def _fill(template: str, scheme: str, port: int) -> str:
    assert port >= 10000  # (the places counted above assume a 5-digit port)
    return template.format(scheme=scheme, port=port)


@pytest.mark.parametrize("template, char, at, around", CASES, ids=IDS)
def test_send_refuses_it(listener, template, char, at, around) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = _fill(template, "http", listener.getsockname()[1])
    with pytest.raises(ValueError) as err:
        hooklab.send(url, payload={"a": 1})
    said = str(err.value)
    assert f"holds {_what(char)} at character {at}: no URL holds one (" in said, said
    _slipped(said, char, around)
    assert not _connected(listener)


@pytest.mark.parametrize("template, char, at, around", CASES, ids=IDS)
def test_forward_and_replay_targets_refuse_it(listener, template, char, at, around) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    to = _fill(template, "http", listener.getsockname()[1])
    with hooklab.HookLab(port=0, db=":memory:") as lab:
        hooklab.send(lab.url_for("b"), payload={"a": 1})
        (cap,) = lab.wait(1, timeout=10)
        said = [_refusal(lambda: lab.forward("b", to=to)), _refusal(lambda: lab.replay(cap, to=to))]
        assert lab.forwards() == []
    assert not _connected(listener)
    for one in said:
        assert one.startswith("forward/replay target "), one
        assert f"is no valid URL: {_what(char)} at character {at} (" in one, one
        _slipped(one, char, around)


def _refusal(call: Callable[[], object]) -> str:
    """The words of the ``ValueError`` ``call()`` raises."""
    with pytest.raises(ValueError) as err:
        call()
    return str(err.value)


@pytest.mark.parametrize("template, char, at, around", CASES, ids=IDS)
def test_ws_record_refuses_it_in_send_s_words(listener, template, char, at, around) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = _fill(template, "ws", listener.getsockname()[1])
    with pytest.raises(ValueError) as err:
        hooklab.ws.record(url, duration=0.5)
    said = str(err.value)
    at_ws = at if at == 1 else at - 2  # ("ws" is two characters shorter than "http")
    assert f"holds {_what(char)} at character {at_ws}: no URL holds one (" in said, said
    _slipped(said, char, around)  # (a space before it too: send's words, README says so)
    assert not _connected(listener)


@pytest.mark.parametrize("template", [CASES[0][0], CASES[3][0]], ids=["space-before", "space-after-fragment"])
def test_serve_forward_refuses_it(listener, template: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    to = _fill(template, "http", listener.getsockname()[1])
    r = subprocess.run([EXE, "serve", "--port", "0", "--db", str(tmp_path / "s.sqlite3"),
                        "--forward", f"b={to}"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert re.search(r"is no valid URL: a space at character \d+ \(.*" + re.escape(SLIP),
                     r.stderr), r.stderr
    assert not (tmp_path / "s.sqlite3").exists()  # (a usage mistake leaves no database)
    assert not _connected(listener)


@pytest.mark.parametrize("tail", ["/ok#a fragment with spaces", "/ok?q=%20x%20"],
                         ids=["space-inside-fragment", "encoded-spaces"])
def test_a_space_inside_is_still_sent_as_before(tail: str) -> None:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        assert hooklab.send(lab.url + tail, payload={"a": 1}).status == 200
        (cap,) = lab.wait(1, timeout=10)
        assert cap.path == "/ok"
    finally:
        lab.stop()
