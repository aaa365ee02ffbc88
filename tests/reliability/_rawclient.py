"""A bounded asyncio raw-socket HTTP/1.1 client for load tests (127.0.0.1 only, keep-alive).

    python _rawclient.py PORT CONNECTIONS PER_CONNECTION [SECONDS]    # prints one JSON line

Every request carries a body that names it (``c<conn>-r<seq>-``) followed by bytes derived from
that name, including every byte value, so a stored body can be checked byte for byte. Each
connection sends its requests one after another; each answer is read completely, its status and
``X-Hooklab-Capture-Id`` recorded. A request whose answer was not fully read counts as not
acknowledged. Everything stops at the deadline.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from dataclasses import dataclass, field

__all__ = ["Result", "body_for", "burst", "run_burst"]


def body_for(conn: int, seq: int, bin: str = "load") -> bytes:
    """The exact body of request ``seq`` on connection ``conn`` (sizes 16 B .. ~4 KB)."""
    name = (f"c{conn}-r{seq}-" if bin == "load" else f"{bin}-c{conn}-r{seq}-").encode()
    seed = hashlib.sha256(name).digest()
    size = (seed[0] * 16 + seed[1]) % 4096
    out = bytearray(name)
    block = seed
    while len(out) < len(name) + size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[: len(name) + size])


@dataclass
class Result:
    sent: int = 0
    acked: list[tuple[int, int, int, int]] = field(default_factory=list)  # conn, seq, status, id
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def to_json(self) -> str:
        return json.dumps(
            {"sent": self.sent, "acked": self.acked, "errors": self.errors[:20],
             "n_errors": len(self.errors), "elapsed": self.elapsed}
        )


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def _connection(
    port: int, conn: int, count: int, deadline: float, res: Result, stop: asyncio.Event,
    on_ack: object = None, bin: str = "load",
) -> None:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port), max(0.1, deadline - time.monotonic())
        )
    except (OSError, asyncio.TimeoutError) as exc:
        res.errors.append(f"c{conn} connect: {exc!r}")
        return
    try:
        for seq in range(count):
            if stop.is_set() or time.monotonic() > deadline:
                return
            body = body_for(conn, seq, bin)
            head = (
                f"POST /{bin}/c{conn}?seq={seq} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: application/octet-stream\r\nX-Conn: {conn}\r\nX-Seq: {seq}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            writer.write(head + body)
            res.sent += 1
            status, headers, _ = await asyncio.wait_for(
                _read_answer(reader), max(0.1, deadline - time.monotonic())
            )
            cid = int(headers.get("x-hooklab-capture-id", "0"))
            res.acked.append((conn, seq, status, cid))
            if callable(on_ack):
                on_ack(res)
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
        res.errors.append(f"c{conn}: {exc!r}")
    finally:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), 2)
        except (OSError, asyncio.TimeoutError):
            pass


async def burst(
    port: int, connections: int, per_connection: int, seconds: float = 120.0,
    on_ack: object = None, stop: asyncio.Event | None = None, bin: str = "load",
) -> Result:
    """Run ``connections`` keep-alive connections of ``per_connection`` requests each.

    Requests go to ``/<bin>/c<conn>?seq=<seq>``; ``on_ack(result)`` runs after each answer.
    """
    res = Result()
    stop = stop or asyncio.Event()
    t0 = time.monotonic()
    deadline = t0 + seconds
    await asyncio.gather(
        *(_connection(port, c, per_connection, deadline, res, stop, on_ack, bin)
          for c in range(connections))
    )
    res.elapsed = time.monotonic() - t0
    return res


def run_burst(port: int, connections: int, per_connection: int, seconds: float = 120.0) -> Result:
    return asyncio.run(burst(port, connections, per_connection, seconds))


if __name__ == "__main__":
    port, conns, per = (int(a) for a in sys.argv[1:4])
    secs = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
    print(run_burst(port, conns, per, secs).to_json(), flush=True)
