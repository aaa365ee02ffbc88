"""The one filter vocabulary, met as users meet it: lab.wait/dataframe/captures, API and stream."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

import hooklab
from hooklab.filters import FILTER_KEYS


@pytest.fixture
def mixed():
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        sends = [
            ("github", "github", "push", None),
            ("github", "github", "pull_request.opened", None),
            ("stripe", "stripe", "invoice.paid", {"type": "invoice.paid", "note": "Refund-42 ok"}),
            ("shop", "shopify", "orders/create", None),
        ]
        for b, provider, event, payload in sends:
            hooklab.send(lab.url_for(b), provider=provider, event=event, payload=payload)
        lab.wait(4, timeout=10)
        yield lab
    finally:
        lab.stop()


def test_every_key_is_documented_and_accepted(mixed):
    assert FILTER_KEYS == ("bin", "method", "provider", "event_type", "path", "kind", "verified",
                           "since", "until", "search")
    for key in FILTER_KEYS:
        assert key in hooklab.filters.__doc__


@pytest.mark.parametrize(
    "filters, expected_bins",
    [
        ({"bin": "github"}, ["github", "github"]),
        ({"bin": ["shop", "stripe"]}, ["stripe", "shop"]),
        ({"method": "post", "provider": "stripe"}, ["stripe"]),
        ({"event_type": "pull_request"}, []),  # exact: the event type is pull_request.opened
        ({"search": "refund-42"}, ["stripe"]),  # case-insensitive, in the body
        ({"search": "x-github-event"}, ["github", "github"]),  # header names
        ({"search": "no such text anywhere"}, []),
        ({"kind": "ws"}, []),  # (ws_in, ws_out were never kinds: a ValueError now)
        ({"since": 2}, ["stripe", "shop"]),
        ({"until": datetime(2000, 1, 1, tzinfo=timezone.utc)}, []),
        ({"until": 2}, ["github", "github"]),  # a capture id: that one and older
        ({"since": 1, "until": 3}, ["github", "stripe"]),
        ({"until": 0}, []),
        ({"since": np.int64(2), "until": np.int64(3)}, ["stripe"]),  # ids read from a frame
        ({"bin": None}, ["github", "github", "stripe", "shop"]),  # None means "no filter"
    ],
)
def test_same_answer_from_every_entry_point(mixed, filters, expected_bins):
    lab = mixed
    assert [c.bin for c in lab.query(**filters)] == expected_bins
    assert list(lab.dataframe(**filters)["bin"]) == expected_bins
    assert [c.bin for c in lab.wait(len(expected_bins), timeout=1, **filters)] == expected_bins
    query = {k: (v if not isinstance(v, datetime) else v.isoformat()) for k, v in filters.items()
             if v is not None and not isinstance(v, list)}
    if all(not isinstance(v, list) for v in filters.values()):
        url = lab.url + "/_hooklab/api/captures?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, headers=_auth(lab))
        with urllib.request.urlopen(req, timeout=10) as r:
            body = json.loads(r.read())
        if "since" not in filters:  # the API's since is its cursor, same meaning for ids
            assert [c["bin"] for c in body["captures"]] == expected_bins


def _auth(lab):
    token = getattr(lab, "api_token", None)
    return {"Authorization": f"token {token}"} if token else {}


@pytest.mark.parametrize(
    "filters, message",
    [
        ({"colour": "red"}, "unknown capture filter 'colour'"),
        ({"since": "yesterday"}, "since= takes a capture id or a datetime"),
        ({"until": "tomorrow"}, "until= takes a capture id or a datetime"),
        ({"until": True}, "until= takes a capture id or a datetime"),
        ({"until": 2.5}, "until= takes a capture id or a datetime"),
        ({"bin": 3}, "filter bin= takes a string"),
        ({"search": b"bytes"}, "search= takes text"),
        ({"since": True}, "since= takes a capture id or a datetime"),
    ],
)
def test_bad_filters_are_refused_everywhere_with_the_same_message(mixed, filters, message):
    for call in (mixed.dataframe, mixed.query, mixed.live,
                 lambda **f: mixed.wait(1, timeout=0.1, **f)):
        with pytest.raises(TypeError, match=message):
            call(**filters)


@pytest.mark.parametrize("query, status", [
    ("since=abc", 400), ("until=notatime", 400), ("until=3", 200), ("until=3x", 400),
    # an unknown parameter is said (400), as the Python API's TypeError says an unknown filter:
    # it was ignored (200), so a typo (bni= for bin=) gave every capture (an API consumer)
    ("colour=red", 400), ("search=", 200), ("_=1700000000", 200),
])
def test_api_refuses_malformed_filter_values(mixed, query, status):
    url = mixed.url + "/_hooklab/api/captures?" + query
    req = urllib.request.Request(url, headers=_auth(mixed))
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            got = r.status
    except urllib.error.HTTPError as e:
        got = e.code
    assert got == status


def test_wait_timeout_message_names_the_filters(mixed):
    with pytest.raises(TimeoutError, match=r"search='nothing like this'.*matched 0|0.*search="):
        mixed.wait(1, timeout=0.2, search="nothing like this")


def test_datetime_since_and_until(mixed):
    caps = list(mixed.captures)
    mid = caps[1].received_at
    assert [c.id for c in mixed.query(since=mid)] == [c.id for c in caps[2:]]
    assert [c.id for c in mixed.query(until=mid)] == [c.id for c in caps[:2]]
    naive = (mid + timedelta(0)).replace(tzinfo=None)  # naive datetimes are UTC
    assert [c.id for c in mixed.query(since=naive)] == [c.id for c in caps[2:]]
    # ISO 8601 text, as a pandas user writes a time (it was a TypeError; the API took it)
    for text in (mid.isoformat(), naive.isoformat(), mid.isoformat().replace("+00:00", "Z")):
        assert [c.id for c in mixed.query(since=text)] == [c.id for c in caps[2:]], text
        assert list(mixed.dataframe(until=text)["id"]) == [c.id for c in caps[:2]], text
    assert [c.id for c in mixed.query(since=str(caps[1].id))] == [c.id for c in caps[2:]]


def test_a_provider_filter_with_a_typo_says_so() -> None:
    """``provider="githubb"`` matched nothing, silently: an empty frame, or a wait that ran
    out its timeout without a hint. Then a warning, and the timeout's message, said why; now
    it is refused, as ``kind="bogus"`` is (``assert_received(count=0, provider="Stripe")``
    passed: tests/test_provider_filter_names.py)."""
    import warnings

    import hooklab

    lab = hooklab.HookLab(port=0, db=":memory:")
    try:
        lab.store.add_sync({"method": "POST", "path": "/gh", "body": b"{}",
                            "headers": [("X-GitHub-Event", "push")]})
        with pytest.raises(ValueError, match=r"'githubb' is not a provider hooklab detects \(did you mean 'github'\?\)"):
            lab.dataframe(provider="githubb")
        with pytest.raises(ValueError, match="did you mean 'github'"):
            lab.wait(1, timeout=0.2, provider="githubb")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert len(lab.dataframe(provider="github")) == 1
            assert lab.dataframe(provider="stripe").empty  # a real provider, none yet: no warning
            lab.dataframe(provider="unknown")  # (the name of "none detected" in exports)
    finally:
        lab.stop()


# -- verified=, and several values of a field filter in a URL ----------------------------------
@pytest.fixture
def signed(tmp_path):
    """github: 2 correctly signed, 1 with a wrong secret; plain: no secret (neither)."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "s.sqlite3")).start()
    try:
        lab.secret("github", "right-secret", provider="github")
        for secret in ("right-secret", "wrong-secret", "right-secret"):
            hooklab.send(lab.url_for("github"), provider="github", event="push", secret=secret)
        hooklab.send(lab.url_for("plain"), payload={"a": 1})
        caps = lab.wait(4, timeout=10)
        assert [c.verified for c in caps] == [True, False, True, None]
        yield lab
    finally:
        lab.stop()


def _api(lab, query: str):
    req = urllib.request.Request(lab.url + "/_hooklab/api/captures?" + query, headers=_auth(lab))
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.parametrize("value, spelled, expected", [
    (True, "true", [1, 3]), (False, "false", [2]), (True, "1", [1, 3]), (False, "0", [2]),
    (True, "YES", [1, 3]), (False, "no", [2]),
])
def test_verified_filter_from_every_entry_point(signed, tmp_path, value, spelled, expected):
    lab = signed
    assert [c.id for c in lab.query(verified=value)] == expected
    assert [c.id for c in lab.query(verified=spelled)] == expected
    assert [c.id for c in lab.query(verified=np.bool_(value))] == expected  # (from a frame)
    assert list(lab.dataframe(verified=value)["id"]) == expected
    assert [c.id for c in lab.wait(len(expected), timeout=1, verified=value)] == expected
    lab.assert_received(count=len(expected), verified=value)
    status, body = _api(lab, f"verified={spelled}")
    assert status == 200 and [c["id"] for c in body["captures"]] == expected
    # a Parquet export opened in place answers the same
    folder = tmp_path / f"pq-{spelled}"
    lab.export(str(folder), fmt="parquet")
    opened = hooklab.open(str(folder))
    assert [c.id for c in opened.query(verified=value)] == expected
    assert list(opened.dataframe(verified=value)["id"]) == expected
    # with another filter, and never the captures nobody checked
    assert [c.id for c in lab.query(verified=value, bin="plain")] == []


def test_verified_filter_refuses_what_is_not_true_or_false(signed):
    assert len(signed.query(verified=None)) == 4  # (no filter, as for every key)
    for bad in ("maybe", 2, 1.0, "", "none"):
        with pytest.raises(TypeError, match="verified= takes True or False"):
            signed.query(verified=bad)
    status, body = _api(signed, "verified=maybe")
    assert status == 400 and "verified" in body


def test_a_field_filter_given_twice_in_a_url_means_any_of_them(signed):
    status, body = _api(signed, "bin=plain&bin=github&verified=true")
    assert status == 200 and [c["id"] for c in body["captures"]] == [1, 3]
    status, body = _api(signed, "bin=plain&bin=nothing")
    assert status == 200 and [c["id"] for c in body["captures"]] == [4]
    for query in ("search=a&search=b", "verified=true&verified=false", "until=2&until=3"):
        status, body = _api(signed, query)
        assert status == 400 and "takes one value" in body, query


def test_stream_url_lists_and_verified(signed):
    import asyncio

    from tornado import websocket

    url = signed.stream_url(since=0, bin=["plain", "github"], verified=False)
    assert "bin=plain&bin=github&verified=0" in url

    async def read() -> list[int]:
        conn = await websocket.websocket_connect(url)
        ids = []
        while True:
            msg = await asyncio.wait_for(conn.read_message(), 2)
            data = json.loads(msg)
            if data.get("id") is not None:
                ids.append(data["id"])
            if len(ids) == 1:
                break
        conn.close()
        return ids

    assert asyncio.run(read()) == [2]


def test_since_as_a_time_in_the_api_and_the_stream(mixed):
    """(a new user) since= took an ISO time in Python and until= did in the API, but the API
    answered since=<time> 400 ('since and limit must be integers') and the stream closed 1008,
    though stream_url(since=<datetime>) wrote it."""
    import asyncio

    from tornado import websocket

    caps = list(mixed.captures)
    mid = caps[1].received_at
    want = [c.id for c in caps[2:]]
    for spelled in (mid.isoformat(), mid.isoformat().replace("+00:00", "Z")):
        url = (mixed.url + "/_hooklab/api/captures?" + urllib.parse.urlencode({"since": spelled}))
        with urllib.request.urlopen(urllib.request.Request(url, headers=_auth(mixed)), timeout=10) as r:
            assert [c["id"] for c in json.loads(r.read())["captures"]] == want, spelled

    async def stream() -> list[int]:
        conn = await websocket.websocket_connect(mixed.stream_url(since=mid, body=False))
        ids = []
        try:
            while len(ids) < len(want):
                msg = await asyncio.wait_for(conn.read_message(), 5)
                assert msg is not None, (conn.close_code, conn.close_reason)
                ids.append(json.loads(msg)["id"])
        finally:
            conn.close()
        return ids

    assert asyncio.run(stream()) == want
    url = mixed.url + "/_hooklab/api/captures?since=yesterday"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(url, headers=_auth(mixed)), timeout=10)
    assert err.value.code == 400


@pytest.mark.parametrize("kind", ["ws_in", "ws_out", "wss", "HTTP", ""])
def test_a_kind_that_is_none_is_said(mixed, kind):
    """(a new user) hooklab.filters listed kinds ws_in / ws_out, which never existed: a kind
    that is no kind matched nothing, silently. It is a ValueError (400 in the API)."""
    if kind == "":
        assert len(mixed.query(kind=kind or None)) == 4
        return
    with pytest.raises(ValueError, match="kind= is one of http, ws"):
        mixed.dataframe(kind=kind)
    status, body = _api(mixed, f"kind={kind}")
    assert status == 400 and "kind= is one of http, ws" in body


def test_an_import_of_a_kind_that_is_none_is_refused(tmp_path):
    """An imported capture of a kind no filter could select (``ws_in``) is refused with the
    line that says it, as other impossible fields are."""
    path = tmp_path / "k.jsonl"
    path.write_text(json.dumps({"method": "POST", "path": "/x", "kind": "ws_in",
                                "received_at": "2026-01-01T00:00:00Z"}) + "\n")
    with pytest.raises(ValueError, match="kind 'ws_in' is not one of http, ws"):
        hooklab.load_jsonl(path)
