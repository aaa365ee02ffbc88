"""A secret given with ``lab.secret`` after captures were stored (and forwarded) is hidden in
their forwarding outcomes and in ``lab.diff`` / ``lab.schema()`` too, as it is in the
captures themselves (README, Providers and signatures: exports, the live view... write it as
``[secret]``; Explore payloads: every tab, ``lab.diff`` and ``lab.schema()`` hide credentials).

A forward's recorded target holds the capture's path and query: JSON Lines and HAR exports
wrote it in clear, and so did the live view's Details tab ("Forwarded (1)", so the widget
state), while every other field of the capture was ``[secret]``. ``lab.diff`` compared the
captures as stored: ``headers.x-val changed one <secret>``.

Real sockets on 127.0.0.1 (the lab, and a local app the bin is forwarded to), a real SQLite
file. The expected texts are written out by hand from README's rule: the secret as text,
percent-encoded, or the base64 characters carrying its bits (``aWQ6`` is ``id:``).
"""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import exact_request
from _target import Target
from _views import lines, saved_state

import hooklab

S = "orange-kettle-4242"  # (18 characters: its base64 has no padding)
NEAR = "orange-kettle-424"  # (the secret but its last character: no secret)
B64 = base64.b64encode(b"id:" + S.encode()).decode()  # "aWQ6" + 24 characters of the secret's
JSON = [("Content-Type", "application/json")]

#: (case, request target, extra headers, body's "type") sent to bin "fb" before the secret was
#: given, and the forward's target (after the app's "/ok") as exports and views show it
FORWARDS = [
    ("path", f"/fb/{S}/x", [], "t", "/ok/[secret]/x"),
    ("query", f"/fb/q?k={S}&n=1", [], "t", "/ok/q?k=[secret]&n=1"),
    ("percent-encoded path", "/fb/orange%2Dkettle%2D4242", [], "t", "/ok/[secret]"),
    ("base64 in the query", f"/fb/q?k={B64}", [], "t", "/ok/q?k=aWQ6[secret]"),
    ("header value", "/fb/h", [("X-Val", S)], "t", "/ok/h"),
    ("header name", "/fb/h", [(f"X-{S}", "1")], "t", "/ok/h"),
    ("base64 in a header", "/fb/h", [("X-Val", B64)], "t", "/ok/h"),
    ("event type (GitHub header)", "/fb/e", [("X-GitHub-Event", S)], "t", "/ok/e"),
    ("event type from the body", "/fb/e", [("Stripe-Signature", "t=1,v1=00")], S, "/ok/e"),
    ("near miss (no secret)", f"/fb/{NEAR}?k={NEAR}", [], "t", f"/ok/{NEAR}?k={NEAR}"),
]


def _post(port: int, target: str, headers: list[tuple[str, str]], body: dict) -> None:
    status, _ = exact_request(port, "POST", target, JSON + headers, json.dumps(body).encode())
    assert status == 200


@pytest.fixture(scope="module")
def forwarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[hooklab.HookLab, str]]:
    """A lab whose bin "fb" is forwarded to a local app: one capture per case of FORWARDS,
    all forwarded, then ``lab.secret("fb", S)``, then one capture more (forwarded after it)."""
    db = tmp_path_factory.mktemp("fwd") / "c.sqlite3"
    with Target() as app:
        lab = hooklab.HookLab(port=0, db=str(db)).start()
        try:
            lab.forward("fb", app.url + "/ok")
            for _, target, headers, kind, _ in FORWARDS:
                _post(lab.bound_port, target, headers, {"type": kind})
            lab.wait(len(FORWARDS), timeout=30)
            assert lab.store.wait_for(lambda: len(lab.forwards()) == len(FORWARDS), timeout=30)
            lab.secret("fb", S)
            _post(lab.bound_port, f"/fb/{S}/after?k={S}", [], {"type": "t"})
            lab.wait(len(FORWARDS) + 1, timeout=30)
            assert lab.store.wait_for(lambda: len(lab.forwards()) == len(FORWARDS) + 1,
                                      timeout=30)
            yield lab, app.url
        finally:
            lab.stop()


#: each case's expected target, and the one forwarded after the secret (scrubbed on arrival)
EXPECTED = [want for *_, want in FORWARDS] + ["/ok/[secret]/after?k=[secret]"]


def test_the_database_keeps_the_forward_targets_as_recorded(forwarded) -> None:
    lab, app = forwarded
    got = [f["target"] for f in lab.forwards()]
    assert got[0] == f"{app}/ok/{S}/x" and got[1] == f"{app}/ok/q?k={S}&n=1"
    assert got[-1] == app + EXPECTED[-1]  # (the capture itself stored with [secret])


@pytest.mark.parametrize("fmt", ["jsonl", "har"])
def test_an_export_writes_forward_targets_as_the_store_shows_them(forwarded, tmp_path: Path,
                                                                  fmt: str) -> None:
    lab, app = forwarded
    out = tmp_path / f"e.{fmt}"
    assert lab.export(out) == len(FORWARDS) + 1
    text = out.read_text(encoding="utf-8")
    if fmt == "jsonl":
        records = [json.loads(line) for line in text.splitlines()]
    else:
        entries = json.loads(text)["log"]["entries"]
        records = [e["_hooklab"] for e in entries]
        for e in entries:  # (a body is kept as sent: the Stripe case's "type" holds it)
            e["request"].pop("postData", None)
        text = json.dumps(entries, ensure_ascii=False)
    got = [[f["target"] for f in r["forwards"]] for r in records]
    assert got == [[app + want] for want in EXPECTED]
    assert all(r["forwards"][0]["status"] == 200 for r in records)
    assert S not in text and NEAR in text  # (nothing unrelated hidden)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_keep_the_forward_outcome(forwarded, tmp_path: Path, fmt: str) -> None:
    lab, _ = forwarded
    out = tmp_path / f"e.{fmt}"
    lab.export(out)
    if fmt == "csv":
        with out.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        text = out.read_text(encoding="utf-8")
    else:
        import pyarrow.parquet as pq

        rows = sorted((r for p in out.rglob("*.parquet") for r in pq.read_table(p).to_pylist()),
                      key=lambda r: r["id"])
        for r in rows:  # (a body is kept as sent: the Stripe case's "type" holds it)
            del r["body"]
        text = json.dumps(rows, default=str)
    assert [str(r["forward_status"]) for r in rows] == ["200"] * (len(FORWARDS) + 1)
    assert S not in text


def test_the_live_view_shows_forward_targets_as_the_store_shows_them(forwarded) -> None:
    lab, app = forwarded
    view = lab.live()
    try:
        for cap, want in zip(lab.captures, EXPECTED, strict=True):
            view.select(cap.id)
            view.refresh()
            row = [t for t in lines(view.detail.value) if t.startswith("Forwarded (1) ")]
            assert len(row) == 1 and row[0].startswith(f"Forwarded (1) {app}{want} 200 in "), \
                (want, row)
        assert S not in saved_state()
    finally:
        view.close()


def test_forwards_of_captures_stored_after_the_secret_are_not_scrubbed_again(
        forwarded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The watermark: only the outcomes of captures stored before the secret are read."""
    lab, _ = forwarded
    book = type(lab.store.secrets)
    calls: list[str] = []
    scrub_text = book.scrub_text

    def counted(this: object, text: str) -> str:
        calls.append(text)
        return scrub_text(this, text)

    monkeypatch.setattr(book, "scrub_text", counted)
    after = lab.captures[-1].id
    assert lab.store.shown_forwards(lab.forwards(after)) == lab.forwards(after)
    assert calls == []
    lab.export(tmp_path / "e.jsonl")
    assert len(calls) == len(FORWARDS)  # (each older forward's target; no error to read)


# -- lab.diff and lab.schema() ----------------------------------------------------------------

BASE = ("/dd/a", [("X-Val", "one")], {"a": 1})

#: (case, capture b's target, headers, body) compared with BASE, both stored before the
#: secret was given; the rows of ``lab.diff(a, b, headers=True)`` written out by hand
DIFFS = [
    ("header value", "/dd/a", [("X-Val", S)], {"a": 2},
     [("headers.x-val", "changed", "one", "[secret]"), ("a", "changed", 1, 2)]),
    ("header name", "/dd/a", [("X-Val", "one"), (f"X-{S}", "1")], {"a": 2},
     [("headers.x-secret", "added", None, "<hidden: 1 chars>"), ("a", "changed", 1, 2)]),
    ("base64 in a header", "/dd/a", [("X-Val", B64)], {"a": 2},
     [("headers.x-val", "changed", "one", "aWQ6[secret]"), ("a", "changed", 1, 2)]),
    ("path", f"/dd/{S}", [("X-Val", "one")], {"a": 2}, [("a", "changed", 1, 2)]),
    ("query", f"/dd/a?k={S}", [("X-Val", "one")], {"a": 2}, [("a", "changed", 1, 2)]),
    ("event type (GitHub header)", "/dd/a", [("X-Val", "one"), ("X-GitHub-Event", S)],
     {"a": 2}, [("headers.x-github-event", "added", None, "[secret]"), ("a", "changed", 1, 2)]),
    ("near miss (no secret)", "/dd/a", [("X-Val", NEAR)], {"a": 2},
     [("headers.x-val", "changed", "one", NEAR), ("a", "changed", 1, 2)]),
]


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[hooklab.HookLab, list]]:
    """For each case of DIFFS: (BASE's capture id, b's), all stored before ``lab.secret``."""
    db = tmp_path_factory.mktemp("diff") / "c.sqlite3"
    lab = hooklab.HookLab(port=0, db=str(db)).start()
    try:
        pairs = []
        for _, target, headers, body, _ in DIFFS:
            _post(lab.bound_port, *BASE)
            _post(lab.bound_port, target, headers, body)
            caps = lab.wait(2 * len(pairs) + 2, timeout=30)
            pairs.append((caps[-2].id, caps[-1].id))
        lab.secret("dd", S)
        yield lab, pairs
    finally:
        lab.stop()


@pytest.mark.parametrize("case", range(len(DIFFS)), ids=[d[0] for d in DIFFS])
@pytest.mark.parametrize("reveal", [False, True])
def test_diff_shows_a_secret_given_later_as_the_store_shows_it(compared, case: int,
                                                               reveal: bool) -> None:
    lab, pairs = compared
    a, b = pairs[case]
    want = DIFFS[case][-1]
    if reveal:  # (show credentials shows the header a name ending in "secret" hides)
        want = [(f, c, x, "1" if y == "<hidden: 1 chars>" else y) for f, c, x, y in want]
    for ca, cb in ((a, b), (lab.get(a), lab.get(b))):  # ids, or the captures as stored
        d = lab.diff(ca, cb, headers=True, reveal=reveal)
        got = [tuple(None if v is None else v for v in r) for r in d.itertuples(index=False)]
        assert got == want
        assert S not in d.to_string()


def test_schema_shows_an_event_type_given_later_as_the_store_shows_it(tmp_path: Path) -> None:
    """The event type (here from a Stripe body's ``type``, and from GitHub's header) of
    captures stored before the secret is ``[secret]`` in ``lab.schema()``, as in one stored
    after it; a body's own fields are as sent, as in every capture (README)."""
    lab = hooklab.HookLab(port=0, db=str(tmp_path / "c.sqlite3")).start()
    try:
        _post(lab.bound_port, "/sc/a", [("Stripe-Signature", "t=1,v1=00")], {"type": S})
        _post(lab.bound_port, "/sc/b", [("X-GitHub-Event", S)], {"n": 1})
        _post(lab.bound_port, "/sc/c", [("X-GitHub-Event", NEAR)], {"n": 1})
        lab.wait(3, timeout=30)
        assert "[secret]" not in set(lab.schema()["event_type"].dropna())
        lab.secret("sc", S)
        s = lab.schema()
        got = sorted(set(zip(s["provider"], s["event_type"], s["field"], strict=True)))
        assert got == sorted([("github", NEAR, "(body)"), ("github", NEAR, "n"),
                              ("github", "[secret]", "(body)"), ("github", "[secret]", "n"),
                              ("stripe", "[secret]", "(body)"), ("stripe", "[secret]", "type")])
        assert s.loc[s.field == "type", "example"].tolist() == [json.dumps(S)]  # (the body)
    finally:
        lab.stop()
