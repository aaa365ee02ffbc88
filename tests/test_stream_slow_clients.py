"""The /_hooklab/ws stream and its clients: ``since=<time>`` means received after it.
Real labs, real WebSocket clients (Tornado's) on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
import urllib.request
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
