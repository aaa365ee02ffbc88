"""``hooklab send --header`` reads ``NAME:`` and ``NAME;`` as ``curl -H`` does.

README: each ``--header`` is sent "as ``curl -H`` sends them". But ``--header 'Content-Type:'``
sent an empty ``Content-Type``, where curl (everything.curl.dev, "Customize headers") removes
the header given "without a value, just nothing on the right side of the colon", and
``--header 'X-Empty;'``, curl's way to send a header with an empty value, was refused ("wants
NAME:VALUE"). Now ``NAME:`` leaves the header out (hooklab's own ``Content-Type`` and
``User-Agent``, a provider sample's, a signature's), ``NAME;`` sends it empty, and
``hooklab.send(headers={"User-Agent": None})`` leaves one out from Python.

A real lab on 127.0.0.1 and the ``hooklab`` command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hooklab

EXE = str(Path(sys.executable).with_name("hooklab"))


def _names(cap) -> list[str]:  # type: ignore[no-untyped-def]
    return [k.lower() for k, _ in cap.headers]


# (the --header words, extra send words, the headers that must be absent, those sent as
# (name, value)): what curl's manual says each spelling does
CASES = [
    (["Content-Type:"], ["--data", '{"a": 1}'], ["content-type"], []),
    (["User-Agent:"], [], ["user-agent"], []),
    (["User-Agent:  \t "], [], ["user-agent"], []),  # (whitespace after the colon: no value)
    (["X-Never-Set:"], [], ["x-never-set"], []),  # (nothing to remove: nothing sent)
    (["X-Empty;"], [], [], [("x-empty", "")]),
    (["X-Empty ;  "], [], [], [("x-empty", "")]),
    (["Content-Type;"], ["--data", '{"a": 1}'], [], [("content-type", "")]),
    # (NAME: takes out a header of that name hooklab would add, not one given with a value:
    # curl 7.88 sends -H 'X-A: 1' -H 'X-A:' as X-A: 1, either order; a reviewer)
    (["X-A: 1", "X-A:", "X-B: 2"], [], [], [("x-a", "1"), ("x-b", "2")]),
    (["X-A:", "X-A: 1"], [], [], [("x-a", "1")]),
    (["X-GitHub-Event:", "X-Hub-Signature-256:"], ["--provider", "github", "--event", "push",
                                                   "--secret", "s3cret"],
     ["x-github-event", "x-hub-signature-256"], [("x-github-delivery", None)]),
]


@pytest.mark.parametrize(("words", "extra", "absent", "sent"), CASES)
def test_header_spellings_do_what_curl_does(lab, words: list[str], extra: list[str],  # type: ignore[no-untyped-def]
                                            absent: list[str], sent: list[tuple[str, str | None]]
                                            ) -> None:
    argv = [EXE, "send", lab.url_for("h"), *extra]
    for w in words:
        argv += ["--header", w]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    (cap,) = lab.wait(1, bin="h", timeout=10)
    for name in absent:
        assert name not in _names(cap), cap.headers
    for name, value in sent:
        got = [v for k, v in cap.headers if k.lower() == name]
        assert len(got) == 1 and (value is None or got[0] == value), cap.headers
    assert "host" in _names(cap)  # (the request stays one: Host is always sent)


@pytest.mark.parametrize(("word", "says"), [
    ("X A;", "invalid header name"),  # (a name with a space: no token)
    (";", "invalid header name"),  # (no name at all)
    ("X-A;b", "no ':'"),  # (a semicolon that does not end it: no curl spelling)
    ("X-Ä:", "invalid header name"),
    ("Authorization", "no ':'"),
])
def test_hostile_spellings_are_refused_before_sending(lab, word: str, says: str) -> None:  # type: ignore[no-untyped-def]
    r = subprocess.run([EXE, "send", lab.url_for("h"), "--header", word],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and says in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert len(lab.captures) == 0


def test_python_send_leaves_out_the_headers_named(lab) -> None:  # type: ignore[no-untyped-def]
    """``leave_out=`` (``None`` as a value stays a TypeError: an unset ``os.environ.get``
    must not leave a header out unseen; tests/test_outbound_headers.py)."""
    hooklab.send(lab.url_for("p"), payload={"a": 1}, headers=[("X-Keep", "1")],
                 leave_out=["User-Agent", "Content-Type"])
    (cap,) = lab.wait(1, bin="p", timeout=10)
    assert "user-agent" not in _names(cap) and "content-type" not in _names(cap), cap.headers
    assert cap.header("X-Keep") == "1" and cap.body == b'{"a": 1}'
    with pytest.raises(ValueError, match="invalid header name"):
        hooklab.send(lab.url_for("p"), leave_out=["X A"])
    with pytest.raises(TypeError, match="not one str"):
        hooklab.send(lab.url_for("p"), leave_out="User-Agent")
    with pytest.raises(TypeError, match="a value is str, bytes or int, not NoneType"):
        hooklab.send(lab.url_for("p"), headers={"User-Agent": None})
