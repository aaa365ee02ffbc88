"""``lab.public_url`` refuses a name that is no bin; when its message says what to write, that
name is one ``public_url`` takes. ``public_url('_hooklab/api')`` said "write '_hooklab'", and
``public_url('_hooklab')`` then refused it (the lab's own API, never a bin)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from _jupyter_server import running_lab

import hooklab

HOST = "https://hub.example.org"

#: name -> the bin the advice must name, or None: refused with no advice to write another name
NAMES = {
    "_hooklab/api": None,
    "_hooklab": None,
    "_hooklabx/y": None,
    "../x": None,
    "./x": None,
    "%2e%2e": None,
    "%2E": None,
    "%2e%2e/x": None,
    "_hook%6Cab": None,
    "_hook%6Cab/x": None,
    "%5Fhooklab": None,
    "/_hooklab/": None,
    "": None,
    "github/push": "github",
    "a/b/c": "a",
    "caf%C3%A9": "café",
    "caf%C3%A9/x": "café",
    "a%2Fb/c": None,  # (a bin with a "/" inside: the relay takes none)
    "a%2Fb": None,
}


@pytest.fixture(scope="module")
def lab() -> Iterator[hooklab.HookLab]:
    with running_lab() as started:
        yield started


@pytest.mark.parametrize("name", list(NAMES))
def test_the_advice_names_a_bin_public_url_takes(lab: hooklab.HookLab, name: str) -> None:
    with pytest.raises(ValueError) as refused:
        lab.public_url(name, host=HOST)
    advised = re.findall(r"\bwrite ('(?:[^'\\]|\\.)*')", str(refused.value))
    want = NAMES[name]
    assert advised == ([repr(want)] if want is not None else []), str(refused.value)
    if want is not None:  # the advice, followed, is taken
        assert "/hooklab/in/" in lab.public_url(want, host=HOST)
