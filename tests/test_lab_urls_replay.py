"""``lab.url_for(bin, path)`` encodes the path as it encodes the bin, and ``lab.replay`` takes
every integer id (numpy's) as one id, refuses text, and gives the target ``forward_timeout``.
Real labs and apps on 127.0.0.1."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from _target import Target

import hooklab

#: (bin, path, what follows lab.url, the capture's path, its query)
URLS: list[tuple[str, str, str, str, dict[str, list[str]]]] = [
    ("x", "y z", "/x/y%20z", "/x/y%20z", {}),
    ("x y", "", "/x%20y", "/x%20y", {}),
    ("x y", "a b", "/x%20y/a%20b", "/x%20y/a%20b", {}),
    ("x", "/lead/slash", "/x/lead/slash", "/x/lead/slash", {}),
    ("x", "ä/€", "/x/%C3%A4/%E2%82%AC", "/x/%C3%A4/%E2%82%AC", {}),
    ("x", "100%", "/x/100%25", "/x/100%25", {}),
    ("x", "a%2Fb%20c", "/x/a%2Fb%20c", "/x/a%2Fb%20c", {}),  # (escapes given stay)
    ("x", "%zz%2", "/x/%25zz%252", "/x/%25zz%252", {}),
    ("x", 'a"<>{}|\\^`b', "/x/a%22%3C%3E%7B%7D%7C%5C%5E%60b", "/x/a%22%3C%3E%7B%7D%7C%5C%5E%60b", {}),
    ("x", "tab\tnul\x00del\x7fnl\r\n", "/x/tab%09nul%00del%7Fnl%0D%0A",
     "/x/tab%09nul%00del%7Fnl%0D%0A", {}),
    ("x", "a#frag", "/x/a%23frag", "/x/a%23frag", {}),  # (a fragment never reaches the lab)
    ("x", "p?q=a b&r=%20&s=[1]", "/x/p?q=a%20b&r=%20&s=[1]", "/x/p",
     {"q": ["a b"], "r": [" "], "s": ["[1]"]}),
    ("x", "p?q=1?2#3", "/x/p?q=1?2%233", "/x/p", {"q": ["1?2#3"]}),
    ("x", "orders/create", "/x/orders/create", "/x/orders/create", {}),  # (as before)
    # a path that is a query only: the bin's URL with it, no "/" before it (was "/x/?a=1",
    # stored as path "/x/", and forwarded to the app's URL with a "/" added)
    ("x", "?a=1", "/x?a=1", "/x", {"a": ["1"]}),
    ("x", "/?a=1&b=", "/x?a=1&b=", "/x", {"a": ["1"], "b": [""]}),
    ("x", "?", "/x?", "/x", {}),
    ("x", "/", "/x", "/x", {}),
]


@pytest.mark.parametrize("bin, path, url, stored, query", URLS,
                         ids=[repr(p) for _, p, *_ in URLS])
def test_url_for_encodes_what_a_url_cannot_hold_and_the_lab_captures_it(lab, bin, path, url,
                                                                       stored, query):
    """``lab.url_for('x', 'y z')`` gave ``/x/y z``, which ``hooklab.send`` (http.client)
    refused with ``InvalidURL``, while ``url_for('x y')`` gave ``/x%20y``."""
    got = lab.url_for(bin, path)
    assert got == lab.url + url
    assert hooklab.send(got, payload={"a": 1}).status == 200
    (cap,) = lab.wait(1, timeout=10)
    assert (cap.bin, cap.path, cap.query) == (bin, stored, query)


def _lab_with_captures(n: int) -> Any:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    for i in range(n):
        assert hooklab.send(lab.url_for("a"), payload={"n": i}).status == 200
    lab.wait(n, timeout=10)
    return lab


#: (what is given, the capture ids replayed)
IDS: list[tuple[str, Any, list[int]]] = [
    ("int", lambda df: 12, [12]),
    ("numpy.int64 from the frame", lambda df: df.id.iloc[-1], [12]),
    ("numpy.int32", lambda df: np.int32(3), [3]),
    ("numpy.uint8", lambda df: np.uint8(2), [2]),
    ("a list of numpy ints", lambda df: list(df.id.iloc[:2]), [1, 2]),
    ("the frame's id column", lambda df: df.id[df.id > 10], [11, 12]),
    ("a numpy array", lambda df: df.id.to_numpy()[-3:], [10, 11, 12]),
    ("a mix", lambda df: [np.int64(5), 6], [5, 6]),
]


@pytest.mark.parametrize("what, given, ids", IDS, ids=[w for w, *_ in IDS])
def test_replay_takes_any_integer_id_as_one_id(what, given, ids):
    """``lab.replay(df.id.iloc[-1], to=...)`` raised ``TypeError: 'numpy.int64' object is
    not iterable`` (the id type the frame hands out; ``lab.get()`` took it)."""
    lab = _lab_with_captures(12)
    try:
        with Target() as app:
            results = lab.replay(given(lab.dataframe()), to=app.url + "/hook")
            assert [r.capture_id for r in results] == ids
            assert [r.status for r in results] == [200] * len(ids)
            assert [int(r.body.decode() == "ok") for r in results] == [1] * len(ids)
            assert [rec.body for rec in app.received] == [
                lab.get(i).body for i in ids]
    finally:
        lab.stop()


#: what is refused: text (which replayed "12" as captures 1 and 2), and what is no id
REFUSED: list[tuple[Any, str]] = [
    ("12", "not '12' (a str): lab.replay(12, ...)"),
    ("1", "not '1' (a str): lab.replay(1, ...)"),
    (" 7 ", "not ' 7 ' (a str): lab.replay(7, ...)"),
    ("abc", "not 'abc' (a str)"),
    ("", "not '' (a str)"),
    (b"12", "not b'12' (a bytes)"),
    (["12"], "not '12' (a str)"),
    ([1, "2"], "not '2' (a str)"),
    (True, "not True (a bool)"),
    ([1, False], "not False (a bool)"),
    (1.0, "not 1.0 (a float)"),
    (None, "not None (a NoneType)"),
    ([None], "not None (a NoneType)"),
    ("\u202e1", r"not '\u202e1' (a str)"),
]


@pytest.mark.parametrize("given, says", REFUSED, ids=[repr(g) for g, _ in REFUSED])
def test_replay_refuses_text_and_what_is_no_id_before_sending_anything(given, says):
    lab = _lab_with_captures(12)
    try:
        with Target() as app:
            with pytest.raises(TypeError) as err:
                lab.replay(given, to=app.url + "/hook")
            assert str(err.value).startswith(
                "replay takes a Capture, a capture id (an integer) or several of them, ")
            assert says in str(err.value), str(err.value)
            time.sleep(0.2)
            assert app.received == []
    finally:
        lab.stop()


@pytest.mark.parametrize("forward_timeout, timeout, ok", [
    (2.0, None, True),   # (the app takes 1.5 s: within the lab's forward_timeout)
    (1.0, None, False),  # (past it)
    (2.0, 0.5, False),   # (an explicit timeout= wins)
    (1.0, 3.0, True),
])
def test_replay_gives_the_app_the_lab_s_forward_timeout(forward_timeout, timeout, ok):
    """``lab.forward_timeout = 20`` made forwards to a slow app succeed, but ``lab.replay``
    to the same app timed out at 10 s: its ``timeout`` was fixed at 10."""
    lab = _lab_with_captures(1)
    try:
        lab.forward_timeout = forward_timeout
        with Target(delay=1.5) as app:
            kw = {} if timeout is None else {"timeout": timeout}
            (r,) = lab.replay(1, to=app.url + "/slow", **kw)
            assert (r.status, r.error is None) == ((200, True) if ok else (None, False)), r
            if not ok:
                assert "timed out" in r.error, r.error
    finally:
        lab.stop()
