"""The /_hooklab/ws stream and its clients' pace: one big capture is no slow client, ``body=0``
clients are weighed without bodies, a client whose socket stops taking writes is told 1013 (or
cut cleanly when it takes nothing at all), and ``since=<time>`` means received after it.
Real labs, real WebSocket clients (Tornado's) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import logging
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from _http import post, post_each
from tornado import websocket

from hooklab import HookLab

MiB = 1 << 20


def _stats(lab: HookLab) -> dict:
    """The stream's counters as the lab's server keeps them (clients, cut_off, peaks)."""
    return dict(getattr(lab.server, "_hooklab_stream_stats", {}))


async def _read_all(conn: websocket.WebSocketClientConnection, timeout: float = 30) -> list[dict]:
    """Every message until the stream ends (then ``conn.close_code`` / ``close_reason``)."""
    out = []
    while (msg := await asyncio.wait_for(conn.read_message(), timeout)) is not None:
        out.append(json.loads(msg))
    return out


def _post_soon(lab: HookLab, path: str, bodies: list[bytes]) -> asyncio.Future:
    """POST ``bodies`` to ``path`` one after another, on a worker thread: their statuses."""
    port = int(lab.url.rsplit(":", 1)[1])
    return asyncio.get_running_loop().run_in_executor(None, post_each, port, path, bodies)


# -- (1) one capture, however big, never cuts a client off -------------------------------------
@pytest.mark.parametrize("sizes, query, limit_bytes", [
    ([9 * MiB], "", None),                 # the default 16 MiB limit; weighed 2x: cut at ~8 MiB
    ([9 * MiB], "&body=0", None),          # a few hundred bytes of message, weighed as 18 MiB
    ([3 * MiB], "", 1 * MiB),              # %config HookLab.stream_max_pending_bytes = 1 MiB
    ([3 * MiB] * 12, "&body=0", 1 * MiB),  # 12 messages without bodies: far under 1 MiB
], ids=["9MiB", "9MiB-body0", "3MiB-limit1MiB", "12x3MiB-body0-limit1MiB"])
def test_a_prompt_reader_gets_every_capture_whatever_its_body(
        lab: HookLab, sizes: list[int], query: str, limit_bytes: int | None) -> None:
    """A client reading promptly was closed with 1013 "client too slow (1 captures queued)" by
    one capture of a body over ~8 MiB (its weight, twice the body, over the 16 MiB limit),
    also with ``body=0``, whose messages hold no body at all."""
    if limit_bytes is not None:
        lab.stream_max_pending_bytes = limit_bytes
    bodies = [os.urandom(n) for n in sizes]
    with_body = "body=0" not in query

    async def main() -> list[dict]:
        conn = await websocket.websocket_connect(
            lab.stream_url() + query, max_message_size=64 * MiB)
        sent = _post_soon(lab, "/big/x", bodies)
        got = []
        while len(got) < len(bodies):
            msg = await asyncio.wait_for(conn.read_message(), 60)
            assert msg is not None, f"cut off after {len(got)}: {conn.close_code} {conn.close_reason}"
            got.append(json.loads(msg))
        assert await sent == [200] * len(bodies)
        conn.close()
        return got

    got = asyncio.run(main())
    assert [m["size"] for m in got] == sizes
    if with_body:
        assert [base64.b64decode(m["body_b64"]) for m in got] == bodies
    else:
        assert all("body_b64" not in m and "body_text" not in m for m in got)
    assert _stats(lab)["cut_off"] == 0


def test_what_waits_behind_a_big_capture_is_still_bounded(lab: HookLab) -> None:
    """The limit still holds for a client that reads nothing: what queues behind the capture
    it is being sent past ``stream_max_pending_bytes`` closes it with 1013 and the id to
    resume from, every message before that id whole and in order."""
    lab.stream_max_pending_bytes = 1 * MiB
    bodies = [os.urandom(600_000) for _ in range(24)]  # ~19 MB of messages: more than loopback holds

    async def main() -> tuple[list[dict], int | None, str | None]:
        conn = await websocket.websocket_connect(lab.stream_url(), max_message_size=64 * MiB)
        assert await _post_soon(lab, "/slow/x", bodies) == [200] * len(bodies)
        deadline = time.monotonic() + 20
        while _stats(lab)["cut_off"] == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return await _read_all(conn), conn.close_code, conn.close_reason

    got, code, reason = asyncio.run(main())
    ids = [m["id"] for m in got]
    assert code == 1013 and reason is not None and reason.endswith(f"?since={ids[-1]}"), reason
    assert 0 < len(ids) < len(bodies) and ids == list(range(ids[0], ids[0] + len(ids)))
    assert [base64.b64decode(m["body_b64"]) for m in got] == bodies[: len(ids)]
    stats = _stats(lab)
    assert stats["clients"] == 0
    # what was queued: the limit, the next one to go and the one that crossed it (bodies and heads)
    assert stats["peak_pending_bytes"] <= 1 * MiB + 2 * (600_000 + 4096)


# -- (2) a client whose socket stops taking writes -----------------------------------------------
@pytest.fixture
def quick_lab() -> Iterator[HookLab]:
    """A lab whose stream gives a client 1 s to take a write (%config HookLab.stream_write_timeout)."""
    lab = HookLab(port=0, db=":memory:", stream_write_timeout=1).start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.mark.parametrize("pause", [2.5, None], ids=["reads-again", "reads-nothing"])
def test_a_client_that_stops_reading_is_told_1013_or_cut_cleanly(
        quick_lab: HookLab, caplog, pause: float | None) -> None:
    """``stream_write_timeout`` fired: the 1013 close frame was queued behind a write batch the
    client had not read, so even a client that read again soon saw the connection cut
    (1006, no reason, no id), and the server logged "Task exception was never retrieved ...
    WebSocketClosedError" for every write the cut connection failed. Now the close frame comes
    right after the message being written: a client that reads again gets every message up to
    the id to resume from, then 1013 saying it; one that takes nothing at all is cut (its
    messages whole up to where the connection ends), and nothing is logged."""
    lab = quick_lab
    caplog.set_level(logging.ERROR)
    bodies = [json.dumps({"seq": i, "pad": "x" * 50_000}).encode() for i in range(100)]

    async def main() -> tuple[list[dict], int | None, str | None]:
        conn = await websocket.websocket_connect(lab.stream_url(), max_message_size=64 * MiB)
        started = time.monotonic()
        assert await _post_soon(lab, "/bp/x", bodies) == [200] * len(bodies)
        deadline = time.monotonic() + 20
        while _stats(lab)["cut_off"] == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert _stats(lab)["cut_off"] == 1
        if pause is not None:  # busy elsewhere for longer than stream_write_timeout (1 s)
            await asyncio.sleep(max(0.0, pause - (time.monotonic() - started)))
        else:  # past Tornado's closing handshake (5 s): the server gave up on the connection
            await asyncio.sleep(7)
        return await _read_all(conn), conn.close_code, conn.close_reason

    got, code, reason = asyncio.run(main())
    ids = [m["id"] for m in got]
    assert 0 < len(ids) < len(bodies) and ids == list(range(ids[0], ids[0] + len(ids)))
    assert [json.loads(m["body_text"])["seq"] for m in got] == list(range(len(ids)))
    if pause is not None:
        assert code == 1013, (code, reason)
        assert reason == f"client too slow (nothing read for 1 s); resume with ?since={ids[-1]}"
    else:  # the server's close frame never got in: the connection ended without one
        assert (code, reason) == (None, None)
    stats = _stats(lab)
    assert stats["cut_off"] == 1 and stats["clients"] == 0
    gc.collect()  # (an exception never retrieved is logged when its task is collected)
    time.sleep(0.2)
    gc.collect()
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged == []


# -- (3) since=<time>: received after it -----------------------------------------------------
@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=-5)], ids=["utc", "utc-5"])
def test_since_a_time_sends_only_captures_received_after_it(lab: HookLab, offset: timedelta) -> None:
    """``lab.stream_url(since=<a time to come>)`` streamed the captures the lab received
    before that time (the cursor, an id, started from the newest stored); the read API and
    ``lab.dataframe(since=)`` leave them out, as the stream now does."""
    post(lab.url_for("before", "0"), b"{}")  # stored before the stream opens: before the cutoff
    cutoff = datetime.now(timezone.utc) + timedelta(seconds=1.5)

    async def main() -> list[str]:
        url = lab.stream_url(since=cutoff.astimezone(timezone(offset)))
        conn = await websocket.websocket_connect(url)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, post, lab.url_for("early", "1"), b"{}")
        await loop.run_in_executor(None, post, lab.url_for("early", "2"), b"{}")
        while datetime.now(timezone.utc) <= cutoff + timedelta(seconds=0.2):
            await asyncio.sleep(0.05)
        await loop.run_in_executor(None, post, lab.url_for("late", "3"), b"{}")
        paths = []
        while not paths or paths[-1] != "/late/3":
            msg = await asyncio.wait_for(conn.read_message(), 10)
            assert msg is not None, (conn.close_code, conn.close_reason)
            paths.append(json.loads(msg)["path"])
        conn.close()
        return paths

    paths = asyncio.run(main())
    assert paths == ["/late/3"]
    # as the read API answers the same since=
    req = urllib.request.Request(
        lab.url + "/_hooklab/api/captures?since=" + urllib.parse.quote(cutoff.isoformat()),
        headers={"Authorization": "token " + lab.api_token})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert [c["path"] for c in json.loads(r.read())["captures"]] == ["/late/3"]


def test_since_a_past_time_replays_from_the_first_capture_after_it(lab: HookLab) -> None:
    """A time between stored captures: those received after it, then live ones."""
    post(lab.url_for("a", "1"), b"{}")
    time.sleep(0.05)
    cutoff = datetime.now(timezone.utc)
    time.sleep(0.05)
    post(lab.url_for("a", "2"), b"{}")

    async def main() -> list[str]:
        conn = await websocket.websocket_connect(lab.stream_url(since=cutoff))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, post, lab.url_for("a", "3"), b"{}")
        got = [json.loads(await asyncio.wait_for(conn.read_message(), 10))["path"] for _ in range(2)]
        conn.close()
        return got

    assert asyncio.run(main()) == ["/a/2", "/a/3"]
