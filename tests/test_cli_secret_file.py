"""``--secret-file``, as ``serve --secret-file BIN=FILE`` and ``send --secret-file FILE`` both
read it: the exact secret each kind of file gives (checked by signing with it: ``verified``,
and ``SIGNATURE-INVALID`` for another), the mistakes each is refused for, and pipes: read as
they are written, a FIFO nobody writes said to be waited for."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _target import Target
from test_cli import ENV, EXE, _as_from_a_terminal, _Lines

import hooklab

DIR, MISSING = object(), object()

# (id, what the file holds, the secret it gives, what stderr says besides)
READ = [
    ("lf", b"whsec_k1\n", "whsec_k1", None),
    ("no-line-break", b"whsec_k1", "whsec_k1", None),
    ("bom", b"\xef\xbb\xbfwhsec_k1\n", "whsec_k1", None),
    ("crlf", b"whsec_k1\r\n", "whsec_k1", None),
    ("two-lf", b"whsec_k1\n\n", "whsec_k1", None),
    ("two-crlf", b"whsec_k1\r\n\r\n", "whsec_k1", None),
    ("cr", b"whsec_k1\r", "whsec_k1", None),
    ("bom-crlf", b"\xef\xbb\xbfwhsec_k1\r\n", "whsec_k1", None),
    ("inner-spaces", b"s3cret with spaces\n", "s3cret with spaces", None),
    ("non-ascii", "cl\u00e9-\u00fcn\u00ef\n".encode(), "cl\u00e9-\u00fcn\u00ef", None),
    ("trailing-space", b"whsec_k1 \n", "whsec_k1 ", "ends with a space"),
    ("trailing-spaces-crlf", b"whsec_k1  \r\n", "whsec_k1  ", "ends with a space"),
    ("leading-tab", b"\twhsec_k1\n", "\twhsec_k1", "starts with a tab"),
    ("both-ends", b" whsec_k1\t\r\n", " whsec_k1\t", "starts with a space and ends with a tab"),
    ("nbsp", b"\xef\xbb\xbfwhsec_k1\xc2\xa0\n", "whsec_k1\u00a0", "ends with U+00A0"),
]
# (id, what the file is, what the one stderr line says after "hooklab: ")
REFUSED = [
    ("empty", b"", "{what} is empty"),
    ("only-line-breaks", b"\r\n\n", "{what} is empty"),
    ("only-bom", b"\xef\xbb\xbf\n", "{what} is empty"),
    ("binary", b"\x00\xffsecret\n", "{what} is not UTF-8 text (byte 2 is not): a signing "
                                    "secret is text"),
    ("bom-then-binary", b"\xef\xbb\xbf\xfe", "{what} is not UTF-8 text (byte 4 is not): a "
                                             "signing secret is text"),
    ("directory", DIR, "{what}: [Errno 21] Is a directory: '{path}'"),
    ("missing", MISSING, "{what}: [Errno 2] No such file or directory: '{path}'"),
]


def _file(tmp_path: Path, holds: Any) -> Path:
    path = tmp_path / "secret.key"
    if holds is DIR:
        path.mkdir()
    elif holds is not MISSING:
        path.write_bytes(holds)
    return path


def _warned(what: str, warning: str | None) -> str:
    return "" if warning is None else (f"hooklab: {what}: the secret {warning}, used as it is "
                                       "(if signatures fail, remove it from the file)\n")


class _Serve:
    """``hooklab serve --secret-file gh=FILE --provider gh=github``: its URL and lines."""

    def __init__(self, *args: str, preexec: Any = _as_from_a_terminal, **popen: Any) -> None:
        self.proc = subprocess.Popen(
            [EXE, "serve", "--port", "0", *args], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=ENV,
            preexec_fn=preexec, **popen)  # noqa: PLW1509 - signals only
        self.out = _Lines(self.proc.stdout)
        self.err = _Lines(self.proc.stderr)

    def url(self) -> str:
        m = re.search(r"http://127\.0\.0\.1:\d+", self.out.next())
        assert m, self.out.all
        return m.group(0)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(10)

    def stderr(self) -> str:
        self.err.thread.join(10)
        return "".join(self.err.all + list(self.err.q.queue))


@pytest.mark.parametrize("holds,secret,warning", [c[1:] for c in READ], ids=[c[0] for c in READ])
def test_send_signs_with_the_secret_the_file_gives(tmp_path, holds: bytes, secret: str,
                                                   warning: str | None) -> None:
    path = _file(tmp_path, holds)
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        lab.secret("gh", secret, provider="github")
        r = subprocess.run([EXE, "send", lab.url_for("gh"), "--provider", "github", "--event",
                            "push", "--secret-file", str(path)],
                           capture_output=True, text=True, timeout=60, env=ENV)
        assert r.returncode == 0, r.stderr
        (cap,) = lab.wait(1, timeout=10)
        assert cap.verified is True, cap.verify_reason
    finally:
        lab.stop()
    assert r.stderr == _warned(f"--secret-file {path}", warning)
    assert secret.strip() not in r.stderr


@pytest.mark.parametrize("holds,secret,warning", [c[1:] for c in READ], ids=[c[0] for c in READ])
def test_serve_verifies_with_the_secret_the_file_gives(tmp_path, holds: bytes, secret: str,
                                                       warning: str | None) -> None:
    path = _file(tmp_path, holds)
    serve = _Serve("--db", ":memory:", "--secret-file", f"gh={path}", "--provider", "gh=github")
    try:
        url = serve.url()
        for signed_with, ending in ((secret, " github/push verified"),
                                    (secret + "x", " github/push SIGNATURE-INVALID"),
                                    (holds.decode("utf-8"), None)):  # (the file as it is)
            if ending is None:
                if signed_with == secret:
                    continue  # (a file with nothing to drop: the same secret)
                ending = " github/push SIGNATURE-INVALID"
            assert hooklab.send(f"{url}/gh", provider="github", event="push",
                                secret=signed_with).status == 200
            line = serve.out.next().rstrip("\n")
            assert line.endswith(ending), (line, ending)
    finally:
        assert serve.stop() == 0
    said = serve.stderr()
    assert said.startswith(_warned(f"--secret-file gh={path}", warning) + "hooklab: stream page ")
    assert secret.strip() not in said


@pytest.mark.parametrize("holds,says", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_send_refuses_a_file_that_holds_no_secret(tmp_path, holds: Any, says: str) -> None:
    path = _file(tmp_path, holds)
    with Target() as t:
        r = subprocess.run([EXE, "send", f"{t.url}/x", "--provider", "github", "--event", "push",
                            "--secret-file", str(path)],
                           capture_output=True, text=True, timeout=60, env=ENV)
        time.sleep(0.2)
        assert t.received == []  # nothing was sent
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "hooklab: " + says.format(what=f"--secret-file {path}", path=path) + "\n"


@pytest.mark.parametrize("holds,says", [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_serve_refuses_a_file_that_holds_no_secret(tmp_path, holds: Any, says: str) -> None:
    path = _file(tmp_path, holds)
    db = tmp_path / "new.sqlite3"
    r = subprocess.run([EXE, "serve", "--port", "0", "--db", str(db), "--secret-file",
                        f"gh={path}"], capture_output=True, text=True, timeout=60, env=ENV)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "hooklab: " + says.format(what=f"--secret-file gh={path}", path=path) + "\n"
    assert not db.exists() and not Path(f"{db}-wal").exists()


def _writer(fd_or_path: int | str, data: bytes, delay: float = 0.0, **popen: Any) -> subprocess.Popen[bytes]:
    """A child process that writes ``data`` to a pipe's end (an fd it is given) or a FIFO
    (a path), after ``delay`` seconds, and closes it."""
    code = ("import os, sys, time; time.sleep(float(sys.argv[3])); t = sys.argv[1]; "
            "fd = int(t) if t.isdigit() else os.open(t, os.O_WRONLY); "
            "os.write(fd, bytes.fromhex(sys.argv[2])); os.close(fd)")
    return subprocess.Popen([sys.executable, "-c", code, str(fd_or_path), data.hex(), str(delay)],
                            **popen)


@pytest.mark.parametrize("command", ["send", "serve"])
def test_a_pipe_from_a_process_is_read_as_it_is_written(tmp_path, command: str) -> None:
    """``--secret-file <(pass show stripe)``: the shell gives /dev/fd/N, a pipe another
    process writes. It is read to its end, without a word when it comes at once."""
    r_fd, w_fd = os.pipe()
    writer = _writer(w_fd, b"whsec_piped\n", pass_fds=(w_fd,))
    os.close(w_fd)
    try:
        given = f"/dev/fd/{r_fd}"
        if command == "send":
            lab = hooklab.HookLab(port=0, db=":memory:").start()
            try:
                lab.secret("gh", "whsec_piped", provider="github")
                r = subprocess.run([EXE, "send", lab.url_for("gh"), "--provider", "github",
                                    "--event", "push", "--secret-file", given], pass_fds=(r_fd,),
                                   capture_output=True, text=True, timeout=60, env=ENV)
                assert (r.returncode, r.stderr) == (0, "")
                assert lab.wait(1, timeout=10)[0].verified is True
            finally:
                lab.stop()
        else:
            serve = _Serve("--db", ":memory:", "--secret-file", f"gh={given}", "--provider",
                           "gh=github", pass_fds=(r_fd,))
            try:
                url = serve.url()
                hooklab.send(f"{url}/gh", provider="github", event="push", secret="whsec_piped")
                assert serve.out.next().endswith(" github/push verified\n")
            finally:
                assert serve.stop() == 0
            assert serve.stderr().startswith("hooklab: stream page ")
    finally:
        os.close(r_fd)
        assert writer.wait(30) == 0


@pytest.mark.parametrize("command", ["send", "serve"])
def test_a_fifo_written_late_is_said_to_be_waited_for_then_used(tmp_path, command: str) -> None:
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    writer = proc = None
    try:
        lab.secret("gh", "whsec_late", provider="github")
        if command == "send":
            args = ["send", lab.url_for("gh"), "--provider", "github", "--event", "push",
                    "--secret-file", str(fifo)]
        else:
            args = ["serve", "--port", "0", "--db", ":memory:", "--secret-file", f"gh={fifo}",
                    "--provider", "gh=github"]
        proc = subprocess.Popen([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=ENV,
                                preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only
        out, err = _Lines(proc.stdout), _Lines(proc.stderr)
        t0 = time.monotonic()
        assert err.next(30) == f"hooklab: waiting for {fifo} to be written (Ctrl-C to stop)\n"
        assert time.monotonic() - t0 >= 1.5  # (not at once: a pipe written in time is silent)
        assert proc.poll() is None
        writer = _writer(str(fifo), b"whsec_late\r\n")
        if command == "send":
            assert proc.wait(30) == 0
            assert lab.wait(1, timeout=10)[0].verified is True
        else:
            url = re.search(r"http://127\.0\.0\.1:\d+", out.next()).group(0)  # type: ignore[union-attr]
            hooklab.send(f"{url}/gh", provider="github", event="push", secret="whsec_late")
            assert out.next().endswith(" github/push verified\n")
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
        err.thread.join(10)
        assert "Traceback" not in "".join(err.all + list(err.q.queue))
    finally:
        lab.stop()
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if writer is not None:
            writer.wait(30)


@pytest.mark.parametrize("command", ["send", "serve"])
@pytest.mark.parametrize("sig,code,said", [
    (signal.SIGTERM, 143, "hooklab: stopped by SIGTERM\n"),
    (signal.SIGINT, 130, "hooklab: interrupted\n"),
])
def test_a_fifo_nobody_writes_is_said_and_a_signal_stops_the_wait(tmp_path, command: str, sig: int,
                                                                  code: int, said: str) -> None:
    """A FIFO with no writer kept the command waiting without a word, for ever."""
    fifo = tmp_path / "secret.fifo"
    os.mkfifo(fifo)
    db = tmp_path / "new.sqlite3"
    with Target() as t:
        if command == "send":
            args = ["send", f"{t.url}/x", "--provider", "github", "--secret-file", str(fifo)]
        else:
            args = ["serve", "--port", "0", "--db", str(db), "--secret-file", f"gh={fifo}"]
        proc = subprocess.Popen([EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=ENV,
                                preexec_fn=_as_from_a_terminal)  # noqa: PLW1509 - signals only
        try:
            err = _Lines(proc.stderr)
            assert err.next(30) == f"hooklab: waiting for {fifo} to be written (Ctrl-C to stop)\n"
            proc.send_signal(sig)
            assert proc.wait(30) == code
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        err.thread.join(10)
        assert "".join(err.all[1:] + list(err.q.queue)) == said
        assert proc.stdout is not None and proc.stdout.read() == ""
        assert t.received == []
    assert not db.exists()  # (serve reads its secrets before it opens the database)
