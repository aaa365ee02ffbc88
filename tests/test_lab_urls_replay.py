"""``lab.url_for(bin, path)`` encodes the path as it encodes the bin. Real labs on 127.0.0.1."""

from __future__ import annotations

import pytest

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
