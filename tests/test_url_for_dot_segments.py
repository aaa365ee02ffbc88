"""``lab.url_for`` writes a ``.`` or ``..`` segment (the bin, or one of ``path``) as ``%2E``:
clients remove dot segments before they send (RFC 3986 5.2.4: requests/urllib3, curl,
browsers), so a POST to ``url_for("..") + "/x"`` reached bin ``x``, mixed into that bin's
captures, while ``hooklab.send`` (which sends the path as written) reached bin ``..`` (an
outside tester). Every other character a URL cannot hold as it is was escaped already."""

from __future__ import annotations

import re

import pytest
import requests  # (JupyterLab's own dependency: what a sender's Python code uses)

import hooklab

#: (bin, path) -> the URL's path as written, and the capture's bin and path, by RFC 3986
CASES = [
    ("..", "", "/%2E%2E", "..", "/%2E%2E"),
    (".", "", "/%2E", ".", "/%2E"),
    ("..", "x", "/%2E%2E/x", "..", "/%2E%2E/x"),
    ("a", "../b", "/a/%2E%2E/b", "a", "/a/%2E%2E/b"),
    ("a", "./b/.", "/a/%2E/b/%2E", "a", "/a/%2E/b/%2E"),
    ("a", "b/..?q=..", "/a/b/%2E%2E?q=..", "a", "/a/b/%2E%2E"),  # (a query keeps its dots)
    ("a", "...", "/a/...", "a", "/a/..."),  # (three dots: no dot segment)
    ("a", "..x/x..", "/a/..x/x..", "a", "/a/..x/x.."),
    ("...", "", "/...", "...", "/..."),
]


@pytest.fixture(scope="module")
def lab():
    lab = hooklab.HookLab(port=0, db=":memory:").start()  # (not the default lab: conftest
    yield lab  # stops that one after each test)
    lab.stop()


@pytest.mark.parametrize(("bin_", "path", "written", "lands", "stored"), CASES)
def test_a_dot_segment_reaches_the_bin_it_names_whatever_the_client(
        lab, bin_: str, path: str, written: str, lands: str, stored: str) -> None:
    url = lab.url_for(bin_, path)
    assert re.sub(r"^http://127\.0\.0\.1:\d+", "", url) == written
    before = len(lab.captures)
    assert requests.post(url, data=b"{}", timeout=10).status_code == 200
    assert hooklab.send(url, payload={}).status == 200
    got = lab.wait(before + 2, timeout=20)[before:]
    # (urllib3 writes an escaped unreserved character as itself, after removing dot
    # segments: the server sees /a/../b, stored as sent, in bin a all the same)
    assert [(c.bin, c.path) for c in got] == [(lands, stored.replace("%2E", ".")),
                                              (lands, stored)]
