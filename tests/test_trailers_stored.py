"""Where a capture's trailer fields start (``trailers_at``) is stored, so that a capture read
back (``lab.get``, ``hooklab.open`` in this process or a fresh one, a JSON Lines or HAR export
imported again) verifies from its header section alone, as on arrival: a signature that came
only as a trailer field (after a chunked body) does not verify, and the reason says so.

A real lab on 127.0.0.1 with a SQLite file, raw chunked requests over a socket; databases
of an older hooklab (no ``trailers_at`` column) are made by dropping the column."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _chunked import FIRST, Fields
from _chunked import chunked_post as _chunked
from _http import raw_request

import hooklab
from hooklab.signatures import sign

STRIPE_SECRET = "whsec_trailers_stored"
GITHUB_SECRET = "gh-trailers-stored"
STRIPE_BODY = json.dumps({"id": "evt_1", "object": "event", "type": "invoice.paid",
                          "data": {"object": {"id": "in_1"}}}).encode()
GITHUB_BODY = json.dumps({"ref": "refs/heads/main", "zen": "Keep it logically awesome."}).encode()
#: the fields every raw request below starts with (the header section's first three)
CT = ("Content-Type", "application/json")
WRONG_STRIPE = ("Stripe-Signature", "t=1,v1=" + "0" * 64)


def _stripe() -> tuple[str, str]:
    return "Stripe-Signature", sign("stripe", STRIPE_SECRET, STRIPE_BODY)["Stripe-Signature"]


def _github() -> tuple[str, str]:
    return "X-Hub-Signature-256", sign("github", GITHUB_SECRET, GITHUB_BODY)["X-Hub-Signature-256"]




class Case:
    """One request: its bin, provider, body, header section and trailer fields, and what a
    check of the stored capture must say (``valid``; ``noted``: the reason says a field came
    as a trailer; ``detected``: the capture's provider, the bin's where it names one, else
    what the lab detected on arrival, from the header section)."""

    def __init__(self, bin_: str, provider: str, make: Callable[[], tuple[Fields, Fields]],
                 valid: bool, noted: bool, detected: str | None) -> None:
        self.bin, self.provider, self.make = bin_, provider, make
        self.valid, self.noted, self.detected = valid, noted, detected
        self.body = STRIPE_BODY if provider == "stripe" else GITHUB_BODY
        self.secret = STRIPE_SECRET if provider == "stripe" else GITHUB_SECRET


#: the lab's bins: (secret, the provider the bin names; None: detected from the headers)
BINS = {"stripe": (STRIPE_SECRET, "stripe"), "gh": (GITHUB_SECRET, "github"),
        "anon": (STRIPE_SECRET, None), "anongh": (GITHUB_SECRET, None)}


CASES: dict[str, Case] = {
    "stripe signature only as a trailer": Case(
        "stripe", "stripe", lambda: ([CT], [_stripe()]), False, True, "stripe"),
    "stripe signature as a trailer among other trailers": Case(
        "stripe", "stripe",
        lambda: ([CT], [("X-Checksum", "abc"), _stripe(), ("X-Z", "1")]), False, True, "stripe"),
    "stripe signature as a trailer, in another letter case": Case(
        "stripe", "stripe", lambda: ([CT], [("stripe-signature", _stripe()[1])]),
        False, True, "stripe"),
    "right signature in the header, a wrong second one as a trailer": Case(
        "stripe", "stripe", lambda: ([CT, _stripe()], [WRONG_STRIPE]), True, False, "stripe"),
    "wrong signature in the header, the right second one as a trailer": Case(
        "stripe", "stripe", lambda: ([CT, WRONG_STRIPE], [_stripe()]), False, True, "stripe"),
    "signature in the header, no trailers": Case(
        "stripe", "stripe", lambda: ([CT, _stripe()], []), True, False, "stripe"),
    "no signature, no trailers": Case(
        "stripe", "stripe", lambda: ([CT], []), False, False, "stripe"),
    "stripe signed, other providers' headers as trailers": Case(
        "stripe", "stripe",
        lambda: ([CT, _stripe()], [("X-GitHub-Event", "push"), _github(),
                                   ("X-Twilio-Signature", "abc"), ("X-Slack-Signature", "v0=1")]),
        True, False, "stripe"),
    "github event and signature only as trailers": Case(
        "gh", "github", lambda: ([CT], [("X-GitHub-Event", "push"), _github()]),
        False, True, "github"),
    "github event in the header, its signature as a trailer": Case(
        "gh", "github", lambda: ([CT, ("X-GitHub-Event", "push")], [_github()]),
        False, True, "github"),
    "github signed in the header, a stripe signature as a trailer": Case(
        "gh", "github", lambda: ([CT, ("X-GitHub-Event", "push"), _github()], [_stripe()]),
        True, False, "github"),
    # bins that name no provider: detected from the header section, never from a trailer
    "no provider: stripe signature only as a trailer": Case(
        "anon", "stripe", lambda: ([CT], [_stripe()]), False, True, None),
    "no provider: github event and signature only as trailers": Case(
        "anongh", "github", lambda: ([CT], [("X-GitHub-Event", "push"), _github()]),
        False, True, None),
    "no provider: github event in the header, its signature as a trailer": Case(
        "anongh", "github", lambda: ([CT, ("X-GitHub-Event", "push")], [_github()]),
        False, True, "github"),
    "no provider: stripe signed, other providers' headers as trailers": Case(
        "anon", "stripe",
        lambda: ([CT, _stripe()], [("X-GitHub-Event", "push"), _github(),
                                   ("X-Twilio-Signature", "abc")]),
        True, False, "stripe"),
}


class Sent:
    """What was sent for each case: its capture id, the fields, and where trailers start."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.ids: dict[str, int] = {}
        self.fields: dict[str, tuple[Fields, Fields]] = {}

    def trailers_at(self, name: str) -> int | None:
        head, trailers = self.fields[name]
        return len(FIRST) + len(head) if trailers else None


def send_every_case(lab: hooklab.HookLab, out: Any) -> None:
    """Every case of :data:`CASES` sent to the running ``lab`` as a raw chunked request (each
    bin's secret set first, so it checks them on arrival too): ``out.fields`` and ``out.ids``
    say what was sent and the id it got; returns once all are stored."""
    for bin_, (secret, provider) in BINS.items():
        lab.secret(bin_, secret, provider=provider)
    for name, case in CASES.items():
        head, trailers = case.make()
        out.fields[name] = (head, trailers)
        # (FIRST has Connection: close: the lab closes once it answered)
        answer = raw_request(lab.bound_port, _chunked(f"/{case.bin}/{len(out.ids)}", head,
                                                     trailers, case.body))
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        out.ids[name] = json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"]
    lab.wait(len(CASES), timeout=10)


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sent]:
    """Every case sent to a real lab (secrets set, so it checks them on arrival too), stored
    in a SQLite file; the lab stopped before the tests read the file back."""
    db = tmp_path_factory.mktemp("trailers") / "captures.sqlite3"
    out = Sent(db)
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    try:
        send_every_case(lab, out)
        for name, case in CASES.items():  # what the running lab gives back, by id
            cap = lab.get(out.ids[name])
            assert cap is not None
            _check(name, cap.trailers_at, cap.verify(case.secret), out)
            assert cap.verified is case.valid, (name, cap.verify_reason)
            assert ("trailer field" in (cap.verify_reason or "")) is case.noted, cap.verify_reason
        yield out
    finally:
        lab.stop()


def _check(name: str, trailers_at: int | None, verdict: Any, sent: Sent) -> None:
    """``verdict`` (a :class:`Verification`, or its fields as a dict) is the case's."""
    case = CASES[name]
    valid, reason = ((verdict["valid"], verdict["reason"]) if isinstance(verdict, dict)
                     else (verdict.valid, verdict.reason))
    assert trailers_at == sent.trailers_at(name), name
    assert valid is case.valid, (name, reason)
    assert ("came as a trailer field" in reason) is case.noted, (name, reason)
    if case.noted:  # (the field named, as sent)
        names = [k for k, _ in sent.fields[name][1]]
        assert any(repr(k) in reason for k in names), (name, reason)
    if case.valid:
        assert reason == "ok", (name, reason)


@pytest.mark.parametrize("name", list(CASES))
def test_a_capture_opened_again_verifies_from_its_header_section(sent: Sent, name: str) -> None:
    case = CASES[name]
    lab = hooklab.open(sent.db)
    try:
        cap = lab.get(sent.ids[name])
        assert cap is not None
        _check(name, cap.trailers_at, cap.verify(case.secret), sent)
        # the provider named, or detected from the header section (what the lab detected)
        _check(name, cap.trailers_at, cap.verify(case.secret, case.provider), sent)
        assert cap.provider == case.detected
        head, trailers = sent.fields[name]
        assert cap.headers == [*FIRST, *head, *trailers]  # (all kept, in order)
        assert cap.header_section == [*FIRST, *head]
        assert cap.trailers == trailers
        assert cap.body == case.body
        assert [c for c in lab.captures if c.id == cap.id][0].trailers_at == cap.trailers_at
    finally:
        lab.stop()


_FRESH = """
import json, sys
import hooklab
lab = hooklab.open(sys.argv[1])
secrets = json.loads(sys.argv[2])
out = {}
for c in lab.captures:
    secret, provider = secrets[str(c.id)]
    out[c.id] = [c.trailers_at] + [
        {"valid": v.valid, "reason": v.reason}
        for v in (c.verify(secret), c.verify(secret, provider))]
lab.stop()
print(json.dumps(out))
"""


def test_a_fresh_process_reads_where_the_trailers_start(sent: Sent) -> None:
    given = {str(sent.ids[n]): [c.secret, c.provider] for n, c in CASES.items()}
    done = subprocess.run([sys.executable, "-c", _FRESH, str(sent.db), json.dumps(given)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(map(int, got)) == sorted(sent.ids.values())
    for name in CASES:
        at, auto, named = got[str(sent.ids[name])]
        _check(name, at, auto, sent)
        _check(name, at, named, sent)


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_an_export_imported_again_keeps_the_verdict(sent: Sent, tmp_path: Path, fmt: str) -> None:
    lab = hooklab.open(sent.db)
    path = tmp_path / f"captures.{fmt}"
    try:
        if fmt == "har":
            lab.export_har(str(path))
        else:
            lab.export(str(path), fmt="jsonl")
    finally:
        lab.stop()
    # what the file says: trailers_at where trailers came, no such key elsewhere
    if fmt == "har":
        metas = [e["_hooklab"] for e in json.loads(path.read_text())["log"]["entries"]]
    else:
        metas = [json.loads(line) for line in path.read_text().splitlines()]
    by_id = {m["id"]: m for m in metas}
    for name in CASES:
        meta = by_id[sent.ids[name]]
        assert meta.get("trailers_at", "absent") == (sent.trailers_at(name) or "absent"), name
    back = hooklab.load_har(str(path)) if fmt == "har" else hooklab.load_jsonl(str(path))
    try:
        caps = back.captures
        assert len(caps) == len(CASES)
        for name, cap in zip(CASES, caps, strict=True):  # (imported in the order sent)
            case = CASES[name]
            assert cap.body == case.body, name
            _check(name, cap.trailers_at, cap.verify(case.secret), sent)
            _check(name, cap.trailers_at, cap.verify(case.secret, case.provider), sent)
            assert cap.provider == case.detected, name
            assert cap.verified is case.valid, name  # (the verdict the file kept)
    finally:
        back.stop()


def _older(db: Path) -> None:
    """Make ``db`` a database as an older hooklab wrote it: no ``trailers_at`` column."""
    con = sqlite3.connect(db)
    try:
        con.execute("ALTER TABLE captures DROP COLUMN trailers_at")
        con.commit()
        assert "trailers_at" not in {r[1] for r in con.execute("PRAGMA table_info(captures)")}
    finally:
        con.close()


def _columns(db: Path) -> set[str]:
    con = sqlite3.connect(db)
    try:
        return {r[1] for r in con.execute("PRAGMA table_info(captures)")}
    finally:
        con.close()


@pytest.fixture
def older(sent: Sent, tmp_path: Path) -> Path:
    """A copy of the cases' database without the column (as an older hooklab left it)."""
    db = tmp_path / "older.sqlite3"
    src = sqlite3.connect(sent.db)
    dst = sqlite3.connect(db)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    _older(db)
    return db


def test_an_older_database_opens_and_is_given_the_column(older: Path, sent: Sent) -> None:
    lab = hooklab.open(older)
    try:
        caps = {c.id: c for c in lab.captures}
        assert sorted(caps) == sorted(sent.ids.values())
        assert [c.trailers_at for c in caps.values()] == [None] * len(CASES)
        for name, case in CASES.items():  # (nothing says where trailers start: all headers)
            head, trailers = sent.fields[name]
            assert caps[sent.ids[name]].headers == [*FIRST, *head, *trailers]
            assert caps[sent.ids[name]].body == case.body
    finally:
        lab.stop()
    assert "trailers_at" in _columns(older)  # (opened for writing: the column added)
    lab = hooklab.HookLab(port=0, db=str(older)).start()  # and a lab on it stores it again
    try:
        lab.secret("stripe", STRIPE_SECRET, provider="stripe")
        head, trailers = [CT], [_stripe()]
        answer = raw_request(lab.bound_port, _chunked("/stripe/new", head, trailers, STRIPE_BODY))
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
        new = lab.get(json.loads(answer.split(b"\r\n\r\n", 1)[1])["id"])
        assert new is not None and new.trailers_at == len(FIRST) + 1
        assert new.verify(STRIPE_SECRET).valid is False
        assert all(c.trailers_at is None for c in lab.captures if c.id != new.id)
    finally:
        lab.stop()


def test_an_older_database_read_as_it_is(older: Path, sent: Sent) -> None:
    """Opened read-only (a read-only mount, another user's file), an older database is not
    given the column, and reads as before: no capture has trailers_at."""
    from hooklab.store import CaptureStore

    store = CaptureStore(older, readonly=True)
    try:
        caps = store.query()
        assert sorted(c.id for c in caps) == sorted(sent.ids.values())
        assert {c.trailers_at for c in caps} == {None}
        assert store.get(sent.ids["stripe signature only as a trailer"]).trailers_at is None
        assert len(list(store.iter_captures())) == len(CASES)
    finally:
        store.close()
    assert "trailers_at" not in _columns(older)


# a stored trailers_at a crafted database may hold, and what the capture reads (a database
# hooklab.open reads is as untrusted as an imported file)
CRAFTED = [
    (4, 4),
    (0, 0),
    (5, None),      # past the last field: no trailers
    (99, None),
    (-1, None),
    ("4", 4),       # (a number written as text: the INTEGER column makes it one)
    ("x", None),    # SQLite keeps a text in an INTEGER column when it is no number
    ("4x", None),
    (4.5, None),
    (b"\x04", None),
]


def crafted_copy(db: Path, cid: int, where: Path, stored: Any) -> Path:
    """A copy of the database ``db`` (in ``where``) whose capture ``cid`` has ``stored`` as
    its trailers_at (SQLite keeps what it is given: a text, a float, a blob)."""
    copy = where / "crafted.sqlite3"
    src, dst = sqlite3.connect(db), sqlite3.connect(copy)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    con = sqlite3.connect(copy)
    try:
        con.execute("UPDATE captures SET trailers_at = ? WHERE id = ?", (stored, cid))
        con.commit()
    finally:
        con.close()
    return copy


@pytest.mark.parametrize(("stored", "read"), CRAFTED)
def test_a_crafted_trailers_at_reads_as_a_field_index_or_none(sent: Sent, tmp_path: Path,
                                                              stored: Any, read: Any) -> None:
    cid = sent.ids["stripe signature only as a trailer"]  # (5 fields: 4 of the header section)
    db = crafted_copy(sent.db, cid, tmp_path, stored)
    lab = hooklab.open(db)
    try:
        cap = lab.get(cid)
        assert cap is not None and cap.trailers_at == read
        assert [c.trailers_at for c in lab.captures if c.id == cid] == [read]
    finally:
        lab.stop()


# a trailers_at a JSON Lines line (or a HAR entry's _hooklab) may give: refused unless it
# names one of the line's header fields (the file is untrusted); what the error says (a regex)
HOSTILE = [
    ("text", "1", "trailers_at must be a whole number"),
    ("true", True, "trailers_at must be a whole number"),
    ("float", 1.0, "trailers_at must be a whole number"),
    ("list", [1], "trailers_at must be a whole number"),
    # (orjson reads JSON Lines: a float there; the HAR reader an int, past the fields)
    ("past 64 bits", 10**30, "trailers_at must be a whole number|names no header field"),
    ("negative", -1, "names no header field"),
    ("past the fields", 2, "names no header field"),
    ("far past", 2**62, "names no header field"),
]


def _line(at: Any) -> dict[str, Any]:
    sig = _stripe()
    return {"path": "/stripe", "received_at": "2026-01-01T00:00:00+00:00", "status": 200,
            "method": "POST", "headers": [list(CT), list(sig)], "trailers_at": at,
            "body": STRIPE_BODY.decode()}


@pytest.mark.parametrize(("what", "at", "says"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_an_imported_trailers_at_is_checked(tmp_path: Path, what: str, at: Any, says: str) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text(json.dumps(_line(at)) + "\n")
    with pytest.raises(ValueError, match="line 1") as info:  # (the line named)
        hooklab.load_jsonl(str(path))
    assert re.search(says, str(info.value)), (what, str(info.value))
    har = tmp_path / "hostile.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [{
        "startedDateTime": "2026-01-01T00:00:00+00:00",
        "request": {"method": "POST", "url": "http://x/stripe", "httpVersion": "HTTP/1.1",
                    "headers": [{"name": CT[0], "value": CT[1]},
                                {"name": _stripe()[0], "value": _stripe()[1]}],
                    "postData": {"mimeType": CT[1], "text": STRIPE_BODY.decode()}},
        "response": {"status": 200}, "_hooklab": {"trailers_at": at}}]}}))
    with pytest.raises(ValueError, match="HAR entry 0 is malformed") as raised:
        hooklab.load_har(str(har))
    assert re.search(says, str(raised.value)), (what, str(raised.value))


@pytest.mark.parametrize(("at", "valid"), [(None, True), (0, False), (1, False)])
def test_an_imported_trailers_at_decides_what_verifies(tmp_path: Path, at: Any,
                                                       valid: bool) -> None:
    """A line's trailers_at, when it names a field, is where the checks stop reading: the
    signature at index 1 verifies only when it is in the header section."""
    path = tmp_path / "lines.jsonl"
    line = _line(at)
    if at is None:
        del line["trailers_at"]
    path.write_text(json.dumps(line) + "\n")
    lab = hooklab.load_jsonl(str(path))
    try:
        (cap,) = lab.captures
        assert cap.trailers_at == at
        verdict = cap.verify(STRIPE_SECRET, "stripe")
        assert verdict.valid is valid, verdict.reason
        assert ("came as a trailer field" in verdict.reason) is (not valid)
    finally:
        lab.stop()
