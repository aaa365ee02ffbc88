"""A bin's secret in a webhook's path (Telegram-style ``/bot<token>/``, or beside a query
token) is stored as ``[secret]``; forward and replay send the path as it came (README:
"Forward and replay send the method, path suffix, query, headers and the exact body"), in
the form it came in (percent-encoded, base64), while a ``[secret]`` the sender wrote itself
and another bin's secret go as stored, and a capture from before a restart or a rotation is
sent as stored."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from _http import exact_request
from _rawapp import RawServer

import hooklab

S = "FwdSecret5Qz1"
OTHER = "OtherSecret77"


class Recorder(RawServer):
    """Answers 200 to every request and keeps each request target, as sent."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def _one(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            got = self.read_request(conn)
            if got is not None:
                self.targets.append(got[0].split(b"\r\n", 1)[0].split(b" ")[1].decode("latin-1"))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


# (what the sender sent; what the app must get: worked out by hand from README's rule)
CASES = [
    ("secret in path and query", f"/fb/{S}/after?k={S}", f"/ok/{S}/after?k={S}"),
    ("percent-encoded in the path", "/fb/Fwd%53ecret5Qz1/a%20b?k=" + S,
     "/ok/Fwd%53ecret5Qz1/a%20b?k=" + S),
    ("base64 in the path", f"/fb/RndkU2VjcmV0NVF6MQ==/x?k={S}", f"/ok/RndkU2VjcmV0NVF6MQ==/x?k={S}"),
    ("only in the path (a bot token)", f"/fb/bot{S}/sendMessage", f"/ok/bot{S}/sendMessage"),
    ("the sender's own [secret]", f"/fb/[secret]/y?k={S}", f"/ok/[secret]/y?k={S}"),
    ("another bin's secret stays hidden", f"/fb/{OTHER}/{S}/z?k={S}", f"/ok/[secret]/{S}/z?k={S}"),
]


@pytest.mark.parametrize(("sent", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_forward_and_replay_send_the_path_as_it_came(tmp_path: Path, sent: str, expected: str) -> None:
    with Recorder() as app:
        lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
        try:
            lab.secret("fb", S)
            lab.secret("other", OTHER)
            lab.forward("fb", to=app.url + "/ok")
            assert exact_request(lab.bound_port, "POST", sent, body=b"{}")[0] == 200
            (cap,) = lab.wait(1, timeout=10)
            assert S not in cap.path and "RndkU2VjcmV0NVF6MQ" not in cap.path  # stored hidden
            for _ in range(200):  # (the forward runs on a thread of its own)
                if app.targets:
                    break
                time.sleep(0.05)
            assert app.targets == [expected]
            (r,) = lab.replay([cap.id], to=app.url + "/ok")
            assert r.error is None and r.status == 200
            assert app.targets == [expected, expected]
            # the record of the forward never holds the secret
            assert S not in repr(lab.forwards())
        finally:
            lab.stop()


def test_after_a_restart_or_a_rotation_the_path_goes_as_stored(tmp_path: Path) -> None:
    db = str(tmp_path / "c.sqlite3")
    with Recorder() as app:
        lab = hooklab.HookLab(port=0, db=db).start()
        try:
            lab.secret("fb", S)
            assert exact_request(lab.bound_port, "POST", f"/fb/{S}/a?k={S}", body=b"{}")[0] == 200
            (cap,) = lab.wait(1, timeout=10)
            lab.secret("fb", "RotatedSecret9")  # (the old one leaked?)
            lab.replay([cap.id], to=app.url + "/ok")
        finally:
            lab.stop()
        lab = hooklab.HookLab(port=0, db=db).start()
        try:
            lab.secret("fb", S)
            lab.replay([cap.id], to=app.url + "/ok")
        finally:
            lab.stop()
        assert app.targets == ["/ok/[secret]/a?k=[secret]"] * 2
