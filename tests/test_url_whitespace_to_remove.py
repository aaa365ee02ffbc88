"""Whitespace before or after a URL is a slip to remove, said so, with no percent-encoding advice.

README: a space "before or after the whole URL" is refused "as a copy-paste slip to remove". A
leading space was told "remove it" and then "percent-encode it (%20 for a space)"; a TRAILING
space (the usual paste slip), in ``send``, ``hooklab send`` and ``lab.forward``, was told only
to percent-encode it, and a URL read from a file with its ``\\n`` "percent-encode it (%0A)":
following that sends to ``/x%20``, another URL than the one meant. ``hooklab.ws.record(" ws://
...")`` said it "needs a ws:// or wss:// URL" where README promises ``send``'s words. Now a
space, tab, CR or LF at either end is refused in words that say to remove it, everywhere a URL
is given; inside the URL (or a form feed, a unit separator at its end) percent-encoding is
still the advice. Nothing is sent.

Sockets listening on 127.0.0.1 that must see no connection, a serving lab, the ``hooklab``
command and IPython's ``%hooklab send``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from test_small_magics import shell  # noqa: F401 - the fixture (%load_ext hooklab, port 0)
from test_small_send_url import _connected, listener  # noqa: F401 - a socket never accepting

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
NOUN = {" ": "a space", "\t": "a tab", "\n": "a line break", "\r": "a line break"}

# (the URL, {base} being "SCHEME://127.0.0.1:PORT"; the character refused; its place counted by
# hand: k characters after {base}, or 1 for the first; whether it is to be removed)
ROWS = [
    (" {base}/x", " ", 1, True),
    ("{base}/x ", " ", "+3", True),  # (pasted with the space after it)
    ("{base}/x\n", "\n", "+3", True),  # (a line read from a file)
    ("{base}/x\r\n", "\r", "+3", True),  # (a line of a Windows file)
    ("\t{base}/x", "\t", 1, True),
    ("\n {base}/x", "\n", 1, True),
    ("{base}/x \t ", " ", "+3", True),  # (the first of several)
    ("{base}/x\t\n", "\t", "+3", True),
    ("{base}/x#top \n", " ", "+7", True),  # (after a fragment, where a space inside is fine)
    ("  {base}/x  ", " ", 1, True),  # (both ends: the first)
    ("{base}/a b", " ", "+3", False),  # (inside: percent-encode it)
    ("{base}/x \x1f", " ", "+3", False),  # (a space before a control character: inside)
    ("{base}/x\x0c", "\x0c", "+3", False),  # (a form feed: no whitespace a paste brings)
    ("{base}/x\n?q=1", "\n", "+3", False),  # (a line break inside)
]
IDS = ["space-before", "space-after", "lf-after", "crlf-after", "tab-before", "lf-space-before",
       "spaces-tab-after", "tab-lf-after", "space-lf-after-fragment", "both-ends", "inside",
       "space-before-control", "form-feed-after", "lf-inside"]


def _case(template: str, scheme: str, port: int, place: int | str) -> tuple[str, int]:
    base = f"{scheme}://127.0.0.1:{port}"
    at = place if isinstance(place, int) else len(base) + int(place)
    return template.format(base=base), at


def _what(char: str) -> str:
    return "a space" if char == " " else f"the control character U+{ord(char):04X}"


def _slip(char: str) -> str:
    return f"{NOUN[char]} before or after a URL is most likely a copy-paste slip: remove it"


def _send_words(url: str, char: str, at: int) -> str:
    """What ``hooklab.send`` says of a URL with whitespace around it, written out here."""
    return (f"URL {url!r} holds {_what(char)} at character {at}: no URL holds one "
            f"({_slip(char)}; a URL parser drops it without a word)")


def _check(said: str, url: str, char: str, at: int, remove: bool, exact: str) -> None:
    if remove:
        assert said == exact, said
        assert "percent-encode" not in said and "%" not in said.replace(repr(url), ""), said
    else:
        assert f"{_what(char)} at character {at}" in said, said
        assert "percent-encode it" in said and "remove it" not in said, said


@pytest.mark.parametrize("template, char, place, remove", ROWS, ids=IDS)
def test_send_and_ws_record(listener, template, char, place, remove) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    port = listener.getsockname()[1]
    url, at = _case(template, "http", port, place)
    with pytest.raises(ValueError) as err:
        hooklab.send(url, payload={"a": 1})
    _check(str(err.value), url, char, at, remove, _send_words(url, char, at) if remove else "")
    ws_url, ws_at = _case(template, "ws", port, place)
    lab = hooklab.HookLab(port=0, db=":memory:")
    for start in (hooklab.ws.record, hooklab.ws.start_recording):
        with pytest.raises(ValueError) as err:  # (send's words, as README says)
            start(ws_url, lab=lab, duration=5)
        _check(str(err.value), ws_url, char, ws_at, remove,
               _send_words(ws_url, char, ws_at) if remove else "")
    assert lab.query(kind="ws") == []
    assert not _connected(listener)


@pytest.mark.parametrize("template, char, place, remove", ROWS, ids=IDS)
def test_forward_and_replay_targets(listener, template, char, place, remove) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    to, at = _case(template, "http", listener.getsockname()[1], place)
    exact = (f"forward/replay target {to!r} is no valid URL: {_what(char)} at character {at} "
             f"({_slip(char) if remove else ''})")
    with hooklab.HookLab(port=0, db=":memory:") as lab:
        hooklab.send(lab.url_for("b"), payload={"a": 1})
        (cap,) = lab.wait(1, timeout=10)
        for call in (lambda: lab.forward("b", to=to), lambda: lab.replay(cap, to=to)):
            with pytest.raises(ValueError) as err:
                call()
            _check(str(err.value), to, char, at, remove, exact)
        assert lab.forwards() == []
    assert not _connected(listener)


@pytest.mark.parametrize("template, char, place, remove", ROWS, ids=IDS)
def test_the_magic(shell, listener, template, char, place, remove) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url, at = _case(template, "http", listener.getsockname()[1], place)
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("hooklab", f"send '{url}'")  # (the characters themselves)
    said = str(err.value)
    if remove:  # (the URL shown escaped: no line break in a one-line error)
        shown = url.encode("unicode_escape").decode()
        assert said == (f"%hooklab send: {shown}: the URL holds {_what(char)} at character "
                        f"{at}: {_slip(char)}"), said
    else:
        assert said.endswith("percent-encode it (a space is %20)"), said
    assert not _connected(listener)


@pytest.mark.parametrize("template, char, place, remove",
                         [ROWS[1], ROWS[2], ROWS[4], ROWS[10]], ids=[IDS[1], IDS[2], IDS[4], IDS[10]])
def test_the_command(listener, template, char, place, remove) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url, at = _case(template, "http", listener.getsockname()[1], place)
    for args in (["send", url, "--data", '{"a": 1}'],
                 ["replay", "--db", ":memory:", "--id", "1", "--to", url]):
        r = subprocess.run([EXE, *args], capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stdout) == (2, ""), (r.returncode, r.stderr)
        assert r.stderr.endswith("\n") and r.stderr.count("\n") == 1, r.stderr
        exact = "" if not remove else (
            _send_words(url, char, at) if args[0] == "send" else
            f"forward/replay target {url!r} is no valid URL: {_what(char)} at character {at} "
            f"({_slip(char)})")
        _check(r.stderr.removeprefix("hooklab: ").removesuffix("\n"), url, char, at, remove,
               exact)
    assert not _connected(listener)
