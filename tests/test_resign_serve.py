"""``hooklab serve --forward BIN=URL --resign`` is no signing oracle: a delivery posted to the
bin that does not verify with its ``--secret-file`` (a bogus signature, none, one made with
another secret, a late replay; on a bin without ``--provider``, headers naming another
provider) is not forwarded at all, and serve's line for it says ``FAILED: not re-signed: ...``;
a genuine delivery is still forwarded signed afresh, and Stripe's SDK accepts it at the app."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _target import Target
from test_resign_oracle import NO_PROVIDER_ATTACKS, SECRET, STRIPE_ATTACKS, _post, _stripe

EXE = str(Path(sys.executable).with_name("hooklab"))
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def test_serve_resign_forwards_only_what_verified(tmp_path: Path) -> None:
    stripe = pytest.importorskip("stripe")
    key = tmp_path / "stripe.key"
    key.write_text(SECRET + "\n")
    genuine = b'{"id":"evt_genuine","object":"event","type":"charge.succeeded"}'
    attacks = [("stripe", h, b) for _, h, b, _ in STRIPE_ATTACKS] + \
              [("hook", h, b) for _, h, b in NO_PROVIDER_ATTACKS]
    lines: queue.Queue[str] = queue.Queue()
    with Target() as app:
        proc = subprocess.Popen(
            [EXE, "serve", "--port", "0", "--db", ":memory:",
             "--secret-file", f"stripe={key}", "--provider", "stripe=stripe",
             "--secret-file", f"hook={key}",
             "--forward", f"stripe={app.url}/stripe", "--forward", f"hook={app.url}/hook",
             "--resign"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        try:
            first = proc.stdout.readline()  # type: ignore[union-attr]
            m = re.search(r"listening on (http://\S+)", first)
            assert m, (first, proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
            base = m.group(1)
            reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout],  # type: ignore[union-attr]
                                      daemon=True)
            reader.start()
            for bin_, headers, body in attacks:
                assert _post(f"{base}/{bin_}", body, headers) == 200
            for bin_ in ("stripe", "hook"):  # the genuine ones, last
                assert _post(f"{base}/{bin_}", genuine, _stripe(SECRET, body=genuine)) == 200
            got = app.wait(2)
            seen: list[str] = []
            deadline = time.monotonic() + 20
            while sum("FAILED" in x for x in seen) < len(attacks) \
                    and time.monotonic() < deadline:
                try:
                    seen.append(lines.get(timeout=0.2))
                except queue.Empty:
                    pass
            time.sleep(0.3)
            received = list(app.received)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            err = proc.stderr.read()  # type: ignore[union-attr]
    reader.join(10)
    while not lines.empty():
        seen.append(lines.get())
    failed = [x for x in seen if "FAILED" in x]
    assert len(failed) == len(attacks), seen
    ids = sorted(int(re.match(r"#(\d+) forward", x).group(1)) for x in failed)  # type: ignore[union-attr]
    assert ids == list(range(1, len(attacks) + 1))
    assert all("FAILED: not re-signed: capture #" in x and "did not verify on arrival" in x
               for x in failed), failed
    assert len(received) == 2 and {r.path for r in received} == {"/stripe", "/hook"}
    for r in got:
        assert r.body == genuine
        stripe.Webhook.construct_event(r.body, r.header("Stripe-Signature"), SECRET)
    assert SECRET not in err + "".join(seen)
