"""``hooklab serve``'s line per capture names the provider and event type as ``provider/event``,
the provider alone when there is no event type (it printed ``github/``, a trailing slash,
e.g. ``#3 ... POST /gh -> 200 0B github/ SIGNATURE-INVALID`` after a bare ``hooklab send`` to
a bin served with ``--provider gh=github``), and nothing when neither is known. (Detection
never gives an event type without a provider.)

A real ``hooklab serve`` subprocess on 127.0.0.1, captures sent with the ``hooklab`` command
and raw HTTP; each line matched whole."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from _http import post

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}
JSON = {"Content-Type": "application/json"}

# name -> (path, how it is sent: the hooklab command's arguments or (headers, body), what
# follows the size on the line)
CASES: dict[str, tuple[str, object, str]] = {
    "provider of the bin, no event type (bare send), secret wrong": (
        "/gh", ["send", "{url}/gh"], " github SIGNATURE-INVALID"),
    "provider and event type, verified": (
        "/gh", ["send", "{url}/gh", "--provider", "github", "--event", "push", "--secret", "s3cret"],
        " github/push verified"),
    "provider and event type with an action": (
        "/gh", ["send", "{url}/gh", "--provider", "github", "--event", "issues.opened",
                "--secret", "s3cret"], " github/issues.opened verified"),
    "provider detected, no event type": (
        "/st", ({**JSON, "Stripe-Signature": "t=1,v1=00"}, b'{"id": "evt_1", "object": "event"}'),
        " stripe"),
    "provider detected, event type from the body": (
        "/st", ({**JSON, "Stripe-Signature": "t=1,v1=00"},
                b'{"id": "evt_2", "object": "event", "type": "invoice.paid"}'), " stripe/invoice.paid"),
    "Standard Webhooks, no event type": (
        "/sw", ({**JSON, "webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,xx"},
                b'{"a": 1}'), " standardwebhooks"),
    "neither": ("/plain", (JSON, b'{"order_id": 1}'), ""),
    "neither, empty body": ("/plain", ({}, b""), ""),
}


def test_each_shape_of_the_capture_line(tmp_path: Path) -> None:
    secret = tmp_path / "gh.secret"
    secret.write_text("s3cret\n")
    proc = subprocess.Popen(
        [EXE, "serve", "--port", "0", "--db", ":memory:", "--provider", "gh=github",
         "--secret-file", f"gh={secret}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        first = lines.get(timeout=60)
        m = re.search(r"http://127\.0\.0\.1:\d+", first)
        assert m and "hooklab listening on" in first, first
        url = m.group(0)
        for n, (name, (path, how, tail)) in enumerate(CASES.items(), start=1):
            if isinstance(how, list):
                r = subprocess.run([EXE, *(a.format(url=url) for a in how)], capture_output=True,
                                   text=True, timeout=60, env=ENV)
                assert r.returncode == 0, (name, r.stdout, r.stderr)
            else:
                headers, body = how  # type: ignore[misc]
                status, _ = post(url + path, body, headers)
                assert status == 200, name
            line = lines.get(timeout=30)
            want = rf"#{n} \d\d:\d\d:\d\d\.\d{{6}}Z POST {re.escape(path)} -> 200 \d+B{re.escape(tail)}"
            assert re.fullmatch(want, line), (name, line)
            assert not re.search(r"/( |$)", line.split(" -> ", 1)[1]), (name, line)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise
        reader.join(10)
    assert rc == 0, proc.stderr.read() if proc.stderr else ""

