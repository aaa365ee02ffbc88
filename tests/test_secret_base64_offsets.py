"""A secret given to ``lab.secret`` is hidden inside base64 at any offset, and percent-encoded
as Latin-1 too (README, "Providers and signatures").

A tester found base64 of ``client:<secret>`` (``Authorization: Bearer ...``, a query value, a
JWT claim) stored readable: only a secret that started on a 3-byte boundary of the decoded
value with nothing after it was hidden. Every character of the base64 run that carries any bit
of the secret must become ``[secret]`` (the rest of the run stays as sent), whatever its offset,
alphabet (standard, URL-safe), padding, and wherever it comes (header, ``Bearer``, query, path,
a JWT's payload), and base64 that does not hold the secret must be stored exactly as sent.

Which characters carry the secret's bits is found here by encoding the value twice more, with
the secret's bytes all 0x00 and all 0xFF: a character that differs carries a bit of it.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import sqlite3
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

import hooklab

pytestmark = pytest.mark.timeout(120)

S1 = "hunter2-password"  # bin "hook": 16 bytes
S2 = "k>?~~>?q"  # bin "tilde": 8 bytes whose base64 holds '+' and '/' (URL-safe: '-', '_')
S3 = "pässwörd-123"  # bin "lat": not ASCII
MARK = "[secret]"


def _std(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode()


ENCODINGS: dict[str, Callable[[bytes], str]] = {
    "std": _std,
    "std-nopad": lambda b: _std(b).rstrip("="),
    "url": _url,
    "url-nopad": lambda b: _url(b).rstrip("="),
}


def _hidden(enc: Callable[[bytes], str], before: bytes, secret: bytes, after: bytes) -> tuple[str, str]:
    """(the base64 sent, what the lab must store): every character that changes when the
    secret's bytes change (all 0x00, all 0xFF) is a character carrying a bit of it; those
    become one ``[secret]``, with the ``=`` padding right after them."""
    sent = enc(before + secret + after)
    zeros = enc(before + b"\0" * len(secret) + after)
    ones = enc(before + b"\xff" * len(secret) + after)
    differ = [i for i, (a, b) in enumerate(zip(zeros, ones, strict=True)) if a != b]
    assert differ and sent[differ[0]:differ[-1] + 1] != zeros[differ[0]:differ[-1] + 1]
    return sent, sent[:differ[0]] + MARK + sent[differ[-1] + 1:].lstrip("=")


def _jwt(claims: dict[str, str]) -> tuple[str, str]:
    """A JWT (unsigned form, URL-safe base64 without padding) whose payload holds ``S1``."""
    head = _url(b'{"alg":"HS256","typ":"JWT"}').rstrip("=")
    text = json.dumps(claims, separators=(",", ":")).encode()
    at = text.index(S1.encode())
    sent, stored = _hidden(ENCODINGS["url-nopad"], text[:at], S1.encode(), text[at + len(S1):])
    sig = "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    return f"{head}.{sent}.{sig}", f"{head}.{stored}.{sig}"


# (where it goes, sent, what must be stored there)
_CASES: list[tuple[str, str, str, str]] = []
for _secret in (S1, S2):
    for _off in range(6):
        for _tail in ("", "x", "xy", "!tail"):
            for _name, _enc in ENCODINGS.items():
                _sent, _stored = _hidden(_enc, b"Q" * _off, _secret.encode(), _tail.encode())
                _CASES.append((f"{_secret[:2]}-{_name}-off{_off}-tail{len(_tail)}", "X-Blob", _sent, _stored))
for _prefix in ("client:", "myapp:", "id:", "ab:", "a:", ""):
    _sent, _stored = _hidden(_std, _prefix.encode(), S1.encode(), b"")
    _CASES.append((f"bearer-{_prefix or 'none'}", "Authorization", f"Bearer {_sent}", f"Bearer {_stored}"))
    _CASES.append((f"token-{_prefix or 'none'}", "X-Api-Key", f"Token {_sent}", f"Token {_stored}"))
    _CASES.append((f"query-{_prefix or 'none'}", "?creds", _sent, _stored))
    _sent, _stored = _hidden(ENCODINGS["url-nopad"], _prefix.encode(), S1.encode(), b"/v1")
    _CASES.append((f"path-{_prefix or 'none'}", "/path", _sent, _stored))
for _claims in ({"secret": S1}, {"sub": "app", "secret": S1}, {"s": S1, "n": "1"},
                {"key": S1, "sub": "x"}, {"aa": S1}):
    _sent, _stored = _jwt(_claims)
    _CASES.append((f"jwt-{'-'.join(_claims)}", "X-Jwt", _sent, _stored))
    _CASES.append((f"jwt-bearer-{'-'.join(_claims)}", "Authorization", f"Bearer {_sent}", f"Bearer {_stored}"))

_rng = random.Random(20261207)
# base64 that holds none of the secrets: stored exactly as sent
_UNRELATED = [
    _std(b"hunter2"), _std(b"Qhunter2"), _std(b"QQhunter2"),  # its first 7 bytes only
    _std(b"password-hunter2"), _std(S1[::-1].encode()),
    _std(b"hunter2-pa$sword"), _url(b"Q" + S1.replace("w", "W").encode()).rstrip("="),
    _std(b"k>?~~>?Q"), _std(b"Qk>?~>?q"),
    _std(_rng.randbytes(48)), _url(_rng.randbytes(33)), _std(_rng.randbytes(300)),
    ".".join(_url(x).rstrip("=") for x in (b'{"alg":"HS256"}', b'{"sub":"someone","n":1}', b"sig")),
    "YWI6" + "[secret]", "eyJzdWIiOiJ4In0",
]
for _i, _value in enumerate(_UNRELATED):
    _CASES.append((f"unrelated-{_i}", "X-Blob", _value, _value))
    _CASES.append((f"unrelated-query-{_i}", "?creds", _value, _value))


def _send(port: int, path: str, headers: dict[str, str]) -> None:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("POST", path, body=b"{}", headers=headers)
        c.getresponse().read()
    finally:
        c.close()


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, hooklab.Capture], list[str]]]:
    """Every case sent to a lab with the three secrets on a SQLite file; the captures by case
    name, and the text of the database file and a JSON Lines export."""
    folder = tmp_path_factory.mktemp("b64")
    db = folder / "captures.sqlite3"
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    try:
        lab.secret("hook", S1)
        lab.secret("tilde", S2)
        lab.secret("lat", S3)
        for name, where, sent, _ in _CASES:
            if where.startswith("?"):
                _send(lab.bound_port, f"/hook/{name}?{where[1:]}={quote(sent, safe='')}", {})
            elif where == "/path":
                _send(lab.bound_port, f"/hook/{name}/{sent}", {})
            else:
                _send(lab.bound_port, f"/hook/{name}", {where: sent})
        caps = lab.wait(len(_CASES), timeout=60)
        by_name = {c.path.split("/")[2]: c for c in caps}
        lab.export(str(folder / "out.jsonl"), fmt="jsonl")
    finally:
        lab.stop()
    raw = b"".join(p.read_bytes() for p in folder.glob("captures.sqlite3*"))
    with sqlite3.connect(db) as conn:  # (the rows as SQLite gives them back, too)
        rows = repr(conn.execute("SELECT * FROM captures").fetchall()) if any(
            r[0] == "captures" for r in conn.execute("SELECT name FROM sqlite_master")) else ""
    yield by_name, [raw.decode("latin-1"), rows, (folder / "out.jsonl").read_text()]


@pytest.mark.parametrize(("name", "where", "sent", "expected"), _CASES, ids=[c[0] for c in _CASES])
def test_base64_holding_the_secret_is_stored_hidden(stored, name, where, sent, expected):
    captures, files = stored
    cap = captures[name]
    if where.startswith("?"):
        assert cap.query[where[1:]] == [expected], (sent, cap.query)
    elif where == "/path":
        assert cap.path == f"/hook/{name}/{expected}", (sent, cap.path)
    else:
        assert cap.header(where) == expected, (sent, cap.header(where))
    if expected != sent:
        for text in files:  # (never in the database file or an export)
            assert sent not in text and quote(sent, safe="") not in text, name


def test_the_cases_hold_what_they_say():
    """The table's own premises: S2's base64 has '+' or '/' at some offset, the unrelated
    values hold no secret, and the hidden ones do."""
    assert any(set(_std(b"Q" * k + S2.encode())) & set("+/") for k in range(3))
    for value in _UNRELATED:
        for pad in ("", "=", "=="):
            for alt in (None, b"-_"):
                try:
                    plain = base64.b64decode(value + pad, altchars=alt)
                except ValueError:
                    continue
                assert S1.encode() not in plain and S2.encode() not in plain
    assert sum(1 for _, _, sent, stored in _CASES if sent != stored) > 200


_LATIN1 = quote(S3, encoding="latin-1")  # p%E4ssw%F6rd-123
_UTF8 = quote(S3)  # p%C3%A4ssw%C3%B6rd-123


@pytest.mark.parametrize(("case", "target"), [
    ("latin1-upper", f"/lat/a?k={_LATIN1}"),
    ("latin1-lower", f"/lat/a?k={_LATIN1.lower()}"),
    ("latin1-all-escaped", "/lat/a?k=" + "".join(f"%{b:02X}" for b in S3.encode("latin-1"))),
    ("latin1-mixed-case", "/lat/a?k=%70%e4ssw%F6rd%2d123"),
    ("latin1-key", f"/lat/a?{_LATIN1}=1"),
    ("latin1-path", f"/lat/{_LATIN1}/x"),
    ("latin1-amid", f"/lat/a?k=x{_LATIN1}y&q=1"),
    ("utf8-upper", f"/lat/a?k={_UTF8}"),
    ("utf8-lower", f"/lat/a?k={_UTF8.lower()}"),
    ("utf8-path", f"/lat/{_UTF8}/x"),
])
def test_a_non_ascii_secret_percent_encoded_is_hidden(case, target):
    forms = {S3, _LATIN1, _LATIN1.lower(), _UTF8, _UTF8.lower(), S3.encode().decode("latin-1"),
             S3.encode("latin-1").decode("utf-8", "replace"), "ssw\ufffdrd-123", "rd-123"}
    lab = hooklab.HookLab(port=0, db=":memory:").start()
    try:
        lab.secret("lat", S3)
        _send(lab.bound_port, target, {})
        cap = lab.wait(1, timeout=20)[0]
    finally:
        lab.stop()
    text = json.dumps([cap.path, cap.url, cap.query], ensure_ascii=False)
    assert MARK in text, (case, text)
    assert not [f for f in forms if f in text], (case, text)
