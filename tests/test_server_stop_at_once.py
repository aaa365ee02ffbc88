"""``CaptureServer.stop()`` stops the server whatever moment it is called: also while
``start()`` is still under way in another thread, before the server thread has made its
event loop. It returned at once then (there was no loop to stop yet), and the daemon thread
went on to bind the port and serve, with nothing left to stop it.

Each round starts a server on a port of its own and stops it from this thread at once, or
after a moment taken from a table: afterwards the port is free (it can be bound again) and
the server thread is gone; ``start()`` returned (the stop came after it was serving) or
raised ``ServerError`` saying it was stopped (it came before).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from hooklab.server import CaptureServer, ServerError
from hooklab.store import CaptureStore

pytestmark = pytest.mark.timeout(300)

#: seconds between the start (in a thread of its own) and the stop: the first moments of
#: the server thread, its loop being made, the port being bound, serving
DELAYS = [0.0, 0.0, 0.0, 0.00001, 0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005,
          0.01, 0.02, 0.05, None]  # (None: stop right after start() returned)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
        return True


def test_stop_stops_the_server_whatever_moment_it_is_called() -> None:
    store = CaptureStore(":memory:")
    wrong: list[str] = []
    try:
        for round_ in range(50):
            delay = DELAYS[round_ % len(DELAYS)]
            port = _free_port()
            server = CaptureServer(store, "127.0.0.1", port, strict_port=True)
            outcome: list[object] = []
            entered = threading.Event()

            def start(server: CaptureServer = server, outcome: list[object] = outcome,
                      entered: threading.Event = entered) -> None:
                try:
                    entered.set()  # (the stop comes once start() is called, not before)
                    server.start(timeout=10)
                    outcome.append("started")
                except BaseException as exc:  # noqa: BLE001 - said below
                    outcome.append(exc)

            starter = threading.Thread(target=start, daemon=True)
            starter.start()
            entered.wait(10)
            if delay is None:
                starter.join(15)
            elif delay:
                time.sleep(delay)
            server.stop(timeout=10)
            starter.join(15)
            assert not starter.is_alive(), f"round {round_}: start() did not return"
            server.stop(timeout=10)  # (idempotent)
            left = [t.name for t in threading.enumerate() if t.name.startswith("hooklab-server")]
            deadline = time.monotonic() + 5
            while left and time.monotonic() < deadline:  # (bounded: a thread ending)
                time.sleep(0.01)
                left = [t.name for t in threading.enumerate()
                        if t.name.startswith("hooklab-server")]
            said = outcome[0] if outcome else None
            if said != "started" and not (isinstance(said, ServerError)
                                          and "stopped" in str(said)):
                wrong.append(f"round {round_} (delay {delay}): start() said {said!r}")
            if left:
                wrong.append(f"round {round_} (delay {delay}): server threads alive: {left}")
            if not _bindable(port):
                wrong.append(f"round {round_} (delay {delay}): port {port} still taken")
            if server.is_running:
                wrong.append(f"round {round_} (delay {delay}): still running")
            if len(wrong) >= 5:
                break
    finally:
        store.close()
    assert wrong == []
