"""Store promises pinned by expected values: each test kills mutants that survived the suite.

Found by ``tools/mutate.py`` over ``hooklab/store/`` (tests/reliability/README.md, "Mutation
score"). Real SQLite files in ``tmp_path``; the capture handed back on storing, the one a
subscriber gets and the one read back later must all say the same.
"""

from __future__ import annotations

import sqlite3
import threading

import pytest

from hooklab.store import CaptureStore
from hooklab.store.store import StoreBusy

MIB = 1024 * 1024


def _three_views(store: CaptureStore, record: dict) -> list:
    """The capture as ``add_sync`` returns it, as a subscriber gets it, and as read back."""
    got = []
    unsubscribe = store.subscribe(got.append)
    try:
        stored = store.add_sync(record)
    finally:
        unsubscribe()
    assert [c.id for c in got] == [stored.id]
    return [stored, got[0], store.get(stored.id)]


@pytest.mark.parametrize("status", [200, 202, 404, 503])
def test_status_is_stored_as_answered(tmp_path, status: int) -> None:
    with CaptureStore(tmp_path / "s.sqlite3", durability="normal") as store:
        caps = _three_views(store, {"method": "POST", "path": "/s", "body": b"x",
                                    "status": status})
        assert [c.status for c in caps] == [status] * 3
        assert store.rows("status") == [(status,)]


def test_query_is_in_every_view(tmp_path) -> None:
    query = {"a": ["1", "2"], "empty": [""], "é": ["ü"]}
    with CaptureStore(tmp_path / "q.sqlite3", durability="normal") as store:
        caps = _three_views(store, {"method": "GET", "path": "/q", "query": query})
        assert [c.query for c in caps] == [query] * 3


@pytest.mark.parametrize("verified,reason", [(True, "ok"), (False, "signature mismatch"),
                                             (None, None), (None, "no secret for this bin"),
                                             (False, None)])
def test_verified_is_true_false_or_none_in_every_view(tmp_path, verified, reason) -> None:
    with CaptureStore(tmp_path / "v.sqlite3", durability="normal") as store:
        caps = _three_views(store, {"method": "POST", "path": "/v", "body": b"{}",
                                    "verified": verified, "verify_reason": reason})
        assert [(c.verified, c.verify_reason) for c in caps] == [(verified, reason)] * 3


def test_lone_surrogates_read_back_exactly(tmp_path) -> None:
    # what an imported HAR can hold (JSON "\udcff" escapes); orjson refuses to write or read
    # them, the standard library does both
    headers = [("X-Odd", "a\udcffb"), ("X-Plain", "v")]
    query = {"q\ud800": ["\udfff"]}
    path = tmp_path / "u.sqlite3"
    with CaptureStore(path, durability="normal") as store:
        caps = _three_views(store, {"method": "POST", "path": "/u", "headers": headers,
                                    "query": query, "body": b"b"})
        assert [(c.headers, c.query) for c in caps] == [(headers, query)] * 3
    with CaptureStore(path, readonly=True) as again:
        cap = again.get(1)
        assert cap is not None and (cap.headers, cap.query) == (headers, query)


def test_write_queue_holds_64_mib_of_bodies_then_refuses(tmp_path) -> None:
    """``submit`` (the server's) takes bodies up to QUEUE_BYTES (64 MiB) waiting for the
    writer, and a bodiless capture on top; then refuses with StoreBusy until there is room."""
    path = tmp_path / "b.sqlite3"
    store = CaptureStore(path, durability="normal")
    other = sqlite3.connect(path, isolation_level=None)
    body = b"x" * MIB  # one object for every record: the test itself stays small
    done: list[object] = []
    ready = threading.Event()

    def on_done(result: object) -> None:
        done.append(result)
        if len(done) == 65:
            ready.set()

    try:
        other.execute("BEGIN IMMEDIATE")  # the writer cannot commit: nothing leaves the queue
        for _ in range(64):
            store.submit({"method": "POST", "path": "/b", "body": body}, on_done)
        store.submit({"method": "POST", "path": "/b"}, on_done)  # no body: no bytes
        for extra in (b"y", body):
            with pytest.raises(StoreBusy, match="write queue is full"):
                store.submit({"method": "POST", "path": "/b", "body": extra}, on_done)
        other.execute("COMMIT")
        assert ready.wait(30)
        assert not [r for r in done if isinstance(r, BaseException)]
        assert store.count() == 65
        assert sum(len(c.body) for c in store.query()) == 64 * MIB
        # room again
        store.submit({"method": "POST", "path": "/b", "body": b"z"}, on_done)
        store.flush()
        assert store.count() == 66
    finally:
        other.close()
        store.close()


def test_forward_outcomes_reach_on_forward_after_they_are_stored(tmp_path) -> None:
    from hooklab.capture import ForwardOutcome

    with CaptureStore(tmp_path / "f.sqlite3", durability="normal") as store:
        cap = store.add_sync({"method": "POST", "path": "/f", "body": b"{}"})
        seen: list[tuple[int, int]] = []  # (capture id, its forwards stored when called)
        two = threading.Event()

        def on_forward(cid: int) -> None:
            seen.append((cid, len(store.forwards(cid))))
            if len(seen) == 2:
                two.set()

        unsubscribe = store.subscribe(lambda c: None, on_forward=on_forward)
        store.record_forward(ForwardOutcome(cap.id, "http://127.0.0.1:9/x", 502, 1.5, "refused"))
        store.flush()  # two writer batches: each outcome is committed before its call
        store.record_forward(ForwardOutcome(cap.id, "http://127.0.0.1:9/x", 200, 2.0))
        assert two.wait(10)
        assert seen == [(cap.id, 1), (cap.id, 2)]
        unsubscribe()
        later = threading.Event()  # subscribed after: called after the first one would be
        store.subscribe(lambda c: None, on_forward=lambda cid: later.set())
        store.record_forward(ForwardOutcome(cap.id, "http://127.0.0.1:9/x", 200, 1.0))
        assert later.wait(10)
        assert seen == [(cap.id, 1), (cap.id, 2)]
        assert [(f["status"], f["error"]) for f in store.forwards(cap.id)] == [
            (502, "refused"), (200, None), (200, None)]


def test_count_with_search_and_another_filter(tmp_path) -> None:
    # the search index answers, with the other filter applied to the joined rows
    records = [("POST", "/a", b'{"event": "needle.found"}'), ("GET", "/a", b"needle"),
               ("POST", "/b", b"needle in body"), ("POST", "/a", b"hay only")]
    with CaptureStore(tmp_path / "c.sqlite3", durability="normal") as store:
        for method, path, body in records:
            store.add_sync({"method": method, "path": path, "body": body})
        assert store.count(search="needle") == 3
        assert store.count(search="needle", method="POST") == 2
        assert store.count(search="needle", bin="a") == 2
        assert store.count(search="needle", method="POST", bin="a") == 1
        store.add_sync({"method": "POST", "path": "/a", "body": b"another needle"})
        assert store.count(search="needle", method="POST") == 3  # brought up to date
        assert [c.id for c in store.query(search="needle", method="POST")] == [1, 3, 5]


@pytest.mark.timeout(30)
def test_wait_for_without_a_timeout_returns_when_the_capture_arrives(tmp_path) -> None:
    with CaptureStore(tmp_path / "w.sqlite3", durability="normal") as store:
        sender = threading.Timer(0.3, lambda: store.add_sync({"method": "POST", "path": "/w"}))
        sender.start()
        try:
            assert store.wait_for(lambda: store.count() == 1, None) is True
        finally:
            sender.join(10)
        assert store.wait_for(lambda: store.count() == 2, 0.3) is False


def test_clear_calls_on_clear_once_after_the_rows_are_gone(tmp_path) -> None:
    with CaptureStore(tmp_path / "x.sqlite3", durability="normal") as store:
        for _ in range(3):
            store.add_sync({"method": "POST", "path": "/x"})
        counts: list[int] = []
        unsubscribe = store.subscribe(lambda c: None, on_clear=lambda: counts.append(store.count()))
        assert store.clear() == 3
        assert counts == [0]
        unsubscribe()
        store.add_sync({"method": "POST", "path": "/x"})
        assert store.clear() == 1
        assert counts == [0]
