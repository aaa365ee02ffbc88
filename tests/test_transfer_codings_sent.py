"""A delivery sent with ``Transfer-Encoding: gzip, chunked`` is stored with its gzip bytes (the
server undid ``chunked`` only). Forward and replay drop ``Transfer-Encoding`` (hop-by-hop) and
sent those gzip bytes with a ``Content-Length`` and no ``Content-Encoding``: the app got
``application/json`` it could not read. A proxy that removes a transfer coding must undo it
(RFC 9112 section 7): forward, replay and copy-as-curl now send the decoded body (at most
``hooklab.jsonread.MAX_DECODED`` bytes), and a coding hooklab cannot undo (``compress``, an
unknown one, a corrupt stream, a decompression bomb) is an error saying so, nothing sent.

Deliveries go to a real lab as raw bytes; the app is a raw-socket server on 127.0.0.1 that
keeps each request's exact bytes."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import time
import zlib

import pytest
from _rawrecord import Recorder, replayed_and_curled, split_request

from hooklab.export import to_curl
from hooklab.jsonread import MAX_DECODED

PAYLOAD = b'{"id": "evt_1", "type": "charge.succeeded", "caf\\u00e9": 1}'


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def _chunked(body: bytes, size: int = 7) -> bytes:
    out = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                   for i in range(0, len(body), size))
    return out + b"0\r\n\r\n"


#: Transfer-Encoding field lines -> (the body as coded, the body the app must get)
UNDONE = {
    "gzip": ([b"gzip, chunked"], gzip.compress(PAYLOAD), PAYLOAD),
    "x-gzip": ([b"x-gzip, chunked"], gzip.compress(PAYLOAD), PAYLOAD),
    "deflate (zlib)": ([b"deflate, chunked"], zlib.compress(PAYLOAD), PAYLOAD),
    "deflate (raw, as some senders)": ([b"deflate, chunked"], _raw_deflate(PAYLOAD), PAYLOAD),
    "deflate then gzip": ([b"deflate, gzip, chunked"], gzip.compress(zlib.compress(PAYLOAD)),
                          PAYLOAD),
    "two fields": ([b"gzip", b"chunked"], gzip.compress(PAYLOAD), PAYLOAD),
    "case and spaces": ([b"GZip ,  chunked"], gzip.compress(PAYLOAD), PAYLOAD),
    "gzip, two members": ([b"gzip, chunked"], gzip.compress(b'{"a":') + gzip.compress(b"1}"),
                          b'{"a":1}'),
    "empty body": ([b"gzip, chunked"], b"", b""),
    "chunked alone": ([b"chunked"], PAYLOAD, PAYLOAD),
    "binary payload": ([b"gzip, chunked"], gzip.compress(bytes(range(256)) * 40),
                       bytes(range(256)) * 40),
}

def _bomb() -> bytes:
    """A gzip stream of a MiB more zeros than MAX_DECODED (about 65 KB), made a MiB at a time."""
    c = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1 << 20)
    return b"".join([c.compress(zeros) for _ in range(MAX_DECODED // len(zeros) + 1)]
                    + [c.flush()])


BOMB = _bomb()

#: Transfer-Encoding field lines -> (the body as coded, what the error says)
REFUSED = {
    "compress": ([b"compress, chunked"], b"\x1f\x9d\x90{\x00", "whose 'compress' coding "
                 "hooklab cannot undo (gzip, deflate)"),
    "br": ([b"br, chunked"], b"\x0b\x02\x80{}\x03", "whose 'br' coding hooklab cannot undo"),
    "made up": ([b"x-made-up, chunked"], PAYLOAD, "whose 'x-made-up' coding hooklab cannot "
                "undo"),
    "one known, one not": ([b"compress, gzip, chunked"], gzip.compress(PAYLOAD),
                           "whose 'compress' coding hooklab cannot undo"),
    "not gzip at all": ([b"gzip, chunked"], PAYLOAD, "its gzip transfer coding is corrupt"),
    "gzip cut short": ([b"gzip, chunked"], gzip.compress(PAYLOAD)[:-12],
                       "its gzip transfer coding is cut short"),
    "gzip, then other bytes": ([b"gzip, chunked"], gzip.compress(PAYLOAD) + b"trailing",
                               "its gzip transfer coding is corrupt"),
    "deflate, then other bytes": ([b"deflate, chunked"], zlib.compress(PAYLOAD) + b"xx",
                                  "its deflate transfer coding is followed by 2 bytes"),
    "decompression bomb": ([b"gzip, chunked"], BOMB,
                           f"its gzip transfer coding decodes past {MAX_DECODED:,} bytes"),
}


def _deliver(lab, te: list[bytes], body: bytes, extra: bytes = b""):  # type: ignore[no-untyped-def]
    """Send a chunked delivery with these ``Transfer-Encoding`` lines; its capture."""
    before = len(lab.captures)
    head = (b"POST /b/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + b"".join(b"Transfer-Encoding: " + v + b"\r\n" for v in te) + extra + b"\r\n")
    with socket.create_connection(("127.0.0.1", lab.bound_port), timeout=30) as s:
        s.sendall(head + _chunked(body, 4096 if len(body) > 10_000 else 7))
        answer = b""
        while b"\r\n" not in answer:  # (the status line: a byte or more a round, or the end)
            piece = s.recv(4096)
            assert piece, answer
            answer += piece
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    (cap,) = lab.wait(before + 1, timeout=10)[before:]
    assert cap.body == body  # (stored as it came: the coding kept, chunked undone)
    return cap


def _fields(raw: bytes) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    head, body, trailers, _ = split_request(raw)
    assert trailers is None, head  # (no chunked body: the decoded one, after a Content-Length)
    return head[0], [tuple(line.split(b": ", 1)) for line in head[1:]], body  # type: ignore[misc]


def _curl(cmd: str) -> None:
    subprocess.run(["bash", "-c", cmd + " -sS -o /dev/null --max-time 20"], check=True,
                   timeout=60, env={**os.environ, "LC_ALL": "C.UTF-8"})


@pytest.mark.parametrize("name", list(UNDONE))
def test_forward_replay_and_curl_send_the_body_decoded(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    te, coded, want = UNDONE[name]
    with Recorder() as app:
        lab.forward("b", to=app.url + "/app")
        cap = _deliver(lab, te, coded)
        got = replayed_and_curled(lab, cap, app, before=1)
    for raw in got:
        line, fields, body = _fields(raw)
        names = [k.lower() for k, _ in fields]
        assert line == b"POST /app/x HTTP/1.1"
        assert body == want
        assert (b"content-type", b"application/json") in [(k.lower(), v) for k, v in fields]
        assert b"transfer-encoding" not in names and b"content-encoding" not in names, fields
        assert dict((k.lower(), v) for k, v in fields)[b"content-length"] == b"%d" % len(want)
    deadline = time.monotonic() + 10
    while not lab.forwards() and time.monotonic() < deadline:
        time.sleep(0.02)
    (fwd,) = lab.forwards()
    assert (fwd["status"], fwd["error"]) == (200, None), fwd


def test_a_content_coding_under_the_transfer_coding_stays(lab) -> None:  # type: ignore[no-untyped-def]
    """``Content-Encoding: gzip`` describes the message: only the transfer coding is undone,
    and the app gets the gzip-coded content with its ``Content-Encoding``."""
    inner = gzip.compress(PAYLOAD)
    with Recorder() as app:
        cap = _deliver(lab, [b"gzip, chunked"], gzip.compress(inner),
                       b"Content-Encoding: gzip\r\n")
        (r,) = lab.replay([cap], to=app.url + "/app")
        assert (r.status, r.error) == (200, None), r
        (raw,) = app.wait(1)
    _, fields, body = _fields(raw)
    assert body == inner and (b"Content-Encoding", b"gzip") in fields


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_coding_that_cannot_be_undone_is_refused_not_sent(lab, name: str) -> None:  # type: ignore[no-untyped-def]
    te, coded, says = REFUSED[name]
    said = ", ".join(v.decode() for v in te)
    with Recorder() as app:
        lab.forward("b", to=app.url + "/app")
        cap = _deliver(lab, te, coded)
        (r,) = lab.replay([cap], to=app.url + "/app")
        deadline = time.monotonic() + 10
        while not lab.forwards() and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(ValueError) as curl_error:
            to_curl(cap, url=app.url + "/app")
        time.sleep(0.3)
        assert app.got == []  # (nothing sent: not the coded bytes as the body)
    (fwd,) = lab.forwards()
    start = f"ValueError: capture #{cap.id} came with Transfer-Encoding {said!r}"
    end = ": not sent (the app would read the coded bytes as the body)"
    for error in (r.error, fwd["error"], "ValueError: " + str(curl_error.value)):
        assert error.startswith(start) and says in error and error.endswith(end), error
    assert r.status is None and fwd["status"] is None


@pytest.mark.parametrize("resign", [False, True])
def test_a_signed_delivery_verifies_at_the_app_once_its_coding_is_undone(
        lab, resign: bool) -> None:  # type: ignore[no-untyped-def]
    """A sender signs the content, not its transfer coding: the decoded body the app gets
    verifies, as sent (the signature it came with) and signed afresh (``resign=``)."""
    import hooklab

    secret = "whsec_transfer_coding"
    signed = hooklab.signatures.sign_request("stripe", secret, body=PAYLOAD)
    extra = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in signed.headers.items())
    with Recorder() as app:
        cap = _deliver(lab, [b"gzip, chunked"], gzip.compress(PAYLOAD), extra)
        (r,) = lab.replay([cap], to=app.url + "/app",
                          resign=hooklab.outbound.Resign(secret, "stripe") if resign else None)
        assert (r.status, r.error) == (200, None), r
        (raw,) = app.wait(1)
    _, fields, body = _fields(raw)
    assert body == PAYLOAD
    verdict = hooklab.verify_signature("stripe", secret,
                                       [(k.decode(), v.decode()) for k, v in fields], body)
    assert verdict.valid, verdict.reason
