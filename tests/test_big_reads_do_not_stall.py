"""Reading one big capture through ``/_hooklab/`` (the API or the stream) holds up no webhook.

A 16 MiB body (``max_body``) is ~123 MB of JSON; it was read, built and encoded on the capture
server's own loop, and every webhook sent meanwhile waited a second or more for its answer.
Real lab, real SQLite file, readers in other processes, small webhooks over real sockets.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import orjson
import pytest

from hooklab import HookLab
from hooklab.capture import capture_to_dict

BIG = 16 * 1024 * 1024 - 100  # the 16 MiB max_body, as the tester sent it
READS = 3

_API_READER = """
import hashlib, json, sys, time, urllib.request
url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
out = []
for _ in range(n):
    t = time.monotonic()
    req = urllib.request.Request(url, headers={"Authorization": "token " + token})
    with urllib.request.urlopen(req, timeout=120) as r:
        data = r.read()
    out.append({"took": time.monotonic() - t, "sha1": hashlib.sha1(data).hexdigest(),
                "len": len(data), "text": True})
print(json.dumps(out))
"""

_STREAM_READER = """
import base64, hashlib, json, os, socket, struct, sys, time, urllib.parse
url, n = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[3])
def exact(sock, k):
    buf = bytearray()
    while len(buf) < k:
        got = sock.recv(min(k - len(buf), 1 << 20))
        assert got, "closed"
        buf += got
    return bytes(buf)
out = []
for _ in range(n):  # a plain WebSocket client: the first message, then hang up
    t = time.monotonic()
    sock = socket.create_connection((url.hostname, url.port), timeout=120)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {url.path}?{url.query} HTTP/1.1\\r\\nHost: {url.netloc}\\r\\n"
                  "Upgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
                  f"Sec-WebSocket-Key: {key}\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n").encode())
    head = b""
    while not head.endswith(b"\\r\\n\\r\\n"):
        head += exact(sock, 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    b0, b1 = exact(sock, 2)
    size = b1 & 0x7F
    if size == 126:
        size = struct.unpack("!H", exact(sock, 2))[0]
    elif size == 127:
        size = struct.unpack("!Q", exact(sock, 8))[0]
    assert b0 == 0x81 and not b1 & 0x80, (b0, b1)  # one final, unmasked frame
    msg = exact(sock, size)
    sock.close()
    out.append({"took": time.monotonic() - t, "text": b0 & 0x0F == 1,
                "sha1": hashlib.sha1(msg).hexdigest(), "len": len(msg)})
print(json.dumps(out))
"""


@pytest.fixture
def big_lab(tmp_path) -> Iterator[HookLab]:
    lab = HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=120)
        conn.request("POST", "/big", body=b"\x01" * BIG)
        assert conn.getresponse().status == 200
        conn.close()
        yield lab
    finally:
        lab.stop()


def _webhook_latencies(port: int | None, stop: threading.Event, gap: float = 0.02) -> list[float]:
    out: list[float] = []
    while not stop.is_set():
        t = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/small", body=b"hi")
        r = conn.getresponse()
        r.read()
        conn.close()
        assert r.status == 200
        out.append(time.monotonic() - t)
        time.sleep(gap)
    return out


def _while_reading(lab: HookLab, script: str, url: str) -> tuple[list[float], list[dict]]:
    """Small webhooks' latencies while another process reads the big capture READS times."""
    stop = threading.Event()
    lat: list[float] = []
    sender = threading.Thread(target=lambda: lat.extend(_webhook_latencies(lab.bound_port, stop)))
    reader = subprocess.Popen([sys.executable, "-c", script, url, lab.api_token, str(READS)],
                              stdout=subprocess.PIPE, text=True)
    sender.start()
    try:
        out, _ = reader.communicate(timeout=600)
    finally:
        stop.set()
        sender.join(120)
    assert reader.returncode == 0
    return lat, json.loads(out)


@pytest.mark.parametrize("way", ["api", "stream"])
def test_webhooks_are_answered_while_a_big_capture_is_read(big_lab: HookLab, way: str) -> None:
    lab = big_lab
    cap = lab.store.get(1)
    assert cap is not None and cap.size == BIG
    idle_stop = threading.Event()
    threading.Timer(1.0, idle_stop.set).start()
    idle = _webhook_latencies(lab.bound_port, idle_stop)  # the same machine, the same load, no reader
    if way == "api":
        url = f"{lab.url}/_hooklab/api/captures/1"
        expected = json.dumps(capture_to_dict(cap)).encode()  # (the answer as it always was)
        lat, reads = _while_reading(lab, _API_READER, url)
    else:
        url = lab.stream_url(since=0, bin="big")
        expected = orjson.dumps(capture_to_dict(cap))  # (no credentials, ASCII event: no extras)
        lat, reads = _while_reading(lab, _STREAM_READER, url)
    want = hashlib.sha1(expected).hexdigest()
    assert [(r["sha1"], r["len"], r["text"]) for r in reads] == [(want, len(expected), True)] * READS
    assert len(expected) > 120_000_000  # (each control character is \\u0001)
    read_took = min(r["took"] for r in reads)
    worst = max(lat)
    assert len(lat) >= READS, lat
    # the loop was held for the whole build, most of a big read (a webhook waited ~0.7 to 1x
    # the read's time); now for a few slices of it (~0.1 to 0.2x, the loop's own copies). The
    # ratio is what tells them apart (0.65: a full run at 4 workers on 2 cores, with helpers
    # beside it, met 0.55); the absolute bound is 1 s over the idle worst (a full run met
    # 0.596 s, with a read of 1.19 s, against 0.5 s)
    assert worst < max(idle) + 1.0 and worst < read_took * 0.65, (
        worst, max(idle), read_took, reads)


def test_big_captures_read_the_same_bytes_as_before(file_lab: HookLab) -> None:
    """Built a slice at a time, the JSON is the very bytes ``json.dumps``/``orjson.dumps``
    wrote: characters of 2 to 4 bytes, invalid UTF-8 and credentials across slice edges."""
    import asyncio

    from tornado import websocket

    from hooklab.credentials import hidden_view
    from hooklab.server.encoding import SLICE

    lab = file_lab
    bodies = [
        ("é😀\x00\"\\/a\u2028" * (SLICE // 3)).encode(),
        ("x" * (SLICE - 1) + "é").encode() * 3,
        ("€" * (SLICE + 1)).encode() + b"\xe2\x82",  # cut short at the end: body_text null
        b'{"password": "' + b"s" * (3 * SLICE) + b'", "a": "\xc3\xa9"}',
    ]
    for body in bodies:
        conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=60)
        conn.request("POST", "/big", body=body, headers={
            "Authorization": "Bearer abc", "Content-Type": "application/json"})
        assert conn.getresponse().status == 200
        conn.close()
    caps = [lab.store.get(i + 1) for i in range(len(bodies))]
    assert [c.body for c in caps if c] == bodies
    auth = {"Authorization": f"token {lab.api_token}"}
    for cap in caps:
        assert cap is not None
        conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=60)
        conn.request("GET", f"/_hooklab/api/captures/{cap.id}", headers=auth)
        r = conn.getresponse()
        want = json.dumps(capture_to_dict(cap)).encode()
        assert r.read() == want
        etag = f'"{hashlib.sha1(want).hexdigest()}"'  # (Tornado's: a SHA-1 of the answer)
        assert r.getheader("Etag") == etag and r.getheader("Content-Length") == str(len(want))
        conn.request("GET", f"/_hooklab/api/captures/{cap.id}", headers={**auth, "If-None-Match": etag})
        r = conn.getresponse()
        assert (r.status, r.read()) == (304, b"")
        conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", lab.bound_port, timeout=60)
    conn.request("GET", "/_hooklab/api/captures", headers=auth)
    page = conn.getresponse().read()
    conn.close()
    listed = b",".join(orjson.dumps(capture_to_dict(c)) for c in caps if c)
    assert page == b'{"captures": [' + listed + b'], "last_id": 4, "more": false}'

    async def stream() -> list[str]:
        ws = await websocket.websocket_connect(lab.stream_url(since=0), max_message_size=1 << 26)
        got = [await asyncio.wait_for(ws.read_message(), 60) for _ in caps]
        ws.close()
        return [m for m in got if isinstance(m, str)]

    want = []
    for cap in caps:
        assert cap is not None
        d = capture_to_dict(cap)
        hidden = hidden_view(cap)
        assert hidden is not None and "headers" in hidden
        want.append(orjson.dumps({**d, "hidden": hidden}).decode())
    assert asyncio.run(stream()) == want
