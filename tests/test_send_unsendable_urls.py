"""A URL holding a character no request can carry is hooklab's own ``ValueError``, a space too.

``hooklab.send("http://127.0.0.1:1/a b")`` raised the standard library's
``http.client.InvalidURL`` ("can't contain control characters ... found at least ' '": no
``ValueError``, which the README documents, and a space is no control character), while a tab
got hooklab's ``ValueError``. And that message counted the tab's place in the URL as written
while the URL it showed had lost the tab (``urlsplit`` drops it; a credential hidden as
``[secret]`` is shorter or longer than itself). Now every such character (a space in the host,
path or query; a control character anywhere) is refused the same way by ``send``, forward and
replay targets, ``%hooklab send`` and ``hooklab send``, before anything is sent: the character
named, its place counted in the URL as written (and said so when the URL shown is not that),
the URL shown with the character where it is and without its credentials. Characters past
ASCII stay an IRI's, percent-encoded on the way out; a space in ``user:password@`` or in the
fragment goes nowhere raw, and is sent.

Real labs and listening sockets on 127.0.0.1, the ``hooklab`` command, IPython's magics.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from test_small_magics import shell  # noqa: F401 - the fixture (%load_ext hooklab, port 0)
from test_small_send_url import _connected, listener  # noqa: F401 - a socket never accepting

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))
SECRET = "S3CR3T-7q"
HERE = "counted in the URL as written, whose credentials are hidden here"
INSIDE = "counted in the URL as written, in a credential hidden here as [secret]"

# (the URL after http://127.0.0.1:PORT unless it starts with a scheme or a control character,
# the character refused, whether it shows in the URL shown, the note on where it is counted)
CASES = [
    ("/a b", " ", True, ""),
    ("/hook?q=a b", " ", True, ""),
    ("/hook ", " ", True, ""),  # (a trailing space, pasted)
    ("/a\tb", "\t", True, ""),  # (urlsplit drops it: the URL shown had lost it)
    ("/a\nb", "\n", True, ""),
    ("/a?q=1\r\nX-Injected: yes", "\r", True, ""),
    ("/nul\x00x", "\x00", True, ""),
    ("/esc\x1b[2Jx", "\x1b", True, ""),
    ("/del\x7fx", "\x7f", True, ""),
    ("/vt\x0bx", "\x0b", True, ""),
    ("/us\x1f", "\x1f", True, ""),
    ("/a#frag\tment", "\t", True, ""),  # (a control character: in the fragment too)
    (f"/hook?api_key={SECRET}\tx", "\t", False, INSIDE),  # (the tester's URL)
    (f"/hook?api_key={SECRET} x", " ", False, INSIDE),
    (f"/hook;token={SECRET}\t/y", "\t", False, INSIDE),
    (f"/hook?token={SECRET}&q=a b", " ", True, HERE),  # (its count: the secret before it)
    (f"http://admin:{SECRET}-longer@127.0.0.1:{{port}}/a b", " ", True, HERE),
    (f"http://admin:{SECRET}\t@127.0.0.1:{{port}}/x", "\t", False, INSIDE),
    (f"\thttp://admin:{SECRET}@127.0.0.1:{{port}}/x", "\t", True, ""),  # (a leading tab)
    ("http://exa mple.invalid/x", " ", True, ""),  # (a space in the host)
]
IDS = ["space-path", "space-query", "space-trailing", "tab", "lf", "crlf", "nul", "esc", "del",
       "vt", "unit-separator", "tab-fragment", "tab-in-api-key", "space-in-api-key",
       "tab-in-path-param", "space-after-token", "space-after-password", "tab-in-password",
       "leading-tab", "space-in-host"]


def _url(tail: str, port: int) -> str:
    return tail.format(port=port) if tail[:1] in ("h", "\t") else f"http://127.0.0.1:{port}{tail}"


def _what(char: str) -> str:
    return "a space" if char == " " else f"the control character U+{ord(char):04X}"


def _around(url: str, char: str) -> bool:
    """Whether the first ``char`` of ``url`` is whitespace before or after the whole URL: a
    copy-paste slip, to remove (percent-encoded, it is another URL)."""
    at, bare = url.index(char), url.strip(" \t\r\n")
    return bare != url and (at < url.index(bare) or at >= url.index(bare) + len(bare))


def _check_shown(shown: str, url: str, char: str, visible: bool, note: str) -> None:
    """The URL shown: no credential, the character kept where it is unless a credential
    hidden holds it, and the same as written where no credential is."""
    assert SECRET not in shown
    if SECRET not in url:
        assert shown == url
    else:
        assert "[secret]" in shown and (char in shown) == visible, shown


@pytest.mark.parametrize("tail, char, visible, note", CASES, ids=IDS)
def test_send_refuses_it_with_its_own_value_error(listener, tail, char, visible, note) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = _url(tail, listener.getsockname()[1])
    at = url.index(char) + 1  # (the first one: each case holds one)
    with pytest.raises(ValueError) as err:
        hooklab.send(url, payload={"a": 1})
    said = str(err.value)
    assert type(err.value) is ValueError, type(err.value)  # (not http.client.InvalidURL)
    m = re.fullmatch(r"URL ('.*') holds (.+?) at character (\d+): (.*)", said, re.S)
    assert m, said
    shown = ast.literal_eval(m.group(1))
    assert (m.group(2), int(m.group(3))) == (_what(char), at), said
    assert m.group(4).startswith(f"{note}; " if note else "no URL holds one"), said
    name = {"\t": " for a tab", " ": " for a space"}.get(char, "")
    if _around(url, char):  # ("/hook ", "\thttp://..."): remove it, no percent-encoding
        assert said.endswith("copy-paste slip: remove it; a URL parser drops it without a "
                             "word)") and "percent-encode" not in said, said
    else:
        assert said.endswith(f"percent-encode it (%{ord(char):02X}{name})"), said
    _check_shown(shown, url, char, visible, note)
    assert not _connected(listener)  # nothing was sent: no connection was even made


@pytest.mark.parametrize("tail, char, visible, note", CASES, ids=IDS)
def test_forward_and_replay_refuse_it_alike(listener, tail, char, visible, note) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    to = _url(tail, listener.getsockname()[1])
    at = to.index(char) + 1
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        hooklab.send(lab.url_for("b"), payload={"a": 1})
        (cap,) = lab.wait(1, timeout=10)
        for call in (lambda: lab.forward("b", to=to), lambda: lab.replay(cap, to=to)):
            with pytest.raises(ValueError) as err:
                call()
            said = str(err.value)
            m = re.fullmatch(r"forward/replay target ('.*') is no valid URL: (.+?) at character "
                             r"(\d+) \((.*)\)", said, re.S)
            assert m, said
            assert (m.group(2), int(m.group(3))) == (_what(char), at), said
            if _around(to, char):
                assert m.group(4).endswith("copy-paste slip: remove it"), said
                assert "percent-encode" not in said, said
            else:
                assert m.group(4).startswith(f"{note}; " if note else "a request line"), said
                assert f"percent-encode it, %{ord(char):02X}" in said, said
            _check_shown(ast.literal_eval(m.group(1)), to, char, visible, note)
        assert lab.forwards() == []
    finally:
        lab.stop()
    assert not _connected(listener)


@pytest.mark.parametrize("tail", ["/ok#a fragment with spaces", "http://us er:p w@127.0.0.1:{port}/ok",
                                  "/caf\u00e9?q=\u20ac", "/ok?q=a%20b%09c"],
                         ids=["space-in-fragment", "space-in-credentials", "iri", "encoded"])
def test_what_a_request_can_carry_is_still_sent(tail: str) -> None:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        url = _url(tail, lab.bound_port)
        assert hooklab.send(url, payload={"a": 1}).status == 200
        (cap,) = lab.wait(1, timeout=10)
        assert cap.path == {"/caf\u00e9?q=\u20ac": "/caf%C3%A9"}.get(tail, "/ok"), cap.path
        (r,) = lab.replay(cap, to=url)
        assert (r.status, r.error) == (200, None)
    finally:
        lab.stop()


@pytest.mark.parametrize("tail, char", [(f"/hook?api_key={SECRET} x", " "), ("/a b", " "),
                                        ("/a\tb", "\t"), (f"/x?token={SECRET}&q=a\x7f", "\x7f")],
                         ids=["space-in-api-key", "space", "tab", "del-after-token"])
def test_hooklab_send_says_it_in_one_line(listener, tail: str, char: str) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = _url(tail, listener.getsockname()[1])
    r = subprocess.run([EXE, "send", url, "--data", '{"a": 1}'], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stderr)
    assert r.stderr.startswith("hooklab: URL 'http://") and r.stderr.count("\n") == 1, r.stderr
    assert f"holds {_what(char)} at character {url.index(char) + 1}: " in r.stderr, r.stderr
    assert SECRET not in r.stderr and "InvalidURL" not in r.stderr
    assert not _connected(listener)


@pytest.mark.parametrize("tail, char, note", [("/a b", " ", ""), ("/a\tb", "\t", ""),
                                              (f"/hook?api_key={SECRET}\tx", "\t", INSIDE),
                                              (f"/hook?token={SECRET}&q=a b", " ", HERE)],
                         ids=["space", "tab", "tab-in-api-key", "space-after-token"])
def test_the_magic_names_the_character_and_its_place(shell, listener, tail, char, note) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    url = _url(tail, listener.getsockname()[1])
    with pytest.raises(UsageError) as err:
        shell.run_line_magic("hooklab", f"send '{url}'")
    said = str(err.value)
    assert said.startswith(f"%hooklab send: http://127.0.0.1:{listener.getsockname()[1]}/"), said
    assert (f"the URL holds {_what(char)} at character {url.index(char) + 1}"
            f"{', ' + note if note else ''}, which no URL can hold as it is "
            f"(%{ord(char):02X} encoded)") in said, said
    assert said.endswith("percent-encode it (a space is %20)"), said
    assert SECRET not in said and "\t" not in said, said
    assert not _connected(listener)
