"""A body sent with transfer codings (``Transfer-Encoding: gzip, chunked``) costs the lab no
more to read on arrival than the same content sent with a ``Content-Encoding``: search's words
stop at its first megabyte, detection and the signature check at their cap, and a chain of
more than three codings is not undone at all (a 285-byte ``gzip, gzip, chunked`` body decoded
to 60 MiB on the writer's thread, per request). A signature over the bytes on the wire is
accepted as one over the content is.

Real sockets on 127.0.0.1, real SQLite files. The work is counted as bytes decompressed
(``zlib`` output, in every thread of the process) while a request is received and stored,
against the same content sent with ``Content-Encoding: gzip`` in the same run.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _http import chunked_post, exact_request

import hooklab

pytestmark = pytest.mark.timeout(300)

SECRET = "whsec_bounds"
BIG = 60 << 20  # what the bombs decode to: 60 MiB
#: the content of every bomb: JSON, so each reader of it (detection, search) reads it all
BOMB_JSON = b'{"a": "' + b"x" * BIG + b'"}'


class _Counting:
    """A ``zlib`` decompressor that adds what it gives to a shared count."""

    def __init__(self, made: Any, count: list[int]) -> None:
        self._d, self._count = made, count

    def decompress(self, data: Any, max_length: int = 0) -> bytes:
        out = self._d.decompress(data, max_length)
        self._count[0] += len(out)
        return out

    def flush(self, *args: Any) -> bytes:
        out = self._d.flush(*args)
        self._count[0] += len(out)
        return out

    def __getattr__(self, name: str) -> Any:  # eof, unused_data, unconsumed_tail
        return getattr(self._d, name)


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes decompressed by ``zlib.decompressobj`` objects, any thread, from now on."""
    count = [0]
    real = zlib.decompressobj

    def counting(*args: Any, **kw: Any) -> _Counting:
        return _Counting(real(*args, **kw), count)

    monkeypatch.setattr(zlib, "decompressobj", counting)
    return count


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[hooklab.HookLab]:
    started = hooklab.HookLab(port=0, db=str(tmp_path / "captures.sqlite3")).start()
    started.secret("stripe", SECRET)  # (the signature is checked on arrival)
    try:
        yield started
    finally:
        started.stop()


def _stripe(body: bytes, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    mac = hmac.new(SECRET.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _post(lab: hooklab.HookLab, headers: list[tuple[str, str]], body: bytes,
          chunked: bool) -> int:
    """POST ``body`` to ``/stripe/x`` (chunked, or with its length); the capture's id."""
    headers = [("Content-Type", "application/json"), *headers]
    if chunked:
        status, answer = chunked_post(lab.bound_port, "/stripe/x", headers, body)
    else:
        status, answer = exact_request(lab.bound_port, "POST", "/stripe/x", headers, body,
                                       timeout=60)
    assert status == 200, answer[:200]
    return int(json.loads(answer)["id"])


def _gz(n: int) -> Callable[[bytes], bytes]:
    def code(data: bytes) -> bytes:
        for _ in range(n):
            data = gzip.compress(data, 9)
        return data
    return code


#: hostile transfer-coded bodies of :data:`BOMB_JSON`: (name, Transfer-Encoding,
#: Content-Encoding); their bytes are made once, by :func:`coded`
BOMBS: list[tuple[str, str, str | None]] = [
    ("gzip", "gzip, chunked", None),
    ("gzip twice", "gzip, gzip, chunked", None),
    ("gzip three times", "gzip, gzip, gzip, chunked", None),
    ("deflate over gzip", "gzip, deflate, chunked", None),
    ("gzip under Content-Encoding gzip", "gzip, chunked", "gzip"),
    ("four codings", "gzip, gzip, gzip, gzip, chunked", None),
]


@pytest.fixture(scope="module")
def coded() -> dict[str, bytes]:
    """Each bomb's bytes, and the baseline's (``Content-Encoding: gzip``): compressing
    60 MiB takes a while, so each layer is made once."""
    once = gzip.compress(BOMB_JSON, 9)
    twice = gzip.compress(once, 9)
    thrice = gzip.compress(twice, 9)
    return {"baseline": once, "gzip": once, "gzip twice": twice, "gzip three times": thrice,
            "deflate over gzip": zlib.compress(once, 9),
            "gzip under Content-Encoding gzip": twice,
            "four codings": gzip.compress(thrice, 9)}


def _work(lab: hooklab.HookLab, decoded: list[int], headers: list[tuple[str, str]],
          body: bytes, chunked: bool) -> tuple[int, int]:
    """Bytes decompressed while one request is received, checked and stored (search words
    made on the writer's thread: stored means made); and the capture's id."""
    before = decoded[0]
    cid = _post(lab, headers, body, chunked)
    lab.wait(1, since=cid - 1, timeout=60)
    return decoded[0] - before, cid


@pytest.mark.parametrize("name, te, ce", BOMBS, ids=[b[0] for b in BOMBS])
def test_a_transfer_coded_bomb_costs_what_a_content_encoded_one_does(
        lab: hooklab.HookLab, decoded: list[int], coded: dict[str, bytes], name: str,
        te: str, ce: str | None) -> None:
    sig = [("Stripe-Signature", _stripe(b"{}"))]  # (checked, and not matching)
    baseline, _ = _work(lab, decoded, [*sig, ("Content-Encoding", "gzip")], coded["baseline"],
                        chunked=False)
    assert 0 < baseline < BIG  # (detection and search read a prefix of the content)
    headers = [*sig, ("Transfer-Encoding", te), *([("Content-Encoding", ce)] if ce else [])]
    work, cid = _work(lab, decoded, headers, coded[name], chunked=True)
    # detection's cap again for the signature check, which a Content-Encoding needs not:
    # at most twice the baseline (before: the whole 60 MiB, once or twice)
    assert work <= 2 * baseline + (1 << 20), (work, baseline)
    cap = lab.get(cid)
    assert cap.body == coded[name]  # stored as received
    assert cap.verified is False
    # read when asked (60 MiB: under hooklab.jsonread.MAX_DECODED, as with Content-Encoding),
    # but four codings are never undone
    assert (cap.json() is None) is (name == "four codings")


def test_three_codings_are_undone_and_four_are_not(lab: hooklab.HookLab) -> None:
    plain = json.dumps({"type": "charge.succeeded", "data": {"word": "quokka"}}).encode()
    ids = {}
    for n in (1, 2, 3, 4):
        te = ", ".join(["gzip"] * n + ["chunked"])
        ids[n] = _post(lab, [("Stripe-Signature", _stripe(plain)), ("Transfer-Encoding", te)],
                       _gz(n)(plain), chunked=True)
    lab.wait(4, bin="stripe", timeout=30)
    want = {1: True, 2: True, 3: True, 4: False}  # (hooklab.jsonread.MAX_TRANSFER_CODINGS)
    for n, cid in ids.items():
        cap = lab.get(cid)
        assert (cap.json() == json.loads(plain)) is want[n], n
        assert cap.event_type == ("charge.succeeded" if want[n] else None), n
        assert cap.verified is want[n], (n, cap.verify_reason)
    found = {int(i) for i in lab.dataframe(bin="stripe", search="quokka")["id"]}
    assert found == {ids[n] for n in ids if want[n]}
    assert lab.dataframe(bin="stripe").set_index("id")["json"].map(bool).to_dict() == {
        ids[n]: want[n] for n in ids}


def test_search_reads_the_first_megabyte_of_a_transfer_coded_body(
        lab: hooklab.HookLab) -> None:
    """Words in a body's first megabyte are found, words past it are not, as with a
    ``Content-Encoding`` (both codings sent, the same content)."""
    filler = b" ".join(b"w%07d" % i for i in range(300_000))  # 2.4 MB of other words
    content = b'{"head": "emu", "fill": "' + filler + b'", "tail": "wombat"}'
    cases = {"te": ([("Transfer-Encoding", "gzip, chunked")], True),
             "ce": ([("Content-Encoding", "gzip")], False),
             "both": ([("Transfer-Encoding", "gzip, chunked"), ("Content-Encoding", "gzip")], True)}
    ids = {}
    for key, (headers, chunked) in cases.items():
        body = gzip.compress(content) if key != "both" else gzip.compress(gzip.compress(content))
        ids[key] = _post(lab, headers, body, chunked)
    lab.wait(3, bin="stripe", timeout=30)
    assert {int(i) for i in lab.dataframe(search="emu")["id"]} == set(ids.values())
    assert lab.dataframe(search="wombat").empty
    assert {int(i) for i in lab.dataframe(search="w0100000")["id"]} == set(ids.values())


#: who signed which bytes of a ``gzip, chunked`` body: (name, signed bytes of (plain, wire),
#: the signature's timestamp's age in seconds, verified?, what the reason says)
SIGNED = [
    ("the content", lambda p, w: p, 0, True, "ok"),
    ("the wire bytes", lambda p, w: w, 0, True, "ok"),
    ("something else", lambda p, w: p + b" ", 0, False, "signature mismatch"),
    ("the wire bytes, long ago", lambda p, w: w, 4000, False, "(the signature itself matches)"),
    ("the content, long ago", lambda p, w: p, 4000, False, "(the signature itself matches)"),
    ("the wire bytes of another body", lambda p, w: gzip.compress(p + b" "), 0, False,
     "signature mismatch"),
]


@pytest.mark.parametrize("name, signed, age, valid, reason", SIGNED, ids=[s[0] for s in SIGNED])
def test_a_signature_over_the_wire_bytes_or_the_content(
        lab: hooklab.HookLab, name: str, signed: Any, age: int, valid: bool,
        reason: str) -> None:
    plain = json.dumps({"type": "invoice.paid", "id": name}).encode()
    wire = gzip.compress(plain)
    sig = _stripe(signed(plain, wire), int(time.time()) - age)
    cid = _post(lab, [("Stripe-Signature", sig), ("Transfer-Encoding", "gzip, chunked")], wire,
                chunked=True)
    cap = lab.get(cid)
    assert cap.body == wire
    assert cap.verified is valid, cap.verify_reason
    assert reason in cap.verify_reason
    again = cap.verify(SECRET)
    assert (again.valid, reason in again.reason) == (valid, True), again.reason
    direct = hooklab.verify_signature("stripe", SECRET, cap.headers, cap.body)
    assert direct.valid is valid
