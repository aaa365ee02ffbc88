"""A Mailgun body that gives ``timestamp``, ``token`` or ``signature`` twice verifies nothing.

Mailgun signs ``timestamp + token`` (HMAC-SHA256, hex, with the HTTP webhook signing key) and
puts the three in the body: a webhook's JSON ``signature`` object, a forwarded message's form
fields (urlencoded, or multipart with attachments). A form giving a field twice was
``verified=True`` on arrival and by ``hooklab.verify_signature`` whenever the first copy was
the signed one, while re-signing refused the same capture ("a receiver reads the first or the
last"): an app reading the last (Django's ``QueryDict``) saw another timestamp than was
checked. Now any of the three given twice (JSON: a key given twice, which ``json`` reads as
the last) is ``valid=False``, its reason saying so, whichever copy is signed.

The signatures are computed here with ``hmac`` from Mailgun's documented formula; each row is
checked by ``hooklab.verify_signature`` and posted to a real lab on 127.0.0.1 (a SQLite file)
on a bin registered with ``provider="mailgun"``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from _http import post

import hooklab

pytestmark = pytest.mark.timeout(180)

KEY = "key-mailgun-signing-4567"
TOKEN = "c1d9e0f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
OLD = "1000000000"  # (a timestamp signed for nothing, long stale)
BOUNDARY = "----mgTwice7Yq"


def _sig(ts: str, token: str) -> str:
    return hmac.new(KEY.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()


def _pairs(twice: str | None, signed_first: bool, same: bool = False) -> list[tuple[str, str]]:
    """Mailgun's fields with ``twice`` given a second time: the signed value first or last
    (``same``: the very same value again)."""
    ts = str(int(time.time()))
    good = {"timestamp": ts, "token": TOKEN, "signature": _sig(ts, TOKEN)}
    other = {"timestamp": OLD, "token": "f" * 50, "signature": "0" * 64}
    pairs = [("recipient", "bob@example.com"), ("subject", "Hi")]
    for name in ("timestamp", "token", "signature"):
        if name != twice:
            pairs.append((name, good[name]))
            continue
        extra = good[name] if same else other[name]
        pairs += [(name, good[name]), (name, extra)] if signed_first else \
            [(name, extra), (name, good[name])]
    return pairs


def _body(kind: str, pairs: list[tuple[str, str]]) -> tuple[str, bytes]:
    if kind == "urlencoded":
        return "application/x-www-form-urlencoded", urlencode(pairs).encode()
    if kind == "multipart":
        parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                 for k, v in pairs]
        return (f"multipart/form-data; boundary={BOUNDARY}",
                ("".join(parts) + f"--{BOUNDARY}--\r\n").encode())
    # JSON: the pairs of the signature object written as given (a key twice kept twice)
    sig = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in pairs
                    if k in ("timestamp", "token", "signature"))
    return "application/json", ('{"event-data": {"event": "delivered"}, "signature": {'
                                + sig + "}}").encode()


KINDS = ("urlencoded", "multipart", "json")
#: (field given twice or None, signed copy first, same value twice, expected valid)
ROWS = [(None, True, False, True)] + [
    (name, first, False, False) for name in ("timestamp", "token", "signature")
    for first in (True, False)] + [("timestamp", True, True, False), ("signature", True, True, False)]


def _row_id(row: tuple[str | None, bool, bool, bool]) -> str:
    name, first, same, _ = row
    if name is None:
        return "each once"
    return f"{name} twice, " + ("same value" if same else "signed first" if first else "signed last")


def _reason(kind: str, name: str) -> str:
    what, noun = {"json": ("JSON 'signature' object", "keys")}.get(kind, ("form", "fields"))
    return (f"mailgun {what} has 2 {name!r} {noun}: a receiver reads the first or the last, so "
            "which one the app checks is unclear (not verified)")


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
@pytest.mark.parametrize("kind", KINDS)
def test_verify_signature(kind: str, row: tuple[str | None, bool, bool, bool]) -> None:
    name, first, same, valid = row
    ctype, body = _body(kind, _pairs(name, first, same))
    v = hooklab.verify_signature("mailgun", KEY, [("Content-Type", ctype)], body)
    assert v.valid is valid, v.reason
    assert v.reason == ("ok" if name is None else _reason(kind, name))


def test_json_signature_object_given_twice() -> None:
    ts = str(int(time.time()))
    good = json.dumps({"timestamp": ts, "token": TOKEN, "signature": _sig(ts, TOKEN)})
    for body in (f'{{"signature": {good}, "signature": {{"timestamp": "{OLD}"}}}}',
                 f'{{"signature": {{"timestamp": "{OLD}"}}, "signature": {good}}}'):
        v = hooklab.verify_signature("mailgun", KEY, [("Content-Type", "application/json")],
                                     body.encode())
        assert (v.valid, v.reason) == (False, "mailgun JSON body has 2 'signature' keys: a "
                                       "receiver reads the first or the last, so which one "
                                       "the app checks is unclear (not verified)")
    # a key twice elsewhere in the payload is no business of the signature's
    body = f'{{"event-data": {{"a": 1, "a": 2}}, "signature": {good}}}'.encode()
    v = hooklab.verify_signature("mailgun", KEY, [("Content-Type", "application/json")], body)
    assert (v.valid, v.reason) == (True, "ok")


def test_on_arrival_and_capture_verify(tmp_path: Path) -> None:
    with hooklab.HookLab(port=0, db=str(tmp_path / "mg.sqlite3")) as lab:
        lab.secret("mg", KEY, provider="mailgun")
        sent = [(kind, row) for kind in KINDS for row in ROWS]
        for kind, (name, first, same, _v) in sent:
            ctype, body = _body(kind, _pairs(name, first, same))
            post(lab.url_for("mg"), body, {"Content-Type": ctype})
        caps = lab.wait(len(sent), timeout=30, bin="mg")
        for cap, (kind, (name, _f, _s, valid)) in zip(caps, sent, strict=True):
            want = "ok" if name is None else _reason(kind, name)
            assert (cap.provider, cap.verified, cap.verify_reason) == ("mailgun", valid, want)
            v = cap.verify(KEY, "mailgun")
            assert (v.valid, v.reason) == (valid, want)
