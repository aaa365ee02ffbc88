"""A token a bin's check takes from the query (Meta's ``hub.verify_token``, a bin's own secret
sent as ``?token=``) is stored as ``[secret]`` however short it is, as the same token in a
header is (README: "A token a sender puts in a header or the query ... is stored as
[secret]"); a value that is not the token stays as it was sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _http import exact_request

import hooklab
from hooklab import HookLab


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("lab") / "captures.sqlite3"
    started = HookLab(port=0, db=str(db)).start()
    started.secret("wa", None, provider="meta", verify_token="vtk12")
    started.secret("own", "own12")
    started.secret("sp", "a b1")  # (a token with a space: a query sends it as "+" or "%20")
    try:
        yield started
    finally:
        started.stop()


_HUB = "/wa?hub.mode=subscribe&hub.challenge=42&hub.verify_token="

# (request target; status; verified; the URL's query as stored; the query as stored)
CASES = [
    ("meta token", _HUB + "vtk12", 200, True,
     "hub.mode=subscribe&hub.challenge=42&hub.verify_token=[secret]",
     {"hub.mode": ["subscribe"], "hub.challenge": ["42"], "hub.verify_token": ["[secret]"]}),
    ("meta token percent-encoded", _HUB + "vtk%31%32", 200, True,
     "hub.mode=subscribe&hub.challenge=42&hub.verify_token=[secret]",
     {"hub.mode": ["subscribe"], "hub.challenge": ["42"], "hub.verify_token": ["[secret]"]}),
    ("meta wrong token: kept", _HUB + "vtk13", 403, False,
     "hub.mode=subscribe&hub.challenge=42&hub.verify_token=vtk13",
     {"hub.mode": ["subscribe"], "hub.challenge": ["42"], "hub.verify_token": ["vtk13"]}),
    ("own token", "/own?token=own12", 200, True, "token=[secret]", {"token": ["[secret]"]}),
    ("own token percent-encoded", "/own?token=%6Fwn12", 200, True, "token=[secret]",
     {"token": ["[secret]"]}),
    ("own token in two fields", "/own?a=own12&token=own12&b=own1", 200, True,
     "a=[secret]&token=[secret]&b=own1",
     {"a": ["[secret]"], "token": ["[secret]"], "b": ["own1"]}),
    ("own token with a space as +", "/sp?token=a+b1", 200, True, "token=[secret]",
     {"token": ["[secret]"]}),
    ("own token with a space as %20", "/sp?t=a%20b1", 200, True, "t=[secret]",
     {"t": ["[secret]"]}),
    ("own wrong token: kept", "/own?token=own13", 200, False, "token=own13", {"token": ["own13"]}),
]


@pytest.mark.parametrize(("name", "target", "status", "verified", "url_query", "query"), CASES,
                         ids=[c[0] for c in CASES])
def test_a_short_token_in_the_query_is_stored_hidden(lab: HookLab, tmp_path: Path, name: str,
                                                     target: str, status: int, verified: bool,
                                                     url_query: str, query: dict) -> None:
    before = len(lab.captures)
    assert exact_request(lab.bound_port, "GET", target)[0] == status
    cap = lab.wait(before + 1, timeout=10)[-1]
    assert cap.verified is verified, (name, cap.verify_reason)
    assert cap.url.split("?", 1)[1] == url_query
    assert cap.query == query
    path = tmp_path / "out.jsonl"
    lab.export(str(path), fmt="jsonl", since=cap.id - 1)
    line = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert line["url"] == cap.url and line["query"] == query
    if verified:
        for token in ("vtk12", "own12", "a b1", "a+b1", "a%20b1", "%6Fwn12", "vtk%31%32"):
            assert token not in json.dumps([line["url"], line["query"]])


def test_replay_gives_the_query_token_back(lab: HookLab) -> None:
    """A capture whose query token is stored as ``[secret]`` is replayed with the token as
    sent, so a target that checks it accepts the replay."""
    before = len(lab.captures)
    assert exact_request(lab.bound_port, "GET", "/own?token=own12&x=1")[0] == 200
    cap = lab.wait(before + 1, timeout=10)[-1]
    assert cap.query == {"token": ["[secret]"], "x": ["1"]}
    with hooklab.HookLab(port=0, db=":memory:") as target:
        target.start()
        lab.replay([cap.id], to=target.url_for("app"))
        (got,) = target.wait(1, timeout=10)
        assert got.query == {"token": ["own12"], "x": ["1"]}
