"""``lab.url_for`` refuses a ``.`` or ``..`` segment (the bin, or one of ``path``): clients
remove dot segments before they send (RFC 3986 5.2.4: requests/urllib3 and curl; browsers and
Node read ``%2E`` as a dot too, by the WHATWG URL parser), so a POST to ``url_for("..") + "/x"``
reached bin ``x``, mixed into that bin's captures, while ``hooklab.send`` (which sends the path
as written) reached bin ``..`` (an outside tester). Writing ``%2E`` was tried first, the same
day: curl and requests then kept the bin, Node's fetch did not (a reviewer)."""

from __future__ import annotations

import re

import pytest
import requests  # (JupyterLab's own dependency: what a sender's Python code uses)

import hooklab

#: (bin, path): a dot segment somewhere
REFUSED = [("..", ""), (".", ""), ("..", "x"), ("a", "../b"), ("a", "./b"), ("a", "b/."),
           ("a", "b/..?q=1"), ("a", "b/../c/"),
           # (escaped dots: a WHATWG URL parser reads %2e as a dot; an outside tester with
           # node's new URL(): /orders/%2e%2E/x went to bin x)
           ("a", "%2e%2E/x"), ("a", ".%2E/x"), ("a", "x/.%2e/y"), ("a", "%2E"), ("a", "%2e./x")]
#: (bin, path) -> the URL's path as written and the capture's bin, the same for every client
TAKEN = [("a", "...", "/a/...", "a"), ("...", "", "/...", "..."), ("a", "..x/x..", "/a/..x/x..", "a"),
         ("a", "b?q=..", "/a/b?q=..", "a"), ("a", "b?q=../x", "/a/b?q=../x", "a"),
         ("a.", "b", "/a./b", "a."), ("a", "%2E%2E%2E", "/a/%2E%2E%2E", "a"),
         ("a", "%2E%2Ex", "/a/%2E%2Ex", "a")]


@pytest.fixture(scope="module")
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()  # (not the default lab: conftest
    yield lab  # stops that one after each test)
    lab.stop()


@pytest.mark.parametrize(("bin_", "path"), REFUSED)
def test_a_dot_segment_is_refused(lab, bin_: str, path: str) -> None:
    with pytest.raises(ValueError, match=r"segment is removed by clients before they send"):
        lab.url_for(bin_, path)


@pytest.mark.parametrize(("bin_", "path", "written", "lands"), TAKEN)
def test_other_dots_reach_the_bin_they_name_whatever_the_client(
        lab, bin_: str, path: str, written: str, lands: str) -> None:
    url = lab.url_for(bin_, path)
    assert re.sub(r"^http://127\.0\.0\.1:\d+", "", url) == written
    before = len(lab.captures)
    assert requests.post(url, data=b"{}", timeout=10).status_code == 200
    assert hooklab.send(url, payload={}).status == 200
    got = lab.wait(before + 2, timeout=20)[before:]
    assert [c.bin for c in got] == [lands, lands]
