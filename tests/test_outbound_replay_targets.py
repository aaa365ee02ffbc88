"""A forward/replay target URL http.client cannot send (a space, a control character) is
refused once, before anything is sent, as hooklab send refuses it; it failed every capture
with InvalidURL instead."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from _target import Target

import hooklab
from hooklab.outbound.forward import check_target


@pytest.fixture(scope="module")
def app():  # type: ignore[no-untyped-def]
    with Target() as t:
        yield t


def _env() -> dict[str, str]:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {**os.environ, "PYTHONPATH": here + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = os.path.join(os.path.dirname(sys.executable), "hooklab")  # (the installed command)
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, env=_env())



#: targets http.client cannot send (it raised InvalidURL per capture), and what is said
HOSTILE = [
    ("http://127.0.0.1:{port}/my hook", "a space at character"),
    ("http://127.0.0.1:{port}/hook?q=a b", "a space at character"),
    ("http://127.0.0.1:{port}/hook\x00x", "U+0000"),
    ("http://127.0.0.1:{port}/hook\rX-Injected: 1", "U+000D"),
    ("http://127.0.0.1:{port}/hook\nX-Injected: 1", "U+000A"),
    ("http://127.0.0.1:{port}/ho\tok", "U+0009"),
    ("http://127.0.0.1:{port}/hook\x7f", "U+007F"),
    ("http://127.0.0.1:{port}/hook\x1b[2J", "U+001B"),
    ("http://user:pw-S3CR3T@127.0.0.1:{port}/my hook?token=T0K3N", "a space"),
    ("http://127.0.0.1:{port}/hook?token=T0K3N&x=a b", "a space"),
    ("http://exa mple.com/hook", "a space"),
    ("http://127.0.0.1:{port} /hook", "could not be cast to integer"),  # (said as a bad port)
    ("http://127.0.0.1:{port}/hook ", "a space"),
]


@pytest.mark.parametrize(("target", "said"), HOSTILE)
def test_a_target_http_client_cannot_send_is_refused_up_front(lab, app, target: str, said: str) -> None:  # type: ignore[no-untyped-def]
    to = target.format(port=app.port)
    hooklab.send(lab.url_for("b"), payload={"a": 1})
    (cap,) = lab.wait(1, timeout=10)
    calls = [lambda: check_target(to), lambda: lab.replay(cap, to=to),
             lambda: hooklab.outbound.replay([cap], to), lambda: lab.forward("b", to)]
    for call in calls:
        with pytest.raises(ValueError) as exc:
            call()
        message = str(exc.value)
        assert said in message
        assert "S3CR3T" not in message and "T0K3N" not in message, message
    assert lab.forwards() == [] and "b" not in (lab._forwarder.targets if lab._forwarder else {})


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/ok#a fragment with spaces",  # (a fragment is never sent)
    "http://us er:p w@127.0.0.1:{port}/ok",  # (credentials: sent as Basic, not in the line)
    "http://127.0.0.1:{port}/ok?q=a%20b",
    "http://127.0.0.1:{port}/ok?q=a+b",
])
def test_what_http_client_sends_is_still_accepted(lab, app, target: str) -> None:  # type: ignore[no-untyped-def]
    to = target.format(port=app.port)
    hooklab.send(lab.url_for("b"), payload={"a": 1})
    (cap,) = lab.wait(1, timeout=10)
    (r,) = lab.replay(cap, to=to)
    assert (r.status, r.error, r.ok) == (200, None, True)


@pytest.mark.parametrize("target", ["http://127.0.0.1:{port}/my hook",
                                    "http://a:S3CR3T@127.0.0.1:{port}/x\ty"])
def test_hooklab_replay_refuses_it_as_a_usage_error(tmp_path, app, target: str) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "c.sqlite3")
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        hooklab.send(lab.url_for("b"), payload={"a": 1})
        lab.wait(1, timeout=10)
    finally:
        lab.stop()
    p = _cli("replay", "--db", db, "--id", "1", "--to", target.format(port=app.port))
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == "" and "is no valid URL" in p.stderr and "S3CR3T" not in p.stderr
