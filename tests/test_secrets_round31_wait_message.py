"""``lab.wait`` and ``lab.assert_received`` failure messages (CI logs, saved notebook outputs)
list the newest captures with a secret the lab was given as ``[secret]``, as the exports write
it, also for a capture stored before the secret was given."""

from __future__ import annotations

from pathlib import Path

import pytest
from _http import exact_request

import hooklab

# (where the secret is in a capture stored before it was given, as a failure message lists it)
MESSAGE_CASES = [
    ("path", "/orders/{s}", []),
    ("path, percent-encoded", "/orders/%5Aq9xK7wP", []),
    ("event type", "/orders/x", [("X-GitHub-Event", "{s}")]),
    ("event type with an action", "/orders/x", [("X-GitHub-Event", "push.{s}")]),
    ("bin", "/{s}/x", []),
]


@pytest.mark.parametrize(("where", "target", "headers"), MESSAGE_CASES,
                         ids=[c[0] for c in MESSAGE_CASES])
def test_wait_and_assert_messages_hide_a_secret_given_after_the_capture(
        tmp_path: Path, where: str, target: str, headers: list[tuple[str, str]]) -> None:
    secret = "Zq9xK7wP"
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    try:
        sent = [(k, v.format(s=secret)) for k, v in headers]
        assert exact_request(lab.bound_port, "POST", target.format(s=secret), sent)[0] == 200
        lab.wait(1, timeout=10)
        lab.secret("orders", secret)
        with pytest.raises(TimeoutError) as waited:
            lab.wait(2, timeout=0.2)
        with pytest.raises(AssertionError) as asserted:
            lab.assert_received(count=2)
        for message in (str(waited.value), str(asserted.value)):
            listed = message.split("newest captures: ", 1)[1]
            assert listed.startswith("#1 POST /"), message
            assert secret not in message and "[secret]" in listed, (where, message)
    finally:
        lab.stop()
