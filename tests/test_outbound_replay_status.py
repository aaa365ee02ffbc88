"""Replay, forward and send outcomes: only a 2xx is a delivery (a redirect is not followed,
so the app at its Location never got the webhook: Stripe counts a 3xx as a failed delivery)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import hooklab
from hooklab.outbound import delivered

#: status -> whether the target took the webhook (Stripe: "all response codes outside this
#: range [2xx], including 3xx codes, indicate that you did not receive the webhook")
STATUSES = {200: True, 201: True, 204: True, 299: True, 301: False, 302: False, 303: False,
            304: False, 307: False, 308: False, 400: False, 404: False, 500: False,
            503: False}


class _StatusApp:
    """An app answering ``/s/<status>`` with that status (a ``Location`` on a 3xx, to a path
    that would answer 200) and counting what reached ``/final``."""

    def __init__(self) -> None:
        app = self
        self.final = 0
        self.lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                if self.path.startswith("/final"):
                    with app.lock:
                        app.final += 1
                    status = 200
                else:
                    status = int(self.path.split("?")[0].split("/")[2])
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", f"http://127.0.0.1:{app.port}/final")
                body = b"" if status in (204, 304) else b"x"
                if body:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _StatusApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    with _StatusApp() as a:
        yield a


@pytest.mark.parametrize(("status", "ok"), STATUSES.items())
def test_delivered_is_2xx_only(status: int, ok: bool) -> None:
    assert delivered(status) is ok
    assert delivered(status, "an error") is False


def test_delivered_without_a_status_is_no_delivery() -> None:
    assert [delivered(None), delivered(None, "timed out"), delivered(100), delivered(101),
            delivered(199), delivered(300), delivered(600)] == [False] * 7


def test_replay_and_send_results_are_ok_for_2xx_only(lab, app) -> None:  # type: ignore[no-untyped-def]
    hooklab.send(lab.url_for("b"), payload={"a": 1})
    (cap,) = lab.wait(1, timeout=10)
    before = app.final
    for status, ok in STATUSES.items():
        (r,) = lab.replay(cap, to=f"{app.url}/s/{status}")
        assert (r.status, r.ok, r.error) == (status, ok, None)
        sent = hooklab.send(f"{app.url}/s/{status}", payload={"a": 1})
        assert (sent.status, sent.ok) == (status, ok)
    assert app.final == before  # (no redirect was followed)
    # followed, a redirect ends where it leads: that final answer is what ok says
    followed = hooklab.send(f"{app.url}/s/307", payload={"a": 1}, follow_redirects=True)
    assert (followed.status, followed.ok, app.final) == (200, True, before + 1)


def test_forward_rows_say_a_redirect_was_no_delivery(lab, app) -> None:  # type: ignore[no-untyped-def]
    bins = {f"s{status}": status for status in STATUSES}
    before = app.final
    for b, status in bins.items():
        lab.forward(b, to=f"{app.url}/s/{status}")
    for b in bins:
        hooklab.send(lab.url_for(b), payload={"bin": b})
    deadline = time.monotonic() + 20
    while len(lab.forwards()) < len(bins) and time.monotonic() < deadline:
        time.sleep(0.02)
    rows = {lab.get(f["capture_id"]).bin: f for f in lab.forwards()}
    assert set(rows) == set(bins)
    for b, status in bins.items():
        row = rows[b]
        assert (row["status"], row["error"]) == (status, None)
        assert delivered(row["status"], row["error"]) is STATUSES[status], b
    assert app.final == before


def _env() -> dict[str, str]:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {**os.environ, "PYTHONPATH": here + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "hooklab")  # (the installed command)
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, env=_env())


@pytest.mark.parametrize(("status", "code"), [(200, 0), (204, 0), (307, 1), (308, 1), (301, 1),
                                              (500, 1)])
def test_hooklab_replay_exits_1_on_a_redirect(tmp_path, app, status: int, code: int) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "c.sqlite3")
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        hooklab.send(lab.url_for("b"), payload={"a": 1})
        lab.wait(1, timeout=10)
    finally:
        lab.stop()
    p = _cli("replay", "--db", db, "--id", "1", "--to", f"{app.url}/s/{status}")
    assert p.returncode == code, (p.stdout, p.stderr)
    assert p.stdout.startswith(f"#1 -> {status} in "), p.stdout


