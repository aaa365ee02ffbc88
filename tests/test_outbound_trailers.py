"""Replay and forward send a capture's trailer fields as trailers, not as header fields.

A chunked request's trailer fields (after its body) are stored after its header fields
(``capture.trailers_at``); the lab checks signatures in the header section only, as a
provider's receivers do. Replay (``lab.replay``, ``hooklab replay``) and forward
(``lab.forward``) sent every stored field as a header: an app then found, in its header
section, a signature that came only as a trailer, and accepted what the provider's receivers
would not. Now such a capture goes as it came: its header section as headers, the body with
``Transfer-Encoding: chunked``, the trailer fields as its trailer section; a capture without
trailers goes byte for byte as before (``Content-Length``). Copy as curl (which cannot send
trailers) sends the header section and says in a comment which trailer fields it left out.

Real labs on 127.0.0.1 (captures made by raw chunked requests, stored in a SQLite file), a
raw-socket app keeping the exact bytes it receives (tests/_rawrecord.py), ``hooklab replay``
in a subprocess, and a second lab the replays reach, whose parser must see trailers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from _http import raw_request
from _rawrecord import Recorder, split_request

import hooklab
from hooklab.capture import Capture
from hooklab.outbound import replay
from hooklab.signatures import sign

pytestmark = pytest.mark.timeout(300)

EXE = str(Path(sys.executable).with_name("hooklab"))
SECRET = "whsec_outbound_trailers"
BIN = "tr"
CT = ("Content-Type", "application/json")
BODY = json.dumps({"id": "evt_1", "object": "event", "type": "invoice.paid",
                   "data": {"object": {"id": "in_1"}}}).encode()
BIG = (bytes(range(256)) * 4000)[:1_000_000]  # (1 MB, every byte value)
WRONG = ("Stripe-Signature", "t=1,v1=" + "0" * 64)

Fields = list[tuple[str, str]]


def sig(body: bytes = BODY) -> tuple[str, str]:
    return "Stripe-Signature", sign("stripe", SECRET, body)["Stripe-Signature"]


@dataclass
class Case:
    """A request sent to the lab: its header fields (after ``Host``, its framing and
    ``Connection: close``), trailer fields (none: a ``Content-Length`` request unless
    ``chunked``) and body; ``sent``: the trailer fields a replay sends (default: all of them);
    ``valid``/``noted``: what ``capture.verify(SECRET)`` says of the request as a lab the
    replay reaches stores it (valid; the reason says a field came as a trailer)."""

    head: Fields
    trailers: Fields
    body: bytes = BODY
    valid: bool = False
    noted: bool = False
    chunked: bool = True
    sent: Fields | None = None
    #: the header fields a replay sends (computed: ``head``, a ``Trailer`` field only with trailers)
    fields: Fields = field(init=False)

    def __post_init__(self) -> None:
        if self.sent is None:
            self.sent = list(self.trailers)
        self.fields = [(k, v) for k, v in self.head if k.lower() != "trailer" or self.sent]

    def raw(self, path: str) -> bytes:
        first = [("Host", "x"), *([("Transfer-Encoding", "chunked")] if self.chunked else []),
                 ("Connection", "close"), *self.head]
        if not self.chunked:
            first.append(("Content-Length", str(len(self.body))))
        head = "".join(f"{k}: {v}\r\n" for k, v in first)
        out = f"POST {path} HTTP/1.1\r\n{head}\r\n".encode("latin-1")
        if not self.chunked:
            return out + self.body
        half = len(self.body) // 2
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (self.body[:half],
                                                               self.body[half:]) if c)
        tail = "".join(f"{k}: {v}\r\n" for k, v in self.trailers).encode("latin-1")
        return out + chunks + b"0\r\n" + tail + b"\r\n"


def _cases() -> dict[str, Case]:
    """The cases, signed now (Stripe's tolerance is 5 minutes: a file that runs late in the
    suite signs when it sends, not when it was collected)."""
    return {
        "signature only as a trailer": Case(
            [CT, ("Trailer", "Stripe-Signature")], [sig()], noted=True),
        "several trailers, names given twice": Case(
            [CT], [("X-Checksum", "a1"), sig(), ("X-Checksum", "b2"), ("X-Empty", "")],
            noted=True),
        "a trailer named as a header field": Case(
            [CT, sig(), ("X-Tag", "head")], [WRONG, ("x-tag", "trailer 1"), ("X-TAG", "trailer 2")],
            valid=True),
        "connection and routing fields as trailers: left out": Case(
            [CT, sig()], [("X-A", "1"), ("Host", "evil.example"), ("Connection", "X-A"),
                          ("Trailer", "y"), ("Proxy-Authorization", "Basic eDp5"),
                          ("Keep-Alive", "timeout=5"), ("X-B", "caf\xe9")],
            valid=True, sent=[("X-A", "1"), ("X-B", "caf\xe9")]),
        "only left-out fields as trailers: sent as without": Case(
            [CT, sig(), ("Trailer", "Host")], [("Host", "evil.example")], valid=True, sent=[]),
        "a body of 0 bytes": Case([CT], [sig(b"")], body=b"", noted=True),
        "a 1 MB body": Case(
            [("Content-Type", "application/octet-stream"), sig(BIG)], [("X-Checksum", "c3")],
            body=BIG, valid=True),
        "chunked, no trailers": Case([CT, sig()], [], valid=True),
        "content-length, no trailers": Case([CT, sig()], [], valid=True, chunked=False),
    }


CASES = _cases()
NAMES = list(CASES)


def lines(fields: Fields) -> list[bytes]:
    return [f"{k}: {v}".encode("latin-1") for k, v in fields]


def check_sent(raw: bytes, case: Case, path: str, port: int, extra: Fields = ()) -> None:  # type: ignore[assignment]
    """``raw`` is exactly the request a replay of ``case`` to ``path`` sends: trailer fields
    after a chunked body, or (none to send) the body after its ``Content-Length``, as ever."""
    fields = [*case.fields, *extra]
    start = [f"POST {path} HTTP/1.1".encode(), f"Host: 127.0.0.1:{port}".encode(), *lines(fields)]
    if not case.sent:  # (byte for byte what hooklab sent before trailers were kept apart)
        assert raw == b"\r\n".join([*start, b"Content-Length: %d" % len(case.body)]) \
            + b"\r\n\r\n" + case.body, raw[:2000]
        return
    head, body, trailers, sizes = split_request(raw)
    assert head == [*start, b"Transfer-Encoding: chunked"], head
    assert body == case.body
    assert trailers == lines(case.sent), trailers
    assert len(sizes) == -(-len(case.body) // 65536), sizes  # (64 KiB at a time)


def sent_to(got: list[bytes], path: str) -> bytes:
    """The one request of ``got`` whose request line names ``path``."""
    found = [raw for raw in got if raw.startswith(f"POST {path} HTTP/1.1\r\n".encode())]
    assert len(found) == 1, (path, [raw[:60] for raw in got])
    return found[0]


@dataclass
class Captured:
    db: str
    ids: dict[str, int]
    forwarded: list[bytes]
    fwd_port: int


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    """Every case sent raw to a real lab that forwards the bin to a recording app; the lab
    stopped (its SQLite file complete) before the tests read it."""
    db = str(tmp_path_factory.mktemp("trailers") / "captures.sqlite3")
    ids: dict[str, int] = {}
    CASES.update(_cases())  # (signed as they are sent)
    lab = hooklab.HookLab(port=0, db=db).start()
    try:
        lab.secret(BIN, SECRET, provider="stripe")
        with Recorder() as app:
            lab.forward(BIN, to=f"{app.url}/hook")
            for i, name in enumerate(NAMES):
                answer = raw_request(lab.bound_port, CASES[name].raw(f"/{BIN}/{i}"))
                assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
                ids[name] = json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]
            forwarded = app.wait(len(NAMES))
            assert lab.store.wait_for(lambda: len(lab.forwards()) == len(NAMES), timeout=20)
            assert [f["status"] for f in lab.forwards()] == [200] * len(NAMES), lab.forwards()
            port = int(app.url.rsplit(":", 1)[1])
        for name in NAMES:  # (as the lab stored it: its header section and its trailers)
            cap = lab.get(ids[name])
            case = CASES[name]
            assert cap.trailers == case.trailers and cap.body == case.body, name
            assert cap.verified is case.valid, (name, cap.verify_reason)
    finally:
        lab.stop()
    yield Captured(db, ids, forwarded, port)


@pytest.mark.parametrize("name", NAMES)
def test_forward_sends_trailer_fields_as_trailers(captured: Captured, name: str) -> None:
    i = NAMES.index(name)
    raw = sent_to(captured.forwarded, f"/hook/{i}")
    mark = re.search(rb"\r\nX-Hooklab-Forwarded-By: ([0-9a-f]{16})\r\n", raw)
    assert mark, raw[:1000]
    check_sent(raw, CASES[name], f"/hook/{i}", captured.fwd_port,
               [("X-Hooklab-Forwarded-By", mark.group(1).decode())])


@pytest.mark.parametrize("name", NAMES)
def test_replay_sends_trailer_fields_as_trailers(captured: Captured, name: str) -> None:
    lab = hooklab.open(captured.db)
    try:
        with Recorder() as app:
            (r,) = lab.replay(captured.ids[name], to=f"{app.url}/hook")
            assert r.ok, r
            (raw,) = app.wait(1)
            port = int(app.url.rsplit(":", 1)[1])
    finally:
        lab.stop()
    check_sent(raw, CASES[name], f"/hook/{NAMES.index(name)}", port)


def test_cli_replay_sends_trailer_fields_as_trailers(captured: Captured) -> None:
    ids = [captured.ids[name] for name in NAMES]
    with Recorder() as app:
        done = subprocess.run(
            [EXE, "replay", "--db", captured.db, "--id", f"{min(ids)}-{max(ids)}",
             "--to", f"{app.url}/hook"],
            capture_output=True, text=True, timeout=120, env={**os.environ})
        assert done.returncode == 0, (done.stdout, done.stderr)
        got = app.wait(len(NAMES))
        port = int(app.url.rsplit(":", 1)[1])
    said = done.stdout.splitlines()
    assert [line.split(" -> ")[0] for line in said] == [f"#{i}" for i in sorted(ids)], said
    assert all(re.fullmatch(r"#\d+ -> 200 in [\d.]+ ms", line) for line in said), said
    for i, name in enumerate(NAMES):
        check_sent(sent_to(got, f"/hook/{i}"), CASES[name], f"/hook/{i}", port)


@pytest.fixture(scope="module")
def second_lab() -> Iterator[hooklab.HookLab]:
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        lab.secret("again", SECRET, provider="stripe")
        yield lab
    finally:
        lab.stop()


@pytest.mark.parametrize("name", NAMES)
def test_a_lab_the_replay_reaches_reads_the_trailers_as_trailers(
        captured: Captured, second_lab: hooklab.HookLab, name: str) -> None:
    """The app's own parser (a second lab's) sees the trailer fields as trailers: a signature
    sent only as a trailer does not verify there either, and the reason says why."""
    case = CASES[name]
    lab = hooklab.open(captured.db)
    try:
        (r,) = lab.replay(captured.ids[name], to=second_lab.url_for("again"))
    finally:
        lab.stop()
    assert r.ok, r
    cap = second_lab.get(json.loads(r.body)["id"])
    host = ("Host", f"127.0.0.1:{second_lab.bound_port}")
    framing = [("Transfer-Encoding", "chunked")] if case.sent else \
        [("Content-Length", str(len(case.body)))]
    assert cap.header_section == [host, *case.fields, *framing]
    assert cap.trailers == case.sent
    assert cap.trailers_at == (len(case.fields) + 2 if case.sent else None)
    assert cap.body == case.body
    verdict = cap.verify(SECRET)
    assert verdict.valid is case.valid, verdict
    assert ("came as a trailer field" in verdict.reason) is case.noted, verdict
    assert cap.verified is case.valid, cap.verify_reason  # (on arrival too)


#: captures made in code (or imported): their stored framing says Content-Length, or trailers
#: name framing fields; (headers, trailers, trailers sent, header fields sent)
MADE: dict[str, tuple[Fields, Fields, Fields, Fields]] = {
    "content-length stored, trailers": (
        [("Content-Length", "2"), CT], [("X-Sig", "v1=abc")], [("X-Sig", "v1=abc")], [CT]),
    "a wrong content-length stored, trailers": (
        [("Content-Length", "999"), CT], [("X-Sig", "1"), ("X-Sig", "2")],
        [("X-Sig", "1"), ("X-Sig", "2")], [CT]),
    "framing fields as trailers: left out": (
        [CT, ("Trailer", "X-Sig")],
        [("Content-Length", "5"), ("Transfer-Encoding", "gzip"), ("X-Sig", "1"), ("TE", "x"),
         ("Upgrade", "h2c"), ("Expect", "100-continue"), ("X-Redacted", "[redacted]")],
        [("X-Sig", "1")], [CT, ("Trailer", "X-Sig")]),
    "content-length stored, no trailers": (
        [("Content-Length", "2"), CT, ("Trailer", "X-Sig")], [], [], [CT]),
    "content-length stored, only framing fields as trailers": (
        [("Content-Length", "2"), CT, ("Trailer", "X-Sig")], [("Content-Length", "2")], [], [CT]),
}


@pytest.mark.parametrize("name", list(MADE))
def test_replay_of_a_capture_made_in_code(name: str) -> None:
    headers, trailers, sent, fields = MADE[name]
    cap = Capture(1, None, "POST", "/made", headers=[*headers, *trailers], body=b"{}",
                  trailers_at=len(headers) if trailers else None)
    with Recorder() as app:
        (r,) = replay([cap], to=f"{app.url}/hook")
        assert r.ok, r
        (raw,) = app.wait(1)
        port = int(app.url.rsplit(":", 1)[1])
    start = [b"POST /hook HTTP/1.1", f"Host: 127.0.0.1:{port}".encode(), *lines(fields)]
    if not sent:
        assert raw == b"\r\n".join([*start, b"Content-Length: 2"]) + b"\r\n\r\n{}"
        return
    assert raw == b"\r\n".join([*start, b"Transfer-Encoding: chunked"]) + b"\r\n\r\n" \
        + b"2\r\n{}\r\n0\r\n" + b"".join(line + b"\r\n" for line in lines(sent)) + b"\r\n"


def test_resign_signs_the_header_section_and_keeps_the_trailers(
        captured: Captured, second_lab: hooklab.HookLab) -> None:
    """``resign`` makes a fresh signature in the header section; the trailer fields go as
    trailers, as they came (a trailer's signature never moved into the headers)."""
    lab = hooklab.open(captured.db)
    try:
        lab.secret(BIN, SECRET, provider="stripe")
        only = captured.ids["signature only as a trailer"]
        both = captured.ids["a trailer named as a header field"]
        with pytest.raises(ValueError, match="did not verify on arrival"):
            lab.replay(only, to=second_lab.url_for("again"), resign=True)
        results = [*lab.replay(only, to=second_lab.url_for("again"), resign=SECRET),
                   *lab.replay(both, to=second_lab.url_for("again"), resign=True)]
        stored = [lab.get(only), lab.get(both)]
    finally:
        lab.stop()
    for r, old in zip(results, stored, strict=True):
        assert r.ok, r
        cap = second_lab.get(json.loads(r.body)["id"])
        assert cap.verified is True, cap.verify_reason
        assert cap.trailers == old.trailers  # (the old signature still a trailer)
        signatures = [v for k, v in cap.header_section if k.lower() == "stripe-signature"]
        assert len(signatures) == 1 and signatures[0] not in (v for _, v in old.trailers)
    only_cap = second_lab.get(json.loads(results[0].body)["id"])
    assert [k for k, _ in only_cap.header_section] == [
        "Host", "Content-Type", "Trailer", "Stripe-Signature", "Transfer-Encoding"]
    both_cap = second_lab.get(json.loads(results[1].body)["id"])
    assert [k for k, _ in both_cap.header_section] == [
        "Host", "Content-Type", "Stripe-Signature", "X-Tag", "Transfer-Encoding"]


#: the curl command's comment line for each case with trailers
CURL_NOTES = {
    "signature only as a trailer":
        "# 1 trailer field left out (curl cannot send trailers): Stripe-Signature\n",
    "several trailers, names given twice":
        "# 4 trailer fields left out (curl cannot send trailers): X-Checksum Stripe-Signature "
        "X-Checksum X-Empty\n",
    "a trailer named as a header field":
        "# 3 trailer fields left out (curl cannot send trailers): Stripe-Signature x-tag X-TAG\n",
    "a 1 MB body": "# 1 trailer field left out (curl cannot send trailers): X-Checksum\n",
    "chunked, no trailers": "",
}


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl here")
@pytest.mark.parametrize("name", list(CURL_NOTES))
def test_curl_sends_the_header_section_and_names_the_trailers_left_out(
        captured: Captured, name: str) -> None:
    from hooklab.export import to_curl

    case = CASES[name]
    lab = hooklab.open(captured.db)
    try:
        cap = lab.get(captured.ids[name])
    finally:
        lab.stop()
    with Recorder() as app:
        cmd = to_curl(cap, f"{app.url}/hook", multiline=True)
        note = CURL_NOTES[name]
        assert [line for line in cmd.splitlines() if line.startswith("#")] == \
            ([note.rstrip("\n")] if note else []), cmd[:300]
        assert cmd.startswith(note), cmd[:300]
        # (a 1 MB body's printf is longer than one argument may be: the shell reads stdin)
        done = subprocess.run(["bash"], input=(cmd + " -s -o /dev/null\n").encode(),
                              capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        (raw,) = app.wait(1)
    head, body, trailers, _ = split_request(raw)
    assert trailers is None and body == case.body  # (no trailer section: Content-Length)
    for k, v in case.head:
        if k.lower() != "trailer":  # (curl frames the body itself: no Trailer field)
            assert f"{k}: {v}".encode("latin-1") in head, (k, head)
    for k, v in case.trailers:
        assert f"{k}: {v}".encode("latin-1") not in head, (k, head)
    got = [line.split(b": ", 1)[0].lower() for line in head[1:]]
    assert b"x-checksum" not in got and b"x-empty" not in got and b"trailer" not in got, got


def test_serve_forward_sends_trailer_fields_as_trailers(tmp_path: Path) -> None:
    """``hooklab serve --forward`` (a subprocess) forwards as ``lab.forward`` does."""
    names = ["several trailers, names given twice", "a body of 0 bytes", "chunked, no trailers"]
    with Recorder() as app:
        proc = subprocess.Popen(
            [EXE, "serve", "--port", "0", "--db", str(tmp_path / "c.sqlite3"),
             "--forward", f"{BIN}={app.url}/hook"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            first = proc.stdout.readline()  # type: ignore[union-attr]
            m = re.search(r"http://127\.0\.0\.1:(\d+)", first)
            assert m, (first, proc.stderr.read() if proc.poll() is not None else "")  # type: ignore[union-attr]
            for i, name in enumerate(names):
                answer = raw_request(int(m.group(1)), CASES[name].raw(f"/{BIN}/{i}"))
                assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
            got = app.wait(len(names))
        finally:
            proc.terminate()
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate(timeout=10)
        port = int(app.url.rsplit(":", 1)[1])
    for i, name in enumerate(names):
        raw = sent_to(got, f"/hook/{i}")
        mark = re.search(rb"\r\nX-Hooklab-Forwarded-By: ([0-9a-f]{16})\r\n", raw)
        assert mark, raw[:1000]
        check_sent(raw, CASES[name], f"/hook/{i}", port,
                   [("X-Hooklab-Forwarded-By", mark.group(1).decode())])


@pytest.mark.parametrize(("headers", "trailers_at", "noted"), [
    ([("Content-Type", "text/plain")], None, False),
    ([("Authorization", "Bearer s3cr3t")], None, True),
    ([("Transfer-Encoding", "chunked"), ("Authorization", "Bearer s3cr3t")], 1, False),
    ([("Authorization", "Bearer a"), ("Transfer-Encoding", "chunked"), ("Authorization", "b")], 2,
     True),
    ([("Transfer-Encoding", "chunked"), ("X-Api-Key", "k"), ("Cookie", "c=1")], 1, False),
], ids=["none", "in the header section", "only a trailer", "both", "two trailers"])
def test_the_live_views_curl_notes_hidden_credentials_of_what_it_sends_only(
        headers: list[tuple[str, str]], trailers_at: int | None, noted: bool) -> None:
    """The live view's Copy as curl said "credentials hidden" for a credential that came only as
    a trailer field, which the command leaves out whole (it names the trailer, not its value)."""
    from datetime import datetime, timezone

    from hooklab.widget import _render as R

    cap = hooklab.Capture(id=1, received_at=datetime.now(timezone.utc), method="POST",
                          path="/b/x", headers=headers, body=b"hi", trailers_at=trailers_at)
    cmd = R.curl_command(cap, base="http://127.0.0.1:9")
    assert cmd.startswith("# credentials hidden") is noted, cmd
    assert "s3cr3t" not in cmd and "Bearer a" not in cmd and "Bearer b" not in cmd
